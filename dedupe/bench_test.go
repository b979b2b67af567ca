package dedupe

import (
	"bufio"
	"encoding/json"
	"hash/fnv"
	"os"
	"slices"
	"testing"
)

// BenchmarkClean cuts and folds the texts of the labelled pairs: the cost
// paid once per ingested record.
func BenchmarkClean(b *testing.B) {
	texts := pairTexts(b)
	b.ResetTimer()
	for i := range b.N {
		t := texts[i%len(texts)]
		Clean(t[0], t[1])
	}
}

// BenchmarkMatchTexts compares prepared texts, as a record is compared
// with each of its customer's recent demands.
func BenchmarkMatchTexts(b *testing.B) {
	raw := pairTexts(b)
	texts := make([]*Text, len(raw))
	for i, t := range raw {
		texts[i] = NewText(Clean(t[0], t[1]))
	}
	b.ResetTimer()
	for i := range b.N {
		Thresholds{}.MatchTexts(texts[i%len(texts)], texts[(i+1)%len(texts)])
	}
}

func pairTexts(b *testing.B) [][2]string {
	f, err := os.Open("testdata/pairs.jsonl")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var out [][2]string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var p struct{ A, B struct{ Title, Text string } }
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			b.Fatal(err)
		}
		out = append(out, [2]string{p.A.Title, p.A.Text}, [2]string{p.B.Title, p.B.Text})
	}
	return out
}

// TestShinglesMatchFNV pins the shingle hashes to hash/fnv's FNV-1a of
// kind and text: SimHashes stored in registers depend on them.
func TestShinglesMatchFNV(t *testing.T) {
	ref := func(kind, s string) uint64 {
		h := fnv.New64a()
		h.Write([]byte(kind + s))
		return h.Sum64()
	}
	cases := map[string][]uint64{
		"导出很慢":               {ref("c", "导出"), ref("c", "出很"), ref("c", "很慢")},
		"excel exports fail": {ref("w", "excel"), ref("w", "export"), ref("p", "excel export"), ref("w", "fail"), ref("p", "export fail")},
		"a报":                 {ref("w", "a"), ref("c", "报")},
	}
	for text, want := range cases {
		if got := Shingles(text); !slices.Equal(got, want) {
			t.Errorf("Shingles(%q) = %x, want %x", text, got, want)
		}
	}
}

// BenchmarkCleanAnswer cleans short questionnaire answers, the bulk of a
// large import.
func BenchmarkCleanAnswer(b *testing.B) {
	answers := []string{
		"希望报表可以按部门导出Excel，并且支持自定义字段，现在每月要手工整理两天。（编号1）",
		"收银系统从今天上午开始很慢，结账要等很久，麻烦尽快安排技术人员看一下。",
		"上周提交的发票申请到现在还没有处理，打客服电话也没人接，非常不满意。",
		"请问你们的接口是否支持和金蝶ERP对接？需要提供哪些资料？",
		"The export button does nothing in Safari 17; please fix before the quarter closes.",
	}
	for i := range b.N {
		Clean("", answers[i%len(answers)])
	}
}
