package folder

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/richardlehane/mscfb"
	"github.com/xuri/excelize/v2"

	"github.com/demandd/demandd/internal/i18n"
)

// FileError says why a file cannot be read, in one line a person can act
// on: what is wrong and what to do, in both languages. Error() is English.
type FileError struct{ Text i18n.Text }

func (e *FileError) Error() string { return e.Text.EN }

func fileErrorf(zh, en string, args ...any) error {
	return &FileError{Text: i18n.Tf(zh, en, args...)}
}

// rowReader yields a sheet's rows one at a time.
type rowReader interface {
	// Next returns the next row and its 1-based number, or io.EOF.
	Next() (cells []string, number int, err error)
	Sheet() string
	Close() error
}

// Supported reports whether name has an extension the folder reads.
func Supported(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".xlsx", ".xlsm", ".csv", ".xls":
		return true
	}
	return false
}

// openRows opens a questionnaire export for reading its first sheet.
// text is what the file's bytes say of their encoding (see hashFile).
func openRows(path string, text textEvidence, lim limits) (rowReader, error) {
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".xlsx", ".xlsm":
		return openXLSX(path, lim)
	case ".csv":
		return openCSV(path, text)
	case ".xls":
		return openXLS(path, lim)
	default:
		return nil, fileErrorf("%s 文件不是问卷导出文件：请把问卷结果导出为 .xlsx 或 .csv 后放入文件夹",
			"%s files are not questionnaire exports: export the survey as .xlsx or .csv and drop that file in", ext)
	}
}

var cfbMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}

// cfbStreams lists the stream names of an OLE compound file; ok is false
// when path is not one.
func cfbStreams(path string) (map[string]bool, bool) {
	f, err := openNoFollow(path)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	head := make([]byte, len(cfbMagic))
	if _, err := io.ReadFull(f, head); err != nil || !bytes.Equal(head, cfbMagic) {
		return nil, false
	}
	names := map[string]bool{}
	r, err := mscfb.New(f)
	if err != nil {
		return names, true
	}
	for e, err := r.Next(); err == nil; e, err = r.Next() {
		names[e.Name] = true
	}
	return names, true
}

// xlsxRows reads a workbook's sheet: with sheetRows (xlsxrows.go), or
// with excelize's Rows for a workbook sheetRows leaves to it.
type xlsxRows struct {
	f     *excelize.File
	rows  *excelize.Rows
	fast  *sheetRows
	check *xlsxCheck // held open while fast reads
	sheet string
	n     int
	raw   bool // cell values without their number formats (a returned tracking table)
}

// openXLSX opens a workbook within lim: the checks of xlsxlimits.go run
// before excelize reads anything, so that a file over a limit costs no
// more than the check.
func openXLSX(path string, lim limits) (rr rowReader, err error) {
	// An OLE compound file with an .xlsx name is an encrypted workbook (a
	// password set in Excel) or a legacy .xls renamed.
	if streams, ok := cfbStreams(path); ok {
		switch {
		case streams["EncryptionInfo"]:
			return nil, xlsxError(excelize.ErrWorkbookPassword)
		case streams["Workbook"] || streams["Book"]:
			return openXLS(path, lim)
		default:
			return nil, fileErrorf("该文件是 OLE 文档，不是 .xlsx 工作簿：请用 Excel 或 WPS 打开，另存为 .xlsx",
				"the file is an OLE document, not an .xlsx workbook; open it in Excel or WPS and save it as .xlsx")
		}
	}
	check, err := checkXLSX(path, lim)
	if err != nil {
		return nil, err
	}
	keep := false // the fast reader reads on from the check's file
	defer func() {
		if !keep {
			check.close()
		}
	}()
	name, part := check.activeSheet()
	if part != "" {
		_, err = check.scanSheet(check.parts[part], true)
	} else {
		err = check.scanAll()
	}
	if err != nil {
		return nil, err
	}
	defer func() { // a workbook must cost one file, not the daemon
		if p := recover(); p != nil {
			rr, err = nil, xlsxError(fmt.Errorf("excelize: %v", p))
		}
	}()
	// excelize wants UnzipSizeLimit ≥ UnzipXMLSizeLimit; the check above
	// holds the workbook to unzipLimit already.
	opts := excelize.Options{UnzipSizeLimit: max(check.unzipLimit(), unzipXMLLimit), UnzipXMLSizeLimit: unzipXMLLimit}
	fast, err := openFastXLSX(check, name, part, opts)
	switch {
	case err == nil:
		keep = true
		return fast, nil
	case !errors.Is(err, errFallback):
		return nil, err
	}
	f, err := excelize.OpenFile(path, opts)
	if err != nil {
		return nil, xlsxError(err)
	}
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		f.Close()
		return nil, fileErrorf("工作簿中没有工作表：请重新导出问卷结果", "the workbook has no sheet; export the survey results again")
	}
	sheet := f.GetSheetName(f.GetActiveSheetIndex())
	if sheet == "" {
		sheet = sheets[0]
	}
	if part == "" || !strings.EqualFold(sheet, name) {
		// Not the sheet scanned: every sheet is checked, and max_rows is
		// left to the reading.
		if err := check.scanAll(); err != nil {
			f.Close()
			return nil, err
		}
	}
	rows, err := f.Rows(sheet)
	if err != nil {
		f.Close()
		return nil, xlsxError(err)
	}
	return &xlsxRows{f: f, rows: rows, sheet: sheet}, nil
}

