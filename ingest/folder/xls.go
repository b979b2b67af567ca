package folder

import (
	"fmt"
	"io"

	"github.com/shakinm/xlsReader/xls"
)

// xlsRows reads a legacy BIFF8 workbook (older 问卷星 downloads). The
// format caps a sheet at 65,536 rows, so reading it whole is bounded.
type xlsRows struct {
	sheet *xls.Sheet
	name  string
	n     int // rows in the sheet
	next  int // 0-based index of the next row
}

// openXLS opens a legacy .xls workbook's first sheet. The reader is
// guarded: a malformed file that makes it panic is a FileError, not a
// crash.
func openXLS(path string) (r rowReader, err error) {
	defer func() {
		if p := recover(); p != nil {
			r, err = nil, xlsError(fmt.Errorf("%v", p))
		}
	}()
	wb, err := xls.OpenFile(path)
	if err != nil {
		return nil, xlsError(err)
	}
	if wb.GetNumberSheets() == 0 {
		return nil, fileErrorf("the .xls workbook has no sheets; export the survey results again")
	}
	sh, err := wb.GetSheet(0)
	if err != nil {
		return nil, xlsError(err)
	}
	return &xlsRows{sheet: sh, name: sh.GetName(), n: sh.GetNumberRows()}, nil
}

func xlsError(err error) error {
	return fileErrorf("the legacy .xls workbook cannot be read (%v); open it in Excel or WPS, save it as .xlsx (Excel 工作簿) and drop that file in", err)
}

func (r *xlsRows) Next() (cells []string, number int, err error) {
	defer func() {
		if p := recover(); p != nil {
			cells, number, err = nil, 0, xlsError(fmt.Errorf("row %d: %v", r.next+1, p))
		}
	}()
	if r.next >= r.n {
		return nil, 0, io.EOF
	}
	i := r.next
	r.next++
	row, err := r.sheet.GetRow(i)
	if err != nil { // a row with no cells
		return nil, i + 1, nil
	}
	for _, c := range row.GetCols() {
		cells = append(cells, c.GetString())
	}
	return cells, i + 1, nil
}

func (r *xlsRows) Sheet() string { return r.name }
func (r *xlsRows) Close() error  { return nil }
