package export

import (
	"bytes"
	"context"
	"hash/fnv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/internal/i18n"
)

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return l
}()

func TestStampRoundTrip(t *testing.T) {
	r := record(1)
	r.Revision, r.Satisfaction = 7, 3
	s := StampOf(r)
	got, ok := ParseStamp(s.String())
	if !ok || got != s {
		t.Fatalf("ParseStamp(%q) = %+v %v, want %+v", s.String(), got, ok, s)
	}
	if s.Plan != TextPrint("下个版本优化导出") || s.Plan != TextPrint(" 下个版本优化导出\r\n") || s.Due != r.DueAt.Unix() {
		t.Errorf("stamp %+v", s)
	}
	bare := record(2)
	bare.Revision, bare.ResponsePlan, bare.DueAt = 1, "", time.Time{}
	if b, ok := ParseStamp(StampOf(bare).String()); !ok || b.Plan != 0 || b.Due != 0 {
		t.Errorf("bare stamp %+v %v", b, ok)
	}
	for _, bad := range []string{"", "d1", "d2;D;1;;;;;;0;;;", "d1;D;x;;;;;;0;;;", "d1;D;0;;;;;;0;;;", "d1;D;1;;;;;;0;;;;", "d1;D;1;;;;;;0;zz!;;",
		"d1;;1;;;;;;0;;;", "d1;1;;;;;;0;;;", "搞定了"} {
		if _, ok := ParseStamp(bad); ok {
			t.Errorf("ParseStamp(%q) ok", bad)
		}
	}
}

func TestReadLayout(t *testing.T) {
	zh, en := ColumnNames(i18n.ZH), ColumnNames(i18n.EN)
	for _, c := range []struct {
		name   string
		header []string
		ok     bool
		locale i18n.Locale
	}{
		{"chinese", append(zh, stampHeader.ZH), true, i18n.ZH},
		{"english", append(en, stampHeader.EN), true, i18n.EN},
		{"seed columns only, reordered", []string{"反馈结果", "状态", "时间节点", "响应方案", "责任部门", "优先级", "需求类型", "需求描述", "客户信息", "需求编号"}, true, i18n.ZH},
		{"spaces and case", []string{" demand id ", "CUSTOMER", "description", "type", "priority", "department", "response plan", "target date", "status", "feedback"}, true, i18n.EN},
		{"no feedback column", zh[:colFeedback], false, i18n.ZH},
		{"a questionnaire", []string{"序号", "提交答卷时间", "1、您的姓名：", "5、请描述您遇到的问题或需求："}, false, i18n.ZH},
	} {
		l, ok := ReadLayout(c.header)
		if ok != c.ok || (ok && l.Locale != c.locale) {
			t.Errorf("%s: ok %v locale %s", c.name, ok, l.Locale)
		}
	}
	l, _ := ReadLayout([]string{"反馈结果", "状态", "时间节点", "响应方案", "责任部门", "优先级", "需求类型", "需求描述", "客户信息", "需求编号"})
	if l.Stamped() || l.ColumnName(FieldDue) != "时间节点" || l.ColumnName(FieldStatus) != "状态" || l.CodeColumn() != "需求编号" {
		t.Errorf("layout %+v", l)
	}
}

