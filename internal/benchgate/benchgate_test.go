package benchgate

import (
	"strings"
	"testing"
)

const sample = `goos: linux
BenchmarkImport/rows=10000-2         	       1	         0 ns/op	     30000 rows/s	        80.0 peak-RSS-MB	 0.7 x-bare-read
BenchmarkImport/rows=100000-2        	       1	         0 ns/op	     26000 rows/s	       120.0 peak-RSS-MB	 0.65 x-bare-read
BenchmarkImport/rows=100000-2        	       1	         0 ns/op	     24000 rows/s	       121.0 peak-RSS-MB	 0.60 x-bare-read
BenchmarkImport/rows=100000-2        	       1	         0 ns/op	     10000 rows/s	       160.0 peak-RSS-MB	 0.25 x-bare-read
BenchmarkExport/rows=100000-2        	       1	         0 ns/op	     10000 rows/s	       160.0 peak-RSS-MB
BenchmarkBare/read/rows=100000-2     	       1	         0 ns/op	     40000 rows/s	        30.0 peak-RSS-MB
PASS
`

func TestEvaluate(t *testing.T) {
	res, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(res["BenchmarkImport/rows=100000"]); got != 3 {
		t.Fatalf("100k runs: %d", got)
	}
	byLabel := map[string]Outcome{}
	for _, o := range Evaluate(res, Targets) {
		byLabel[o.Label] = o
	}
	// Ratios 0.65, 0.60, 0.25: the median 0.60 meets 0.55.
	if o := byLabel["import/bare-read"]; o.Runs != 3 || o.Value != 0.6 || !o.Met() {
		t.Errorf("import ratio: %+v", o)
	}
	if o := byLabel["export/bare-write"]; !o.Missing || o.Met() || !strings.Contains(o.String(), "MISSING") {
		t.Errorf("export without its figures: %v", o)
	}
	if o := byLabel["import-100k peak-RSS-MB"]; o.Value != 121 || !o.Met() {
		t.Errorf("RSS: %+v", o)
	}
	if _, ok := byLabel["imap/mbsync"]; ok {
		t.Error("IMAP gates reported for output without IMAP benchmarks")
	}
	if s := byLabel["import/bare-read"].String(); s != "ratio import/bare-read 0.60 (target ≥ 0.55) met, median of 3" {
		t.Errorf("line: %q", s)
	}
}

func TestMissedRatio(t *testing.T) {
	res, _ := Parse(strings.NewReader("BenchmarkIMAP/demandd-2 1 0 ns/op 300 msgs/s 150 peak-RSS-MB 900 idle-p99-ms\nBenchmarkIMAP/mbsync-2 1 0 ns/op 400 msgs/s\nBenchmarkIMAP/bare-fetch-parse-2 1 0 ns/op 600 msgs/s\n"))
	for _, o := range Evaluate(res, Targets) {
		want := o.Label != "imap/mbsync" // 0.75 < 1.5; the rest pass
		if o.Met() != want {
			t.Errorf("%v: met %v", o, o.Met())
		}
	}
}
