package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/demandd/demandd/classify"
	"github.com/demandd/demandd/config"
	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/ingest"
	"github.com/demandd/demandd/ingest/folder"
	"github.com/demandd/demandd/normalize"
	"github.com/demandd/demandd/store"
)

func (c *cli) rules(ctx context.Context, args []string) error {
	sub, err := c.group("rules", args)
	if err != nil {
		return err
	}
	switch sub {
	case "example":
		fs, _ := c.flags("rules example")
		tax := fs.String("taxonomy", "five", "five (咨询/投诉/建议/功能/服务) or three (功能型/体验型/战略型)")
		if _, err := c.parse(fs, args[1:]); err != nil {
			return err
		}
		if *tax != classify.TaxonomyFive && *tax != classify.TaxonomyThree {
			return usagef("--taxonomy：应为 five 或 three", "--taxonomy: want five or three")
		}
		fmt.Fprint(c.stdout, classify.DefaultRules(*tax))
		return nil
	case "check":
		fs, _ := c.flags("rules check")
		files, err := c.parse(fs, args[1:])
		if err != nil {
			return err
		}
		if len(files) != 1 {
			return usagef("用法：demandd rules check 文件", "usage: demandd rules check FILE")
		}
		rs, err := classify.LoadRules(files[0])
		if err != nil {
			return usageError{err}
		}
		fmt.Fprintf(c.stdout, "%s: ok (%s-way taxonomy, %d rules, %d keywords)\n", files[0], rs.Taxonomy, rs.Len(), rs.Keywords())
		return nil
	case "evaluate":
		return c.rulesEvaluate(ctx, args[1:])
	case "suggest":
		return c.rulesSuggest(ctx, args[1:])
	}
	return nil
}

func (c *cli) classifyCmd(ctx context.Context, args []string) error {
	fs, cfgPath := c.flags("classify")
	explain := fs.Bool("explain", false, "classify a text or a file and print the decision with its reasons")
	text := fs.String("text", "", "with --explain: the demand's text")
	title := fs.String("title", "", "with --explain: a title or subject")
	file := fs.String("file", "", "with --explain: a .eml, .json, or a questionnaire .xlsx/.csv/.xls with --row")
	row := fs.Int("row", 0, "with --file: the questionnaire row number, as Excel shows it")
	asJSON := fs.Bool("json", false, "print JSON")
	replay := fs.Bool("replay", false, "re-run the current rules over stored demands and report what would change")
	since := fs.String("since", "", "with --replay: only demands received on or after this date (YYYY-MM-DD)")
	apply := fs.Bool("apply", false, "with --replay: write the changes (old values kept in each demand's history)")
	if _, err := c.parse(fs, args); err != nil {
		return err
	}
	if *explain == *replay {
		return usagef("请给出 --explain 或 --replay 之一", "give --explain or --replay")
	}
	if *replay {
		a, err := c.open(ctx, *cfgPath, existingOnly)
		if err != nil {
			return err
		}
		defer a.Close()
		return c.replay(ctx, a, *since, *apply, *asJSON)
	}
	// Explaining needs the rules, not the register: nothing is opened.
	cfg, err := c.loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	cls, err := newClassifier(cfg)
	if err != nil {
		return usageError{err}
	}
	rec, err := c.explainInput(ctx, cfg, *text, *title, *file, *row)
	if err != nil {
		return err
	}
	if err := cls.Classify(ctx, rec); err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(rec)
	}
	return c.printDecision(cfg, rec)
}

// explainInput makes the record to explain from --text or --file.
func (c *cli) explainInput(ctx context.Context, cfg *config.Config, text, title, file string, row int) (*demand.Record, error) {
	now := time.Now()
	if file == "" {
		if text == "" && title == "" {
			return nil, usagef("--explain 需要 --text \"…\" 或 --file 文件", "--explain needs --text \"…\" or --file FILE")
		}
		return &demand.Record{Description: demand.Description{Title: title, Text: text},
			Source: demand.Source{Channel: demand.ChannelManual, Name: "explain", ReceivedAt: now}}, nil
	}
	switch ext := strings.ToLower(filepath.Ext(file)); {
	case ext == ".eml":
		return emailRecord(file, now)
	case ext == ".json":
		return jsonRecord(file, now)
	case folder.Supported(file):
		if row <= 0 {
			return nil, usagef("问卷文件需要 --row N（Excel 中显示的行号；表头是第 1 行）",
				"--row N is required for a questionnaire file (the row number as Excel shows it; the header is row 1)")
		}
		it, err := folder.ReadRow(file, row)
		if err != nil {
			return nil, usageError{err}
		}
		norm := normalize.New(normalize.Options{Aliases: cfg.Questionnaire.Aliases, Location: cfg.Location()})
		rec, err := norm.Normalize(ctx, it)
		if err != nil {
			return nil, usageError{fmt.Errorf("row %d: %w", row, err)}
		}
		return rec, nil
	default:
		return nil, usagef("--file %s：应为 .eml、.json、.xlsx、.csv 或 .xls 文件", "--file %s: want .eml, .json, .xlsx, .csv or .xls", file)
	}
}

