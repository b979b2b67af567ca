package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/demandd/demandd/classify"
	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/internal/testenv"
	"github.com/demandd/demandd/store"
)

// seeded is a demand for a test register: its text and the labels a
// person confirmed ("" for none).
type seeded struct {
	text    string
	typ     demand.Type
	urgency demand.Urgency
}

// seedRegister stores demands classified by the built-in rules, as intake
// does, then confirms their labels as the API does; it returns the codes.
func seedRegister(t testing.TB, url string, demands []seeded) []string {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	eng := builtinEngine(t)
	recv := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	var entries []store.Entry
	for i, d := range demands {
		r := &demand.Record{Description: demand.Description{Text: d.text}, Customer: demand.Customer{Name: "华信科技"},
			Source: demand.Source{Channel: demand.ChannelQuestionnaire, Name: "inbox", Origin: demand.OriginRaised, ReceivedAt: recv.Add(time.Duration(i) * time.Hour)}}
		if err := eng.Classify(ctx, r); err != nil {
			t.Fatal(err)
		}
		entries = append(entries, store.Entry{Record: r, Raw: store.RawItem{Channel: "questionnaire", Source: "inbox",
			ExternalKey: fmt.Sprintf("seed-%d", i), Ref: fmt.Sprintf("seed.xlsx 第%d行", i+2), SHA256: "00", ContentType: "application/json",
			Body: []byte(`{}`), Origin: "raised", Status: store.RawOK, ReceivedAt: r.Source.ReceivedAt}})
	}
	res, err := st.SaveBatch(ctx, entries, nil, store.BatchOptions{CodePrefix: "DEM", Location: testenv.Shanghai, Now: recv})
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range demands {
		p := store.Progress{By: "token:ops"}
		if d.typ != "" {
			p.Type = &demands[i].typ
		}
		if d.urgency != "" {
			p.Urgency = &demands[i].urgency
		}
		if p.Type == nil && p.Urgency == nil {
			continue
		}
		if _, _, err := st.UpdateProgress(ctx, res.Codes[i], p); err != nil {
			t.Fatal(err)
		}
	}
	return res.Codes
}

