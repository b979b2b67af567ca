package folder

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

// The rows of an .xlsx sheet are read here rather than by excelize's
// Rows.Columns, whose encoding/xml Token and DecodeElement per cell cost
// most of an import's reading. sheetRows yields, row by row, exactly the
// cells Rows.Columns yields and the row numbers Rows.Next counts: it walks
// the tokens of xmlTokenizer (as strict as encoding/xml) through the same
// steps as excelize's Rows.Next, Rows.Columns, rowXMLHandler and
// getValueFrom. Where excelize would fail or stop reading, it fails with a
// *FileError.
//
// What is excelize's is left to excelize: a skeleton of the workbook (its
// parts but the worksheets and the shared strings, which are replaced by
// small stand-ins) is opened with excelize, which so checks the workbook,
// chooses the sheet and finds its part as it would for the whole file; and
// a cell whose value goes through a number format is written into the
// skeleton's sheet and read back with excelize (see cellFormatter), so that
// dates, percentages and the rest read exactly as excelize shows them.

// errFallback says the workbook is one sheetRows leaves to excelize.
var errFallback = errors.New("folder: workbook left to excelize")

const (
	nsMain = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
	// probeMark prefixes the text of each stand-in part of the skeleton:
	// reading the chosen sheet gives its part's name.
	probeMark = "\uE000demandd-part:"
)

// fastXLSX is what openFastXLSX needs of the workbook: the check's zip.
type fastXLSX struct {
	check *xlsxCheck
	opts  excelize.Options
}

