package classify

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/internal/i18n"
)

// Sample is a demand with the labels a person gave it: as stored in the
// register (its confirmed labels) or as read from a labelled file. An
// empty label means that attribute is not labelled.
type Sample struct {
	ID      string // the demand's code, or the file's id or line
	Record  *demand.Record
	Type    demand.Type
	Urgency demand.Urgency
}

// Labels are a type and an urgency.
type Labels struct {
	Type    demand.Type    `json:"type"`
	Urgency demand.Urgency `json:"urgency"`
}

// Case is a sample with what the current rules say about it.
type Case struct {
	Seq         int // input order, so that reports do not depend on scheduling
	ID          string
	Title, Text string
	Confirmed   Labels
	Predicted   Labels
	// TypeWhy and UrgencyWhy are the reasons that decided the predicted
	// values: a rule with its words, a default, a stated answer.
	TypeWhy, UrgencyWhy demand.Reason
	// Excerpt is the start of the title and text on one line, set when
	// the rules miss a label: made by the workers, not the one goroutine
	// that tallies.
	Excerpt string
}

// Predict is what the current rules say about r without its confirmed
// labels: a copy of r, the confirmed-label reasons dropped, classified
// again. Reclassify alone would keep a confirmed label (it is built for
// replays that must not overwrite people), so those reasons go first; a
// value the item itself stated (a questionnaire answer, an email header)
// is taken back from its reason, because a confirmation overwrote it on
// the record. r is not changed.
func (e *Engine) Predict(ctx context.Context, r *demand.Record) (*demand.Record, error) {
	cp := *r
	cp.Reasons = make([]demand.Reason, 0, len(r.Reasons))
	cp.Tags = nil
	for _, why := range r.Reasons {
		if why.Rule == demand.RuleConfirmed {
			continue
		}
		cp.Reasons = append(cp.Reasons, why)
		if why.Rule == demand.RuleAnswer || why.Rule == demand.RuleHeader {
			switch why.Attribute {
			case "type":
				cp.Type = demand.Type(why.Value)
			case "urgency":
				cp.Urgency = demand.Urgency(why.Value)
			case "importance":
				cp.Importance = demand.Importance(why.Value)
			}
		}
	}
	if err := e.Reclassify(ctx, &cp); err != nil {
		return nil, err
	}
	return &cp, nil
}

// decidedBy is the reason that set attr last: a later reason for the same
// attribute is an override.
func decidedBy(r *demand.Record, attr string) demand.Reason {
	for i := len(r.Reasons) - 1; i >= 0; i-- {
		if r.Reasons[i].Attribute == attr {
			return r.Reasons[i]
		}
	}
	return demand.Reason{}
}

