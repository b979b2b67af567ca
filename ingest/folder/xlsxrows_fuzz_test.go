package folder

import (
	"path/filepath"
	"testing"
)

// FuzzSheetRows mutates the sheet and the shared strings of a small
// workbook: wherever excelize reads the result, sheetRows reads the same
// rows or fails with a *FileError, and it never panics. Its memory is
// bounded by construction (one token of at most maxXMLItem at a time).
//
//	go test -run '^$' -fuzz FuzzSheetRows -fuzztime 2m -fuzzminimizetime 20x ./ingest/folder/
//
// (An exec takes milliseconds: minimizing a new input at the default
// minimize time stalls the fuzzer for minutes.)
func FuzzSheetRows(f *testing.F) {
	for _, rows := range structureSheets {
		f.Add(rawSheet(rows), rawSST)
	}
	f.Add(rawSheet(`<row r="1"><c r="A1" s="2"><v>45000.5</v></c><c r="B1" s="13" t="s"><v>3</v></c><c r="C1" s="7" t="inlineStr"><is><t>x</t></is></c></row>`), rawSST)
	f.Fuzz(func(t *testing.T, sheet, sst string) {
		path := filepath.Join(t.TempDir(), "fuzz.xlsx")
		rawWorkbook(t, path, map[string]string{"xl/worksheets/sheet1.xml": sheet, "xl/sharedStrings.xml": sst})
		var st parityStats
		compareWorkbook(t, path, false, &st)
	})
}
