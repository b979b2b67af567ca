package export

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/xuri/excelize/v2"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/internal/i18n"
)

// slice is a Records over records in memory: the export's input.
type slice []*demand.Record

func (s slice) EachDemand(ctx context.Context, _ demand.Filter, fn func(*demand.Record) error) error {
	for _, r := range s {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

const sheet = "需求跟踪表"

var now = time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)

func record(i int) *demand.Record {
	recv := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC) // 10:00 in Beijing
	return &demand.Record{
		Code:        fmt.Sprintf("DEM202611%03d", i),
		Customer:    demand.Customer{Name: "华信科技", Contact: "张伟", Email: "zw@example.com"},
		Description: demand.Description{Title: "报表导出", Text: "报表导出太慢，希望尽快优化"},
		Source:      demand.Source{Channel: demand.ChannelQuestionnaire, Name: "inbox", ReceivedAt: recv},
		Urgency:     demand.UrgencyHigh, Type: demand.TypeFeature, Priority: demand.P1, Department: "产品部",
		DueAt: recv.Add(24 * time.Hour), SLA: "24小时", Status: demand.StatusNew, Occurrences: 1,
		ResponsePlan: "下个版本优化导出", FeedbackResult: "客户已确认",
	}
}

// write exports recs and opens the result; raw is the file.
func write(t *testing.T, recs slice, opts TableOptions) (f *excelize.File, raw []byte) {
	t.Helper()
	var buf bytes.Buffer
	n, err := WriteTable(context.Background(), &buf, recs, demand.Filter{}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(recs) {
		t.Fatalf("wrote %d rows, want %d", n, len(recs))
	}
	raw = bytes.Clone(buf.Bytes())
	f, err = excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, raw
}

// part is one file of the workbook's zip.
func part(t *testing.T, raw []byte, name string) string {
	t.Helper()
	z, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := z.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func style(t *testing.T, f *excelize.File, cell string) *excelize.Style {
	t.Helper()
	id, err := f.GetCellStyle(sheet, cell)
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.GetStyle(id)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func filled(st *excelize.Style) bool { return st.Fill.Pattern == 1 && len(st.Fill.Color) > 0 }

// at is the cell of column col in the i-th data row (from 1).
func at(col string, i int) string { return col + strconv.Itoa(headerRow+i) }

// dataRows are the rows from the header on.
func dataRows(t *testing.T, f *excelize.File, sheet string) [][]string {
	t.Helper()
	rows, err := f.GetRows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < headerRow {
		t.Fatalf("%d rows, want a title area and a header", len(rows))
	}
	return rows[headerRow-1:]
}

func TestTrackingTable(t *testing.T) {
	formula := record(2)
	formula.Description = demand.Description{Text: `=HYPERLINK("http://x","y")`}
	formula.Customer = demand.Customer{Name: "+1", Contact: "@SUM(A1)"}
	formula.ResponsePlan = "-2+3"
	overdue := record(3)
	overdue.DueAt = now.Add(-time.Hour)
	closedLate := record(4)
	closedLate.DueAt, closedLate.Status = now.Add(-time.Hour), demand.StatusClosed
	long := record(5)
	long.Description = demand.Description{Text: strings.Repeat("长", 40000)}
	undated := record(6)
	undated.DueAt, undated.SLA = time.Time{}, ""
	undated.Description.Text = "控制字符\x00\x1b也不坏文件"
	f, raw := write(t, slice{record(1), formula, overdue, closedLate, long, undated}, TableOptions{Now: now})

	rows := dataRows(t, f, sheet)
	if len(rows) != 7 {
		t.Fatalf("%d rows, want header + 6", len(rows))
	}
	want := []string{"需求编号", "客户信息", "需求描述", "需求类型", "优先级", "责任部门", "响应方案", "时间节点",
		"状态", "反馈结果", "紧急程度", "来源渠道", "接收时间", "截止时间", "是否超期", "重复次数", "重复于", "响应时限", "满意度",
		"demandd 修订（请勿修改）"}
	if len(rows[0]) != len(want) {
		t.Fatalf("header %q", rows[0])
	}
	for i, h := range want {
		if rows[0][i] != h {
			t.Errorf("header %d = %q, want %q", i+1, rows[0][i], h)
		}
	}
	got := rows[1]
	for i, w := range []string{"DEM202611001", "华信科技 / 张伟 / zw@example.com", "报表导出\n报表导出太慢，希望尽快优化", "功能",
		"P1 紧急且重要", "产品部", "下个版本优化导出", "2026-11-25", "待处理", "客户已确认", "高", "问卷 · inbox",
		"2026-11-24 10:00", "2026-11-25 10:00", "否", "1", "", "24小时"} {
		if got[i] != w {
			t.Errorf("%s = %q, want %q", want[i], got[i], w)
		}
	}
	if typ, _ := f.GetCellType(sheet, at("P", 1)); typ != excelize.CellTypeUnset && typ != excelize.CellTypeNumber {
		t.Errorf("重复次数 cell type %v, want a number", typ)
	}

	// A date is a number with a date format, showing Beijing wall-clock
	// time for a UTC instant. 时间节点 is the due date, shown as a day.
	for col, want := range map[string]struct {
		format string
		wall   time.Time
	}{
		"H": {"yyyy-mm-dd", time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)},
		"M": {"yyyy-mm-dd hh:mm", time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)},
		"N": {"yyyy-mm-dd hh:mm", time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)},
	} {
		cell := at(col, 1)
		if typ, _ := f.GetCellType(sheet, cell); typ != excelize.CellTypeUnset && typ != excelize.CellTypeNumber {
			t.Errorf("%s type %v, want a number", cell, typ)
		}
		if st := style(t, f, cell); st.CustomNumFmt == nil || *st.CustomNumFmt != want.format {
			t.Errorf("%s number format %+v, want %s", cell, st.CustomNumFmt, want.format)
		}
		v, _ := f.GetCellValue(sheet, cell, excelize.Options{RawCellValue: true})
		serial, err := strconv.ParseFloat(v, 64)
		if err != nil {
			t.Fatalf("%s raw value %q, want an Excel serial", cell, v)
		}
		if wall, _ := excelize.ExcelDateToTime(serial, false); !wall.Round(time.Second).Equal(want.wall) {
			t.Errorf("%s serial %v is %v, want %v", cell, serial, wall, want.wall)
		}
	}
	// A zero time is an empty cell.
	if rows[6][7] != "" || rows[6][13] != "" || rows[6][14] != "否" || strings.Join(rows[6][16:numColumns], "") != "" {
		t.Errorf("undated row: 时间节点 %q, due %q, overdue %q, SLA %q", rows[6][7], rows[6][13], rows[6][14], rows[6][16:numColumns])
	}

	// Text that looks like a formula stays a string.
	for _, col := range []string{"B", "C", "G"} {
		cell := at(col, 2)
		if fm, _ := f.GetCellFormula(sheet, cell); fm != "" {
			t.Errorf("%s has formula %q", cell, fm)
		}
		if typ, _ := f.GetCellType(sheet, cell); typ != excelize.CellTypeInlineString && typ != excelize.CellTypeSharedString {
			t.Errorf("%s type %v, want a string", cell, typ)
		}
	}
	if rows[2][2] != formula.Description.Text || rows[2][1] != "+1 / @SUM(A1)" || rows[2][6] != "-2+3" {
		t.Errorf("formula-like text changed: %q %q %q", rows[2][2], rows[2][1], rows[2][6])
	}
	if strings.Contains(part(t, raw, "xl/worksheets/sheet1.xml"), "<f>") {
		t.Error("sheet has a formula")
	}

	// Overdue and open: the whole row highlighted, dates still dates;
	// overdue but closed, or on time: not.
	if rows[3][14] != "是" {
		t.Errorf("overdue row says %q", rows[3][14])
	}
	for c := 1; c <= len(want); c++ {
		cell, _ := excelize.CoordinatesToCellName(c, headerRow+3)
		if !filled(style(t, f, cell)) {
			t.Errorf("overdue %s not highlighted", cell)
		}
		for _, r := range []int{1, 4} {
			cell, _ := excelize.CoordinatesToCellName(c, headerRow+r)
			if filled(style(t, f, cell)) {
				t.Errorf("%s highlighted", cell)
			}
		}
	}
	if st := style(t, f, at("N", 3)); st.CustomNumFmt == nil || *st.CustomNumFmt != "yyyy-mm-dd hh:mm" {
		t.Errorf("overdue date lost its format: %+v", st.CustomNumFmt)
	}
	if rows[4][14] != "否" {
		t.Errorf("closed row says %q", rows[4][14])
	}

	// Too long: cut to Excel's limit, marked.
	if n := len([]rune(rows[5][2])); n != maxCell || !strings.HasSuffix(rows[5][2], "…(截断)") {
		t.Errorf("long description: %d characters, ends %q", n, string([]rune(rows[5][2])[n-5:]))
	}

	// Header: bold, filled; descriptions wrap.
	if st := style(t, f, at("C", 0)); st.Font == nil || !st.Font.Bold || !filled(st) {
		t.Errorf("header style %+v", st)
	}
	if st := style(t, f, at("C", 1)); st.Alignment == nil || !st.Alignment.WrapText {
		t.Error("description does not wrap")
	}
	if w, _ := f.GetColWidth(sheet, "C"); w != 60 {
		t.Errorf("description column width %v", w)
	}
	// Excel repairs a sheet whose column widths are out of order.
	var prev int
	for _, m := range regexp.MustCompile(`<col min="(\d+)"`).FindAllStringSubmatch(part(t, raw, "xl/worksheets/sheet1.xml"), -1) {
		c, _ := strconv.Atoi(m[1])
		if c <= prev {
			t.Errorf("column %d after %d", c, prev)
		}
		prev = c
	}
}

