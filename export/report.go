package export

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/internal/i18n"
)

// ReportSource is what the daily report reads; the store implements it.
type ReportSource interface {
	Records // 今日新增 and 未关闭
	ReportSummary(ctx context.Context, q demand.ReportQuery) (*demand.DaySummary, error)
	EachAtRisk(ctx context.Context, q demand.ReportQuery, fn func(demand.AtRisk) error) error
	EachDuplicateGroup(ctx context.Context, q demand.ReportQuery, fn func(*demand.Record) error) error
	EachException(ctx context.Context, q demand.ReportQuery, fn func(demand.Exception) error) error
}

// ReportOptions tune WriteReport and WriteReportFile.
type ReportOptions struct {
	// Day is any time in the calendar day reported on, taken in Location
	// (default: the day before Now).
	Day time.Time
	// Location is the zone of the day and of the dates shown (default
	// Asia/Shanghai).
	Location *time.Location
	// Now is when the report is made (default time.Now()): open demands,
	// overdue and due soon are judged at it.
	Now time.Time
	// Locale is the language of sheet names, headers and labels (default
	// Chinese).
	Locale i18n.Locale
	// AddWorkdays returns t plus n working days, for "due within two
	// working days" (pass classify.Calendar.AddWorkdays); default Monday
	// to Friday.
	AddWorkdays func(t time.Time, n int) time.Time
	// PreviousMail, when set, is how mailing the previous report went: a
	// line on 概览 says so. Nil leaves the line out.
	PreviousMail *MailResult
	// FileMode is the mode of the file WriteReportFile writes (default
	// 0640), whatever the umask.
	FileMode os.FileMode
	// Progress, when set, is called every 1,000 rows of a list sheet and
	// at its end with the sheet's name and its rows so far.
	Progress func(sheet string, rows int)
}

// MailResult is how mailing a report went.
type MailResult struct {
	Day    time.Time // the day that report was about
	Failed bool
	Error  string // why it failed, as the mailer says it
}

// ReportResult counts what a report holds.
type ReportResult struct {
	Day        time.Time // midnight starting the day, in the zone
	New        int       // 今日新增
	Open       int       // 未关闭
	AtRisk     int       // 超期预警
	Duplicates int       // rows of 重复
	Exceptions int       // 异常
}

// reportSheet names the sheets, in their order.
var reportSheets = [...]i18n.Text{
	i18n.T("概览", "Overview"),
	i18n.T("今日新增", "New today"),
	i18n.T("未关闭", "Open"),
	i18n.T("超期预警", "Overdue & at risk"),
	i18n.T("重复", "Duplicates"),
	i18n.T("异常", "Exceptions"),
}

const (
	sheetOverview = iota
	sheetNew
	sheetOpen
	sheetAtRisk
	sheetDuplicates
	sheetExceptions
)

// ReportSheets are the report's sheet names in l, in order.
func ReportSheets(l i18n.Locale) []string {
	out := make([]string, len(reportSheets))
	for i, s := range reportSheets {
		out[i] = s.In(l)
	}
	return out
}

// ReportFileName is the report's file name for day in l:
// 需求日报-2026-11-24.xlsx, or daily-report-2026-11-24.xlsx.
func ReportFileName(day time.Time, l i18n.Locale) string {
	return i18n.T("需求日报-", "daily-report-").In(l) + day.Format(time.DateOnly) + ".xlsx"
}

var warningLabels = map[demand.Warning]i18n.Text{
	demand.WarnOverdue:  i18n.T("已超期", "overdue"),
	demand.WarnDue24h:   i18n.T("24小时内到期", "due within 24 h"),
	demand.WarnDue2Days: i18n.T("2个工作日内到期", "due within 2 working days"),
	demand.WarnStalled:  i18n.T("紧急需求2小时无进展", "urgent, no progress for 2 h"),
}

var exceptionLabels = map[string]i18n.Text{
	"quarantined": i18n.T("隔离", "quarantined"),
	"ignored":     i18n.T("忽略", "ignored"),
	"failed_file": i18n.T("失败文件", "failed file"),
}

// withDefaults fills the options left zero.
func (o ReportOptions) withDefaults() (ReportOptions, error) {
	t, err := TableOptions{Location: o.Location, Now: o.Now, Locale: o.Locale}.withDefaults()
	if err != nil {
		return o, err
	}
	o.Location, o.Now, o.Locale = t.Location, t.Now, t.Locale
	if o.Day.IsZero() {
		o.Day = o.Now.In(o.Location).AddDate(0, 0, -1)
	}
	if o.AddWorkdays == nil {
		o.AddWorkdays = weekdays
	}
	return o, nil
}

