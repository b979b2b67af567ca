package classify

import (
	"sort"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Fold normalises text for matching: Unicode NFKC (full-width letters and
// digits become half-width), case folded, runs of white space collapsed to
// one space. Keywords and texts are folded alike, so 'ＡＳＡＰ' matches
// "asap" and "不 紧 急" is "不 紧 急" on both sides.
func Fold(s string) string { return string(foldAppend(nil, s)) }

func foldAppend(dst []byte, s string) []byte {
	if !norm.NFKC.IsNormalString(s) {
		s = norm.NFKC.String(s)
	}
	space := true // drop leading space
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
				if !space {
					dst = append(dst, ' ')
					space = true
				}
				continue
			case 'A' <= c && c <= 'Z':
				c += 'a' - 'A'
			}
			dst = append(dst, c)
			space = false
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		if unicode.IsSpace(r) {
			if !space {
				dst = append(dst, ' ')
				space = true
			}
			continue
		}
		dst = utf8.AppendRune(dst, unicode.ToLower(r))
		space = false
	}
	if len(dst) > 0 && dst[len(dst)-1] == ' ' {
		dst = dst[:len(dst)-1]
	}
	return dst
}

// automaton is an Aho–Corasick automaton over the bytes of folded UTF-8
// text: all keywords of all rules in one pass whose cost grows with the
// text, not with the number of keywords. UTF-8 is self-synchronising, so a
// byte match of a folded keyword always starts and ends on rune boundaries.
type automaton struct {
	root  [256]int32 // the root's transitions, dense: most bytes start there
	nodes []acNode
	lens  []int // pattern id → length in bytes
}

type acNode struct {
	keys []byte  // sorted edge labels
	next []int32 // edge targets
	fail int32
	out  int32 // pattern ending here, or -1
	dict int32 // nearest node on the fail chain with out >= 0, or -1
}

func (n *acNode) child(b byte) int32 {
	i := sort.Search(len(n.keys), func(i int) bool { return n.keys[i] >= b })
	if i < len(n.keys) && n.keys[i] == b {
		return n.next[i]
	}
	return -1
}

// newAutomaton builds the automaton of patterns (folded, non-empty,
// distinct); pattern ids are their indexes.
func newAutomaton(patterns []string) *automaton {
	a := &automaton{nodes: []acNode{{fail: 0, out: -1, dict: -1}}, lens: make([]int, len(patterns))}
	for id, p := range patterns {
		a.lens[id] = len(p)
		s := int32(0)
		for i := 0; i < len(p); i++ {
			n := &a.nodes[s]
			c := n.child(p[i])
			if c < 0 {
				c = int32(len(a.nodes))
				j := sort.Search(len(n.keys), func(j int) bool { return n.keys[j] >= p[i] })
				n.keys = append(n.keys, 0)
				copy(n.keys[j+1:], n.keys[j:])
				n.keys[j] = p[i]
				n.next = append(n.next, 0)
				copy(n.next[j+1:], n.next[j:])
				n.next[j] = c
				a.nodes = append(a.nodes, acNode{out: -1, dict: -1})
			}
			s = c
		}
		a.nodes[s].out = int32(id)
	}
	// Failure links, breadth first.
	queue := make([]int32, 0, len(a.nodes))
	for i := range a.root {
		a.root[i] = 0
	}
	for i, b := range a.nodes[0].keys {
		c := a.nodes[0].next[i]
		a.root[b] = c
		a.nodes[c].fail = 0
		queue = append(queue, c)
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for i, b := range a.nodes[s].keys {
			c := a.nodes[s].next[i]
			f := a.nodes[s].fail
			for {
				if f == 0 {
					a.nodes[c].fail = a.root[b]
					break
				}
				if t := a.nodes[f].child(b); t >= 0 {
					a.nodes[c].fail = t
					break
				}
				f = a.nodes[f].fail
			}
			if a.nodes[c].fail == c {
				a.nodes[c].fail = 0
			}
			fl := a.nodes[c].fail
			if a.nodes[fl].out >= 0 {
				a.nodes[c].dict = fl
			} else {
				a.nodes[c].dict = a.nodes[fl].dict
			}
			queue = append(queue, c)
		}
	}
	return a
}

