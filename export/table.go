// Package export writes what people work from: the tracking table
// (需求分析与响应跟踪表) as an Excel workbook. It reads records through the
// small Records interface, so it never imports the store, and writes
// through excelize's stream writer, so memory stays bounded for any number
// of rows. Customer text is always written as text, never as a formula.
package export

import (
	"archive/zip"
	"compress/flate"
	"context"
	"fmt"
	"io"
	"time"
	"unicode/utf16"

	"github.com/xuri/excelize/v2"

	"github.com/demandd/demandd/demand"
)

// Records is what export reads; the store implements it (export never
// imports the store).
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
	// maxCell is Excel's limit on the characters (UTF-16 code units) in
	// one cell.
	maxCell = 32767
	// zipLevel is the deflate level of the workbook. Compression is half
	// the time of a large export; at level 3 a 100k-row table is written
	// ~30% faster than at the default level 6 and ~15% larger.
	zipLevel = 3
)

// styles are the cell styles: the header's, and each column's for a normal
// row and for an overdue one (the same style plus the overdue fill, so a
// date cell of an overdue row keeps its date format).
type styles struct {
	header int
	col    [2][len(columnKinds)]int // [normal, overdue][column]
}

// Cell kinds, to pick a column's style.
const (
	kindText = iota
	kindWrap // long text: wrapped
	kindDate
	kindNumber
)

// columnKinds are the kinds of the Columns, in order.
var columnKinds = [...]int{kindText, kindText, kindWrap, kindText, kindText, kindText, kindWrap, kindText,
	kindText, kindWrap, kindText, kindText, kindDate, kindDate, kindText, kindNumber}

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
		var kind [4]int
		kind[kindText] = add(&excelize.Style{Fill: fill, Alignment: &excelize.Alignment{Vertical: "top"}})
		kind[kindWrap] = add(&excelize.Style{Fill: fill, Alignment: &excelize.Alignment{Vertical: "top", WrapText: true}})
		kind[kindDate] = add(&excelize.Style{Fill: fill, CustomNumFmt: &dateFmt, Alignment: &excelize.Alignment{Vertical: "top"}})
		kind[kindNumber] = add(&excelize.Style{Fill: fill, Alignment: &excelize.Alignment{Vertical: "top"}})
		for c, k := range columnKinds {
			s.col[i][c] = kind[k]
		}
	}
	return s, err
}