// The title area: the title with the overdue legend, the export time and
// the filter; frozen with the header above the first data row.
func TestTitleArea(t *testing.T) {
	late := record(2)
	late.DueAt = now.Add(-time.Hour)
	f, _ := write(t, slice{record(1), late}, TableOptions{Now: now})
	rows, err := f.GetRows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	if rows[0][0] != "需求分析与响应跟踪表" {
		t.Errorf("title %q", rows[0][0])
	}
	if st := style(t, f, "A1"); st.Font == nil || !st.Font.Bold || st.Font.Size < 12 {
		t.Errorf("title style %+v", st.Font)
	}
	// now is 08:00 UTC, 16:00 in Beijing; no filter is all records.
	if want := "导出时间 2026-11-24 16:00 (UTC+08:00)；筛选：全部"; rows[1][0] != want {
		t.Errorf("export line %q, want %q", rows[1][0], want)
	}
	if rows[0][3] != "已超期" || !strings.Contains(rows[0][4], "此色") {
		t.Errorf("legend %q", rows[0][3:])
	}
	legend, lateCell := style(t, f, "D1"), style(t, f, at("D", 2))
	if !filled(legend) || !slices.Equal(legend.Fill.Color, lateCell.Fill.Color) {
		t.Errorf("legend fill %+v, overdue row fill %+v", legend.Fill, lateCell.Fill)
	}
	panes, err := f.GetPanes(sheet)
	if err != nil || !panes.Freeze || panes.YSplit != headerRow || panes.TopLeftCell != "A4" {
		t.Errorf("panes %+v %v", panes, err)
	}

	// The caller's description of the filter, or the filter's own.
	f, _ = write(t, nil, TableOptions{Now: now, Filter: "2026-11-01 – 2026-11-30, 状态 待处理,处理中"})
	if v, _ := f.GetCellValue(sheet, "A2"); !strings.HasSuffix(v, "筛选：2026-11-01 – 2026-11-30, 状态 待处理,处理中") {
		t.Errorf("export line %q", v)
	}
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	var buf bytes.Buffer
	filter := demand.Filter{Since: time.Date(2026, 11, 1, 0, 0, 0, 0, shanghai), Until: time.Date(2026, 12, 1, 0, 0, 0, 0, shanghai),
		Status: []demand.Status{demand.StatusNew, demand.StatusInProgress}}
	if _, err := WriteTable(context.Background(), &buf, nil_, filter, TableOptions{Now: now, Locale: i18n.EN}); err != nil {
		t.Fatal(err)
	}
	f, err = excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if v, _ := f.GetCellValue("Tracking table", "A2"); v != "Exported 2026-11-24 16:00 (UTC+08:00); filter: received 2026-11-01 to 2026-11-30; status new, in progress" {
		t.Errorf("English export line %q", v)
	}
	if v, _ := f.GetCellValue("Tracking table", "A1"); v != "Demand analysis and response tracking table" {
		t.Errorf("English title %q", v)
	}
}

