package folder

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"

	"github.com/demandd/demandd/internal/i18n"
)

// CSV files.
//
// A row ends at LF, CRLF or a lone CR outside quotes, in any mixture:
// classic Mac exports end rows with CR alone, and files passed between
// systems mix them. Inside a quoted cell a line break is part of the value:
// LF and a lone CR stay as they are, and CRLF becomes LF, as in
// encoding/csv (a file converted to CRLF wholesale gets its in-cell breaks
// converted too, and the answer is the same text either way). CR followed
// by LF outside quotes is always one row end.
//
// Stray quotes are tolerated as encoding/csv's LazyQuotes does: a quote
// inside an unquoted cell is a character; in a quoted cell a quote not
// doubled and not before a delimiter or a row end is a character too; a
// quoted cell still open at the end of the file ends there.
//
// The file is read once, through a fixed buffer; a row is held whole, up to
// maxCSVRowBytes and maxCells (past those the file is refused: most likely a
// quote that is never closed has swallowed the rest of the file).
//
// UTF-8 and GB18030 files are split into rows and cells on their bytes
// (no byte of a GB18030 multi-byte character can be a delimiter, a quote
// or a line break) and each cell is decoded after: so a row's bytes that
// are invalid in the file's encoding are found with their byte offset in
// the file, and the row is quarantined (RowProblem) instead of being taken
// with U+FFFD in place of what was written. UTF-16 files are decoded first
// (an unpaired surrogate becomes U+FFFD without a problem: offsets in the
// file are not kept through the decoder).

const (
	// maxCSVRowBytes bounds the bytes of one row.
	maxCSVRowBytes = 16 << 20
	// maxCells bounds the cells of one row (Excel's sheets have 16,384
	// columns).
	maxCells = 16384
	// csvBuffer is the read buffer; the delimiter is sniffed in the first
	// csvBuffer bytes.
	csvBuffer = 64 << 10
	// maxPending bounds the row problems kept until asked about: far more
	// than the rows read ahead of the batches (sampleRows).
	maxPending = 4096
)

// openCSV reads UTF-8 (with or without BOM), UTF-16 with BOM (Excel's
// "Unicode text") and GB18030, the superset of the GBK that Excel writes
// on Chinese Windows, as the file's bytes tell (textEvidence).
func openCSV(path string, text textEvidence) (rowReader, error) {
	f, err := openNoFollow(path)
	if err != nil {
		return nil, fmt.Errorf("folder: open %s: %w", path, err)
	}
	r, err := newCSVRows(f, f, text, 0, csvLimits{})
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("folder: read %s: %w", path, err)
	}
	r.closer = f
	return r, nil
}

type csvRows struct {
	p      *csvParser
	enc    string
	dec    *encoding.Decoder // GB18030 cells
	ra     io.ReaderAt       // the file, to find a bad byte's offset; nil for UTF-16
	closer io.Closer
	n      int
	// problems are rows read whose bytes are invalid in enc, in order,
	// until RowProblem is asked about them (rows are read ahead).
	problems []rowFault
}

// rowFault is a row whose bytes are not valid in the file's encoding.
type rowFault struct {
	row    int
	offset int64 // of the first bad byte, in the file
	enc    string
}

func (f rowFault) text() i18n.Text {
	return i18n.Tf("第 %[1]d 行在文件第 %[2]d 字节处含有不是有效 %[3]s 编码的字节，该行已隔离：请在导出文件中修正该行后重新放入文件夹，或重新处理（reprocess）该条目，以 � 代替无法识别的字节",
		"row %[1]d holds bytes that are not valid %[3]s at byte offset %[2]d of the file, so it is quarantined; fix that row in the export and drop the file in again, or reprocess the item to take it with � in place of the unreadable bytes",
		f.row, f.offset, f.enc)
}

// csvLimits are the parser's buffer size and row limits; zero means the
// default (csvBuffer, maxCSVRowBytes, maxCells). Tests set them small.
type csvLimits struct{ buffer, row, cells int }

