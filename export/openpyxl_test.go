package export

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/demandd/demandd/demand"
)

// python is Debian's interpreter, which has python3-openpyxl; the python3
// on PATH may be another.
const python = "/usr/bin/python3"

// TestOpenpyxl reads the workbook with openpyxl, a reader that shares no
// code with excelize. Skipped where openpyxl is not installed.
func TestOpenpyxl(t *testing.T) {
	if err := exec.Command(python, "-c", "import openpyxl").Run(); err != nil {
		t.Skipf("no openpyxl (%s -c 'import openpyxl': %v); apt-get install python3-openpyxl", python, err)
	}
	formula := record(2)
	formula.Description = demand.Description{Text: "=1+1"}
	formula.Customer = demand.Customer{Name: "@SUM(A1:A9)"}
	bare := record(3)
	bare.Department, bare.ResponsePlan, bare.FeedbackResult, bare.SLA, bare.DueAt = "", "", "", "", time.Time{}
	late := record(4)
	late.DueAt = now.Add(-time.Hour)
	rated := record(1)
	rated.Satisfaction = 4
	path := filepath.Join(t.TempDir(), "t.xlsx")
	if _, err := WriteFile(t.Context(), path, slice{rated, formula, bare, late}, demand.Filter{}, TableOptions{Now: now}); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(python, "testdata/openpyxl_check.py", path).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("openpyxl: %v\n%s", err, stderr)
	}
	type cell struct {
		Value  any    `json:"value"`
		Type   string `json:"type"`
		Format string `json:"format"`
	}
	var got struct {
		Title, Meta, Legend string
		LegendFill          string `json:"legend_fill"`
		OverdueFill         string `json:"overdue_fill"`
		Header              []string
		AutoFilter          string `json:"auto_filter"`
		PrintTitleRows      string `json:"print_title_rows"`
		Orientation         string
		PaperSize           any    `json:"paper_size"`
		FitToWidth          any    `json:"fit_to_width"`
		FitToHeight         any    `json:"fit_to_height"`
		FitToPage           bool   `json:"fit_to_page"`
		FreezePanes         string `json:"freeze_panes"`
		Hidden              []string
		Rows                [][]cell
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got.Title != "需求分析与响应跟踪表" || !strings.HasPrefix(got.Meta, "导出时间 2026-11-24 16:00") || got.Legend != "已超期" {
		t.Errorf("title area %q / %q / %q", got.Title, got.Meta, got.Legend)
	}
	if got.LegendFill == "" || got.LegendFill != got.OverdueFill || strings.HasSuffix(got.LegendFill, "000000") {
		t.Errorf("legend fill %q, overdue row fill %q", got.LegendFill, got.OverdueFill)
	}
	if strings.Join(got.Header, ",") != strings.Join(Columns, ",")+",demandd 修订（请勿修改）" {
		t.Errorf("header %q", got.Header)
	}
	if len(got.Hidden) != 1 || got.Hidden[0] != "T" {
		t.Errorf("hidden columns %q, want the stamp column T alone", got.Hidden)
	}
	if strings.ReplaceAll(got.AutoFilter, "$", "") != "A3:T7" || got.PrintTitleRows != "$3:$3" || got.FreezePanes != "A4" {
		t.Errorf("filter %q, print titles %q, frozen at %q", got.AutoFilter, got.PrintTitleRows, got.FreezePanes)
	}
	if got.Orientation != "landscape" || !num(got.PaperSize, 9) || !num(got.FitToWidth, 1) || !num(got.FitToHeight, 0) || !got.FitToPage {
		t.Errorf("page setup: %s, paper %v, fit %v×%v, fitToPage %v", got.Orientation, got.PaperSize, got.FitToWidth, got.FitToHeight, got.FitToPage)
	}
	if len(got.Rows) != 4 {
		t.Fatalf("%d data rows", len(got.Rows))
	}
	// "d": openpyxl's type for a number with a date format.
	if c := got.Rows[0][colMilestone]; c.Type != "d" || c.Value != "2026-11-25T10:00" || c.Format != "yyyy-mm-dd" {
		t.Errorf("时间节点 %+v, want the due date", c)
	}
	if c := got.Rows[0][colSLA]; c.Value != "24小时" {
		t.Errorf("响应时限 %+v", c)
	}
	if c := got.Rows[0][colSatisfaction]; c.Type != "n" || c.Value != 4.0 {
		t.Errorf("满意度 %+v, want the number 4", c)
	}
	if c := got.Rows[0][numColumns]; c.Type != "s" || !strings.HasPrefix(c.Value.(string), "d1;") {
		t.Errorf("stamp %+v", c)
	}
	for _, col := range []int{colCustomer, colDescription} {
		if c := got.Rows[1][col]; c.Type != "s" || c.Value != map[int]string{colCustomer: "@SUM(A1:A9)", colDescription: "=1+1"}[col] {
			t.Errorf("formula-like %s: %+v", Columns[col], c)
		}
	}
	for _, col := range []int{colDepartment, colPlan, colMilestone, colFeedback, colDue, colSLA, colSatisfaction} {
		if c := got.Rows[2][col]; c.Value != nil {
			t.Errorf("empty %s reads as %+v, want None", Columns[col], c)
		}
	}
}

// num reports whether a JSON value is the number n (openpyxl gives some
// page setup values as strings).
func num(v any, n int) bool {
	switch v := v.(type) {
	case float64:
		return v == float64(n)
	case string:
		return v == strconv.Itoa(n)
	}
	return false
}
