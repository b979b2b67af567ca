package folder

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// Text encodings a CSV file is read in, as ingest.Row.Encoding names them.
const (
	encUTF8    = "UTF-8"
	encGB18030 = "GB18030"
	encUTF16LE = "UTF-16LE"
	encUTF16BE = "UTF-16BE"
)

// textEvidence is what a file's bytes say of their encoding, gathered in
// the same pass as the SHA-256 (hashFile): how many non-ASCII bytes form
// valid UTF-8 sequences and how many do not, and the same for GB18030.
// One stray byte must not decide a whole file, so the counts are weighed
// rather than any invalid byte tipping the file to GB18030.
type textEvidence struct {
	utf8, gb seqCounter
}

// Write counts p; it never fails. Sequences split between two writes are
// carried over.
func (e *textEvidence) Write(p []byte) (int, error) {
	if rest, ok := e.utf8.finish(p, utf8Seq); ok {
		e.utf8.writeUTF8(rest)
	}
	if rest, ok := e.gb.finish(p, gbSeq); ok {
		e.gb.writeGB(rest)
	}
	return len(p), nil
}

// close counts a sequence left incomplete at the end of the file.
func (e *textEvidence) close() {
	e.utf8.close(utf8Seq)
	e.gb.close(gbSeq)
}

// encoding decides how to read a file that has no BOM:
//   - UTF-8 when no byte is invalid UTF-8, or when at least 99% of the
//     non-ASCII bytes are valid UTF-8: the few bad rows are quarantined;
//   - else GB18030 (the superset of the GBK that Excel writes on Chinese
//     Windows) when the bytes are all valid GB18030, or fewer of them are
//     invalid as GB18030 than as UTF-8;
//   - else UTF-8.
func (e textEvidence) encoding() string {
	u, g := e.utf8, e.gb
	switch {
	case u.bad == 0, u.good >= 99*u.bad:
		return encUTF8
	case g.bad == 0, g.bad < u.bad:
		return encGB18030
	}
	return encUTF8
}

// seqCounter counts the non-ASCII bytes of a stream that form valid and
// invalid sequences of one encoding.
type seqCounter struct {
	good, bad int64
	carry     [4]byte // an incomplete sequence at the end of the last write
	n         int
}

// seqFunc measures the sequence at the start of b (len(b) > 0): its size
// and whether it is valid. Size 0 means b ends before the sequence does and
// more bytes are needed; at EOF it never returns 0. An invalid sequence has
// size 1, so that the next byte is read afresh.
type seqFunc func(b []byte, atEOF bool) (size int, ok bool)

func (c *seqCounter) count(b []byte, size int, ok bool) {
	switch {
	case !ok:
		c.bad += int64(size)
	case b[0] >= utf8.RuneSelf:
		c.good += int64(size)
	}
}

// finish counts the sequence begun at the end of the last write, with the
// first bytes of p, and returns the rest of p; ok is false when p is too
// short to finish it (it is all carried then).
func (c *seqCounter) finish(p []byte, seq seqFunc) (rest []byte, ok bool) {
	if c.n == 0 {
		return p, true
	}
	// The carry is at most 3 bytes, and a sequence at most 4.
	var tmp [8]byte
	k := copy(tmp[:], c.carry[:c.n])
	k += copy(tmp[k:], p)
	j := 0
	for j < c.n {
		size, ok := seq(tmp[j:k], false)
		if size == 0 { // p too short to finish it
			c.n = copy(c.carry[:], tmp[j:k])
			return nil, false
		}
		c.count(tmp[j:k], size, ok)
		j += size
	}
	rest = p[j-c.n:]
	c.n = 0
	return rest, true
}

// scan counts the sequences of p and carries an incomplete one at its end.
func (c *seqCounter) scan(p []byte, seq seqFunc) {
	for i := 0; i < len(p); {
		if p[i] < utf8.RuneSelf {
			i++
			continue
		}
		size, ok := seq(p[i:], false)
		if size == 0 {
			c.n = copy(c.carry[:], p[i:])
			return
		}
		c.count(p[i:], size, ok)
		i += size
	}
}

// writeUTF8 is scan for UTF-8, faster when p is valid, as most files are.
func (c *seqCounter) writeUTF8(p []byte) {
	cut := len(p)
	for i := len(p) - 1; i >= 0 && i >= len(p)-utf8.UTFMax; i-- {
		if utf8.RuneStart(p[i]) {
			if !utf8.FullRune(p[i:]) {
				cut = i
			}
			break
		}
	}
	if !utf8.Valid(p[:cut]) {
		c.scan(p, utf8Seq)
		return
	}
	c.good += nonASCII(p[:cut])
	c.n = copy(c.carry[:], p[cut:])
}

