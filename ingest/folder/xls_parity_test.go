package folder

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/demandd/demandd/ingest/folder/biff"
)

// An .xls reads as the same workbook saved as .xlsx reads: each cell of the
// exports and of xlwt-types.xls (dates and times under several formats,
// amounts, percentages, booleans) is written into an .xlsx with the same
// value and number format, and both files are read through openRows.
func TestXLSReadsAsXLSX(t *testing.T) {
	names, err := filepath.Glob(filepath.Join("testdata", "*.xls"))
	if err != nil || len(names) < 7 {
		t.Fatalf("%v %v", names, err)
	}
	lim := defaultReadOptions().limits
	for _, name := range names {
		t.Run(filepath.Base(name), func(t *testing.T) {
			xlsx := filepath.Join(t.TempDir(), "same.xlsx")
			sheet := writeAsXLSX(t, name, xlsx)
			a, err := openRows(name, textEvidence{}, lim)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			b, err := openRows(xlsx, textEvidence{}, lim)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if a.Sheet() != sheet {
				t.Errorf("sheet %q, want the active one %q", a.Sheet(), sheet)
			}
			var seen [][]string
			for {
				ra, na, errA := a.Next()
				rb, nb, errB := b.Next()
				if errors.Is(errA, io.EOF) && errors.Is(errB, io.EOF) {
					break
				}
				if errA != nil || errB != nil {
					t.Fatalf(".xls: row %d %v; .xlsx: row %d %v", na, errA, nb, errB)
				}
				ra, rb = trimRow(ra), trimRow(rb)
				if na != nb || !slices.Equal(ra, rb) {
					t.Errorf("row %d of the .xls %q\nrow %d of the .xlsx %q", na, ra, nb, rb)
				}
				seen = append(seen, ra)
			}
			if filepath.Base(name) != "xlwt-types.xls" {
				return
			}
			// What the cells read as, whatever excelize makes of them.
			for _, c := range []struct {
				row, col int
				want     string
			}{
				{2, 1, "2016/12/20 14:23:32"}, {2, 2, "2016-12-20"}, {2, 3, "01:07:13"}, {2, 4, "1,234.49"}, {2, 5, "3%"},
				{2, 6, "FALSE"}, {2, 7, "-1.5"}, {3, 2, "12/23/16"}, {3, 6, "TRUE"}, {4, 1, "2016年12月26日"}, {5, 7, "#NAME?"},
			} {
				if got := seen[c.row-1][c.col]; got != c.want {
					t.Errorf("row %d column %d: %q, want %q", c.row, c.col+1, got, c.want)
				}
			}
		})
	}
}

// writeAsXLSX writes the sheet the folder reads of the .xls at path into an
// .xlsx at out, as Excel saves it: text as text, numbers and dates as
// numbers under their number format, booleans as booleans, an error as its
// text. It returns the sheet's name.
func writeAsXLSX(t *testing.T, path, out string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	wb, err := biff.Open(f, fi.Size(), biff.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	x := excelize.NewFile()
	defer x.Close()
	name := wb.Sheets[wb.Active].Name
	if err := x.SetSheetName("Sheet1", name); err != nil {
		t.Fatal(err)
	}
	rows, err := wb.Rows(wb.Active)
	if err != nil {
		t.Fatal(err)
	}
	styles := map[[2]any]int{}
	for {
		r, cells, err := rows.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for c, cell := range cells {
			ref, _ := excelize.CoordinatesToCellName(c+1, r+1)
			switch cell.Kind {
			case biff.Text:
				err = x.SetCellStr(name, ref, cell.Text)
			case biff.Bool:
				err = x.SetCellBool(name, ref, cell.Num != 0)
			case biff.Error:
				err = x.SetCellStr(name, ref, errorText(byte(cell.Num)))
			case biff.Number, biff.Date:
				if err = x.SetCellFloat(name, ref, cell.Num, -1, 64); err != nil || (cell.Format == "" && cell.FormatID == 0) {
					break
				}
				key := [2]any{cell.Format, cell.FormatID}
				id, ok := styles[key]
				if !ok {
					s := &excelize.Style{NumFmt: int(cell.FormatID)}
					if cell.Format != "" {
						code := cell.Format
						s.CustomNumFmt = &code
					}
					if id, err = x.NewStyle(s); err != nil {
						t.Fatal(err)
					}
					styles[key] = id
				}
				err = x.SetCellStyle(name, ref, ref, id)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := x.SaveAs(out); err != nil {
		t.Fatal(err)
	}
	return name
}
