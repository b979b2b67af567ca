package folder

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzCSV is a CSV file the fuzzer described, with what reading it must
// give back.
type fuzzCSV struct {
	file    []byte
	comma   byte // 0: the reader must sniff it
	want    [][]string
	badAt   []int // per row, the offset of its first byte that is not UTF-8, or -1
	limits  csvLimits
	sniffed byte
}

// Separators of the fuzzer's rows and cells: they are the only bytes a
// cell cannot hold.
const (
	fuzzRowSep  = 0x1E
	fuzzCellSep = 0x1F
)

// fuzzFile writes the rows of cells data describes as a CSV file. data[0]
// and data[1] choose the delimiter, the row ends (LF, CRLF or CR, from a
// generator seeded with them), which cells are quoted though they need
// not be, whether the last row has an end, and the read buffer's size;
// the rest is rows separated by 0x1E of cells separated by 0x1F. An empty
// row is a blank line or one empty cell.
func fuzzFile(data []byte) fuzzCSV {
	var ctl, seed byte
	if len(data) >= 2 {
		ctl, seed, data = data[0], data[1], data[2:]
	}
	state := uint32(ctl)<<8 | uint32(seed) | 1
	next := func() uint32 { // xorshift: enough to vary the choices
		state ^= state << 13
		state ^= state >> 17
		state ^= state << 5
		return state
	}
	f := fuzzCSV{sniffed: ",\t;"[ctl%3]}
	explicit := ctl&0x10 != 0
	if explicit {
		f.comma = f.sniffed
		f.limits.buffer = 4 + int(seed%29) // buffers end anywhere
	}
	var rows [][]string
	if len(data) > 0 {
		for _, r := range bytes.Split(data, []byte{fuzzRowSep}) {
			var cells []string
			if len(r) > 0 || ctl&0x04 == 0 {
				for _, c := range bytes.Split(r, []byte{fuzzCellSep}) {
					cells = append(cells, string(c))
				}
			}
			rows = append(rows, cells)
		}
	}
	// Sniffing needs a delimiter in the first row, and no other candidate
	// outside quotes there.
	needs := string(f.sniffed) + "\"\r\n"
	if !explicit {
		needs = ",\t;\"\r\n"
		if len(rows) == 0 || len(rows[0]) < 2 {
			f.comma = f.sniffed
		}
	}
	var b bytes.Buffer
	prevCR := false
	for i, row := range rows {
		start := b.Len()
		for j, c := range row {
			if j > 0 {
				b.WriteByte(f.sniffed)
			}
			quote := strings.ContainsAny(c, needs) || next()%4 == 0 ||
				(len(row) == 1 && c == "") || // a lone empty cell is not a blank line
				(b.Len() == 0 && (strings.HasPrefix(c, "\xEF\xBB\xBF") || strings.HasPrefix(c, "\xFF\xFE") || strings.HasPrefix(c, "\xFE\xFF"))) // nor a BOM
			if quote {
				c = `"` + strings.ReplaceAll(c, `"`, `""`) + `"`
			}
			b.WriteString(c)
		}
		end := []string{"\n", "\r\n", "\r"}[next()%3]
		if prevCR && len(row) == 0 && end == "\n" {
			end = "\r" // CR then LF is one row end: a blank row after CR cannot end with LF
		}
		if i == len(rows)-1 && len(row) > 0 && ctl&0x08 != 0 {
			end = "" // the last row may have no end
		}
		b.WriteString(end)
		prevCR = end == "\r"
		want := make([]string, len(row))
		for j, c := range row {
			want[j] = strings.ToValidUTF8(strings.ReplaceAll(c, "\r\n", "\n"), "\uFFFD")
		}
		f.want = append(f.want, want)
		bad := -1
		for k, raw := 0, b.Bytes()[start:]; k < len(raw); {
			r, size := utf8.DecodeRune(raw[k:])
			if r == utf8.RuneError && size == 1 {
				bad = start + k
				break
			}
			k += size
		}
		f.badAt = append(f.badAt, bad)
	}
	f.file = b.Bytes()
	if !explicit {
		f.limits.buffer = len(f.file) + 4 // the whole first row sniffed, without 64 KiB per run
	}
	return f
}

func fuzzSeeds(f *testing.F) {
	for _, s := range []string{
		"",
		"\x00\x00a\x1fb\x1ec\x1fd",
		"\x01\x07h1\x1fh2\x1ex\x1fy\x1ez\x1fw",
		"\x02\x09a\rb\x1fc\nd\x1e\"q\"\x1f\r\n",
		"\x10\x03\xff\xfe\x1f\xe4\xb8\x1e\x1e\x1e\xe4\xb8\xad\x1f,;\t",
		"\x1c\x05\xef\xbb\xbfbom\x1f\"\"\x1e\x1e",
		"\x08\x11\x00\x1f\x00\x1e\r\x1f\r\r\n",
		"\x04\x00\x1e\x1e\x1e",
		"\x11\x1f希望\xff增加\x1f导出\r\n功能\x1e张三\x1f李四",
	} {
		f.Add([]byte(s))
	}
}