// writeGB is scan for GB18030, with the common two-byte characters
// counted inline.
func (c *seqCounter) writeGB(p []byte) {
	for i := 0; i < len(p); {
		b := p[i]
		if b < utf8.RuneSelf {
			i++
			continue
		}
		if b != 0x80 && b != 0xFF && i+1 < len(p) {
			if t := p[i+1]; 0x40 <= t && t <= 0xFE && t != 0x7F {
				c.good += 2
				i += 2
				continue
			}
		}
		size, ok := gbSeq(p[i:], false)
		if size == 0 {
			c.n = copy(c.carry[:], p[i:])
			return
		}
		c.count(p[i:], size, ok)
		i += size
	}
}

// nonASCII counts the bytes of p over 0x7F.
func nonASCII(p []byte) int64 {
	n := 0
	for len(p) >= 8 {
		n += bits.OnesCount64(binary.LittleEndian.Uint64(p) & 0x8080808080808080)
		p = p[8:]
	}
	for _, b := range p {
		n += int(b >> 7)
	}
	return int64(n)
}

func (c *seqCounter) close(seq seqFunc) {
	for j := 0; j < c.n; {
		size, ok := seq(c.carry[j:c.n], true)
		c.count(c.carry[j:c.n], size, ok)
		j += size
	}
	c.n = 0
}

func utf8Seq(b []byte, atEOF bool) (int, bool) {
	if b[0] < utf8.RuneSelf {
		return 1, true
	}
	if !atEOF && !utf8.FullRune(b) {
		return 0, false
	}
	r, size := utf8.DecodeRune(b)
	return size, r != utf8.RuneError || size > 1
}

// gbSeq measures a GB18030 sequence as golang.org/x/text's decoder reads
// it: one byte (ASCII, or 0x80 for Code Page 936's euro sign), two bytes
// (lead 0x81–0xFE, trail 0x40–0x7E or 0x80–0xFE) or four (0x81–0xFE,
// 0x30–0x39, 0x81–0xFE, 0x30–0x39, in the ranges that map to a character).
// A two-byte code the decoder's table leaves unmapped counts as valid here;
// gbBadAt finds those.
//
// None of the bytes that structure a CSV file (tab, CR, LF, '"', ',', ';')
// can be a trailing byte, which is why a GB18030 file can be split into
// rows and cells before it is decoded.
func gbSeq(b []byte, atEOF bool) (int, bool) {
	c0 := b[0]
	switch {
	case c0 < utf8.RuneSelf, c0 == 0x80:
		return 1, true
	case c0 == 0xFF:
		return 1, false
	}
	if len(b) < 2 {
		if atEOF {
			return 1, false
		}
		return 0, false
	}
	switch c1 := b[1]; {
	case 0x40 <= c1 && c1 <= 0x7E, 0x80 <= c1 && c1 <= 0xFE:
		return 2, true
	case 0x30 <= c1 && c1 <= 0x39:
		if len(b) < 4 {
			if atEOF {
				return 1, false
			}
			return 0, false
		}
		c2, c3 := b[2], b[3]
		if c2 < 0x81 || c2 == 0xFF || c3 < 0x30 || c3 > 0x39 {
			return 1, false
		}
		r := ((rune(c0-0x81)*10+rune(c1-0x30))*126+rune(c2-0x81))*10 + rune(c3-0x30)
		if r < 39420 || (r >= 189000 && r-189000 < 0x100000) {
			return 4, true
		}
		return 1, false
	}
	return 1, false
}

// badAt is the index in b of the first byte that is not part of a valid
// sequence in enc, or -1. b is whole rows: no sequence runs past its end.
func badAt(b []byte, enc string) int {
	switch enc {
	case encUTF8:
		for i := 0; i < len(b); {
			if b[i] < utf8.RuneSelf {
				i++
				continue
			}
			size, ok := utf8Seq(b[i:], true)
			if !ok {
				return i
			}
			i += size
		}
	case encGB18030:
		return gbBadAt(b)
	}
	return -1
}

// gbBadAt is badAt for GB18030, including the two-byte codes that are
// well formed but that the decoder maps to U+FFFD.
func gbBadAt(b []byte) int {
	dec := simplifiedchinese.GB18030.NewDecoder()
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		size, ok := gbSeq(b[i:], true)
		if !ok {
			return i
		}
		if size == 2 {
			if s, err := dec.Bytes(b[i : i+2]); err != nil || string(s) == "\uFFFD" {
				return i
			}
		}
		i += size
	}
	return -1
}