// weekdays adds n Monday-to-Friday days to t.
func weekdays(t time.Time, n int) time.Time {
	for n > 0 {
		t = t.AddDate(0, 0, 1)
		if wd := t.Weekday(); wd != time.Saturday && wd != time.Sunday {
			n--
		}
	}
	return t
}

// Query is the store query for the report of opts.
func (o ReportOptions) query() demand.ReportQuery {
	start, end := demand.DayBounds(o.Day, o.Location)
	return demand.ReportQuery{Start: start, End: end, Now: o.Now, SoonBy: o.AddWorkdays(o.Now.In(o.Location), 2), Location: o.Location}
}

// WriteReportFile writes the daily report to path like WriteFile writes a
// table: a file beside it, synced and renamed over it.
func WriteReportFile(ctx context.Context, path string, src ReportSource, opts ReportOptions) (ReportResult, error) {
	var res ReportResult
	err := writeAtomic(path, opts.FileMode, func(f *os.File) error {
		var err error
		res, err = WriteReport(ctx, f, src, opts)
		return err
	})
	return res, err
}

// WriteReport writes the daily report (需求日报) of opts.Day to w: 概览
// with the day's figures and four charts, then the lists 今日新增, 未关闭,
// 超期预警 (soonest due first, with the warning), 重复 (each group's
// canonical demand first) and 异常 (items quarantined or ignored and files
// failed that day). The lists are tracking tables as WriteTable writes
// them, streamed, so memory stays bounded by the sheet of the overview.
// On an error w may hold part of a file.
func WriteReport(ctx context.Context, w io.Writer, src ReportSource, opts ReportOptions) (ReportResult, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return ReportResult{}, err
	}
	q := opts.query()
	res := ReportResult{Day: q.Start}
	sum, err := src.ReportSummary(ctx, q)
	if err != nil {
		return res, err
	}
	book := excelize.NewFile()
	defer book.Close()
	names := ReportSheets(opts.Locale)
	if err := book.SetSheetName(book.GetSheetName(0), names[0]); err != nil {
		return res, fmt.Errorf("export: report sheet: %w", err)
	}
	for _, n := range names[1:] {
		if _, err := book.NewSheet(n); err != nil {
			return res, fmt.Errorf("export: report sheet %s: %w", n, err)
		}
	}
	st, err := newStyles(book)
	if err != nil {
		return res, fmt.Errorf("export: styles: %w", err)
	}
	rw := &reportWriter{ctx: ctx, book: book, st: st, opts: opts, names: names,
		rf:  newRowFiller(TableOptions{Now: opts.Now, Locale: opts.Locale}),
		day: q.Start.Format(time.DateOnly), made: opts.Now.In(opts.Location).Format("2006-01-02 15:04 (UTC-07:00)")}
	l := opts.Locale

	// 今日新增
	t, err := rw.trackingSheet(sheetNew, i18n.Tf("%s 新增需求", "Demands received on %s", rw.day).In(l), nil)
	if err != nil {
		return res, err
	}
	f := demand.Filter{Since: q.Start, Until: q.End, Summary: true}
	if err := src.EachDemand(ctx, f, func(r *demand.Record) error { return t.record(r) }); err != nil {
		return res, fmt.Errorf("export: report new demands: %w", err)
	}
	if res.New, err = t.close(); err != nil {
		return res, err
	}

	// 未关闭
	t, err = rw.trackingSheet(sheetOpen, i18n.Tf("未关闭需求（截至 %s）", "Open demands (as of %s)", rw.made).In(l), nil)
	if err != nil {
		return res, err
	}
	f = demand.Filter{Status: []demand.Status{demand.StatusNew, demand.StatusInProgress}, Summary: true}
	if err := src.EachDemand(ctx, f, func(r *demand.Record) error { return t.record(r) }); err != nil {
		return res, fmt.Errorf("export: report open demands: %w", err)
	}
	if res.Open, err = t.close(); err != nil {
		return res, err
	}

	// 超期预警
	warnCol := column{i18n.T("预警", "Warning"), 22, kindText}
	t, err = rw.trackingSheet(sheetAtRisk, i18n.Tf("超期预警（截至 %s）", "Overdue and at risk (as of %s)", rw.made).In(l), []column{warnCol})
	if err != nil {
		return res, err
	}
	warned := map[demand.Warning]int{}
	sep := i18n.T("；", "; ").In(l)
	err = src.EachAtRisk(ctx, q, func(a demand.AtRisk) error {
		ws := make([]string, len(a.Warnings))
		for i, w := range a.Warnings {
			ws[i] = warningLabels[w].In(l)
			warned[w]++
		}
		return t.record(a.Record, strings.Join(ws, sep))
	})
	if err != nil {
		return res, fmt.Errorf("export: report demands at risk: %w", err)
	}
	if res.AtRisk, err = t.close(); err != nil {
		return res, err
	}

	// 重复
	groupCols := []column{{i18n.T("重复组", "Group"), 16, kindText}, {i18n.T("关系", "Role"), 10, kindText}}
	t, err = rw.trackingSheet(sheetDuplicates, i18n.Tf("%s 出现重复的需求组（原始需求在前）", "Duplicate groups that grew on %s (canonical demand first)", rw.day).In(l), groupCols)
	if err != nil {
		return res, err
	}
	groups := 0
	canonical, dup := i18n.T("原始需求", "canonical").In(l), i18n.T("重复", "duplicate").In(l)
	group := ""
	err = src.EachDuplicateGroup(ctx, q, func(r *demand.Record) error {
		role := dup
		if r.DuplicateOf == 0 {
			role, group = canonical, r.Code
			groups++
		}
		return t.record(r, group, role)
	})
	if err != nil {
		return res, fmt.Errorf("export: report duplicates: %w", err)
	}
	if res.Duplicates, err = t.close(); err != nil {
		return res, err
	}

	// 异常
	if res.Exceptions, err = rw.exceptions(ctx, src, q); err != nil {
		return res, err
	}

	if err := rw.overview(sum, warned, groups); err != nil {
		return res, err
	}
	book.SetActiveSheet(0)
	if err := writeBook(ctx, book, w); err != nil {
		return res, err
	}
	return res, nil
}

