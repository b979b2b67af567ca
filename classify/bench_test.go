package classify

import (
	"context"
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/demandd/demandd/demand"
)

// Classifying 1 KB texts with the default rules and with 2,000 generated
// keyword rules; the cost should follow the text, not the rule count.
//
//	go test -run '^$' -bench Classify -cpu 1 ./classify/

var benchSentences = []string{
	"您好，我们门店的收银系统从今天上午开始一直很慢，结账要等很久，",
	"顾客排队意见很大，麻烦尽快安排技术人员看一下。",
	"另外希望报表可以按部门导出Excel，并且支持自定义字段，",
	"现在每个月都要手工整理两天，效率太低了。",
	"上周提交的发票申请到现在还没有处理，打客服电话也没人接，",
	"Hi team, the export to Excel keeps failing with a timeout error since yesterday. ",
	"We have a board meeting on Friday and need the numbers before then. ",
	"如果能在小程序里增加预约功能就更好了，不急，下个版本考虑也可以。",
	"谢谢！\n张伟\n华信科技 运营部\n电话 138-0000-0000\n",
}

func benchText(r *rand.Rand, size int) string {
	var b strings.Builder
	for b.Len() < size {
		b.WriteString(benchSentences[r.Intn(len(benchSentences))])
	}
	s := b.String()[:size]
	return strings.ToValidUTF8(s, "")
}

func generatedRules(n int, r *rand.Rand) string {
	pool := []rune("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处理世车")
	var b strings.Builder
	types := []string{"inquiry", "complaint", "suggestion", "feature", "service"}
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "[[rule]]\nname = \"generated %d\"\nany = [", i)
		for k := 0; k < 3+r.Intn(3); k++ {
			word := make([]rune, 2+r.Intn(3))
			for j := range word {
				word[j] = pool[r.Intn(len(pool))]
			}
			if k > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%q", string(word))
		}
		fmt.Fprintf(&b, "]\nset_type = %q\nadd_tags = [\"g%d\"]\n\n", types[i%len(types)], i)
	}
	return b.String()
}

func benchClassify(b *testing.B, rules *Rules) {
	eng, err := NewEngine(Options{SLA: SLA{P1: 24 * time.Hour, P2Workdays: 7, P3Days: 14, P4Days: 30}}, rules, nil)
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewSource(1))
	texts := make([]string, 256)
	for i := range texts {
		texts[i] = benchText(r, 1024)
	}
	recv := time.Date(2026, 11, 24, 10, 0, 0, 0, shanghai)
	ctx := context.Background()
	b.SetBytes(1024)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rec := demand.Record{Description: demand.Description{Text: texts[i%len(texts)]},
			Source: demand.Source{Channel: demand.ChannelEmail, ReceivedAt: recv}}
		if err := eng.Classify(ctx, &rec); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "texts/s")
}

func BenchmarkClassify(b *testing.B) {
	b.Run("rules=default", func(b *testing.B) {
		rules, _, err := Load(Sources{})
		if err != nil {
			b.Fatal(err)
		}
		benchClassify(b, rules)
	})
	b.Run("rules=2000", func(b *testing.B) {
		rules, err := ParseRules("generated", []byte(generatedRules(2000, rand.New(rand.NewSource(2)))))
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("%d rules, %d keywords", rules.Len(), rules.Keywords())
		benchClassify(b, rules)
	})
}
