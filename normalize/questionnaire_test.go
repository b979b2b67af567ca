package normalize

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/ingest"
)

var shanghai, _ = time.LoadLocation("Asia/Shanghai")

func rowItem(t *testing.T, header, cells []string) ingest.Item {
	t.Helper()
	body, err := json.Marshal(ingest.Row{File: "survey.xlsx", SHA256: "abc", Number: 2, Header: header, Cells: cells})
	if err != nil {
		t.Fatal(err)
	}
	return ingest.Item{Channel: demand.ChannelQuestionnaire, Source: "inbox", Key: "abc:2", ContentType: ingest.ContentTypeRow,
		Body: body, ReceivedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Origin: demand.OriginRaised, Ref: "survey.xlsx 第2行"}
}

func TestHeaderMapping(t *testing.T) {
	tests := []struct {
		name   string
		header []string
		want   map[Field]int
	}{
		{"问卷星", []string{"序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP", "1、您的姓名：", "2、公司名称：",
			"3、联系电话：", "4、电子邮箱：", "5、请描述您遇到的问题或需求：", "6、紧急程度 (单选题 *必答)"},
			map[Field]int{FieldID: 0, FieldReceivedAt: 1, FieldContact: 6, FieldCustomer: 7, FieldPhone: 8, FieldEmail: 9,
				FieldDescription: 10, FieldUrgency: 11}},
		{"Microsoft Forms", []string{"ID", "Start time", "Completion time", "Email", "Name", "Company", "Describe your request", "How urgent is it?"},
			map[Field]int{FieldID: 0, FieldReceivedAt: 2, FieldEmail: 3, FieldContact: 4, FieldCustomer: 5, FieldDescription: 6, FieldUrgency: 7}},
		{"Google Forms", []string{"Timestamp", "Email Address", "Your name", "Organization", "What problem do you need solved?", "Category"},
			map[Field]int{FieldReceivedAt: 0, FieldEmail: 1, FieldContact: 2, FieldCustomer: 3, FieldDescription: 4, FieldType: 5}},
		{"腾讯问卷", []string{"编号", "开始答题时间", "结束答题时间", "答题时长", "地理位置国家和地区", "1.您的称呼", "2.所在单位", "3.您的需求或建议(200字以内)", ""},
			map[Field]int{FieldID: 0, FieldReceivedAt: 2, FieldContact: 5, FieldCustomer: 6, FieldDescription: 7}},
		{"type before description", []string{"1、问题类型", "2、问题描述", "3、您期望的解决效果", "4、使用场景"},
			map[Field]int{FieldType: 0, FieldDescription: 1, FieldGoal: 2, FieldScenario: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := NewQuestionnaire(nil, shanghai).Map(tt.header)
			if err != nil {
				t.Fatal(err)
			}
			for f, i := range tt.want {
				if got, ok := m.Fields[f]; !ok || got != i {
					t.Errorf("%s → column %d (%v), want %d (%q)", f, got, ok, i, tt.header[i])
				}
			}
			for f, i := range m.Fields {
				if _, ok := tt.want[f]; !ok {
					t.Errorf("unexpected %s → %q", f, tt.header[i])
				}
			}
		})
	}
}

func TestConfigAliasesComeFirst(t *testing.T) {
	header := []string{"1、问题反馈", "2、本次希望我们做什么"}
	q := NewQuestionnaire(map[string][]string{"description": {"本次希望我们做什么"}}, shanghai)
	m, err := q.Map(header)
	if err != nil {
		t.Fatal(err)
	}
	if m.Fields[FieldDescription] != 1 {
		t.Errorf("description → %d, want the configured column 1", m.Fields[FieldDescription])
	}
}

func TestNoDescriptionColumnRejects(t *testing.T) {
	_, err := NewQuestionnaire(nil, shanghai).Map([]string{"序号", "1、手机部数", "2、性别"})
	rej, ok := ingest.IsReject(err)
	if !ok || !strings.Contains(rej.Reason, "[questionnaire.aliases]\ndescription = [\"1、手机部数\"]") {
		t.Fatalf("got %v, want a rejection that says how to map the column", err)
	}
}

