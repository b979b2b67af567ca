package normalize

import "testing"

// FuzzAnonymous pins mayBeAnonymous: where it says no, the value is not
// anonymous.
func FuzzAnonymous(f *testing.F) {
	for _, s := range []string{"匿名", "匿名用户", "1、匿名", "匿名（必填）", "Anonymous", "ANONYM", "anon ym", "an(required)onym",
		"ａｎｏｎｙｍｏｕｓ", "李娜", "北京远航物流", "user1@example.com", "Tony Ma", "", " 匿名 ", "匿名。", "⼀", "Q1 anonymous"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if !mayBeAnonymous(v) && anonymous[headerKey(v)] {
			t.Errorf("mayBeAnonymous(%q) false, but headerKey %q is anonymous", v, headerKey(v))
		}
	})
}
