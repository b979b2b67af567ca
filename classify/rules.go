package classify

import (
	"bytes"
	_ "embed"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/internal/i18n"
	"github.com/demandd/demandd/internal/tomlpos"
)

// Embedded default rules, one file per taxonomy.
var (
	//go:embed default_rules.toml
	DefaultRulesFive string
	//go:embed default_rules_three.toml
	DefaultRulesThree string
)

// Taxonomies.
const (
	TaxonomyFive  = "five"  // 咨询/投诉/建议/功能/服务
	TaxonomyThree = "three" // 功能型/体验型/战略型
)

// DefaultRules returns the embedded rules of a taxonomy.
func DefaultRules(taxonomy string) string {
	if taxonomy == TaxonomyThree {
		return DefaultRulesThree
	}
	return DefaultRulesFive
}

// rulesFile is the TOML shape of a rules file.
type rulesFile struct {
	Taxonomy string     `toml:"taxonomy"`
	Negation *Negation  `toml:"negation"`
	Rules    []ruleSpec `toml:"rule"`
}

// ruleSpec is one [[rule]] as written.
type ruleSpec struct {
	Name string `toml:"name"`
	// Conditions.
	In           []string `toml:"in"` // title, body, text (title+body, the default), customer, source
	Any          []string `toml:"any"`
	All          []string `toml:"all"`
	None         []string `toml:"none"`
	Regex        []string `toml:"regex"`
	Channel      []string `toml:"channel"`
	Source       []string `toml:"source"`
	Tier         []string `toml:"tier"`
	IfType       string   `toml:"if_type"`
	IfUrgency    string   `toml:"if_urgency"`
	IfImportance string   `toml:"if_importance"`
	// Actions.
	SetType          string   `toml:"set_type"`
	SetUrgency       string   `toml:"set_urgency"`
	SetImportance    string   `toml:"set_importance"`
	SetDepartment    string   `toml:"set_department"`
	AddTags          []string `toml:"add_tags"`
	SetPainScore     int      `toml:"set_pain_score"`
	SetBusinessValue int      `toml:"set_business_value"`
	SetSLA           string   `toml:"set_sla"`
	Override         bool     `toml:"override"`
	Stop             bool     `toml:"stop"`
}

// field bits: which texts a rule looks at.
const (
	fieldTitle uint8 = 1 << iota
	fieldBody
	fieldCustomer
	fieldSource
	fieldText = fieldTitle | fieldBody
)

var fieldNames = map[string]uint8{"title": fieldTitle, "body": fieldBody, "text": fieldText, "any": fieldText,
	"customer": fieldCustomer, "source": fieldSource}

type rule struct {
	name           string
	line           int
	fields         uint8
	any, all, none []int32 // pattern ids
	regex          []*regexp.Regexp
	channel        map[demand.Channel]bool
	source         map[string]bool
	tier           map[demand.Tier]bool
	ifType         demand.Type
	ifUrgency      demand.Urgency
	ifImportance   demand.Importance

	setType       demand.Type
	setUrgency    demand.Urgency
	setImportance demand.Importance
	setDepartment string
	addTags       []string
	setPain       int
	setValue      int
	setSLA        time.Duration
	override      bool
	stop          bool
}

// Rules is a compiled rules file; it is immutable and safe for concurrent
// use.
type Rules struct {
	Source   string // file name, or "built-in"
	Taxonomy string
	rules    []rule
	patterns []string
	ac       *automaton
	patRules [][]int32 // pattern id → rules that use it
	always   []int32   // rules with no any/all keywords: evaluated on every text
	fields   uint8     // the fields any rule looks at: others are not scanned
	neg      negator
	scratch  sync.Pool
}

// RuleError is a broken rules file: the file, the line and the rule.
type RuleError struct {
	File string
	Line int
	Rule string
	Msg  string
	// MsgZH is Msg in Chinese where it tells what to do; empty when the
	// message only quotes values, which read the same in both languages.
	MsgZH string
}

func (e *RuleError) Error() string { return e.format("rule", e.Msg) }