// nil_ is no records.
var nil_ = slice(nil)

func TestDescribeFilter(t *testing.T) {
	sh, _ := time.LoadLocation("Asia/Shanghai")
	day := func(m, d int) time.Time { return time.Date(2026, time.Month(m), d, 0, 0, 0, 0, sh) }
	for _, c := range []struct {
		f      demand.Filter
		zh, en string
	}{
		{demand.Filter{}, "全部", "all"},
		{demand.Filter{Since: day(11, 1)}, "接收时间 2026-11-01 起", "received from 2026-11-01"},
		{demand.Filter{Until: day(12, 1)}, "接收时间截至 2026-11-30", "received until 2026-11-30"},
		{demand.Filter{Since: day(11, 1), Until: day(11, 2)}, "接收时间 2026-11-01 至 2026-11-01", "received 2026-11-01 to 2026-11-01"},
		{demand.Filter{Since: day(11, 1).Add(9 * time.Hour), Until: day(11, 2).Add(time.Hour)},
			"接收时间 2026-11-01 09:00 至 2026-11-02 01:00 前", "received 2026-11-01 09:00 to before 2026-11-02 01:00"},
		{demand.Filter{Status: []demand.Status{demand.StatusClosed}}, "状态 已关闭", "status closed"},
	} {
		if got := DescribeFilter(c.f, sh, i18n.ZH); got != c.zh {
			t.Errorf("zh %+v: %q, want %q", c.f, got, c.zh)
		}
		if got := DescribeFilter(c.f, sh, i18n.EN); got != c.en {
			t.Errorf("en %+v: %q, want %q", c.f, got, c.en)
		}
	}
}