// newCSVRows reads r, whose bytes ra also reads (for the offset of a bad
// byte; the same *os.File serves both), in the encoding text tells unless
// a BOM says otherwise. comma 0 means sniffed from the first row.
func newCSVRows(r io.Reader, ra io.ReaderAt, text textEvidence, comma byte, lim csvLimits) (*csvRows, error) {
	if lim.buffer == 0 {
		lim.buffer = csvBuffer
	}
	if lim.row == 0 {
		lim.row = maxCSVRowBytes
	}
	if lim.cells == 0 {
		lim.cells = maxCells
	}
	rows := &csvRows{ra: ra, enc: text.encoding()}
	p := newCSVParser(r, lim)
	if err := p.fill(); err != nil {
		return nil, err
	}
	head := p.buf[p.r:p.w]
	switch {
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		p.r += 3
		rows.enc = encUTF8
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}), bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		rows.enc = encUTF16LE
		if head[0] == 0xFE {
			rows.enc = encUTF16BE
		}
		// The decoder reads the rest of the buffer first, then the file.
		rest := io.MultiReader(bytes.NewReader(bytes.Clone(head)), r)
		p = newCSVParser(transform.NewReader(rest, unicode.BOMOverride(unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewDecoder())), lim)
		if err := p.fill(); err != nil {
			return nil, err
		}
		rows.ra = nil
	}
	if rows.enc == encGB18030 {
		rows.dec = simplifiedchinese.GB18030.NewDecoder()
	}
	if comma == 0 {
		comma = sniffDelimiter(p.buf[p.r:p.w])
	}
	p.setComma(comma)
	rows.p = p
	return rows, nil
}

// sniffDelimiter picks comma, tab or semicolon: the one found most often
// outside quotes in the first row of b.
func sniffDelimiter(b []byte) byte {
	var n [256]int
	quoted := false
	for _, c := range b {
		if c == '"' {
			quoted = !quoted
			continue
		}
		if !quoted && (c == '\n' || c == '\r') {
			break
		}
		if !quoted {
			n[c]++
		}
	}
	best := byte(',')
	for _, c := range []byte{'\t', ';'} {
		if n[c] > n[best] {
			best = c
		}
	}
	return best
}

func (r *csvRows) Next() ([]string, int, error) {
	p := r.p
	start := p.pos()
	err := p.readRow()
	if err == io.EOF {
		return nil, 0, io.EOF
	}
	r.n++
	var long *rowTooLong
	if errors.As(err, &long) {
		if r.ra == nil {
			return nil, 0, fileErrorf("CSV 文件第 %d 行超过 %d MB 或 %d 列，多半是某个引号没有闭合：请检查该行，或从问卷平台重新导出",
				"row %d of the CSV file is over %d MB or %d columns long, most likely because a quote is never closed; check that row or export the file again from the survey platform",
				r.n, maxCSVRowBytes>>20, maxCells)
		}
		return nil, 0, fileErrorf("CSV 文件第 %d 行（从文件第 %d 字节起）超过 %d MB 或 %d 列，多半是某个引号没有闭合：请检查该行，或从问卷平台重新导出",
			"row %d of the CSV file (from byte offset %d) is over %d MB or %d columns long, most likely because a quote is never closed; check that row or export the file again from the survey platform",
			r.n, start, maxCSVRowBytes>>20, maxCells)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("folder: read CSV row %d: %w", r.n, err)
	}
	cells := make([]string, len(p.ends))
	all := string(p.rec) // one allocation per row; cells are slices of it
	from, bad := 0, false
	for i, end := range p.ends {
		c := all[from:end]
		from = end
		switch {
		case r.enc == encGB18030 && !ascii(c):
			if d, err := r.dec.String(c); err == nil {
				bad = bad || strings.ContainsRune(d, utf8.RuneError)
				c = d
			} else {
				c, bad = strings.ToValidUTF8(c, "\uFFFD"), true
			}
		case !utf8.ValidString(c):
			c, bad = strings.ToValidUTF8(c, "\uFFFD"), true
		}
		cells[i] = c
	}
	if bad && r.ra != nil {
		if off, ok := r.badByte(start, p.pos()); ok {
			if len(r.problems) == maxPending { // never asked about (ReadRow): the reader must not grow
				r.problems = r.problems[1:]
			}
			r.problems = append(r.problems, rowFault{row: r.n, offset: off, enc: r.enc})
		}
	}
	return cells, r.n, nil
}