// reportWriter writes one report's sheets.
type reportWriter struct {
	ctx       context.Context
	book      *excelize.File
	st        styles
	opts      ReportOptions
	names     []string
	rf        rowFiller
	day, made string
}

// listSheet is a list sheet being streamed: the title area and header of
// WriteTable, then one row per call of add.
type listSheet struct {
	rw    *reportWriter
	name  string
	sw    *excelize.StreamWriter
	cols  []column
	cells []excelize.Cell
	row   []interface{}
	vals  []any
	tr    tableRow
	n     int
}

// newList starts sheet with a title, the report's line under it, and the
// header of cols, frozen, printable like the tracking table.
func (rw *reportWriter) newList(sheet int, title string, cols []column) (*listSheet, error) {
	name := rw.names[sheet]
	l := rw.opts.Locale
	if err := setUpPrint(rw.book, name, title+"  "+rw.made, l); err != nil {
		return nil, err
	}
	sw, err := rw.book.NewStreamWriter(name)
	if err != nil {
		return nil, fmt.Errorf("export: stream writer: %w", err)
	}
	// Last column first: excelize puts each new width before the ones it
	// has, and Excel wants the columns in ascending order.
	for i := len(cols) - 1; i >= 0; i-- {
		if err := sw.SetColWidth(i+1, i+1, cols[i].width); err != nil {
			return nil, fmt.Errorf("export: column width: %w", err)
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: headerRow, TopLeftCell: cellName(1, headerRow+1), ActivePane: "bottomLeft"}); err != nil {
		return nil, fmt.Errorf("export: frozen header: %w", err)
	}
	if err := sw.SetRow(cellName(1, titleRow), []interface{}{excelize.Cell{StyleID: rw.st.title, Value: cellText(title)}}, excelize.RowOpts{Height: 24}); err != nil {
		return nil, fmt.Errorf("export: title: %w", err)
	}
	meta := i18n.Tf("需求日报 %s；生成时间 %s", "Daily report of %s; made %s", rw.day, rw.made).In(l)
	if err := sw.SetRow(cellName(1, metaRow), []interface{}{excelize.Cell{StyleID: rw.st.meta, Value: meta}}); err != nil {
		return nil, fmt.Errorf("export: title: %w", err)
	}
	s := &listSheet{rw: rw, name: name, sw: sw, cols: cols, cells: make([]excelize.Cell, len(cols)),
		row: make([]interface{}, len(cols)), vals: make([]any, len(cols))}
	for i := range s.cells {
		s.row[i] = &s.cells[i]
		s.cells[i] = excelize.Cell{StyleID: rw.st.header, Value: cols[i].name.In(l)}
	}
	if err := sw.SetRow(cellName(1, headerRow), s.row, excelize.RowOpts{Height: 20}); err != nil {
		return nil, fmt.Errorf("export: header: %w", err)
	}
	return s, nil
}

