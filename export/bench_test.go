package export

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/demandd/demandd/demand"
)

const benchRows = 100_000

// generated is a Records that makes n realistic records on the fly from a
// pool of texts, so the benchmark measures the export, not a 100k-record
// slice in memory. Like a database cursor it reuses one Record.
type generated struct {
	n    int
	pool *benchPool
}

type benchPool struct {
	customers []demand.Customer
	texts     []string // 100–300 characters of Chinese
	plans     []string
	results   []string
}

var (
	benchPhrases = []string{
		"报表导出速度太慢", "每次导出超过一万行就会卡住", "希望支持按部门筛选", "登录页面偶尔白屏",
		"移动端无法上传附件", "客服响应时间太长", "发票信息填写错误需要更正", "希望增加批量审批功能",
		"系统升级后数据丢失", "接口文档与实际返回不一致", "权限配置过于复杂", "月底结算时系统很卡",
		"需要对接企业微信", "短信验证码收不到", "订单状态长时间不更新", "希望提供英文界面",
		"导入模板字段说明不清楚", "合同到期提醒没有发送", "对账单金额与实际不符", "希望能够自定义首页看板",
	}
	benchOrgs     = []string{"华信科技", "蓝海物流", "明德教育集团", "川渝食品", "北辰医疗器械", "东方航运", "嘉禾零售", "远景能源"}
	benchContacts = []string{"张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强"}
	benchDepts    = []string{"产品部", "技术支持部", "客户成功部", "财务部", "研发中心"}
	benchTypes    = []demand.Type{demand.TypeInquiry, demand.TypeComplaint, demand.TypeSuggestion, demand.TypeFeature, demand.TypeService}
	benchPrios    = []demand.Priority{demand.P1, demand.P2, demand.P3, demand.P4}
	benchUrgency  = []demand.Urgency{demand.UrgencyHigh, demand.UrgencyMedium, demand.UrgencyLow}
	benchStatus   = []demand.Status{demand.StatusNew, demand.StatusInProgress, demand.StatusDelivered, demand.StatusClosed}
	benchChannels = []demand.Channel{demand.ChannelEmail, demand.ChannelQuestionnaire, demand.ChannelWebhook}
	benchSLA      = []string{"4小时", "24小时", "3个工作日", "2周"}
)

func newBenchPool() *benchPool {
	rng := rand.New(rand.NewPCG(1, 2))
	p := &benchPool{}
	for i := range 997 { // prime, so combinations with the other pools vary
		var sb strings.Builder
		want := 100 + rng.IntN(201)
		for n := 0; n < want; {
			ph := benchPhrases[rng.IntN(len(benchPhrases))]
			sb.WriteString(ph)
			sb.WriteString("，")
			n += len([]rune(ph)) + 1
		}
		p.texts = append(p.texts, strings.TrimSuffix(sb.String(), "，")+"。")
		p.customers = append(p.customers, demand.Customer{
			Name:    benchOrgs[i%len(benchOrgs)] + fmt.Sprintf("%d分公司", i%31),
			Contact: benchContacts[rng.IntN(len(benchContacts))],
			Email:   fmt.Sprintf("user%d@example.com", i),
			Phone:   fmt.Sprintf("138%08d", rng.IntN(1e8)),
		})
		p.plans = append(p.plans, "由"+benchDepts[i%len(benchDepts)]+"评估，"+benchPhrases[rng.IntN(len(benchPhrases))]+"问题将在下个版本修复")
		if i%3 == 0 {
			p.results = append(p.results, "客户已确认，满意")
		} else {
			p.results = append(p.results, "")
		}
	}
	return p
}

func (g generated) EachDemand(ctx context.Context, _ demand.Filter, fn func(*demand.Record) error) error {
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var r demand.Record
	for i := range g.n {
		fillRecord(&r, g.pool, i, base)
		if err := fn(&r); err != nil {
			return err
		}
	}
	return nil
}

func fillRecord(r *demand.Record, p *benchPool, i int, base time.Time) {
	recv := base.Add(time.Duration(i) * 17 * time.Second)
	*r = demand.Record{
		Code:        demand.FormatCode("DEM", recv, int64(i+1)),
		Customer:    p.customers[i%len(p.customers)],
		Description: demand.Description{Text: p.texts[(i*7)%len(p.texts)]},
		Source: demand.Source{Channel: benchChannels[i%len(benchChannels)], Name: "客服邮箱",
			ReceivedAt: recv},
		Urgency:        benchUrgency[i%len(benchUrgency)],
		Type:           benchTypes[i%len(benchTypes)],
		Priority:       benchPrios[i%len(benchPrios)],
		Department:     benchDepts[i%len(benchDepts)],
		DueAt:          recv.Add(time.Duration(4+i%48) * time.Hour),
		SLA:            benchSLA[i%len(benchSLA)],
		Status:         benchStatus[i%len(benchStatus)],
		ResponsePlan:   p.plans[(i*3)%len(p.plans)],
		FeedbackResult: p.results[i%len(p.results)],
		Occurrences:    1 + i%5,
	}
}

// BenchmarkWriteTable100k writes the tracking table of 100,000 records.
//
//	go test -run x -bench WriteTable -benchtime 1x ./export/
func BenchmarkWriteTable100k(b *testing.B) {
	src := generated{n: benchRows, pool: newBenchPool()}
	now := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	rows := 0
	for b.Loop() {
		n, err := WriteTable(context.Background(), io.Discard, src, demand.Filter{}, TableOptions{Now: now})
		if err != nil {
			b.Fatal(err)
		}
		rows += n
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkWriteCSV100k writes the same table as CSV.
func BenchmarkWriteCSV100k(b *testing.B) {
	src := generated{n: benchRows, pool: newBenchPool()}
	now := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	rows := 0
	for b.Loop() {
		n, err := WriteCSV(context.Background(), io.Discard, src, demand.Filter{}, TableOptions{Now: now})
		if err != nil {
			b.Fatal(err)
		}
		rows += n
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkBareStreamWrite100k is the ceiling to compare with: excelize's
// stream writer alone, the same 17 columns of the same data as plain
// cells, no styles, no filter, written the usual way (File.Write).
func BenchmarkBareStreamWrite100k(b *testing.B) {
	p := newBenchPool()
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	rows := 0
	for b.Loop() {
		f := excelize.NewFile()
		sw, err := f.NewStreamWriter("Sheet1")
		if err != nil {
			b.Fatal(err)
		}
		row := make([]interface{}, len(Columns))
		for i, h := range Columns {
			row[i] = h
		}
		if err := sw.SetRow("A1", row); err != nil {
			b.Fatal(err)
		}
		var r demand.Record
		for i := range benchRows {
			fillRecord(&r, p, i, base)
			row[0], row[1], row[2], row[3] = r.Code, r.Customer.Summary(), r.Description.Summary(), string(r.Type)
			row[4], row[5], row[6], row[7] = string(r.Priority), r.Department, r.ResponsePlan, r.DueAt
			row[8], row[9], row[10], row[11] = string(r.Status), r.FeedbackResult, string(r.Urgency), r.Source.Name
			row[12], row[13], row[14], row[15] = r.Source.ReceivedAt, r.DueAt, "否", r.Occurrences
			row[16] = r.SLA
			cell, _ := excelize.CoordinatesToCellName(1, i+2)
			if err := sw.SetRow(cell, row); err != nil {
				b.Fatal(err)
			}
		}
		if err := sw.Flush(); err != nil {
			b.Fatal(err)
		}
		if err := f.Write(io.Discard); err != nil {
			b.Fatal(err)
		}
		f.Close()
		rows += benchRows
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}
