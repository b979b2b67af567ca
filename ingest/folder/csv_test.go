package folder

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"

	"github.com/demandd/demandd/internal/i18n"
)

// csvRow is one row as the reader returns it.
type csvRow struct {
	num     int
	cells   []string
	problem string // the English reason, if the row is quarantined
}

// readCSV reads b as openCSV reads a file with these bytes.
func readCSV(t testing.TB, b []byte) ([]csvRow, *csvRows) {
	t.Helper()
	rows, r, err := readCSVWith(b, 0, csvLimits{})
	if err != nil {
		t.Fatalf("read %q: %v", b, err)
	}
	return rows, r
}

// readCSVWith reads b with comma (0: sniffed) and limits; it stops at the
// first error.
func readCSVWith(b []byte, comma byte, lim csvLimits) ([]csvRow, *csvRows, error) {
	var text textEvidence
	text.Write(b)
	text.close()
	r, err := newCSVRows(iotest.HalfReader(bytes.NewReader(b)), bytes.NewReader(b), text, comma, lim)
	if err != nil {
		return nil, nil, err
	}
	var rows []csvRow
	for {
		cells, num, err := r.Next()
		if err == io.EOF {
			return rows, r, nil
		}
		if err != nil {
			return rows, r, err
		}
		row := csvRow{num: num, cells: cells}
		if p, ok := r.RowProblem(num); ok {
			row.problem = p.EN
		}
		rows = append(rows, row)
	}
}

// readOnly reads every row of b without asking for their problems.
func readOnly(t *testing.T, b []byte) *csvRows {
	t.Helper()
	var text textEvidence
	text.Write(b)
	text.close()
	r, err := newCSVRows(bytes.NewReader(b), bytes.NewReader(b), text, 0, csvLimits{})
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, _, err := r.Next(); err == io.EOF {
			return r
		} else if err != nil {
			t.Fatal(err)
		}
	}
}

func cellsOf(rows []csvRow) [][]string {
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = r.cells
	}
	return out
}

func TestCSVRowEnds(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   string
		want [][]string
	}{
		{"LF", "a,b\nc,d\n", [][]string{{"a", "b"}, {"c", "d"}}},
		{"CRLF", "a,b\r\nc,d\r\n", [][]string{{"a", "b"}, {"c", "d"}}},
		{"CR only (classic Mac)", "a,b\rc,d\re,f\r", [][]string{{"a", "b"}, {"c", "d"}, {"e", "f"}}},
		{"no end on the last row", "a,b\rc,d", [][]string{{"a", "b"}, {"c", "d"}}},
		{"mixed", "a\r\nb\nc\rd\r\ne", [][]string{{"a"}, {"b"}, {"c"}, {"d"}, {"e"}}},
		{"bare CR at a row end before LF rows", "h1,h2\nx,y\rz,w\nv,u\n", [][]string{{"h1", "h2"}, {"x", "y"}, {"z", "w"}, {"v", "u"}}},
		{"bare CR after a quoted cell", "\"a\"\r\"b\"\r", [][]string{{"a"}, {"b"}}},
		{"blank lines are rows of no cells", "a\n\nb\r\r\nc\r\rd", [][]string{{"a"}, {}, {"b"}, {}, {"c"}, {}, {"d"}}},
		{"empty last cell", "a,\n,\n", [][]string{{"a", ""}, {"", ""}}},
		{"one quoted empty cell", "\"\"\n", [][]string{{""}}},
		{"LF in quotes", "\"a\nb\",c\n", [][]string{{"a\nb", "c"}}},
		{"CR in quotes stays", "\"a\rb\",c\r", [][]string{{"a\rb", "c"}}},
		{"CRLF in quotes becomes LF", "\"a\r\nb\",c\r\n", [][]string{{"a\nb", "c"}}},
		{"CR CR LF in quotes", "\"a\r\r\nb\"", [][]string{{"a\r\nb"}}},
		{"doubled quotes", "\"say \"\"hi\"\"\",x", [][]string{{"say \"hi\"", "x"}}},
		{"quote inside an unquoted cell", "ab\"c,d\n", [][]string{{"ab\"c", "d"}}},
		{"bare quote inside a quoted cell", "\"ab\"c,d\"\n", [][]string{{"ab\"c,d"}}},
		{"quoted cell open at the end", "a,\"bc\nd", [][]string{{"a", "bc\nd"}}},
		{"quote at the very end", "a,\"", [][]string{{"a", ""}}},
		{"NUL kept", "a\x00b,c", [][]string{{"a\x00b", "c"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rows, _ := readCSV(t, []byte(tt.in))
			if got := cellsOf(rows); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%q:\n got %q\nwant %q", tt.in, got, tt.want)
			}
			for i, r := range rows {
				if r.num != i+1 {
					t.Errorf("row %d numbered %d", i+1, r.num)
				}
			}
		})
	}
}

