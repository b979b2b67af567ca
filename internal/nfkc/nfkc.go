// Package nfkc is Unicode NFKC normalisation (golang.org/x/text's) with a
// shortcut for the text demandd mostly reads: Chinese with ASCII and
// full-width punctuation. norm.NFKC.String runs its whole reordering
// machinery over a string as soon as one rune changes, and a full-width
// （ or ： changes in nearly every Chinese sentence; String maps such runes
// one by one instead, which is NFKC exactly when every rune of the string
// starts a normalisation segment (norm's BoundaryBefore): then no rune
// combines with or reorders around its neighbours. Any other string goes
// to norm.
package nfkc

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// The ranges whose runes are looked up in table; a rune of them that
// norm does not let through (see newTable) sends the string to norm.
var tableRanges = [...]struct{ lo, hi rune }{
	{0x00A0, 0x00FF}, // Latin-1: accented letters, ·, ×, no-break space
	{0x2000, 0x206F}, // general punctuation: “”‘’…—
	{0x3000, 0x303F}, // CJK punctuation: 、。「」【】 and the ideographic space
	{0xFF00, 0xFFEF}, // full-width ASCII and half-width forms
}

// table holds, range after range, each rune's NFKC form when the rune
// starts a segment, or "" when it goes to norm.
var table = newTable()

func newTable() []string {
	var t []string
	for _, rg := range tableRanges {
		for r := rg.lo; r <= rg.hi; r++ {
			s, out := string(r), ""
			if norm.NFKC.PropertiesString(s).BoundaryBefore() {
				out = norm.NFKC.String(s) // never empty: NFKC drops no rune
			}
			t = append(t, out)
		}
	}
	return t
}

// mapped is r's NFKC form, when r is one String maps itself.
func mapped(r rune) (string, bool) {
	off := 0
	for _, rg := range tableRanges {
		if r < rg.lo {
			return "", false
		}
		if r <= rg.hi {
			out := table[off+int(r-rg.lo)]
			return out, out != ""
		}
		off += int(rg.hi-rg.lo) + 1
	}
	return "", false
}

// String is norm.NFKC.String(s).
func String(s string) string {
	// First pass: is every rune one String maps itself, and does any
	// change?
	changes := false
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		switch {
		case 0x4E00 <= r && r <= 0x9FFF: // CJK Unified Ideographs: NFKC leaves them
		default:
			out, ok := mapped(r)
			if !ok {
				return norm.NFKC.String(s)
			}
			if out != string(r) {
				changes = true
			}
		}
	}
	if !changes {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + len(s)/2) // 。 and … grow; most runes shrink or stay
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			b.WriteByte(c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if 0x4E00 <= r && r <= 0x9FFF {
			b.WriteString(s[i : i+n])
		} else {
			out, _ := mapped(r)
			b.WriteString(out)
		}
		i += n
	}
	return b.String()
}
