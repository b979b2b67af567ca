package biff

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"unicode/utf16"
	"unicode/utf8"
)

// Record types read here (MS-XLS 2.3).
const (
	recFormula    = 0x0006
	recEOF        = 0x000A
	recFilePass   = 0x002F
	recContinue   = 0x003C
	recCodepage   = 0x0042
	recDateMode   = 0x0022
	recWindow1    = 0x003D
	recBoundSheet = 0x0085
	recMulRK      = 0x00BD
	recRString    = 0x00D6
	recXF         = 0x00E0
	recSST        = 0x00FC
	recLabelSST   = 0x00FD
	recNumber     = 0x0203
	recLabel      = 0x0204
	recBoolErr    = 0x0205
	recString     = 0x0207
	recArray      = 0x0221
	recTable      = 0x0236
	recRK         = 0x027E
	recFormat     = 0x041E
	recShrFmla    = 0x04BC
	recBOF        = 0x0809
	// Older BIFF versions' BOF records, only to say what the file is.
	recBOF2, recBOF3, recBOF4 = 0x0009, 0x0209, 0x0409
)

// errTruncated is the end of the stream inside a record or a string.
var errTruncated = errors.New("biff: stream ends inside a record")

// recordReader reads the records of a workbook stream one at a time. The
// body of the record read last is valid until the next call.
type recordReader struct {
	r      *bufio.Reader
	rewind func() // called where a front-to-back read starts
	src    io.ReadSeeker
	size   int64 // of the stream
	off    int64 // stream offset of the next record header
	typ    uint16
	body   []byte
	at     int64 // stream offset of the record read last
}

func newRecordReader(r io.ReadSeeker, size int64, rewind func()) *recordReader {
	rewind()
	return &recordReader{r: bufio.NewReaderSize(r, 64<<10), src: r, rewind: rewind, size: size, body: make([]byte, 0, 1<<16)}
}

// seekTo moves to the record header at stream offset off.
func (rr *recordReader) seekTo(off int64) error {
	if off < 0 || off >= rr.size {
		return errTruncated
	}
	rr.rewind()
	if _, err := rr.src.Seek(off, io.SeekStart); err != nil {
		return err
	}
	rr.r.Reset(rr.src)
	rr.off = off
	return nil
}

// next reads the next record. At the end of the stream it returns io.EOF.
func (rr *recordReader) next() error {
	if rr.off >= rr.size {
		return io.EOF
	}
	var head [4]byte
	if _, err := io.ReadFull(rr.r, head[:]); err != nil {
		return readError(err)
	}
	rr.typ = binary.LittleEndian.Uint16(head[:])
	n := int(binary.LittleEndian.Uint16(head[2:]))
	// A record's length is a 16-bit field: the body fits the buffer
	// made for it, and none can be bigger than what is left.
	if rr.off+4+int64(n) > rr.size {
		return errTruncated
	}
	rr.body = rr.body[:n]
	if _, err := io.ReadFull(rr.r, rr.body); err != nil {
		return readError(err)
	}
	rr.at = rr.off
	rr.off += 4 + int64(n)
	return nil
}

// peek returns the type of the next record without reading it; ok is
// false at the end of the stream.
func (rr *recordReader) peek() (uint16, bool) {
	if rr.off+4 > rr.size {
		return 0, false
	}
	b, err := rr.r.Peek(2)
	if err != nil {
		return 0, false
	}
	return binary.LittleEndian.Uint16(b), true
}

func readError(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return errTruncated
	}
	return err
}

// cont reads a record's body and the CONTINUE records that follow it as one
// sequence of bytes: a long shared string table, or a long string, is
// split over CONTINUE records, and a string's characters carry on in the
// next one after a new option byte.
type cont struct {
	rr  *recordReader
	b   []byte // the current record's body
	pos int
	// scratch holds a string's characters as they are read.
	scratch []uint16
	out     []byte
}

func (c *cont) reset(rr *recordReader) {
	c.rr, c.b, c.pos = rr, rr.body, 0
}

// left is what is left of the current record.
func (c *cont) left() int { return len(c.b) - c.pos }

// more moves on to the next CONTINUE record.
func (c *cont) more() error {
	if t, ok := c.rr.peek(); !ok || t != recContinue {
		return errTruncated
	}
	if err := c.rr.next(); err != nil {
		return err
	}
	c.b, c.pos = c.rr.body, 0
	return nil
}

// need makes n bytes readable in the current record, moving on to the
// next when this one is spent; a value is never split across records.
func (c *cont) need(n int) error {
	for c.left() == 0 {
		if err := c.more(); err != nil {
			return err
		}
	}
	if c.left() < n {
		return errTruncated
	}
	return nil
}