// PredictAll classifies the samples each emits on every CPU and hands
// each Case to collect, one call at a time (collect needs no lock), in no
// particular order: Case.Seq gives the input order. Engine is safe for
// concurrent use (its rules and directory are immutable, its scratch
// space pooled), so the workers share eng. The first error — of each,
// a prediction, collect or ctx — stops the rest and is returned.
func PredictAll(ctx context.Context, eng *Engine, each func(emit func(Sample) error) error, collect func(Case) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	type job struct {
		seq int
		s   Sample
	}
	workers := runtime.GOMAXPROCS(0)
	in := make(chan job, 64*workers)
	out := make(chan Case, 64*workers)
	go func() {
		defer close(in)
		seq := 0
		err := each(func(s Sample) error {
			select {
			case in <- job{seq, s}:
				seq++
				return nil
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		})
		if err != nil {
			cancel(err)
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range in {
				if ctx.Err() != nil {
					continue // drain, so that the producer ends
				}
				p, err := eng.Predict(ctx, j.s.Record)
				if err != nil {
					cancel(err)
					continue
				}
				c := Case{Seq: j.seq, ID: j.s.ID, Title: j.s.Record.Description.Title, Text: j.s.Record.Description.Text,
					Confirmed: Labels{j.s.Type, j.s.Urgency}, Predicted: Labels{p.Type, p.Urgency},
					TypeWhy: decidedBy(p, "type"), UrgencyWhy: decidedBy(p, "urgency")}
				if c.Confirmed.Type != "" && c.Confirmed.Type != c.Predicted.Type ||
					c.Confirmed.Urgency != "" && c.Confirmed.Urgency != c.Predicted.Urgency {
					c.Excerpt = Excerpt(c.Title, c.Text, 80)
				}
				select {
				case out <- c:
				case <-ctx.Done():
				}
			}
		}()
	}
	go func() {
		wg.Wait()
		close(out)
	}()
	for c := range out {
		if ctx.Err() != nil {
			continue
		}
		if err := collect(c); err != nil {
			cancel(err)
		}
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return nil
}

// TaxonomyTypes are the types of a taxonomy, in the order reports show
// them.
func TaxonomyTypes(taxonomy string) []demand.Type {
	if taxonomy == TaxonomyThree {
		return []demand.Type{demand.TypeFunctional, demand.TypeExperience, demand.TypeStrategic}
	}
	return []demand.Type{demand.TypeInquiry, demand.TypeComplaint, demand.TypeSuggestion, demand.TypeFeature, demand.TypeService}
}

// Urgencies are the urgency values, in the order reports show them.
var Urgencies = []demand.Urgency{demand.UrgencyHigh, demand.UrgencyMedium, demand.UrgencyLow}

// Evaluation is the accuracy of the rules against labelled demands.
type Evaluation struct {
	Rules      string                `json:"rules"`
	Taxonomy   string                `json:"taxonomy"`
	Samples    int                   `json:"samples"`
	Attributes []AttributeEvaluation `json:"attributes"` // type, then urgency
}

// AttributeEvaluation is the accuracy of one attribute with its confusion
// matrix: Matrix[i][j] counts demands labelled Labels[i] that the rules
// call Labels[j].
type AttributeEvaluation struct {
	Attribute string   `json:"attribute"`
	Labelled  int      `json:"labelled"`
	Correct   int      `json:"correct"`
	Accuracy  float64  `json:"accuracy"` // Correct / Labelled, 0 when nothing is labelled
	Labels    []string `json:"labels"`
	Matrix    [][]int  `json:"matrix"`
	Misses    []Miss   `json:"misses"`
}

// Miss is a demand the rules get wrong, with the reason they give.
type Miss struct {
	ID        string   `json:"id"`
	Confirmed string   `json:"confirmed"`
	Predicted string   `json:"predicted"`
	Rule      string   `json:"rule"`
	Matched   []string `json:"matched,omitempty"`
	Excerpt   string   `json:"excerpt"`
	seq       int
}

// Evaluator adds up Cases into an Evaluation.
type Evaluator struct {
	rules   *Rules
	samples int
	attrs   [2]*attrTally
}

type attrTally struct {
	name    string
	order   []string // the taxonomy's values first, then others seen
	index   map[string]int
	counts  map[[2]string]int
	total   int
	correct int
	misses  []Miss
}

// NewEvaluator tallies against rules (for the taxonomy and the name).
func NewEvaluator(rules *Rules) *Evaluator {
	types := TaxonomyTypes(rules.Taxonomy)
	tn := make([]string, len(types))
	for i, t := range types {
		tn[i] = string(t)
	}
	un := make([]string, len(Urgencies))
	for i, u := range Urgencies {
		un[i] = string(u)
	}
	return &Evaluator{rules: rules, attrs: [2]*attrTally{newTally("type", tn), newTally("urgency", un)}}
}

func newTally(name string, order []string) *attrTally {
	t := &attrTally{name: name, order: order, index: map[string]int{}, counts: map[[2]string]int{}}
	for i, v := range order {
		t.index[v] = i
	}
	return t
}

// Add counts one case.
func (ev *Evaluator) Add(c Case) {
	ev.samples++
	ev.attrs[0].add(c, string(c.Confirmed.Type), string(c.Predicted.Type), c.TypeWhy)
	ev.attrs[1].add(c, string(c.Confirmed.Urgency), string(c.Predicted.Urgency), c.UrgencyWhy)
}

func (t *attrTally) add(c Case, confirmed, predicted string, why demand.Reason) {
	if confirmed == "" {
		return
	}
	t.total++
	t.counts[[2]string{confirmed, predicted}]++
	for _, v := range []string{confirmed, predicted} {
		if _, ok := t.index[v]; !ok {
			t.index[v] = -1 // placed after the known values, sorted, by Result
		}
	}
	if confirmed == predicted {
		t.correct++
		return
	}
	t.misses = append(t.misses, Miss{ID: c.ID, Confirmed: confirmed, Predicted: predicted, Rule: why.Rule,
		Matched: why.Matched, Excerpt: c.Excerpt, seq: c.Seq})
}

// Result is the evaluation of what was added, misses in input order.
func (ev *Evaluator) Result() Evaluation {
	e := Evaluation{Rules: ev.rules.Source, Taxonomy: ev.rules.Taxonomy, Samples: ev.samples}
	for _, t := range ev.attrs {
		var extra []string
		for v, i := range t.index {
			if i < 0 {
				extra = append(extra, v)
			}
		}
		sort.Strings(extra)
		labels := append(slices.Clone(t.order), extra...)
		m := make([][]int, len(labels))
		for i, conf := range labels {
			m[i] = make([]int, len(labels))
			for j, pred := range labels {
				m[i][j] = t.counts[[2]string{conf, pred}]
			}
		}
		misses := slices.Clone(t.misses)
		sort.Slice(misses, func(a, b int) bool { return misses[a].seq < misses[b].seq })
		a := AttributeEvaluation{Attribute: t.name, Labelled: t.total, Correct: t.correct, Labels: labels, Matrix: m, Misses: misses}
		if misses == nil {
			a.Misses = []Miss{}
		}
		if t.total > 0 {
			a.Accuracy = float64(t.correct) / float64(t.total)
		}
		e.Attributes = append(e.Attributes, a)
	}
	return e
}

// Excerpt is the start of a demand's title and text on one line, white
// space collapsed, cut to at most n runes with "…". It reads no further
// than it needs: a report over a large register makes one per miss.
func Excerpt(title, text string, n int) string {
	out := make([]rune, 0, n+1)
	pending := false // a space is due before the next rune
	for _, s := range [2]string{title, text} {
		for _, r := range s {
			if len(out) > n {
				break
			}
			if unicode.IsSpace(r) {
				pending = len(out) > 0
				continue
			}
			if pending {
				out = append(out, ' ')
				pending = false
			}
			out = append(out, r)
		}
		pending = len(out) > 0
	}
	if len(out) <= n {
		return string(out)
	}
	return strings.TrimRight(string(out[:n-1]), " ") + "…"
}

// labelColumns are the header names of a labelled table, folded; the
// tracking table's own headers (需求编号, 需求描述, 需求类型, 紧急程度,
// 来源渠道) are among them, so that a corrected export reads as it is.
var labelColumns = map[string]string{
	"id": "id", "编号": "id", "需求编号": "id", "code": "id", "demand id": "id",
	"channel": "channel", "渠道": "channel", "来源渠道": "channel", "来源": "channel",
	"title": "title", "标题": "title", "主题": "title", "subject": "title",
	"text": "text", "描述": "text", "需求描述": "text", "description": "text", "内容": "text", "body": "text",
	"type": "type", "类型": "type", "需求类型": "type",
	"urgency": "urgency", "紧急程度": "urgency", "紧急度": "urgency",
}

// ReadSamples reads a labelled file: JSON Lines (.jsonl: {"id", "channel",
// "title", "text", "type", "urgency"} per line), or a .csv (UTF-8) or
// .xlsx table whose header row — within its first ten rows, so that a
// tracking table with its title row reads as it is — names a title or text
// column (标题, 描述/需求描述) and a type (类型/需求类型) or urgency (紧急程度)
// column; id (编号) and channel (渠道) are optional. Labels are English
// names or Chinese labels; an empty one leaves that attribute unlabelled.
// received is the receive time of every sample (deadlines such as
// "今天必须" count from it).
func ReadSamples(path string, received time.Time) ([]Sample, error) {
	var (
		samples []Sample
		err     error
	)
	switch strings.ToLower(filepath.Ext(path)) {
	case ".jsonl", ".ndjson":
		samples, err = readJSONL(path, received)
	case ".csv", ".xlsx", ".xlsm":
		samples, err = readLabelTable(path, received)
	default:
		return nil, i18n.Errorf("标注文件 %s：应为 .jsonl、.csv 或 .xlsx", "labelled file %s: want .jsonl, .csv or .xlsx", path)
	}
	if err != nil {
		return nil, err
	}
	if len(samples) == 0 {
		return nil, i18n.Errorf("标注文件 %s 中没有带类型或紧急程度标注的需求", "labelled file %s holds no demand with a type or urgency label", path)
	}
	return samples, nil
}

func readJSONL(path string, received time.Time) ([]Sample, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("classify: read labels: %w", err)
	}
	defer f.Close()
	var samples []Sample
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var l struct{ ID, Channel, Title, Text, Type, Urgency string }
		if err := json.Unmarshal(line, &l); err != nil {
			return nil, i18n.Wrap(err, i18n.Tf("%s 第 %d 行：不是 JSON 对象（%v）", "%s line %d: not a JSON object (%v)", path, n, err))
		}
		s, ok, err := sample(l.ID, l.Channel, l.Title, l.Text, l.Type, l.Urgency, received)
		if err != nil {
			return nil, i18n.Wrap(err, i18n.Tf("%s 第 %d 行：%v", "%s line %d: %v", path, n, err))
		}
		if ok {
			if s.ID == "" {
				s.ID = fmt.Sprintf("#%d", n)
			}
			samples = append(samples, s)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("classify: read labels %s: %w", path, err)
	}
	return samples, nil
}

func readLabelTable(path string, received time.Time) ([]Sample, error) {
	rows, err := readTable(path)
	if err != nil {
		return nil, fmt.Errorf("classify: read labels %s: %w", path, err)
	}
	header, col := -1, map[string]int{}
	for i := 0; i < len(rows) && i < 10 && header < 0; i++ {
		found := map[string]int{}
		for j, h := range rows[i] {
			if name, ok := labelColumns[Fold(h)]; ok {
				if _, dup := found[name]; !dup {
					found[name] = j
				}
			}
		}
		_, title := found["title"]
		_, text := found["text"]
		_, typ := found["type"]
		_, urg := found["urgency"]
		if (title || text) && (typ || urg) {
			header, col = i, found
		}
	}
	if header < 0 {
		return nil, i18n.Errorf("%s：没有找到表头（需要 标题/title 或 描述/需求描述/text 列，以及 类型/需求类型/type 或 紧急程度/urgency 列）",
			"%s: no header row found (want a 标题/title or 描述/需求描述/text column, and a 类型/需求类型/type or 紧急程度/urgency column)", path)
	}
	get := func(row []string, name string) string {
		if i, ok := col[name]; ok && i < len(row) {
			return strings.TrimSpace(row[i])
		}
		return ""
	}
	var samples []Sample
	for i, row := range rows[header+1:] {
		n := header + i + 2 // as a spreadsheet numbers rows
		s, ok, err := sample(get(row, "id"), get(row, "channel"), get(row, "title"), get(row, "text"),
			get(row, "type"), get(row, "urgency"), received)
		if err != nil {
			return nil, i18n.Wrap(err, i18n.Tf("%s 第 %d 行：%v", "%s row %d: %v", path, n, err))
		}
		if ok {
			if s.ID == "" {
				s.ID = fmt.Sprintf("#%d", n)
			}
			samples = append(samples, s)
		}
	}
	return samples, nil
}

// sample makes a Sample of one labelled line; ok is false for a line with
// no text or no label (a blank row).
func sample(id, channel, title, text, typ, urgency string, received time.Time) (Sample, bool, error) {
	if strings.TrimSpace(title+text) == "" || strings.TrimSpace(typ+urgency) == "" {
		return Sample{}, false, nil
	}
	s := Sample{ID: id, Record: &demand.Record{Description: demand.Description{Title: title, Text: text},
		Source: demand.Source{Channel: demand.ChannelManual, Name: "labels", ReceivedAt: received}}}
	var err error
	if typ != "" {
		if s.Type, err = demand.ParseType(typ); err != nil {
			return s, false, err
		}
	}
	if urgency != "" {
		if s.Urgency, err = demand.ParseUrgency(urgency); err != nil {
			return s, false, err
		}
	}
	if channel != "" {
		// The tracking table writes the channel with its source name
		// ("问卷 · inbox"): its first word is the channel.
		ch, err := demand.ParseChannel(channel)
		if err != nil {
			first := strings.FieldsFunc(channel, func(r rune) bool { return r == ' ' || r == '(' || r == '（' || r == '/' })
			if len(first) == 0 {
				return s, false, err
			}
			if ch, err = demand.ParseChannel(first[0]); err != nil {
				return s, false, err
			}
		}
		s.Record.Source.Channel = ch
	}
	return s, true, nil
}
