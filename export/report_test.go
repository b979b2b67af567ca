package export

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/internal/i18n"
)

// fakeReport is a ReportSource in memory. EachDemand tells the new and
// the open lists apart by the filter.
type fakeReport struct {
	newRecs, open []*demand.Record
	atRisk        []demand.AtRisk
	dups          []*demand.Record
	exceptions    []demand.Exception
	sum           demand.DaySummary
	q             demand.ReportQuery
}

func (f *fakeReport) EachDemand(ctx context.Context, flt demand.Filter, fn func(*demand.Record) error) error {
	recs := f.open
	if !flt.Since.IsZero() {
		recs = f.newRecs
	}
	return slice(recs).EachDemand(ctx, flt, fn)
}

func (f *fakeReport) ReportSummary(_ context.Context, q demand.ReportQuery) (*demand.DaySummary, error) {
	f.q = q
	s := f.sum
	return &s, nil
}

func (f *fakeReport) EachAtRisk(_ context.Context, _ demand.ReportQuery, fn func(demand.AtRisk) error) error {
	for _, a := range f.atRisk {
		if err := fn(a); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeReport) EachDuplicateGroup(ctx context.Context, _ demand.ReportQuery, fn func(*demand.Record) error) error {
	return slice(f.dups).EachDemand(ctx, demand.Filter{}, fn)
}

func (f *fakeReport) EachException(_ context.Context, _ demand.ReportQuery, fn func(demand.Exception) error) error {
	for _, e := range f.exceptions {
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

func newFakeReport() *fakeReport {
	formula := record(1)
	formula.Description = demand.Description{Text: "=HYPERLINK(\"http://x\",\"点我\")"}
	canon, dup := record(2), record(3)
	dup.DuplicateOf = 2
	canon.Occurrences = 2
	overdue := record(4)
	overdue.DueAt = now.Add(-time.Hour)
	f := &fakeReport{
		newRecs: []*demand.Record{formula, canon, dup},
		open:    []*demand.Record{formula, canon, dup, overdue},
		atRisk: []demand.AtRisk{{Record: overdue, Warnings: []demand.Warning{demand.WarnOverdue, demand.WarnStalled}},
			{Record: formula, Warnings: []demand.Warning{demand.WarnDue24h}}},
		dups: []*demand.Record{canon, dup},
		exceptions: []demand.Exception{{At: now.Add(-20 * time.Hour), Kind: "quarantined", Channel: demand.ChannelEmail,
			Source: "support", Reason: "无法识别的编码", Ref: "<a@b>", ID: 7}},
	}
	f.sum = demand.DaySummary{New: 3, PrevDay: 1, Week: 14, Duplicates: 1, Open: 4, OpenOverdue: 1, Exceptions: 1,
		Tallies: []demand.Tally{
			{Attribute: "type", Rows: []demand.TallyRow{{Value: "feature", Day: 3, PrevDay: 1, Week: 14}}},
			{Attribute: "channel", Rows: []demand.TallyRow{{Value: "questionnaire", Day: 3, PrevDay: 1, Week: 14}}},
		},
		SLADay: demand.SLACompliance{Closed: 4, InTime: 3}, TopRepeated: []*demand.Record{canon},
		OpenByDepartment: []demand.Count{{Value: "产品部", N: 4}}}
	for i := range 30 {
		f.sum.Intake = append(f.sum.Intake, demand.DayCount{Day: time.Date(2026, 10, 25+i, 0, 0, 0, 0, time.UTC), N: i})
	}
	return f
}

func writeReport(t *testing.T, src ReportSource, opts ReportOptions) (*excelize.File, []byte, ReportResult) {
	t.Helper()
	var buf bytes.Buffer
	res, err := WriteReport(context.Background(), &buf, src, opts)
	if err != nil {
		t.Fatal(err)
	}
	raw := bytes.Clone(buf.Bytes())
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, raw, res
}

// overviewValue is the B cell beside the label in column A of 概览.
func overviewValue(t *testing.T, f *excelize.File, sheet, label string) string {
	t.Helper()
	rows, err := f.GetRows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if len(r) > 1 && r[0] == label {
			return r[1]
		}
	}
	t.Fatalf("%s: no row %q", sheet, label)
	return ""
}

func TestReport(t *testing.T) {
	src := newFakeReport()
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	f, raw, res := writeReport(t, src, ReportOptions{Now: now, Location: shanghai,
		PreviousMail: &MailResult{Day: now.AddDate(0, 0, -2), Failed: true, Error: "535 认证失败"}})

	// The day defaults to the day before Now in the zone.
	if got := res.Day.Format(time.DateOnly); got != "2026-11-23" || !src.q.Start.Equal(time.Date(2026, 11, 23, 0, 0, 0, 0, shanghai)) {
		t.Errorf("day %s, query %v", got, src.q.Start)
	}
	if src.q.SoonBy.Sub(src.q.Now) != 48*time.Hour { // Tuesday + 2 working days
		t.Errorf("soon by %v", src.q.SoonBy)
	}
	want := []string{"概览", "今日新增", "未关闭", "超期预警", "重复", "异常"}
	if got := f.GetSheetList(); !slices.Equal(got, want) {
		t.Fatalf("sheets %q, want %q", got, want)
	}
	if res.New != 3 || res.Open != 4 || res.AtRisk != 2 || res.Duplicates != 2 || res.Exceptions != 1 {
		t.Errorf("result %+v", res)
	}
	for _, s := range []string{"今日新增", "未关闭"} {
		rows := dataRows(t, f, s)
		if !slices.Equal(rows[0], Columns) {
			t.Errorf("%s header %q", s, rows[0])
		}
	}
	risk := dataRows(t, f, "超期预警")
	if risk[0][0] != "预警" || !slices.Equal(risk[0][1:], Columns) {
		t.Errorf("超期预警 header %q", risk[0])
	}
	if risk[1][0] != "已超期；紧急需求2小时无进展" || risk[2][0] != "24小时内到期" {
		t.Errorf("warnings %q, %q", risk[1][0], risk[2][0])
	}
	// The overdue row is highlighted as in the tracking table.
	if id, _ := f.GetCellStyle("超期预警", "B4"); !filledStyle(t, f, id) {
		t.Error("overdue row of 超期预警 not highlighted")
	}
	dups := dataRows(t, f, "重复")
	if dups[1][0] != "DEM202611002" || dups[1][1] != "原始需求" || dups[2][0] != "DEM202611002" || dups[2][1] != "重复" || dups[2][2] != "DEM202611003" {
		t.Errorf("重复 rows %q", dups[1:])
	}
	exc := dataRows(t, f, "异常")
	if got := exc[1]; got[0] != "2026-11-23 20:00" || got[1] != "隔离" || got[2] != "邮件" || got[4] != "无法识别的编码" || got[5] != "<a@b>" {
		t.Errorf("异常 row %q", got)
	}

	// Customer text is text: no formula, a string cell.
	cell := "C" + strconv.Itoa(headerRow+1)
	if v, _ := f.GetCellValue("今日新增", cell); !strings.HasPrefix(v, "=HYPERLINK") {
		t.Errorf("description %q", v)
	}
	if fm, _ := f.GetCellFormula("今日新增", cell); fm != "" {
		t.Errorf("description became a formula %q", fm)
	}
	if typ, _ := f.GetCellType("今日新增", cell); typ != excelize.CellTypeInlineString && typ != excelize.CellTypeSharedString {
		t.Errorf("description cell type %v", typ)
	}
	// Dates are numbers with a date format, in the zone.
	recv := "M" + strconv.Itoa(headerRow+1)
	if v, _ := f.GetCellValue("今日新增", recv, excelize.Options{RawCellValue: true}); v == "" || strings.Contains(v, "-") {
		t.Errorf("received is not a serial date: %q", v)
	} else if _, err := strconv.ParseFloat(v, 64); err != nil {
		t.Errorf("received %q: %v", v, err)
	}
	if v, _ := f.GetCellValue("今日新增", recv); v != "2026-11-24 10:00" {
		t.Errorf("received shows %q, want Beijing time", v)
	}

	// 概览: figures, comparisons, the mail line, four charts.
	for label, want := range map[string]string{"今日新增": "3", "前一日新增": "1", "近7日日均新增": "2.0", "较前一日": "+2",
		"未关闭": "4", "已超期": "1", "24小时内到期": "1", "紧急需求2小时无进展": "1", "今日出现重复的需求组": "1", "当日关闭": "4"} {
		if got := overviewValue(t, f, "概览", label); got != want {
			t.Errorf("概览 %s = %q, want %q", label, got, want)
		}
	}
	if v, _ := f.GetCellValue("概览", "A3"); !strings.Contains(v, "邮件发送失败") || !strings.Contains(v, "535") {
		t.Errorf("mail line %q", v)
	}
	drawing := part(t, raw, "xl/drawings/drawing1.xml")
	if n := strings.Count(drawing, "<c:chart "); n != 4 {
		t.Errorf("%d charts on 概览, want 4", n)
	}
	for i, kind := range []string{"pieChart", "barChart", "lineChart", "barChart"} {
		c := part(t, raw, "xl/charts/chart"+strconv.Itoa(i+1)+".xml")
		if !strings.Contains(c, "<"+kind+">") || !strings.Contains(c, "<f>&#39;概览&#39;!$B$") {
			t.Errorf("chart %d: want a %s over 概览", i+1, kind)
		}
	}
	if rels := part(t, raw, "xl/worksheets/_rels/sheet1.xml.rels"); !strings.Contains(rels, "drawing1.xml") {
		t.Error("the drawing is not on 概览")
	}
}

func filledStyle(t *testing.T, f *excelize.File, id int) bool {
	t.Helper()
	st, err := f.GetStyle(id)
	if err != nil {
		t.Fatal(err)
	}
	return filled(st)
}

func TestReportEnglish(t *testing.T) {
	f, _, _ := writeReport(t, newFakeReport(), ReportOptions{Now: now, Locale: i18n.EN, Day: now.AddDate(0, 0, -3)})
	want := []string{"Overview", "New today", "Open", "Overdue & at risk", "Duplicates", "Exceptions"}
	if got := f.GetSheetList(); !slices.Equal(got, want) {
		t.Fatalf("sheets %q, want %q", got, want)
	}
	if rows := dataRows(t, f, "Open"); !slices.Equal(rows[0], ColumnNames(i18n.EN)) {
		t.Errorf("Open header %q", rows[0])
	}
	if got := overviewValue(t, f, "Overview", "New today"); got != "3" {
		t.Errorf("New today %q", got)
	}
	if v, _ := f.GetCellValue("Overview", "A1"); v != "Daily demand report 2026-11-21" {
		t.Errorf("title %q", v)
	}
	if got := ReportFileName(time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC), i18n.EN); got != "daily-report-2026-11-21.xlsx" {
		t.Errorf("file name %q", got)
	}
	if got := ReportFileName(time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC), i18n.ZH); got != "需求日报-2026-11-21.xlsx" {
		t.Errorf("file name %q", got)
	}
}

func TestWriteReportFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.xlsx")
	if _, err := WriteReportFile(context.Background(), path, newFakeReport(), ReportOptions{Now: now, FileMode: 0o600}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode())
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*")); len(left) > 0 {
		t.Errorf("temporary files left: %q", left)
	}
}
