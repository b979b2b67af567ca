// Package export writes what people work from: the tracking table
// (需求分析与响应跟踪表) as an Excel workbook ready to filter and print, or as
// CSV. It reads records through the small Records interface, so it never
// imports the store, and streams its output (excelize's stream writer for
// the workbook), so memory stays bounded for any number of rows. Customer
// text is always written as text, never as a formula.
package export

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/xuri/excelize/v2"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/internal/i18n"
)

// Records is what export reads; the store implements it (export never
// imports the store).
type Records interface {
	EachDemand(ctx context.Context, f demand.Filter, fn func(*demand.Record) error) error
}

// TableOptions tune WriteTable, WriteCSV and WriteFile.
type TableOptions struct {
	// Location is the zone whose wall clock the dates show (default
	// Asia/Shanghai).
	Location *time.Location
	// Now is the export time: it decides 是否超期 and is shown above the
	// table (default time.Now()).
	Now time.Time
	// Sheet names the worksheet (default 需求跟踪表, or Tracking table in
	// English). Not used by CSV.
	Sheet string
	// Filter describes the records selected, for the line above the table
	// (e.g. "2026-11-01 – 2026-11-30, 状态 待处理,处理中"); empty: the
	// filter passed to WriteTable, as DescribeFilter says it. Not used by
	// CSV, which has no title area.
	Filter string
	// Locale is the language of the headers and labels (default Chinese).
	// Customer text and configured names (departments, SLA texts) are
	// written as they are.
	Locale i18n.Locale
	// FileMode is the mode of the file WriteFile writes (default 0640),
	// set whatever the umask. Not used by WriteTable and WriteCSV.
	FileMode os.FileMode
}

// withDefaults fills the options left zero.
func (o TableOptions) withDefaults() (TableOptions, error) {
	if o.Location == nil {
		loc, err := time.LoadLocation("Asia/Shanghai")
		if err != nil {
			return o, fmt.Errorf("export: time zone: %w", err)
		}
		o.Location = loc
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.Locale != i18n.EN {
		o.Locale = i18n.ZH
	}
	if o.Sheet == "" {
		o.Sheet = i18n.T("需求跟踪表", "Tracking table").In(o.Locale)
	}
	return o, nil
}

const (
	// maxCell is Excel's limit on the characters (UTF-16 code units) in
	// one cell.
	maxCell = 32767
	// zipLevel is the deflate level of the workbook. Compression was half
	// the time of a large export; at level 3 a 100k-row table is written
	// ~30% faster than at the default level 6 and ~15% larger, and
	// klauspost/compress's deflate took a 110k-row export from 4.0 s to
	// 3.1 s beside the standard library's at the same level.
	zipLevel = 3
)

// Date formats of the kindDay and kindTime columns.
const (
	dayFormat  = "yyyy-mm-dd"
	timeFormat = "yyyy-mm-dd hh:mm"
)

// The rows above the data: the title with the overdue legend, the export
// time with the filter, then the header.
const (
	titleRow  = 1
	metaRow   = 2
	headerRow = 3
	// legendCol is the overdue legend's column (D): after the title, which
	// runs over A–C in either language.
	legendCol = colType
)

// stampCol is the hidden column of the row stamps (1-based), last, inside
// the filter range so that sorting moves it with its row.
const stampCol = numColumns + 1

// overdueFill is the fill of an overdue row and of its legend.
var overdueFill = excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"F8CBAD"}}

// styles are the cell styles: the title area's, the header's, and each
// column's for a normal row and for an overdue one (the same style plus the
// overdue fill, so a date cell of an overdue row keeps its date format).
type styles struct {
	title, meta, legend, header int
	col                         [2][numColumns]int // [normal, overdue][column]
	kind                        [2][numKinds]int   // [normal, overdue][cell kind], for other tables
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
	// Thin grey borders: on paper there are no gridlines to tell the
	// cells apart (excelize cannot ask to print them).
	var border []excelize.Border
	for _, side := range []string{"left", "top", "right", "bottom"} {
		border = append(border, excelize.Border{Type: side, Color: "BFBFBF", Style: 1})
	}
	s.title = add(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 14}, Alignment: &excelize.Alignment{Vertical: "center"}})
	s.meta = add(&excelize.Style{Font: &excelize.Font{Color: "595959"}})
	s.legend = add(&excelize.Style{Fill: overdueFill, Border: border, Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center"}})
	s.header = add(&excelize.Style{Font: &excelize.Font{Bold: true}, Border: border,
		Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"D9E1F2"}},
		Alignment: &excelize.Alignment{Vertical: "center", WrapText: true}})
	day, tm := dayFormat, timeFormat
	for i, fill := range []excelize.Fill{{}, overdueFill} {
		var kind [numKinds]int
		top := &excelize.Alignment{Vertical: "top"}
		kind[kindText] = add(&excelize.Style{Fill: fill, Border: border, Alignment: top})
		kind[kindWrap] = add(&excelize.Style{Fill: fill, Border: border, Alignment: &excelize.Alignment{Vertical: "top", WrapText: true}})
		kind[kindDay] = add(&excelize.Style{Fill: fill, Border: border, CustomNumFmt: &day, Alignment: top})
		kind[kindTime] = add(&excelize.Style{Fill: fill, Border: border, CustomNumFmt: &tm, Alignment: top})
		kind[kindNumber] = add(&excelize.Style{Fill: fill, Border: border, Alignment: top})
		kind[kindScore] = kind[kindNumber]
		for c, col := range columns {
			s.col[i][c] = kind[col.kind]
		}
		s.kind[i] = kind
	}
	return s, err
}

