package dedupe

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"
)

func TestClean(t *testing.T) {
	for _, c := range []struct{ name, title, text, want string }{
		{"plain zh", "", "希望报表能导出 Excel。", "希望报表能导出excel"},
		{"full width", "", "ＡＰＩ　Ｋｅｙ：１２３，请支持ＯＡｕｔｈ！", "api key 123请支持oauth"},
		{"english words keep one space", "", "Export  the   Reports,please", "export the reports please"},
		{"title reply prefix", "Re: 回复：Fwd: 报表", "", "报表"},
		{"zh greeting line", "", "您好！\n希望增加夜间模式。", "希望增加夜间模式"},
		{"zh greeting with name", "", "王经理您好，希望增加夜间模式。", "希望增加夜间模式"},
		{"zh respectful", "", "尊敬的客服：\n各位好！\n希望增加夜间模式。", "希望增加夜间模式"},
		{"en greeting", "", "Hi team,\nPlease add a dark mode.", "please add a dark mode"},
		{"en dear", "", "Dear Mr. Wang, please add a dark mode.", "please add a dark mode"},
		{"en bare line is content", "", "Hello world app crashes on start", "hello world app crashes on start"},
		{"zh sign-off and signature", "", "希望增加夜间模式。\n谢谢！\n张三\n产品部 经理\n某某科技有限公司\n电话：010-12345678",
			"希望增加夜间模式"},
		{"zh 此致敬礼", "", "希望增加夜间模式。\n此致\n敬礼", "希望增加夜间模式"},
		{"thanks ending a line", "", "请尽快处理夜间模式的问题，谢谢！", "请尽快处理夜间模式的问题"},
		{"en sign-off", "", "Please add a dark mode.\n\nBest regards,\nJohn Smith\nAcme Inc.", "please add a dark mode"},
		{"en sign-off with name", "", "Please add a dark mode.\nThanks, Anna", "please add a dark mode"},
		{"signature without sign-off", "", "Please add a dark mode.\n\nJohn Smith\nProduct Manager\n+1 (555) 123-4567\njohn@acme.example",
			"please add a dark mode"},
		{"last short line is content", "", "希望增加：\n夜间模式", "希望增加夜间模式"},
		{"signature delimiter", "", "希望增加夜间模式\n-- \n任何内容", "希望增加夜间模式"},
		{"mobile footer", "", "希望增加夜间模式\n\n发自我的iPhone", "希望增加夜间模式"},
		{"sent from", "", "Please add a dark mode\n\nSent from my iPhone", "please add a dark mode"},
		{"quoted lines", "", "希望增加夜间模式\n> 之前的邮件\n> 更多", "希望增加夜间模式"},
		{"原始邮件", "", "希望增加夜间模式\n-----原始邮件-----\n发件人: a\n旧的需求", "希望增加夜间模式"},
		{"original message", "", "Add dark mode\n-----Original Message-----\nFrom: a\nold", "add dark mode"},
		{"on wrote", "", "Add dark mode\n\nOn Mon, 3 Jun 2024 at 10:00, Bob <b@x.com> wrote:\nold", "add dark mode"},
		{"on wrote wrapped", "", "Add dark mode\n\nOn Mon, 3 Jun 2024 at 10:00, Bob <b@x.com>\nwrote:\nold", "add dark mode"},
		{"在写道", "", "希望增加夜间模式\n在 2024年6月3日 10:00，李四 写道：\n旧的", "希望增加夜间模式"},
		{"outlook header block", "", "希望增加夜间模式\n发件人: 李四\n发送时间: 2024年6月3日\n旧的", "希望增加夜间模式"},
		{"survey source", "", "希望增加夜间模式（来自问卷星）", "希望增加夜间模式"},
		{"survey empty answers", "", "场景：无\n痛点：系统慢\n期望：暂无\nN/A\n其他：none", "痛点系统慢"},
		{"survey metadata", "", "系统慢\n提交时间：2024-05-06 09:12\nIP：1.2.3.4", "系统慢"},
		{"only boilerplate", "", "无", ""},
		{"mixed", "", "希望支持 single sign-on 登录", "希望支持single sign on登录"},
	} {
		if got := Clean(c.title, c.text); got != c.want {
			t.Errorf("%s: Clean(%q, %q) = %q, want %q", c.name, c.title, c.text, got, c.want)
		}
	}
}

func TestShinglesWordsAndChars(t *testing.T) {
	// Inflected forms give the same shingles.
	if Similarity("export reports", "exporting report") != 1 {
		t.Errorf("stemming: %v", Similarity("export reports", "exporting report"))
	}
	if n := len(Shingles("夜间模式")); n != 3 {
		t.Errorf("CJK bigrams of 4 characters: %d, want 3", n)
	}
	if n := len(Shingles("add dark mode")); n != 5 { // 3 words, 2 pairs
		t.Errorf("word shingles: %d, want 5", n)
	}
	if Shingles("") != nil {
		t.Error("empty text has shingles")
	}
}

func TestSimHashStable(t *testing.T) {
	// The hash is stored: it must not change between builds or runs.
	const s = "希望报表能导出excel"
	if got, want := SimHash(s), uint64(simHashGolden); got != want {
		t.Errorf("SimHash(%q) = %#x, want %#x: stored hashes would no longer match", s, got, want)
	}
	if SimHash("") != 0 {
		t.Error("SimHash of empty text is not 0")
	}
}