func (e *RuleError) format(rule, msg string) string {
	where := e.File
	if e.Line > 0 {
		where = fmt.Sprintf("%s:%d", where, e.Line)
	}
	if e.Rule != "" {
		return fmt.Sprintf("%s: %s %q: %s", where, rule, e.Rule, msg)
	}
	return fmt.Sprintf("%s: %s", where, msg)
}

// Unwrap gives i18n.Message the error in both languages.
func (e *RuleError) Unwrap() error {
	zh := e.MsgZH
	if zh == "" {
		zh = e.Msg
	}
	return &i18n.Error{Text: i18n.T(e.format("规则", zh), e.Error())}
}

// LoadRules reads and compiles a rules file.
func LoadRules(path string) (*Rules, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("classify: rules: %w", err)
	}
	return ParseRules(path, data)
}

// ParseRules compiles rules from data; name is used in errors.
func ParseRules(name string, data []byte) (*Rules, error) {
	var f rulesFile
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, tomlpos.DecodeError(name, err, "`demandd rules example` shows every field / 所有字段见 `demandd rules example`")
	}
	lines, _ := tomlpos.KeyLines(data)
	return compile(name, f, lines)
}

func compile(name string, f rulesFile, lines map[string]int) (*Rules, error) {
	rs := &Rules{Source: name, Taxonomy: f.Taxonomy}
	if rs.Taxonomy == "" {
		rs.Taxonomy = TaxonomyFive
	}
	if rs.Taxonomy != TaxonomyFive && rs.Taxonomy != TaxonomyThree {
		return nil, &RuleError{File: name, Line: lines["taxonomy"], Msg: fmt.Sprintf("taxonomy %q: want %q or %q", f.Taxonomy, TaxonomyFive, TaxonomyThree)}
	}
	neg := DefaultNegation()
	if f.Negation != nil {
		neg = *f.Negation
	}
	rs.neg = newNegator(neg)

	ids := map[string]int32{}
	pattern := func(kw string) (int32, error) {
		k := Fold(kw)
		if k == "" {
			return 0, fmt.Errorf("empty keyword %q", kw)
		}
		if id, ok := ids[k]; ok {
			return id, nil
		}
		id := int32(len(rs.patterns))
		ids[k] = id
		rs.patterns = append(rs.patterns, k)
		return id, nil
	}
	names := map[string]bool{}
	for i, s := range f.Rules {
		key := fmt.Sprintf("rule[%d]", i)
		line := tomlpos.LineOf(lines, key+".name")
		fail := func(format string, args ...any) error {
			return &RuleError{File: name, Line: line, Rule: s.Name, Msg: fmt.Sprintf(format, args...)}
		}
		failT := func(zh, en string, args ...any) error {
			return &RuleError{File: name, Line: line, Rule: s.Name, Msg: fmt.Sprintf(en, args...), MsgZH: fmt.Sprintf(zh, args...)}
		}
		if s.Name == "" {
			return nil, failT("每条 [[rule]] 都需要 name", "every [[rule]] needs a name")
		}
		if names[s.Name] {
			return nil, failT("规则名重复了：请改用另一个名字", "the name is used twice; give the rule another name")
		}
		names[s.Name] = true
		r := rule{name: s.Name, line: line, override: s.Override, stop: s.Stop, setDepartment: s.SetDepartment,
			setPain: s.SetPainScore, setValue: s.SetBusinessValue}
		if len(s.In) == 0 {
			r.fields = fieldText
		}
		for _, in := range s.In {
			bit, ok := fieldNames[in]
			if !ok {
				return nil, fail("in: unknown field %q (want title, body, text, customer or source)", in)
			}
			r.fields |= bit
		}
		for _, list := range []struct {
			kws []string
			dst *[]int32
		}{{s.Any, &r.any}, {s.All, &r.all}, {s.None, &r.none}} {
			for _, kw := range list.kws {
				id, err := pattern(kw)
				if err != nil {
					return nil, fail("%v", err)
				}
				*list.dst = append(*list.dst, id)
			}
		}
		for _, expr := range s.Regex {
			re, err := regexp.Compile(expr)
			if err != nil {
				return nil, failT("正则表达式 %q 有误：%v", "bad regex %q: %v", expr, err)
			}
			r.regex = append(r.regex, re)
		}
		var err error
		if r.channel, err = setOf(s.Channel, demand.ParseChannel); err != nil {
			return nil, fail("channel: %v", err)
		}
		if r.tier, err = setOf(s.Tier, demand.ParseTier); err != nil {
			return nil, fail("tier: %v", err)
		}
		if len(s.Source) > 0 {
			r.source = map[string]bool{}
			for _, src := range s.Source {
				r.source[src] = true
			}
		}
		types := func(v string) (demand.Type, error) {
			if v == "" {
				return "", nil
			}
			t, err := demand.ParseType(v)
			if err == nil && !typeInTaxonomy(t, rs.Taxonomy) {
				err = fmt.Errorf("type %q is not in the %s-way taxonomy", v, rs.Taxonomy)
			}
			return t, err
		}
		if r.ifType, err = types(s.IfType); err != nil {
			return nil, fail("if_type: %v", err)
		}
		if r.setType, err = types(s.SetType); err != nil {
			return nil, fail("set_type: %v", err)
		}
		if r.ifUrgency, err = optional(s.IfUrgency, demand.ParseUrgency); err != nil {
			return nil, fail("if_urgency: %v", err)
		}
		if r.setUrgency, err = optional(s.SetUrgency, demand.ParseUrgency); err != nil {
			return nil, fail("set_urgency: %v", err)
		}
		if r.ifImportance, err = optional(s.IfImportance, demand.ParseImportance); err != nil {
			return nil, fail("if_importance: %v", err)
		}
		if r.setImportance, err = optional(s.SetImportance, demand.ParseImportance); err != nil {
			return nil, fail("set_importance: %v", err)
		}
		for _, score := range []struct {
			name string
			v    int
		}{{"set_pain_score", s.SetPainScore}, {"set_business_value", s.SetBusinessValue}} {
			if score.v < 0 || score.v > 5 {
				return nil, fail("%s: want 1 to 5, got %d", score.name, score.v)
			}
		}
		if s.SetSLA != "" {
			d, err := time.ParseDuration(s.SetSLA)
			if err != nil || d <= 0 {
				return nil, fail("set_sla: want a duration such as \"4h\" or \"72h\", got %q", s.SetSLA)
			}
			r.setSLA = d
		}
		for _, tag := range s.AddTags {
			if t := strings.TrimSpace(tag); t != "" {
				r.addTags = append(r.addTags, t)
			}
		}
		if r.setType == "" && r.setUrgency == "" && r.setImportance == "" && r.setDepartment == "" &&
			len(r.addTags) == 0 && r.setPain == 0 && r.setValue == 0 && r.setSLA == 0 && !r.stop {
			return nil, failT("规则什么也没设置：请至少加一个 set_… / add_tags 动作，或 stop = true",
				"the rule sets nothing: give it at least one set_… / add_tags action, or stop = true")
		}
		rs.rules = append(rs.rules, r)
		rs.fields |= r.fields
	}
	rs.ac = newAutomaton(rs.patterns)
	rs.patRules = make([][]int32, len(rs.patterns))
	for i, r := range rs.rules {
		for _, id := range append(append([]int32{}, r.any...), r.all...) {
			if l := rs.patRules[id]; len(l) == 0 || l[len(l)-1] != int32(i) {
				rs.patRules[id] = append(rs.patRules[id], int32(i))
			}
		}
		if len(r.all) == 0 && (len(r.any) == 0 || len(r.regex) > 0) { // no keyword is required
			rs.always = append(rs.always, int32(i))
		}
	}
	rs.scratch.New = func() any {
		return &scratch{matched: make([]uint8, len(rs.patterns)), seen: make([]uint32, len(rs.rules))}
	}
	return rs, nil
}

