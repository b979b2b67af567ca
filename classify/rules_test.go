package classify

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/demandd/demandd/demand"
)

func mustRules(t testing.TB, src string) *Rules {
	t.Helper()
	rs, err := ParseRules("test.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"ＡＳＡＰ，请尽快！":                "asap,请尽快!",
		"  System   DOWN\n\t now ": "system down now",
		"Ｐ１ 紧急":                    "p1 紧急",
	} {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMatching(t *testing.T) {
	rs := mustRules(t, `
[[rule]]
name = "urgent"
any = ["紧急", "急", "ASAP", "urgent", "尽快"]
set_urgency = "high"

[[rule]]
name = "outage in title"
in = ["title"]
any = ["宕机"]
add_tags = ["outage"]

[[rule]]
name = "all of"
all = ["导出", "excel"]
none = ["不需要"]
set_type = "feature"

[[rule]]
name = "regex"
regex = ['\d+\s*小时内']
add_tags = ["deadline"]

[[rule]]
name = "vip"
tier = ["strategic"]
channel = ["email"]
set_importance = "high"
`)
	tests := []struct {
		name              string
		in                Input
		urgency           demand.Urgency
		typ               demand.Type
		importance        demand.Importance
		tags              string
		matchedForUrgency string
	}{
		{"substring in Chinese", Input{Body: "系统很急，麻烦处理"}, demand.UrgencyHigh, "", "", "", "急"},
		{"full-width ASCII", Input{Body: "Please fix ＡＳＡＰ"}, demand.UrgencyHigh, "", "", "", "asap"},
		{"case folded", Input{Title: "URGENT: invoices"}, demand.UrgencyHigh, "", "", "", "urgent"},
		{"negated 不急", Input{Body: "这个不急，下周看看"}, "", "", "", "", ""},
		{"negated 不紧急", Input{Body: "问题不紧急"}, "", "", "", "", ""},
		{"negated 不太着急", Input{Body: "我们不太着急"}, "", "", "", "", ""},
		{"negated 没有那么急", Input{Body: "其实没有那么急"}, "", "", "", "", ""},
		{"negated 无需紧急", Input{Body: "无需紧急处理"}, "", "", "", "", ""},
		{"negated not urgent", Input{Body: "This is not urgent at all"}, "", "", "", "", ""},
		{"negated isn't really urgent", Input{Body: "it isn't really urgent"}, "", "", "", "", ""},
		{"negation stops at a clause", Input{Body: "不知道为什么，很急"}, demand.UrgencyHigh, "", "", "", "急"},
		{"inability is not negation", Input{Body: "不能尽快处理的话会很麻烦"}, demand.UrgencyHigh, "", "", "", "尽快"},
		{"field: title only", Input{Title: "服务器宕机", Body: ""}, "", "", "", "outage", ""},
		{"field: not in body", Input{Body: "服务器宕机"}, "", "", "", "", ""},
		{"all + none", Input{Body: "希望能导出到Excel"}, "", demand.TypeFeature, "", "", ""},
		{"all missing one", Input{Body: "希望能导出"}, "", "", "", "", ""},
		{"none vetoes", Input{Body: "不需要导出到excel"}, "", "", "", "", ""},
		{"regex", Input{Body: "请在2 小时内回复"}, "", "", "", "deadline", ""},
		{"tier and channel", Input{Tier: demand.TierStrategic, Channel: demand.ChannelEmail}, "", "", demand.ImportanceHigh, "", ""},
		{"tier, wrong channel", Input{Tier: demand.TierStrategic, Channel: demand.ChannelWebhook}, "", "", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := rs.Evaluate(tt.in)
			if d.Urgency != tt.urgency || d.Type != tt.typ || d.Importance != tt.importance || strings.Join(d.Tags, ",") != tt.tags {
				t.Errorf("got urgency %q type %q importance %q tags %v; want %q %q %q %q", d.Urgency, d.Type, d.Importance, d.Tags,
					tt.urgency, tt.typ, tt.importance, tt.tags)
			}
			if tt.matchedForUrgency != "" {
				if len(d.Reasons) == 0 || d.Reasons[0].Rule != "urgent" || !slices.Contains(d.Reasons[0].Matched, tt.matchedForUrgency) {
					t.Errorf("reasons %+v, want rule urgent matching %q", d.Reasons, tt.matchedForUrgency)
				}
			}
		})
	}
}

func TestOverrideAndStop(t *testing.T) {
	rs := mustRules(t, `
[[rule]]
name = "first"
any = ["退款"]
set_type = "complaint"
set_department = "客服部"

[[rule]]
name = "second, no override"
any = ["退款"]
set_type = "service"
add_tags = ["a"]

[[rule]]
name = "third, override"
any = ["发票"]
set_department = "财务部"
override = true
stop = true

[[rule]]
name = "after stop"
any = ["退款"]
add_tags = ["never"]
set_urgency = "low"
`)
	d := rs.Evaluate(Input{Body: "退款和发票都没处理"})
	if d.Type != demand.TypeComplaint || d.Department != "财务部" || strings.Join(d.Tags, ",") != "a" || d.Urgency != "" {
		t.Errorf("got %+v", d)
	}
	// What the item stated counts as set.
	d = rs.Evaluate(Input{Body: "退款", Type: demand.TypeInquiry})
	if d.Type != demand.TypeInquiry {
		t.Errorf("a stated type was changed without override: %q", d.Type)
	}
}

func TestBrokenRules(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"syntax", "[[rule]\nname = 'x'", "test.toml:1"},
		{"unknown field", "[[rule]]\nname = \"a\"\nanyy = [\"x\"]\nset_urgency = \"high\"\n", "test.toml:3"},
		{"bad regex", "[[rule]]\nname = \"re\"\nregex = ['(']\nadd_tags = [\"x\"]\n", `test.toml:2: rule "re": bad regex`},
		{"unknown type", "\n[[rule]]\nname = \"t\"\nany = [\"x\"]\nset_type = \"bug\"\n", `test.toml:3: rule "t": set_type: unknown type "bug"`},
		{"unknown urgency", "[[rule]]\nname = \"u\"\nany = [\"x\"]\nset_urgency = \"asap\"\n", `rule "u": set_urgency`},
		{"wrong taxonomy", "taxonomy = \"three\"\n[[rule]]\nname = \"w\"\nany = [\"x\"]\nset_type = \"complaint\"\n", "not in the three-way"},
		{"no action", "[[rule]]\nname = \"n\"\nany = [\"x\"]\n", "sets nothing"},
		{"duplicate name", "[[rule]]\nname = \"d\"\nadd_tags=[\"x\"]\n[[rule]]\nname = \"d\"\nadd_tags=[\"y\"]\n", `test.toml:5: rule "d": the name is used twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRules("test.toml", []byte(tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestDefaultRulesCompile(t *testing.T) {
	for _, tax := range []string{TaxonomyFive, TaxonomyThree} {
		rs, err := ParseRules("default", []byte(DefaultRules(tax)))
		if err != nil {
			t.Fatalf("%s: %v", tax, err)
		}
		if rs.Taxonomy != tax || rs.Len() < 5 {
			t.Errorf("%s: taxonomy %s, %d rules", tax, rs.Taxonomy, rs.Len())
		}
	}
}

func TestReloadKeepsOldRulesOnError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.toml")
	write := func(s string) {
		if err := os.WriteFile(path+".tmp", []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".tmp", path); err != nil { // as editors save
			t.Fatal(err)
		}
	}
	write("[[rule]]\nname = \"v1\"\nany = [\"紧急\"]\nset_urgency = \"high\"\n")
	src := Sources{RulesPath: path}
	rules, _, err := Load(src)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := NewEngine(Options{SLA: SLA{P1: time.Hour, P2Workdays: 1, P3Days: 1, P4Days: 1}}, rules, nil)
	if err != nil {
		t.Fatal(err)
	}
	rl := NewReloader(eng, src, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go rl.Watch(ctx)
	select {
	case <-rl.Watching():
	case <-time.After(30 * time.Second):
		t.Fatal("the watcher did not start")
	}

	urgency := func(text string) demand.Urgency {
		r := &demand.Record{Description: demand.Description{Text: text}}
		eng.Classify(ctx, r)
		return r.Urgency
	}
	waitFor := func(cond func() bool, what string) {
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	write("[[rule]]\nname = \"v2\"\nany = [\"加急\"]\nset_urgency = \"high\"\n")
	waitFor(func() bool { return urgency("加急处理") == demand.UrgencyHigh }, "v2 in force")

	write("[[rule]]\nname = \"v3\"\nany = [\"加急\"]\nset_urgency = \"soon\"\n") // broken
	waitFor(func() bool { _, err := rl.Status(); return err != nil }, "the broken file to be seen")
	_, err = rl.Status()
	var re *RuleError
	if !errors.As(err, &re) || re.Rule != "v3" || re.Line != 2 {
		t.Errorf("status %v, want the file, line and rule", err)
	}
	if urgency("加急处理") != demand.UrgencyHigh {
		t.Error("a broken file replaced the rules in force")
	}
	write("[[rule]]\nname = \"v4\"\nany = [\"火速\"]\nset_urgency = \"high\"\n")
	waitFor(func() bool { _, err := rl.Status(); return err == nil && urgency("火速") == demand.UrgencyHigh }, "v4 in force")
}

// labelled is one demand of the evaluation set.
type labelled struct {
	ID, Channel, Title, Text string
	Type                     demand.Type
	Urgency                  demand.Urgency
}

func loadLabelled(t testing.TB, name string) []labelled {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var set []labelled
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l labelled
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("labelled.jsonl: %v", err)
		}
		set = append(set, l)
	}
	return set
}

// TestDefaultRulesAccuracy measures the built-in rules on the labelled sets
// (written from real-world phrasing, see testdata/README.md).
func TestDefaultRulesAccuracy(t *testing.T) {
	for _, name := range []string{"labelled.jsonl", "tuning.jsonl", "independent.jsonl"} {
		t.Run(name, func(t *testing.T) { testAccuracy(t, name) })
	}
}

func testAccuracy(t *testing.T, name string) {
	set := loadLabelled(t, name)
	if len(set) < 150 {
		t.Fatalf("%d labelled demands, want at least 150", len(set))
	}
	rules, _, err := Load(Sources{})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := NewEngine(Options{SLA: SLA{P1: 24 * time.Hour, P2Workdays: 7, P3Days: 14, P4Days: 30}}, rules, nil)
	if err != nil {
		t.Fatal(err)
	}
	var typeOK, urgencyOK int
	var misses []string
	quadrants := map[demand.Priority]int{}
	for _, l := range set {
		r := &demand.Record{Description: demand.Description{Title: l.Title, Text: l.Text},
			Source: demand.Source{Channel: demand.Channel(l.Channel), ReceivedAt: time.Date(2026, 11, 24, 10, 0, 0, 0, shanghai)}}
		if err := eng.Classify(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		quadrants[r.Priority]++
		if r.Type == l.Type {
			typeOK++
		} else {
			misses = append(misses, fmt.Sprintf("%s type %s, want %s: %.60q", l.ID, r.Type, l.Type, l.Title+" "+l.Text))
		}
		if r.Urgency == l.Urgency {
			urgencyOK++
		} else {
			misses = append(misses, fmt.Sprintf("%s urgency %s, want %s: %.60q", l.ID, r.Urgency, l.Urgency, l.Title+" "+l.Text))
		}
	}
	typeAcc, urgAcc := float64(typeOK)/float64(len(set)), float64(urgencyOK)/float64(len(set))
	t.Logf("default rules on %d labelled demands (%s): type accuracy %.1f%%, urgency accuracy %.1f%%", len(set), name, typeAcc*100, urgAcc*100)
	t.Logf("%s quadrants: P1 %d, P2 %d, P3 %d, P4 %d", name, quadrants[demand.P1], quadrants[demand.P2], quadrants[demand.P3], quadrants[demand.P4])
	if testing.Verbose() {
		for _, m := range misses {
			t.Log(m)
		}
	}
	if typeAcc < 0.90 || urgAcc < 0.90 {
		t.Errorf("accuracy below 90%%: type %.1f%%, urgency %.1f%%", typeAcc*100, urgAcc*100)
	}
}

func TestThreeWayTaxonomy(t *testing.T) {
	rules, _, err := Load(Sources{Taxonomy: TaxonomyThree})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := NewEngine(Options{SLA: SLA{P1: time.Hour, P2Workdays: 1, P3Days: 1, P4Days: 1}}, rules, nil)
	if err != nil {
		t.Fatal(err)
	}
	for text, want := range map[string]demand.Type{
		"希望与贵司建立长期合作，纳入明年的数字化转型规划": demand.TypeStrategic,
		"操作步骤太繁琐，界面也不好看":           demand.TypeExperience,
		"需要增加批量导出功能":               demand.TypeFunctional,
		"随便说两句":                    demand.TypeFunctional, // the three-way default
	} {
		r := &demand.Record{Description: demand.Description{Text: text}}
		if err := eng.Classify(t.Context(), r); err != nil {
			t.Fatal(err)
		}
		if r.Type != want {
			t.Errorf("%s: type %s, want %s", text, r.Type, want)
		}
	}
	if _, _, err := Load(Sources{RulesPath: writeTemp(t, DefaultRulesFive), Taxonomy: TaxonomyThree}); err == nil {
		t.Error("five-way rules accepted for a three-way configuration")
	}
}

func writeTemp(t *testing.T, s string) string {
	p := filepath.Join(t.TempDir(), "r.toml")
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// The process document's own examples, and what its definitions imply,
// with the default rules.
func TestProcessDocumentDefinitions(t *testing.T) {
	rules, _, err := Load(Sources{})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := NewEngine(Options{SLA: SLA{P1: 24 * time.Hour, P2Workdays: 7, P3Days: 14, P4Days: 30}}, rules, nil)
	if err != nil {
		t.Fatal(err)
	}
	classify := func(text string) *demand.Record {
		r := &demand.Record{Description: demand.Description{Text: text},
			Source: demand.Source{Channel: demand.ChannelQuestionnaire, ReceivedAt: time.Date(2026, 11, 24, 10, 0, 0, 0, shanghai)}}
		if err := eng.Classify(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, tt := range []struct {
		text string
		want demand.Type
	}{
		// The five examples, verbatim.
		{"如何开通API接口？", demand.TypeInquiry},
		{"物流延误3天未解决", demand.TypeComplaint},
		{"希望增加批量导出功能", demand.TypeSuggestion},
		{"需对接企业审批流程", demand.TypeFeature},
		{"申请产品操作培训", demand.TypeService},
		// A quality problem is a complaint, however it is told.
		{"App一打开就闪退，麻烦看一下", demand.TypeComplaint},
		{"The export returns wrong totals for last month.", demand.TypeComplaint},
		{"为什么又打不开了？", demand.TypeComplaint},
		{"订单已经超过约定交期一周，还没发货", demand.TypeComplaint},
		// 功能新增 is a suggestion; integration and custom work a feature.
		{"能否加一个按部门筛选的选项", demand.TypeSuggestion},
		{"It would be nice to have a dark mode.", demand.TypeSuggestion},
		{"需要和我们的用友ERP对接，同步订单", demand.TypeFeature},
		{"We need SSO with our Azure AD tenant.", demand.TypeFeature},
		// Repair, installation, training: a service request.
		{"前台打印机坏了，请安排工程师上门维修", demand.TypeService},
		{"新门店下周开业，需要安装两台收银机", demand.TypeService},
		// A question is an inquiry unless it carries a complaint.
		{"请问是否支持导出PDF？", demand.TypeInquiry},
		{"Can you tell me how to change the billing email?", demand.TypeInquiry},
	} {
		if got := classify(tt.text).Type; got != tt.want {
			t.Errorf("%q: type %s, want %s", tt.text, got, tt.want)
		}
	}
	for _, tt := range []struct {
		text string
		want demand.Urgency
	}{
		{"系统崩溃导致所有客户无法下单", demand.UrgencyHigh},
		{"客户要求2小时内解决", demand.UrgencyHigh},
		{"对账功能经常出错，影响月底结账", demand.UrgencyMedium},
		{"下周五之前需要把新员工账号开好", demand.UrgencyMedium},
		{"想了解一下专业版的价格", demand.UrgencyLow},
		{"希望以后能支持英文界面，没有也可以", demand.UrgencyLow},
		{"不是很急，有空帮忙看看报表字体", demand.UrgencyLow},
		{"下个月安排一次操作培训", demand.UrgencyLow},
	} {
		if got := classify(tt.text).Urgency; got != tt.want {
			t.Errorf("%q: urgency %s, want %s", tt.text, got, tt.want)
		}
	}
}
