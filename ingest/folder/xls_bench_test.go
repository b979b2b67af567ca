package folder

import (
	"errors"
	"io"
	"path/filepath"
	"testing"
)

// BenchmarkXLSRows reads the two 800-row 问卷星 .xls exports as the folder
// channel does (openRows: the check pass, then every row as text): rows/s.
// `make bench-xls` prints it beside the reader's own figure and xlrd's.
func BenchmarkXLSRows(b *testing.B) {
	lim := defaultReadOptions().limits
	for _, name := range []string{"wjx_800_800_0.xls", "wjx_800_800_2.xls"} {
		path := filepath.Join("testdata", name)
		b.Run(name, func(b *testing.B) {
			rows := 0
			for b.Loop() {
				rr, err := openRows(path, textEvidence{}, lim)
				if err != nil {
					b.Fatal(err)
				}
				for {
					_, _, err := rr.Next()
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					rows++
				}
				rr.Close()
			}
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