func builtinEngine(t testing.TB) *classify.Engine {
	t.Helper()
	rules, _, err := classify.Load(classify.Sources{})
	if err != nil {
		t.Fatal(err)
	}
	cal, err := classify.NewCalendar(testenv.Shanghai, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := classify.NewEngine(classify.Options{Calendar: cal, SLA: classify.SLA{P1: 24 * time.Hour, P2Workdays: 7, P3Days: 14, P4Days: 30}}, rules, nil)
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

// sixConfirmed are six demands with confirmed labels, two of which the
// built-in rules get wrong (a complaint asked as a question they call an
// inquiry, an urgent demand they call medium), and one never confirmed.
var sixConfirmed = []seeded{
	{"想问一下你们支持对接有赞商城吗？", demand.TypeInquiry, demand.UrgencyLow},
	{"客服态度太差了，非常不满意", demand.TypeComplaint, demand.UrgencyLow},
	{"希望增加批量导出功能", demand.TypeSuggestion, demand.UrgencyLow},
	{"系统宕机，所有门店无法下单", demand.TypeComplaint, demand.UrgencyHigh},
	{"请问蓝鲸工单为什么三天了还没人处理？", demand.TypeComplaint, ""},
	{"发票什么时候能开？月底财务要结账", demand.TypeInquiry, demand.UrgencyHigh},
	{"请问支持微信支付吗？", "", ""},
}

// evalJSON is the shape of `rules evaluate --json`.
type evalJSON struct {
	Source     string
	Rules      string
	Taxonomy   string
	Samples    int
	Attributes []struct {
		Attribute         string
		Labelled, Correct int
		Accuracy          float64
		Labels            []string
		Matrix            [][]int
		Misses            []struct {
			ID, Confirmed, Predicted, Rule, Excerpt string
			Matched                                 []string
		}
	}
}

func TestRulesEvaluateRegister(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(b.Name, func(t *testing.T) {
			dir, url := t.TempDir(), b.URL(t)
			codes := seedRegister(t, url, sixConfirmed)
			cfg := writeConfig(t, dir, url, "")
			code, out, errOut := demandd(t, "rules", "evaluate", "--json", "--config", cfg)
			var got evalJSON
			if err := json.Unmarshal([]byte(out), &got); code != exitOK || err != nil {
				t.Fatalf("evaluate --json: exit %d, %v, %q %q", code, err, out, errOut)
			}
			if got.Source != "register" || got.Samples != 6 || got.Taxonomy != "five" || len(got.Attributes) != 2 {
				t.Fatalf("evaluation %+v", got)
			}
			typ, urg := got.Attributes[0], got.Attributes[1]
			wantType := [][]int{{2, 0, 0, 0, 0}, {1, 2, 0, 0, 0}, {0, 0, 1, 0, 0}, {0, 0, 0, 0, 0}, {0, 0, 0, 0, 0}}
			if typ.Attribute != "type" || typ.Labelled != 6 || typ.Correct != 5 || !reflect.DeepEqual(typ.Matrix, wantType) {
				t.Errorf("type %+v", typ)
			}
			if len(typ.Misses) != 1 || typ.Misses[0].ID != codes[4] || typ.Misses[0].Confirmed != "complaint" ||
				typ.Misses[0].Predicted != "inquiry" || typ.Misses[0].Rule == "" || len(typ.Misses[0].Matched) == 0 {
				t.Errorf("type misses %+v", typ.Misses)
			}
			if urg.Labelled != 5 || urg.Correct != 4 || !reflect.DeepEqual(urg.Matrix, [][]int{{1, 1, 0}, {0, 0, 0}, {0, 0, 3}}) ||
				len(urg.Misses) != 1 || urg.Misses[0].ID != codes[5] || urg.Misses[0].Rule != "业务受影响" {
				t.Errorf("urgency %+v", urg)
			}

			code, out, errOut = demandd(t, "rules", "evaluate", "--config", cfg)
			for _, want := range []string{"类型：准确率 5/6 = 83.3%", "紧急程度：准确率 4/5 = 80.0%", "确认 \\ 预测", "未命中（1）",
				codes[4], "蓝鲸工单", codes[5]} {
				if code != exitOK || !strings.Contains(out, want) {
					t.Errorf("evaluate: exit %d, no %q in\n%s%s", code, want, out, errOut)
				}
			}
			// --since after every demand: nothing to evaluate, still a report.
			code, out, _ = demandd(t, "rules", "evaluate", "--since", "2027-01-01", "--config", cfg)
			if code != exitOK || !strings.Contains(out, "没有可评估的需求") {
				t.Errorf("evaluate --since: %d %q", code, out)
			}
		})
	}
}

func TestRulesEvaluateEnglishAndErrors(t *testing.T) {
	t.Setenv("DEMANDD_LOCALE", "en") // for the usage errors found before a configuration is read
	dir := t.TempDir()
	url := "sqlite:" + filepath.Join(dir, "d.db")
	seedRegister(t, url, sixConfirmed)
	cfg := filepath.Join(dir, "en.toml")
	os.WriteFile(cfg, fmt.Appendf(nil, "locale = \"en\"\ndata_dir = %q\n[database]\nurl = %q\n", dir, url), 0o644)
	code, out, _ := demandd(t, "rules", "evaluate", "--config", cfg)
	for _, want := range []string{"Type: accuracy 5/6 = 83.3%", "confirmed \\ predicted", "complaint", "Misses (1):", "DECIDED BY"} {
		if code != exitOK || !strings.Contains(out, want) {
			t.Errorf("evaluate in English: exit %d, no %q in\n%s", code, want, out)
		}
	}
	none := writeConfig(t, t.TempDir(), "", "")
	labels := filepath.Join(dir, "l.jsonl")
	os.WriteFile(labels, []byte(`{"text":"你好","type":"bug"}`+"\n"), 0o644)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no register", []string{"rules", "evaluate", "--config", none}, exitUsage, "没有找到需求登记册"},
		{"suggest without a register", []string{"rules", "suggest", "--config", none}, exitUsage, "没有找到需求登记册"},
		{"--since with --labels", []string{"rules", "evaluate", "--labels", labels, "--since", "2026-01-01", "--config", cfg}, exitUsage, "--since applies to the register"},
		{"bad label", []string{"rules", "evaluate", "--labels", labels, "--config", cfg}, exitUsage, `line 1: unknown type "bug"`},
		{"bad date", []string{"rules", "suggest", "--since", "yesterday", "--config", cfg}, exitUsage, "YYYY-MM-DD"},
		{"stray argument", []string{"rules", "evaluate", labels, "--config", cfg}, exitUsage, "--labels FILE"},
		{"zero top", []string{"rules", "suggest", "--top", "0", "--config", cfg}, exitUsage, "at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := demandd(t, tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, %q; want %d and %q", code, errOut, tt.code, tt.want)
			}
		})
	}
}