// trackingSheet starts a list of the tracking table's columns after pre.
func (rw *reportWriter) trackingSheet(sheet int, title string, pre []column) (*listSheet, error) {
	cols := append(append([]column(nil), pre...), columns[:]...)
	return rw.newList(sheet, title, cols)
}

// record adds r as a tracking-table row after the pre column texts.
func (s *listSheet) record(r *demand.Record, pre ...string) error {
	s.rw.rf.fill(&s.tr, r)
	for i, p := range pre {
		s.vals[i] = p
	}
	for c, col := range columns {
		v := &s.vals[len(pre)+c]
		switch col.kind {
		case kindDay, kindTime:
			*v = s.tr.time[c]
		case kindNumber:
			*v = s.tr.count
		case kindScore:
			*v = ""
			if s.tr.score > 0 {
				*v = s.tr.score
			}
		default:
			*v = s.tr.text[c]
		}
	}
	return s.add(s.tr.overdue, s.vals)
}

// add writes one row of values: string (customer text stays text), time
// (shown in the report's zone) or int; "" and the zero time are empty
// cells.
func (s *listSheet) add(overdue bool, vals []any) error {
	if s.n%1000 == 0 {
		if err := s.rw.ctxErr(); err != nil {
			return err
		}
		if s.n > 0 && s.rw.opts.Progress != nil {
			s.rw.opts.Progress(s.name, s.n)
		}
	}
	o := 0
	if overdue {
		o = 1
	}
	for i, v := range vals {
		c := &s.cells[i]
		c.StyleID = s.rw.st.kind[o][s.cols[i].kind]
		switch v := v.(type) {
		case string:
			c.Value = nil
			if v != "" {
				c.Value = cellText(v)
			}
		case time.Time:
			c.Value = excelTime(v, s.rw.opts.Location)
		default:
			c.Value = v
		}
	}
	s.n++
	cell, err := excelize.CoordinatesToCellName(1, headerRow+s.n) // fails past Excel's last row
	if err != nil {
		return err
	}
	return s.sw.SetRow(cell, s.row)
}

// close adds the filter buttons, flushes the sheet and returns its rows.
func (s *listSheet) close() (int, error) {
	ref := cellName(1, headerRow) + ":" + cellName(len(s.cols), headerRow+s.n)
	if err := s.rw.book.AutoFilter(s.name, ref, nil); err != nil {
		return 0, fmt.Errorf("export: filter: %w", err)
	}
	if err := s.sw.Flush(); err != nil {
		return 0, fmt.Errorf("export: flush %s: %w", s.name, err)
	}
	if s.rw.opts.Progress != nil {
		s.rw.opts.Progress(s.name, s.n)
	}
	return s.n, nil
}

func (rw *reportWriter) ctxErr() error { return rw.ctx.Err() }

// exceptions writes 异常.
func (rw *reportWriter) exceptions(ctx context.Context, src ReportSource, q demand.ReportQuery) (int, error) {
	l := rw.opts.Locale
	cols := []column{
		{i18n.T("时间", "Time"), 18, kindTime},
		{i18n.T("类别", "Kind"), 10, kindText},
		{i18n.T("来源渠道", "Channel"), 10, kindText},
		{i18n.T("来源名称", "Source"), 16, kindText},
		{i18n.T("原因", "Reason"), 50, kindWrap},
		{i18n.T("文件/消息", "File or message"), 40, kindWrap},
		{i18n.T("条目编号", "Item ID"), 10, kindText},
	}
	s, err := rw.newList(sheetExceptions, i18n.Tf("%s 隔离、忽略的条目和失败的文件", "Items quarantined or ignored and files failed on %s", rw.day).In(l), cols)
	if err != nil {
		return 0, err
	}
	vals := make([]any, len(cols))
	err = src.EachException(ctx, q, func(e demand.Exception) error {
		kind := e.Kind
		if t, ok := exceptionLabels[e.Kind]; ok {
			kind = t.In(l)
		}
		id := fmt.Sprint(e.ID)
		if e.Kind == "failed_file" {
			id = "F-" + id // as `demandd reprocess` names a failed file
		}
		vals[0], vals[1], vals[2], vals[3], vals[4], vals[5], vals[6] = e.At, kind, label(e.Channel, l == i18n.EN), e.Source, e.Reason, e.Ref, id
		return s.add(false, vals)
	})
	if err != nil {
		return 0, fmt.Errorf("export: report exceptions: %w", err)
	}
	return s.close()
}
