package normalize

import (
	"regexp"
	"testing"
)

// The regular expressions parseSeconds and parseIPRegion stand for.
var (
	secondsRE  = regexp.MustCompile(`^\s*(\d+)\s*秒\s*$`)
	ipRegionRE = regexp.MustCompile(`^\s*([0-9a-fA-F:.]+)\s*[(（](.*?)[)）]\s*$`)
)

// FuzzMetaParsers holds the parsers of 问卷星's answer-time and IP cells to
// the regular expressions they replaced, which ran on every row.
func FuzzMetaParsers(f *testing.F) {
	for _, s := range []string{"136秒", " 64 秒\n", "秒", "12秒秒", "1２秒", "183.192.16.69(上海-上海)", " ::1 （本机） ", "1.2.3.4()",
		"1.2.3.4(a) )", "1.2.3.4(a\nb)", "1.2.3.4(", "(x)", "1.2.3.4 (上海)\t", "fe80::1(x）", "1.2.3.4(\xff)", "g1(x)", "1.2（x)\v"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := parseSeconds(s)
		if m := secondsRE.FindStringSubmatch(s); (m != nil) != ok || ok && m[1] != n {
			t.Errorf("parseSeconds(%q) = %q %v; the expression gives %q", s, n, ok, m)
		}
		ip, region, ok := parseIPRegion(s)
		if m := ipRegionRE.FindStringSubmatch(s); (m != nil) != ok || ok && (m[1] != ip || m[2] != region) {
			t.Errorf("parseIPRegion(%q) = %q %q %v; the expression gives %q", s, ip, region, ok, m)
		}
	})
}
