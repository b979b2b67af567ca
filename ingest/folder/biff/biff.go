// Package biff reads the cells of legacy Excel workbooks (.xls: BIFF8,
// Excel 97–2003, and BIFF5/7, Excel 5.0–95) such as 问卷星's downloads.
//
// A workbook is an OLE compound file (read with github.com/richardlehane/mscfb)
// holding a Workbook stream of records: the workbook's globals (shared
// strings, number formats, sheets), then each sheet's cells. Open reads the
// globals; Rows streams one sheet's rows, in order, holding one row at a
// time. Cells are read as xlrd reads them: text (SST with its CONTINUE
// records, LABELSST, LABEL, RSTRING), numbers (NUMBER, RK, MULRK), a
// formula's cached result (FORMULA and its STRING), booleans and error
// codes (BOOLERR); a number whose cell format shows a date or time is a
// Date. BLANK cells are empty.
//
// Contract: the file is untrusted. Whatever its bytes, Open and Rows end
// with a row, io.EOF or an error, within the Limits: no panic escapes, no
// allocation is sized by a count the file declares, and what the reader
// holds (shared strings, formats) is accounted against Limits.MaxMemory. An
// error that is the file's fault is an *i18n.Error saying in both languages
// what is wrong and what to do; any other error is of the file system.
package biff

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"

	"github.com/richardlehane/mscfb"

	"github.com/demandd/demandd/internal/i18n"
)

// Limits bound what reading one workbook may cost.
type Limits struct {
	// MaxStream is the largest workbook stream read, in bytes.
	MaxStream int64
	// MaxStrings is the most shared strings (distinct texts) a workbook
	// may declare.
	MaxStrings int
	// MaxMemory bounds what the reader holds for the workbook: the shared
	// strings (their UTF-8 bytes and a string header each), the number
	// formats and the cell formats (XF records).
	MaxMemory int64
}

// Default limits: a sheet of 65,536 rows of 256 columns of distinct texts
// is far beyond any questionnaire export and still within them.
const (
	DefaultMaxStream  = 256 << 20
	DefaultMaxStrings = 2_000_000
	DefaultMaxMemory  = 256 << 20
)

// DefaultLimits are the limits with every field at its default.
func DefaultLimits() Limits {
	return Limits{MaxStream: DefaultMaxStream, MaxStrings: DefaultMaxStrings, MaxMemory: DefaultMaxMemory}
}

func (l Limits) withDefaults() Limits {
	if l.MaxStream <= 0 {
		l.MaxStream = DefaultMaxStream
	}
	if l.MaxStrings <= 0 {
		l.MaxStrings = DefaultMaxStrings
	}
	if l.MaxMemory <= 0 {
		l.MaxMemory = DefaultMaxMemory
	}
	return l
}

// Fixed bounds of the format, checked on every cell.
const (
	// MaxCols is the number of columns of a BIFF sheet (A to IV).
	MaxCols = 256
	// MaxRows is the number of rows of a BIFF8 sheet; a row number is 16
	// bits.
	MaxRows = 65536
	// maxFormatLen is the longest number format code Excel writes; a
	// longer one is read as General.
	maxFormatLen = 255
	// stringOverhead is what a held string costs besides its bytes.
	stringOverhead = 16
)

// Kind is what a cell holds.
type Kind uint8

// The kinds of cell.
const (
	Empty  Kind = iota
	Text        // Cell.Text
	Number      // Cell.Num
	Date        // Cell.Num is a serial date (see Workbook.Date1904)
	Bool        // Cell.Num is 0 or 1
	Error       // Cell.Num is the BIFF error code (0x07 #DIV/0! …)
)

