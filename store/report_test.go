package store_test

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/export"
	"github.com/demandd/demandd/store"
)

// seedReportDay stores, around 2026-11-24 in Shanghai: two demands on the
// day (urgent, P1, due the next morning, the second a duplicate of the
// first), an overdue one from the day before, a closed one from two days
// before (closed on the day, in time), a quarantined item on the day and
// an ignored one the day before.
func seedReportDay(t *testing.T, s *store.Store) demand.ReportQuery {
	t.Helper()
	ctx := context.Background()
	day := time.Date(2026, 11, 24, 0, 0, 0, 0, shanghai)
	at := func(d, h int) time.Time { return day.AddDate(0, 0, d).Add(time.Duration(h) * time.Hour) }
	mk := func(key, text, email string, recv time.Time) store.Entry {
		e := entry(key, text, email)
		e.Raw.ReceivedAt, e.Record.Source.ReceivedAt = recv, recv
		e.Record.DueAt = recv.Add(24 * time.Hour)
		return e
	}
	a := mk("a", "=SUM(A1) 系统宕机，紧急", "a@example.com", at(0, 10))
	b := mk("b", "=SUM(A1) 系统宕机，紧急", "a@example.com", at(0, 11))
	c := mk("c", "导出太慢", "c@example.com", at(-1, 9))
	c.Record.Urgency, c.Record.Priority, c.Record.Department = demand.UrgencyLow, demand.P4, "技术部"
	c.Record.DueAt = at(0, 12)
	e := mk("e", "咨询发票", "e@example.com", at(-2, 9))
	e.Record.Status, e.Record.Urgency, e.Record.Priority, e.Record.Type = demand.StatusClosed, demand.UrgencyLow, demand.P4, demand.TypeInquiry
	e.Record.DueAt = at(5, 0)
	quarantined := entry("q", "", "")
	quarantined.Record = nil
	quarantined.Raw.Status, quarantined.Raw.Reason, quarantined.Raw.Ref = store.RawQuarantined, "无法识别的编码", "<q@example.com>"
	quarantined.Raw.ReceivedAt = at(0, 15)
	ignored := entry("i", "", "")
	ignored.Record = nil
	ignored.Raw.Status, ignored.Raw.Reason, ignored.Raw.ReceivedAt = store.RawIgnored, "自动回复", at(-1, 15)
	for _, batch := range [][]store.Entry{{c, e, ignored}, {a}, {b, quarantined}} {
		if _, err := s.SaveBatch(ctx, batch, nil, store.BatchOptions{Now: at(0, 10), Location: shanghai}); err != nil {
			t.Fatal(err)
		}
	}
	now := at(1, 9)
	return demand.ReportQuery{Start: day, End: day.AddDate(0, 0, 1), Now: now, SoonBy: at(3, 9), Location: shanghai}
}