// skeleton writes the workbook with its worksheets (and any part that is
// neither read when excelize opens a workbook nor small) replaced by
// stand-in sheets that name them, and its shared strings by an empty
// table. Parts kept are copied compressed.
func (x *fastXLSX) skeleton(active string) ([]byte, error) {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, zf := range x.check.zr.File {
		name := strings.ReplaceAll(zf.Name, "\\", "/")
		lower := strings.ToLower(name)
		sst := lower == "xl/sharedstrings.xml"
		replace := sst || !decodedAtOpen(lower) &&
			(strings.HasPrefix(lower, "xl/worksheets/") || name == active || zf.UncompressedSize64 > unzipXMLLimit)
		if zf.FileInfo().IsDir() {
			replace = false
		}
		if !replace {
			rc, err := zf.OpenRaw()
			if err != nil {
				return nil, zipError(err)
			}
			h := zf.FileHeader
			out, err := w.CreateRaw(&h)
			if err != nil {
				return nil, fmt.Errorf("folder: skeleton: %w", err)
			}
			if _, err := io.Copy(out, rc); err != nil {
				return nil, zipError(err)
			}
			continue
		}
		out, err := w.CreateHeader(&zip.FileHeader{Name: zf.Name, Method: zip.Store})
		if err != nil {
			return nil, fmt.Errorf("folder: skeleton: %w", err)
		}
		if sst {
			_, err = io.WriteString(out, `<sst xmlns="`+nsMain+`"></sst>`)
		} else {
			_, err = out.Write(probeSheet([]probeCell{{t: "inlineStr", v: probeMark + name}}))
		}
		if err != nil {
			return nil, fmt.Errorf("folder: skeleton: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("folder: skeleton: %w", err)
	}
	return buf.Bytes(), nil
}

// sheetRows reads one worksheet's rows.
type sheetRows struct {
	tok   *xmlTokenizer
	close func()
	zf    *zip.File
	check *xlsxCheck
	sst   []string
	fm    *cellFormatter
	raw   bool

	// excelize's Rows state: the row last read (curRow) and the row asked
	// for (seekRow); pending is the row start read but not yet handled
	// (Rows.token), with what its r attributes said.
	curRow, seekRow int
	pending         bool
	pendingNum      int
	pendingErr      error
	n               int
	err             error
	done            bool

	v   []byte // the <v> of the cell being read
	ref []byte // its r
}

// openSheetRows opens the worksheet part for reading; sst is the shared
// strings table as excelize reads it.
func openSheetRows(c *xlsxCheck, zf *zip.File, sst []string, fm *cellFormatter) (*sheetRows, error) {
	rc, err := zf.Open()
	if err != nil {
		return nil, zipError(err)
	}
	r := &sheetRows{tok: newXMLTokenizer(rc, maxXMLItem), close: func() { rc.Close() }, zf: zf, check: c, sst: sst, fm: fm}
	return r, nil
}

// tokenError is the error of a token read: a *FileError, or a transient
// error of the file system.
func (r *sheetRows) tokenError(err error) error {
	switch {
	case errors.Is(err, errXMLCharset):
		return fileErrorf("工作簿中的 %s 声明了 UTF-8 以外的编码：请用 Excel 或 WPS 打开，重新另存为 .xlsx",
			"%s in the workbook declares an encoding other than UTF-8; open the file in Excel or WPS and save it again as .xlsx", r.zf.Name)
	case errors.Is(err, errXMLDeep):
		return r.check.partError(r.zf, errBadXML)
	}
	return r.check.partError(r.zf, err)
}

// Next returns the next row, as excelize's Rows.Next and Rows.Columns
// would, and its number: how many rows Rows.Next has returned.
func (r *sheetRows) Next() (cells []string, n int, err error) {
	if r.err != nil {
		return nil, 0, r.err
	}
	ok, err := r.next()
	if err == nil && ok {
		r.n++
		cells, err = r.columns()
	}
	if err != nil {
		r.err = err
		return nil, 0, err
	}
	if !ok {
		r.err = io.EOF
		return nil, 0, io.EOF
	}
	return cells, r.n, nil
}

// rowNumber reads a row's r attributes as excelize's attrValToInt does:
// the last one, or the first that is not a number, with its error.
func (r *sheetRows) rowNumber() (int, error) {
	val := 0
	for _, a := range r.tok.attrs {
		if string(a.local) == "r" {
			var err error
			if val, err = strconv.Atoi(string(a.value)); err != nil {
				return val, err
			}
		}
	}
	return val, nil
}

// next is excelize's Rows.Next.
func (r *sheetRows) next() (bool, error) {
	if r.done {
		return false, nil
	}
	r.seekRow++
	if r.curRow >= r.seekRow {
		return true, nil
	}
	for {
		if err := r.tok.next(); err != nil {
			if err == io.EOF {
				r.done = true
				return false, nil
			}
			return false, r.tokenError(err)
		}
		switch r.tok.kind {
		case tokStart:
			if string(r.tok.local) == "row" {
				r.curRow++
				num, err := r.rowNumber()
				if num > excelize.TotalRows {
					return false, xlsxError(excelize.ErrMaxRows)
				}
				if num != 0 {
					r.curRow = num
				}
				r.pending, r.pendingNum, r.pendingErr = true, num, err
				return true, nil
			}
		case tokEnd:
			if string(r.tok.local) == "sheetData" {
				r.done = true
				return false, nil
			}
		}
	}
}

// columns is excelize's Rows.Columns.
func (r *sheetRows) columns() ([]string, error) {
	if r.curRow > r.seekRow {
		return nil, nil
	}
	var cells []string
	cellCol := 0
	for {
		var num int
		var numErr error
		isRow, isCell := false, false
		if r.pending {
			isRow, num, numErr = true, r.pendingNum, r.pendingErr
		} else {
			if err := r.tok.next(); err != nil {
				if err == io.EOF {
					r.done = true
					return cells, nil
				}
				return nil, r.tokenError(err)
			}
			switch r.tok.kind {
			case tokStart:
				switch string(r.tok.local) {
				case "row":
					isRow = true
					num, numErr = r.rowNumber()
				case "c":
					isCell = true
				}
			case tokEnd:
				if string(r.tok.local) == "sheetData" {
					// Rows.Next reads on from here: a <row> after
					// </sheetData> is read too.
					return cells, nil
				}
			}
		}
		switch {
		case isRow:
			if num > excelize.TotalRows {
				return nil, xlsxError(excelize.ErrMaxRows)
			}
			if num != 0 {
				r.curRow = num
			} else if !r.pending {
				r.curRow++
			}
			if r.curRow > r.seekRow {
				// The next row's start: Rows.Next will not see it again.
				r.pending = false
				if numErr != nil {
					return nil, xlsxError(numErr)
				}
				return cells, nil
			}
			r.pending = false
			if numErr != nil {
				return nil, xlsxError(numErr)
			}
		case isCell:
			cellCol++
			var err error
			if cells, cellCol, err = r.cell(cells, cellCol); err != nil {
				return nil, err
			}
		}
	}
}

// cellRead is what rowXMLHandler reads of a <c>.
type cellRead struct {
	r       []byte // in sheetRows.ref
	t       string
	s       int
	formula bool
	is      bool // an <is> was read: its text is inline
	inline  string
}

// cell reads a <c> (the tokenizer is at its start tag) as rowXMLHandler
// and cellXMLHandler do, and appends its value to cells.
func (r *sheetRows) cell(cells []string, cellCol int) ([]string, int, error) {
	var c cellRead
	r.v = r.v[:0]
	attrOK := true
	for _, a := range r.tok.attrs {
		switch string(a.local) {
		case "r":
			r.ref = append(r.ref[:0], a.value...)
			c.r = r.ref
		case "s":
			v, err := strconv.ParseInt(string(a.value), 10, 64)
			if err != nil {
				attrOK = false
			} else {
				c.s = int(v)
			}
		case "t":
			c.t = cellType(a.value)
		}
		if !attrOK {
			// cellXMLAttrHandler stops here, and cellXMLHandler reads
			// nothing of the cell: its children are read as the row's.
			break
		}
	}
	if attrOK {
		if err := r.cellChildren(&c); err != nil {
			return nil, 0, err
		}
	}
	if len(c.r) > 0 {
		col, err := cellColumn(c.r)
		if err != nil {
			return nil, 0, xlsxError(err)
		}
		cellCol = col
	}
	blank := cellCol - len(cells)
	val, err := r.value(&c)
	if err != nil {
		return nil, 0, err
	}
	if val != "" || c.formula {
		for i := 1; i < blank; i++ {
			cells = append(cells, "")
		}
		cells = append(cells, val)
	}
	return cells, cellCol, nil
}

// cellChildren reads a cell's children up to its end tag as
// cellXMLHandler does: <v>, <f> and <is> at any depth.
func (r *sheetRows) cellChildren(c *cellRead) error {
	t := r.tok
	for {
		if err := t.next(); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return r.tokenError(err)
		}
		switch t.kind {
		case tokEnd:
			if string(t.local) == "c" {
				return nil
			}
		case tokStart:
			switch string(t.local) {
			case "v":
				r.v = r.v[:0]
				var err error
				if r.v, err = r.directText(r.v); err != nil {
					return err
				}
			case "f":
				c.formula = true
				if !formulaAttrsOK(t.attrs) {
					// DecodeElement fails on the attribute before it
					// reads the element: the rest is read as the row's.
					return nil
				}
				if err := r.skip(); err != nil {
					return err
				}
			case "is":
				if c.is {
					return r.unsupported()
				}
				s, err := r.stringItem()
				if err != nil {
					return err
				}
				c.is, c.inline = true, s
			case "c":
				// A cell in a cell: excelize ends the outer one at the
				// inner one's end tag; no workbook has one.
				return r.unsupported()
			}
		}
	}
}

func (r *sheetRows) unsupported() error {
	return r.check.partError(r.zf, errBadXML)
}

// directText reads an element's own text up to its end tag, as
// DecodeElement into a string does: the text of nested elements is not
// read.
func (r *sheetRows) directText(dst []byte) ([]byte, error) {
	t := r.tok
	depth := t.depth()
	if t.empty {
		if err := t.next(); err != nil {
			return nil, r.tokenError(err)
		}
		return dst, nil
	}
	for {
		if err := t.next(); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, r.tokenError(err)
		}
		switch t.kind {
		case tokText:
			if t.depth() == depth {
				dst = append(dst, t.text...)
			}
		case tokEnd:
			if t.depth() < depth {
				return dst, nil
			}
		}
	}
}

