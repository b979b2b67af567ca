package folder

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"unicode/utf8"
)

// xmlTokenizer reads an XML stream token by token, as encoding/xml's
// Decoder.Token does, at a fraction of its cost: names and text are slices
// of its window, decoded only when they hold an entity or a carriage
// return. It is strict where the Decoder is: whatever the Decoder rejects
// (a name, an entity or a character that is not XML, an end tag that does
// not match its start, a truncated stream) it rejects too, and it rejects
// a few things the Decoder accepts but no workbook holds (a DOCTYPE, very
// deep nesting), so that a reader built on it yields what excelize yields
// or an error, never something else.
type xmlTokenizer struct {
	r    io.Reader
	buf  []byte
	pos  int // start of the next token in buf
	end  int // end of the data in buf
	eof  bool
	rerr error
	max  int // longest token

	kind      tokKind
	prefix    []byte // raw name of a start or end tag, split as the Decoder splits it
	local     []byte
	empty     bool // <a/>: an end token follows
	closeNext bool
	attrs     []tokAttr
	text      []byte // a text token, decoded
	textBuf   []byte
	valBuf    []byte
	// The open elements' raw names, for matching end tags.
	stack    []byte
	stackEnd []int
	// charsetPI is set when a <?xml?> declaration names an encoding other
	// than UTF-8: the Decoder would convert the rest of the stream.
	charsetPI bool
}

type tokKind uint8

const (
	tokStart tokKind = iota + 1
	tokEnd
	tokText // character data or a CDATA section
	tokOther
)

type tokAttr struct {
	prefix []byte // with its colon
	local  []byte
	value  []byte // decoded
}

var (
	errTokShort   = errors.New("short")
	errXMLCharset = errors.New("xml: encoding other than UTF-8 declared")
	errXMLDeep    = errors.New("xml: elements nested too deep")
)

const maxXMLDepth = 4096

func newXMLTokenizer(r io.Reader, max int) *xmlTokenizer {
	return &xmlTokenizer{r: r, buf: make([]byte, 64<<10), max: max}
}

// more reads into the window; grow makes room for a token longer than it.
func (t *xmlTokenizer) more() error {
	if t.eof {
		return io.EOF
	}
	if t.pos > 0 {
		n := copy(t.buf, t.buf[t.pos:t.end])
		t.end, t.pos = n, 0
	}
	if t.end == len(t.buf) {
		if len(t.buf) >= t.max+1024 {
			return errTooLong
		}
		nb := make([]byte, min(2*len(t.buf), t.max+1024))
		copy(nb, t.buf[:t.end])
		t.buf = nb
	}
	for {
		n, err := t.r.Read(t.buf[t.end:])
		t.end += n
		if err == io.EOF {
			t.eof = true
			if n > 0 {
				return nil
			}
			return io.EOF
		}
		if err != nil {
			t.rerr = err
			return err
		}
		if n > 0 {
			return nil
		}
	}
}

// depth is the number of open elements.
func (t *xmlTokenizer) depth() int { return len(t.stackEnd) }

// next reads the next token. At the end of the stream it returns io.EOF,
// or io.ErrUnexpectedEOF when elements are still open.
func (t *xmlTokenizer) next() error {
	if t.closeNext {
		t.closeNext = false
		t.kind = tokEnd
		return t.pop()
	}
	for {
		n, err := t.token(t.buf[t.pos:t.end], t.eof)
		if err == errTokShort {
			if err := t.more(); err != nil {
				if err != io.EOF {
					return err
				}
				if t.pos == t.end {
					if t.depth() > 0 {
						return io.ErrUnexpectedEOF
					}
					return io.EOF
				}
				// t.eof is now set: parse what is left as the last token.
			}
			continue
		}
		if err != nil {
			return err
		}
		t.pos += n
		if t.kind == tokEnd {
			return t.pop()
		}
		if t.kind == tokStart {
			if t.depth() >= maxXMLDepth {
				return errXMLDeep
			}
			t.stack = append(append(t.stack, t.prefix...), t.local...)
			t.stackEnd = append(t.stackEnd, len(t.stack))
			if t.empty {
				t.closeNext = true
			}
		}
		return nil
	}
}

