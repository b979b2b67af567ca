package biff_test

import (
	"bytes"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/demandd/demandd/ingest/folder/biff"
	"github.com/demandd/demandd/ingest/folder/biff/bifftest"
	"github.com/demandd/demandd/internal/i18n"
)

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdata, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readAll opens b and reads every worksheet to its end: the first error,
// or nil.
func readAll(b []byte, lim biff.Limits) ([][][]biff.Cell, error) {
	wb, err := biff.Open(bytes.NewReader(b), int64(len(b)), lim)
	if err != nil {
		return nil, err
	}
	var sheets [][][]biff.Cell
	for i, s := range wb.Sheets {
		if !s.Worksheet {
			continue
		}
		rows, err := wb.Rows(i)
		if err != nil {
			return sheets, err
		}
		var out [][]biff.Cell
		for {
			_, cells, err := rows.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return sheets, err
			}
			out = append(out, append([]biff.Cell(nil), cells...))
		}
		sheets = append(sheets, out)
	}
	return sheets, nil
}

// fileFault reports an error that says what is wrong with the file in both
// languages, in one line.
func fileFault(t *testing.T, err error, want string) {
	t.Helper()
	var e *i18n.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want the file's fault", err, err)
	}
	if e.Text.Missing() || strings.Contains(e.Text.EN, "\n") || strings.Contains(e.Text.ZH, "\n") {
		t.Errorf("not one line in both languages: %q / %q", e.Text.ZH, e.Text.EN)
	}
	if !strings.Contains(e.Text.EN, want) {
		t.Errorf("error %q, want it to say %q", e.Text.EN, want)
	}
}

// Hostile and damaged workbooks, made from a real export, each fail with
// a reason that names what is wrong.
func TestHostile(t *testing.T) {
	good := readFile(t, "wjx_800_800_0.xls")
	small := readFile(t, "All_Data_Readable.xls")
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"truncated", bifftest.Truncate(good, len(good)*6/10), "incomplete"},
		{"truncated in the header", bifftest.Truncate(good, 300), "incomplete"},
		{"cyclic FAT", bifftest.LoopFAT(good), "loops back"},
		{"huge SST count", bifftest.SSTCount(good, math.MaxUint32), "more than the limit"},
		{"SST count past its strings", bifftest.SSTCount(small, 1000), "declares 1000 texts but holds only"},
		{"huge string length", bifftest.LongString(good), "but holds only"},
		{"stream bigger than the file", bifftest.StreamSize(good, 1<<31), "more than the whole file"},
		{"empty stream", bifftest.StreamSize(good, 0), "stream is empty"},
		{"junk", bytes.Repeat([]byte("not a workbook "), 100), "damaged"},
		{"compound file of junk", append(append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, make([]byte, 504)...), bytes.Repeat([]byte{0xFF}, 4096)...), "damaged"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := readAll(c.b, biff.DefaultLimits())
			fileFault(t, err, c.want)
		})
	}
}