// The delimiter is the one found most often outside quotes in the first
// row, whatever ends that row.
func TestCSVDelimiterSniffed(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{"a\tb\tc\r1\t2\t3\r", []string{"1", "2", "3"}},
		{"a;b;c\r1;2;3", []string{"1", "2", "3"}},
		{"\"x,y,z\";b\n1;2", []string{"1", "2"}},
		{"a,b\tc\n1,2\t3", []string{"1", "2\t3"}},
		{"a\rb;c;d\n", []string{"b;c;d"}}, // the first row has none: comma
	} {
		rows, _ := readCSV(t, []byte(tt.in))
		if len(rows) != 2 || !reflect.DeepEqual(rows[1].cells, tt.want) {
			t.Errorf("%q: got %q, want the second row %q", tt.in, cellsOf(rows), tt.want)
		}
	}
}

// gbk encodes s as Excel does on Chinese Windows.
func gbk(t testing.TB, s string) []byte {
	t.Helper()
	b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCSVEncodings(t *testing.T) {
	const text = "姓名,需求描述\r张三,希望增加导出功能\r李四,\"多行\r\n说明\"\r"
	want := [][]string{{"姓名", "需求描述"}, {"张三", "希望增加导出功能"}, {"李四", "多行\n说明"}}
	utf16 := func(order unicode.Endianness) []byte {
		b, err := unicode.UTF16(order, unicode.ExpectBOM).NewEncoder().Bytes([]byte(text))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tt := range []struct {
		name string
		in   []byte
		enc  string
	}{
		{"UTF-8", []byte(text), encUTF8},
		{"UTF-8 with BOM", append([]byte("\xEF\xBB\xBF"), text...), encUTF8},
		{"UTF-16LE with BOM", utf16(unicode.LittleEndian), encUTF16LE},
		{"UTF-16BE with BOM", utf16(unicode.BigEndian), encUTF16BE},
		{"GBK", gbk(t, text), encGB18030},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rows, r := readCSV(t, tt.in)
			if got := cellsOf(rows); !reflect.DeepEqual(got, want) {
				t.Errorf("got %q, want %q", got, want)
			}
			if r.Encoding() != tt.enc {
				t.Errorf("encoding %s, want %s", r.Encoding(), tt.enc)
			}
			for _, row := range rows {
				if row.problem != "" {
					t.Errorf("row %d: %s", row.num, row.problem)
				}
			}
		})
	}
}

// utf8Export is a UTF-8 export of n rows in Chinese, with bad in place of
// the description of row bad (0: none), and the offset of that byte.
func utf8Export(n, badRow int, bad string) ([]byte, int) {
	var b bytes.Buffer
	b.WriteString("编号,姓名,需求描述\r\n")
	at := -1
	for i := 1; i <= n; i++ {
		b.WriteString(strconv.Itoa(i) + ",张三,希望报表可以按月导出")
		if i == badRow {
			at = b.Len()
			b.WriteString(bad)
		}
		b.WriteString("\r\n")
	}
	return b.Bytes(), at
}