var kindNames = [...]string{"empty", "text", "number", "date", "bool", "error"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Cell is one cell's value as the file stores it.
type Cell struct {
	Kind Kind
	Text string
	Num  float64
	// Format is the number format of the cell: its code, when the workbook
	// defines one for FormatID (a FORMAT record), else "" and FormatID is
	// one of Excel's built-in formats (0 is General).
	Format   string
	FormatID uint16
}

// Sheet is a sheet of the workbook.
type Sheet struct {
	Name string
	// Worksheet is false for a chart, macro or VBA sheet, which holds no
	// cells to read.
	Worksheet bool
	offset    int64
}

// Workbook is an open workbook.
type Workbook struct {
	// Sheets are the workbook's sheets in tab order.
	Sheets []Sheet
	// Active is the index in Sheets of the tab shown when the workbook
	// opens.
	Active int
	// Date1904 is true for a workbook that counts dates from 1904 (the
	// DATEMODE record), as old Mac workbooks do; else from 1900.
	Date1904 bool
	// Codepage is the CODEPAGE record: 1200 (UTF-16) in BIFF8, the code
	// page of the 8-bit strings in BIFF5.
	Codepage uint16

	lim     Limits
	stream  *mscfb.File
	file    *guardedFile
	biff8   bool
	decoder *encoding.Decoder // of 8-bit strings (BIFF5)
	sst     []string
	formats map[uint16]string
	xfs     []uint16 // the number format of each XF
	held    int64    // accounted against lim.MaxMemory
}

// Open reads the globals of the workbook in ra, a file of size bytes.
func Open(ra io.ReaderAt, size int64, lim Limits) (wb *Workbook, err error) {
	defer func() {
		if p := recover(); p != nil { // a workbook must cost one file, not the process
			wb, err = nil, damaged(fmt.Errorf("%v", p))
		}
	}()
	lim = lim.withDefaults()
	stream, g, err := openStream(ra, size, lim)
	if err != nil {
		return nil, err
	}
	wb = &Workbook{lim: lim, stream: stream, file: g, formats: map[uint16]string{}}
	if err := wb.globals(); err != nil {
		return nil, wb.cause(err)
	}
	return wb, nil
}

// cause says what an error met while reading the stream means.
func (wb *Workbook) cause(err error) error {
	var e *i18n.Error
	switch {
	case errors.As(err, &e):
		return err
	case wb.file.err != nil:
		return wb.file.cause(err)
	case errors.Is(err, errTruncated) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return truncated() // the stream, not the file, ended early
	}
	var me mscfb.Error
	if errors.As(err, &me) {
		return damaged(err) // a sector chain of the stream that is broken
	}
	return fmt.Errorf("biff: read: %w", err)
}

// hold accounts n bytes against MaxMemory.
func (wb *Workbook) hold(n int) error {
	wb.held += int64(n)
	if wb.held > wb.lim.MaxMemory {
		return i18n.Errorf("工作簿中的文本超过 %s：请分批导出问卷结果（例如按日期）",
			"the workbook holds more than %s of text; export the survey results in parts (by date, for example)", byteSize(wb.lim.MaxMemory))
	}
	return nil
}

// globals reads the workbook's globals: from the first BOF to its EOF.
func (wb *Workbook) globals() error {
	rr := newRecordReader(wb.stream, wb.stream.Size, wb.file.rewind)
	if err := rr.next(); err == io.EOF {
		return i18n.Errorf("工作簿数据流是空的：文件已损坏；请重新下载或导出问卷结果",
			"the workbook stream is empty: the file is damaged; download or export the survey results again")
	} else if err != nil {
		return err
	}
	switch rr.typ {
	case recBOF:
	case recBOF2, recBOF3, recBOF4:
		return tooOld()
	default:
		return i18n.Errorf("该文件不是 Excel 工作簿（数据流不以 BOF 记录开头）：请用 Excel 或 WPS 打开，另存为 .xlsx 后重新放入",
			"the file is not an Excel workbook (its stream does not start with a BOF record); open it in Excel or WPS, save it as .xlsx and drop that file in")
	}
	if len(rr.body) < 4 {
		return errTruncated
	}
	switch v := u16(rr.body, 0); {
	case v == 0x0600:
		wb.biff8 = true
	case v == 0x0500:
	default:
		return tooOld()
	}
	var c cont
	for {
		if err := rr.next(); err != nil {
			if err == io.EOF {
				return errTruncated // no EOF record
			}
			return err
		}
		b := rr.body
		switch rr.typ {
		case recEOF:
			if len(wb.Sheets) == 0 {
				return i18n.Errorf("工作簿中没有工作表：请重新导出问卷结果", "the workbook has no sheet; export the survey results again")
			}
			return nil
		case recFilePass:
			return errPassword()
		case recCodepage:
			if len(b) >= 2 {
				wb.Codepage = u16(b, 0)
				wb.decoder = codepage(wb.Codepage)
			}
		case recDateMode:
			if len(b) >= 2 {
				wb.Date1904 = u16(b, 0) == 1
			}
		case recWindow1:
			if len(b) >= 12 {
				wb.Active = int(u16(b, 10))
			}
		case recXF:
			if len(b) < 4 {
				return errTruncated
			}
			if err := wb.hold(2); err != nil {
				return err
			}
			wb.xfs = append(wb.xfs, u16(b, 2))
		case recFormat:
			if len(b) < 3 {
				return errTruncated
			}
			c.reset(rr)
			c.pos = 2
			code, err := wb.string(&c, !wb.biff8)
			if err != nil {
				return err
			}
			if err := wb.hold(len(code) + stringOverhead); err != nil {
				return err
			}
			wb.formats[u16(b, 0)] = code
		case recBoundSheet:
			if len(b) < 8 {
				return errTruncated
			}
			c.reset(rr)
			c.pos = 6
			name, err := wb.string(&c, true)
			if err != nil {
				return err
			}
			if err := wb.hold(len(name) + stringOverhead + 32); err != nil {
				return err
			}
			wb.Sheets = append(wb.Sheets, Sheet{Name: name, Worksheet: b[5] == 0, offset: int64(u32(b, 0))})
		case recSST:
			if err := wb.readSST(rr, &c); err != nil {
				return err
			}
		}
	}
}

// string reads a string at c: its length (a byte when short, else 16
// bits), then in BIFF8 its option byte and characters, in BIFF5 its bytes
// in the workbook's code page.
func (wb *Workbook) string(c *cont, short bool) (string, error) {
	var n int
	if short {
		b, err := c.u8()
		if err != nil {
			return "", err
		}
		n = int(b)
	} else {
		v, err := c.u16()
		if err != nil {
			return "", err
		}
		n = int(v)
	}
	if wb.biff8 {
		return c.str8(n)
	}
	raw, err := c.bytes8(n)
	if err != nil {
		return "", err
	}
	return wb.decode(raw), nil
}

// decode is an 8-bit string in the workbook's code page.
func (wb *Workbook) decode(raw []byte) string {
	if wb.decoder != nil {
		if s, err := wb.decoder.Bytes(raw); err == nil {
			return string(s)
		}
	}
	// No code page, or bytes it does not map: Latin-1, as xlrd does
	// without one.
	var sb strings.Builder
	for _, b := range raw {
		sb.WriteRune(rune(b))
	}
	return sb.String()
}

// codepage is the decoder of a Windows code page; nil for UTF-16 (1200)
// and for code pages not known here.
func codepage(cp uint16) *encoding.Decoder {
	var e encoding.Encoding
	switch cp {
	case 936:
		e = simplifiedchinese.GBK
	case 950:
		e = traditionalchinese.Big5
	case 932:
		e = japanese.ShiftJIS
	case 949:
		e = korean.EUCKR
	case 874:
		e = charmap.Windows874
	case 1250, 1251, 1252, 1253, 1254, 1255, 1256, 1257, 1258:
		e = []encoding.Encoding{charmap.Windows1250, charmap.Windows1251, charmap.Windows1252, charmap.Windows1253,
			charmap.Windows1254, charmap.Windows1255, charmap.Windows1256, charmap.Windows1257, charmap.Windows1258}[cp-1250]
	case 10000:
		e = charmap.Macintosh
	case 437:
		e = charmap.CodePage437
	case 850:
		e = charmap.CodePage850
	default:
		return nil
	}
	return e.NewDecoder()
}

// readSST reads the shared string table: its counts, then each string,
// carrying on through CONTINUE records. The table grows as strings are
// read, never by the count it declares.
func (wb *Workbook) readSST(rr *recordReader, c *cont) error {
	if !wb.biff8 {
		return nil
	}
	if len(rr.body) < 8 {
		return errTruncated
	}
	want := u32(rr.body, 4)
	if int64(want) > int64(wb.lim.MaxStrings) {
		return i18n.Errorf("工作簿声明了 %d 条不同的文本（共享字符串），超过上限 %d：请分批导出问卷结果（例如按日期）",
			"the workbook declares %d distinct texts (shared strings), more than the limit of %d; export the survey results in parts (by date, for example)",
			want, wb.lim.MaxStrings)
	}
	c.reset(rr)
	c.pos = 8
	wb.sst = make([]string, 0, min(int(want), 1024))
	for uint32(len(wb.sst)) < want {
		s, err := wb.string(c, false)
		if errors.Is(err, errTruncated) {
			return i18n.Errorf("共享字符串表声明了 %d 条文本，实际只有 %d 条：文件已损坏或不完整；请用 Excel 或 WPS 打开，另存为 .xlsx 后重新放入",
				"the shared string table declares %d texts but holds only %d: the file is damaged or incomplete; open it in Excel or WPS, save it as .xlsx and drop that file in",
				want, len(wb.sst))
		}
		if err != nil {
			return err
		}
		if err := wb.hold(len(s) + stringOverhead); err != nil {
			return err
		}
		wb.sst = append(wb.sst, s)
	}
	return nil
}

// format is the number format of XF index xf: its code when the workbook
// defines one, and its number.
func (wb *Workbook) format(xf uint16) (string, uint16) {
	if int(xf) >= len(wb.xfs) {
		return "", 0
	}
	id := wb.xfs[xf]
	code := wb.formats[id]
	if len(code) > maxFormatLen {
		return "", 0
	}
	return code, id
}

// number is a numeric cell of format xf: a Date when its format shows one.
func (wb *Workbook) number(v float64, xf uint16) Cell {
	code, id := wb.format(xf)
	kind := Number
	if (code != "" && dateFormat(code)) || (code == "" && builtInDate(id)) {
		kind = Date
	}
	return Cell{Kind: kind, Num: v, Format: code, FormatID: id}
}

// byteSize writes n bytes for a person: 512 bytes, 64 KB, 256 MB.
func byteSize(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d bytes", n)
	case n < 1<<20:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d MB", n>>20)
}

// Errors the file is at fault for.

func damaged(err error) error {
	return i18n.Errorf("工作簿已损坏，无法读取（%v）：请用 Excel 或 WPS 打开，另存为 .xlsx 后重新放入",
		"the workbook is damaged and cannot be read (%v); open it in Excel or WPS, save it as .xlsx and drop that file in", err)
}

func truncated() error {
	return i18n.Errorf("工作簿不完整（文件在记录中途结束，可能下载或复制时被截断）：请重新下载或导出问卷结果",
		"the workbook is incomplete (the file ends in the middle of a record; it was probably cut short while downloaded or copied); download or export the survey results again")
}

func errPassword() error {
	return i18n.Errorf("工作簿设置了打开密码（password）：请在 Excel 中打开，取消密码（文件 → 信息 → 保护工作簿）后重新保存",
		"the workbook is password-protected; open it in Excel, remove the password (File → Info → Protect Workbook) and save it again")
}

func tooOld() error {
	return i18n.Errorf("这是 Excel 4.0 或更早版本的工作簿：请用 Excel 或 WPS 打开，另存为 .xlsx 后重新放入",
		"the workbook is in the format of Excel 4.0 or older; open it in Excel or WPS, save it as .xlsx and drop that file in")
}
