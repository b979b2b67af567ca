package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/demandd/demandd/internal/fixture"
)

// `demandd import` of an exported, edited tracking table applies it and
// prints the counts with the receipt; [tracking] departments closes the
// list of departments.
func TestImportReturnedTable(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "sqlite:"+filepath.Join(dir, "d.db"), "[tracking]\ndepartments = [\"客服部\", \"产品部\"]\n")
	survey := filepath.Join(dir, "survey.xlsx")
	if err := fixture.WriteWJX(survey, 3); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := demandd(t, "import", survey, "--config", cfg); code != exitOK {
		t.Fatalf("import: %d %q %q", code, out, errOut)
	}
	table := filepath.Join(dir, "跟踪表.xlsx")
	if code, out, errOut := demandd(t, "export", "--out", table, "--config", cfg); code != exitOK {
		t.Fatalf("export: %d %q %q", code, out, errOut)
	}
	f, err := excelize.OpenFile(table)
	if err != nil {
		t.Fatal(err)
	}
	sheet := f.GetSheetName(0)
	// Row 4 is the first demand: 状态 is column I, 责任部门 F.
	f.SetCellValue(sheet, "I4", "已交付")
	f.SetCellValue(sheet, "F5", "市场部")
	if err := f.SaveAs(table); err != nil {
		t.Fatal(err)
	}
	f.Close()
	code, out, errOut := demandd(t, "import", table, "--config", cfg)
	want := "跟踪表回收：3 行，已更新 1，未变 2，冲突 0 格，拒绝 1 格"
	receipt := filepath.Join(dir, "跟踪表.result.xlsx")
	if code != exitOK || !strings.Contains(out, want) || !strings.Contains(out, receipt) || strings.Contains(out, "new,") {
		t.Fatalf("import of the table: %d %q %q, want %q", code, out, errOut, want)
	}
	if _, err := os.Stat(receipt); err != nil {
		t.Errorf("receipt: %v", err)
	}
	if code, out, _ := demandd(t, "list", "--status", "已交付", "--config", cfg); code != exitOK || strings.Count(out, "DEM") != 1 {
		t.Errorf("list --status 已交付: %d %q", code, out)
	}
	// Again: nothing to update.
	if code, out, _ := demandd(t, "import", table, "--config", cfg); code != exitOK || !strings.Contains(out, "已更新 0，未变 3") {
		t.Errorf("import again: %d %q", code, out)
	}
}
