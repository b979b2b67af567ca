package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// BenchmarkRoundTrip100k is the team's table coming back at scale: 100,000
// questionnaire rows imported into PostgreSQL (the questionnaire import
// rate of this run), exported, 5% of the rows edited (状态 and 响应方案),
// and the edited table given to `demandd import`. It reports both rates,
// their ratio (the target is at least 0.8) and the round trip's peak RSS
// (the target is under 150 MB).
//
//	make bench-roundtrip   (go test -run '^$' -bench RoundTrip100k -benchtime 1x ./cmd/demandd/)
func BenchmarkRoundTrip100k(b *testing.B) {
	const n = 100000
	bin := buildBinary(b)
	file := benchWorkbook(b, n)
	for i := 0; i < b.N; i++ {
		cfg, importTook, importRSS := importInto(b, bin, file)
		dir := b.TempDir()
		exported := filepath.Join(dir, "跟踪表.xlsx")
		exportTook, _ := measure(b, exec.Command(bin, "export", "--out", exported, "--config", cfg))
		edited := filepath.Join(dir, "跟踪表-已处理.xlsx")
		changed := editEvery(b, exported, edited, 20)
		cmd := exec.Command(bin, "import", edited, "--config", cfg)
		took, rss := measure(b, cmd)
		// The receipt lists every updated cell: two per edited row.
		receipt, err := excelize.OpenFile(strings.TrimSuffix(edited, ".xlsx") + ".result.xlsx")
		if err != nil {
			b.Fatalf("no receipt: %v", err)
		}
		receipt.Close()
		importRate, rate := float64(n)/importTook.Seconds(), float64(n)/took.Seconds()
		b.ReportMetric(rate, "roundtrip-rows/s")
		b.ReportMetric(importRate, "import-rows/s")
		b.ReportMetric(rate/importRate, "ratio")
		b.ReportMetric(rss, "peak-RSS-MB")
		b.ReportMetric(0, "ns/op")
		b.Logf("questionnaire import: %d rows in %s, %.0f rows/s, peak RSS %.0f MB", n, importTook.Round(1e7), importRate, importRSS)
		b.Logf("export: %d rows in %s", n, exportTook.Round(1e7))
		b.Logf("round trip: %d rows (%d edited) in %s, %.0f rows/s, peak RSS %.0f MB; ratio to the import %.2f",
			n, changed, took.Round(1e7), rate, rss, rate/importRate)
	}
}

// editEvery copies the tracking table at src to dst with every k-th data
// row's 状态 and 响应方案 changed, as a person would in Excel; it streams,
// so that the benchmark process stays small. Numbers stay numbers (dates
// are serial numbers with their formats lost, which a returned table
// reads the same). It returns the number of rows edited.
func editEvery(b *testing.B, src, dst string, k int) int {
	b.Helper()
	in, err := excelize.OpenFile(src)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	sheet := in.GetSheetName(0)
	rows, err := in.Rows(sheet)
	if err != nil {
		b.Fatal(err)
	}
	out := excelize.NewFile()
	defer out.Close()
	if err := out.SetSheetName(out.GetSheetName(0), sheet); err != nil {
		b.Fatal(err)
	}
	sw, err := out.NewStreamWriter(sheet)
	if err != nil {
		b.Fatal(err)
	}
	status, plan, num, edited := -1, -1, 0, 0
	var vals []interface{}
	for rows.Next() {
		num++
		cells, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			b.Fatal(err)
		}
		if num == 3 {
			for i, h := range cells {
				switch h {
				case "状态":
					status = i
				case "响应方案":
					plan = i
				}
			}
		}
		if num > 3 && (num-3)%k == 0 {
			for len(cells) <= max(status, plan) {
				cells = append(cells, "")
			}
			cells[status] = "处理中"
			if num%2 == 0 {
				cells[status] = "已交付"
			}
			cells[plan] = fmt.Sprintf("第 %d 行：下周安排工程师上门处理", num)
			edited++
		}
		vals = vals[:0]
		for i, c := range cells {
			if f, err := strconv.ParseFloat(c, 64); err == nil && num > 3 && i != status && i != plan {
				vals = append(vals, f)
			} else {
				vals = append(vals, c)
			}
		}
		cell, _ := excelize.CoordinatesToCellName(1, num)
		if err := sw.SetRow(cell, vals); err != nil {
			b.Fatal(err)
		}
	}
	if err := rows.Close(); err != nil {
		b.Fatal(err)
	}
	if err := sw.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := out.SaveAs(dst); err != nil {
		b.Fatal(err)
	}
	return edited
}