// One invalid byte in a UTF-8 file: the file is still UTF-8, and that row
// is marked with the byte's offset instead of reading as U+FFFD silently.
func TestCSVOneInvalidByteInUTF8(t *testing.T) {
	for _, bad := range []string{"\xFF", "\xE5\xB8", "\x80", "\xC3("} {
		in, at := utf8Export(40, 17, bad)
		rows, r := readCSV(t, in)
		if r.Encoding() != encUTF8 {
			t.Fatalf("%q: read as %s", bad, r.Encoding())
		}
		if len(rows) != 41 || !reflect.DeepEqual(rows[0].cells, []string{"编号", "姓名", "需求描述"}) {
			t.Fatalf("%q: rows %q", bad, cellsOf(rows))
		}
		for _, row := range rows {
			switch {
			case row.num == 18:
				if want := "byte offset " + strconv.Itoa(at) + " "; !strings.Contains(row.problem, want) || !strings.Contains(row.problem, "row 18 ") {
					t.Errorf("%q: problem %q, want it to name row 18 and %q", bad, row.problem, want)
				}
				if !strings.Contains(row.cells[2], "\uFFFD") {
					t.Errorf("%q: cells %q", bad, row.cells)
				}
			case row.problem != "":
				t.Errorf("%q: row %d: %s", bad, row.num, row.problem)
			}
		}
	}
}

// The offset is found after a UTF-8 BOM, in a quoted multi-line cell, and
// across read buffers.
func TestCSVInvalidByteOffset(t *testing.T) {
	long := strings.Repeat("很长的回答", csvBuffer/10)
	in := []byte("\xEF\xBB\xBF编号,需求描述\n1,\"" + long + "\r\n第二行\"\"引号\"\"\xFF\"\r2,好\n")
	at := bytes.IndexByte(in, 0xFF)
	rows, _ := readCSV(t, in)
	if len(rows) != 3 || rows[1].num != 2 || !strings.Contains(rows[1].problem, "byte offset "+strconv.Itoa(at)+" ") {
		t.Fatalf("rows %d, row 2 problem %q, want byte offset %d", len(rows), rows[1].problem, at)
	}
	if rows[2].problem != "" || rows[2].cells[1] != "好" {
		t.Errorf("row 3 %+v", rows[2])
	}
}

// Problems are kept for the rows read ahead of the batches and asked for
// in order, some rows skipped.
func TestCSVRowProblemReadAhead(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("编号,需求描述\n")
	for i := 1; i <= 300; i++ {
		b.WriteString(strconv.Itoa(i) + ",希望报表可以按月导出")
		if i%50 == 0 {
			b.WriteString("\xFF")
		}
		b.WriteString("\n")
	}
	r := readOnly(t, b.Bytes())
	if len(r.problems) != 6 {
		t.Fatalf("%d problems recorded, want 6", len(r.problems))
	}
	for num := 3; num <= 301; num += 2 { // odd rows, 151 skipped: its problem is dropped
		if num == 151 {
			continue
		}
		_, ok := r.RowProblem(num)
		if want := (num-1)%50 == 0; ok != want {
			t.Errorf("row %d: problem %v, want %v", num, ok, want)
		}
	}
	if len(r.problems) != 0 {
		t.Errorf("%d problems left", len(r.problems))
	}
}