// definedName is a defined name of workbook.xml as it is written.
type definedName struct {
	Name         string `xml:"name,attr"`
	LocalSheetID string `xml:"localSheetId,attr"`
	Hidden       string `xml:"hidden,attr"`
	RefersTo     string `xml:",chardata"`
}

func definedNames(t *testing.T, raw []byte) map[string]definedName {
	t.Helper()
	var wb struct {
		Names []definedName `xml:"definedNames>definedName"`
	}
	if err := xml.Unmarshal([]byte(part(t, raw, "xl/workbook.xml")), &wb); err != nil {
		t.Fatal(err)
	}
	m := map[string]definedName{}
	for _, d := range wb.Names {
		m[d.Name] = d
	}
	return m
}

// The filter buttons: a sheet autoFilter over header and rows, with the
// _xlnm._FilterDatabase name that LibreOffice and WPS need to show them.
func TestAutoFilter(t *testing.T) {
	for _, c := range []struct {
		recs slice
		ref  string
	}{{slice{record(1), record(2)}, "A3:T5"}, {nil, "A3:T3"}} {
		f, raw := write(t, c.recs, TableOptions{Now: now})
		ws := part(t, raw, "xl/worksheets/sheet1.xml")
		// excelize writes the sheet's ref absolute ($A$3:$Q$5), as the
		// defined name; the cells are the same.
		m := regexp.MustCompile(`<autoFilter ref="([^"]+)"`).FindStringSubmatch(ws)
		if m == nil || strings.ReplaceAll(m[1], "$", "") != c.ref {
			t.Errorf("%d rows: sheet autoFilter %q, want %s", len(c.recs), m, c.ref)
		}
		// The order the schema requires: Excel repairs the file otherwise.
		if i, j := strings.Index(ws, "</sheetData>"), strings.Index(ws, "<autoFilter"); j < i {
			t.Error("autoFilter before sheetData")
		}
		abs := regexp.MustCompile(`([A-Z]+)(\d+)`).ReplaceAllString(c.ref, `$$$1$$$2`)
		d, ok := definedNames(t, raw)["_xlnm._FilterDatabase"]
		if !ok || d.LocalSheetID != "0" || (d.Hidden != "1" && d.Hidden != "true") || d.RefersTo != "'需求跟踪表'!"+abs {
			t.Errorf("%d rows: _xlnm._FilterDatabase %+v, want hidden, sheet 0, over %s", len(c.recs), d, abs)
		}
		if tables, err := f.GetTables(sheet); err != nil || len(tables) != 0 {
			t.Errorf("tables %+v %v: a table would overlap the autofilter", tables, err)
		}
	}
}

