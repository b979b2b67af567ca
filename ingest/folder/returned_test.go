package folder_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/demandd/demandd/classify"
	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/engine"
	"github.com/demandd/demandd/export"
	"github.com/demandd/demandd/ingest"
	"github.com/demandd/demandd/ingest/folder"
	"github.com/demandd/demandd/internal/fixture"
	"github.com/demandd/demandd/internal/i18n"
	"github.com/demandd/demandd/internal/testenv"
	"github.com/demandd/demandd/normalize"
	"github.com/demandd/demandd/store"
)

// tableEnv is a register with an engine that knows a closed list of
// departments, watching a folder.
type tableEnv struct {
	st                     *store.Store
	eng                    *engine.Engine
	dir, processed, failed string
}

func newTableEnv(t *testing.T, url string, departments []string) *tableEnv {
	t.Helper()
	env := testenv.New(t, url, nil)
	cal, err := classify.NewCalendar(testenv.Shanghai, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	rules, _, err := classify.Load(classify.Sources{})
	if err != nil {
		t.Fatal(err)
	}
	cls, err := classify.NewEngine(classify.Options{DefaultType: demand.TypeInquiry, Calendar: cal,
		SLA: classify.SLA{P1: 24 * time.Hour, P2Workdays: 7, P3Days: 14, P4Days: 30}}, rules, nil)
	if err != nil {
		t.Fatal(err)
	}
	eng := engine.New(env.Store, normalize.New(normalize.Options{Location: testenv.Shanghai}), cls, engine.Options{
		CodePrefix: "DEM", Location: testenv.Shanghai, RestartDelay: 100 * time.Millisecond, Locale: i18n.ZH,
		Tracking: engine.Tracking{Departments: departments}})
	dir := t.TempDir()
	return &tableEnv{st: env.Store, eng: eng, dir: dir, processed: filepath.Join(dir, "processed"), failed: filepath.Join(dir, "failed")}
}

// watch runs the folder source on the engine until the test ends.
func (e *tableEnv) watch(t *testing.T) {
	t.Helper()
	src, err := folder.New(folder.Config{Name: "inbox", Path: e.dir, StableFor: 200 * time.Millisecond, Rescan: time.Second,
		Location: testenv.Shanghai, Locale: i18n.ZH})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.eng.Run(ctx, []ingest.Source{src})
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// seed imports n questionnaire rows and returns the records, oldest
// first.
func (e *tableEnv) seed(t *testing.T, n int) []*demand.Record {
	t.Helper()
	wjx := filepath.Join(t.TempDir(), "wjx.xlsx")
	if err := fixture.WriteWJX(wjx, n); err != nil {
		t.Fatal(err)
	}
	if _, err := folder.ImportFile(t.Context(), wjx, "import", demand.OriginRaised, i18n.ZH, e.eng, e.st, nil); err != nil {
		t.Fatal(err)
	}
	return e.records(t)
}

func (e *tableEnv) records(t *testing.T) []*demand.Record {
	t.Helper()
	var recs []*demand.Record
	if err := e.st.EachDemand(t.Context(), demand.Filter{}, func(r *demand.Record) error {
		recs = append(recs, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return recs
}

func (e *tableEnv) demand(t *testing.T, code string) *demand.Record {
	t.Helper()
	r, err := e.st.Demand(t.Context(), code)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (e *tableEnv) history(t *testing.T, code string) []store.HistoryEntry {
	t.Helper()
	h, err := e.st.History(t.Context(), e.demand(t, code).ID)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// exportTo writes the tracking table as `demandd export` does.
func (e *tableEnv) exportTo(t *testing.T, path string, l i18n.Locale) {
	t.Helper()
	if _, err := export.WriteFile(t.Context(), path, e.st, demand.Filter{}, export.TableOptions{Location: testenv.Shanghai, Locale: l}); err != nil {
		t.Fatal(err)
	}
}

// sheetEditor changes cells of an exported table as a person does in
// Excel: by the row of a code and the column of a header.
type sheetEditor struct {
	t     *testing.T
	f     *excelize.File
	sheet string
	cols  map[string]int // header → column (1-based)
	rows  map[string]int // code → row
	last  int
}

func openTable(t *testing.T, path string) *sheetEditor {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	ed := &sheetEditor{t: t, f: f, sheet: f.GetSheetName(0), cols: map[string]int{}, rows: map[string]int{}}
	rows, err := f.GetRows(ed.sheet)
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range rows[2] {
		ed.cols[h] = i + 1
	}
	for i, r := range rows[3:] {
		if len(r) > 0 {
			ed.rows[r[0]] = i + 4
		}
	}
	ed.last = len(rows)
	return ed
}

func (ed *sheetEditor) cell(code, header string) string {
	ed.t.Helper()
	row, ok := ed.rows[code]
	col, ok2 := ed.cols[header]
	if !ok || !ok2 {
		ed.t.Fatalf("no cell %s / %s", code, header)
	}
	name, _ := excelize.CoordinatesToCellName(col, row)
	return name
}

func (ed *sheetEditor) set(code, header string, v any) {
	ed.t.Helper()
	if err := ed.f.SetCellValue(ed.sheet, ed.cell(code, header), v); err != nil {
		ed.t.Fatal(err)
	}
}

func (ed *sheetEditor) get(code, header string) string {
	ed.t.Helper()
	v, err := ed.f.GetCellValue(ed.sheet, ed.cell(code, header))
	if err != nil {
		ed.t.Fatal(err)
	}
	return v
}

// addRow appends a row a person typed in: the code and a status.
func (ed *sheetEditor) addRow(code, status string) {
	ed.last++
	for h, v := range map[string]string{"需求编号": code, "状态": status} {
		name, _ := excelize.CoordinatesToCellName(ed.cols[h], ed.last)
		if err := ed.f.SetCellValue(ed.sheet, name, v); err != nil {
			ed.t.Fatal(err)
		}
	}
}

func (ed *sheetEditor) saveAs(path string) {
	ed.t.Helper()
	if err := ed.f.SaveAs(path); err != nil {
		ed.t.Fatal(err)
	}
}

// receiptCell is one row of a receipt's cell sheet.
type receiptCell struct{ row, code, column, outcome, value, old, reason string }

// readReceipt returns the counts sheet as label → value, and the cells.
func readReceipt(t *testing.T, path string) (map[string]string, []receiptCell) {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) != 2 {
		t.Fatalf("receipt sheets %q", sheets)
	}
	counts := map[string]string{}
	rows, _ := f.GetRows(sheets[0])
	for _, r := range rows {
		if len(r) == 2 {
			counts[r[0]] = r[1]
		}
	}
	rows, _ = f.GetRows(sheets[1])
	var cells []receiptCell
	for _, r := range rows[1:] {
		r = append(r, make([]string, 7)...)
		cells = append(cells, receiptCell{r[0], r[1], r[2], r[3], r[4], r[5], r[6]})
	}
	return counts, cells
}

func findCell(cells []receiptCell, code, column string) (receiptCell, bool) {
	for _, c := range cells {
		if c.code == code && c.column == column {
			return c, true
		}
	}
	return receiptCell{}, false
}

func copyTo(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitFor waits until path exists.
func waitFor(t *testing.T, path string) {
	t.Helper()
	testenv.Eventually(t, 30*time.Second, func() bool { _, err := os.Stat(path); return err == nil },
		func() string {
			entries, _ := os.ReadDir(filepath.Dir(path))
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			return fmt.Sprintf("no %s; beside it: %q", filepath.Base(path), names)
		})
}

// TestReturnedTableRoundTrip is the team's day: export, edit in the
// workbook, drop it back, check the register, the history, the confirmed
// labels and the receipt; drop it again: nothing changes; export again:
// the edits and the new revisions are in it.
func TestReturnedTableRoundTrip(t *testing.T) {
	forBackends(t, func(t *testing.T, url string) {
		ctx := t.Context()
		env := newTableEnv(t, url, []string{"客服部", "产品部", "交付部"})
		recs := env.seed(t, 8)
		if len(recs) != 8 {
			t.Fatalf("%d records seeded", len(recs))
		}
		code := func(i int) string { return recs[i].Code }
		// A demand closed before the export, rated below 4 in the file.
		if _, _, err := env.st.UpdateProgress(ctx, code(2), store.Progress{Status: ptr(demand.StatusClosed), By: "test"}); err != nil {
			t.Fatal(err)
		}
		exported := filepath.Join(t.TempDir(), "跟踪表.xlsx")
		env.exportTo(t, exported, i18n.ZH)
		// Someone else changes one after the export.
		if _, _, err := env.st.UpdateProgress(ctx, code(4), store.Progress{Plan: ptr("电话沟通中"), By: "api:ops"}); err != nil {
			t.Fatal(err)
		}
		before := map[string]*demand.Record{}
		for _, r := range env.records(t) {
			before[r.Code] = r
		}
		due6 := before[code(6)].DueAt.In(testenv.Shanghai)

		ed := openTable(t, exported)
		ed.set(code(0), "状态", "处理中")
		ed.set(code(0), "响应方案", "下周上线批量导出")
		ed.set(code(1), "需求类型", "建议")
		ed.set(code(1), "紧急程度", "高")
		ed.set(code(2), "满意度", 2)
		ed.set(code(2), "反馈结果", "客户认为仍然太慢")
		ed.set(code(3), "状态", "搞定了")
		ed.set(code(3), "截止时间", "下周五")
		ed.set(code(3), "反馈结果", "已电话回访")
		ed.set(code(4), "响应方案", "本周内修复")
		ed.set(code(5), "责任部门", "市场部")
		ed.set(code(5), "响应方案", "转交市场部")
		ed.set(code(6), "时间节点", time.Date(2026, 12, 20, 0, 0, 0, 0, time.UTC))
		ed.addRow("DEM209901999", "已关闭")
		edited := filepath.Join(t.TempDir(), "跟踪表.xlsx")
		ed.saveAs(edited)
		again := filepath.Join(t.TempDir(), "跟踪表.xlsx")
		copyTo(t, edited, again)

		env.watch(t)
		if err := os.Rename(edited, filepath.Join(env.dir, "跟踪表.xlsx")); err != nil {
			t.Fatal(err)
		}
		day := filepath.Join(env.processed, time.Now().In(testenv.Shanghai).Format("2006-01-02"))
		receipt := filepath.Join(day, "跟踪表.result.xlsx")
		waitFor(t, receipt)
		if _, err := os.Stat(filepath.Join(day, "跟踪表.xlsx")); err != nil {
			t.Errorf("the table is not in processed/: %v", err)
		}

		// The register: no demand created, the edits applied.
		after := env.records(t)
		if len(after) != 8 {
			t.Errorf("%d records after the return, want 8: a returned table creates none", len(after))
		}
		r0 := env.demand(t, code(0))
		if r0.Status != demand.StatusInProgress || r0.ResponsePlan != "下周上线批量导出" || r0.Revision != before[code(0)].Revision+1 {
			t.Errorf("row 0: status %s, plan %q, revision %d (was %d)", r0.Status, r0.ResponsePlan, r0.Revision, before[code(0)].Revision)
		}
		r1 := env.demand(t, code(1))
		if r1.Type != demand.TypeSuggestion || r1.Urgency != demand.UrgencyHigh || r1.Priority != demand.Quadrant(demand.UrgencyHigh, r1.Importance) {
			t.Errorf("row 1: type %s, urgency %s, priority %s", r1.Type, r1.Urgency, r1.Priority)
		}
		r2 := env.demand(t, code(2))
		if r2.Satisfaction != 2 || r2.Status != demand.StatusInProgress || r2.FeedbackResult != "客户认为仍然太慢" {
			t.Errorf("row 2: satisfaction %d, status %s (a rating of 2 reopens a closed demand), feedback %q", r2.Satisfaction, r2.Status, r2.FeedbackResult)
		}
		r3 := env.demand(t, code(3))
		if r3.Status != before[code(3)].Status || r3.FeedbackResult != "已电话回访" || !r3.DueAt.Equal(before[code(3)].DueAt) {
			t.Errorf("row 3: status %s, feedback %q, due %v: the bad cells stay, the rest of the row applies", r3.Status, r3.FeedbackResult, r3.DueAt)
		}
		if r4 := env.demand(t, code(4)); r4.ResponsePlan != "电话沟通中" {
			t.Errorf("row 4: plan %q, want the register's: the file's edit conflicts", r4.ResponsePlan)
		}
		if r5 := env.demand(t, code(5)); r5.Department != before[code(5)].Department || r5.ResponsePlan != "转交市场部" {
			t.Errorf("row 5: department %q, plan %q", r5.Department, r5.ResponsePlan)
		}
		r6 := env.demand(t, code(6))
		if got, want := r6.DueAt.In(testenv.Shanghai), time.Date(2026, 12, 20, due6.Hour(), due6.Minute(), 0, 0, testenv.Shanghai); !got.Equal(want) {
			t.Errorf("row 6: due %v, want %v (the day moved, the time of day kept)", got, want)
		}
		if r7 := env.demand(t, code(7)); r7.Revision != before[code(7)].Revision {
			t.Errorf("an untouched row's record changed: revision %d → %d", before[code(7)].Revision, r7.Revision)
		}

		// The history names the file.
		h := env.history(t, code(2))
		last := h[len(h)-1]
		var detail struct {
			By     string `json:"by"`
			Reason string `json:"reason"`
			Row    int    `json:"row"`
			New    struct {
				Status string `json:"status"`
			} `json:"new"`
		}
		if err := json.Unmarshal(last.Detail, &detail); err != nil {
			t.Fatal(err)
		}
		if last.Kind != "progress" || detail.By != "跟踪表.xlsx" || !strings.Contains(detail.Reason, "reopened") || detail.New.Status != "in_progress" {
			t.Errorf("history of row 2: %s %s", last.Kind, last.Detail)
		}

		// Type and urgency are confirmed labels, by the file.
		var confirmed []store.Confirmed
		if err := env.st.EachConfirmed(ctx, time.Time{}, func(r *demand.Record, c store.Confirmed) error {
			if r.Code == code(1) {
				confirmed = append(confirmed, c)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(confirmed) != 1 || confirmed[0].Type != demand.TypeSuggestion || confirmed[0].Urgency != demand.UrgencyHigh || confirmed[0].By != "跟踪表.xlsx" {
			t.Errorf("confirmed labels of row 1: %+v", confirmed)
		}

		// The receipt.
		counts, cells := readReceipt(t, receipt)
		want := map[string]string{"数据行": "9", "已更新（行）": "6", "未变（行）": "2", "冲突（格）": "1", "拒绝（格）": "4"}
		for k, v := range want {
			if counts[k] != v {
				t.Errorf("receipt %s = %q, want %s (all: %v)", k, counts[k], v, counts)
			}
		}
		for _, w := range []struct{ code, column, outcome, in string }{
			{code(0), "状态", "已更新", "处理中"},
			{code(2), "状态", "已更新", "满意度"},
			{code(3), "状态", "已拒绝", "待处理、处理中、已交付"},
			{code(3), "截止时间", "已拒绝", "不是日期"},
			{code(4), "响应方案", "冲突", "导出后这条需求已被修改"},
			{code(5), "责任部门", "已拒绝", "客服部、产品部、交付部"},
			{"DEM209901999", "需求编号", "已拒绝", "DEM209901999"},
		} {
			c, ok := findCell(cells, w.code, w.column)
			if !ok || c.outcome != w.outcome || !strings.Contains(c.value+c.old+c.reason, w.in) {
				t.Errorf("receipt cell %s %s: %+v, want %s with %q", w.code, w.column, c, w.outcome, w.in)
			}
			if n, _ := strconv.Atoi(c.row); n < 4 {
				t.Errorf("receipt cell %s %s: row %q", w.code, w.column, c.row)
			}
		}

		// The same file again changes nothing.
		revs := map[string]int64{}
		hist := map[string]int{}
		for _, r := range env.records(t) {
			revs[r.Code] = r.Revision
			hist[r.Code] = len(env.history(t, r.Code))
		}
		if err := os.Rename(again, filepath.Join(env.dir, "跟踪表.xlsx")); err != nil {
			t.Fatal(err)
		}
		receipt2 := filepath.Join(day, "跟踪表-1.result.xlsx")
		waitFor(t, receipt2)
		for _, r := range env.records(t) {
			if r.Revision != revs[r.Code] || len(env.history(t, r.Code)) != hist[r.Code] {
				t.Errorf("%s changed when the same file came back: revision %d → %d", r.Code, revs[r.Code], r.Revision)
			}
		}
		counts, _ = readReceipt(t, receipt2)
		if counts["已更新（行）"] != "0" || counts["冲突（格）"] != "1" || counts["拒绝（格）"] != "4" {
			t.Errorf("second receipt: %v", counts)
		}

		// Exported again: the edits and the new revisions are in it.
		next := filepath.Join(t.TempDir(), "next.xlsx")
		env.exportTo(t, next, i18n.ZH)
		ed2 := openTable(t, next)
		if got := ed2.get(code(0), "状态"); got != "处理中" {
			t.Errorf("re-exported status %q", got)
		}
		if got := ed2.get(code(2), "满意度"); got != "2" {
			t.Errorf("re-exported satisfaction %q", got)
		}
		stamp, ok := export.ParseStamp(ed2.get(code(0), "demandd 修订（请勿修改）"))
		if !ok || stamp.Revision != env.demand(t, code(0)).Revision {
			t.Errorf("re-exported stamp %+v, want revision %d", stamp, env.demand(t, code(0)).Revision)
		}
	})
}

// TestReturnedTableImportEnglish goes through ImportFile (`demandd
// import`), with an English export edited in English: the receipt lands
// beside the file; a file with nothing to list gets a .txt.
func TestReturnedTableImportEnglish(t *testing.T) {
	forBackends(t, func(t *testing.T, url string) {
		ctx := t.Context()
		env := newTableEnv(t, url, nil)
		recs := env.seed(t, 3)
		path := filepath.Join(t.TempDir(), "tracking.xlsx")
		env.exportTo(t, path, i18n.EN)
		res, err := folder.ImportFile(ctx, path, "import", demand.OriginRaised, i18n.EN, env.eng, env.st, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Table == nil || res.Table.Rows != 3 || res.Table.Unchanged != 3 || res.Table.Updated != 0 {
			t.Fatalf("untouched table: %+v", res.Table)
		}
		if res.Table.Receipt != filepath.Join(filepath.Dir(path), "tracking.result.txt") {
			t.Errorf("receipt %q", res.Table.Receipt)
		}
		b, err := os.ReadFile(res.Table.Receipt)
		if err != nil || !strings.Contains(string(b), "3 unchanged") {
			t.Errorf("receipt %q %v", b, err)
		}

		ed := openTable(t, path)
		ed.set(recs[0].Code, "Status", "delivered")
		ed.set(recs[0].Code, "Department", "Customer Success")
		ed.set(recs[1].Code, "Type", "suggestion")
		ed.set(recs[2].Code, "Satisfaction", 7)
		ed.saveAs(path)
		res, err = folder.ImportFile(ctx, path, "import", demand.OriginRaised, i18n.EN, env.eng, env.st, nil)
		if err != nil {
			t.Fatal(err)
		}
		if tb := res.Table; tb.Updated != 2 || tb.Rejected != 1 || tb.Conflicts != 0 || tb.Receipt != filepath.Join(filepath.Dir(path), "tracking.result.xlsx") {
			t.Errorf("edited table: %+v", tb)
		}
		if r := env.demand(t, recs[0].Code); r.Status != demand.StatusDelivered || r.Department != "Customer Success" {
			t.Errorf("status %s, department %q (departments are an open list here)", r.Status, r.Department)
		}
		if r := env.demand(t, recs[1].Code); r.Type != demand.TypeSuggestion {
			t.Errorf("type %s", r.Type)
		}
		if r := env.demand(t, recs[2].Code); r.Satisfaction != 0 {
			t.Errorf("satisfaction %d from a 7", r.Satisfaction)
		}
		_, cells := readReceipt(t, res.Table.Receipt)
		if c, ok := findCell(cells, recs[2].Code, "Satisfaction"); !ok || c.outcome != "rejected" || !strings.Contains(c.reason, "1 to 5") {
			t.Errorf("receipt: %+v", cells)
		}
		// Imported again: nothing is updated; the bad rating is still
		// refused.
		res, err = folder.ImportFile(ctx, path, "import", demand.OriginRaised, i18n.EN, env.eng, env.st, nil)
		if err != nil || res.Table.Updated != 0 || res.Table.Unchanged != 3 || res.Table.Rejected != 1 {
			t.Errorf("again: %+v %v", res.Table, err)
		}
	})
}

// A table whose records changed since the export, a CSV without stamps:
// differing cells are conflicts, never applied.
func TestReturnedTableWithoutStamps(t *testing.T) {
	forBackends(t, func(t *testing.T, url string) {
		ctx := t.Context()
		env := newTableEnv(t, url, nil)
		recs := env.seed(t, 2)
		path := filepath.Join(t.TempDir(), "跟踪表.csv")
		if _, err := export.WriteFile(ctx, path, env.st, demand.Filter{}, export.TableOptions{Location: testenv.Shanghai}); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		// The status of the first row, edited in a text editor.
		text := strings.Replace(string(b), ",待处理,", ",已交付,", 1)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		res, err := folder.ImportFile(ctx, path, "import", demand.OriginRaised, i18n.ZH, env.eng, env.st, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Table == nil || res.Table.Conflicts != 1 || res.Table.Updated != 0 || res.Table.Unchanged != 2 {
			t.Fatalf("CSV: %+v", res.Table)
		}
		_, cells := readReceipt(t, res.Table.Receipt)
		if len(cells) != 1 || !strings.Contains(cells[0].reason, "没有导出时的修订号") || cells[0].code != recs[0].Code {
			t.Errorf("receipt cells %+v", cells)
		}
		if r := env.demand(t, recs[0].Code); r.Status != demand.StatusNew {
			t.Errorf("status %s", r.Status)
		}
	})
}

// An unreadable returned table goes to failed/ with its reason; one that
// only conflicts is processed, with its receipt.
func TestReturnedTableFailedAndConflictsOnly(t *testing.T) {
	forBackends(t, func(t *testing.T, url string) {
		ctx := t.Context()
		env := newTableEnv(t, url, nil)
		recs := env.seed(t, 2)
		path := filepath.Join(t.TempDir(), "跟踪表.xlsx")
		env.exportTo(t, path, i18n.ZH)
		ed := openTable(t, path)
		ed.set(recs[0].Code, "响应方案", "A")
		ed.saveAs(path)
		if _, _, err := env.st.UpdateProgress(ctx, recs[0].Code, store.Progress{Feedback: ptr("客户来电"), By: "ops"}); err != nil {
			t.Fatal(err)
		}
		env.watch(t)
		if err := os.Rename(path, filepath.Join(env.dir, "跟踪表.xlsx")); err != nil {
			t.Fatal(err)
		}
		day := filepath.Join(env.processed, time.Now().In(testenv.Shanghai).Format("2006-01-02"))
		waitFor(t, filepath.Join(day, "跟踪表.result.xlsx"))
		counts, _ := readReceipt(t, filepath.Join(day, "跟踪表.result.xlsx"))
		if counts["冲突（格）"] != "1" || counts["已更新（行）"] != "0" {
			t.Errorf("receipt %v", counts)
		}

		// A workbook cut short: the header is there, the zip is not whole.
		broken := filepath.Join(t.TempDir(), "坏表.xlsx")
		env.exportTo(t, broken, i18n.ZH)
		b, _ := os.ReadFile(broken)
		if err := os.WriteFile(filepath.Join(env.dir, "坏表.xlsx"), b[:len(b)/2], 0o644); err != nil {
			t.Fatal(err)
		}
		waitFor(t, filepath.Join(env.failed, "坏表.xlsx.error.txt"))
		msg, _ := os.ReadFile(filepath.Join(env.failed, "坏表.xlsx.error.txt"))
		if strings.Count(strings.TrimSpace(string(msg)), "\n") != 0 {
			t.Errorf("reason is not one line: %q", msg)
		}
	})
}

func TestReceiptPath(t *testing.T) {
	for _, c := range []struct {
		path  string
		cells bool
		want  string
	}{{"/a/跟踪表.xlsx", true, "/a/跟踪表.result.xlsx"}, {"/a/t.v2.xlsx", false, "/a/t.v2.result.txt"}} {
		if got := folder.ReceiptPath(c.path, c.cells); got != c.want {
			t.Errorf("ReceiptPath(%q, %v) = %q, want %q", c.path, c.cells, got, c.want)
		}
	}
}

func ptr[T any](v T) *T { return &v }