func TestCSVGBKStillGBK(t *testing.T) {
	in := gbk(t, "序号,1、手机部数,2、性别,需求描述\r\n1,2,男,希望增加导出功能\r\n2,1,女,没有\r\n")
	rows, r := readCSV(t, in)
	if r.Encoding() != encGB18030 || len(rows) != 3 || rows[0].cells[1] != "1、手机部数" || rows[1].cells[3] != "希望增加导出功能" {
		t.Fatalf("%s: %q", r.Encoding(), cellsOf(rows))
	}
	// A byte that GB18030 cannot read is found as in UTF-8.
	in = append(in, gbk(t, "3,1,男,报表")...)
	at := len(in)
	in = append(in, 0xFF, '\r', '\n')
	rows, r = readCSV(t, in)
	if r.Encoding() != encGB18030 || len(rows) != 4 || !strings.Contains(rows[3].problem, "byte offset "+strconv.Itoa(at)+" ") ||
		!strings.Contains(rows[3].problem, "not valid GB18030") {
		t.Errorf("%s: %+v", r.Encoding(), rows)
	}
}

func TestEvidenceDecides(t *testing.T) {
	utf8Text := strings.Repeat("希望报表可以按月导出，", 10) // 300 bytes of UTF-8 Chinese
	for _, tt := range []struct {
		name string
		in   []byte
		want string
	}{
		{"ASCII", []byte("a,b\n1,2\n"), encUTF8},
		{"UTF-8", []byte(utf8Text), encUTF8},
		{"UTF-8, one bad byte in 300", []byte(utf8Text + "\xFF"), encUTF8},
		{"UTF-8, one bad byte that GB18030 would read", []byte(utf8Text + "\xB8A"), encUTF8},
		{"GBK", gbk(t, utf8Text), encGB18030},
		{"GBK, one two-character word", gbk(t, "a,姓名\n"), encGB18030},
		{"mostly UTF-8, 10% bad", []byte(strings.Repeat("需求\xFF", 30)), encUTF8}, // 0xFF is no better as GB18030
		{"mostly GBK, a UTF-8 row", append(gbk(t, utf8Text+"\n"), "编号\n"...), encGB18030},
	} {
		var e textEvidence
		e.Write(tt.in)
		e.close()
		if got := e.encoding(); got != tt.want {
			t.Errorf("%s: %s, want %s (evidence %+v)", tt.name, got, tt.want, e)
		}
	}
}

// The counts do not depend on where the writes split the bytes.
func TestEvidenceAcrossWrites(t *testing.T) {
	gb, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte("姓名𠀀"))
	if err != nil {
		t.Fatal(err)
	}
	in := append([]byte("编号,"+strings.Repeat("需求\xFF\xE5", 3)), gb...)
	in = append(in, 0x81, 0x30, 0x81) // a GB18030 four-byte sequence cut short
	var whole textEvidence
	whole.Write(in)
	whole.close()
	for i := 0; i <= len(in); i++ {
		for j := i; j <= len(in); j++ {
			var e textEvidence
			e.Write(in[:i])
			e.Write(in[i:j])
			e.Write(in[j:])
			e.close()
			if e.utf8.good != whole.utf8.good || e.utf8.bad != whole.utf8.bad || e.gb.good != whole.gb.good || e.gb.bad != whole.gb.bad {
				t.Fatalf("split at %d, %d: %+v, want %+v", i, j, e, whole)
			}
		}
	}
	if whole.utf8.bad == 0 || whole.gb.bad == 0 || whole.utf8.good == 0 || whole.gb.good == 0 {
		t.Errorf("evidence %+v", whole)
	}
}

