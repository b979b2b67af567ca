package export

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/demandd/demandd/demand"
)

// slice is a Records over records in memory: the export's input.
type slice []*demand.Record

func (s slice) EachDemand(ctx context.Context, _ demand.Filter, fn func(*demand.Record) error) error {
	for _, r := range s {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

var now = time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)

func record(i int) *demand.Record {
	recv := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	return &demand.Record{
		Code:        fmt.Sprintf("DEM202611%03d", i),
		Customer:    demand.Customer{Name: "华信科技", Contact: "张伟", Email: "zw@example.com"},
		Description: demand.Description{Text: "报表导出太慢，希望尽快优化"},
		Source:      demand.Source{Channel: demand.ChannelQuestionnaire, Name: "inbox", ReceivedAt: recv},
		Urgency:     demand.UrgencyHigh, Type: demand.TypeFeature, Priority: demand.P1, Department: "产品部",
		DueAt: recv.Add(24 * time.Hour), SLA: "24小时", Status: demand.StatusNew, Occurrences: 1,
	}
}

func write(t *testing.T, recs slice) *excelize.File {
	t.Helper()
	var buf bytes.Buffer
	n, err := WriteTable(context.Background(), &buf, recs, demand.Filter{}, TableOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if n != len(recs) {
		t.Fatalf("wrote %d rows, want %d", n, len(recs))
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestTrackingTable(t *testing.T) {
	formula := record(2)
	formula.Description.Text = `=HYPERLINK("http://evil.example","点我")`
	formula.Customer = demand.Customer{Name: "+1", Contact: "@SUM(A1)"}
	overdue := record(3)
	overdue.DueAt = now.Add(-time.Hour)
	closedLate := record(4)
	closedLate.DueAt, closedLate.Status = now.Add(-time.Hour), demand.StatusClosed
	long := record(5)
	long.Description.Text = strings.Repeat("长", 40000)
	f := write(t, slice{record(1), formula, overdue, closedLate, long})
	sheet := "需求跟踪表"
	rows, err := f.GetRows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 6 {
		t.Fatalf("%d rows, want header + 5", len(rows))
	}
	if strings.Join(rows[0], ",") != strings.Join(Columns, ",") {
		t.Errorf("header %v", rows[0])
	}
	if rows[1][0] != "DEM202611001" || rows[1][4] != "P1 紧急且重要" || rows[1][8] != "待处理" || rows[1][10] != "高" || rows[1][11] != "问卷 · inbox" {
		t.Errorf("row %v", rows[1])
	}
	// A date is a number with a date format, showing Beijing time.
	typ, _ := f.GetCellType(sheet, "M2")
	if typ != excelize.CellTypeNumber && typ != excelize.CellTypeUnset {
		t.Errorf("received cell type %v, want a number", typ)
	}
	raw, _ := f.GetCellValue(sheet, "M2", excelize.Options{RawCellValue: true})
	if raw == "" || strings.ContainsAny(raw, "-:") {
		t.Errorf("received raw value %q, want an Excel serial", raw)
	}
	if shown, _ := f.GetCellValue(sheet, "M2"); shown != "2026-11-24 10:00" {
		t.Errorf("received shows %q, want 2026-11-24 10:00 (UTC 02:00 in Asia/Shanghai)", shown)
	}
	// Text that looks like a formula stays text.
	for _, cell := range []string{"C3", "B3"} {
		if fm, _ := f.GetCellFormula(sheet, cell); fm != "" {
			t.Errorf("%s has formula %q", cell, fm)
		}
		if typ, _ := f.GetCellType(sheet, cell); typ == excelize.CellTypeFormula || typ == excelize.CellTypeNumber {
			t.Errorf("%s type %v", cell, typ)
		}
	}
	if rows[2][2] != formula.Description.Text || !strings.HasPrefix(rows[2][1], "+1") {
		t.Errorf("formula-like text changed: %q %q", rows[2][2], rows[2][1])
	}
	// Overdue and open: highlighted; overdue but closed: not.
	fill := func(cell string) bool {
		id, _ := f.GetCellStyle(sheet, cell)
		st, _ := f.GetStyle(id)
		return st != nil && len(st.Fill.Color) > 0
	}
	if rows[3][14] != "是" || !fill("A4") || !fill("M4") {
		t.Errorf("overdue row: %q, fills %v %v", rows[3][14], fill("A4"), fill("M4"))
	}
	if rows[4][14] != "否" || fill("A5") || fill("A2") {
		t.Error("closed or on-time rows are highlighted")
	}
	if n := len([]rune(rows[5][2])); n != maxCell || !strings.HasSuffix(rows[5][2], "…(截断)") {
		t.Errorf("long description: %d characters", n)
	}
	panes, err := f.GetPanes(sheet)
	if err != nil || !panes.Freeze || panes.YSplit != 1 {
		t.Errorf("panes %+v %v", panes, err)
	}
	tables, err := f.GetTables(sheet)
	if err != nil || len(tables) != 1 || tables[0].Range != "A1:P6" {
		t.Errorf("filter table %+v %v", tables, err)
	}
}

func TestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	recs := slice{record(1)}
	if _, err := WriteTable(ctx, &bytes.Buffer{}, recs, demand.Filter{}, TableOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}
