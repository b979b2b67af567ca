package main

import (
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/demandd/demandd/internal/fixture"
	"github.com/demandd/demandd/internal/testdb"
)

// The benchmarks run demandd as a process so that its peak RSS is its own,
// and compare it with bare excelize doing the same read or write in a
// process of its own (this test binary, re-run with DEMANDD_BARE set).
//
//	make bench   (go test -run '^$' -bench '^Benchmark(Import|Export|Bare)$' -benchtime 1x -count 3 ./cmd/demandd/)
//
// followed by the ratios of internal/benchgate (import/bare-read,
// export/bare-write), medians of the runs.

var benchSizes = []int{10000, 100000}

// benchWorkbook returns a cached n-row 问卷星 workbook.
func benchWorkbook(b *testing.B, n int) string {
	b.Helper()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("demandd-bench-wjx-%d.xlsx", n))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	if err := fixture.WriteWJX(path+".part.xlsx", n); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(path+".part.xlsx", path); err != nil {
		b.Fatal(err)
	}
	return path
}

// measure runs cmd and returns its wall time and peak RSS in MB. The RSS
// comes from GNU time: Go starts children with vfork, so the rusage Go
// sees for a child carries this test process's own peak over exec.
func measure(b *testing.B, cmd *exec.Cmd) (time.Duration, float64) {
	b.Helper()
	timeBin, err := exec.LookPath("/usr/bin/time")
	rssFile := filepath.Join(b.TempDir(), "rss")
	if err == nil {
		cmd.Args = append([]string{timeBin, "-f", "%M", "-o", rssFile}, cmd.Args...)
		cmd.Path = timeBin
	}
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	if err != nil {
		b.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
	}
	kb, err := os.ReadFile(rssFile)
	if err != nil {
		b.Logf("peak RSS not measured: install GNU time (/usr/bin/time)")
		return took, 0
	}
	n, _ := strconv.ParseFloat(strings.TrimSpace(string(kb)), 64)
	return took, n / 1024
}

func report(b *testing.B, rows int, took time.Duration, rssMB float64) {
	b.ReportMetric(float64(rows)/took.Seconds(), "rows/s")
	b.ReportMetric(rssMB, "peak-RSS-MB")
	b.ReportMetric(0, "ns/op")
}

func importInto(b *testing.B, bin, file string) (cfg string, took time.Duration, rss float64) {
	_, cfg, took, rss, _ = importWAL(b, bin, file)
	return cfg, took, rss
}

// importWAL is importInto that also returns the database's URL and the
// WAL PostgreSQL wrote meanwhile (the whole cluster's: another client's
// writes count too).
func importWAL(b *testing.B, bin, file string) (url, cfg string, took time.Duration, rss float64, wal int64) {
	b.Helper()
	url = testdb.Postgres(b)
	cfg = writeConfig(b, b.TempDir(), url, "")
	db, err := sql.Open("postgres", url)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	settle(b, url)
	before := walLSN(b, db)
	took, rss = measure(b, exec.Command(bin, "import", file, "--config", cfg))
	return url, cfg, took, rss, walSince(b, db, before)
}

// walLSN and walSince measure the WAL written between two points, the
// figure the WAL settings in the README act on.
func walLSN(b *testing.B, db *sql.DB) string {
	b.Helper()
	var lsn string
	if err := db.QueryRow(`SELECT pg_current_wal_lsn()::text`).Scan(&lsn); err != nil {
		b.Fatal(err)
	}
	return lsn
}

func walSince(b *testing.B, db *sql.DB, lsn string) int64 {
	b.Helper()
	var n int64
	if err := db.QueryRow(`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::bigint`, lsn).Scan(&n); err != nil {
		b.Fatal(err)
	}
	return n
}

// settle brings PostgreSQL to the same state before each timed run,
// demandd's or bare excelize's: VACUUM ANALYZE does now the pass
// autovacuum would make over the rows just imported (it starts up to a
// minute after an import, into whichever run comes next), and CHECKPOINT
// writes the dirty pages. It keeps the database's leftovers out of the
// figures; it does not tame the bare read's own swings (15,900–26,100
// rows/s beside a steady demandd): settled and unsettled bare reads,
// alternated by hand, did not differ. A step the role may not run is
// logged and skipped.
func settle(b *testing.B, url string) {
	b.Helper()
	db, err := sql.Open("postgres", url)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for _, stmt := range []string{"VACUUM ANALYZE", "CHECKPOINT"} {
		if _, err := db.Exec(stmt); err != nil {
			b.Logf("settle: %s: %v (the runs may disturb each other)", stmt, err)
		}
	}
}

