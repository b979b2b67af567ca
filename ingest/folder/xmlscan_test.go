package folder

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// scanLog is everything a scan tells its caller: each tag with the text
// before it and the attributes called back, then the error that ended it.
func scanLog(input []byte, size, keep int, max int64, byteByByte bool) string {
	s := &xmlScanner{r: bufio.NewReaderSize(bytes.NewReader(input), size), max: max, keep: keep, byteByByte: byteByByte}
	var log strings.Builder
	for i := 0; i < 10000; i++ {
		t, err := s.next(func(tag, name, value []byte, long bool) {
			fmt.Fprintf(&log, " attr %q %q %q %v", tag, name, value, long)
		})
		if err != nil {
			fmt.Fprintf(&log, "\nerr %v", err)
			break
		}
		fmt.Fprintf(&log, "\ntag %q end=%v empty=%v %d-%d off=%d text=%q/%d set=%v cdata=%v",
			t.name, t.end, t.empty, t.start, t.stop, s.off, s.text, s.textLen, s.textSet, s.cdata)
	}
	return log.String()
}

// FuzzScannerFastTag holds fastTag to the byte-by-byte path it shortcuts:
// the same tags, offsets, texts, attributes and errors, whatever the
// buffer's size cuts.
func FuzzScannerFastTag(f *testing.F) {
	for _, seed := range []string{
		`<row r="5"><c r="A5" t="inlineStr"><is><t>4</t></is></c><c r="B5" s="1" t="s"><v>12</v></c></row>`,
		`<?xml version="1.0"?><x:worksheet xmlns:x="u"><x:c x:r='A1' t = "s" /><!-- c --><![CDATA[a<b]]></x:worksheet>`,
		`<a b c="1" d=2 /><e f="x>y"/></ e><></><a/b="1"/>< a="1">`,
		`<numFmt formatCode="@@@@" formatCode16="&quot;x&quot;"/><c r="&#65;1"/>`,
		`<a averyveryveryveryveryveryverylongattributenamethatgoesonandon="v"/><p:q:r s:t:u="1"/>`,
		`<a b="unterminated><c d="1"/>`,
		`<a b="1" c="2" d="3" e="4" f="5" g="6" h="7" i="8" j="9" k="10" l="11" m="12" n="13" o="14" p="15" q="16" r="17"/>`,
	} {
		f.Add([]byte(seed), uint8(16), uint8(64), uint16(0))
		f.Add([]byte(seed), uint8(5), uint8(1), uint16(40))
	}
	f.Fuzz(func(t *testing.T, input []byte, size, keep uint8, max uint16) {
		limit := int64(maxXMLItem)
		if max > 0 {
			limit = int64(max)
		}
		bufSize := 16 + int(size)%200 // bufio's least is 16
		fast := scanLog(input, bufSize, int(keep)%80, limit, false)
		slow := scanLog(input, bufSize, int(keep)%80, limit, true)
		if fast != slow {
			t.Errorf("buffer %d, keep %d, max %d: fastTag reads\n%s\nbyte by byte:\n%s", bufSize, int(keep)%80, limit, fast, slow)
		}
	})
}

// TestFastTagReadsTheSheet checks that fastTag is taken on a sheet's
// plain tags, not only that it agrees when taken.
func TestFastTagReadsTheSheet(t *testing.T) {
	sheet := []byte(`<row r="7" spans="1:2"><c r="A7" s="3" t="s"><v>12</v></c><c r="B7"/></row>`)
	s := &xmlScanner{r: bufio.NewReaderSize(bytes.NewReader(sheet), 4096), max: maxXMLItem, keep: 64}
	if err := s.readText(); err != nil {
		t.Fatal(err)
	}
	s.tagLen = 1
	var tag xmlTag
	var attrs []string
	if !s.fastTag(&tag, func(_, name, value []byte, _ bool) { attrs = append(attrs, string(name)+"="+string(value)) }) {
		t.Fatal("fastTag left a plain row tag to the byte-by-byte path")
	}
	if string(tag.name) != "row" || tag.stop != int64(len(`<row r="7" spans="1:2">`)) || strings.Join(attrs, " ") != "r=7 spans=1:2" {
		t.Errorf("fastTag read %q ending at %d with %v", tag.name, tag.stop, attrs)
	}
}