func TestBandsWithinDistance3(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		h := rng.Uint64()
		g := h
		for range rng.IntN(4) { // up to 3 flips, possibly the same bit twice
			g ^= 1 << rng.IntN(64)
		}
		if Distance(h, g) > 3 {
			t.Fatalf("distance %d", Distance(h, g))
		}
		bh, bg := Bands(h), Bands(g)
		shared := false
		for i := range bh {
			shared = shared || bh[i] == bg[i]
		}
		if !shared {
			t.Fatalf("%#x and %#x (distance %d) share no band", h, g, Distance(h, g))
		}
	}
}

func TestSimilarity(t *testing.T) {
	for _, c := range []struct {
		a, b     string
		min, max float64
	}{
		{"", "", 1, 1},
		{"希望增加夜间模式", "希望增加夜间模式", 1, 1},
		{"希望增加夜间模式", "", 0, 0},
		{"希望增加夜间模式", "完全不同的内容", 0, 0},
		{"希望增加夜间模式支持", "希望增加夜间模式", 0.77, 0.78},
		{"add dark mode", "add light mode", 0.1, 0.5},
	} {
		if s := Similarity(c.a, c.b); s < c.min || s > c.max {
			t.Errorf("Similarity(%q, %q) = %.3f, want %.2f…%.2f", c.a, c.b, s, c.min, c.max)
		}
	}
}

func TestMatch(t *testing.T) {
	long := Clean("", "我们希望月度报表可以直接导出成Excel文件，方便财务核对。")
	for _, c := range []struct {
		name string
		a, b string
		dup  bool
	}{
		{"equal", long, long, true},
		{"equal short", "夜间模式", "夜间模式", true},
		{"short differs", "希望增加夜间模式", "希望增加日间模式", false},
		{"empty", "", "", false},
		{"one word changed", long, Clean("", "我们希望月度报表能直接导出成Excel文件，方便财务核对。"), true},
		{"other ask", long, Clean("", "我们希望月度报表可以直接导出成PDF文件，方便打印归档。"), false},
	} {
		if _, _, dup := Match(c.a, c.b); dup != c.dup {
			d, s, _ := Match(c.a, c.b)
			t.Errorf("%s: Match = %v (distance %d, similarity %.2f), want %v", c.name, dup, d, s, c.dup)
		}
	}
}

const simHashGolden = 0x9be63580c9c91488

// TestSimHashCountsEveryBit holds the bit-sliced simHash to counting each
// bit of each shingle, across the lanes' emptying every 255 shingles.
func TestSimHashCountsEveryBit(t *testing.T) {
	byBit := func(shingles []uint64) uint64 {
		var ones [64]int
		for _, sh := range shingles {
			for i := range 64 {
				ones[i] += int(sh >> i & 1)
			}
		}
		var h uint64
		for i := range 64 {
			if 2*ones[i] > len(shingles) {
				h |= 1 << i
			}
		}
		return h
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 2, 254, 255, 256, 509, 510, 511, 1000, 3000} {
		for range 20 {
			sh := make([]uint64, n)
			bias := rng.Uint64() // some bits set in most shingles, so the counts sit near half
			for i := range sh {
				sh[i] = rng.Uint64() | bias&rng.Uint64()
			}
			if got, want := simHash(sh), byBit(sh); got != want {
				t.Fatalf("%d shingles: %#x, want %#x", n, got, want)
			}
		}
		all := make([]uint64, n) // every bit in every shingle: lanes full
		for i := range all {
			all[i] = ^uint64(0)
		}
		if got, want := simHash(all), byBit(all); got != want {
			t.Fatalf("%d all-ones shingles: %#x, want %#x", n, got, want)
		}
	}
}

func BenchmarkSimHash(b *testing.B) {
	sh := Shingles("您好，我们的收银系统从今天上午开始很慢，结账要等很久，麻烦尽快安排技术人员看一下。希望报表可以按部门导出Excel，并且支持自定义字段。")
	for i := 0; i < b.N; i++ {
		simHash(sh)
	}
}

// TestIsCJKEveryRune holds isCJK's ranges to the Unicode tables.
func TestIsCJKEveryRune(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		want := unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r)
		if isCJK(r) != want {
			t.Fatalf("isCJK(%#x) = %v, want %v", r, !want, want)
		}
	}
}

// TestHanFastPath holds folder.add's shortcut for U+4E00–U+9FFF to the
// general path: every one of them is a letter written as a character.
func TestHanFastPath(t *testing.T) {
	for r := rune(0x4E00); r <= 0x9FFF; r++ {
		if !unicode.IsLetter(r) || !isCJK(r) || unicode.SimpleFold(r) != r {
			t.Fatalf("%#x: letter %v, CJK %v, folds to %#x", r, unicode.IsLetter(r), isCJK(r), unicode.SimpleFold(r))
		}
	}
}

// TestFolderAddFoldsAsBefore holds folder.add's ASCII path to folding
// every line with cases.Fold, on lines mixing what folds and what does not.
func TestFolderAddFoldsAsBefore(t *testing.T) {
	pieces := []string{"Export", "REPORT", "k", "Z", "9", " ", ",", "。", "希望", "导出", "“报表”", "…", "—", "ｶﾀ", "カタカナ", "ひら",
		"Σίσυφος", "STRASSE", "straße", "\u212a", "Ａｂ", "İ", "ǅ", "\xff", "\u0301", "①", "Ⓐ", "ﬁ", "\u2c00", "\ua640"}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 5000 {
		var line strings.Builder
		for j := rng.IntN(8); j >= 0; j-- {
			line.WriteString(pieces[rng.IntN(len(pieces))])
		}
		// Folding is idempotent: a line folded before add is what add
		// made of every line before its ASCII path.
		var got, want folder
		got.add(line.String())
		want.add(fold.String(line.String()))
		if got.b.String() != want.b.String() {
			t.Fatalf("%q: %q, want %q", line.String(), got.b.String(), want.b.String())
		}
	}
}
