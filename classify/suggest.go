package classify

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/internal/i18n"
	"github.com/demandd/demandd/internal/tomlpos"
)

// SuggestOptions tune Suggest.
type SuggestOptions struct {
	// MinCount is how many demands labelled with the value a term must
	// appear in; default 3.
	MinCount int
	// Top is the number of suggestions per value; default 10.
	Top int
	// MinLift is the least lift a term needs; default 2.
	MinLift float64
}

func (o SuggestOptions) withDefaults() SuggestOptions {
	if o.MinCount <= 0 {
		o.MinCount = 3
	}
	if o.Top <= 0 {
		o.Top = 10
	}
	if o.MinLift <= 0 {
		o.MinLift = 2
	}
	return o
}

// Suggestion is a keyword candidate for one value of an attribute, with
// its evidence and a rule to paste.
type Suggestion struct {
	Attribute   string  `json:"attribute"` // "type" or "urgency"
	Value       string  `json:"value"`
	Term        string  `json:"term"`
	Count       int     `json:"count"`        // demands labelled Value it appears in
	Total       int     `json:"total"`        // demands labelled Value
	Others      int     `json:"others"`       // other labelled demands it appears in
	OthersTotal int     `json:"others_total"` // other labelled demands
	Lift        float64 `json:"lift"`
	// Changes are the labelled demands it appears in that the rules do
	// not call Value now: a rule with the term would change them. Those
	// labelled Value are put right (Fixes counts them), the others wrong.
	Changes []Change `json:"changes"`
	Fixes   int      `json:"fixes"`
	// DecidedBy counts the rules that decide the changed demands now: a
	// pasted rule must come before them (or say override = true).
	DecidedBy map[string]int `json:"decided_by"`
	Snippet   string         `json:"snippet"`
}

// Change is a demand a suggested rule would change.
type Change struct {
	ID        string `json:"id"`
	Confirmed string `json:"confirmed"`
	Predicted string `json:"predicted"`
}

// Miner collects labelled demands and suggests keywords from them.
//
// Candidates come from the corrected demands — labelled otherwise than the
// rules say — because a term that changes nothing the rules get wrong is
// no improvement; their counts and lift come from every labelled demand,
// because a keyword's precision shows only against the demands the rules
// get right as well.
type Miner struct {
	rules *Rules
	docs  []minedDoc
}

type minedDoc struct {
	seq                  int
	id, text             string // text: folded title and body
	confirmed, predicted Labels
	typeRule, urgRule    string
}

// NewMiner mines against rules: their taxonomy, and their keywords, which
// are not suggested again.
func NewMiner(rules *Rules) *Miner { return &Miner{rules: rules} }

// Add keeps one case.
func (m *Miner) Add(c Case) {
	m.docs = append(m.docs, minedDoc{seq: c.Seq, id: c.ID, text: Fold(c.Title + "\n" + c.Text),
		confirmed: c.Confirmed, predicted: c.Predicted, typeRule: c.TypeWhy.Rule, urgRule: c.UrgencyWhy.Rule})
}

// Suggest ranks keyword candidates per type, then per urgency: by lift,
// then by count. Snippets' comments are in l.
func (m *Miner) Suggest(opts SuggestOptions, l i18n.Locale) []Suggestion {
	opts = opts.withDefaults()
	sort.Slice(m.docs, func(a, b int) bool { return m.docs[a].seq < m.docs[b].seq })
	var out []Suggestion
	var order []string
	for _, t := range TaxonomyTypes(m.rules.Taxonomy) {
		order = append(order, string(t))
	}
	out = append(out, m.suggest("type", order, func(d *minedDoc) (string, string, string) {
		return string(d.confirmed.Type), string(d.predicted.Type), d.typeRule
	}, opts, l)...)
	order = order[:0]
	for _, u := range Urgencies {
		order = append(order, string(u))
	}
	out = append(out, m.suggest("urgency", order, func(d *minedDoc) (string, string, string) {
		return string(d.confirmed.Urgency), string(d.predicted.Urgency), d.urgRule
	}, opts, l)...)
	return out
}

type termStat struct {
	n, fix []int32 // per class: labelled demands with the term; those the rules get wrong
}