func TestWJXRecord(t *testing.T) {
	header := []string{"序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP", "1、您的姓名：", "2、公司名称：",
		"3、联系方式：", "4、请描述您遇到的问题或需求：", "5、紧急程度", "6、关注方面(多选题)", "7、补充说明"}
	cells := []string{"17", "2026/11/23 14:25:31", "136秒", "手机提交", "微信", "183.192.16.69(上海-上海)", "李娜",
		"北京远航物流", "Li.Na@Example.com", "  系统登录很慢，影响开单  ", "非常紧急", "性能┋其他【请注明】〖培训〗", "(跳过)"}
	rec, err := New(Options{Location: shanghai}).Normalize(t.Context(), rowItem(t, header, cells))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Customer.Contact != "李娜" || rec.Customer.Name != "北京远航物流" || rec.Customer.Email != "li.na@example.com" {
		t.Errorf("customer %+v", rec.Customer)
	}
	if rec.Description.Text != "系统登录很慢，影响开单" || rec.Description.Language != "zh" {
		t.Errorf("description %+v", rec.Description)
	}
	if want := time.Date(2026, 11, 23, 6, 25, 31, 0, time.UTC); !rec.Source.ReceivedAt.Equal(want) {
		t.Errorf("received %v, want %v (Beijing time)", rec.Source.ReceivedAt, want)
	}
	if rec.Urgency != demand.UrgencyHigh || len(rec.Reasons) != 1 || rec.Reasons[0].Matched[0] != "非常紧急" {
		t.Errorf("urgency %q reasons %+v", rec.Urgency, rec.Reasons)
	}
	if rec.Source.ExternalRef != "survey.xlsx 第2行 #17" {
		t.Errorf("ref %q", rec.Source.ExternalRef)
	}
	extra := map[string]string{}
	for _, a := range rec.Extra {
		extra[a.Name] = a.Value
	}
	for k, v := range map[string]string{"所用时间(秒)": "136", "IP": "183.192.16.69", "IP归属地": "上海-上海", "来源": "手机提交",
		"来源详情": "微信", "6、关注方面(多选题)": "性能；其他：培训"} {
		if extra[k] != v {
			t.Errorf("extra %s = %q, want %q", k, extra[k], v)
		}
	}
	if _, ok := extra["7、补充说明"]; ok {
		t.Errorf("a skipped answer (跳过) is kept as a value: %+v", extra)
	}
	if rec.Fingerprint == "" {
		t.Error("no fingerprint for a record with a customer")
	}
}

func TestRowWithoutDescriptionQuarantined(t *testing.T) {
	header := []string{"1、姓名", "2、问题描述"}
	_, err := New(Options{Location: shanghai}).Normalize(t.Context(), rowItem(t, header, []string{"张三", "(跳过)"}))
	q, ok := AsQuarantine(err)
	if !ok || !strings.Contains(q.Reason, "no description") || !strings.Contains(q.Reason, "2、问题描述") {
		t.Fatalf("got %v, want quarantine naming the column", err)
	}
}

func TestFallbackToPainPointAndGoal(t *testing.T) {
	header := []string{"姓名", "您目前最大的痛点", "您期望达到的目标"}
	rec, err := New(Options{Location: shanghai}).Normalize(t.Context(), rowItem(t, header, []string{"王芳", "对账慢", "一天内完成对账"}))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Description.Text != "对账慢\n一天内完成对账" || rec.Description.PainPoint != "对账慢" {
		t.Errorf("description %+v", rec.Description)
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2016/12/17 14:25:31", time.Date(2016, 12, 17, 14, 25, 31, 0, shanghai)},
		{"2026-06-16 08:00:00", time.Date(2026, 6, 16, 8, 0, 0, 0, shanghai)},
		{"02-Feb-2021 20:26:58", time.Date(2021, 2, 2, 20, 26, 58, 0, shanghai)},
		{"2026/09/27 3:00:00 PM GMT+3", time.Date(2026, 9, 27, 12, 0, 0, 0, time.UTC)},
		{"5/10/2026 09:15:00", time.Date(2026, 5, 10, 9, 15, 0, 0, shanghai)},
		{"9/9/26 18:01", time.Date(2026, 9, 9, 18, 1, 0, 0, shanghai)},
		{"2026-11-24T10:00:00+08:00", time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)},
		{"46350.5", time.Date(2026, 11, 24, 12, 0, 0, 0, shanghai)},
	}
	for _, tt := range tests {
		got, ok := ParseTime(tt.in, shanghai)
		if !ok || !got.Equal(tt.want) {
			t.Errorf("ParseTime(%q) = %v %v, want %v", tt.in, got, ok, tt.want)
		}
	}
	for _, bad := range []string{"", "昨天", "17"} {
		if _, ok := ParseTime(bad, shanghai); ok {
			t.Errorf("ParseTime(%q) succeeded", bad)
		}
	}
}

