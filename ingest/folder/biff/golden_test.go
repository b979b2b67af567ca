package biff_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/demandd/demandd/ingest/folder/biff"
)

// testdata is the folder package's, where the .xls exports and the golden
// file made with xlrd are (see its README.md).
const testdata = "../testdata"

// goldenLine is a line of xls-golden.jsonl (see testdata/golden.py).
type goldenLine struct {
	File     string              `json:"file"`
	Sheet    string              `json:"sheet"`
	Row      int                 `json:"row"`
	Cells    [][]json.RawMessage `json:"cells"`
	DateMode *int                `json:"datemode"`
	Sheets   []string            `json:"sheets"`
}

type goldenFile struct {
	datemode int
	sheets   []string
	rows     map[string][][][]json.RawMessage // sheet → row → cell → [type, value]
}

func readGolden(t testing.TB) map[string]*goldenFile {
	t.Helper()
	f, err := os.Open(filepath.Join(testdata, "xls-golden.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]*goldenFile{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var l goldenLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		if l.DateMode != nil {
			out[l.File] = &goldenFile{datemode: *l.DateMode, sheets: l.Sheets, rows: map[string][][][]json.RawMessage{}}
			continue
		}
		g := out[l.File]
		if l.Row != len(g.rows[l.Sheet]) {
			t.Fatalf("golden: %s %s row %d out of order", l.File, l.Sheet, l.Row)
		}
		g.rows[l.Sheet] = append(g.rows[l.Sheet], l.Cells)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func openFile(t testing.TB, path string) *biff.Workbook {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	wb, err := biff.Open(f, fi.Size(), biff.DefaultLimits())
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return wb
}

// TestGolden reads every cell of the real 问卷星 .xls exports and checks it
// against xlrd's reading of the same cell: its type and value.
func TestGolden(t *testing.T) {
	golden := readGolden(t)
	if len(golden) < 7 {
		t.Fatalf("golden file holds %d workbooks, want the six exports and xlwt-types.xls", len(golden))
	}
	total, matched, exports := 0, 0, 0
	for name, g := range golden {
		wb := openFile(t, filepath.Join(testdata, name))
		if wb.Date1904 != (g.datemode == 1) {
			t.Errorf("%s: Date1904 %v, xlrd's datemode %d", name, wb.Date1904, g.datemode)
		}
		var sheets []string
		for i, s := range wb.Sheets {
			if !s.Worksheet {
				continue
			}
			sheets = append(sheets, s.Name)
			want := g.rows[s.Name]
			got := readSheet(t, wb, i)
			for r, row := range want {
				for c, cell := range row {
					total++
					if name != "xlwt-types.xls" {
						exports++
					}
					var typ string
					if err := json.Unmarshal(cell[0], &typ); err != nil {
						t.Fatal(err)
					}
					var have biff.Cell
					if r < len(got) && c < len(got[r]) {
						have = got[r][c]
					}
					if msg := compare(typ, cell[1], have); msg != "" {
						if total-matched < 20 {
							t.Errorf("%s %s R%dC%d: %s", name, s.Name, r+1, c+1, msg)
						}
						continue
					}
					matched++
				}
			}
			// Nothing beyond xlrd's grid.
			for r, row := range got {
				for c, cell := range row {
					if cell.Kind != biff.Empty && (r >= len(want) || c >= len(want[r])) {
						t.Errorf("%s %s R%dC%d: %v %q %v outside xlrd's grid", name, s.Name, r+1, c+1, cell.Kind, cell.Text, cell.Num)
					}
				}
			}
		}
		if len(sheets) != len(g.sheets) {
			t.Errorf("%s: sheets %q, xlrd reads %q", name, sheets, g.sheets)
		}
	}
	t.Logf("%d of %d cells equal xlrd's", matched, total)
	if exports != 44275 {
		t.Errorf("the golden file holds %d cells of the exports, want the 44,275 xlrd reads from the six", exports)
	}
}

// readSheet reads sheet i whole, copying each row.
func readSheet(t testing.TB, wb *biff.Workbook, i int) [][]biff.Cell {
	t.Helper()
	rows, err := wb.Rows(i)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]biff.Cell
	for {
		n, cells, err := rows.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if n != len(out) {
			t.Fatalf("row %d after %d rows", n, len(out))
		}
		out = append(out, append([]biff.Cell(nil), cells...))
	}
}

// compare says how have differs from xlrd's cell of type typ and value v.
func compare(typ string, v json.RawMessage, have biff.Cell) string {
	if have.Kind.String() != typ {
		return "kind " + have.Kind.String() + ", xlrd " + typ + " " + string(v)
	}
	switch have.Kind {
	case biff.Empty:
		return ""
	case biff.Text:
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return err.Error()
		}
		if s != have.Text {
			b, _ := json.Marshal(have.Text)
			return "text " + string(b) + ", xlrd " + string(v)
		}
	default:
		var f float64
		if err := json.Unmarshal(v, &f); err != nil {
			return err.Error()
		}
		if f != have.Num {
			b, _ := json.Marshal(have.Num)
			return "value " + string(b) + ", xlrd " + string(v)
		}
	}
	return ""
}

// The active tab is the one the workbook opens on; xlwt-types.xls has two
// sheets and opens on the second.
func TestActiveSheet(t *testing.T) {
	wb := openFile(t, filepath.Join(testdata, "xlwt-types.xls"))
	if len(wb.Sheets) != 2 || wb.Active != 1 || wb.Sheets[1].Name != "答卷" {
		t.Fatalf("sheets %+v, active %d", wb.Sheets, wb.Active)
	}
	wb = openFile(t, filepath.Join(testdata, "wjx_800_800_0.xls"))
	if len(wb.Sheets) != 1 || wb.Active != 0 {
		t.Fatalf("sheets %+v, active %d", wb.Sheets, wb.Active)
	}
}