func typeInTaxonomy(t demand.Type, taxonomy string) bool {
	three := t == demand.TypeFunctional || t == demand.TypeExperience || t == demand.TypeStrategic
	return three == (taxonomy == TaxonomyThree)
}

func setOf[T comparable](vals []string, parse func(string) (T, error)) (map[T]bool, error) {
	if len(vals) == 0 {
		return nil, nil
	}
	m := map[T]bool{}
	for _, v := range vals {
		t, err := parse(v)
		if err != nil {
			return nil, err
		}
		m[t] = true
	}
	return m, nil
}

func optional[T ~string](v string, parse func(string) (T, error)) (T, error) {
	if v == "" {
		return "", nil
	}
	return parse(v)
}

// Len is the number of rules.
func (rs *Rules) Len() int { return len(rs.rules) }

// Keywords is the number of distinct folded keywords.
func (rs *Rules) Keywords() int { return len(rs.patterns) }

// Input is what the rules look at.
type Input struct {
	Title, Body, Customer, SourceText string
	Channel                           demand.Channel
	SourceName                        string
	Tier                              demand.Tier
	// Preset are values the item itself stated (a questionnaire's own
	// 紧急程度 answer): rules change them only with override = true.
	Type       demand.Type
	Urgency    demand.Urgency
	Importance demand.Importance
}