// Printing: A4 landscape, one page wide, the header row on every page.
func TestPageSetup(t *testing.T) {
	f, raw := write(t, slice{record(1)}, TableOptions{Now: now})
	pl, err := f.GetPageLayout(sheet)
	if err != nil {
		t.Fatal(err)
	}
	if *pl.Size != 9 || *pl.Orientation != "landscape" || pl.FitToWidth == nil || *pl.FitToWidth != 1 || pl.FitToHeight == nil || *pl.FitToHeight != 0 {
		t.Errorf("page layout: size %v, %v, fit %v wide %v tall", *pl.Size, *pl.Orientation, pl.FitToWidth, pl.FitToHeight)
	}
	props, err := f.GetSheetProps(sheet)
	if err != nil || props.FitToPage == nil || !*props.FitToPage {
		t.Errorf("fitToPage %v %v", props.FitToPage, err)
	}
	ws := part(t, raw, "xl/worksheets/sheet1.xml")
	for _, want := range []string{`<pageSetUpPr fitToPage="true"`, `fitToHeight="0"`, `fitToWidth="1"`, `orientation="landscape"`, `paperSize="9"`, "&amp;P"} {
		if !strings.Contains(ws, want) {
			t.Errorf("sheet has no %s", want)
		}
	}
	var titles []excelize.DefinedName
	for _, d := range f.GetDefinedName() {
		if d.Name == "_xlnm.Print_Titles" {
			titles = append(titles, d)
		}
	}
	if len(titles) != 1 || titles[0].RefersTo != "'需求跟踪表'!$3:$3" || titles[0].Scope != sheet {
		t.Errorf("print titles %+v", titles)
	}
	if d := definedNames(t, raw)["_xlnm.Print_Titles"]; d.LocalSheetID != "0" || d.RefersTo != "'需求跟踪表'!$3:$3" {
		t.Errorf("print titles in workbook.xml: %+v", d)
	}
}

func TestLocation(t *testing.T) {
	f, _ := write(t, slice{record(1)}, TableOptions{Location: time.UTC, Now: now, Sheet: "跟踪"})
	if v, err := f.GetCellValue("跟踪", at("M", 1)); err != nil || v != "2026-11-24 02:00" {
		t.Errorf("UTC received %q %v", v, err)
	}
	if v, _ := f.GetCellValue("跟踪", "A2"); !strings.Contains(v, "2026-11-24 08:00 (UTC+00:00)") {
		t.Errorf("UTC export time %q", v)
	}
}

