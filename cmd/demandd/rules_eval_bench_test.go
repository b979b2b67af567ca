package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/internal/testdb"
	"github.com/demandd/demandd/internal/testenv"
	"github.com/demandd/demandd/store"
)

// BenchmarkEvaluate100k times `demandd rules evaluate` over 100,000 stored
// demands with confirmed labels on PostgreSQL: reading them, classifying
// them again on every CPU, tallying. Seeding is outside the timer.
//
//	go test -run '^$' -bench Evaluate100k -benchtime 3x ./cmd/demandd/
func BenchmarkEvaluate100k(b *testing.B) {
	const n = 100_000
	url := testdb.Postgres(b)
	seedConfirmed(b, url, n)
	cfg := writeConfig(b, b.TempDir(), url, "")
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		if code := run(ctx, []string{"rules", "evaluate", "--json", "--config", cfg}, strings.NewReader(""), io.Discard, io.Discard); code != exitOK {
			b.Fatalf("rules evaluate: exit %d", code)
		}
	}
	per := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(per, "s/evaluate")
	b.ReportMetric(n/per, "demands/s")
}

// benchPhrases make up the seeded demands: questions, complaints,
// requests, faults, mixed Chinese and English, as the labelled sets have.
var benchPhrases = []string{
	"您好，我们门店的收银系统从今天上午开始一直很慢，结账要等很久，", "顾客排队意见很大，麻烦尽快安排技术人员看一下。",
	"另外希望报表可以按部门导出Excel，并且支持自定义字段，", "现在每个月都要手工整理两天，效率太低了。",
	"上周提交的发票申请到现在还没有处理，打客服电话也没人接，", "Hi team, the export to Excel keeps failing with a timeout error since yesterday. ",
	"We have a board meeting on Friday and need the numbers before then. ", "如果能在小程序里增加预约功能就更好了，不急，下个版本考虑也可以。",
	"想问一下你们支持对接有赞商城吗？", "客服态度太差了，非常不满意，", "请问发票什么时候能开？", "系统宕机，所有门店无法下单！",
	"建议把导出按钮放显眼一点。", "Could you tell me how to reset a password? ", "能不能帮我们把账号转到新店长名下，",
}

// seedConfirmed stores n demands through SaveBatch, then gives them
// random confirmed labels in one statement (the API's UpdateProgress,
// one transaction per demand, would take minutes).
func seedConfirmed(b *testing.B, url string, n int) {
	b.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	rnd := rand.New(rand.NewSource(1))
	types := []demand.Type{demand.TypeInquiry, demand.TypeComplaint, demand.TypeSuggestion, demand.TypeFeature, demand.TypeService}
	urgencies := []demand.Urgency{demand.UrgencyHigh, demand.UrgencyMedium, demand.UrgencyLow}
	recv := time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)
	const batch = 5000
	for lo := 0; lo < n; lo += batch {
		entries := make([]store.Entry, 0, batch)
		for i := lo; i < min(lo+batch, n); i++ {
			var text strings.Builder
			for range 2 + rnd.Intn(3) {
				text.WriteString(benchPhrases[rnd.Intn(len(benchPhrases))])
			}
			fmt.Fprintf(&text, "（订单 %d）", i)
			typ, urg := types[rnd.Intn(len(types))], urgencies[rnd.Intn(len(urgencies))]
			at := recv.Add(time.Duration(i) * time.Second)
			r := &demand.Record{Description: demand.Description{Text: text.String(), Language: "zh"},
				Customer: demand.Customer{Name: "华信科技", Email: "li@example.com"},
				Source:   demand.Source{Channel: demand.ChannelQuestionnaire, Name: "inbox", Origin: demand.OriginRaised, ReceivedAt: at},
				Type:     typ, Urgency: urg, Importance: demand.ImportanceMedium, Priority: demand.Quadrant(urg, demand.ImportanceMedium),
				Reasons: []demand.Reason{{Rule: "咨询", Attribute: "type", Value: "inquiry", Matched: []string{"请问"}},
					{Rule: "default", Attribute: "urgency", Value: "medium"},
					{Rule: demand.RuleConfirmed, Attribute: "type", Value: string(typ), Matched: []string{"bench"}},
					{Rule: demand.RuleConfirmed, Attribute: "urgency", Value: string(urg), Matched: []string{"bench"}}}}
			entries = append(entries, store.Entry{Record: r, Raw: store.RawItem{Channel: "questionnaire", Source: "inbox",
				ExternalKey: fmt.Sprintf("bench-%d", i), Ref: fmt.Sprintf("bench.xlsx 第%d行", i+2), SHA256: "00",
				ContentType: "application/json", Body: []byte(`{}`), Origin: "raised", Status: store.RawOK, ReceivedAt: at}})
		}
		if _, err := st.SaveBatch(ctx, entries, nil, store.BatchOptions{CodePrefix: "DEM", Location: testenv.Shanghai}); err != nil {
			b.Fatal(err)
		}
	}
	db, err := sql.Open("postgres", url)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `UPDATE demands SET confirmed_type = type, confirmed_urgency = urgency,
		confirmed_by = 'bench', confirmed_at = now()`); err != nil {
		b.Fatal(err)
	}
}
