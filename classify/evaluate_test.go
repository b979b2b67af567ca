package classify

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/xuri/excelize/v2"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/internal/i18n"
)

func testEngine(t testing.TB) *Engine {
	t.Helper()
	rules, _, err := Load(Sources{})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := NewEngine(Options{Calendar: mustCalendar(t), SLA: SLA{P1: 24 * time.Hour, P2Workdays: 7, P3Days: 14, P4Days: 30}}, rules, nil)
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

func mustCalendar(t testing.TB) *Calendar {
	cal, err := NewCalendar(shanghai, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cal
}

var received = time.Date(2026, 11, 24, 10, 0, 0, 0, shanghai)

func TestPredictIgnoresConfirmedLabels(t *testing.T) {
	eng := testEngine(t)
	confirmed := func(attr, v string) demand.Reason {
		return demand.Reason{Rule: demand.RuleConfirmed, Attribute: attr, Value: v, Matched: []string{"ops"}}
	}
	tests := []struct {
		name        string
		rec         demand.Record
		wantType    demand.Type
		wantUrgency demand.Urgency
	}{
		{"confirmed type and urgency are not the answer",
			demand.Record{Description: demand.Description{Text: "请问发票怎么开？"}, Type: demand.TypeComplaint, Urgency: demand.UrgencyHigh,
				Reasons: []demand.Reason{{Rule: "咨询", Attribute: "type", Value: "inquiry"}, confirmed("type", "complaint"), confirmed("urgency", "high")}},
			demand.TypeInquiry, demand.UrgencyLow},
		{"a questionnaire's own answer is taken back from its reason",
			demand.Record{Description: demand.Description{Text: "希望增加批量导出功能"}, Type: demand.TypeSuggestion, Urgency: demand.UrgencyHigh,
				Reasons: []demand.Reason{{Rule: demand.RuleAnswer, Attribute: "urgency", Value: "low", Matched: []string{"不急"}}, confirmed("urgency", "high")}},
			demand.TypeSuggestion, demand.UrgencyLow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := tt.rec
			rec.Source.ReceivedAt = received
			before := len(rec.Reasons)
			p, err := eng.Predict(context.Background(), &rec)
			if err != nil {
				t.Fatal(err)
			}
			if p.Type != tt.wantType || p.Urgency != tt.wantUrgency {
				t.Errorf("predicted %s/%s, want %s/%s (%+v)", p.Type, p.Urgency, tt.wantType, tt.wantUrgency, p.Reasons)
			}
			for _, r := range p.Reasons {
				if r.Rule == demand.RuleConfirmed {
					t.Errorf("the prediction kept a confirmed label: %+v", r)
				}
			}
			if len(rec.Reasons) != before || rec.Type != tt.rec.Type {
				t.Error("Predict changed its input")
			}
		})
	}
}

// sixSamples are six demands, two of them labelled otherwise than the
// built-in rules say: a complaint asked as a question they call an
// inquiry, and an urgent demand they call medium.
func sixSamples() []Sample {
	s := func(id, text string, typ demand.Type, u demand.Urgency) Sample {
		return Sample{ID: id, Type: typ, Urgency: u, Record: &demand.Record{Description: demand.Description{Text: text},
			Source: demand.Source{Channel: demand.ChannelManual, ReceivedAt: received}}}
	}
	return []Sample{
		s("d1", "想问一下你们支持对接有赞商城吗？", demand.TypeInquiry, demand.UrgencyLow),
		s("d2", "客服态度太差了，非常不满意", demand.TypeComplaint, demand.UrgencyLow),
		s("d3", "希望增加批量导出功能", demand.TypeSuggestion, demand.UrgencyLow),
		s("d4", "系统宕机，所有门店无法下单", demand.TypeComplaint, demand.UrgencyHigh),
		s("d5", "请问蓝鲸工单为什么三天了还没人处理？", demand.TypeComplaint, ""),             // rules: inquiry
		s("d6", "发票什么时候能开？月底财务要结账", demand.TypeInquiry, demand.UrgencyHigh), // rules: medium
	}
}

func emitAll(samples []Sample) func(func(Sample) error) error {
	return func(emit func(Sample) error) error {
		for _, s := range samples {
			if err := emit(s); err != nil {
				return err
			}
		}
		return nil
	}
}

func evaluate(t *testing.T, eng *Engine, samples []Sample) Evaluation {
	t.Helper()
	ev := NewEvaluator(eng.Rules())
	if err := PredictAll(context.Background(), eng, emitAll(samples), func(c Case) error { ev.Add(c); return nil }); err != nil {
		t.Fatal(err)
	}
	return ev.Result()
}

func TestEvaluateConfusionMatrix(t *testing.T) {
	eng := testEngine(t)
	e := evaluate(t, eng, sixSamples())
	if e.Samples != 6 || e.Taxonomy != TaxonomyFive || len(e.Attributes) != 2 {
		t.Fatalf("evaluation %+v", e)
	}
	typ, urg := e.Attributes[0], e.Attributes[1]
	wantType := [][]int{ // inquiry complaint suggestion feature service
		{2, 0, 0, 0, 0},
		{1, 2, 0, 0, 0},
		{0, 0, 1, 0, 0},
		{0, 0, 0, 0, 0},
		{0, 0, 0, 0, 0},
	}
	if typ.Labelled != 6 || typ.Correct != 5 || !reflect.DeepEqual(typ.Matrix, wantType) ||
		!reflect.DeepEqual(typ.Labels, []string{"inquiry", "complaint", "suggestion", "feature", "service"}) {
		t.Errorf("type: %d/%d %v %v", typ.Correct, typ.Labelled, typ.Labels, typ.Matrix)
	}
	if len(typ.Misses) != 1 || typ.Misses[0].ID != "d5" || typ.Misses[0].Confirmed != "complaint" ||
		typ.Misses[0].Predicted != "inquiry" || typ.Misses[0].Rule == "" || !strings.Contains(typ.Misses[0].Excerpt, "蓝鲸工单") {
		t.Errorf("type misses %+v", typ.Misses)
	}
	wantUrg := [][]int{{1, 1, 0}, {0, 0, 0}, {0, 0, 3}} // d5 has no urgency label
	if urg.Labelled != 5 || urg.Correct != 4 || !reflect.DeepEqual(urg.Matrix, wantUrg) {
		t.Errorf("urgency: %d/%d %v", urg.Correct, urg.Labelled, urg.Matrix)
	}
	if len(urg.Misses) != 1 || urg.Misses[0].ID != "d6" || urg.Misses[0].Predicted != "medium" || urg.Misses[0].Rule != "业务受影响" {
		t.Errorf("urgency misses %+v", urg.Misses)
	}
	if a := typ.Accuracy; a < 0.83 || a > 0.84 {
		t.Errorf("type accuracy %v, want 5/6", a)
	}
}

func TestEvaluateOrderAndUnknownLabels(t *testing.T) {
	eng := testEngine(t)
	var samples []Sample
	for i := 0; i < 300; i++ { // enough to spread over the workers
		s := sixSamples()[4]
		s.ID = string(rune('A'+i%26)) + strings.Repeat("x", i/26)
		samples = append(samples, s)
	}
	samples[7].Type = demand.TypeStrategic // a three-way label under five-way rules
	e := evaluate(t, eng, samples)
	typ := e.Attributes[0]
	if len(typ.Misses) != 300 {
		t.Fatalf("%d misses", len(typ.Misses))
	}
	for i, m := range typ.Misses {
		if m.ID != samples[i].ID {
			t.Fatalf("miss %d is %s, want %s: misses are in input order", i, m.ID, samples[i].ID)
		}
	}
	if last := typ.Labels[len(typ.Labels)-1]; last != "strategic" || len(typ.Matrix) != 6 || typ.Matrix[5][0] != 1 {
		t.Errorf("labels %v matrix %v: an unknown label gets a row of its own", typ.Labels, typ.Matrix)
	}
}

func TestPredictAllStopsOnError(t *testing.T) {
	eng := testEngine(t)
	boom := errors.New("boom")
	tests := []struct {
		name    string
		each    func(func(Sample) error) error
		collect func(Case) error
	}{
		{"the source fails", func(emit func(Sample) error) error {
			if err := emitAll(sixSamples())(emit); err != nil {
				return err
			}
			return boom
		}, func(Case) error { return nil }},
		{"collect fails", func(emit func(Sample) error) error {
			for range 1000 {
				if err := emitAll(sixSamples())(emit); err != nil {
					return err
				}
			}
			return nil
		}, func(Case) error { return boom }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := PredictAll(context.Background(), eng, tt.each, tt.collect); !errors.Is(err, boom) {
				t.Errorf("error %v, want boom", err)
			}
		})
	}
}

