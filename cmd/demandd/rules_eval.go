package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/demandd/demandd/classify"
	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/internal/i18n"
	"github.com/demandd/demandd/store"
)

// labelSource is where `rules evaluate` and `rules suggest` read labelled
// demands — the register's confirmed labels or a labelled file — with the
// classifier `classify` would use.
type labelSource struct {
	cls   *classify.Engine
	lang  i18n.Locale
	from  string // "register", or the file's name
	each  func(emit func(classify.Sample) error) error
	close func()
}

// labelFlags adds the flags both commands share.
func (c *cli) labelFlags(fs *flag.FlagSet) (since, labels *string) {
	since = fs.String("since", "", i18n.T("只用此日期及之后收到的需求（YYYY-MM-DD，仅登记册）",
		"only demands received on or after this date (YYYY-MM-DD; the register only)").In(c.lang))
	labels = fs.String("labels", "", i18n.T("改用标注文件：.jsonl、.csv 或 .xlsx（列：标题/描述、类型、紧急程度，可选 编号、渠道）",
		"use a labelled file instead: .jsonl, .csv or .xlsx (columns title/text, type, urgency, optional id, channel)").In(c.lang))
	return since, labels
}

// openLabels opens the labelled demands: the file when one is named (the
// register is not opened), else the register's confirmed labels.
func (c *cli) openLabels(ctx context.Context, cfgPath, since, labels string) (*labelSource, error) {
	if labels != "" {
		if since != "" {
			return nil, usagef("--since 只用于登记册，不能与 --labels 同用", "--since applies to the register, not to --labels")
		}
		cfg, err := c.loadConfig(cfgPath)
		if err != nil {
			return nil, err
		}
		cls, err := newClassifier(cfg)
		if err != nil {
			return nil, usageError{err}
		}
		samples, err := classify.ReadSamples(labels, time.Now())
		if err != nil {
			return nil, usageError{err}
		}
		each := func(emit func(classify.Sample) error) error {
			for _, s := range samples {
				if err := emit(s); err != nil {
					return err
				}
			}
			return nil
		}
		return &labelSource{cls: cls, lang: localeOf(cfg), from: labels, each: each, close: func() {}}, nil
	}
	a, err := c.open(ctx, cfgPath, existingOnly)
	if err != nil {
		return nil, err
	}
	f, err := dateRange(since, "", a.cfg.Location())
	if err != nil {
		a.Close()
		return nil, err
	}
	each := func(emit func(classify.Sample) error) error {
		return a.store.EachConfirmed(ctx, f.Since, func(rec *demand.Record, conf store.Confirmed) error {
			return emit(classify.Sample{ID: rec.Code, Record: rec, Type: conf.Type, Urgency: conf.Urgency})
		})
	}
	return &labelSource{cls: a.classify, lang: a.lang(), from: "register", each: each, close: func() { a.Close() }}, nil
}

// fromText names the source of the labels for a person.
func (s *labelSource) fromText() string {
	if s.from == "register" {
		return i18n.T("登记册中确认的标签", "the confirmed labels in the register").In(s.lang)
	}
	return s.from
}

func (c *cli) rulesEvaluate(ctx context.Context, args []string) error {
	fs, cfgPath := c.flags("rules evaluate")
	since, labels := c.labelFlags(fs)
	asJSON := fs.Bool("json", false, i18n.T("输出一个 JSON 文档（供脚本使用）", "print one JSON document (for scripts)").In(c.lang))
	if rest, err := c.parse(fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		return usagef("多余的参数 %q；标注文件请用 --labels 文件", "unexpected argument %q; name a labelled file with --labels FILE", rest[0])
	}
	src, err := c.openLabels(ctx, *cfgPath, *since, *labels)
	if err != nil {
		return err
	}
	defer src.close()
	ev := classify.NewEvaluator(src.cls.Rules())
	if err := classify.PredictAll(ctx, src.cls, src.each, func(cs classify.Case) error { ev.Add(cs); return nil }); err != nil {
		return fmt.Errorf("rules evaluate: %w", err)
	}
	res := ev.Result()
	if *asJSON {
		return writeJSON(c.stdout, struct {
			Source string `json:"source"`
			classify.Evaluation
		}{src.from, res})
	}
	return printEvaluation(c.stdout, src, res)
}