func TestEmptyTable(t *testing.T) {
	f, _ := write(t, nil, TableOptions{})
	if rows := dataRows(t, f, sheet); len(rows) != 1 || rows[0][0] != "需求编号" {
		t.Errorf("rows %q", rows)
	}
}

func TestCellText(t *testing.T) {
	units := func(s string) int { return len(utf16.Encode([]rune(s))) }
	for _, s := range []string{
		strings.Repeat("a", maxCell), strings.Repeat("长", maxCell),
		strings.Repeat("a", maxCell+1), strings.Repeat("长", 40000),
		strings.Repeat("😀", maxCell/2+1), // two UTF-16 units each
		strings.Repeat("a", maxCell-1) + "😀",
	} {
		got := cellText(s)
		if units(s) <= maxCell {
			if got != s {
				t.Errorf("%d units changed", units(s))
			}
			continue
		}
		if units(got) > maxCell || units(got) < maxCell-1 || !strings.HasSuffix(got, "…(截断)") || !strings.HasPrefix(s, strings.TrimSuffix(got, "…(截断)")) {
			t.Errorf("%d units cut to %d", units(s), units(got))
		}
	}
}

// cancelling is a Records that cancels its context after some rows.
type cancelling struct {
	n, at  int
	cancel context.CancelFunc
}

