package dedupe

import (
	"fmt"
	"sort"
	"testing"
)

func TestSweep(t *testing.T) {
	ps := readPairs(t, "testdata/dev_pairs.jsonl")
	type r struct {
		d   int
		s   float64
		dup bool
		id  string
	}
	var rs []r
	for _, p := range ps {
		a, b := Clean(p.A.Title, p.A.Text), Clean(p.B.Title, p.B.Text)
		d, s, _ := Match(a, b)
		if a == b && a != "" {
			s = 1
		}
		rs = append(rs, r{d, s, p.Duplicate, p.ID + " " + p.Kind})
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].s > rs[j].s })
	for _, x := range rs {
		fmt.Printf("%v d=%2d s=%.2f %s\n", x.dup, x.d, x.s, x.id)
	}
}