func TestUnparsedTimeFlagged(t *testing.T) {
	rec, err := New(Options{Location: shanghai}).Normalize(t.Context(),
		rowItem(t, []string{"提交时间", "需求"}, []string{"上周三", "加个按钮"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Flags) != 1 || rec.Flags[0] != demand.FlagTimeUnparsed || !rec.Source.ReceivedAt.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("flags %v received %v", rec.Flags, rec.Source.ReceivedAt)
	}
}

func TestUrgencyAnswers(t *testing.T) {
	for in, want := range map[string]demand.Urgency{"非常紧急": demand.UrgencyHigh, "紧急": demand.UrgencyHigh, "不紧急": demand.UrgencyLow,
		"不急": demand.UrgencyLow, "一般": demand.UrgencyMedium, "High": demand.UrgencyHigh, "Low": demand.UrgencyLow, "4分": demand.UrgencyHigh} {
		if got, ok := ParseUrgencyAnswer(in); !ok || got != want {
			t.Errorf("ParseUrgencyAnswer(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFingerprint(t *testing.T) {
	a := &demand.Record{Customer: demand.Customer{Email: "A@x.cn"}, Description: demand.Description{Text: "导出很慢，请尽快处理！"}}
	b := &demand.Record{Customer: demand.Customer{Email: "a@x.cn"}, Description: demand.Description{Text: "导出很慢 请尽快处理"}}
	if Fingerprint(a) == "" || Fingerprint(a) != Fingerprint(b) {
		t.Error("case, spaces and punctuation should not change the fingerprint")
	}
	anon := &demand.Record{Description: demand.Description{Text: "导出很慢，请尽快处理"}}
	if Fingerprint(anon) != "" {
		t.Error("an anonymous record has no fingerprint")
	}
}

// A CSV read in an encoding guessed from its bytes, other than UTF-8, is
// named in the rejection: garbled headers are fixed by saving as UTF-8.
func TestNoDescriptionNamesEncoding(t *testing.T) {
	header := []string{"序号", "1、手机部数", "2、性别"}
	for enc, want := range map[string]string{"GB18030": "GB18030 (GBK)", "UTF-16LE": "UTF-16LE", "UTF-8": "", "": ""} {
		_, err := NewQuestionnaire(nil, shanghai).MapRow(&ingest.Row{Header: header, Encoding: enc})
		rej, ok := ingest.IsReject(err)
		if !ok {
			t.Fatalf("%s: got %v, want a rejection", enc, err)
		}
		en, zh := rej.Text.EN, rej.Text.ZH
		if want == "" {
			if strings.Contains(en, "read as") || strings.Contains(zh, "编码读取") {
				t.Errorf("%s: en %q zh %q", enc, en, zh)
			}
			continue
		}
		if !strings.Contains(en, "The file was read as "+want+": if the headers look garbled, save the file as UTF-8") ||
			!strings.Contains(zh, "文件按 "+want+" 编码读取") || !strings.HasSuffix(en, `description = ["1、手机部数"]`) {
			t.Errorf("%s:\nen %q\nzh %q", enc, en, zh)
		}
	}
}

// TestMapRowFollowsTheHeader: MapRow reuses the mapping of the header it
// mapped last (the rows of one file share it), and maps again whenever the
// header differs — another file's, or the same slice written over.
func TestMapRowFollowsTheHeader(t *testing.T) {
	q := NewQuestionnaire(nil, shanghai)
	a := []string{"序号", "提交答卷时间", "您的姓名", "需求描述", "备注"}
	b := []string{"备注", "需求描述", "您的姓名"}
	want := func(header []string, field Field, col int, extra ...string) {
		t.Helper()
		m, err := q.MapRow(&ingest.Row{Header: header})
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := m.Fields[field]; !ok || got != col {
			t.Fatalf("%v: %s in column %d (%v), want %d", header, field, got, ok, col)
		}
		var names []string
		for _, c := range m.extraColumns() {
			names = append(names, c.name)
		}
		if strings.Join(names, "|") != strings.Join(extra, "|") {
			t.Fatalf("%v: extra columns %q, want %q", header, names, extra)
		}
	}
	want(a, FieldDescription, 3, "备注")
	want(a, FieldDescription, 3, "备注")
	want(b, FieldDescription, 1, "备注")
	want(a, FieldDescription, 3, "备注")
	copy(a, []string{"需求描述", "备注", "序号", "您的姓名", "提交答卷时间"}) // the same slice, other headers
	want(a, FieldDescription, 0, "备注")
}