// FuzzCSVReader writes the rows of cells the fuzzer describes as a CSV
// file (quoted as needed, with mixed row ends) and reads it back: every
// row, no more, the same cells — CRLF in a cell read as LF, bytes that are
// not UTF-8 as U+FFFD with the row marked at its first such byte.
func FuzzCSVReader(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		in := fuzzFile(data)
		// The rows are UTF-8 whatever their bytes say: the encoding is
		// decided elsewhere (TestEvidenceDecides).
		r, err := newCSVRows(bytes.NewReader(in.file), bytes.NewReader(in.file), textEvidence{}, in.comma, in.limits)
		if err != nil {
			t.Fatal(err)
		}
		if in.comma == 0 && r.p.comma != in.sniffed {
			t.Fatalf("%q: sniffed %q, want %q", in.file, r.p.comma, in.sniffed)
		}
		var got [][]string
		for {
			cells, num, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%q: row %d: %v", in.file, num, err)
			}
			if num != len(got)+1 {
				t.Fatalf("%q: row %d numbered %d", in.file, len(got)+1, num)
			}
			got = append(got, cells)
			p, ok := r.RowProblem(num)
			if num > len(in.want) {
				continue
			}
			if bad := in.badAt[num-1]; ok != (bad >= 0) || (ok && !strings.Contains(p.EN, " byte offset "+strconv.Itoa(bad)+" ")) {
				t.Fatalf("%q: row %d: problem %v %q, want the first bad byte at %d", in.file, num, ok, p.EN, bad)
			}
		}
		if len(got) != len(in.want) {
			t.Fatalf("%q: %d rows, want %d:\n got %q\nwant %q", in.file, len(got), len(in.want), got, in.want)
		}
		for i := range got {
			if !reflect.DeepEqual(got[i], in.want[i]) {
				t.Fatalf("%q: row %d:\n got %q\nwant %q", in.file, i+1, got[i], in.want[i])
			}
		}
	})
}

// FuzzCSVBytes reads any bytes as a CSV file, the encoding decided from
// them: no panic, cells always UTF-8, no more output than the input can
// make, a row over the limits refused, and — for UTF-8 without CR —
// the same rows as encoding/csv with LazyQuotes.
func FuzzCSVBytes(f *testing.F) {
	for _, s := range []string{"a,b\r\nc,d", "\xEF\xBB\xBFx;y\rz", "\xFF\xFEa\x00,\x00b\x00\r\x00", "\xFE\xFF\x00a\x00\t",
		"\"a\"b\"\n\"", "\xd6\xd0\xce\xc4,\xff\n\x81\x30\x81\x30", strings.Repeat(",", 70), "x\n\"" + strings.Repeat("y", 300)} {
		f.Add([]byte(s))
	}
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var text textEvidence
		text.Write(data)
		text.close()
		lim := csvLimits{buffer: 16 + len(data)%50, row: 256, cells: 64}
		r, err := newCSVRows(bytes.NewReader(data), bytes.NewReader(data), text, 0, lim)
		if err != nil {
			t.Fatal(err)
		}
		var rows [][]string
		for {
			cells, num, err := r.Next()
			if err == io.EOF {
				break
			}
			var fe *FileError
			if errors.As(err, &fe) {
				if fe.Text.Missing() || !strings.Contains(fe.Text.EN, "most likely because a quote is never closed") {
					t.Fatalf("%q: %v", data, err)
				}
				return // refused: a row over the limits
			}
			if err != nil {
				t.Fatalf("%q: %v", data, err)
			}
			if num != len(rows)+1 || len(rows) > len(data) {
				t.Fatalf("%q: row %d numbered %d", data, len(rows)+1, num)
			}
			size := 0
			for _, c := range cells {
				if !utf8.ValidString(c) {
					t.Fatalf("%q: cell %q is not UTF-8", data, c)
				}
				size += len(c)
			}
			if len(cells) > lim.cells || size > 3*(lim.row+lim.buffer) {
				t.Fatalf("%q: a row of %d cells, %d bytes", data, len(cells), size)
			}
			r.RowProblem(num)
			rows = append(rows, cells)
		}
		// encoding/csv agrees where it reads the same way: UTF-8 without a
		// BOM, no CR (it takes a lone CR for a character), no blank lines
		// (it skips them).
		if r.Encoding() != encUTF8 || bytes.ContainsRune(data, '\r') || bytes.HasPrefix(data, []byte("\xEF\xBB\xBF")) {
			return
		}
		cr := csv.NewReader(bytes.NewReader(data))
		cr.Comma = rune(r.p.comma)
		cr.LazyQuotes = true
		cr.FieldsPerRecord = -1
		want, err := cr.ReadAll()
		if err != nil {
			return
		}
		var got [][]string
		for _, row := range rows {
			if len(row) > 0 {
				got = append(got, row)
			}
		}
		for _, row := range want {
			for i, c := range row {
				row[i] = strings.ToValidUTF8(c, "\uFFFD")
			}
		}
		if len(got) != len(want) {
			t.Fatalf("%q:\n got %q\nwant %q (encoding/csv)", data, got, want)
		}
		for i := range got {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Fatalf("%q:\n got %q\nwant %q (encoding/csv)", data, got, want)
			}
		}
	})
}