// Decision is what the rules decided; empty fields were not set.
type Decision struct {
	Type          demand.Type
	Urgency       demand.Urgency
	Importance    demand.Importance
	Department    string
	Tags          []string
	PainScore     int
	BusinessValue int
	SLA           time.Duration
	Reasons       []demand.Reason
	// text is the folded title and body, for the deadline search.
	text string
}

type scratch struct {
	texts   [4][]byte
	matched []uint8 // pattern id → fields it matched in (not negated)
	touched []int32
	seen    []uint32 // rule → stamp of the last evaluation that listed it
	stamp   uint32
	cands   []int32
}

// Evaluate runs the rules over in, in file order. The first rule to set an
// attribute decides it; a later rule changes it only with override = true.
// Tags accumulate. A matching rule with stop = true ends the evaluation.
func (rs *Rules) Evaluate(in Input) Decision {
	sc := rs.scratch.Get().(*scratch)
	defer rs.scratch.Put(sc)
	for _, id := range sc.touched {
		sc.matched[id] = 0
	}
	sc.touched = sc.touched[:0]
	for i, s := range [4]string{in.Title, in.Body, in.Customer, in.SourceText} {
		bit := uint8(1) << i
		if rs.fields&bit == 0 && bit&fieldText == 0 { // title and body also serve the deadline search
			sc.texts[i] = sc.texts[i][:0]
			continue
		}
		sc.texts[i] = foldAppend(sc.texts[i][:0], s)
		text := sc.texts[i]
		rs.ac.scan(text, func(id int32, start int) {
			if sc.matched[id]&bit != 0 || !rs.wholeWord(text, id, start) || rs.neg.negated(text, start) {
				return
			}
			if sc.matched[id] == 0 {
				sc.touched = append(sc.touched, id)
			}
			sc.matched[id] |= bit
		})
	}
	// Candidate rules: those a matched keyword names, and those without
	// keywords; in file order.
	sc.stamp++
	if sc.stamp == 0 { // wrapped: forget old stamps
		clear(sc.seen)
		sc.stamp = 1
	}
	sc.cands = sc.cands[:0]
	add := func(i int32) {
		if sc.seen[i] != sc.stamp {
			sc.seen[i] = sc.stamp
			sc.cands = append(sc.cands, i)
		}
	}
	for _, id := range sc.touched {
		for _, i := range rs.patRules[id] {
			add(i)
		}
	}
	for _, i := range rs.always {
		add(i)
	}
	sort.Slice(sc.cands, func(a, b int) bool { return sc.cands[a] < sc.cands[b] })

	d := Decision{Type: in.Type, Urgency: in.Urgency, Importance: in.Importance,
		text: string(sc.texts[0]) + "\n" + string(sc.texts[1])}
	for _, i := range sc.cands {
		r := &rs.rules[i]
		matched, ok := rs.match(r, sc, &in, &d)
		if !ok {
			continue
		}
		rs.apply(r, &d, matched)
		if r.stop {
			break
		}
	}
	return d
}