// suggest mines one attribute; get returns a document's label, prediction
// and deciding rule.
func (m *Miner) suggest(attr string, order []string, get func(*minedDoc) (string, string, string), opts SuggestOptions, l i18n.Locale) []Suggestion {
	// Classes: the taxonomy's values, then other labels seen.
	class := map[string]int{}
	classes := slices.Clone(order)
	for i, v := range classes {
		class[v] = i
	}
	for i := range m.docs {
		if conf, _, _ := get(&m.docs[i]); conf != "" {
			if _, ok := class[conf]; !ok {
				class[conf] = len(classes)
				classes = append(classes, conf)
			}
		}
	}
	k := len(classes)
	// Candidates: the terms of the corrected demands.
	stats := map[string]*termStat{}
	var buf []string
	for i := range m.docs {
		d := &m.docs[i]
		if conf, pred, _ := get(d); conf != "" && conf != pred {
			buf = Terms(buf[:0], d.text)
			for _, t := range buf {
				if stats[t] == nil {
					stats[t] = &termStat{n: make([]int32, k), fix: make([]int32, k)}
				}
			}
		}
	}
	// Counts over every labelled demand.
	totals := make([]int, k)
	labelled := 0
	for i := range m.docs {
		d := &m.docs[i]
		conf, pred, _ := get(d)
		if conf == "" {
			continue
		}
		c := class[conf]
		totals[c]++
		labelled++
		buf = Terms(buf[:0], d.text)
		for _, t := range buf {
			if st := stats[t]; st != nil {
				st.n[c]++
				if conf != pred {
					st.fix[c]++
				}
			}
		}
	}
	var picked []Suggestion
	for c, value := range classes {
		known := m.keywords(attr, value)
		var cands []Suggestion
		for term, st := range stats {
			n, others := int(st.n[c]), -int(st.n[c])
			for _, x := range st.n {
				others += int(x)
			}
			if n < opts.MinCount || st.fix[c] == 0 {
				continue
			}
			// Laplace smoothing: a term absent from the other demands
			// gets a finite lift that still grows with its count.
			lift := (float64(n+1) / float64(totals[c]+2)) / (float64(others+1) / float64(labelled-totals[c]+2))
			if lift < opts.MinLift || overlaps(term, known) {
				continue
			}
			cands = append(cands, Suggestion{Attribute: attr, Value: value, Term: term, Count: n, Total: totals[c],
				Others: others, OthersTotal: labelled - totals[c], Lift: math.Round(lift*100) / 100})
		}
		cands = dedupe(cands)
		sort.Slice(cands, func(a, b int) bool {
			x, y := &cands[a], &cands[b]
			if x.Lift != y.Lift {
				return x.Lift > y.Lift
			}
			if x.Count != y.Count {
				return x.Count > y.Count
			}
			return x.Term < y.Term
		})
		picked = append(picked, cands[:min(len(cands), opts.Top)]...)
	}
	// The demands each pick would change, in input order.
	byTerm := map[string][]int{}
	for i, s := range picked {
		byTerm[s.Term] = append(byTerm[s.Term], i)
		picked[i].Changes = []Change{}
		picked[i].DecidedBy = map[string]int{}
	}
	for i := range m.docs {
		d := &m.docs[i]
		conf, pred, rule := get(d)
		if conf == "" {
			continue
		}
		buf = Terms(buf[:0], d.text)
		for _, t := range buf {
			for _, j := range byTerm[t] {
				s := &picked[j]
				if pred == s.Value {
					continue
				}
				s.Changes = append(s.Changes, Change{ID: d.id, Confirmed: conf, Predicted: pred})
				s.DecidedBy[rule]++
				if conf == s.Value {
					s.Fixes++
				}
			}
		}
	}
	for i := range picked {
		picked[i].Snippet = picked[i].snippet(l)
	}
	return picked
}

// keywords are the folded keywords of the rules that set attr to value:
// suggesting them again would add nothing.
func (m *Miner) keywords(attr, value string) map[string]bool {
	known := map[string]bool{}
	for i := range m.rules.rules {
		r := &m.rules.rules[i]
		if attr == "type" && string(r.setType) == value || attr == "urgency" && string(r.setUrgency) == value {
			for _, id := range append(slices.Clone(r.any), r.all...) {
				known[m.rules.patterns[id]] = true
			}
		}
	}
	return known
}

// overlaps reports a term that is a known keyword, or — for Han terms —
// contains one or is part of one: where it matches, the keyword's rule
// matches already, or it is that keyword cut short (希望增 of 希望增加).
// Either adds nothing a rule's order or override would not.
func overlaps(term string, known map[string]bool) bool {
	if known[term] {
		return true
	}
	if term[0] < utf8.RuneSelf {
		return false
	}
	for k := range known {
		if strings.Contains(k, term) || strings.Contains(term, k) {
			return true
		}
	}
	return false
}

// dedupe drops an n-gram contained in a longer candidate of the same
// support: 蓝鲸 and 鲸工单 say nothing 蓝鲸工单 does not.
func dedupe(cands []Suggestion) []Suggestion {
	at := map[string]int{}
	for i, s := range cands {
		at[s.Term] = i
	}
	drop := make([]bool, len(cands))
	for _, s := range cands {
		rs := []rune(s.Term)
		if len(rs) < 3 || rs[0] < utf8.RuneSelf {
			continue
		}
		for i := 0; i < len(rs); i++ {
			for j := i + 2; j <= len(rs); j++ {
				if j-i == len(rs) {
					continue
				}
				if k, ok := at[string(rs[i:j])]; ok && cands[k].Count == s.Count && cands[k].Others == s.Others {
					drop[k] = true
				}
			}
		}
	}
	out := cands[:0]
	for i, s := range cands {
		if !drop[i] {
			out = append(out, s)
		}
	}
	return out
}

