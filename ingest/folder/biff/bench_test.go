package biff_test

import (
	"bytes"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/demandd/demandd/ingest/folder/biff"
)

// The two 800-row 问卷星 exports: by option text (14 columns, shared
// strings) and by option number (36 columns of RK/MULRK numbers).
var benchFiles = []string{"wjx_800_800_0.xls", "wjx_800_800_2.xls"}

// BenchmarkXLS reads each 800-row export whole (open, globals, every
// row), from memory: rows/s of this reader, and beside it xlrd's on the
// same files in the same run when /usr/bin/python3 has xlrd. `make
// bench-xls`.
func BenchmarkXLS(b *testing.B) {
	for _, name := range benchFiles {
		data := readFile(b, name)
		b.Run("biff/"+name, func(b *testing.B) {
			rows := 0
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				n, err := countRows(data)
				if err != nil {
					b.Fatal(err)
				}
				rows += n
			}
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
		})
	}
	b.Run("xlrd", func(b *testing.B) {
		python := "/usr/bin/python3"
		if exec.Command(python, "-c", "import xlrd").Run() != nil {
			b.Skip("no xlrd for /usr/bin/python3 (Debian: apt-get install python3-xlrd)")
		}
		var paths []string
		for _, name := range benchFiles {
			paths = append(paths, filepath.Join(testdata, name))
		}
		// xlrd times itself, from memory as above, so that starting Python
		// and reading the file are not counted.
		out, err := exec.Command(python, "-c", xlrdTimer, strconv.Itoa(max(b.N, 20)), paths[0], paths[1]).Output()
		if err != nil {
			b.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			f := strings.Fields(line)
			rows, _ := strconv.Atoi(f[1])
			secs, _ := strconv.ParseFloat(f[2], 64)
			name := strings.TrimSuffix(filepath.Base(f[0]), ".xls")
			b.ReportMetric(float64(rows)/secs, "rows/s-"+name)
			b.Logf("xlrd %s: %d rows in %.2f ms a file, %.0f rows/s", filepath.Base(f[0]), rows, secs*1000, float64(rows)/secs)
		}
		b.ReportMetric(0, "ns/op")
	})
}

// xlrdTimer reads each file whole with xlrd N times (argv[1]) and prints
// its path, its rows and the seconds one reading took.
const xlrdTimer = `
import sys, time, xlrd
n = int(sys.argv[1])
for path in sys.argv[2:]:
    with open(path, "rb") as f:
        data = f.read()
    start = time.perf_counter()
    for _ in range(n):
        book = xlrd.open_workbook(file_contents=data)
        sheet = book.sheet_by_index(0)
        rows = 0
        for r in range(sheet.nrows):
            sheet.row_values(r)
            rows += 1
    print(path, rows, (time.perf_counter() - start) / n)
`

func countRows(data []byte) (int, error) {
	wb, err := biff.Open(bytes.NewReader(data), int64(len(data)), biff.DefaultLimits())
	if err != nil {
		return 0, err
	}
	rows, err := wb.Rows(wb.Active)
	if err != nil {
		return 0, err
	}
	n := 0
	for {
		_, _, err := rows.Next()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
	}
}