// pop checks an end tag against the open element.
func (t *xmlTokenizer) pop() error {
	n := len(t.stackEnd)
	if n == 0 {
		return errBadXML
	}
	start := 0
	if n > 1 {
		start = t.stackEnd[n-2]
	}
	open := t.stack[start:t.stackEnd[n-1]]
	if len(open) != len(t.prefix)+len(t.local) || !bytes.HasPrefix(open, t.prefix) || !bytes.Equal(open[len(t.prefix):], t.local) {
		return errBadXML
	}
	t.stack = t.stack[:start]
	t.stackEnd = t.stackEnd[:n-1]
	return nil
}

// token parses one token at the start of b; errTokShort asks for more
// input unless eof.
func (t *xmlTokenizer) token(b []byte, eof bool) (int, error) {
	if len(b) == 0 {
		return 0, errTokShort
	}
	if b[0] != '<' {
		i := bytes.IndexByte(b, '<')
		if i < 0 {
			if !eof {
				if len(b) > t.max {
					return 0, errTooLong
				}
				return 0, errTokShort
			}
			i = len(b)
		}
		if i > t.max {
			return 0, errTooLong
		}
		text, err := t.decodeText(b[:i], &t.textBuf, -1)
		if err != nil {
			return 0, err
		}
		t.kind, t.text = tokText, text
		return i, nil
	}
	n, err := t.markup(b)
	if err == errTokShort {
		if eof {
			return 0, io.ErrUnexpectedEOF
		}
		if len(b) > t.max {
			return 0, errTooLong
		}
	}
	return n, err
}

// markup parses a tag, comment, CDATA section or processing instruction.
func (t *xmlTokenizer) markup(b []byte) (int, error) {
	if len(b) < 2 {
		return 0, errTokShort
	}
	switch b[1] {
	case '/':
		i, err := t.name(b, 2)
		if err != nil {
			return 0, err
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return 0, errTokShort
		}
		if b[i] != '>' {
			return 0, errBadXML
		}
		t.kind, t.empty = tokEnd, false
		return i + 1, nil
	case '?':
		return t.procInst(b)
	case '!':
		if len(b) < 4 {
			return 0, errTokShort
		}
		switch b[2] {
		case '-':
			if b[3] != '-' {
				return 0, errBadXML
			}
			// The first "--" must close the comment.
			j := bytes.Index(b[4:], []byte("--"))
			if j < 0 || 4+j+2 >= len(b) {
				return 0, errTokShort
			}
			if b[4+j+2] != '>' {
				return 0, errBadXML
			}
			t.kind = tokOther
			return 4 + j + 3, nil
		case '[':
			if len(b) < 9 {
				return 0, errTokShort
			}
			if string(b[2:9]) != "[CDATA[" {
				return 0, errBadXML
			}
			j := bytes.Index(b[9:], []byte("]]>"))
			if j < 0 {
				return 0, errTokShort
			}
			text, err := t.decodeText(b[9:9+j], &t.textBuf, cdataQuote)
			if err != nil {
				return 0, err
			}
			t.kind, t.text = tokText, text
			return 9 + j + 3, nil
		}
		return 0, errBadXML // a DOCTYPE or other directive: no workbook has one
	}
	i, err := t.name(b, 1)
	if err != nil {
		return 0, err
	}
	t.attrs = t.attrs[:0]
	t.valBuf = t.valBuf[:0]
	t.empty = false
	for {
		i = skipSpace(b, i)
		if i >= len(b) {
			return 0, errTokShort
		}
		switch b[i] {
		case '/':
			if i+1 >= len(b) {
				return 0, errTokShort
			}
			if b[i+1] != '>' {
				return 0, errBadXML
			}
			t.empty = true
			t.kind = tokStart
			return i + 2, nil
		case '>':
			t.kind = tokStart
			return i + 1, nil
		}
		// name = "value"
		s, e, j, err := readName(b, i)
		if err != nil {
			return 0, err
		}
		prefix, local, err := splitName(b[s:e])
		if err != nil {
			return 0, err
		}
		j = skipSpace(b, j)
		if j >= len(b) {
			return 0, errTokShort
		}
		if b[j] != '=' {
			return 0, errBadXML
		}
		j = skipSpace(b, j+1)
		if j >= len(b) {
			return 0, errTokShort
		}
		q := b[j]
		if q != '"' && q != '\'' {
			return 0, errBadXML
		}
		k := bytes.IndexByte(b[j+1:], q)
		if k < 0 {
			return 0, errTokShort
		}
		raw := b[j+1 : j+1+k]
		var v []byte
		if needsDecoding(raw) {
			dec, err := t.decodeText(raw, &t.valBuf, int(q))
			if err != nil {
				return 0, err
			}
			v = dec[:len(dec):len(dec)] // in valBuf, which later values extend
		} else {
			if bytes.IndexByte(raw, '<') >= 0 {
				return 0, errBadXML
			}
			if err := checkChars(raw); err != nil {
				return 0, err
			}
			v = raw
		}
		t.attrs = append(t.attrs, tokAttr{prefix: prefix, local: local, value: v})
		i = j + 1 + k + 1
	}
}

