// Package benchgate reads `go test -bench` output and turns the throughput
// benchmarks of issue 15 into ratios against their ceilings (demandd's
// import beside a bare excelize read of the same file, and so on), checked
// against the targets the project keeps.
//
// Contract: a ratio is computed per run (the i-th result of the numerator
// with the i-th of the denominator, as `go test -count N` prints them) and
// the median of the runs is what is compared; a gate whose benchmarks are
// absent from the output is reported as missing, and Check counts it as
// failed, so a gate cannot pass by not being measured.
package benchgate

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Results maps a benchmark name (without the -GOMAXPROCS suffix) to the
// metrics of each of its runs, in the order printed.
type Results map[string][]map[string]float64

// benchLine matches "BenchmarkX/sub-2   1   0 ns/op   123 rows/s ...".
var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

// Parse reads go test -bench output; lines that are not results are skipped.
func Parse(r io.Reader) (Results, error) {
	res := Results{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		f := strings.Fields(m[2])
		metrics := map[string]float64{}
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			metrics[f[i+1]] = v
		}
		res[m[1]] = append(res[m[1]], metrics)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("benchgate: read: %w", err)
	}
	return res, nil
}

// Ref names one metric of one benchmark.
type Ref struct{ Bench, Unit string }

// Gate is a ratio Num/Den that must be at least Min; or, Den empty, a
// figure Num that is a ratio already (a benchmark that ran demandd and its
// ceiling back to back) and must be at least Min, or a plain figure that
// must stay below Max.
type Gate struct {
	Label    string
	Num, Den Ref
	Min, Max float64
}

func (g Gate) ratio() bool { return g.Den.Bench != "" || g.Min > 0 }

// Targets are issue 15's: throughput ratios within one run, and the
// memory and latency ceilings that go with them.
var Targets = []Gate{
	{Label: "import/bare-read", Num: Ref{"BenchmarkImport/rows=100000", "x-bare-read"}, Min: 0.55},
	{Label: "export/bare-write", Num: Ref{"BenchmarkExport/rows=100000", "x-bare-write"}, Min: 0.85},
	{Label: "import-10k peak-RSS-MB", Num: Ref{"BenchmarkImport/rows=10000", "peak-RSS-MB"}, Max: 150},
	{Label: "import-100k peak-RSS-MB", Num: Ref{"BenchmarkImport/rows=100000", "peak-RSS-MB"}, Max: 150},
	{Label: "imap/mbsync", Num: Ref{"BenchmarkIMAP/demandd", "msgs/s"}, Den: Ref{"BenchmarkIMAP/mbsync", "msgs/s"}, Min: 1.5},
	{Label: "imap/bare-fetch-parse", Num: Ref{"BenchmarkIMAP/demandd", "msgs/s"}, Den: Ref{"BenchmarkIMAP/bare-fetch-parse", "msgs/s"}, Min: 0.35},
	{Label: "imap peak-RSS-MB", Num: Ref{"BenchmarkIMAP/demandd", "peak-RSS-MB"}, Max: 200},
	{Label: "imap idle-p99-ms", Num: Ref{"BenchmarkIMAP/demandd", "idle-p99-ms"}, Max: 2000},
}

// Outcome is one gate evaluated.
type Outcome struct {
	Gate
	Value   float64 // the median
	Runs    int
	Missing bool
}

// Met reports whether the outcome meets its target.
func (o Outcome) Met() bool {
	if o.Missing {
		return false
	}
	if o.ratio() {
		return o.Value >= o.Min
	}
	return o.Value < o.Max
}

func (o Outcome) String() string {
	kind, target := "limit", fmt.Sprintf("< %g", o.Max)
	if o.ratio() {
		kind, target = "ratio", fmt.Sprintf("≥ %.2f", o.Min)
	}
	if o.Missing {
		return fmt.Sprintf("%s %s — (target %s) MISSING: no figures in the output", kind, o.Label, target)
	}
	verdict := "met"
	if !o.Met() {
		verdict = "MISSED"
	}
	format := "%s %s %.2f (target %s) %s, median of %d"
	if !o.ratio() {
		format = "%s %s %.0f (target %s) %s, median of %d"
	}
	return fmt.Sprintf(format, kind, o.Label, o.Value, target, verdict, o.Runs)
}

// Evaluate computes the gates whose benchmarks appear in res at all (any
// of Num or Den); a gate with half its figures present is Missing.
func Evaluate(res Results, gates []Gate) []Outcome {
	var out []Outcome
	for _, g := range gates {
		nums := values(res, g.Num)
		if g.Den.Bench == "" {
			if _, seen := res[g.Num.Bench]; !seen {
				continue
			}
			out = append(out, outcome(g, nums))
			continue
		}
		dens := values(res, g.Den)
		_, seenN := res[g.Num.Bench]
		_, seenD := res[g.Den.Bench]
		if !seenN && !seenD {
			continue
		}
		var ratios []float64
		for i := 0; i < len(nums) && i < len(dens); i++ {
			if dens[i] > 0 {
				ratios = append(ratios, nums[i]/dens[i])
			}
		}
		out = append(out, outcome(g, ratios))
	}
	return out
}

func values(res Results, r Ref) []float64 {
	var v []float64
	for _, m := range res[r.Bench] {
		if x, ok := m[r.Unit]; ok {
			v = append(v, x)
		}
	}
	return v
}

func outcome(g Gate, v []float64) Outcome {
	if len(v) == 0 {
		return Outcome{Gate: g, Missing: true}
	}
	return Outcome{Gate: g, Value: median(v), Runs: len(v)}
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
