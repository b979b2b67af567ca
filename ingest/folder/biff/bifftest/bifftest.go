// Package bifftest makes damaged and hostile .xls files from good ones, for
// the tests of the .xls reader and of the folder channel: each function
// takes a real workbook's bytes and returns a changed copy.
//
// It reads just enough of the compound file to patch it: the header, the
// FAT named in the header's first 109 DIFAT entries, the directory, and the
// chain of the Workbook stream (a stream of 4096 bytes or more, in regular
// sectors). A file it cannot patch makes it panic: the inputs are the
// project's own test files.
package bifftest

import (
	"encoding/binary"
	"fmt"
	"unicode/utf16"
)

type cfb struct {
	b      []byte
	ss     int      // sector size
	fat    []int    // file offset of each FAT entry, by sector number
	chain  []uint32 // the Workbook stream's sectors
	size   int      // and its size
	dirOff int      // file offset of its directory entry
}

func le32(b []byte, at int) uint32 { return binary.LittleEndian.Uint32(b[at:]) }

func parse(b []byte) *cfb {
	c := &cfb{b: b, ss: 1 << binary.LittleEndian.Uint16(b[30:])}
	off := func(sn uint32) int { return int(sn+1) * c.ss }
	nfat := int(le32(b, 44))
	for i := 0; i < nfat && i < 109; i++ {
		sect := le32(b, 76+4*i)
		for j := 0; j < c.ss/4; j++ {
			c.fat = append(c.fat, off(sect)+4*j)
		}
	}
	next := func(sn uint32) uint32 { return le32(b, c.fat[sn]) }
	for sn := le32(b, 48); sn < 0xFFFFFFFA; sn = next(sn) {
		for e := off(sn); e < off(sn)+c.ss; e += 128 {
			n := int(binary.LittleEndian.Uint16(b[e+64:]))
			if n < 2 || n > 64 {
				continue
			}
			name := make([]uint16, n/2-1)
			for i := range name {
				name[i] = binary.LittleEndian.Uint16(b[e+2*i:])
			}
			if string(utf16.Decode(name)) == "Workbook" {
				c.dirOff = e
				c.size = int(le32(b, e+120))
				for s := le32(b, e+116); s < 0xFFFFFFFA; s = next(s) {
					c.chain = append(c.chain, s)
				}
			}
		}
	}
	if c.dirOff == 0 || c.size < 4096 {
		panic("bifftest: no Workbook stream in regular sectors")
	}
	return c
}

// at is the file offset of byte i of the Workbook stream.
func (c *cfb) at(i int) int {
	return int(c.chain[i/c.ss]+1)*c.ss + i%c.ss
}

// stream is the Workbook stream.
func (c *cfb) stream() []byte {
	out := make([]byte, c.size)
	for i := range out {
		out[i] = c.b[c.at(i)]
	}
	return out
}

// put writes v at byte i of the stream.
func (c *cfb) put(i int, v []byte) {
	for k, x := range v {
		c.b[c.at(i+k)] = x
	}
}

// record finds the first record of type typ in the stream: the stream
// offset of its body and its length.
func (c *cfb) record(typ uint16) (int, int) {
	s := c.stream()
	for i := 0; i+4 <= len(s); {
		t, n := binary.LittleEndian.Uint16(s[i:]), int(binary.LittleEndian.Uint16(s[i+2:]))
		if t == typ {
			return i + 4, n
		}
		i += 4 + n
	}
	panic(fmt.Sprintf("bifftest: no record %#x", typ))
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

// Truncate is b cut to n bytes, as a download that broke off.
func Truncate(b []byte, n int) []byte { return clone(b[:n]) }

// LoopFAT makes the Workbook stream's chain of sectors loop: its third
// sector leads back to its first, so that following the chain never ends
// before the stream's size.
func LoopFAT(b []byte) []byte {
	c := parse(clone(b))
	binary.LittleEndian.PutUint32(c.b[c.fat[c.chain[2]]:], c.chain[0])
	return c.b
}

// SSTCount sets the number of distinct strings the shared string table
// declares.
func SSTCount(b []byte, n uint32) []byte {
	c := parse(clone(b))
	body, _ := c.record(0x00FC)
	var v [4]byte
	binary.LittleEndian.PutUint32(v[:], n)
	c.put(body+4, v[:])
	return c.b
}

// LongString gives the shared string table's first string the longest
// length a string may declare, 65,535 characters, far more than it holds.
func LongString(b []byte) []byte {
	c := parse(clone(b))
	body, _ := c.record(0x00FC)
	c.put(body+8, []byte{0xFF, 0xFF})
	return c.b
}

// StreamSize sets the size the directory gives the Workbook stream.
func StreamSize(b []byte, n uint32) []byte {
	c := parse(clone(b))
	binary.LittleEndian.PutUint32(c.b[c.dirOff+120:], n)
	return c.b
}

// WithStream is b with its Workbook stream replaced by stream, padded
// with zeros to the 4096 bytes that keep it in regular sectors; stream
// must fit the sectors of b's.
func WithStream(b, stream []byte) []byte {
	c := parse(clone(b))
	if len(stream) < 4096 {
		stream = append(clone(stream), make([]byte, 4096-len(stream))...)
	}
	if len(stream) > len(c.chain)*c.ss {
		panic("bifftest: the stream does not fit")
	}
	c.size = len(stream)
	c.put(0, stream)
	binary.LittleEndian.PutUint32(c.b[c.dirOff+120:], uint32(len(stream)))
	return c.b
}

// Record is a BIFF record of type typ whose body is parts written in
// order: integers of their own size, little-endian; strings and byte
// slices as they are.
func Record(typ uint16, parts ...any) []byte {
	var body []byte
	for _, p := range parts {
		switch v := p.(type) {
		case uint8:
			body = append(body, v)
		case uint16:
			body = binary.LittleEndian.AppendUint16(body, v)
		case uint32:
			body = binary.LittleEndian.AppendUint32(body, v)
		case uint64:
			body = binary.LittleEndian.AppendUint64(body, v)
		case string:
			body = append(body, v...)
		case []byte:
			body = append(body, v...)
		default:
			panic(fmt.Sprintf("bifftest: %T in a record", p))
		}
	}
	out := binary.LittleEndian.AppendUint16(nil, typ)
	out = binary.LittleEndian.AppendUint16(out, uint16(len(body)))
	return append(out, body...)
}

// UTF16 is s as UTF-16LE code units, the characters of a BIFF8 string
// whose option byte is 1.
func UTF16(s string) []byte {
	var out []byte
	for _, u := range utf16.Encode([]rune(s)) {
		out = binary.LittleEndian.AppendUint16(out, u)
	}
	return out
}
