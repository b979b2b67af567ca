package export

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/internal/i18n"
)

// writeCSV exports recs as CSV; raw is the file, rows its parsed records
// after the byte order mark.
func writeCSV(t *testing.T, recs slice, opts TableOptions) (raw string, rows [][]string) {
	t.Helper()
	var buf bytes.Buffer
	n, err := WriteCSV(context.Background(), &buf, recs, demand.Filter{}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(recs) {
		t.Fatalf("wrote %d rows, want %d", n, len(recs))
	}
	raw = buf.String()
	rows, err = csv.NewReader(strings.NewReader(strings.TrimPrefix(raw, "\uFEFF"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return raw, rows
}

func TestCSV(t *testing.T) {
	formula := record(2)
	formula.Description = demand.Description{Text: `=HYPERLINK("http://x","y")`}
	formula.Customer = demand.Customer{Name: "+1", Contact: "@SUM(A1)"}
	formula.ResponsePlan, formula.FeedbackResult, formula.Department = "-2+3", "\t=1+1", "\r@x"
	bare := record(3)
	bare.DueAt, bare.SLA, bare.ResponsePlan, bare.Department = time.Time{}, "", "", ""
	bare.Description.Text = "第一行\n第二行, \"引号\""
	recs := slice{record(1), formula, bare}
	raw, rows := writeCSV(t, recs, TableOptions{Now: now})

	if !strings.HasPrefix(raw, "\uFEFF需求编号,") {
		t.Errorf("no byte order mark before the header: %q", raw[:min(len(raw), 20)])
	}
	if strings.Count(raw, "\n") != strings.Count(raw, "\r\n") || !strings.HasSuffix(raw, "\r\n") {
		t.Error("line ends are not all CRLF")
	}
	if len(rows) != 4 || !slices.Equal(rows[0], Columns) {
		t.Fatalf("%d rows, header %q", len(rows), rows[0])
	}
	for i, w := range []string{"DEM202611001", "华信科技 / 张伟 / zw@example.com", "报表导出\n报表导出太慢，希望尽快优化", "功能",
		"P1 紧急且重要", "产品部", "下个版本优化导出", "2026-11-25 10:00", "待处理", "客户已确认", "高", "问卷 · inbox",
		"2026-11-24 10:00", "2026-11-25 10:00", "否", "1", "", "24小时"} {
		if rows[1][i] != w {
			t.Errorf("%s = %q, want %q", Columns[i], rows[1][i], w)
		}
	}
	// Formula-like text is text to a spreadsheet.
	for col, want := range map[int]string{colCustomer: "'+1 / @SUM(A1)", colDescription: `'=HYPERLINK("http://x","y")`,
		colPlan: "'-2+3", colFeedback: "'\t=1+1",
		colDepartment: "'@x"} { // encoding/csv drops a lone CR when it writes CRLF line ends
		if rows[2][col] != want {
			t.Errorf("%s = %q, want %q", Columns[col], rows[2][col], want)
		}
	}
	// Empty stays empty; quotes and newlines survive.
	for _, col := range []int{colMilestone, colDue, colPlan, colDepartment, colSLA} {
		if rows[3][col] != "" {
			t.Errorf("empty %s = %q", Columns[col], rows[3][col])
		}
	}
	if rows[3][colDescription] != "报表导出\n第一行\n第二行, \"引号\"" {
		t.Errorf("description %q", rows[3][colDescription])
	}

	// The same row builder as the workbook: every text column agrees.
	f, _ := write(t, recs, TableOptions{Now: now})
	xrows := dataRows(t, f, sheet)
	for i := range recs {
		for c := range numColumns {
			if c == colMilestone || i == 1 { // a day in the workbook; apostrophes in the CSV
				continue
			}
			x := ""
			if c < len(xrows[i+1]) {
				x = xrows[i+1][c]
			}
			if x != rows[i+1][c] {
				t.Errorf("row %d %s: xlsx %q, csv %q", i+1, Columns[c], x, rows[i+1][c])
			}
		}
	}
}

func TestCSVText(t *testing.T) {
	for in, want := range map[string]string{"": "", "a=1": "a=1", "=1+1": "'=1+1", "+8613800000000": "'+8613800000000",
		"-": "'-", "@SUM(A1)": "'@SUM(A1)", "\tx": "'\tx", "\rx": "'\rx", "＝1": "＝1", " =1": " =1"} {
		if got := csvText(in); got != want {
			t.Errorf("csvText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCSVEnglishAndLocation(t *testing.T) {
	_, rows := writeCSV(t, slice{record(1)}, TableOptions{Now: now, Locale: i18n.EN, Location: time.UTC})
	if !slices.Equal(rows[0], ColumnNames(i18n.EN)) {
		t.Errorf("header %q", rows[0])
	}
	if rows[1][colReceived] != "2026-11-24 02:00" || rows[1][colStatus] != "new" || rows[1][colOverdue] != "no" {
		t.Errorf("row %q", rows[1])
	}
}

func TestCSVCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := WriteCSV(ctx, &bytes.Buffer{}, slice{record(1)}, demand.Filter{}, TableOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled before: got %v", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	n, err := WriteCSV(ctx, &bytes.Buffer{}, cancelling{n: 3000, at: 1500, cancel: cancel}, demand.Filter{}, TableOptions{})
	if !errors.Is(err, context.Canceled) || n != 0 || !strings.HasPrefix(err.Error(), "export: ") {
		t.Errorf("cancelled mid-stream: got %d, %v", n, err)
	}
}