// badByte finds the file offset of the first bad byte of the row read
// between parser positions start and end, by reading those bytes again:
// rows with bad bytes are rare, and so every other row is read once.
func (r *csvRows) badByte(start, end int64) (int64, bool) {
	raw := make([]byte, end-start)
	if _, err := r.ra.ReadAt(raw, start); err != nil && !errors.Is(err, io.EOF) {
		return start, true // the row is bad; where exactly is unknown
	}
	// A U+FFFD decoded from GB18030's own encoding of U+FFFD is no fault.
	if i := badAt(raw, r.enc); i >= 0 {
		return start + int64(i), true
	}
	return 0, false
}

// RowProblem says why row num, read already, cannot be taken as read: its
// bytes are not valid in the file's encoding. Rows are asked about in
// order; the answers for earlier rows are dropped.
func (r *csvRows) RowProblem(num int) (i18n.Text, bool) {
	for len(r.problems) > 0 && r.problems[0].row < num {
		r.problems = r.problems[1:]
	}
	if len(r.problems) > 0 && r.problems[0].row == num {
		f := r.problems[0]
		r.problems = r.problems[1:]
		return f.text(), true
	}
	return i18n.Text{}, false
}

// Encoding is the text encoding the file is read in.
func (r *csvRows) Encoding() string { return r.enc }

func (r *csvRows) Sheet() string { return "" }

