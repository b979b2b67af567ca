package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/internal/testdb"
	"github.com/demandd/demandd/store"
)

// BenchmarkDedupeLookup ingests questionnaire-like batches of 1000 with
// near-duplicate linking on over 10k and 1M existing demands (seeded with
// generate_series, outside the timer): the band and customer indexes keep
// the rate flat. dedupe=off is the exact-fingerprint linking alone, the
// rate before near-duplicates, over the same 10k.
//
// The rows model a large import: 50,000 customers, each with its own
// company domain, asking one of many different things; one row in ten is
// an earlier customer asking again in other words (a near-duplicate to
// link). An earlier version gave every row one domain and nearly one
// text, so that every row was a duplicate of one demand: a worst case
// that measured the history writes of 999 links a batch, not the lookup.
func BenchmarkDedupeLookup(b *testing.B) {
	for _, c := range []struct {
		existing int
		on       bool
	}{{10_000, false}, {10_000, true}, {1_000_000, true}} {
		b.Run(fmt.Sprintf("existing=%d/dedupe=%t", c.existing, c.on), func(b *testing.B) {
			existing := c.existing
			ctx := context.Background()
			url := testdb.Postgres(b)
			s := open(b, url)
			db, err := sql.Open("postgres", url)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			seed := fmt.Sprintf(`INSERT INTO demands (code, channel, source_name, origin, received_at, urgency, type, importance,
				priority, created_at, updated_at, last_activity_at, contact_email, body)
				SELECT 'SEED' || g, 'questionnaire', 'seed', 'raised', now() - (g %% 720) * interval '1 hour', 'low', 'consult',
				'medium', 'P4', now(), now(), now(), 'c' || (g %% 50000) || '@cust' || (g %% 50000) || '.com', 'seed text ' || g
				FROM generate_series(1, %d) g`, existing)
			fill := `INSERT INTO demand_simhash (demand_id, customer_key, received_at, simhash, band0, band1, band2, band3, cleaned)
				SELECT id, 'd:' || split_part(contact_email, '@', 2), received_at, h, h & 65535, (h >> 16) & 65535, (h >> 32) & 65535, (h >> 48) & 65535, body
				FROM (SELECT id, contact_email, received_at, body, ('x' || substr(md5(body), 1, 16))::bit(64)::bigint AS h FROM demands) d`
			for _, q := range []string{seed, fill, `ANALYZE demands`, `ANALYZE demand_simhash`} {
				if _, err := db.ExecContext(ctx, q); err != nil {
					b.Fatal(err)
				}
			}
			o := opts()
			if c.on {
				o.Dedupe = dedupeCfg(nil)
			}
			o.Now = time.Now()
			var lat []time.Duration
			rows := 0
			b.ResetTimer()
			for i := range b.N {
				es := make([]store.Entry, 1000)
				for j := range es {
					k := i*1000 + j
					text, cust := benchDemand(k), k%50000
					if k%10 == 9 { // an earlier row's customer asks again, reworded
						text, cust = "您好，再问一下："+benchDemand(k-7)+" 谢谢", (k-7)%50000
					}
					es[j] = nearEntry(fmt.Sprintf("b%d", k), text, fmt.Sprintf("c%d@cust%d.com", cust, cust), time.Now().Add(-time.Hour), demand.UrgencyLow)
				}
				start := time.Now()
				if _, err := s.SaveBatch(ctx, es, nil, o); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
				rows += len(es)
			}
			b.StopTimer()
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(lat[len(lat)*99/100].Milliseconds()), "p99-ms/batch")
		})
	}
}

// benchDemand is the k-th row's demand: a problem, in a product area,
// with a detail, so that rows differ as a real export's rows do.
func benchDemand(k int) string {
	problems := []string{"导出报表的时候系统非常慢，每次要等很久才能下载完成", "登录后经常自动退出，需要重新输入密码",
		"希望增加批量导入客户资料的功能", "发票金额和订单金额对不上，请核对", "手机端页面显示错位，按钮点不了",
		"希望能设置审批流程的多级审批", "数据同步到ERP失败，提示接口超时", "价格太贵，希望给老客户优惠",
		"The export to Excel fails with a timeout error", "Please add single sign-on with our Azure AD",
		"The mobile app crashes when uploading photos", "We need an API to read order status"}
	areas := []string{"财务模块", "仓储模块", "客户管理", "移动端", "报表中心", "权限设置", "billing", "inventory", "CRM", "dashboard"}
	return fmt.Sprintf("%s里，%s，影响%d个门店的日常工作，版本%d.%d",
		areas[k%len(areas)], problems[(k/len(areas))%len(problems)], k%97+3, k%7+1, k%13)
}