// skip reads up to the end of the element whose start was just read.
func (r *sheetRows) skip() error {
	if err := skipElement(r.tok); err != nil {
		return r.tokenError(err)
	}
	return nil
}

// stringItem reads an <si> or <is> (its start was just read) as
// excelize's xlsxSI.String gives it: the text of its <t>, then of each
// run's <t>, with _xHHHH_ escapes decoded. Phonetic runs are not text. An
// attribute excelize would fail to decode is an error.
func (r *sheetRows) stringItem() (string, error) {
	s, err := readStringItem(r.tok)
	if err != nil {
		if errors.Is(err, errBadXML) || errors.Is(err, errTooLong) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, errXMLDeep) || errors.Is(err, errXMLCharset) {
			return "", r.tokenError(err)
		}
		return "", r.check.partError(r.zf, errBadXML)
	}
	return s, nil
}

var errBadAttr = errors.New("attribute excelize cannot decode")

// readStringItem reads a string item whose start tag t is at.
func readStringItem(t *xmlTokenizer) (string, error) {
	depth := t.depth()
	var (
		text    []byte
		hasT    bool
		runs    []byte
		runT    []byte
		runHasT bool
		inRun   bool
		runD    int
	)
	if t.empty {
		return "", t.next()
	}
	for {
		if err := t.next(); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return "", err
		}
		if t.kind == tokEnd {
			if inRun && t.depth() < runD {
				inRun = false
				if runHasT {
					runs = append(runs, runT...)
				}
			}
			if t.depth() < depth {
				break
			}
			continue
		}
		if t.kind != tokStart {
			continue
		}
		d := t.depth() // the element just opened is at depth d
		switch {
		case d == depth+1:
			switch string(t.local) {
			case "t":
				hasT = true
				var err error
				if text, err = ownText(t, text[:0]); err != nil {
					return "", err
				}
			case "r":
				inRun, runD, runHasT, runT = true, d, false, runT[:0]
				if t.empty {
					// <r/>: its end comes next.
				}
			case "rPh":
				if !uint32Attrs(t.attrs, "sb", "eb") {
					return "", errBadAttr
				}
				if err := skipElement(t); err != nil {
					return "", err
				}
			case "phoneticPr":
				if !intAttrs(t.attrs, "fontId") {
					return "", errBadAttr
				}
				if err := skipElement(t); err != nil {
					return "", err
				}
			default:
				if err := skipElement(t); err != nil {
					return "", err
				}
			}
		case inRun && d == runD+1:
			switch string(t.local) {
			case "t":
				runHasT = true
				var err error
				if runT, err = ownText(t, runT[:0]); err != nil {
					return "", err
				}
			case "rPr":
				if err := runProperties(t); err != nil {
					return "", err
				}
			default:
				if err := skipElement(t); err != nil {
					return "", err
				}
			}
		default:
			if err := skipElement(t); err != nil {
				return "", err
			}
		}
	}
	var s string
	if hasT {
		s = string(text)
	}
	if len(runs) > 0 {
		s += string(runs)
	}
	if s == "" {
		return "", nil
	}
	return bstrDecode(s), nil
}