// writeJSON writes v as one compact line: over a large register the
// misses run to megabytes, and indenting them took a tenth of the time
// (`jq .` indents for people).
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// valueLabel is a type or urgency value as a person reads it in l.
func valueLabel(l i18n.Locale, attr, v string) string {
	if attr == "urgency" {
		return label(l, demand.Urgency(v))
	}
	return label(l, demand.Type(v))
}

func attrName(l i18n.Locale, attr string) string {
	if attr == "urgency" {
		return i18n.T("紧急程度", "Urgency").In(l)
	}
	return i18n.T("类型", "Type").In(l)
}

// printEvaluation writes, per attribute, the accuracy, the confusion
// matrix and the misses with the rule that decided each.
func printEvaluation(w io.Writer, src *labelSource, e classify.Evaluation) error {
	l := src.lang
	taxonomy := i18n.T("五类", "five-way")
	if e.Taxonomy == classify.TaxonomyThree {
		taxonomy = i18n.T("三类", "three-way")
	}
	fmt.Fprintln(w, i18n.Tf("规则：%s（%s分类）；标注：%s，%d 条需求", "Rules: %s (%s taxonomy); labels: %s, %d demands",
		e.Rules, taxonomy.In(l), src.fromText(), e.Samples).In(l))
	if e.Samples == 0 {
		_, err := fmt.Fprintln(w, i18n.T("没有可评估的需求：登记册中还没有确认的类型或紧急程度（通过 API 确认），或用 --labels 文件",
			"nothing to evaluate: no demand has a confirmed type or urgency yet (confirm them through the API), or use --labels FILE").In(l))
		return err
	}
	for _, a := range e.Attributes {
		fmt.Fprintln(w)
		if a.Labelled == 0 {
			fmt.Fprintln(w, i18n.Tf("%s：没有标注", "%s: nothing labelled", attrName(l, a.Attribute)).In(l))
			continue
		}
		fmt.Fprintln(w, i18n.Tf("%s：准确率 %d/%d = %.1f%%", "%s: accuracy %d/%d = %.1f%%",
			attrName(l, a.Attribute), a.Correct, a.Labelled, a.Accuracy*100).In(l))
		cols := []column{{"确认 \\ 预测", "confirmed \\ predicted", 0}}
		for _, v := range a.Labels {
			if a.Attribute == "urgency" {
				u := demand.Urgency(v)
				cols = append(cols, column{u.Label(), u.English(), 0})
			} else {
				t := demand.Type(v)
				cols = append(cols, column{t.Label(), t.English(), 0})
			}
		}
		tab := newTable(w, l, cols...)
		for i, v := range a.Labels {
			cells := []string{valueLabel(l, a.Attribute, v)}
			for _, n := range a.Matrix[i] {
				cells = append(cells, fmt.Sprint(n))
			}
			tab.row(cells...)
		}
		if tab.err != nil {
			return tab.err
		}
		if len(a.Misses) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s\n", i18n.Tf("未命中（%d）：", "Misses (%d):", len(a.Misses)).In(l))
		tab = newTable(w, l, column{"编号", "ID", 14}, column{"确认", "CONFIRMED", 10}, column{"预测", "PREDICTED", 10},
			column{"依据", "DECIDED BY", 32}, column{"摘录", "EXCERPT", 60})
		for _, m := range a.Misses {
			why := m.Rule
			if len(m.Matched) > 0 {
				why += " (" + strings.Join(m.Matched, ", ") + ")"
			}
			tab.row(m.ID, valueLabel(l, a.Attribute, m.Confirmed), valueLabel(l, a.Attribute, m.Predicted), why, m.Excerpt)
		}
		if tab.err != nil {
			return tab.err
		}
	}
	return nil
}