// WriteTable streams the tracking table of the records matching f to w and
// returns the number of data rows. The workbook goes to w as it is zipped,
// so on an error w may hold part of a file.
func WriteTable(ctx context.Context, w io.Writer, src Records, f demand.Filter, opts TableOptions) (int, error) {
	if opts.Location == nil {
		loc, err := time.LoadLocation("Asia/Shanghai")
		if err != nil {
			return 0, fmt.Errorf("export: time zone: %w", err)
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
		return 0, fmt.Errorf("export: sheet name: %w", err)
	}
	st, err := newStyles(book)
	if err != nil {
		return 0, fmt.Errorf("export: styles: %w", err)
	}
	sw, err := book.NewStreamWriter(opts.Sheet)
	if err != nil {
		return 0, fmt.Errorf("export: stream writer: %w", err)
	}
	// Last column first: excelize puts each new width before the ones it
	// has, and Excel wants the columns in ascending order.
	for i := len(widths) - 1; i >= 0; i-- {
		if err := sw.SetColWidth(i+1, i+1, widths[i]); err != nil {
			return 0, fmt.Errorf("export: column width: %w", err)
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return 0, fmt.Errorf("export: frozen header: %w", err)
	}
	// One row of cells, reused: row holds pointers to them, so a row costs
	// no allocation beyond its values.
	var cells [len(columnKinds)]excelize.Cell
	row := make([]interface{}, len(cells))
	for i := range cells {
		row[i] = &cells[i]
		cells[i] = excelize.Cell{StyleID: st.header, Value: Columns[i]}
	}
	if err := sw.SetRow("A1", row, excelize.RowOpts{Height: 20}); err != nil {
		return 0, fmt.Errorf("export: header: %w", err)
	}

	n := 0
	f.Summary = true // reasons, extras, flags: not in the table
	err = src.EachDemand(ctx, f, func(r *demand.Record) error {
		if n%1000 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		n++
		overdue := !r.DueAt.IsZero() && r.DueAt.Before(opts.Now) && r.Status.Open()
		o, late := 0, "否"
		if overdue {
			o, late = 1, "是"
		}
		for i := range cells {
			cells[i].StyleID = st.col[o][i]
		}
		cells[0].Value = cellText(r.Code)
		cells[1].Value = cellText(r.Customer.Summary())
		cells[2].Value = cellText(r.Description.Summary())
		cells[3].Value = cellText(r.Type.Label())
		cells[4].Value = cellText(priorityLabel(r.Priority))
		cells[5].Value = cellText(r.Department)
		cells[6].Value = cellText(r.ResponsePlan)
		cells[7].Value = cellText(r.SLA)
		cells[8].Value = cellText(r.Status.Label())
		cells[9].Value = cellText(r.FeedbackResult)
		cells[10].Value = cellText(r.Urgency.Label())
		cells[11].Value = cellText(sourceLabel(r.Source))
		cells[colReceived].Value = excelTime(r.Source.ReceivedAt, opts.Location)
		cells[colDue].Value = excelTime(r.DueAt, opts.Location)
		cells[14].Value = late
		cells[15].Value = r.Occurrences
		cell, err := excelize.CoordinatesToCellName(1, n+1)
		if err != nil {
			return err
		}
		return sw.SetRow(cell, row)
	})
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return 0, fmt.Errorf("export: tracking table: %w", err)
	}
	// A table over the rows gives the header its filter buttons (the
	// stream writer has no plain autofilter; its one table is kept as a
	// part of its own, not in memory). No table style: the cells' own
	// styles show.
	last, err := excelize.CoordinatesToCellName(len(Columns), n+1)
	if err != nil {
		return 0, fmt.Errorf("export: filter: %w", err)
	}
	if err := sw.AddTable(&excelize.Table{Range: "A1:" + last, Name: "需求跟踪", ShowRowStripes: boolPtr(false)}); err != nil {
		return 0, fmt.Errorf("export: filter: %w", err)
	}
	if err := sw.Flush(); err != nil {
		return 0, fmt.Errorf("export: flush: %w", err)
	}
	// excelize's Write/WriteTo assemble the whole zip in a bytes.Buffer
	// first (tens of MB for 100k rows); a zip writer over w streams it
	// instead, so memory stays flat for any number of rows. WriteToBuffer
	// then returns an empty buffer.
	out := &ctxWriter{ctx: ctx, w: w}
	book.SetZipWriter(func(io.Writer) excelize.ZipWriter {
		zw := zip.NewWriter(out)
		zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
			return flate.NewWriter(w, zipLevel)
		})
		return zw
	})
	if _, err := book.WriteToBuffer(); err != nil {
		return 0, fmt.Errorf("export: write workbook: %w", err)
	}
	return n, nil
}

// ctxWriter stops writing the workbook when ctx is done.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c *ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

func boolPtr(b bool) *bool { return &b }

// cellText keeps text within Excel's cell limit of 32,767 characters
// (UTF-16 code units), marking the cut. (excelize would cut silently.) The
// stream writer stores every string as an inline string: "=HYPERLINK(…)"
// stays text and is never evaluated.
func cellText(s string) string {
	if len(s) <= maxCell { // a UTF-8 string has no more UTF-16 units than bytes
		return s
	}
	units, cut := 0, -1
	for i, r := range s {
		u := utf16.RuneLen(r)
		if u < 0 {
			u = 1 // invalid UTF-8: one U+FFFD
		}
		if cut < 0 && units+u > maxCell-markerUnits {
			cut = i
		}
		if units += u; units > maxCell {
			return s[:cut] + truncMarker
		}
	}
	return s
}

const truncMarker = "…(截断)"

var markerUnits = len(utf16.Encode([]rune(truncMarker)))

// excelTime gives excelize the time to write for t: the wall clock of t in
// loc, as a UTC time. excelize writes the serial number of a time's wall
// clock in the time's own location (it adds the zone offset to the
// instant): a UTC instant would show UTC. Handing it loc's clock fields in
// UTC leaves nothing to that rule. A zero time is an empty cell.
func excelTime(t time.Time, loc *time.Location) interface{} {
	if t.IsZero() {
		return nil
	}
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