// ownText reads the own text of the element whose start t is at.
func ownText(t *xmlTokenizer, dst []byte) ([]byte, error) {
	depth := t.depth()
	if t.empty {
		return dst, t.next()
	}
	for {
		if err := t.next(); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		switch t.kind {
		case tokText:
			if t.depth() == depth {
				dst = append(dst, t.text...)
			}
		case tokEnd:
			if t.depth() < depth {
				return dst, nil
			}
		}
	}
}

// skipElement reads up to the end of the element whose start t is at.
func skipElement(t *xmlTokenizer) error {
	depth := t.depth()
	for {
		if in, err := t.nextIn(depth); !in || err != nil {
			return err
		}
	}
}

// runProperties reads an <rPr>, checking the attributes excelize decodes
// into numbers and booleans.
func runProperties(t *xmlTokenizer) error {
	depth := t.depth()
	if t.empty {
		return t.next()
	}
	for {
		if in, err := t.nextIn(depth); !in || err != nil {
			return err
		}
		if t.kind != tokStart || t.depth() != depth+1 {
			continue
		}
		ok := true
		boolVal := false
		switch string(t.local) {
		case "charset", "family":
			ok = intAttrs(t.attrs, "val")
		case "sz":
			ok = floatAttrs(t.attrs, "val")
		case "color":
			ok = boolAttrs(t.attrs, "auto") && intAttrs(t.attrs, "indexed", "theme") && floatAttrs(t.attrs, "tint")
		case "b", "i", "strike", "outline", "shadow", "condense", "extend":
			boolVal = true
			// excelize's attrValBool: the first val, "" for true; no
			// element inside.
			for _, a := range t.attrs {
				if string(a.local) == "val" {
					if len(a.value) > 0 {
						_, err := strconv.ParseBool(string(a.value))
						ok = err == nil
					}
					break
				}
			}
		}
		if !ok {
			return errBadAttr
		}
		if boolVal {
			// Only text and comments may come before its end.
			if !t.empty {
				d := t.depth()
				for {
					if err := t.next(); err != nil {
						if err == io.EOF {
							err = io.ErrUnexpectedEOF
						}
						return err
					}
					if t.kind == tokStart {
						return errBadAttr
					}
					if t.kind == tokEnd && t.depth() < d {
						break
					}
				}
			} else if err := t.next(); err != nil {
				return err
			}
			continue
		}
		if err := skipElement(t); err != nil {
			return err
		}
	}
}

// The attribute checks decode as encoding/xml does into a field of that
// type: spaces trimmed, empty as zero.
func intAttrs(attrs []tokAttr, names ...string) bool {
	return attrsParse(attrs, func(v string) error { _, err := strconv.ParseInt(v, 10, 64); return err }, names...)
}

