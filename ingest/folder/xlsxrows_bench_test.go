package folder

import (
	"io"
	"path/filepath"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/demandd/demandd/internal/fixture"
)

// The reading of a 100,000-row 问卷星 workbook: the folder's reader
// (openXLSX, with its checks) against a bare excelize streaming read.
// go test -run '^$' -bench XLSXRead -benchtime 3x ./ingest/folder/

const benchRows = 100_000

func benchWorkbook(b *testing.B) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "问卷星_100000.xlsx")
	if err := fixture.WriteWJX(path, benchRows); err != nil {
		b.Fatal(err)
	}
	return path
}

func BenchmarkXLSXReadFolder(b *testing.B) {
	path := benchWorkbook(b)
	lim := limits{fileSize: 1 << 30, rows: 1 << 20, cell: 1 << 20}
	b.ResetTimer()
	for b.Loop() {
		rr, err := openXLSX(path, lim)
		if err != nil {
			b.Fatal(err)
		}
		if _, ok := rr.(*xlsxRows); !ok || rr.(*xlsxRows).fast == nil {
			b.Fatal("not read by sheetRows")
		}
		n := 0
		for {
			_, _, err := rr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		rr.Close()
		if n != benchRows+1 {
			b.Fatalf("%d rows", n)
		}
	}
	b.ReportMetric(float64(benchRows+1)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkXLSXReadExcelize(b *testing.B) {
	path := benchWorkbook(b)
	b.ResetTimer()
	for b.Loop() {
		f, err := excelize.OpenFile(path)
		if err != nil {
			b.Fatal(err)
		}
		rows, err := f.Rows(f.GetSheetName(f.GetActiveSheetIndex()))
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for rows.Next() {
			if _, err := rows.Columns(); err != nil {
				b.Fatal(err)
			}
			n++
		}
		rows.Close()
		f.Close()
		if n != benchRows+1 {
			b.Fatalf("%d rows", n)
		}
	}
	b.ReportMetric(float64(benchRows+1)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkXLSXReadSheetRows is the reader alone: the zip directory and
// shared strings checked, the sheet not scanned first.
func BenchmarkXLSXReadSheetRows(b *testing.B) {
	path := benchWorkbook(b)
	lim := limits{fileSize: 1 << 30, rows: 1 << 20, cell: 1 << 20}
	b.ResetTimer()
	for b.Loop() {
		check, err := checkXLSX(path, lim)
		if err != nil {
			b.Fatal(err)
		}
		name, part := check.activeSheet()
		xr, err := openFastXLSX(check, name, part, excelize.Options{UnzipSizeLimit: 1 << 34, UnzipXMLSizeLimit: unzipXMLLimit})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			_, _, err := xr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		xr.Close()
		if n != benchRows+1 {
			b.Fatalf("%d rows", n)
		}
	}
	b.ReportMetric(float64(benchRows+1)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