// The evidence agrees with golang.org/x/text's GB18030 decoder on which
// bytes it cannot read.
func TestGBSeqMatchesDecoder(t *testing.T) {
	dec := simplifiedchinese.GB18030.NewDecoder()
	decode := func(b []byte) string {
		out, err := dec.Bytes(b)
		if err != nil {
			t.Fatalf("% x: %v", b, err)
		}
		return string(out)
	}
	check := func(b []byte) {
		size, ok := gbSeq(b, true)
		first := decode(b[:size])
		if decode(b) != first+decode(b[size:]) {
			t.Errorf("% x: gbSeq says size %d; the decoder reads another", b, size)
		}
		// A two-byte code may be well formed and unmapped.
		if unread := first == "\uFFFD"; ok == unread && !(ok && size == 2) {
			t.Errorf("% x: gbSeq says size %d ok %v, the decoder %q", b, size, ok, first)
		}
	}
	for c0 := 0x80; c0 <= 0xFF; c0++ {
		for c1 := 0; c1 <= 0xFF; c1++ {
			if 0x3A <= c1 && c1 <= 0x3F {
				// The decoder reads these as the second byte of a
				// four-byte sequence; GB18030 has only 0x30–0x39 there,
				// and ';' (0x3B) is a delimiter.
				continue
			}
			check([]byte{byte(c0), byte(c1), 0x81, 0x30})
			check([]byte{byte(c0), byte(c1), 0xFE, 0x39})
		}
	}
}

// A row over the limits — a quote never closed — refuses the file with
// where the row began, instead of holding the rest of the file.
func TestCSVRowLimits(t *testing.T) {
	small := csvLimits{buffer: 64, row: 1000, cells: 50}
	for _, tt := range []struct {
		name string
		in   string
	}{
		{"unclosed quote", "a,b\n1,\"" + strings.Repeat("x\n", 2000)},
		{"long unquoted", "a,b\n" + strings.Repeat("y", 5000)},
		{"many cells", "a,b\n" + strings.Repeat(",", 60)},
	} {
		rows, _, err := readCSVWith([]byte(tt.in), 0, small)
		var fe *FileError
		if !errors.As(err, &fe) || len(rows) != 1 || !strings.Contains(fe.Text.EN, "row 2 ") ||
			!strings.Contains(fe.Text.EN, "byte offset 4)") || fe.Text.Missing() {
			t.Errorf("%s: rows %d, err %v", tt.name, len(rows), err)
		}
	}
}

// Reading errors are not the file's fault: they are returned as they are,
// for the file to be tried again.
func TestCSVReadErrorIsTransient(t *testing.T) {
	in := []byte("a,b\n1,2\n")
	gone := errors.New("disk gone")
	var text textEvidence
	r, err := newCSVRows(io.MultiReader(bytes.NewReader(in), iotest.ErrReader(gone)), bytes.NewReader(in), text, 0, csvLimits{})
	if err != nil {
		t.Fatal(err)
	}
	var fe *FileError
	for {
		_, _, err := r.Next()
		if err == nil {
			continue
		}
		if !errors.Is(err, gone) || errors.As(err, &fe) {
			t.Errorf("got %v, want the read error", err)
		}
		break
	}
}

func TestRowProblemInLocale(t *testing.T) {
	in, _ := utf8Export(3, 2, "\xFF")
	r := readOnly(t, in)
	// The rows were read; the batcher asks for the problem of row 3.
	rb := &rowBatcher{rows: r, locale: i18n.EN}
	if got := rb.problem(2); got != "" {
		t.Errorf("row 2: %q", got)
	}
	if got := rb.problem(3); !strings.HasPrefix(got, "row 3 holds bytes that are not valid UTF-8 at byte offset") {
		t.Errorf("row 3: %q", got)
	}
	if got := rb.problem(3); got != "" {
		t.Errorf("asked twice: %q", got)
	}
}

var benchCSV = []byte(strings.Repeat("123,张三,\"希望报表可以按月导出，并且支持\r\n多行的说明, 带逗号\",ok\r\n", 20000))

func BenchmarkEvidence(b *testing.B) {
	b.SetBytes(int64(len(benchCSV)))
	for b.Loop() {
		var e textEvidence
		e.Write(benchCSV)
		e.close()
	}
}

func BenchmarkCSVRows(b *testing.B) {
	b.SetBytes(int64(len(benchCSV)))
	for b.Loop() {
		r, err := newCSVRows(bytes.NewReader(benchCSV), bytes.NewReader(benchCSV), textEvidence{}, 0, csvLimits{})
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, _, err := r.Next(); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
	}
}
