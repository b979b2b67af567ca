package folder

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/xuri/excelize/v2"

	"github.com/demandd/demandd/ingest/folder/biff"
	"github.com/demandd/demandd/internal/i18n"
)

// Legacy .xls workbooks (BIFF8, Excel 97–2003, as 问卷星 downloads were, and
// BIFF5/7) are read by package biff, under the limits it holds (the
// workbook stream to max_file_size, the shared strings to the count an
// .xlsx may have, what it holds in memory to biff.DefaultMaxMemory). The
// sheet read is the one the workbook opens on, else the first worksheet,
// as for an .xlsx. It is read through once before any row is returned, so
// that a damaged file, or one over max_rows or over the size of a row or
// of the rows read ahead, fails before any of its rows is committed; then
// again row by row, holding one row at a time.
//
// Cells read as the .xlsx path shows the same cell: text as it is; a
// number or a date through its number format as excelize writes it (a
// General number as its shortest decimal); TRUE or FALSE; an error as
// Excel writes it (#DIV/0!).

// openXLS opens the legacy workbook at path within lim.
func openXLS(path string, lim limits) (rowReader, error) {
	f, err := openNoFollow(path)
	if err != nil {
		return nil, fmt.Errorf("folder: open %s: %w", path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("folder: %w", err)
	}
	head := make([]byte, 8)
	if n, _ := f.ReadAt(head, 0); !bytes.Equal(head[:n], cfbMagic) {
		f.Close()
		if bytes.HasPrefix(head, []byte("PK\x03\x04")) { // an .xlsx named .xls
			return openXLSX(path, lim)
		}
		return nil, fileErrorf("文件扩展名是 .xls，但内容不是 Excel 工作簿（可能是网页或文本导出）：请用 Excel 或 WPS 打开，另存为 .xlsx 后重新放入",
			"the file is named .xls but is not an Excel workbook (a web page or text export, perhaps); open it in Excel or WPS, save it as .xlsx and drop that file in")
	}
	wb, err := biff.Open(f, fi.Size(), biff.Limits{MaxStream: lim.fileSize, MaxStrings: maxSharedStrings, MaxMemory: biff.DefaultMaxMemory})
	if err != nil {
		f.Close()
		return nil, xlsError(err)
	}
	sheet := -1
	if a := wb.Active; a >= 0 && a < len(wb.Sheets) && wb.Sheets[a].Worksheet {
		sheet = a
	} else {
		for i, s := range wb.Sheets {
			if s.Worksheet {
				sheet = i
				break
			}
		}
	}
	if sheet < 0 {
		f.Close()
		return nil, fileErrorf("工作簿中没有工作表：请重新导出问卷结果", "the workbook has no sheet; export the survey results again")
	}
	r := &xlsRows{wb: wb, close: f.Close, sheet: wb.Sheets[sheet].Name}
	if err := r.check(sheet, lim); err != nil {
		f.Close()
		return nil, err
	}
	if r.rows, err = wb.Rows(sheet); err != nil {
		f.Close()
		return nil, xlsError(err)
	}
	return r, nil
}

// xlsError is an error of package biff: a *FileError when the file is at
// fault, else transient.
func xlsError(err error) error {
	var e *i18n.Error
	if errors.As(err, &e) {
		return &FileError{Text: e.Text}
	}
	return fmt.Errorf("folder: read workbook: %w", err)
}

type xlsRows struct {
	wb    *biff.Workbook
	rows  *biff.Rows
	sheet string
	close func() error
	// nf formats numbers as excelize does; made at the first number with
	// a format other than General.
	nf *numFormatter
}

// check reads the sheet through: each record whole, max_rows, and the size
// of each row and of the rows read ahead with the header (the .xlsx
// limits of xlsxlimits.go).
func (r *xlsRows) check(sheet int, lim limits) error {
	rows, err := r.wb.Rows(sheet)
	if err != nil {
		return xlsError(err)
	}
	first, ahead := 0, int64(0)
	for {
		i, cells, err := rows.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return xlsError(err)
		}
		num, size, has := i+1, int64(0), false
		for _, c := range cells {
			size += cellOverhead
			switch c.Kind {
			case biff.Empty:
			case biff.Text:
				size += int64(len(c.Text))
				has = has || c.Text != ""
			default: // a number as its format may write it
				size += int64(len(c.Format)) + 32
				has = true
			}
		}
		if size > hardRowBytes {
			return fileErrorf("工作表第 %d 行超过 %s：这不是问卷导出文件；请从问卷平台重新导出",
				"row %d of the sheet holds more than %s: not a survey export; export the results again from the survey platform",
				num, byteSize(hardRowBytes))
		}
		if has {
			if num > lim.rows {
				return maxRowsError(lim.rows)
			}
			if first == 0 {
				first = num
			}
		}
		if first > 0 && num <= first+sampleRows+2 {
			if ahead += size; ahead > aheadBytes {
				return fileErrorf("工作表第 %d 至 %d 行超过 %s：这不是问卷导出文件；请从问卷平台重新导出",
					"rows %d to %d of the sheet hold more than %s: not a survey export; export the results again from the survey platform",
					first, num, byteSize(aheadBytes))
			}
		}
	}
}