// exportedRows writes recs as a table and reads the data rows back raw,
// as the folder reads a returned table.
func exportedRows(t *testing.T, recs slice, l i18n.Locale) (Layout, [][]string) {
	t.Helper()
	var buf bytes.Buffer
	if _, err := WriteTable(context.Background(), &buf, recs, demand.Filter{}, TableOptions{Now: now, Locale: l, Location: shanghai}); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows(f.GetSheetName(0), excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	layout, ok := ReadLayout(rows[headerRow-1])
	if !ok || !layout.Stamped() {
		t.Fatalf("header %q not recognised", rows[headerRow-1])
	}
	return layout, rows[headerRow:]
}

func TestReadRowAsExported(t *testing.T) {
	rated := record(2)
	rated.Satisfaction, rated.Status = 4, demand.StatusDelivered
	undated := record(3)
	undated.DueAt, undated.ResponsePlan, undated.Department = time.Time{}, "", ""
	long := record(4)
	long.ResponsePlan = strings.Repeat("方案", 20000) // cut in the cell
	long.FeedbackResult = "第一行\r\n第二行  "
	recs := slice{record(1), rated, undated, long}
	for i, r := range recs {
		r.Revision = int64(i + 1)
	}
	for _, l := range []i18n.Locale{i18n.ZH, i18n.EN} {
		layout, rows := exportedRows(t, recs, l)
		for i, cells := range rows {
			r := layout.ReadRow(cells, ReadOptions{Location: shanghai})
			if r.Code != recs[i].Code || !r.Stamped || r.Stamp.Revision != int64(i+1) || !r.Edits.Empty() || len(r.Problems) > 0 {
				t.Errorf("%s row %d as exported: %+v", l, i+1, r)
			}
		}
	}
}

func TestReadRowEdits(t *testing.T) {
	base := record(1)
	base.Revision = 5
	layout, rows := exportedRows(t, slice{base}, i18n.ZH)
	exported := rows[0]
	col := func(c int) int { return layout.col[c] }
	due := base.DueAt.In(shanghai)
	for _, c := range []struct {
		name  string
		edit  map[int]string
		check func(r ReturnedRow) bool
	}{
		{"the same status in English", map[int]string{colStatus: "New"}, func(r ReturnedRow) bool { return r.Edits.Empty() }},
		{"status", map[int]string{colStatus: "处理中"}, func(r ReturnedRow) bool { return *r.Edits.Status == demand.StatusInProgress }},
		{"bad status", map[int]string{colStatus: "搞定了"}, func(r ReturnedRow) bool {
			return r.Edits.Empty() && len(r.Problems) == 1 && strings.Contains(r.Problems[0].Reason.ZH, "已交付") && strings.Contains(r.Problems[0].Reason.EN, "delivered")
		}},
		{"status emptied", map[int]string{colStatus: ""}, func(r ReturnedRow) bool { return len(r.Problems) == 1 && r.Problems[0].Field == FieldStatus }},
		{"type and urgency", map[int]string{colType: "投诉", colUrgency: "low"}, func(r ReturnedRow) bool {
			return *r.Edits.Type == demand.TypeComplaint && *r.Edits.Urgency == demand.UrgencyLow
		}},
		{"priority as written", map[int]string{colPriority: "P3 紧急不重要"}, func(r ReturnedRow) bool { return *r.Edits.Priority == demand.P3 }},
		{"priority by name", map[int]string{colPriority: "重要不紧急"}, func(r ReturnedRow) bool { return *r.Edits.Priority == demand.P2 }},
		{"priority in English", map[int]string{colPriority: "P4 neither urgent nor important"}, func(r ReturnedRow) bool { return *r.Edits.Priority == demand.P4 }},
		{"plan with new spacing only", map[int]string{colPlan: " 下个版本优化导出\r\n"}, func(r ReturnedRow) bool { return r.Edits.Empty() }},
		{"plan cleared", map[int]string{colPlan: ""}, func(r ReturnedRow) bool { return r.Edits.Plan != nil && *r.Edits.Plan == "" }},
		{"satisfaction", map[int]string{colSatisfaction: "2"}, func(r ReturnedRow) bool { return *r.Edits.Satisfaction == 2 }},
		{"satisfaction as a float", map[int]string{colSatisfaction: "5.0"}, func(r ReturnedRow) bool { return *r.Edits.Satisfaction == 5 }},
		{"bad satisfaction", map[int]string{colSatisfaction: "4.5"}, func(r ReturnedRow) bool { return len(r.Problems) == 1 && r.Edits.Empty() }},
		{"day typed as text", map[int]string{colMilestone: "2026-12-20"}, func(r ReturnedRow) bool {
			return r.Edits.Due.Equal(time.Date(2026, 12, 20, due.Hour(), due.Minute(), 0, 0, shanghai))
		}},
		{"the same day, another time", map[int]string{colMilestone: "2026-11-25"}, func(r ReturnedRow) bool { return r.Edits.Empty() }},
		{"due typed with a time", map[int]string{colDue: "2026/12/21 09:30"}, func(r ReturnedRow) bool {
			return r.Edits.Due.Equal(time.Date(2026, 12, 21, 9, 30, 0, 0, shanghai))
		}},
		{"due as a serial number", map[int]string{colDue: "46377.75"}, func(r ReturnedRow) bool {
			return r.Edits.Due.Equal(time.Date(2026, 12, 21, 18, 0, 0, 0, shanghai))
		}},
		{"due and day disagree: due wins", map[int]string{colDue: "2026-12-21 09:30", colMilestone: "2026-12-25"}, func(r ReturnedRow) bool {
			return r.Edits.Due.Equal(time.Date(2026, 12, 21, 9, 30, 0, 0, shanghai))
		}},
		{"one date cleared: no edit", map[int]string{colDue: ""}, func(r ReturnedRow) bool { return r.Edits.Empty() }},
		{"both dates cleared", map[int]string{colDue: "", colMilestone: ""}, func(r ReturnedRow) bool { return r.Edits.ClearDue }},
		{"not a date", map[int]string{colDue: "下周五"}, func(r ReturnedRow) bool { return r.Edits.Empty() && len(r.Problems) == 1 }},
		{"stamp typed over", map[int]string{-1: "123"}, func(r ReturnedRow) bool {
			return !r.Stamped && r.Edits.Status != nil && r.Edits.Plan != nil && r.Edits.Satisfaction == nil
		}},
		{"code typed over", map[int]string{colCode: "DEM202611009", colStatus: "处理中"}, func(r ReturnedRow) bool {
			return !r.Stamped && r.Code == "DEM202611009" && r.Edits.Status != nil && r.Edits.Plan != nil
		}},
	} {
		cells := append([]string(nil), exported...)
		for k, v := range c.edit {
			i := layout.stamp
			if k >= 0 {
				i = col(k)
			}
			for len(cells) <= i {
				cells = append(cells, "")
			}
			cells[i] = v
		}
		r := layout.ReadRow(cells, ReadOptions{Location: shanghai})
		if !c.check(r) {
			t.Errorf("%s: %+v", c.name, r)
		}
	}
	if r := layout.ReadRow(make([]string, len(exported)), ReadOptions{}); !r.Blank {
		t.Errorf("blank row: %+v", r)
	}
	if r := layout.ReadRow([]string{"", "", "", "", "", "", "x"}, ReadOptions{}); r.Blank || r.Code != "" {
		t.Errorf("a row without a code: %+v", r)
	}
}

func FuzzReadRow(f *testing.F) {
	layout, _ := ReadLayout(append(ColumnNames(i18n.ZH), stampHeader.ZH))
	f.Add("DEM202611001", "处理中", "46377.5", "3", "d1;DEM202611001;2;feature;high;P1;new;1764036000;0;;;")
	f.Add("x", "", "2026/1/2", "", "")
	f.Add("DEM1", "搞定了", "-1", "6", "d1;")
	f.Fuzz(func(t *testing.T, code, status, due, sat, stamp string) {
		cells := make([]string, numColumns+1)
		cells[colCode], cells[colStatus], cells[colDue], cells[colMilestone], cells[colSatisfaction], cells[numColumns] = code, status, due, due, sat, stamp
		r := layout.ReadRow(cells, ReadOptions{Location: shanghai})
		if r.Edits.Satisfaction != nil && (*r.Edits.Satisfaction < 0 || *r.Edits.Satisfaction > 5) {
			t.Errorf("satisfaction %d from %q", *r.Edits.Satisfaction, sat)
		}
		if s, ok := ParseStamp(stamp); ok {
			if again, ok := ParseStamp(s.String()); !ok || again != s {
				t.Errorf("stamp %q: %+v does not survive String", stamp, s)
			}
		}
	})
}

func TestTextPrintIsFNV1a(t *testing.T) {
	for _, s := range []string{"下个版本优化导出", "a", "第一行\n第二行"} {
		h := fnv.New64a()
		h.Write([]byte(s))
		if got := TextPrint(s); got != h.Sum64() {
			t.Errorf("TextPrint(%q) = %x, want FNV-1a %x", s, got, h.Sum64())
		}
	}
}
