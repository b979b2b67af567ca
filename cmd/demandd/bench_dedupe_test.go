package main

import (
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/demandd/demandd/internal/fixture"
	"github.com/demandd/demandd/internal/testdb"
)

// BenchmarkImportDedupe imports a 10,000-row questionnaire into PostgreSQL
// holding 10,000 or 1,000,000 demands already (seeded with SQL, outside
// the timing), with near-duplicate linking on and, over the same 10,000,
// off: the import rate de-duplication costs, and whether it grows with
// the register.
//
//	make bench-dedupe
//
// The questionnaire has 3,000 respondents from company domains asking
// about different things, one row in ten an earlier respondent asking
// again in other words; the seeded demands belong to the same 50,000
// customer domains, 20 each at 1M, so that the lookups find rows.
func BenchmarkImportDedupe(b *testing.B) {
	bin := buildBinary(b)
	file := dedupeWorkbook(b, 10_000)
	for _, c := range []struct {
		existing int
		on       bool
	}{{10_000, false}, {10_000, true}, {1_000_000, true}} {
		b.Run(fmt.Sprintf("existing=%d/dedupe=%t", c.existing, c.on), func(b *testing.B) {
			for range b.N {
				url := testdb.Postgres(b)
				extra := ""
				if !c.on {
					extra = "[dedupe]\nenabled = false\n"
				}
				cfg := writeConfig(b, b.TempDir(), url, extra)
				if out, err := exec.Command(bin, "migrate", "--config", cfg).CombinedOutput(); err != nil {
					b.Fatalf("migrate: %v\n%s", err, out)
				}
				seedDemands(b, url, c.existing)
				took, rss := measure(b, exec.Command(bin, "import", file, "--config", cfg))
				report(b, 10_000, took, rss)
			}
		})
	}
}

// seedDemands stores n canonical demands of the last 30 days, with their
// near-duplicate index rows, over 50,000 customer domains.
func seedDemands(b *testing.B, url string, n int) {
	b.Helper()
	db, err := sql.Open("postgres", url)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		fmt.Sprintf(`INSERT INTO demands (code, channel, source_name, origin, received_at, urgency, type, importance,
			priority, created_at, updated_at, last_activity_at, contact_email, body)
			SELECT 'SEED' || g, 'questionnaire', 'seed', 'raised', now() - (g %% 720) * interval '1 hour', 'low', 'consult',
			'medium', 'P4', now(), now(), now(), 'c' || (g %% 50000) || '@cust' || (g %% 50000) || '.com',
			'种子需求 ' || md5(g::text) FROM generate_series(1, %d) g`, n),
		`INSERT INTO demand_simhash (demand_id, customer_key, received_at, simhash, band0, band1, band2, band3, cleaned)
			SELECT id, 'd:' || split_part(contact_email, '@', 2), received_at, h, h & 65535, (h >> 16) & 65535,
			(h >> 32) & 65535, (h >> 48) & 65535, body
			FROM (SELECT id, contact_email, received_at, body, ('x' || substr(md5(body), 1, 16))::bit(64)::bigint AS h FROM demands) d`,
		`ANALYZE demands`, `ANALYZE demand_simhash`,
	} {
		if _, err := db.Exec(q); err != nil {
			b.Fatal(err)
		}
	}
}

// dedupeWorkbook is a cached n-row 问卷星 export of varied demands.
func dedupeWorkbook(b *testing.B, n int) string {
	b.Helper()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("demandd-bench-dedupe2-%d.xlsx", n))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	problems := []string{"导出报表的时候系统非常慢，每次要等很久才能下载完成", "登录后经常自动退出，需要重新输入密码",
		"希望增加批量导入客户资料的功能", "发票金额和订单金额对不上，请核对", "手机端页面显示错位，按钮点不了",
		"希望能设置审批流程的多级审批", "数据同步到ERP失败，提示接口超时", "价格太贵，希望给老客户优惠",
		"The export to Excel fails with a timeout error", "Please add single sign-on with our Azure AD",
		"The mobile app crashes when uploading photos", "We need an API to read order status"}
	areas := []string{"财务模块", "仓储模块", "客户管理", "移动端", "报表中心", "权限设置", "billing", "inventory", "CRM", "dashboard"}
	need := func(k int) string {
		j := k / 3000 // a respondent's j-th row asks about another area and problem
		return fmt.Sprintf("%s里，%s，影响%d个门店的日常工作，版本%d.%d",
			areas[(k+3*j)%len(areas)], problems[(k/len(areas)+5*j)%len(problems)], k%97+3, k%7+1, k%13)
	}
	row := func(k int) []string {
		text, cust := need(k), k%3000
		if k%10 == 9 {
			text, cust = "您好，再问一下："+need(k-7)+" 谢谢", (k-7)%3000
		}
		t := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC).Add(time.Duration(k) * 37 * time.Second)
		return []string{fmt.Sprint(k), t.Format("2006/01/02 15:04:05"), "95秒", "手机提交", "微信", "183.192.1.1(上海-上海)",
			fmt.Sprintf("联系人%d", cust), fmt.Sprintf("客户%d公司", cust), fmt.Sprintf("138%08d", cust),
			fmt.Sprintf("c%d@cust%d.com", cust, cust), text, []string{"非常紧急", "紧急", "一般", "不紧急"}[k%4], "易用性"}
	}
	if err := fixture.WriteXLSX(path+".part.xlsx", fixture.WJXHeader, n, row); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(path+".part.xlsx", path); err != nil {
		b.Fatal(err)
	}
	return path
}