// TestRulesEvaluateFiles evaluates the same four labelled demands written
// as JSON Lines, CSV and a workbook: no register is needed.
func TestRulesEvaluateFiles(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "", "")
	rows := [][]string{
		{"id", "title", "text", "type", "urgency"},
		{"a1", "", "客服态度太差了，非常不满意", "投诉", "低"},
		{"a2", "", "系统宕机，所有门店无法下单", "complaint", "high"},
		{"a3", "蓝鲸工单", "请问蓝鲸工单为什么三天了还没人处理？", "complaint", "medium"},
		{"a4", "", "希望增加批量导出功能", "建议", ""},
	}
	jsonl := filepath.Join(dir, "l.jsonl")
	var lines []string
	for _, r := range rows[1:] {
		b, _ := json.Marshal(map[string]string{"id": r[0], "title": r[1], "text": r[2], "type": r[3], "urgency": r[4]})
		lines = append(lines, string(b))
	}
	os.WriteFile(jsonl, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	csvFile := filepath.Join(dir, "l.csv")
	var csv strings.Builder
	for _, r := range rows {
		csv.WriteString(strings.Join(r, ",") + "\n")
	}
	os.WriteFile(csvFile, []byte(strings.Replace(csv.String(), "id,title,text,type,urgency", "编号,标题,需求描述,需求类型,紧急程度", 1)), 0o644)
	book := filepath.Join(dir, "l.xlsx")
	f := excelize.NewFile()
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		f.SetSheetRow("Sheet1", cell, &r)
	}
	if err := f.SaveAs(book); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{jsonl, csvFile, book} {
		t.Run(filepath.Ext(file), func(t *testing.T) {
			code, out, errOut := demandd(t, "rules", "evaluate", "--labels", file, "--json", "--config", cfg)
			var got evalJSON
			if err := json.Unmarshal([]byte(out), &got); code != exitOK || err != nil {
				t.Fatalf("exit %d, %v, %q %q", code, err, out, errOut)
			}
			typ, urg := got.Attributes[0], got.Attributes[1]
			if got.Source != file || got.Samples != 4 || typ.Labelled != 4 || typ.Correct != 3 || urg.Labelled != 3 || urg.Correct != 3 {
				t.Errorf("%+v", got)
			}
			if len(typ.Misses) != 1 || typ.Misses[0].ID != "a3" || typ.Misses[0].Predicted != "inquiry" {
				t.Errorf("misses %+v", typ.Misses)
			}
			code, out, _ = demandd(t, "rules", "evaluate", "--labels", file, "--config", cfg)
			if code != exitOK || !strings.Contains(out, "类型：准确率 3/4 = 75.0%") || !strings.Contains(out, "a3") {
				t.Errorf("text: %d %q", code, out)
			}
		})
	}
}