// snippet is the suggestion as a rule in the rules file's syntax, after a
// comment with its evidence.
func (s *Suggestion) snippet(l i18n.Locale) string {
	var ids []string
	for i, c := range s.Changes {
		if i == 8 {
			ids = append(ids, fmt.Sprintf("… +%d", len(s.Changes)-i))
			break
		}
		ids = append(ids, c.ID)
	}
	rules := make([]string, 0, len(s.DecidedBy))
	for r := range s.DecidedBy {
		rules = append(rules, r)
	}
	sort.Slice(rules, func(a, b int) bool {
		if s.DecidedBy[rules[a]] != s.DecidedBy[rules[b]] {
			return s.DecidedBy[rules[a]] > s.DecidedBy[rules[b]]
		}
		return rules[a] < rules[b]
	})
	for i, r := range rules {
		rules[i] = fmt.Sprintf("%s (%d)", r, s.DecidedBy[r])
	}
	name := valueName(s.Attribute, s.Value, l)
	comment := i18n.Tf("# %s「%s」：出现在 %d/%d 条%s需求、%d/%d 条其他需求中；提升度 %.1f；将改变 %d 条（其中改对 %d 条）：%s；现由 %s 决定",
		"# %s %q: in %d of %d %s demands, %d of %d others; lift %.1f; would change %d (%d put right): %s; decided now by %s",
		name, s.Term, s.Count, s.Total, name, s.Others, s.OthersTotal, s.Lift, len(s.Changes), s.Fixes,
		strings.Join(ids, ", "), strings.Join(rules, ", ")).In(l)
	set := "set_type"
	if s.Attribute == "urgency" {
		set = "set_urgency"
	}
	ruleName := i18n.Tf("候选关键词 %s %s", "suggested %s %s", name, s.Term).In(l)
	return fmt.Sprintf("%s\n[[rule]]\nname = %s\nany = [%s]\n%s = %s\n", comment, tomlpos.Quote(ruleName), tomlpos.Quote(s.Term), set, tomlpos.Quote(s.Value))
}

// valueName is a type or urgency as a person reads it in l.
func valueName(attr, value string, l i18n.Locale) string {
	if attr == "urgency" {
		u := demand.Urgency(value)
		if l == i18n.EN {
			return u.English() + " urgency"
		}
		return u.Label() + "紧急度"
	}
	t := demand.Type(value)
	if l == i18n.EN {
		return t.English()
	}
	return t.Label()
}

// englishStop are words too common to be a keyword of anything.
var englishStop = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`a an the and or but if of to in on at by for from with as is are was were be been
		it its this that these those we you i he she they me us our your my their them there here what which who
		when where how can could would will should shall may might do doe did have ha had not no so than then too
		very just also please hi hello dear thank thanks regard best all any some get got let about into out up has does`) {
		englishStop[w] = true
	}
}

// Terms appends the distinct terms of folded text to dst, sorted: the
// n-grams of 2 to 4 Han characters within a run of Han characters (no
// word segmentation; punctuation, spaces and Latin letters end a run, so
// no n-gram crosses them), and Latin words lightly stemmed (plural -s and
// -es, -ing, -ed stripped, so that the stem as a rule keyword matches the
// word: the rules accept those endings), without common function words.
func Terms(dst []string, text string) []string {
	start := len(dst)
	var run []int // byte offsets of the current Han run's characters, then its end
	flush := func(end int) {
		if len(run) >= 2 {
			run = append(run, end)
			chars := len(run) - 1
			for i := 0; i < chars; i++ {
				for n := 2; n <= 4 && i+n <= chars; n++ {
					dst = append(dst, text[run[i]:run[i+n]])
				}
			}
		}
		run = run[:0]
	}
	for i := 0; i < len(text); {
		c := text[i]
		if 'a' <= c && c <= 'z' {
			flush(i)
			j := i
			for j < len(text) && 'a' <= text[j] && text[j] <= 'z' {
				j++
			}
			// A word glued to digits ("v2", "win10") is a code, not a word.
			if (i == 0 || !isDigit(text[i-1])) && (j == len(text) || !isDigit(text[j])) {
				if w := stem(text[i:j]); len(w) >= 2 && !englishStop[w] {
					dst = append(dst, w)
				}
			}
			i = j
			continue
		}
		r, n := utf8.DecodeRuneInString(text[i:])
		if r >= 0x2E80 && unicode.Is(unicode.Han, r) {
			run = append(run, i)
		} else {
			flush(i)
		}
		i += n
	}
	flush(len(text))
	tail := dst[start:]
	sort.Strings(tail)
	return append(dst[:start], slices.Compact(tail)...)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// stem strips one English ending, keeping a stem of three letters or
// more.
func stem(w string) string {
	switch {
	case len(w) >= 6 && strings.HasSuffix(w, "ing"):
		return w[:len(w)-3]
	case len(w) >= 5 && strings.HasSuffix(w, "ed"):
		return w[:len(w)-2]
	case len(w) >= 5 && (strings.HasSuffix(w, "sses") || strings.HasSuffix(w, "shes") || strings.HasSuffix(w, "ches") ||
		strings.HasSuffix(w, "xes") || strings.HasSuffix(w, "zes")):
		return w[:len(w)-2]
	case len(w) >= 4 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us") &&
		!strings.HasSuffix(w, "is"):
		return w[:len(w)-1]
	}
	return w
}