// A workbook cut at any point fails with a reason or reads whole; it never
// panics or hangs.
func TestTruncatedAnywhere(t *testing.T) {
	b := readFile(t, "All_Data_Original.xls")
	full, err := readAll(b, biff.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(b); n += 97 {
		got, err := readAll(b[:n], biff.DefaultLimits())
		if err == nil {
			if len(got) != len(full) || len(got[0]) != len(full[0]) {
				t.Fatalf("cut at %d: read %d sheets without an error", n, len(got))
			}
			continue
		}
		var e *i18n.Error
		if !errors.As(err, &e) {
			t.Fatalf("cut at %d: %v (%T)", n, err, err)
		}
	}
}

func TestLimits(t *testing.T) {
	good := readFile(t, "wjx_800_800_0.xls")
	_, err := readAll(good, biff.Limits{MaxStrings: 100})
	fileFault(t, err, "more than the limit of 100")
	_, err = readAll(good, biff.Limits{MaxMemory: 4 << 10})
	fileFault(t, err, "more than 4 KB of text")
	_, err = readAll(good, biff.Limits{MaxStream: 64 << 10})
	fileFault(t, err, "more than the 64 KB limit")
}

// stream builds a Workbook stream: the globals (after BOF, before the
// BOUNDSHEET records), then each sheet's records between its BOF and EOF.
func stream(biff8 bool, globals [][]byte, names []string, sheets ...[][]byte) []byte {
	vers := uint16(0x0500)
	if biff8 {
		vers = 0x0600
	}
	bof := func(dt uint16) []byte { return bifftest.Record(0x0809, vers, dt, uint32(0), uint32(0), uint32(0)) }
	eof := bifftest.Record(0x000A)
	boundsheet := func(off uint32, name string) []byte {
		if biff8 {
			return bifftest.Record(0x0085, off, uint16(0), uint8(len([]rune(name))), uint8(1), bifftest.UTF16(name))
		}
		return bifftest.Record(0x0085, off, uint16(0), uint8(len(name)), name)
	}
	head := append([]byte(nil), bof(5)...)
	for _, g := range globals {
		head = append(head, g...)
	}
	size := len(head) + len(eof)
	for _, n := range names {
		size += len(boundsheet(0, n))
	}
	var body []byte
	for i, s := range sheets {
		head = append(head, boundsheet(uint32(size+len(body)), names[i])...)
		body = append(body, bof(0x10)...)
		for _, r := range s {
			body = append(body, r...)
		}
		body = append(body, eof...)
	}
	return append(append(head, eof...), body...)
}

func xls(t *testing.T, s []byte) []byte {
	t.Helper()
	return bifftest.WithStream(readFile(t, "wjx_800_800_0.xls"), s)
}

// Records the exports lack: LABEL, a formula's text result in STRING, a
// number formula under a date format, a chart inside the sheet, rows
// without cells.
func TestRecords(t *testing.T) {
	R := bifftest.Record
	label := func(row, col uint16, s string) []byte {
		return R(0x0204, row, col, uint16(0), uint16(len([]rune(s))), uint8(1), bifftest.UTF16(s))
	}
	formula := func(row, col, xf uint16, result []byte) []byte {
		return R(0x0006, row, col, xf, result, uint16(0), uint32(0), uint16(0))
	}
	textResult := []byte{0, 0, 0, 0, 0, 0, 0xFF, 0xFF}
	number := func(v float64) []byte {
		var b [8]byte
		copy(b[:], R(0, math.Float64bits(v))[4:])
		return b[:]
	}
	globals := [][]byte{
		R(0x0042, uint16(1200)),
		R(0x041E, uint16(164), uint16(len("yyyy/m/d h:mm:ss")), uint8(0), "yyyy/m/d h:mm:ss"),
		R(0x00E0, uint16(0), uint16(0), make([]byte, 16)),   // XF 0: General
		R(0x00E0, uint16(0), uint16(164), make([]byte, 16)), // XF 1: the custom date format
		R(0x00E0, uint16(0), uint16(14), make([]byte, 16)),  // XF 2: built-in date 14
	}
	sheet := [][]byte{
		label(0, 0, "需求描述"),
		R(0x0204, uint16(0), uint16(1), uint16(0), uint16(5), uint8(0), "Latin"), // 8-bit characters
		formula(2, 0, 0, textResult),
		R(0x0207, uint16(len([]rune("公式结果"))), uint8(1), bifftest.UTF16("公式结果")),
		formula(2, 1, 1, number(42724.59967592593)),
		R(0x0203, uint16(2), uint16(2), uint16(2), number(42724)),
		R(0x0809, uint16(0x0600), uint16(0x0020), make([]byte, 12)), // a chart: skipped to its EOF
		label(9, 9, "not a cell of the sheet"),
		R(0x000A),
		R(0x027E, uint16(3), uint16(0), uint16(0), uint32(100<<2|0x02|0x01)), // RK 1.00
	}
	got, err := readAll(xls(t, stream(true, globals, []string{"答卷"}, sheet)), biff.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	rows := got[0]
	if len(rows) != 4 {
		t.Fatalf("%d rows, want 4 (row 2 without cells)", len(rows))
	}
	check := func(r, c int, kind biff.Kind, text string, num float64) {
		t.Helper()
		if c >= len(rows[r]) {
			t.Errorf("R%dC%d missing", r+1, c+1)
			return
		}
		if cell := rows[r][c]; cell.Kind != kind || cell.Text != text || cell.Num != num {
			t.Errorf("R%dC%d %+v, want %v %q %v", r+1, c+1, cell, kind, text, num)
		}
	}
	check(0, 0, biff.Text, "需求描述", 0)
	check(0, 1, biff.Text, "Latin", 0)
	if len(rows[1]) != 0 {
		t.Errorf("row 2: %+v, want no cells", rows[1])
	}
	check(2, 0, biff.Text, "公式结果", 0)
	check(2, 1, biff.Date, "", 42724.59967592593)
	check(2, 2, biff.Date, "", 42724)
	check(3, 0, biff.Number, "", 1)
	if f := rows[2][1]; f.Format != "yyyy/m/d h:mm:ss" || f.FormatID != 164 {
		t.Errorf("format %q %d", f.Format, f.FormatID)
	}
	if f := rows[2][2]; f.Format != "" || f.FormatID != 14 {
		t.Errorf("format %q %d", f.Format, f.FormatID)
	}
}

// A BIFF5 workbook (Excel 5.0/95) stores 8-bit strings in its code page.
func TestBIFF5Codepage(t *testing.T) {
	R := bifftest.Record
	gbk := func(s string) string { // GBK bytes of a few characters
		m := map[string]string{"答卷": "\xb4\xf0\xbe\xed", "需求": "\xd0\xe8\xc7\xf3"}
		return m[s]
	}
	globals := [][]byte{R(0x0042, uint16(936))}
	sheet := [][]byte{R(0x0204, uint16(0), uint16(0), uint16(0), uint16(4), gbk("需求"))}
	b := stream(false, globals, []string{gbk("答卷")}, sheet)
	// BIFF5 keeps its workbook in a stream named Book; the reader takes
	// either name, so the Workbook stream of the base file serves.
	wb, err := biff.Open(bytes.NewReader(xls(t, b)), int64(len(xls(t, b))), biff.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if wb.Sheets[0].Name != "答卷" || wb.Codepage != 936 {
		t.Errorf("sheet %q, code page %d", wb.Sheets[0].Name, wb.Codepage)
	}
	got, err := readAll(xls(t, b), biff.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if c := got[0][0][0]; c.Text != "需求" {
		t.Errorf("cell %+v", c)
	}
}

// What a writer other than Excel might do wrong fails with the reason.
func TestBadSheets(t *testing.T) {
	R := bifftest.Record
	number := func(row, col uint16) []byte { return R(0x0203, row, col, uint16(0), uint64(0)) }
	cases := []struct {
		name    string
		globals [][]byte
		sheet   [][]byte
		want    string
	}{
		{"rows out of order", nil, [][]byte{number(5, 0), number(2, 0)}, "out of order (row 3 comes after row 6)"},
		{"column beyond IV", nil, [][]byte{number(0, 300)}, "beyond the 256 columns"},
		{"MULRK beyond IV", nil, [][]byte{R(0x00BD, uint16(0), uint16(250), bytes.Repeat([]byte{0, 0, 2, 0, 0, 0}, 10), uint16(259))}, "beyond the 256 columns"},
		{"shared string that is not there", nil, [][]byte{R(0x00FD, uint16(0), uint16(0), uint16(0), uint32(7))}, "refers to shared string 7 of 0"},
		{"password", [][]byte{R(0x002F, uint16(1))}, nil, "password-protected"},
		{"record cut short", nil, [][]byte{R(0x0203, uint16(0), uint16(0))}, "incomplete"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := readAll(xls(t, stream(true, c.globals, []string{"Sheet1"}, c.sheet)), biff.DefaultLimits())
			fileFault(t, err, c.want)
		})
	}
}