func (r *xlsRows) Next() ([]string, int, error) {
	i, cells, err := r.rows.Next()
	if err == io.EOF {
		return nil, 0, io.EOF
	}
	if err != nil {
		return nil, 0, xlsError(err)
	}
	out := make([]string, len(cells))
	for k, c := range cells {
		out[k] = r.text(c)
	}
	return out, i + 1, nil
}

// text is a cell as the .xlsx path shows it.
func (r *xlsRows) text(c biff.Cell) string {
	switch c.Kind {
	case biff.Text:
		return c.Text
	case biff.Number, biff.Date:
		if c.Format == "" && c.FormatID == 0 {
			return general(c.Num)
		}
		if r.nf == nil {
			r.nf = newNumFormatter(r.wb.Date1904)
		}
		return r.nf.format(c)
	case biff.Bool:
		if c.Num != 0 {
			return "TRUE"
		}
		return "FALSE"
	case biff.Error:
		return errorText(byte(c.Num))
	}
	return ""
}

func (r *xlsRows) Sheet() string { return r.sheet }

func (r *xlsRows) Close() error {
	if r.nf != nil {
		r.nf.f.Close()
	}
	return r.close()
}

// general is a number in the General format as an .xlsx stores it: its
// shortest decimal, in E notation when very large or small.
func general(v float64) string {
	if a := math.Abs(v); a != 0 && (a >= 1e21 || a < 1e-9) {
		return strconv.FormatFloat(v, 'E', -1, 64)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// errorText is a BIFF error code as Excel writes it in a cell.
func errorText(code byte) string {
	switch code {
	case 0x00:
		return "#NULL!"
	case 0x07:
		return "#DIV/0!"
	case 0x0F:
		return "#VALUE!"
	case 0x17:
		return "#REF!"
	case 0x1D:
		return "#NAME?"
	case 0x24:
		return "#NUM!"
	case 0x2A:
		return "#N/A"
	case 0x2B:
		return "#GETTING_DATA"
	}
	return fmt.Sprintf("#ERR%d", code)
}

// numFormatter writes numbers through their number formats with
// excelize's own formatting, on one cell of a workbook in memory, so that
// a date in an .xls reads as the same date in an .xlsx.
type numFormatter struct {
	f      *excelize.File
	sheet  string
	styles map[numFormatKey]int // style of each format; -1 when excelize refuses it
}

type numFormatKey struct {
	code string
	id   uint16
}

func newNumFormatter(date1904 bool) *numFormatter {
	f := excelize.NewFile()
	if date1904 {
		f.SetWorkbookProps(&excelize.WorkbookPropsOptions{Date1904: &date1904})
	}
	return &numFormatter{f: f, sheet: f.GetSheetName(0), styles: map[numFormatKey]int{}}
}

func (n *numFormatter) format(c biff.Cell) string {
	key := numFormatKey{c.Format, c.FormatID}
	style, ok := n.styles[key]
	if !ok {
		s := &excelize.Style{NumFmt: int(c.FormatID)}
		if c.Format != "" {
			code := c.Format
			s.CustomNumFmt = &code
		}
		var err error
		if style, err = n.f.NewStyle(s); err != nil {
			style = -1
		}
		n.styles[key] = style
	}
	if style < 0 || n.f.SetCellFloat(n.sheet, "A1", c.Num, -1, 64) != nil || n.f.SetCellStyle(n.sheet, "A1", "A1", style) != nil {
		return general(c.Num)
	}
	v, err := n.f.GetCellValue(n.sheet, "A1")
	if err != nil {
		return general(c.Num)
	}
	return v
}
