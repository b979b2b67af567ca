package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/internal/testdb"
	"github.com/demandd/demandd/store"
)

// BenchmarkReport100k writes the daily report over a register of 100,000
// demands in PostgreSQL, 3,000 of them received on the day and 20,000
// open, as a process of its own (peak RSS from GNU time), beside bare
// excelize stream-writing as many 16-column rows in a process of its own.
//
//	make bench-report
func BenchmarkReport100k(b *testing.B) {
	const total, today, open = 100_000, 3_000, 20_000
	bin := buildBinary(b)
	url := testdb.Postgres(b)
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		b.Fatal(err)
	}
	day := time.Now().In(loc).AddDate(0, 0, -1)
	day = time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, loc)
	b.StopTimer()
	seedStart := time.Now()
	seedReport(b, url, day, total, today, open)
	b.Logf("seeded %d demands in %s", total, time.Since(seedStart).Round(time.Millisecond))
	cfg := writeConfig(b, b.TempDir(), url, "")
	out := filepath.Join(b.TempDir(), "report.xlsx")
	b.StartTimer()
	for i := 0; i < b.N; i++ {
		cmd := exec.Command(bin, "report", "--date", day.Format(time.DateOnly), "--out", out, "--config", cfg)
		took, rss := measure(b, cmd)
		// The rows written, from the command's own summary line.
		line, _ := exec.Command(bin, "report", "--date", day.Format(time.DateOnly), "--out", out, "--config", cfg).Output()
		rows := 0
		for _, m := range regexp.MustCompile(`(\d+) (new|open|at risk|in duplicate groups|exceptions)`).FindAllStringSubmatch(string(line), -1) {
			n, _ := strconv.Atoi(m[1])
			rows += n
		}
		fi, _ := os.Stat(out)
		b.Logf("report: %s, peak RSS %.0f MB, %d list rows, %.1f MB file; %s", took.Round(time.Millisecond), rss, rows, float64(fi.Size())/1e6, line)
		report(b, rows, took, rss)

		bare := exec.Command(os.Args[0])
		bare.Env = append(os.Environ(), fmt.Sprintf("DEMANDD_BARE=write:%s:%d", filepath.Join(b.TempDir(), "bare.xlsx"), rows))
		bt, brss := measure(b, bare)
		b.Logf("bare excelize stream write of %d 16-column rows: %s, peak RSS %.0f MB", rows, bt.Round(time.Millisecond), brss)
	}
}

// seedReport stores total demands: today on the day, the rest over the 90
// days before; open of them open (all of the day's), every tenth urgent
// (P1), every 100th of the day a duplicate of the one before, and 100
// quarantined items on the day.
func seedReport(b *testing.B, url string, day time.Time, total, today, open int) {
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
	types := []demand.Type{demand.TypeInquiry, demand.TypeComplaint, demand.TypeSuggestion, demand.TypeFeature, demand.TypeService}
	channels := []demand.Channel{demand.ChannelEmail, demand.ChannelQuestionnaire, demand.ChannelWebhook, demand.ChannelManual}
	departments := []string{"客服部", "产品部", "技术部", "运营部", "财务部", ""}
	closed := []demand.Status{demand.StatusDelivered, demand.StatusAccepted, demand.StatusClosed, demand.StatusRejected}
	openOlder := open - today
	step := 90 * 24 * time.Hour / time.Duration(total-today) // the older demands over 90 days
	batch := make([]store.Entry, 0, 2000)
	flush := func() {
		if _, err := st.SaveBatch(ctx, batch, nil, store.BatchOptions{Now: day.Add(30 * time.Hour), Location: day.Location()}); err != nil {
			b.Fatal(err)
		}
		batch = batch[:0]
	}
	for i := range total {
		var recv time.Time
		if i < today {
			recv = day.Add(time.Duration(i) * 24 * time.Hour / time.Duration(today))
		} else {
			recv = day.Add(-time.Duration(i-today+1) * step)
		}
		text := fmt.Sprintf("客户反馈第%d号问题：报表导出在数据量大时非常慢，月底结算时影响财务对账，希望尽快优化导出速度并支持按部门筛选。", i)
		email := fmt.Sprintf("c%d@example.com", i)
		fp := ""
		if i < today && i%100 == 1 { // the same customer asking again
			text = fmt.Sprintf("客户反馈第%d号问题：报表导出在数据量大时非常慢，月底结算时影响财务对账，希望尽快优化导出速度并支持按部门筛选。", i-1)
			email = fmt.Sprintf("c%d@example.com", i-1)
		}
		if i < today && i%100 <= 1 {
			fp = "fp-" + email
		}
		r := &demand.Record{
			Customer:    demand.Customer{Name: fmt.Sprintf("客户%d有限公司", i%5000), Contact: "张伟", Email: email},
			Description: demand.Description{Title: "报表导出慢", Text: text, Language: "zh"},
			Source:      demand.Source{Channel: channels[i%len(channels)], Name: "bench", Origin: demand.OriginRaised, ReceivedAt: recv},
			Urgency:     demand.UrgencyMedium, Type: types[i%len(types)], Importance: demand.ImportanceMedium, Priority: demand.P2,
			Department: departments[i%len(departments)], DueAt: recv.Add(time.Duration(24+i%144) * time.Hour), SLA: "7个工作日",
			Status: demand.StatusNew, Fingerprint: fp,
		}
		if i%10 == 0 {
			r.Urgency, r.Priority, r.SLA = demand.UrgencyHigh, demand.P1, "24小时"
		}
		if i >= today && i-today >= openOlder {
			r.Status = closed[i%len(closed)]
		} else if i%3 == 0 {
			r.Status = demand.StatusInProgress
		}
		batch = append(batch, store.Entry{Raw: store.RawItem{Channel: string(r.Source.Channel), Source: "bench",
			ExternalKey: "k" + strconv.Itoa(i), Ref: "bench.xlsx 第" + strconv.Itoa(i+2) + "行", SHA256: "00",
			ContentType: "application/json", Body: []byte(`{}`), Origin: "raised", Status: store.RawOK, ReceivedAt: recv}, Record: r})
		if i < 100 {
			batch = append(batch, store.Entry{Raw: store.RawItem{Channel: "email", Source: "bench", ExternalKey: "q" + strconv.Itoa(i),
				Ref: "<q" + strconv.Itoa(i) + "@example.com>", SHA256: "00", ContentType: "message/rfc822", Body: []byte("x"),
				Origin: "raised", Status: store.RawQuarantined, Reason: "无法识别的编码", ReceivedAt: recv}})
		}
		if len(batch) >= 2000 {
			flush()
		}
	}
	if len(batch) > 0 {
		flush()
	}
	// A register in use has planner statistics; right after a bulk load
	// autovacuum would be gathering them while the report runs.
	db, err := sql.Open("postgres", url)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
}