// suggestJSON is the shape of `rules suggest --json`.
type suggestJSON struct {
	Source             string
	Samples, Corrected int
	MinCount           int `json:"min_count"`
	Suggestions        []struct {
		Attribute, Value, Term string
		Count, Others, Fixes   int
		Lift                   float64
		Changes                []struct{ ID, Confirmed, Predicted string }
		DecidedBy              map[string]int `json:"decided_by"`
		Snippet                string
	}
}

func TestRulesSuggest(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(b.Name, func(t *testing.T) {
			dir, url := t.TempDir(), b.URL(t)
			// 蓝鲸工单, a made-up ticket system, in four demands confirmed
			// as complaints that the rules call inquiries.
			demands := []seeded{
				{"想问一下蓝鲸工单怎么又丢了？", demand.TypeComplaint, ""},
				{"请问蓝鲸工单在哪里查看进度，等了一周", demand.TypeComplaint, ""},
				{"蓝鲸工单为什么一直没人处理？", demand.TypeComplaint, ""},
				{"你们的蓝鲸工单系统是什么情况？", demand.TypeComplaint, ""},
				{"客服态度太差了，非常不满意", demand.TypeComplaint, demand.UrgencyLow},
				{"请问怎么导出报表？", demand.TypeInquiry, ""},
				{"请问有没有操作手册？", demand.TypeInquiry, ""},
				{"希望增加批量导出功能", demand.TypeSuggestion, ""},
			}
			codes := seedRegister(t, url, demands)
			cfg := writeConfig(t, dir, url, "")
			_, before, _ := demandd(t, "list", "--json", "--config", cfg)
			code, out, errOut := demandd(t, "rules", "suggest", "--json", "--config", cfg)
			var got suggestJSON
			if err := json.Unmarshal([]byte(out), &got); code != exitOK || err != nil {
				t.Fatalf("suggest --json: exit %d, %v, %q %q", code, err, out, errOut)
			}
			if got.Samples != 8 || got.Corrected != 4 || got.MinCount != 3 {
				t.Errorf("suggest: %d samples, %d corrected, min count %d", got.Samples, got.Corrected, got.MinCount)
			}
			found := false
			for _, s := range got.Suggestions {
				if s.Term != "蓝鲸工单" || s.Value != "complaint" {
					continue
				}
				found = true
				var ids []string
				for _, c := range s.Changes {
					ids = append(ids, c.ID)
				}
				if s.Attribute != "type" || s.Count != 4 || s.Others != 0 || s.Fixes != 4 || !slices.Equal(ids, codes[:4]) || s.DecidedBy["询问"] == 0 {
					t.Errorf("蓝鲸工单: %+v", s)
				}
			}
			if !found {
				t.Fatalf("蓝鲸工单 not suggested for complaint: %s", out)
			}
			code, out, _ = demandd(t, "rules", "suggest", "--config", cfg)
			snippet := "[[rule]]\nname = \"候选关键词 投诉 蓝鲸工单\"\nany = [\"蓝鲸工单\"]\nset_type = \"complaint\"\n"
			if code != exitOK || !strings.Contains(out, snippet) || !strings.Contains(out, "出现在 4/5 条投诉需求") ||
				!strings.Contains(out, codes[0]+", "+codes[1]) || !strings.Contains(out, "没有修改任何内容") {
				t.Errorf("suggest: %d\n%s", code, out)
			}
			// The whole output is a rules fragment that `rules check` accepts.
			frag := filepath.Join(dir, "suggested.toml")
			os.WriteFile(frag, []byte(out), 0o644)
			if code, out, errOut := demandd(t, "rules", "check", frag); code != exitOK {
				t.Errorf("rules check of the suggestions: %d %q %q", code, out, errOut)
			}
			code, out, _ = demandd(t, "rules", "suggest", "--min-count", "9", "--config", cfg)
			if code != exitOK || !strings.Contains(out, "没有找到候选关键词") {
				t.Errorf("suggest --min-count 9: %d %q", code, out)
			}
			if _, after, _ := demandd(t, "list", "--json", "--config", cfg); after != before {
				t.Error("suggest changed the register")
			}
		})
	}
}