// uint32Attrs is intAttrs for an unsigned 32-bit field.
func uint32Attrs(attrs []tokAttr, names ...string) bool {
	return attrsParse(attrs, func(v string) error { _, err := strconv.ParseUint(v, 10, 32); return err }, names...)
}

func floatAttrs(attrs []tokAttr, names ...string) bool {
	return attrsParse(attrs, func(v string) error { _, err := strconv.ParseFloat(v, 64); return err }, names...)
}

func boolAttrs(attrs []tokAttr, names ...string) bool {
	return attrsParse(attrs, func(v string) error { _, err := strconv.ParseBool(v); return err }, names...)
}

// attrsParse reports whether parse takes every non-empty attribute named,
// its spaces trimmed.
func attrsParse(attrs []tokAttr, parse func(string) error, names ...string) bool {
	for _, a := range attrs {
		for _, n := range names {
			if string(a.local) == n && len(a.value) > 0 && parse(strings.TrimSpace(string(a.value))) != nil {
				return false
			}
		}
	}
	return true
}

// formulaAttrsOK reports whether excelize decodes an <f>'s attributes.
func formulaAttrsOK(attrs []tokAttr) bool {
	return boolAttrs(attrs, "aca", "dt2D", "dtr", "del1", "del2", "ca", "bx") && intAttrs(attrs, "si")
}

// bstrDecode decodes the _xHHHH_ escapes of a string item as excelize's
// bstrUnmarshal does: _x005F_ is "_", a code that is not a character
// (a surrogate) is dropped.
func bstrDecode(s string) string {
	i := strings.Index(s, "_x")
	if i < 0 {
		return s
	}
	var b strings.Builder
	cursor := 0
	for i < len(s) {
		j := strings.Index(s[i:], "_x")
		if j < 0 {
			break
		}
		i += j
		if i+7 <= len(s) && isHex4(s[i+2:i+6]) && s[i+6] == '_' {
			b.WriteString(s[cursor:i])
			if s[i:i+7] == "_x005F_" {
				b.WriteByte('_')
			} else if v, err := strconv.Unquote(`"\u` + s[i+2:i+6] + `"`); err == nil {
				b.WriteString(v)
			}
			i += 7
			cursor = i
			continue
		}
		i++
	}
	b.WriteString(s[cursor:])
	return b.String()
}