func TestReportQueries(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		q := seedReportDay(t, s)
		sum, err := s.ReportSummary(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if sum.New != 2 || sum.Duplicates != 1 || sum.PrevDay != 1 || sum.Week != 2 {
			t.Errorf("new %d (dups %d), day before %d, week %d; want 2 (1), 1, 2", sum.New, sum.Duplicates, sum.PrevDay, sum.Week)
		}
		if sum.Open != 3 || sum.OpenOverdue != 1 || sum.Exceptions != 1 {
			t.Errorf("open %d, overdue %d, exceptions %d; want 3, 1, 1", sum.Open, sum.OpenOverdue, sum.Exceptions)
		}
		if sum.SLADay != (demand.SLACompliance{Closed: 1, InTime: 1}) || sum.SLA30 != sum.SLADay {
			t.Errorf("SLA %+v, 30 days %+v", sum.SLADay, sum.SLA30)
		}
		if len(sum.Intake) != 30 || sum.Intake[29].N != 2 || sum.Intake[28].N != 1 || sum.Intake[27].N != 1 ||
			!sum.Intake[29].Day.Equal(q.Start) {
			t.Errorf("intake %v", sum.Intake[27:])
		}
		if len(sum.TopRepeated) != 1 || sum.TopRepeated[0].Occurrences != 2 {
			t.Errorf("top repeated %v", sum.TopRepeated)
		}
		if !slices.Equal(sum.OpenByDepartment, []demand.Count{{Value: "", N: 2}, {Value: "技术部", N: 1}}) {
			t.Errorf("open by department %v", sum.OpenByDepartment)
		}
		for _, tl := range sum.Tallies {
			if tl.Attribute == "urgency" && !slices.Equal(tl.Rows, []demand.TallyRow{{Value: "high", Day: 2}, {Value: "low", PrevDay: 1, Week: 2}}) {
				t.Errorf("urgency %v", tl.Rows)
			}
		}

		var risk []string
		stalledCode := ""
		if err := s.EachAtRisk(ctx, q, func(a demand.AtRisk) error {
			if slices.Contains(a.Warnings, demand.WarnStalled) {
				stalledCode = a.Record.Code
			}
			risk = append(risk, a.Record.Description.Text[:3]+":"+string(a.Warnings[0])+":"+string(a.Warnings[len(a.Warnings)-1]))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		want := []string{"导:overdue:overdue", "=SU:due_24h:stalled", "=SU:due_24h:stalled"}
		if !slices.Equal(risk, want) {
			t.Errorf("at risk %q, want %q", risk, want)
		}
		// Progress on one of them clears its stalled warning (judged at
		// the time the progress is recorded, which is the clock's).
		if _, _, err := s.UpdateProgress(ctx, stalledCode, store.Progress{Plan: ptr("已安排工程师")}); err != nil {
			t.Fatal(err)
		}
		later := q
		later.Now = time.Now()
		if later.Now.Before(q.Now) {
			later.Now = q.Now
		}
		stalled := 0
		s.EachAtRisk(ctx, later, func(a demand.AtRisk) error {
			if slices.Contains(a.Warnings, demand.WarnStalled) && a.Record.Code == stalledCode {
				stalled++
			}
			return nil
		})
		if stalled != 0 {
			t.Error("a demand with fresh progress is still stalled")
		}

		var dups []string
		s.EachDuplicateGroup(ctx, q, func(r *demand.Record) error {
			dups = append(dups, r.Code)
			return nil
		})
		if len(dups) != 2 {
			t.Errorf("duplicate group %q", dups)
		}
		var exc []demand.Exception
		s.EachException(ctx, q, func(e demand.Exception) error {
			exc = append(exc, e)
			return nil
		})
		if len(exc) != 1 || exc[0].Kind != "quarantined" || exc[0].Reason != "无法识别的编码" || exc[0].Ref != "<q@example.com>" {
			t.Errorf("exceptions %+v", exc)
		}
	})
}

// TestReportWorkbook writes the report from the register and checks
// 概览 against what the database holds.
func TestReportWorkbook(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		q := seedReportDay(t, s)
		var buf bytes.Buffer
		res, err := export.WriteReport(ctx, &buf, s, export.ReportOptions{Day: q.Start, Now: q.Now, Location: shanghai})
		if err != nil {
			t.Fatal(err)
		}
		f, err := excelize.OpenReader(&buf)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if got := f.GetSheetList(); !slices.Equal(got, export.ReportSheets("zh")) {
			t.Fatalf("sheets %q", got)
		}
		st, err := s.Stats(ctx, q.Start, q.End)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := f.GetRows("概览")
		if err != nil {
			t.Fatal(err)
		}
		figures := map[string]string{}
		for _, r := range rows {
			if len(r) > 1 {
				if _, ok := figures[r[0]]; !ok {
					figures[r[0]] = r[1]
				}
			}
		}
		want := map[string]string{"今日新增": itoa(st.Total), "其中重复（已关联到先前需求）": itoa(st.Duplicates), "未关闭": "3",
			"已超期": "1", "24小时内到期": "2", "紧急需求2小时无进展": "2", "今日异常（隔离、忽略、失败文件）": "1", "当日关闭": "1"}
		for k, v := range want {
			if figures[k] != v {
				t.Errorf("概览 %s = %q, want %q", k, figures[k], v)
			}
		}
		if res.New != st.Total || res.Open != 3 || res.AtRisk != 3 || res.Duplicates != 2 || res.Exceptions != 1 {
			t.Errorf("result %+v", res)
		}
		// The duplicate's description starts with "=": text, not a formula.
		if v, _ := f.GetCellValue("今日新增", "C4"); v[:1] != "=" {
			t.Errorf("description %q", v)
		}
		if fm, _ := f.GetCellFormula("今日新增", "C4"); fm != "" {
			t.Errorf("formula %q", fm)
		}
	})
}

func itoa(n int) string {
	return string(rune('0' + n)) // the seeded counts are single digits
}
