package folder

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

var (
	errTooLong = errors.New("text or tag over the limit")
	errBadXML  = errors.New("not well-formed XML")
)

// xmlScanner reads an XML stream tag by tag without keeping it: it measures
// and counts in bounded memory where encoding/xml would hold any text or
// attribute whole. Names are matched without their prefix, as excelize's
// decoder matches them.
type xmlScanner struct {
	r    *bufio.Reader
	off  int64 // bytes consumed
	max  int64 // longest text run or tag allowed
	keep int   // bytes of a text or attribute value kept for the caller
	// The text before the last tag: its first keep bytes (entities not
	// decoded), its length, whether it is more than white space, whether
	// it held a CDATA section.
	text    []byte
	textLen int64
	textSet bool
	cdata   bool
	name    []byte
	value   []byte
	tagLen  int64
	// attrName is the attribute name being read: a local array handed to
	// the callback escaped, an allocation per attribute of the sheet.
	attrName [32]byte
	// attrs are the attributes fastTag found, called back once the tag
	// is known whole; byteByByte turns fastTag off (the tests' reference).
	attrs      [maxFastAttrs]fastAttr
	byteByByte bool
}

// maxFastAttrs is the most attributes a tag read by fastTag has; a tag
// with more is read byte by byte.
const maxFastAttrs = 16

// fastAttr is an attribute of the tag fastTag reads: its local name and
// value as offsets into the buffered bytes.
type fastAttr struct{ name, nameEnd, value, valueEnd int }

// xmlTag is a tag returned by next.
type xmlTag struct {
	name  []byte // local name; valid until the next call
	end   bool   // </name>
	empty bool   // <name/>
	start int64  // offset of '<'
	stop  int64  // offset after '>'
}

// next returns the next start or end tag, skipping comments, processing
// instructions and declarations; attr, if set, is called for each
// attribute of a start tag with its local name and value (the first keep
// bytes; long when cut).
func (s *xmlScanner) next(attr func(tag, name, value []byte, long bool)) (xmlTag, error) {
	s.text, s.textLen, s.textSet, s.cdata = s.text[:0], 0, false, false
	for {
		if err := s.readText(); err != nil {
			return xmlTag{}, err
		}
		t := xmlTag{start: s.off - 1}
		s.tagLen = 1
		if !s.byteByByte && s.fastTag(&t, attr) {
			return t, nil
		}
		c, err := s.byte()
		if err != nil {
			return t, eofIsUnexpected(err)
		}
		switch c {
		case '?':
			if err := s.skipPast("?>"); err != nil {
				return t, err
			}
			continue
		case '!':
			if err := s.declaration(); err != nil {
				return t, err
			}
			continue
		}
		if c == '/' {
			t.end = true
			if c, err = s.byte(); err != nil {
				return t, eofIsUnexpected(err)
			}
		}
		s.name = s.name[:0]
		for !isSpace(c) && c != '>' && c != '/' {
			if c == ':' {
				s.name = s.name[:0] // drop the prefix
			} else if len(s.name) < 64 {
				s.name = append(s.name, c)
			}
			if c, err = s.byte(); err != nil {
				return t, eofIsUnexpected(err)
			}
		}
		t.name = s.name
		if err := s.attributes(&t, c, attr); err != nil {
			return t, err
		}
		t.stop = s.off
		return t, nil
	}
}

// fastTag reads the tag after '<' from the reader's buffer when the
// buffer holds it whole and it is plain: a start or end tag whose
// attributes are all name="value" (or 'value'). It calls attr as
// attributes does, and reports whether it read the tag; anything else —
// a declaration, a tag cut by the buffer's end, a value without quotes —
// is left unread for the byte-by-byte path, which also says what is wrong.
// The byte-by-byte path makes a call per byte of a tag; this one, about a
// tenth fewer instructions for the whole check. The two paths read alike
// (FuzzScannerFastTag).
func (s *xmlScanner) fastTag(t *xmlTag, attr func(tag, name, value []byte, long bool)) bool {
	b, _ := s.r.Peek(s.r.Buffered()) // what is buffered: never reads
	if len(b) == 0 || b[0] == '?' || b[0] == '!' {
		return false
	}
	i, end := 0, false
	if b[0] == '/' {
		end, i = true, 1
	}
	nameAt := i
	for ; i < len(b) && !isSpace(b[i]) && b[i] != '>' && b[i] != '/'; i++ {
		if b[i] == ':' {
			nameAt = i + 1 // drop the prefix
		}
	}
	name := b[nameAt:i]
	empty, n := false, 0
	for {
		for i < len(b) && isSpace(b[i]) {
			i++
		}
		if i == len(b) {
			return false
		}
		if b[i] == '>' {
			break
		}
		if b[i] == '/' {
			empty = true
			i++
			continue
		}
		a := fastAttr{name: i}
		for ; i < len(b) && !isSpace(b[i]) && b[i] != '=' && b[i] != '>' && b[i] != '/'; i++ {
			if b[i] == ':' {
				a.name = i + 1
			}
		}
		a.nameEnd = i
		for i < len(b) && isSpace(b[i]) {
			i++
		}
		if i == len(b) {
			return false
		}
		if b[i] != '=' {
			continue // a name without a value: skipped, as attributes does
		}
		for i++; i < len(b) && isSpace(b[i]); i++ {
		}
		if i == len(b) || (b[i] != '"' && b[i] != '\'') || n == len(s.attrs) {
			return false
		}
		q := bytes.IndexByte(b[i+1:], b[i])
		if q < 0 {
			return false
		}
		a.value, a.valueEnd = i+1, i+1+q
		s.attrs[n] = a
		n++
		i = a.valueEnd + 1
	}
	size := int64(i + 1) // through '>'
	if s.tagLen+size > s.max {
		return false
	}
	s.name = append(s.name[:0], name[:min(len(name), 64)]...)
	t.name, t.end, t.empty = s.name, end, empty
	if attr != nil && !end {
		for _, a := range s.attrs[:n] {
			v := b[a.value:a.valueEnd]
			long := len(v) > s.keep
			attr(t.name, b[a.name:min(a.nameEnd, a.name+len(s.attrName))], v[:min(len(v), s.keep)], long)
		}
	}
	s.r.Discard(int(size))
	s.off += size
	s.tagLen += size
	t.stop = s.off
	return true
}