func (c *cont) u8() (byte, error) {
	if err := c.need(1); err != nil {
		return 0, err
	}
	c.pos++
	return c.b[c.pos-1], nil
}

func (c *cont) u16() (uint16, error) {
	if err := c.need(2); err != nil {
		return 0, err
	}
	c.pos += 2
	return binary.LittleEndian.Uint16(c.b[c.pos-2:]), nil
}

func (c *cont) u32() (uint32, error) {
	if err := c.need(4); err != nil {
		return 0, err
	}
	c.pos += 4
	return binary.LittleEndian.Uint32(c.b[c.pos-4:]), nil
}

// skip passes over n bytes, across records.
func (c *cont) skip(n int64) error {
	for n > 0 {
		if c.left() == 0 {
			if err := c.more(); err != nil {
				return err
			}
		}
		k := int(min(n, int64(c.left())))
		c.pos += k
		n -= int64(k)
	}
	return nil
}

// Option bits of a BIFF8 string.
const (
	strHighByte = 0x01 // characters are UTF-16, else their low bytes alone
	strExt      = 0x04 // phonetic data follows the characters
	strRich     = 0x08 // formatting runs follow the characters
)

// str8 reads a BIFF8 string of cch characters whose option byte comes
// next: the characters, then the formatting runs and phonetic data it
// declares, which are passed over. Where the characters carry on in a
// CONTINUE record, that record starts with a new option byte.
func (c *cont) str8(cch int) (string, error) {
	opt, err := c.u8()
	if err != nil {
		return "", err
	}
	var runs, ext uint32
	if opt&strRich != 0 {
		n, err := c.u16()
		if err != nil {
			return "", err
		}
		runs = uint32(n)
	}
	if opt&strExt != 0 {
		if ext, err = c.u32(); err != nil {
			return "", err
		}
	}
	c.scratch = c.scratch[:0]
	for cch > 0 {
		if c.left() == 0 {
			if err := c.more(); err != nil {
				return "", err
			}
			if opt, err = c.u8(); err != nil {
				return "", err
			}
		}
		if opt&strHighByte != 0 {
			k := min(cch, c.left()/2)
			if k == 0 { // a character split across records
				return "", errTruncated
			}
			for i := range k {
				c.scratch = append(c.scratch, binary.LittleEndian.Uint16(c.b[c.pos+2*i:]))
			}
			c.pos += 2 * k
			cch -= k
		} else {
			k := min(cch, c.left())
			for _, b := range c.b[c.pos : c.pos+k] {
				c.scratch = append(c.scratch, uint16(b))
			}
			c.pos += k
			cch -= k
		}
	}
	if err := c.skip(4*int64(runs) + int64(ext)); err != nil {
		return "", err
	}
	return c.utf8(), nil
}

// utf8 is the characters in scratch as UTF-8; a lone surrogate becomes
// U+FFFD.
func (c *cont) utf8() string {
	c.out = c.out[:0]
	s := c.scratch
	for i := 0; i < len(s); i++ {
		r := rune(s[i])
		if utf16.IsSurrogate(r) && i+1 < len(s) {
			if d := utf16.DecodeRune(r, rune(s[i+1])); d != utf8.RuneError {
				r = d
				i++
			}
		}
		c.out = utf8.AppendRune(c.out, r)
	}
	return string(c.out)
}

// bytes8 reads n bytes of an 8-bit string (BIFF5), across records.
func (c *cont) bytes8(n int) ([]byte, error) {
	c.out = c.out[:0]
	for n > 0 {
		if c.left() == 0 {
			if err := c.more(); err != nil {
				return nil, err
			}
		}
		k := min(n, c.left())
		c.out = append(c.out, c.b[c.pos:c.pos+k]...)
		c.pos += k
		n -= k
	}
	return c.out, nil
}

// Little-endian fields of a record body; a body too short for a field is
// checked by the caller before.
func u16(b []byte, at int) uint16 { return binary.LittleEndian.Uint16(b[at:]) }
func u32(b []byte, at int) uint32 { return binary.LittleEndian.Uint32(b[at:]) }
func f64(b []byte, at int) float64 {
	return math.Float64frombits(binary.LittleEndian.Uint64(b[at:]))
}

// rk decodes an RK number: a 30-bit signed integer or the top 30 bits of a
// double, either one divided by 100 when the lowest bit is set.
func rk(v uint32) float64 {
	var f float64
	if v&0x02 != 0 {
		f = float64(int32(v) >> 2)
	} else {
		f = math.Float64frombits(uint64(v&^0x03) << 32)
	}
	if v&0x01 != 0 {
		f /= 100
	}
	return f
}