func (c cancelling) EachDemand(ctx context.Context, _ demand.Filter, fn func(*demand.Record) error) error {
	r := record(1)
	for i := range c.n {
		if i == c.at {
			c.cancel()
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

func TestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := WriteTable(ctx, io.Discard, slice{record(1)}, demand.Filter{}, TableOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled before: got %v, want context.Canceled", err)
	}
	for _, at := range []int{1500, 2999} { // mid-stream; after the last check
		ctx, cancel := context.WithCancel(context.Background())
		var buf bytes.Buffer
		n, err := WriteTable(ctx, &buf, cancelling{n: 3000, at: at, cancel: cancel}, demand.Filter{}, TableOptions{})
		if !errors.Is(err, context.Canceled) || n != 0 || !strings.HasPrefix(err.Error(), "export: ") {
			t.Errorf("cancelled at %d: got %d, %v; want context.Canceled", at, n, err)
		}
		if buf.Len() != 0 {
			t.Errorf("cancelled at %d: %d bytes written", at, buf.Len())
		}
	}
}

// An empty field is an empty cell: no "" string that Excel counts as
// content; an overdue row's empty cells still carry its fill.
func TestEmptyFieldsAreEmptyCells(t *testing.T) {
	bare := record(1)
	bare.Department, bare.ResponsePlan, bare.FeedbackResult, bare.SLA, bare.Priority = "", "", "", "", ""
	lateBare := record(2)
	lateBare.Department, lateBare.ResponsePlan, lateBare.DueAt = "", "", now.Add(-time.Hour)
	f, raw := write(t, slice{bare, lateBare}, TableOptions{Now: now})
	if m := regexp.MustCompile(`<t[^>]*></t>|<t[^>]*/>`).FindString(part(t, raw, "xl/worksheets/sheet1.xml")); m != "" {
		t.Errorf("sheet has an empty string cell: %s", m)
	}
	for _, cell := range []string{at("E", 1), at("F", 1), at("G", 1), at("J", 1), at("Q", 1), at("F", 2), at("G", 2)} {
		if typ, _ := f.GetCellType(sheet, cell); typ != excelize.CellTypeUnset {
			t.Errorf("%s type %v, want none", cell, typ)
		}
		if v, _ := f.GetCellValue(sheet, cell); v != "" {
			t.Errorf("%s = %q", cell, v)
		}
	}
	if !filled(style(t, f, at("G", 2))) {
		t.Error("empty cell of an overdue row not highlighted")
	}
}

func TestEnglish(t *testing.T) {
	late := record(2)
	late.DueAt = now.Add(-time.Hour)
	f, _ := write(t, slice{record(1), late}, TableOptions{Now: now, Locale: i18n.EN})
	rows := dataRows(t, f, "Tracking table")
	want := []string{"Demand ID", "Customer", "Description", "Type", "Priority", "Department", "Response plan", "Target date",
		"Status", "Feedback", "Urgency", "Channel", "Received", "Due", "Overdue", "Occurrences", "Duplicate of", "SLA", "Satisfaction"}
	if !slices.Equal(rows[0][:len(want)], want) || !slices.Equal(ColumnNames(i18n.EN), want) || rows[0][len(want)] != "demandd revision (do not edit)" {
		t.Errorf("headers %q, want %q", rows[0], want)
	}
	got := rows[1]
	for i, w := range map[int]string{3: "feature", 4: "P1 urgent and important", 8: "new", 10: "high", 11: "questionnaire · inbox", 14: "no"} {
		if got[i] != w {
			t.Errorf("%s = %q, want %q", want[i], got[i], w)
		}
	}
	if rows[2][14] != "yes" {
		t.Errorf("overdue row says %q", rows[2][14])
	}
	if !slices.Equal(Columns, ColumnNames(i18n.ZH)) || Columns[7] != "时间节点" {
		t.Errorf("Columns %q", Columns)
	}
}

// A duplicate's row names its canonical demand.
func TestDuplicateOfColumn(t *testing.T) {
	dup := record(2)
	dup.DuplicateOf, dup.DuplicateOfCode = 1, "DEM202611001"
	f, _ := write(t, slice{record(1), dup}, TableOptions{Now: now})
	rows := dataRows(t, f, "需求跟踪表")
	if got := rows[2][colDuplicateOf]; got != "DEM202611001" || rows[1][colDuplicateOf] != "" {
		t.Errorf("重复于 %q and %q, want the canonical code on the duplicate only", rows[1][colDuplicateOf], got)
	}
}

// failing is a source whose read fails after n records, and that says
// whether its read has returned.
type failing struct {
	n        int
	err      error
	returned *bool
}

func (f failing) EachDemand(ctx context.Context, _ demand.Filter, fn func(*demand.Record) error) error {
	defer func() { *f.returned = true }()
	for i := range f.n {
		if err := fn(record(i + 1)); err != nil {
			return err
		}
	}
	return f.err
}

// The records are read ahead on a goroutine of their own: a read that
// fails after rows were written fails the export with its error, a write
// that fails stops the read, and either way the read has returned — no
// goroutine is left behind — and every row written came in order.
func TestReadAheadErrors(t *testing.T) {
	ctx := context.Background()
	broken := errors.New("connection lost")
	returned := false
	var seen []string
	same := func(r *demand.Record) *demand.Record { return r }
	err := readAhead(ctx, failing{n: 1000, err: broken, returned: &returned}, demand.Filter{}, same, func(r *demand.Record) error {
		seen = append(seen, r.Code)
		return nil
	})
	if !errors.Is(err, broken) || len(seen) != 1000 || !returned || seen[999] != record(1000).Code {
		t.Errorf("read failing: %v, %d rows, returned %v", err, len(seen), returned)
	}
	full := errors.New("disk full")
	returned, seen = false, nil
	err = readAhead(ctx, failing{n: 100000, returned: &returned}, demand.Filter{}, same, func(r *demand.Record) error {
		if seen = append(seen, r.Code); len(seen) == 700 {
			return full
		}
		return nil
	})
	if !errors.Is(err, full) || len(seen) != 700 || !returned {
		t.Errorf("write failing: %v, %d rows, returned %v", err, len(seen), returned)
	}
}