// scan reports every occurrence of every pattern in text, overlapping
// ones included, as (pattern id, start byte offset).
func (a *automaton) scan(text []byte, report func(id int32, start int)) {
	s := int32(0)
	for i := 0; i < len(text); i++ {
		b := text[i]
		for {
			if s == 0 {
				s = a.root[b]
				break
			}
			if t := a.nodes[s].child(b); t >= 0 {
				s = t
				break
			}
			s = a.nodes[s].fail
		}
		for o := s; o > 0; o = a.nodes[o].dict {
			if id := a.nodes[o].out; id >= 0 {
				report(id, i+1-a.lens[id])
			}
		}
	}
}

// Negation says when a keyword is directly negated: one of Prefixes stands
// within Window tokens before it in the same clause (a token is a Han
// character or a Latin word). 不急, 不紧急, 不太着急, 没有那么急, 无需紧急,
// "not urgent", "no rush", "isn't really urgent" are all caught by the
// default prefixes without listing the phrases.
type Negation struct {
	Prefixes []string `toml:"prefixes"`
	Window   int      `toml:"window"`
	// Except are phrases that start with a prefix but do not negate what
	// follows: 不能登录 is an inability, not "not logging in".
	Except []string `toml:"except"`
}

// DefaultNegation is used when a rules file sets none.
func DefaultNegation() Negation {
	return Negation{Window: 4,
		Prefixes: []string{"不", "没", "無", "无需", "无须", "不用", "不必", "别", "未",
			"not", "no", "don't", "dont", "doesn't", "isn't", "isnt", "aren't", "never", "without", "nothing"},
		Except: []string{"不能", "不了", "不到", "不上", "不出", "不进", "不开", "不停", "不断", "没法", "没办法", "不行"}}
}

type negator struct {
	han    []string // prefixes of Han text, matched as substrings of the window
	except []string
	words  map[string]bool
	window int
}

func newNegator(n Negation) negator {
	g := negator{words: map[string]bool{}, window: n.Window}
	for _, e := range n.Except {
		g.except = append(g.except, Fold(e))
	}
	for _, p := range n.Prefixes {
		p = Fold(p)
		if p == "" {
			continue
		}
		r, _ := utf8.DecodeRuneInString(p)
		if r < utf8.RuneSelf {
			g.words[p] = true
		} else {
			g.han = append(g.han, p)
		}
	}
	return g
}

// clause punctuation ends the window: a negation in an earlier clause does
// not reach the keyword ("不知道为什么，系统很急").
func clauseBreak(r rune) bool {
	switch r {
	case ',', '.', ';', '!', '?', ':', '，', '。', '；', '！', '？', '：', '、', '\n':
		return true
	}
	return false
}

func (g *negator) excepted(rest []byte) bool {
	for _, e := range g.except {
		if len(rest) >= len(e) && string(rest[:len(e)]) == e {
			return true
		}
	}
	return false
}

// negated reports whether the keyword at start in text is directly negated.
func (g *negator) negated(text []byte, start int) bool {
	if g.window <= 0 || start == 0 {
		return false
	}
	tokens := 0
	i := start
	for i > 0 && tokens < g.window {
		r, n := utf8.DecodeLastRune(text[:i])
		if clauseBreak(r) {
			return false
		}
		if r == ' ' || r == '-' {
			i -= n
			continue
		}
		if r < utf8.RuneSelf && (unicode.IsLetter(r) || r == '\'' || unicode.IsDigit(r)) {
			j := i
			for j > 0 {
				c := text[j-1]
				if c >= utf8.RuneSelf || !(c == '\'' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
					break
				}
				j--
			}
			if g.words[string(text[j:i])] {
				return true
			}
			i = j
			tokens++
			continue
		}
		// One Han (or other) character: test the prefixes that end here.
		for _, p := range g.han {
			at := i - len(p)
			if at >= 0 && string(text[at:i]) == p && !g.excepted(text[at:]) {
				return true
			}
		}
		i -= n
		tokens++
	}
	return false
}