// procInst reads <?target ...?>. An XML declaration is checked as the
// Decoder checks it; one that names another encoding sets charsetPI.
func (t *xmlTokenizer) procInst(b []byte) (int, error) {
	s, e, i, err := readName(b, 2)
	if err != nil {
		return 0, err
	}
	j := bytes.Index(b[i:], []byte("?>"))
	if j < 0 {
		return 0, errTokShort
	}
	n := i + j + 2
	if string(b[s:e]) == "xml" {
		// Let the Decoder judge the declaration; a charset reader that
		// only notes the call tells an encoding it would switch to.
		d := xml.NewDecoder(bytes.NewReader(b[:n]))
		named := false
		d.CharsetReader = func(label string, r io.Reader) (io.Reader, error) {
			named = true
			return r, nil
		}
		if _, err := d.Token(); err != nil && !named {
			return 0, errBadXML
		}
		if named {
			t.charsetPI = true
			return 0, errXMLCharset
		}
	}
	t.kind = tokOther
	return n, nil
}

// name reads a tag's name at b[i:] into prefix and local.
func (t *xmlTokenizer) name(b []byte, i int) (int, error) {
	s, e, j, err := readName(b, i)
	if err != nil {
		return 0, err
	}
	t.prefix, t.local, err = splitName(b[s:e])
	return j, err
}

// readName reads a name as the Decoder does: the bytes up to one that is
// ASCII and not a name byte, then checked against XML's name rules.
func readName(b []byte, i int) (start, end, next int, err error) {
	j := i
	for j < len(b) && (b[j] >= utf8.RuneSelf || nameByte[b[j]]) {
		j++
	}
	if j >= len(b) {
		return 0, 0, 0, errTokShort
	}
	if j == i {
		return 0, 0, 0, errBadXML
	}
	if !isASCIIName(b[i:j]) && !isXMLName(b[i:j]) {
		return 0, 0, 0, errBadXML
	}
	return i, j, j, nil
}

// splitName splits a name as the Decoder's nsname does: at its one colon
// when both sides are not empty; more than one colon is an error. prefix
// keeps the colon, so that prefix+local is the raw name.
func splitName(n []byte) (prefix, local []byte, err error) {
	c := bytes.IndexByte(n, ':')
	if c < 0 {
		return nil, n, nil
	}
	if bytes.IndexByte(n[c+1:], ':') >= 0 {
		return nil, nil, errBadXML
	}
	if c == 0 || c == len(n)-1 {
		return nil, n, nil
	}
	return n[:c+1], n[c+1:], nil
}

var nameByte = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == ':' || c == '.' || c == '-'
	}
	return
}()

// isASCIIName reports an ASCII name that XML accepts.
func isASCIIName(n []byte) bool {
	if len(n) == 0 {
		return false
	}
	c := n[0]
	if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c == '_' || c == ':') {
		return false
	}
	for _, c := range n[1:] {
		if c >= utf8.RuneSelf || !nameByte[c] {
			return false
		}
	}
	return true
}

// isXMLName asks the Decoder whether a name with non-ASCII letters is a
// name (its tables are not exported): rare, so the cost does not matter.
func isXMLName(n []byte) bool {
	doc := append(append([]byte("<"), n...), "/>"...)
	_, err := xml.NewDecoder(bytes.NewReader(doc)).Token()
	return err == nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// textClass marks the bytes that stop the fast path of text: controls,
// '&', ']', '\r' and non-ASCII.
var textClass = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = c < 0x20 && c != '\t' && c != '\n' || c == '&' || c == ']' || c == '\r' || c >= utf8.RuneSelf
	}
	return
}()