func isHex4(s string) bool {
	for i := 0; i < 4; i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// cellColumn is excelize's CellNameToCoordinates' column, without its
// cost for the common A1 form.
func cellColumn(ref []byte) (int, error) {
	col, i := 0, 0
	for i < len(ref) && i < 3 && 'A' <= ref[i] && ref[i] <= 'Z' {
		col = col*26 + int(ref[i]-'A') + 1
		i++
	}
	row, digits := 0, 0
	for j := i; j < len(ref) && ref[j] >= '0' && ref[j] <= '9' && digits < 8; j++ {
		row = row*10 + int(ref[j]-'0')
		digits++
	}
	if i > 0 && digits > 0 && i+digits == len(ref) && row > 0 && row <= excelize.TotalRows && col <= excelize.MaxColumns {
		return col, nil
	}
	col, _, err := excelize.CellNameToCoordinates(string(ref))
	return col, err
}

// cellType is a cell's t attribute, without an allocation for the usual.
func cellType(v []byte) string {
	switch string(v) {
	case "s":
		return "s"
	case "inlineStr":
		return "inlineStr"
	case "str":
		return "str"
	case "n":
		return "n"
	case "b":
		return "b"
	case "e":
		return "e"
	case "d":
		return "d"
	}
	return string(v)
}

// sharedIndex is excelize's reading of a shared string cell's index:
// strconv.Atoi of the trimmed text, whatever it returns on an error.
func sharedIndex(v []byte) int {
	n := 0
	if len(v) > 0 && len(v) < 10 {
		for _, c := range v {
			if c < '0' || c > '9' {
				n = -1
				break
			}
			n = n*10 + int(c-'0')
		}
		if n >= 0 {
			return n
		}
	}
	i, _ := strconv.Atoi(strings.TrimSpace(string(v)))
	return i
}

// value is getValueFrom's value of a cell.
func (r *sheetRows) value(c *cellRead) (string, error) {
	v := r.v
	switch c.t {
	case "b":
		if !r.raw {
			if string(v) == "1" {
				return "TRUE", nil
			}
			if string(v) == "0" {
				return "FALSE", nil
			}
		}
		return r.text(c.s, string(v))
	case "d":
		if r.raw {
			return string(v), nil
		}
		return r.fm.value(c.s, "d", string(v))
	case "s":
		if len(v) == 0 {
			return r.text(c.s, "")
		}
		i := sharedIndex(v)
		if i < 0 || i >= len(r.sst) {
			return "", nil // excelize's error, which Rows.Columns drops
		}
		return r.text(c.s, r.sst[i])
	case "str":
		return string(v), nil
	case "inlineStr":
		if c.is {
			return r.text(c.s, c.inline)
		}
		return r.text(c.s, string(v))
	}
	s := string(v)
	if r.raw {
		return s, nil
	}
	num, ok := parseNumeric(s)
	if !r.fm.styled(c.s) {
		if ok {
			return generalValue(s, num), nil
		}
		return s, nil
	}
	if ok {
		return r.fm.value(c.s, "", s)
	}
	return r.fm.text(c.s, s)
}

// text is a text value through style s, as formattedValue gives it.
func (r *sheetRows) text(s int, v string) (string, error) {
	if r.raw || !r.fm.styled(s) {
		return v, nil
	}
	return r.fm.text(s, v)
}

// parseNumeric is excelize's isNumeric test.
func parseNumeric(s string) (float64, bool) {
	if strings.Contains(s, "_") {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// generalValue is excelize's getCellDefault for a number without a
// format: its shortest decimal, or 15 significant digits when it has more
// and is not an integer padded with zeros.
func generalValue(s string, f float64) string {
	plain := strconv.FormatFloat(f, 'f', -1, 64)
	if len(plain)-strings.Count(plain, ".") > 15 && !integerPadded(s) {
		return strconv.FormatFloat(f, 'G', 15, 64)
	}
	return plain
}

// integerPadded is excelize's isNumWithinPrecision.
func integerPadded(s string) bool {
	if strings.ContainsAny(s, ".Ee") {
		return false
	}
	s = strings.TrimLeft(s, "+-0")
	return len(strings.TrimRight(s, "0")) <= 15
}

func (r *sheetRows) Close() {
	r.close()
}

// readSharedStrings reads the shared strings as excelize does. A table
// excelize would fail to decode, or would read differently from how it is
// written, is a *FileError; one in the strict namespaces is left to
// excelize (errFallback).
func readSharedStrings(c *xlsxCheck) ([]string, error) {
	var zf *zip.File
	for name, f := range c.parts {
		if strings.EqualFold(name, "xl/sharedStrings.xml") {
			if zf != nil {
				return nil, errFallback // which one excelize keeps depends on the zip's order
			}
			zf = f
		}
	}
	if zf == nil {
		return nil, nil
	}
	// excelize decodes a table up to UnzipXMLSizeLimit whole, after
	// translating the strict namespaces; a larger one it reads string by
	// string from a temporary file.
	inMemory := zf.UncompressedSize64 <= unzipXMLLimit
	rc, err := zf.Open()
	if err != nil {
		return nil, zipError(err)
	}
	defer rc.Close()
	var src io.Reader = rc
	if inMemory {
		b, err := io.ReadAll(io.LimitReader(rc, unzipXMLLimit+1))
		if err != nil {
			return nil, c.partError(zf, err)
		}
		if bytes.Contains(b, []byte("purl.oclc.org")) {
			return nil, errFallback
		}
		src = bytes.NewReader(b)
	}
	t := newXMLTokenizer(src, maxXMLItem)
	damaged := func(err error) error {
		switch {
		case errors.Is(err, errXMLCharset):
			return errFallback
		case errors.Is(err, errBadAttr), errors.Is(err, errXMLDeep):
			err = errBadXML
		}
		return c.partError(zf, err)
	}
	// The root.
	for {
		if err := t.next(); err != nil {
			if err == io.EOF {
				return nil, nil // no element: excelize reads an empty table
			}
			return nil, damaged(err)
		}
		if t.kind == tokStart {
			break
		}
	}
	// Its counts are decoded as numbers.
	if string(t.local) != "sst" || inMemory && rootSpace(t) != nsMain || !intAttrs(t.attrs, "count", "uniqueCount") {
		return nil, damaged(errBadXML)
	}
	if t.empty {
		return nil, nil
	}
	sst := make([]string, 0, len(c.sst))
	for {
		if err := t.next(); err != nil {
			return nil, damaged(err)
		}
		if t.kind == tokEnd && t.depth() == 0 {
			break
		}
		if t.kind != tokStart {
			continue
		}
		if string(t.local) != "si" || t.depth() != 2 {
			if t.depth() == 2 {
				if err := skipSI(t); err != nil {
					return nil, damaged(err)
				}
				continue
			}
			return nil, damaged(errBadXML)
		}
		s, err := readStringItem(t)
		if err != nil {
			return nil, damaged(err)
		}
		sst = append(sst, s)
	}
	if !inMemory {
		// excelize reads on to the end, taking any <si> it finds.
		for {
			err := t.next()
			if err != nil {
				break
			}
			if t.kind == tokStart {
				return nil, damaged(errBadXML)
			}
		}
	}
	return sst, nil
}

// skipSI skips an element of the table that is not a string item; one
// that holds a string item is read by excelize's streaming reader only,
// and so is an error.
func skipSI(t *xmlTokenizer) error {
	depth := t.depth()
	if t.empty {
		return t.next()
	}
	for {
		if in, err := t.nextIn(depth); !in || err != nil {
			return err
		}
		if t.kind == tokStart && string(t.local) == "si" {
			return errBadXML
		}
	}
}

// rootSpace is the name space of the root element t is at.
func rootSpace(t *xmlTokenizer) string {
	prefix := strings.TrimSuffix(string(t.prefix), ":")
	space := ""
	for _, a := range t.attrs {
		if prefix == "" && len(a.prefix) == 0 && string(a.local) == "xmlns" || prefix != "" && string(a.prefix) == "xmlns:" && string(a.local) == prefix {
			space = string(a.value) // the last declaration holds
		}
	}
	return space
}

// cellFormatter gives the value of a cell whose style has a number
// format, by writing the cell into the skeleton's sheet and reading it
// back with excelize: the code that formats a cell of the workbook formats
// it, on the workbook's own styles and date system.
type cellFormatter struct {
	f     *excelize.File
	sheet string
	part  string
	// text formats text through each style: the parts between which the
	// text goes (nil if the style needs a call per value).
	text_ map[int][]string
	cache map[probeCell]string
	// styles is the number of cell styles: formattedValue leaves a value
	// with a style outside them (or style 0) as it is.
	styles int
}

type probeCell struct {
	s int
	t string
	v string
}

func newCellFormatter(f *excelize.File, sheet, part string) *cellFormatter {
	fm := &cellFormatter{f: f, sheet: sheet, part: part, text_: map[int][]string{}, cache: map[probeCell]string{}}
	if f.Styles != nil && f.Styles.CellXfs != nil {
		fm.styles = len(f.Styles.CellXfs.Xf)
	}
	return fm
}

// styled reports whether excelize formats a value of style s.
func (fm *cellFormatter) styled(s int) bool { return s > 0 && s < fm.styles }

// value formats v of type t through style s.
func (fm *cellFormatter) value(s int, t, v string) (string, error) {
	key := probeCell{s: s, t: t, v: v}
	if out, ok := fm.cache[key]; ok {
		return out, nil
	}
	out, err := fm.probe(key)
	if err != nil {
		return "", err
	}
	if len(fm.cache) >= 1<<14 {
		clear(fm.cache)
	}
	fm.cache[key] = out
	return out, nil
}

// text formats text v through style s: a number format places text
// between its literals (or not at all), the same for any text.
func (fm *cellFormatter) text(s int, v string) (string, error) {
	parts, ok := fm.text_[s]
	if !ok {
		const a, b = "\uE001\uE002", "\uE003\uE004"
		ra, err := fm.probe(probeCell{s: s, t: "inlineStr", v: a})
		if err != nil {
			return "", err
		}
		rb, err := fm.probe(probeCell{s: s, t: "inlineStr", v: b})
		if err != nil {
			return "", err
		}
		parts = strings.Split(ra, a)
		if strings.Join(parts, b) != rb {
			parts = nil
		}
		fm.text_[s] = parts
	}
	if parts == nil {
		return fm.value(s, "inlineStr", v)
	}
	if len(parts) == 2 && parts[0] == "" && parts[1] == "" {
		return v, nil
	}
	return strings.Join(parts, v), nil
}

// probe writes the cell into the skeleton's sheet and reads it back.
func (fm *cellFormatter) probe(c probeCell) (out string, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = "", xlsxError(fmt.Errorf("excelize: %v", p))
		}
	}()
	fm.f.Pkg.Store(fm.part, probeSheet([]probeCell{c}))
	rows, err := fm.f.Rows(fm.sheet)
	if err != nil {
		return "", xlsxError(err)
	}
	defer rows.Close()
	if !rows.Next() {
		return "", nil
	}
	cells, err := rows.Columns()
	if err != nil {
		return "", xlsxError(err)
	}
	if len(cells) == 0 {
		return "", nil
	}
	return cells[0], nil
}

// probeSheet is a sheet of one row of cells: a string of type inlineStr
// is written so that excelize reads back the same string.
func probeSheet(cells []probeCell) []byte {
	var b bytes.Buffer
	b.WriteString(`<worksheet xmlns="` + nsMain + `"><sheetData><row r="1">`)
	for i, c := range cells {
		name, _ := excelize.CoordinatesToCellName(i+1, 1)
		fmt.Fprintf(&b, `<c r="%s" s="%d"`, name, c.s)
		if c.t != "" {
			fmt.Fprintf(&b, ` t="%s"`, c.t)
		}
		b.WriteString(`>`)
		if c.t == "inlineStr" {
			b.WriteString(`<is><t>`)
			xmlEscapeText(&b, bstrEncode(c.v))
			b.WriteString(`</t></is>`)
		} else {
			b.WriteString(`<v>`)
			xmlEscapeText(&b, c.v)
			b.WriteString(`</v>`)
		}
		b.WriteString(`</c>`)
	}
	b.WriteString(`</row></sheetData></worksheet>`)
	return b.Bytes()
}

// bstrEncode escapes s so that excelize's bstrUnmarshal gives it back:
// "_x" as "_x005F_x", a character XML cannot hold as _xHHHH_.
func bstrEncode(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '_' && i+1 < len(s) && s[i+1] == 'x':
			b.WriteString("_x005F_")
		case !xmlChar(r):
			fmt.Fprintf(&b, "_x%04X_", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func xmlEscapeText(b *bytes.Buffer, s string) {
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		case '\r', '\n', '\t':
			fmt.Fprintf(b, "&#%d;", r)
		default:
			b.WriteRune(r)
		}
	}
}

// openFastXLSX opens the sheet excelize would read, with sheetRows;
// errFallback leaves the workbook to excelize. scanned is the part
// check.scanSheet has scanned, if any.
func openFastXLSX(check *xlsxCheck, scannedName, scanned string, opts excelize.Options) (rr *xlsxRows, err error) {
	x := &fastXLSX{check: check, opts: opts}
	skel, err := x.skeleton(scanned)
	if err != nil {
		return nil, err
	}
	f, err := excelize.OpenReader(bytes.NewReader(skel), opts)
	if err != nil {
		return nil, errFallback // excelize says why, on the whole file
	}
	defer func() {
		if rr == nil {
			f.Close()
		}
	}()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, errFallback
	}
	sheet := f.GetSheetName(f.GetActiveSheetIndex())
	if sheet == "" {
		sheet = sheets[0]
	}
	// Which part excelize reads for the sheet: its stand-in says.
	rows, err := f.Rows(sheet)
	if err != nil {
		return nil, errFallback
	}
	var first []string
	if rows.Next() {
		first, _ = rows.Columns()
	}
	rows.Close()
	if len(first) != 1 || !strings.HasPrefix(first[0], probeMark) {
		return nil, errFallback
	}
	part := strings.TrimPrefix(first[0], probeMark)
	zf := check.parts[part]
	if zf == nil || sheetCharset(zf) {
		return nil, errFallback
	}
	if part != scanned || !strings.EqualFold(sheet, scannedName) {
		// Not the sheet scanned: every sheet is checked, and max_rows is
		// left to the reading.
		if err := check.scanAll(); err != nil {
			return nil, err
		}
	}
	sst, err := readSharedStrings(check)
	if err != nil {
		return nil, err
	}
	check.sst = nil // the sizes: the strings are read
	fr, err := openSheetRows(check, zf, sst, newCellFormatter(f, sheet, part))
	if err != nil {
		return nil, err
	}
	return &xlsxRows{fast: fr, check: check, f: f, sheet: sheet}, nil
}

// sheetCharset reports a sheet whose XML declaration names an encoding
// other than UTF-8, which excelize converts.
func sheetCharset(zf *zip.File) bool {
	rc, err := zf.Open()
	if err != nil {
		return false // reading it will tell
	}
	defer rc.Close()
	t := newXMLTokenizer(io.LimitReader(rc, 4096), maxXMLItem)
	for i := 0; i < 4; i++ {
		if err := t.next(); err != nil {
			return errors.Is(err, errXMLCharset)
		}
		if t.kind == tokStart {
			return false
		}
	}
	return false
}
