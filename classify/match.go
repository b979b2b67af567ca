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
	if !fastNFKC(s) {
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
		switch {
		case r == 0x3000: // ideographic space
			r = ' '
		case 0xFF01 <= r && r <= 0xFF5E: // full-width ASCII
			r -= 0xFEE0
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
			dst = append(dst, byte(r))
			space = false
			continue
		}
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

// fastNFKC reports whether s holds only runes whose NFKC form foldAppend
// produces itself: ASCII, CJK ideographs and punctuation, full-width ASCII,
// common quotes and dashes. Chinese text nearly always does, and the full
// NFKC pass is then skipped.
func fastNFKC(s string) bool {
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf,
			0x4E00 <= r && r <= 0x9FFF,
			0x3000 <= r && r <= 0x303F,
			0xFF01 <= r && r <= 0xFF5E,
			0x2010 <= r && r <= 0x2023, r == 0x2027, r == utf8.RuneError:
		default:
			return false
		}
	}
	return true
}

// automaton is an Aho–Corasick automaton over the bytes of folded UTF-8
// text: all keywords of all rules in one pass whose cost grows with the
// text, not with the number of keywords. UTF-8 is self-synchronising, so a
// byte match of a folded keyword always starts and ends on rune boundaries.
// Nodes are kept as parallel arrays with their edges in one flat slice, so
// that a scan touches little memory.
type automaton struct {
	root      [256]int32 // the root's transitions, dense: every byte starts there
	edgeStart []int32    // node → first edge; edges of node n are edgeStart[n]:edgeStart[n+1]
	edgeKey   []byte     // sorted per node
	edgeNext  []int32
	fail      []int32
	out       []int32 // pattern ending at the node, or -1
	dict      []int32 // nearest node on the fail chain with an output, or -1
	lens      []int   // pattern id → length in bytes
}

func (a *automaton) child(n int32, b byte) int32 {
	lo, hi := int(a.edgeStart[n]), int(a.edgeStart[n+1])
	keys := a.edgeKey[lo:hi]
	if len(keys) <= 8 { // most nodes: a short scan beats a search
		for i, k := range keys {
			if k == b {
				return a.edgeNext[lo+i]
			}
		}
		return -1
	}
	i, j := 0, len(keys)
	for i < j {
		m := int(uint(i+j) >> 1)
		if keys[m] < b {
			i = m + 1
		} else {
			j = m
		}
	}
	if i < len(keys) && keys[i] == b {
		return a.edgeNext[lo+i]
	}
	return -1
}

// newAutomaton builds the automaton of patterns (folded, non-empty,
// distinct); pattern ids are their indexes.
func newAutomaton(patterns []string) *automaton {
	// Build a trie with map edges, then flatten it.
	type trieNode struct {
		next map[byte]int32
		out  int32
	}
	trie := []trieNode{{next: map[byte]int32{}, out: -1}}
	lens := make([]int, len(patterns))
	for id, p := range patterns {
		lens[id] = len(p)
		s := int32(0)
		for i := 0; i < len(p); i++ {
			c, ok := trie[s].next[p[i]]
			if !ok {
				c = int32(len(trie))
				trie[s].next[p[i]] = c
				trie = append(trie, trieNode{next: map[byte]int32{}, out: -1})
			}
			s = c
		}
		trie[s].out = int32(id)
	}
	n := len(trie)
	a := &automaton{edgeStart: make([]int32, n+1), fail: make([]int32, n), out: make([]int32, n),
		dict: make([]int32, n), lens: lens}
	for i, t := range trie {
		a.edgeStart[i] = int32(len(a.edgeKey))
		keys := make([]byte, 0, len(t.next))
		for k := range t.next {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(x, y int) bool { return keys[x] < keys[y] })
		for _, k := range keys {
			a.edgeKey = append(a.edgeKey, k)
			a.edgeNext = append(a.edgeNext, t.next[k])
		}
		a.out[i], a.dict[i] = t.out, -1
	}
	a.edgeStart[n] = int32(len(a.edgeKey))
	// Failure links, breadth first.
	var queue []int32
	for b, c := range trie[0].next {
		a.root[b] = c
		queue = append(queue, c)
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for e := a.edgeStart[s]; e < a.edgeStart[s+1]; e++ {
			b, c := a.edgeKey[e], a.edgeNext[e]
			f := a.fail[s]
			for {
				if f == 0 {
					a.fail[c] = a.root[b]
					break
				}
				if t := a.child(f, b); t >= 0 {
					a.fail[c] = t
					break
				}
				f = a.fail[f]
			}
			if a.fail[c] == c {
				a.fail[c] = 0
			}
			if fl := a.fail[c]; a.out[fl] >= 0 {
				a.dict[c] = fl
			} else {
				a.dict[c] = a.dict[fl]
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
	for i, b := range text {
		for {
			if s == 0 {
				s = a.root[b]
				break
			}
			if t := a.child(s, b); t >= 0 {
				s = t
				break
			}
			s = a.fail[s]
		}
		for o := s; o > 0; o = a.dict[o] {
			if id := a.out[o]; id >= 0 {
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