func needsDecoding(raw []byte) bool {
	return bytes.IndexByte(raw, '&') >= 0 || bytes.IndexByte(raw, '\r') >= 0
}

// cdataQuote marks a CDATA section to decodeText.
const cdataQuote = -2

// checkChars checks text without entities or carriage returns: valid
// UTF-8, characters XML allows, and (in text) no "]]>".
func checkChars(raw []byte) error {
	for i := 0; i < len(raw); {
		c := raw[i]
		if !textClass[c] {
			i++
			continue
		}
		switch {
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && n == 1 || !xmlChar(r) {
				return errBadXML
			}
			i += n
		case c == ']' || c == '&' || c == '\r':
			i++
		default:
			return errBadXML
		}
	}
	return nil
}

// decodeText decodes raw text (quote < 0), an attribute value (quote is its
// quote) or a CDATA section (cdataQuote) as the Decoder's text does:
// entities and character references resolved, "\r\n" and "\r" read as
// "\n", each character checked. It returns raw itself when there is
// nothing to decode, else a slice appended to *buf.
func (t *xmlTokenizer) decodeText(raw []byte, buf *[]byte, quote int) ([]byte, error) {
	if quote == -1 && bytes.Contains(raw, []byte("]]>")) {
		return nil, errBadXML
	}
	if quote != -1 && quote != cdataQuote {
		if bytes.IndexByte(raw, '<') >= 0 {
			return nil, errBadXML
		}
	}
	amp := quote != cdataQuote && bytes.IndexByte(raw, '&') >= 0
	if !amp && bytes.IndexByte(raw, '\r') < 0 {
		if err := checkChars(raw); err != nil {
			return nil, err
		}
		return raw, nil
	}
	if quote == -1 || quote == cdataQuote {
		*buf = (*buf)[:0]
	}
	start := len(*buf)
	out := *buf
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == '\r':
			out = append(out, '\n')
			i++
			if i < len(raw) && raw[i] == '\n' {
				i++
			}
			continue
		case c == '&' && quote != cdataQuote:
			r, n, ok := entity(raw[i:])
			if !ok {
				return nil, errBadXML
			}
			out = utf8.AppendRune(out, r)
			i += n
			continue
		}
		out = append(out, c)
		i++
	}
	*buf = out
	dec := out[start:]
	if err := checkDecoded(dec); err != nil {
		return nil, err
	}
	return dec, nil
}

// checkDecoded checks decoded text: valid UTF-8 of characters XML allows.
func checkDecoded(b []byte) error {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return errBadXML
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 || !xmlChar(r) {
			return errBadXML
		}
		i += n
	}
	return nil
}

// entity reads an entity or character reference at b ("&...;") as the
// Decoder's strict mode accepts it.
func entity(b []byte) (r rune, n int, ok bool) {
	semi := bytes.IndexByte(b, ';')
	if semi < 0 {
		return 0, 0, false
	}
	body := b[1:semi]
	if len(body) > 0 && body[0] == '#' {
		base, digits := 10, body[1:]
		if len(digits) > 0 && digits[0] == 'x' {
			base, digits = 16, digits[1:]
		}
		for _, c := range digits {
			if !('0' <= c && c <= '9' || base == 16 && ('a' <= c && c <= 'f' || 'A' <= c && c <= 'F')) {
				return 0, 0, false
			}
		}
		v, err := strconv.ParseUint(string(digits), base, 64)
		if err != nil || v > utf8.MaxRune {
			return 0, 0, false
		}
		// string(rune(v)) turns a surrogate into U+FFFD, as the Decoder does.
		r, _ := utf8.DecodeRuneInString(string(rune(v)))
		return r, semi + 1, true
	}
	switch string(body) {
	case "lt":
		return '<', semi + 1, true
	case "gt":
		return '>', semi + 1, true
	case "amp":
		return '&', semi + 1, true
	case "apos":
		return '\'', semi + 1, true
	case "quot":
		return '"', semi + 1, true
	}
	return 0, 0, false
}

// xmlChar reports a character XML allows.
func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// nextIn reads the next token inside the element whose start left the
// tokenizer at depth: false once that element's end tag is read. A stream
// that ends first is io.ErrUnexpectedEOF.
func (t *xmlTokenizer) nextIn(depth int) (bool, error) {
	if err := t.next(); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return false, err
	}
	return t.kind != tokEnd || t.depth() >= depth, nil
}
