package classify

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/demandd/demandd/demand"
)

func TestStatedDeadline(t *testing.T) {
	recv := time.Date(2026, 11, 24, 10, 0, 0, 0, shanghai) // a Tuesday
	at := func(m time.Month, d, h, min int) time.Time { return time.Date(2026, m, d, h, min, 0, 0, shanghai) }
	tests := []struct {
		text string
		want time.Time
	}{
		{"请在2小时内回复", recv.Add(2 * time.Hour)},
		{"30分钟内必须恢复", recv.Add(30 * time.Minute)},
		{"Please respond within 4 hours", recv.Add(4 * time.Hour)},
		{"今天必须处理完", at(11, 24, 18, 0)},
		{"明天上午要用", at(11, 25, 12, 0)},
		{"明天下班前给我", at(11, 25, 18, 0)},
		{"本周五前完成即可", at(11, 27, 18, 0)},
		{"we need it before next week", at(11, 27, 18, 0)},
		{"by Monday please", at(11, 30, 9, 0)},
		{"11月30日前提供报价", at(11, 30, 18, 0)},
		{"2026-12-15之前上线", at(12, 15, 18, 0)},
		{"deadline: 12/01", at(12, 1, 18, 0)},
		{"1月5日前", time.Date(2027, 1, 5, 18, 0, 0, 0, shanghai)},
		{"明天上午或者今天下班前都行", at(11, 24, 18, 0)}, // the earliest
	}
	for _, tt := range tests {
		got, phrase, ok := StatedDeadline(tt.text, recv, shanghai)
		if !ok || !got.Equal(tt.want) {
			t.Errorf("StatedDeadline(%q) = %v %q %v, want %v", tt.text, got, phrase, ok, tt.want)
		}
	}
	for _, none := range []string{"上周提交的申请", "目前没有截止时间", "之前也出现过", "买了2台打印机"} {
		if got, phrase, ok := StatedDeadline(none, recv, shanghai); ok {
			t.Errorf("StatedDeadline(%q) = %v (%q), want none", none, got, phrase)
		}
	}
}

func TestDeadlineTightensDue(t *testing.T) {
	cal, _ := NewCalendar(shanghai, nil, nil)
	rules, _, err := Load(Sources{})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := NewEngine(Options{Calendar: cal, SLA: SLA{P1: 24 * time.Hour, P2Workdays: 7, P3Days: 14, P4Days: 30}}, rules, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := &demand.Record{Description: demand.Description{Text: "希望增加导出功能，周五之前要给领导汇报"},
		Source: demand.Source{ReceivedAt: time.Date(2026, 11, 24, 10, 0, 0, 0, shanghai)}}
	if err := eng.Classify(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 11, 27, 18, 0, 0, 0, shanghai); !r.DueAt.Equal(want) || r.SLA != "客户期限" {
		t.Errorf("due %v (%s), want the customer's Friday %v", r.DueAt, r.SLA, want)
	}
}

func TestDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "customers.csv")
	os.WriteFile(path, []byte("\xEF\xBB\xBF匹配,客户名称,行业,等级\n@huaxin.com,华信科技,制造业,战略\nboss@example.com,远航物流,物流,重点\n成都天府医疗,成都天府医疗,医疗,普通\n"), 0o644)
	dir, err := LoadDirectory(path)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		c    demand.Customer
		name string
		tier demand.Tier
	}{
		{demand.Customer{Email: "zhang.wei@HUAXIN.com"}, "华信科技", demand.TierStrategic},
		{demand.Customer{Email: "boss@example.com"}, "远航物流", demand.TierKey},
		{demand.Customer{Name: "成都天府医疗"}, "成都天府医疗", demand.TierNormal},
		{demand.Customer{Name: "华信科技"}, "华信科技", demand.TierStrategic},
		{demand.Customer{Email: "x@unknown.cn"}, "", ""},
	}
	for _, tt := range tests {
		e, _, _ := dir.Lookup(tt.c)
		if e.Name != tt.name || e.Tier != tt.tier {
			t.Errorf("Lookup(%+v) = %+v, want %s %s", tt.c, e, tt.name, tt.tier)
		}
	}
	// The tier feeds importance: a strategic customer's ordinary demand is P1 when urgent.
	cal, _ := NewCalendar(shanghai, nil, nil)
	rules, _, _ := Load(Sources{})
	eng, _ := NewEngine(Options{Calendar: cal, SLA: SLA{P1: 24 * time.Hour, P2Workdays: 7, P3Days: 14, P4Days: 30}}, rules, dir)
	r := &demand.Record{Customer: demand.Customer{Email: "li@huaxin.com"}, Description: demand.Description{Text: "报表导出很慢，请尽快处理"}}
	eng.Classify(t.Context(), r)
	if r.Customer.Name != "华信科技" || r.Importance != demand.ImportanceHigh || r.Priority != demand.P1 {
		t.Errorf("customer %+v importance %s priority %s", r.Customer, r.Importance, r.Priority)
	}
	if _, err := LoadDirectory(filepath.Join(t.TempDir(), "x.txt")); err == nil {
		t.Error("a .txt directory was accepted")
	}
}