func TestReadSamples(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	book := filepath.Join(dir, "labels.xlsx")
	f := excelize.NewFile()
	for i, row := range [][]any{
		{"需求分析与响应跟踪表 导出于 2026-11-24"}, // a title row, as the tracking table has
		{"需求编号", "需求描述", "需求类型", "紧急程度", "来源渠道"},
		{"DEM202611001", "客服态度太差了，非常不满意", "投诉", "中", "问卷 · inbox"},
		{"DEM202611002", "系统宕机，所有门店无法下单", "服务", "紧急", "工单"},
	} {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Sheet1", cell, &row); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.SaveAs(book); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		want []Sample // records compared by text and channel
		err  string
	}{
		{"jsonl", write("l.jsonl", `{"id":"q1","channel":"questionnaire","title":"","text":"想问一下支持有赞吗？","type":"inquiry","urgency":"medium"}`+"\n\n"+
			`{"id":"","title":"导出","text":"希望增加导出","type":"功能","urgency":""}`+"\n"),
			[]Sample{{ID: "q1", Type: demand.TypeInquiry, Urgency: demand.UrgencyMedium, Record: rec("", "想问一下支持有赞吗？", demand.ChannelQuestionnaire)},
				{ID: "#3", Type: demand.TypeFeature, Record: rec("导出", "希望增加导出", demand.ChannelManual)}}, ""},
		{"csv with Chinese headers and a BOM", write("l.csv", "\uFEFF标题,描述,类型,紧急程度\n,发票什么时候能开？,服务请求,high\n,,,\n订单,订单丢了,complaint,\n"),
			[]Sample{{ID: "#2", Type: demand.TypeService, Urgency: demand.UrgencyHigh, Record: rec("", "发票什么时候能开？", demand.ChannelManual)},
				{ID: "#4", Type: demand.TypeComplaint, Record: rec("订单", "订单丢了", demand.ChannelManual)}}, ""},
		{"a tracking table with its title row", book,
			[]Sample{{ID: "DEM202611001", Type: demand.TypeComplaint, Urgency: demand.UrgencyMedium, Record: rec("", "客服态度太差了，非常不满意", demand.ChannelQuestionnaire)},
				{ID: "DEM202611002", Type: demand.TypeService, Urgency: demand.UrgencyHigh, Record: rec("", "系统宕机，所有门店无法下单", demand.ChannelWebhook)}}, ""},
		{"unknown type", write("bad.csv", "text,type\n你好,bug\n"), nil, `bad.csv row 2: unknown type "bug"`},
		{"no header", write("nohead.csv", "a,b\n1,2\n"), nil, "no header row found"},
		{"not JSON", write("bad.jsonl", "{\"text\":\"x\",\"type\":\"inquiry\"}\nnope\n"), nil, "bad.jsonl line 2: not a JSON object"},
		{"nothing labelled", write("empty.csv", "text,type\n你好,\n"), nil, "holds no demand"},
		{"wrong extension", write("l.txt", "x"), nil, "want .jsonl, .csv or .xlsx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadSamples(tt.path, received)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				if zh := i18n.Message(err, i18n.ZH); !strings.ContainsFunc(zh, func(r rune) bool { return unicode.Is(unicode.Han, r) }) {
					t.Errorf("no Chinese message: %q", zh)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%d samples, want %d: %+v", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				g := got[i]
				if g.ID != w.ID || g.Type != w.Type || g.Urgency != w.Urgency || g.Record.Description.Title != w.Record.Description.Title || g.Record.Description.Text != w.Record.Description.Text ||
					g.Record.Source.Channel != w.Record.Source.Channel || !g.Record.Source.ReceivedAt.Equal(received) {
					t.Errorf("sample %d: %+v %+v, want %+v %+v", i, g, g.Record, w, w.Record)
				}
			}
		})
	}
}