// wholeWord keeps Latin keywords to whole words: "add" is not in
// "address". A keyword may take an English inflection (export → exports,
// exported, exporting). Han keywords match anywhere.
func (rs *Rules) wholeWord(text []byte, id int32, start int) bool {
	p := rs.patterns[id]
	if isWordByte(p[0]) && start > 0 && isWordByte(text[start-1]) {
		return false
	}
	end := start + len(p)
	if !isWordByte(p[len(p)-1]) || end >= len(text) || !isWordByte(text[end]) {
		return true
	}
	for _, suffix := range []string{"s", "es", "ed", "d", "ing"} {
		if e := end + len(suffix); e <= len(text) && string(text[end:e]) == suffix && (e == len(text) || !isWordByte(text[e])) {
			return true
		}
	}
	return false
}

func isWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_'
}

// match checks r's conditions and returns the words that made it match.
func (rs *Rules) match(r *rule, sc *scratch, in *Input, d *Decision) ([]string, bool) {
	if r.channel != nil && !r.channel[in.Channel] || r.source != nil && !r.source[in.SourceName] ||
		r.tier != nil && !r.tier[in.Tier] || r.ifType != "" && d.Type != r.ifType ||
		r.ifUrgency != "" && d.Urgency != r.ifUrgency || r.ifImportance != "" && d.Importance != r.ifImportance {
		return nil, false
	}
	var words []string
	hit := func(id int32) bool { return sc.matched[id]&r.fields != 0 }
	for _, id := range r.all {
		if !hit(id) {
			return nil, false
		}
		words = append(words, rs.patterns[id])
	}
	for _, id := range r.none {
		if hit(id) {
			return nil, false
		}
	}
	// any and regex are one group: at least one keyword or expression.
	if len(r.any) == 0 && len(r.regex) == 0 {
		return words, true
	}
	found := false
	for _, id := range r.any {
		if hit(id) {
			words = append(words, rs.patterns[id])
			found = true
		}
	}
	for _, re := range r.regex {
		if found {
			break
		}
		for i := range sc.texts {
			if r.fields&(1<<i) == 0 {
				continue
			}
			if m := re.Find(sc.texts[i]); m != nil {
				words = append(words, string(m))
				found = true
				break
			}
		}
	}
	if !found {
		return nil, false
	}
	return words, true
}

func (rs *Rules) apply(r *rule, d *Decision, matched []string) {
	why := func(attr, value string) {
		d.Reasons = append(d.Reasons, demand.Reason{Rule: r.name, Attribute: attr, Value: value, Matched: matched})
	}
	if r.setType != "" && (d.Type == "" || r.override) {
		d.Type = r.setType
		why("type", string(r.setType))
	}
	if r.setUrgency != "" && (d.Urgency == "" || r.override) {
		d.Urgency = r.setUrgency
		why("urgency", string(r.setUrgency))
	}
	if r.setImportance != "" && (d.Importance == "" || r.override) {
		d.Importance = r.setImportance
		why("importance", string(r.setImportance))
	}
	if r.setDepartment != "" && (d.Department == "" || r.override) {
		d.Department = r.setDepartment
		why("department", r.setDepartment)
	}
	if r.setPain != 0 && (d.PainScore == 0 || r.override) {
		d.PainScore = r.setPain
		why("pain_score", fmt.Sprint(r.setPain))
	}
	if r.setValue != 0 && (d.BusinessValue == 0 || r.override) {
		d.BusinessValue = r.setValue
		why("business_value", fmt.Sprint(r.setValue))
	}
	if r.setSLA != 0 && (d.SLA == 0 || r.override) {
		d.SLA = r.setSLA
		why("sla", r.setSLA.String())
	}
	for _, t := range r.addTags {
		if !slices.Contains(d.Tags, t) {
			d.Tags = append(d.Tags, t)
			why("tags", t)
		}
	}
}