func (c *cli) rulesSuggest(ctx context.Context, args []string) error {
	fs, cfgPath := c.flags("rules suggest")
	since, labels := c.labelFlags(fs)
	minCount := fs.Int("min-count", 3, i18n.T("关键词至少出现在该类型的多少条需求中", "the least number of demands of the value a keyword must appear in").In(c.lang))
	top := fs.Int("top", 10, i18n.T("每个类型、每个紧急程度最多建议几个关键词", "at most this many keywords per type and per urgency").In(c.lang))
	asJSON := fs.Bool("json", false, i18n.T("输出一个 JSON 文档（供脚本使用）", "print one JSON document (for scripts)").In(c.lang))
	if rest, err := c.parse(fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		return usagef("多余的参数 %q；标注文件请用 --labels 文件", "unexpected argument %q; name a labelled file with --labels FILE", rest[0])
	}
	if *minCount < 1 || *top < 1 {
		return usagef("--min-count 和 --top 应至少为 1", "--min-count and --top must be at least 1")
	}
	src, err := c.openLabels(ctx, *cfgPath, *since, *labels)
	if err != nil {
		return err
	}
	defer src.close()
	m := classify.NewMiner(src.cls.Rules())
	samples, corrected := 0, 0
	err = classify.PredictAll(ctx, src.cls, src.each, func(cs classify.Case) error {
		samples++
		if cs.Confirmed.Type != "" && cs.Confirmed.Type != cs.Predicted.Type ||
			cs.Confirmed.Urgency != "" && cs.Confirmed.Urgency != cs.Predicted.Urgency {
			corrected++
		}
		m.Add(cs)
		return nil
	})
	if err != nil {
		return fmt.Errorf("rules suggest: %w", err)
	}
	sugg := m.Suggest(classify.SuggestOptions{MinCount: *minCount, Top: *top}, src.lang)
	if *asJSON {
		if sugg == nil {
			sugg = []classify.Suggestion{}
		}
		return writeJSON(c.stdout, struct {
			Source      string                `json:"source"`
			Rules       string                `json:"rules"`
			Samples     int                   `json:"samples"`
			Corrected   int                   `json:"corrected"`
			MinCount    int                   `json:"min_count"`
			Top         int                   `json:"top"`
			Suggestions []classify.Suggestion `json:"suggestions"`
		}{src.from, src.cls.Rules().Source, samples, corrected, *minCount, *top, sugg})
	}
	l := src.lang
	// The output is itself a rules fragment: comments, then rules.
	fmt.Fprintln(c.stdout, i18n.Tf("# demandd rules suggest：%s，%d 条需求，其中 %d 条与当前规则（%s）不符。仅为建议，没有修改任何内容。",
		"# demandd rules suggest: %s, %d demands, %d of them labelled otherwise than the current rules (%s) say. Suggestions only; nothing was changed.",
		src.fromText(), samples, corrected, src.cls.Rules().Source).In(l))
	fmt.Fprintln(c.stdout, i18n.T("# 规则按文件顺序执行，先设置属性的规则说了算：把片段贴在“现由”所列规则之前，或加上 override = true。",
		"# Rules run in file order and the first to set an attribute decides it: paste a snippet before the rules named in \"decided now by\", or add override = true.").In(l))
	if len(sugg) == 0 {
		_, err := fmt.Fprintln(c.stdout, i18n.Tf("# 没有找到候选关键词（至少出现在 %d 条需求中、且能改对被纠正的需求）。",
			"# no keyword found (in at least %d demands of a value, putting a corrected demand right).", *minCount).In(l))
		return err
	}
	for _, s := range sugg {
		if _, err := fmt.Fprintf(c.stdout, "\n%s", s.Snippet); err != nil {
			return err
		}
	}
	return nil
}