// WriteTable streams the tracking table of the records matching f to w and
// returns the number of data rows. Above the header are the title with the
// legend of the overdue colour, and the export time with the filter; the
// header has filter buttons, stays in view and is printed on every page of
// an A4 landscape printout one page wide. The workbook goes to w as it is
// zipped, so on an error w may hold part of a file.
func WriteTable(ctx context.Context, w io.Writer, src Records, f demand.Filter, opts TableOptions) (int, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return 0, err
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
	title := i18n.T("需求分析与响应跟踪表", "Demand analysis and response tracking table").In(opts.Locale)
	exported := opts.Now.In(opts.Location).Format("2006-01-02 15:04 (UTC-07:00)")
	if opts.Filter == "" {
		opts.Filter = DescribeFilter(f, opts.Location, opts.Locale)
	}
	// Before the stream writer: it writes the sheet properties (fitToPage)
	// as it starts the sheet.
	if err := setUpPrint(book, opts.Sheet, title+"  "+exported, opts.Locale); err != nil {
		return 0, err
	}
	sw, err := book.NewStreamWriter(opts.Sheet)
	if err != nil {
		return 0, fmt.Errorf("export: stream writer: %w", err)
	}
	// Last column first: excelize puts each new width before the ones it
	// has, and Excel wants the columns in ascending order. The stamp
	// column after them is hidden (see returned.go).
	if err := sw.SetColWidth(stampCol, stampCol, 12); err != nil {
		return 0, fmt.Errorf("export: column width: %w", err)
	}
	if err := sw.SetColVisible(stampCol, stampCol, false); err != nil {
		return 0, fmt.Errorf("export: hidden column: %w", err)
	}
	for i := len(columns) - 1; i >= 0; i-- {
		if err := sw.SetColWidth(i+1, i+1, columns[i].width); err != nil {
			return 0, fmt.Errorf("export: column width: %w", err)
		}
	}
	// Frozen above the first data row: the title area and the header stay
	// in view.
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: headerRow, TopLeftCell: cellName(1, headerRow+1), ActivePane: "bottomLeft"}); err != nil {
		return 0, fmt.Errorf("export: frozen header: %w", err)
	}
	top := make([]interface{}, legendCol+2)
	top[0] = excelize.Cell{StyleID: st.title, Value: title}
	top[legendCol] = excelize.Cell{StyleID: st.legend, Value: i18n.T("已超期", "Overdue").In(opts.Locale)}
	top[legendCol+1] = excelize.Cell{StyleID: st.meta,
		Value: i18n.T("未关闭且已过截止时间的需求整行标为此色", "open demands past their due time are highlighted in this colour").In(opts.Locale)}
	if err := sw.SetRow(cellName(1, titleRow), top, excelize.RowOpts{Height: 24}); err != nil {
		return 0, fmt.Errorf("export: title: %w", err)
	}
	meta := i18n.Tf("导出时间 %s；筛选：%s", "Exported %s; filter: %s", exported, opts.Filter).In(opts.Locale)
	if err := sw.SetRow(cellName(1, metaRow), []interface{}{excelize.Cell{StyleID: st.meta, Value: cellText(meta)}}); err != nil {
		return 0, fmt.Errorf("export: title: %w", err)
	}
	// One row of cells, reused: row holds pointers to them, so a row costs
	// no allocation beyond its values.
	var cells [stampCol]excelize.Cell
	row := make([]interface{}, len(cells))
	for i := range cells {
		row[i] = &cells[i]
		cells[i] = excelize.Cell{StyleID: st.header, Value: stampHeader.In(opts.Locale)}
		if i < numColumns {
			cells[i].Value = columns[i].name.In(opts.Locale)
		}
	}
	if err := sw.SetRow(cellName(1, headerRow), row, excelize.RowOpts{Height: 20}); err != nil {
		return 0, fmt.Errorf("export: header: %w", err)
	}

	n, err := eachRow(ctx, src, f, opts, func(n int, tr *tableRow) error {
		o := 0
		if tr.overdue {
			o = 1
		}
		for i := range columns {
			c := &cells[i]
			c.StyleID = st.col[o][i]
			// An empty field is a cell with a style and no value, not
			// an empty string: Excel counts "" as content (COUNTA, the
			// filter's (Blanks), Ctrl+End) and openpyxl reads it as ''.
			switch columns[i].kind {
			case kindDay, kindTime:
				c.Value = excelTime(tr.time[i], opts.Location)
			case kindNumber:
				c.Value = tr.count
			case kindScore:
				c.Value = nil
				if tr.score > 0 {
					c.Value = tr.score
				}
			default:
				if s := tr.text[i]; s != "" {
					c.Value = cellText(s)
				} else {
					c.Value = nil
				}
			}
		}
		cells[numColumns] = excelize.Cell{StyleID: st.kind[o][kindText], Value: tr.stamp}
		cell, err := excelize.CoordinatesToCellName(1, headerRow+n) // fails past Excel's last row
		if err != nil {
			return err
		}
		return sw.SetRow(cell, row)
	})
	if err != nil {
		return 0, fmt.Errorf("export: tracking table: %w", err)
	}
	// A sheet autofilter over the header and the rows gives the header its
	// filter buttons. (A table would too, but LibreOffice and WPS show the
	// buttons of the sheet's autoFilter with its _xlnm._FilterDatabase
	// name, which AutoFilter writes; it must come before Flush, which
	// writes the sheet's autoFilter element.)
	ref := cellName(1, headerRow) + ":" + cellName(stampCol, headerRow+n)
	if err := book.AutoFilter(opts.Sheet, ref, nil); err != nil {
		return 0, fmt.Errorf("export: filter: %w", err)
	}
	if err := sw.Flush(); err != nil {
		return 0, fmt.Errorf("export: flush: %w", err)
	}
	if err := writeBook(ctx, book, w); err != nil {
		return 0, err
	}
	return n, nil
}

