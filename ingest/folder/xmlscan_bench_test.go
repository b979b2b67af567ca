package folder

import (
	"archive/zip"
	"bufio"
	"bytes"
	"io"
	"path/filepath"
	"testing"

	"github.com/demandd/demandd/internal/fixture"
)

// BenchmarkScanSheet scans a 10,000-row 问卷星 sheet's XML (unpacked) as
// the check does: tags and their attributes.
func BenchmarkScanSheet(b *testing.B) {
	path := filepath.Join(b.TempDir(), "wjx.xlsx")
	if err := fixture.WriteWJX(path, 10000); err != nil {
		b.Fatal(err)
	}
	zr, err := zip.OpenReader(path)
	if err != nil {
		b.Fatal(err)
	}
	defer zr.Close()
	var sheet []byte
	for _, zf := range zr.File {
		if zf.Name == "xl/worksheets/sheet1.xml" {
			rc, _ := zf.Open()
			sheet, _ = io.ReadAll(rc)
			rc.Close()
		}
	}
	b.SetBytes(int64(len(sheet)))
	for i := 0; i < b.N; i++ {
		s := &xmlScanner{r: bufio.NewReaderSize(bytes.NewReader(sheet), 64<<10), max: maxXMLItem, keep: 64}
		attrs := 0
		for {
			if _, err := s.next(func(tag, name, value []byte, long bool) { attrs++ }); err != nil {
				break
			}
		}
	}
}