// xlsxError says what is wrong with a workbook excelize cannot read; an
// error of the file system (a temporary file that cannot be written) is
// transient and returned as it is.
func xlsxError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("folder: read workbook: %w", err)
	}
	msg := err.Error()
	switch {
	case errors.Is(err, excelize.ErrWorkbookPassword) || strings.Contains(msg, "password") || strings.Contains(msg, "encrypt"):
		return fileErrorf("工作簿设置了打开密码（password）：请在 Excel 中打开，取消密码（文件 → 信息 → 保护工作簿）后重新保存",
			"the workbook is password-protected; open it in Excel, remove the password (File → Info → Protect Workbook) and save it again")
	case strings.Contains(msg, "unzip size"):
		return fileErrorf("工作簿解压后超过上限（%s）：请分批导出问卷结果（例如按日期），或在配置的 [[folder]] 中调大 max_file_size",
			"the workbook unpacks to more than the limit (%s); export the survey results in parts (by date, for example) or raise max_file_size in the [[folder]] config", msg)
	case strings.Contains(msg, "zip"):
		return fileErrorf("该文件不是可读取的 .xlsx 工作簿（%s）：请用 Excel 或 WPS 打开，重新另存为 .xlsx",
			"the file is not a readable .xlsx workbook (%s); open it in Excel or WPS and save it again as .xlsx", msg)
	default:
		return fileErrorf("工作簿无法读取（%s）：请用 Excel 或 WPS 打开，重新另存为 .xlsx",
			"the workbook cannot be read (%s); open it in Excel or WPS and save it again as .xlsx", msg)
	}
}

func (r *xlsxRows) Next() (cells []string, n int, err error) {
	defer func() {
		if p := recover(); p != nil {
			cells, n, err = nil, 0, xlsxError(fmt.Errorf("excelize: %v", p))
		}
	}()
	if r.fast != nil {
		r.fast.raw = r.raw
		return r.fast.Next()
	}
	if !r.rows.Next() {
		if err := r.rows.Error(); err != nil {
			return nil, 0, xlsxError(err)
		}
		return nil, 0, io.EOF
	}
	r.n++
	cells, err = r.rows.Columns(excelize.Options{RawCellValue: r.raw})
	if err != nil {
		return nil, 0, xlsxError(err)
	}
	return cells, r.n, nil
}

func (r *xlsxRows) Sheet() string { return r.sheet }

func (r *xlsxRows) Close() error {
	if r.fast != nil {
		r.fast.Close()
		r.check.close()
		return r.f.Close()
	}
	r.rows.Close()
	return r.f.Close()
}