func (r *csvRows) Close() error {
	if r.closer == nil {
		return nil
	}
	return r.closer.Close()
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// rowEncoding is the text encoding rr reads its file in; "" for workbooks.
func rowEncoding(rr rowReader) string {
	if e, ok := rr.(interface{ Encoding() string }); ok {
		return e.Encoding()
	}
	return ""
}

// problem is why row num cannot be taken as read, in r.locale; "" when it
// can. The item of such a row is stored quarantined with this reason.
func (r *rowBatcher) problem(num int) string {
	if p, ok := r.rows.(interface{ RowProblem(int) (i18n.Text, bool) }); ok {
		if t, ok := p.RowProblem(num); ok {
			return t.In(r.locale)
		}
	}
	return ""
}

// rowTooLong is a row over maxCSVRowBytes or maxCells.
type rowTooLong struct{}

func (*rowTooLong) Error() string { return "CSV row too long" }

// csvParser splits a byte stream into rows of cells.
type csvParser struct {
	src     io.Reader
	buf     []byte
	r, w    int
	off     int64 // stream offset of buf[0]
	err     error // sticky: io.EOF or a read error
	comma   byte
	special [256]bool // what ends an unquoted run: comma, CR, LF
	// The row read: the cells' bytes back to back, and where each ends.
	rec              []byte
	ends             []int
	rowStart         int64 // stream offset of the row's first byte
	maxRow, maxCells int
}

func newCSVParser(src io.Reader, lim csvLimits) *csvParser {
	return &csvParser{src: src, buf: make([]byte, lim.buffer), maxRow: lim.row, maxCells: lim.cells}
}

func (p *csvParser) setComma(c byte) {
	p.comma = c
	p.special = [256]bool{}
	p.special[c], p.special['\r'], p.special['\n'] = true, true, true
}

// pos is the stream offset of the next byte.
func (p *csvParser) pos() int64 { return p.off + int64(p.r) }

// fill reads more when every buffered byte is consumed, as much as the
// buffer holds, so that the sniffed first row is not cut short by a short
// read. At the end of the stream it returns nil with p.r == p.w.
func (p *csvParser) fill() error {
	if p.r < p.w {
		return nil
	}
	if p.err != nil {
		if p.err == io.EOF {
			return nil
		}
		return p.err
	}
	p.off += int64(p.w)
	p.r, p.w = 0, 0
	for empty := 0; p.w < len(p.buf) && p.err == nil; {
		n, err := p.src.Read(p.buf[p.w:])
		p.w += n
		p.err = err
		if n > 0 {
			empty = 0
		} else if empty++; empty == 100 {
			p.err = io.ErrNoProgress
		}
	}
	if p.w > 0 || p.err == io.EOF { // an error is returned once the bytes before it are read
		return nil
	}
	return p.err
}

// peek returns the next byte without consuming it; ok is false at the end.
func (p *csvParser) peek() (byte, bool, error) {
	if err := p.fill(); err != nil {
		return 0, false, err
	}
	if p.r == p.w {
		return 0, false, nil
	}
	return p.buf[p.r], true, nil
}

// readRow reads one row into p.rec and p.ends: io.EOF when none is left.
// A blank line is a row of no cells (the row numbers stay those a
// spreadsheet shows).
func (p *csvParser) readRow() error {
	p.rec, p.ends = p.rec[:0], p.ends[:0]
	p.rowStart = p.pos()
	c, ok, err := p.peek()
	switch {
	case err != nil:
		return err
	case !ok:
		return io.EOF
	case c == '\r' || c == '\n':
		p.r++
		return p.endLine(c)
	}
	for {
		end, err := p.readCell()
		if err != nil {
			return err
		}
		if len(p.ends) >= p.maxCells {
			return &rowTooLong{}
		}
		p.ends = append(p.ends, len(p.rec))
		switch end {
		case '\r', '\n':
			return p.endLine(end)
		case 0: // end of the stream
			return nil
		}
	}
}

// endLine consumes the LF of a CRLF whose CR (c) is consumed already.
func (p *csvParser) endLine(c byte) error {
	if c != '\r' {
		return nil
	}
	next, ok, err := p.peek()
	if err != nil {
		return err
	}
	if ok && next == '\n' {
		p.r++
	}
	return nil
}

// readCell appends one cell to p.rec and returns what ended it, consumed:
// the comma, CR, LF, or 0 at the end of the stream.
func (p *csvParser) readCell() (byte, error) {
	c, ok, err := p.peek()
	if err != nil {
		return 0, err
	}
	if ok && c == '"' {
		p.r++
		return p.readQuoted()
	}
	for {
		if err := p.fill(); err != nil {
			return 0, err
		}
		if p.r == p.w {
			return 0, nil
		}
		seg := p.buf[p.r:p.w]
		i := 0
		for i < len(seg) && !p.special[seg[i]] {
			i++
		}
		p.rec = append(p.rec, seg[:i]...)
		p.r += i
		if i < len(seg) {
			p.r++
			return seg[i], nil
		}
		if p.long() {
			return 0, &rowTooLong{}
		}
	}
}

// long reports a row over the limit in bytes.
func (p *csvParser) long() bool { return p.pos()-p.rowStart > int64(p.maxRow) }

// readQuoted reads a quoted cell whose opening quote is consumed.
func (p *csvParser) readQuoted() (byte, error) {
	for {
		if err := p.fill(); err != nil {
			return 0, err
		}
		if p.r == p.w {
			return 0, nil // still open at the end: the cell ends there
		}
		seg := p.buf[p.r:p.w]
		i := 0
		for i < len(seg) && seg[i] != '"' && seg[i] != '\r' {
			i++
		}
		p.rec = append(p.rec, seg[:i]...)
		p.r += i
		if p.long() {
			return 0, &rowTooLong{}
		}
		if i == len(seg) {
			continue
		}
		c := seg[i]
		p.r++
		next, ok, err := p.peek()
		if err != nil {
			return 0, err
		}
		switch {
		case c == '\r' && ok && next == '\n': // CRLF in a cell is LF
			p.r++
			p.rec = append(p.rec, '\n')
		case c == '\r':
			p.rec = append(p.rec, '\r')
		case !ok: // closing quote at the end of the stream
			return 0, nil
		case next == '"':
			p.r++
			p.rec = append(p.rec, '"')
		case next == p.comma || next == '\r' || next == '\n':
			p.r++
			return next, nil
		default: // a bare quote in a quoted cell
			p.rec = append(p.rec, '"')
		}
	}
}