// readText reads up to and including the next '<'.
func (s *xmlScanner) readText() error {
	for {
		b, err := s.r.ReadSlice('<')
		s.off += int64(len(b))
		seg := b
		if err == nil {
			seg = b[:len(b)-1]
		}
		s.textLen += int64(len(seg))
		if s.textLen > s.max {
			return errTooLong
		}
		if !s.textSet && len(bytes.TrimSpace(seg)) > 0 {
			s.textSet = true
		}
		if room := s.keep - len(s.text); room > 0 {
			s.text = append(s.text, seg[:min(room, len(seg))]...)
		}
		switch err {
		case nil:
			return nil
		case bufio.ErrBufferFull:
		default:
			return err
		}
	}
}

// attributes reads a tag's attributes up to its '>'; c is the byte after
// the name.
func (s *xmlScanner) attributes(t *xmlTag, c byte, attr func(tag, name, value []byte, long bool)) error {
	var err error
	for {
		for isSpace(c) {
			if c, err = s.byte(); err != nil {
				return eofIsUnexpected(err)
			}
		}
		switch c {
		case '>':
			return nil
		case '/':
			t.empty = true
			if c, err = s.byte(); err != nil {
				return eofIsUnexpected(err)
			}
			continue
		}
		// name [= "value"]
		attrName := &s.attrName
		n := 0
		for !isSpace(c) && c != '=' && c != '>' && c != '/' {
			if c == ':' {
				n = 0
			} else if n < len(attrName) {
				attrName[n] = c
				n++
			}
			if c, err = s.byte(); err != nil {
				return eofIsUnexpected(err)
			}
		}
		for isSpace(c) {
			if c, err = s.byte(); err != nil {
				return eofIsUnexpected(err)
			}
		}
		if c != '=' {
			continue
		}
		for c, err = s.byte(); err == nil && isSpace(c); c, err = s.byte() {
		}
		if err != nil {
			return eofIsUnexpected(err)
		}
		if c != '"' && c != '\'' {
			return errBadXML
		}
		long, err := s.quoted(c)
		if err != nil {
			return err
		}
		if attr != nil && !t.end {
			attr(t.name, attrName[:n], s.value, long)
		}
		if c, err = s.byte(); err != nil {
			return eofIsUnexpected(err)
		}
	}
}

// quoted reads an attribute value up to its closing quote q, keeping the
// first keep bytes in s.value.
func (s *xmlScanner) quoted(q byte) (long bool, err error) {
	s.value = s.value[:0]
	for {
		b, err := s.r.ReadSlice(q)
		s.off += int64(len(b))
		s.tagLen += int64(len(b))
		if s.tagLen > s.max {
			return false, errTooLong
		}
		seg := b
		if err == nil {
			seg = b[:len(b)-1]
		}
		if room := s.keep - len(s.value); room >= len(seg) {
			s.value = append(s.value, seg...)
		} else {
			s.value = append(s.value, seg[:max(room, 0)]...)
			long = true
		}
		switch err {
		case nil:
			return long, nil
		case bufio.ErrBufferFull:
		default:
			return false, eofIsUnexpected(err)
		}
	}
}

// declaration skips a comment, a CDATA section (text: it is measured) or
// a DOCTYPE, after "<!".
func (s *xmlScanner) declaration() error {
	head, _ := s.r.Peek(7)
	switch {
	case bytes.HasPrefix(head, []byte("--")):
		return s.skipPast("-->")
	case bytes.HasPrefix(head, []byte("[CDATA[")):
		start := s.off
		if err := s.skipPast("]]>"); err != nil {
			return err
		}
		s.cdata, s.textSet = true, true
		if s.textLen += s.off - start; s.textLen > s.max {
			return errTooLong
		}
		return nil
	}
	depth := 0 // a DOCTYPE's internal subset is in brackets
	for {
		c, err := s.byte()
		if err != nil {
			return eofIsUnexpected(err)
		}
		switch {
		case c == '[':
			depth++
		case c == ']':
			depth--
		case c == '>' && depth <= 0:
			return nil
		}
	}
}

// skipPast reads up to and including end.
func (s *xmlScanner) skipPast(end string) error {
	matched := 0
	for matched < len(end) {
		c, err := s.byte()
		if err != nil {
			return eofIsUnexpected(err)
		}
		switch {
		case c == end[matched]:
			matched++
		case c == end[0]:
			matched = 1
		default:
			matched = 0
		}
	}
	return nil
}

func (s *xmlScanner) byte() (byte, error) {
	c, err := s.r.ReadByte()
	if err != nil {
		return 0, err
	}
	s.off++
	if s.tagLen++; s.tagLen > s.max {
		return 0, errTooLong
	}
	return c, nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func eofIsUnexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