func rec(title, text string, ch demand.Channel) *demand.Record {
	return &demand.Record{Description: demand.Description{Title: title, Text: text}, Source: demand.Source{Channel: ch}}
}

// The labelled set of testdata reads as a file and gives the accuracy
// TestDefaultRulesAccuracy measures.
func TestEvaluateLabelledFile(t *testing.T) {
	samples, err := ReadSamples(filepath.Join("testdata", "labelled.jsonl"), received)
	if err != nil {
		t.Fatal(err)
	}
	e := evaluate(t, testEngine(t), samples)
	for _, a := range e.Attributes {
		if a.Labelled != len(samples) || a.Accuracy < 0.8 {
			t.Errorf("%s: %d/%d labelled, accuracy %.3f", a.Attribute, a.Labelled, len(samples), a.Accuracy)
		}
		sum := 0
		for _, row := range a.Matrix {
			for _, n := range row {
				sum += n
			}
		}
		if sum != a.Labelled || len(a.Misses) != a.Labelled-a.Correct {
			t.Errorf("%s: matrix sums to %d, %d misses, %d labelled, %d correct", a.Attribute, sum, len(a.Misses), a.Labelled, a.Correct)
		}
	}
}

func TestExcerpt(t *testing.T) {
	tests := []struct {
		title, text string
		n           int
		want        string
	}{
		{"", "客服  态度\n太差", 10, "客服 态度 太差"},
		{"标题", "正文", 10, "标题 正文"},
		{"", "一二三四五六", 6, "一二三四五六"},
		{"", "一二三四五六七", 6, "一二三四五…"},
		{"abcd", "efgh", 6, "abcd…"}, // no blank before the ellipsis
		{"  ", "  x  ", 5, "x"},
	}
	for _, tt := range tests {
		if got := Excerpt(tt.title, tt.text, tt.n); got != tt.want {
			t.Errorf("Excerpt(%q, %q, %d) = %q, want %q", tt.title, tt.text, tt.n, got, tt.want)
		}
	}
}