// emailRecord normalises a message as the email channel does.
func emailRecord(path string, now time.Time) (*demand.Record, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	rec, err := normalize.Email(ingest.Item{Channel: demand.ChannelEmail, Source: "explain", Body: b, ReceivedAt: now,
		ContentType: ingest.ContentTypeEmail})
	if err != nil {
		return nil, usageError{fmt.Errorf("%s: %w", path, err)}
	}
	return rec, nil
}

// jsonRecord reads a payload as a webhook source without a preset does.
func jsonRecord(path string, now time.Time) (*demand.Record, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	rec, err := normalize.JSON(ingest.Item{Channel: demand.ChannelWebhook, Source: "explain", Body: b, ReceivedAt: now,
		ContentType: ingest.ContentTypeJSON})
	if err != nil {
		return nil, usageError{fmt.Errorf("%s: %w", path, err)}
	}
	return rec, nil
}

func (c *cli) printDecision(cfg *config.Config, r *demand.Record) error {
	reasons := map[string][]string{}
	for _, why := range r.Reasons {
		s := why.Rule
		if len(why.Matched) > 0 {
			s += " (" + strings.Join(why.Matched, ", ") + ")"
		}
		reasons[why.Attribute] = append(reasons[why.Attribute], s)
	}
	tab := newTable(c.stdout, c.lang, column{"属性", "attribute", 22}, column{"结果", "value", 28}, column{"依据", "why", 0})
	line := func(name, value, attr string) { tab.row(name, value, strings.Join(reasons[attr], "; ")) }
	line("类型 type", string(r.Type)+" "+r.Type.Label(), "type")
	line("紧急程度 urgency", string(r.Urgency)+" "+r.Urgency.Label(), "urgency")
	line("重要程度 importance", string(r.Importance)+" "+r.Importance.Label(), "importance")
	line("优先级 priority", string(r.Priority)+" "+r.Priority.Label(), "priority")
	line("责任部门 department", r.Department, "department")
	line("截止时间 due", r.DueAt.In(cfg.Location()).Format("2006-01-02 15:04")+" ("+r.SLA+")", "due_at")
	if len(r.Tags) > 0 {
		line("标签 tags", strings.Join(r.Tags, ", "), "tags")
	}
	if r.Customer.Name != "" || r.Customer.Tier != "" {
		line("客户 customer", r.Customer.Name+" "+r.Customer.Tier.Label(), "tier")
	}
	return tab.err
}

// replay re-runs the rules over stored demands; with apply it writes the
// changes in batches, the old values kept in the history.
func (c *cli) replay(ctx context.Context, a *app, since string, apply, asJSON bool) error {
	f, err := dateRange(since, "", a.cfg.Location())
	if err != nil {
		return err
	}
	var changes []store.Change
	seen := 0
	err = a.store.EachDemand(ctx, f, func(old *demand.Record) error {
		seen++
		cp := *old
		cp.Reasons = append([]demand.Reason(nil), old.Reasons...)
		cp.Tags = append([]string(nil), old.Tags...)
		if err := a.classify.Reclassify(ctx, &cp); err != nil {
			return err
		}
		if diff := classificationDiff(old, &cp); diff != "" {
			if asJSON {
				b, _ := json.Marshal(map[string]any{"code": old.Code, "changes": diff})
				fmt.Fprintln(c.stdout, string(b))
			} else {
				fmt.Fprintf(c.stdout, "%s  %s\n", old.Code, diff)
			}
			changes = append(changes, store.Change{Old: old, New: &cp})
		}
		return nil
	})
	if err != nil {
		return err
	}
	verb := "would change"
	if apply && len(changes) > 0 {
		for start := 0; start < len(changes); start += 500 {
			if err := a.store.Reclassify(ctx, changes[start:min(start+500, len(changes))]); err != nil {
				return err
			}
		}
		verb = "changed"
	}
	if !asJSON {
		fmt.Fprintf(c.stdout, "%d of %d demands %s under the current rules (%s)\n", len(changes), seen, verb, a.classify.Rules().Source)
	}
	return nil
}

func classificationDiff(a, b *demand.Record) string {
	var parts []string
	add := func(name, x, y string) {
		if x != y {
			parts = append(parts, fmt.Sprintf("%s %s→%s", name, x, y))
		}
	}
	add("type", string(a.Type), string(b.Type))
	add("urgency", string(a.Urgency), string(b.Urgency))
	add("importance", string(a.Importance), string(b.Importance))
	add("priority", string(a.Priority), string(b.Priority))
	add("department", a.Department, b.Department)
	add("due", a.DueAt.UTC().Format(time.RFC3339), b.DueAt.UTC().Format(time.RFC3339))
	add("tags", strings.Join(a.Tags, ","), strings.Join(b.Tags, ","))
	return strings.Join(parts, "  ")
}
