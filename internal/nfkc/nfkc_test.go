package nfkc

import (
	"math/rand"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// TestEveryMappedRune holds every rune String maps itself, alone and
// between neighbours that change and that do not, to norm.
func TestEveryMappedRune(t *testing.T) {
	var runes []rune
	for r := rune(0); r < utf8.RuneSelf; r++ {
		runes = append(runes, r)
	}
	for r := rune(0x4E00); r <= 0x9FFF; r++ {
		runes = append(runes, r)
	}
	for _, rg := range tableRanges {
		for r := rg.lo; r <= rg.hi; r++ {
			runes = append(runes, r)
		}
	}
	for _, r := range runes {
		for _, s := range []string{string(r), "a" + string(r) + "b", "（" + string(r) + "，", string(r) + "\u0301", "\u1100" + string(r)} {
			if got, want := String(s), norm.NFKC.String(s); got != want {
				t.Fatalf("String(%q) = %q, norm gives %q", s, got, want)
			}
		}
	}
}

// TestMixedText holds random mixes of mapped runes, combining marks,
// Hangul jamo, other scripts and invalid bytes to norm.
func TestMixedText(t *testing.T) {
	pieces := []string{"a", "Z", " ", "需求", "（", "）", "：", "，", "。", "\u3000", "Ａ", "ｶ", "ﾞ", "é", "e", "\u0301", "\u0327",
		"\u1100", "\u1161", "\u11a8", "가", "…", "“", "™", "½", "ﬁ", "\xff", "\xe4\xb8", "Å", "\u212b", "ß", "Ω", "\u0345", "①", "㍿", "\ufffd"}
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 200000; i++ {
		var b strings.Builder
		for n := rng.Intn(8); n >= 0; n-- {
			b.WriteString(pieces[rng.Intn(len(pieces))])
		}
		s := b.String()
		if got, want := String(s), norm.NFKC.String(s); got != want {
			t.Fatalf("String(%q) = %q, norm gives %q", s, got, want)
		}
	}
}

// TestUnchangedIsNotCopied: a string NFKC leaves is returned as it is.
func TestUnchangedIsNotCopied(t *testing.T) {
	s := "客户需求 demand 2026。"
	if n := testing.AllocsPerRun(100, func() { _ = String(s) }); n != 0 {
		t.Errorf("String of a normalised string allocated %v times", n)
	}
}

func BenchmarkString(b *testing.B) {
	s := "需要安排一次新员工的系统使用培训，大约二十人，最好在下周。（编号4）"
	b.Run("nfkc", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			_ = String(s)
		}
	})
	b.Run("norm", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			_ = norm.NFKC.String(s)
		}
	})
}