// writeBook zips book to w. excelize's Write/WriteTo assemble the whole
// zip in a bytes.Buffer first (tens of MB for 100k rows); a zip writer
// over w streams it instead, so memory stays flat for any number of rows.
// WriteToBuffer then returns an empty buffer.
func writeBook(ctx context.Context, book *excelize.File, w io.Writer) error {
	out := &ctxWriter{ctx: ctx, w: w}
	book.SetZipWriter(func(io.Writer) excelize.ZipWriter {
		zw := zip.NewWriter(out)
		zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
			return newChunkDeflater(w), nil
		})
		return zw
	})
	if _, err := book.WriteToBuffer(); err != nil {
		return fmt.Errorf("export: write workbook: %w", err)
	}
	return nil
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

// cellName is the name of the cell at col and row (1-based), for cells
// known to be within Excel's limits: the title area, and the filter's last
// row once the data rows are written.
func cellName(col, row int) string {
	name, _ := excelize.CoordinatesToCellName(col, row)
	return name
}

// setUpPrint prepares the sheet for paper: A4 landscape, fit to one page
// wide and as many pages tall as it takes, narrow margins, the header row
// on every page, and a footer with the title, the export time and the page
// number.
func setUpPrint(book *excelize.File, sheet, footer string, l i18n.Locale) error {
	if err := book.SetSheetProps(sheet, &excelize.SheetPropsOptions{FitToPage: ptr(true)}); err != nil {
		return fmt.Errorf("export: page setup: %w", err)
	}
	if err := book.SetPageLayout(sheet, &excelize.PageLayoutOptions{
		Size:        ptr(9), // A4
		Orientation: ptr("landscape"),
		FitToWidth:  ptr(1),
		FitToHeight: ptr(0), // as many pages as the rows take
	}); err != nil {
		return fmt.Errorf("export: page setup: %w", err)
	}
	if err := book.SetPageMargins(sheet, &excelize.PageLayoutMarginsOptions{
		Left: ptr(0.3), Right: ptr(0.3), Top: ptr(0.5), Bottom: ptr(0.6), Header: ptr(0.3), Footer: ptr(0.3),
	}); err != nil {
		return fmt.Errorf("export: page margins: %w", err)
	}
	page := i18n.T("第 &P 页，共 &N 页", "Page &P of &N").In(l)
	if err := book.SetHeaderFooter(sheet, &excelize.HeaderFooterOptions{
		OddFooter: "&L" + strings.ReplaceAll(footer, "&", "&&") + "&R" + page,
	}); err != nil {
		return fmt.Errorf("export: page footer: %w", err)
	}
	titles := fmt.Sprintf("%s!$%d:$%d", quoteSheet(sheet), headerRow, headerRow)
	if err := book.SetDefinedName(&excelize.DefinedName{Name: "_xlnm.Print_Titles", RefersTo: titles, Scope: sheet}); err != nil {
		return fmt.Errorf("export: print titles: %w", err)
	}
	return nil
}

// quoteSheet is a sheet name as a reference writes it.
func quoteSheet(name string) string {
	return "'" + strings.ReplaceAll(name, "'", "''") + "'"
}

func ptr[T any](v T) *T { return &v }

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
