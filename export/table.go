// Package export writes what people work from: the tracking table
// (需求分析与响应跟踪表) as an Excel workbook. It reads records through the
// small Records interface, so it never imports the store, and writes
// through excelize's stream writer, so memory stays bounded for any number
// of rows. Customer text is always written as text, never as a formula.
package export

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/demandd/demandd/demand"
)

// Records is what export reads; the store implements it.
type Records interface {
	EachDemand(ctx context.Context, f demand.Filter, fn func(*demand.Record) error) error
}

// TableOptions tune WriteTable.
type TableOptions struct {
	// Location is the zone whose wall clock the dates show (default
	// Asia/Shanghai).
	Location *time.Location
	// Now decides 是否超期 (default time.Now()).
	Now time.Time
	// Sheet names the worksheet (default 需求跟踪表).
	Sheet string
}

// Columns are the tracking table's headers: the seed columns in their
// order, then the working columns.
var Columns = []string{"需求编号", "客户信息", "需求描述", "需求类型", "优先级", "责任部门", "响应方案", "时间节点",
	"状态", "反馈结果", "紧急程度", "来源渠道", "接收时间", "截止时间", "是否超期", "重复次数"}

var widths = []float64{16, 30, 60, 10, 16, 12, 30, 14, 10, 24, 10, 22, 18, 18, 10, 10}

const (
	colReceived = 12 // 0-based index of 接收时间
	colDue      = 13
	// maxCell is Excel's limit on the characters in one cell.
	maxCell = 32767
)

// styles are the cell styles: plain, and with the overdue fill.
type styles struct {
	header                   int
	text, wrap, date, number [2]int // [normal, overdue]
}

func newStyles(f *excelize.File) (styles, error) {
	var s styles
	var err error
	add := func(st *excelize.Style) int {
		if err != nil {
			return 0
		}
		var id int
		id, err = f.NewStyle(st)
		return id
	}
	s.header = add(&excelize.Style{Font: &excelize.Font{Bold: true},
		Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"D9E1F2"}},
		Alignment: &excelize.Alignment{Vertical: "center", WrapText: true}})
	dateFmt := "yyyy-mm-dd hh:mm"
	for i, fill := range []excelize.Fill{{}, {Type: "pattern", Pattern: 1, Color: []string{"F8CBAD"}}} {
		s.text[i] = add(&excelize.Style{Fill: fill, Alignment: &excelize.Alignment{Vertical: "top"}})
		s.wrap[i] = add(&excelize.Style{Fill: fill, Alignment: &excelize.Alignment{Vertical: "top", WrapText: true}})
		s.date[i] = add(&excelize.Style{Fill: fill, CustomNumFmt: &dateFmt, Alignment: &excelize.Alignment{Vertical: "top"}})
		s.number[i] = add(&excelize.Style{Fill: fill, Alignment: &excelize.Alignment{Vertical: "top"}})
	}
	return s, err
}