func BenchmarkImport(b *testing.B) {
	bin := buildBinary(b)
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			file := benchWorkbook(b, n)
			for i := 0; i < b.N; i++ {
				url, _, took, rss, wal := importWAL(b, bin, file)
				report(b, n, took, rss)
				b.ReportMetric(float64(wal)/float64(n), "WAL-B/row")
				settle(b, url)
				bare := bareRun(b, "read:"+file)
				b.ReportMetric(bare.Seconds()/took.Seconds(), "x-bare-read")
			}
		})
	}
}

func BenchmarkExport(b *testing.B) {
	bin := buildBinary(b)
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			b.StopTimer()
			url, cfg, _, _, _ := importWAL(b, bin, benchWorkbook(b, n))
			out := filepath.Join(b.TempDir(), "export.xlsx")
			b.StartTimer()
			for i := 0; i < b.N; i++ {
				settle(b, url)
				took, rss := measure(b, exec.Command(bin, "export", "--out", out, "--config", cfg))
				report(b, n, took, rss)
				settle(b, url)
				bare := bareRun(b, fmt.Sprintf("write:%s:%d", filepath.Join(b.TempDir(), "bare.xlsx"), n))
				b.ReportMetric(bare.Seconds()/took.Seconds(), "x-bare-write")
			}
		})
	}
}

// BenchmarkBare is the ceiling: excelize alone streaming the same
// workbook's rows, and stream-writing a 16-column table of as many rows.
func BenchmarkBare(b *testing.B) {
	for _, n := range benchSizes {
		file := benchWorkbook(b, n)
		b.Run(fmt.Sprintf("read/rows=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				cmd := exec.Command(os.Args[0])
				cmd.Env = append(os.Environ(), "DEMANDD_BARE=read:"+file)
				took, rss := measure(b, cmd)
				report(b, n, took, rss)
			}
		})
		b.Run(fmt.Sprintf("write/rows=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				cmd := exec.Command(os.Args[0])
				cmd.Env = append(os.Environ(), fmt.Sprintf("DEMANDD_BARE=write:%s:%d", filepath.Join(b.TempDir(), "bare.xlsx"), n))
				took, rss := measure(b, cmd)
				report(b, n, took, rss)
			}
		})
	}
}

// bareRun times a DEMANDD_BARE job right after the demandd run it is the
// ceiling of, so that the ratio (x-bare-read, x-bare-write: demandd's
// rows/s over bare excelize's) compares two runs under the same load of
// the machine — BenchmarkBare's own runs come minutes later.
func bareRun(b *testing.B, job string) time.Duration {
	b.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "DEMANDD_BARE="+job)
	took, _ := measure(b, cmd)
	return took
}

// bareExcelize does the DEMANDD_BARE job of a benchmark subprocess and
// reports whether it did.
func bareExcelize() bool {
	job := os.Getenv("DEMANDD_BARE")
	if job == "" {
		return false
	}
	if err := runBare(job); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	return true
}

func runBare(job string) error {
	kind, arg, _ := strings.Cut(job, ":")
	switch kind {
	case "read":
		f, err := excelize.OpenFile(arg)
		if err != nil {
			return err
		}
		defer f.Close()
		rows, err := f.Rows(f.GetSheetName(0))
		if err != nil {
			return err
		}
		n := 0
		for rows.Next() {
			if _, err := rows.Columns(); err != nil {
				return err
			}
			n++
		}
		return rows.Close()
	case "write":
		path, num, _ := strings.Cut(arg, ":")
		n, err := strconv.Atoi(num)
		if err != nil {
			return err
		}
		f := excelize.NewFile()
		defer f.Close()
		sw, err := f.NewStreamWriter("Sheet1")
		if err != nil {
			return err
		}
		row := make([]interface{}, 16)
		for i := 1; i <= n; i++ {
			src := fixture.WJXRow(i)
			for c := range row {
				row[c] = src[c%len(src)]
			}
			cell, _ := excelize.CoordinatesToCellName(1, i)
			if err := sw.SetRow(cell, row); err != nil {
				return err
			}
		}
		if err := sw.Flush(); err != nil {
			return err
		}
		return f.SaveAs(path)
	}
	return fmt.Errorf("unknown DEMANDD_BARE job %q", job)
}