// WriteTable streams the tracking table of the records matching f to w and
// returns the number of data rows.
func WriteTable(ctx context.Context, w io.Writer, src Records, f demand.Filter, opts TableOptions) (int, error) {
	if opts.Location == nil {
		loc, err := time.LoadLocation("Asia/Shanghai")
		if err != nil {
			return 0, fmt.Errorf("export: %w", err)
		}
		opts.Location = loc
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if opts.Sheet == "" {
		opts.Sheet = "需求跟踪表"
	}
	book := excelize.NewFile()
	defer book.Close()
	if err := book.SetSheetName(book.GetSheetName(0), opts.Sheet); err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	st, err := newStyles(book)
	if err != nil {
		return 0, fmt.Errorf("export: styles: %w", err)
	}
	sw, err := book.NewStreamWriter(opts.Sheet)
	if err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	for i, wd := range widths {
		if err := sw.SetColWidth(i+1, i+1, wd); err != nil {
			return 0, fmt.Errorf("export: %w", err)
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	row := make([]interface{}, len(Columns))
	for i, h := range Columns {
		row[i] = excelize.Cell{StyleID: st.header, Value: h}
	}
	if err := sw.SetRow("A1", row, excelize.RowOpts{Height: 20}); err != nil {
		return 0, fmt.Errorf("export: header: %w", err)
	}

	n := 0
	f.Summary = true
	err = src.EachDemand(ctx, f, func(r *demand.Record) error {
		if n%1000 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		n++
		overdue := !r.DueAt.IsZero() && r.DueAt.Before(opts.Now) && r.Status.Open()
		o := 0
		if overdue {
			o = 1
		}
		text := func(s string) excelize.Cell { return excelize.Cell{StyleID: st.text[o], Value: cellText(s)} }
		when := func(t time.Time) excelize.Cell {
			if t.IsZero() {
				return excelize.Cell{StyleID: st.date[o]}
			}
			return excelize.Cell{StyleID: st.date[o], Value: wallClock(t, opts.Location)}
		}
		row[0] = text(r.Code)
		row[1] = text(r.Customer.Summary())
		row[2] = excelize.Cell{StyleID: st.wrap[o], Value: cellText(r.Description.Summary())}
		row[3] = text(r.Type.Label())
		row[4] = text(priorityLabel(r.Priority))
		row[5] = text(r.Department)
		row[6] = excelize.Cell{StyleID: st.wrap[o], Value: cellText(r.ResponsePlan)}
		row[7] = text(r.SLA)
		row[8] = text(r.Status.Label())
		row[9] = excelize.Cell{StyleID: st.wrap[o], Value: cellText(r.FeedbackResult)}
		row[10] = text(r.Urgency.Label())
		row[11] = text(sourceLabel(r.Source))
		row[colReceived] = when(r.Source.ReceivedAt)
		row[colDue] = when(r.DueAt)
		row[14] = text(map[bool]string{true: "是", false: "否"}[overdue])
		row[15] = excelize.Cell{StyleID: st.number[o], Value: r.Occurrences}
		cell, err := excelize.CoordinatesToCellName(1, n+1)
		if err != nil {
			return err
		}
		return sw.SetRow(cell, row)
	})
	if err != nil {
		return 0, fmt.Errorf("export: tracking table: %w", err)
	}
	// A table over the range gives the header its filter buttons; the
	// stream writer keeps it in bounded memory.
	last, _ := excelize.CoordinatesToCellName(len(Columns), n+1)
	if err := sw.AddTable(&excelize.Table{Range: "A1:" + last, Name: "需求跟踪", StyleName: "", ShowRowStripes: boolPtr(false)}); err != nil {
		return 0, fmt.Errorf("export: filter: %w", err)
	}
	if err := sw.Flush(); err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	// excelize's WriteTo assembles the whole zip in a buffer first; a zip
	// writer over w streams it instead, so memory stays flat for any
	// number of rows. (The buffer WriteToBuffer returns is then empty.)
	book.SetZipWriter(func(io.Writer) excelize.ZipWriter { return zip.NewWriter(w) })
	if _, err := book.WriteToBuffer(); err != nil {
		return 0, fmt.Errorf("export: write workbook: %w", err)
	}
	return n, nil
}

func boolPtr(b bool) *bool { return &b }

// cellText keeps text within Excel's cell limit. The stream writer stores
// strings as strings: "=HYPERLINK(…)" stays text and is never evaluated.
func cellText(s string) string {
	if len(s) <= maxCell || utf8.RuneCountInString(s) <= maxCell {
		return s
	}
	const marker = "…(截断)"
	r := []rune(s)
	return string(r[:maxCell-utf8.RuneCountInString(marker)]) + marker
}

// wallClock gives excelize the wall-clock time of t in loc: excelize
// writes a time's own clock fields as the Excel serial date.
func wallClock(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
}

func priorityLabel(p demand.Priority) string {
	if p == "" {
		return ""
	}
	return string(p) + " " + p.Label()
}

func sourceLabel(s demand.Source) string {
	if s.Name == "" {
		return s.Channel.Label()
	}
	return s.Channel.Label() + " · " + s.Name
}
