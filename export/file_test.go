package export

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/internal/i18n"
)

func TestFormatFor(t *testing.T) {
	for path, want := range map[string]Format{"x.xlsx": XLSX, "/tmp/月报.XLSX": XLSX, "x.csv": CSV, "dir.v2/x.Csv": CSV} {
		if got, err := FormatFor(path); err != nil || got != want {
			t.Errorf("FormatFor(%q) = %v, %v; want %v", path, got, err, want)
		}
	}
	for _, path := range []string{"x.pdf", "x.xls", "x", "x.xlsx.tmp", "csv"} {
		_, err := FormatFor(path)
		if !errors.Is(err, ErrFormat) {
			t.Errorf("FormatFor(%q): %v, want ErrFormat", path, err)
			continue
		}
		if zh, en := i18n.Message(err, i18n.ZH), i18n.Message(err, i18n.EN); !strings.HasPrefix(zh, path+"：") || !strings.Contains(zh, ".xlsx 或 .csv") ||
			en != path+": demandd writes .xlsx or .csv" || err.Error() != "export: "+en {
			t.Errorf("FormatFor(%q): zh %q, en %q, Error() %q", path, zh, en, err)
		}
	}
}

// files are the names in dir.
func files(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	xlsx, csvPath := filepath.Join(dir, "跟踪表.xlsx"), filepath.Join(dir, "跟踪表.CSV")
	for _, path := range []string{xlsx, csvPath} {
		n, err := WriteFile(ctx, path, slice{record(1), record(2)}, demand.Filter{}, TableOptions{Now: now})
		if err != nil || n != 2 {
			t.Fatalf("%s: %d, %v", path, n, err)
		}
	}
	b, err := os.ReadFile(csvPath)
	if err != nil || !strings.HasPrefix(string(b), "\uFEFF需求编号,") {
		t.Errorf("the .CSV file is not CSV: %.20q %v", b, err)
	}
	f, err := excelize.OpenFile(xlsx)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := f.GetCellValue(sheet, at("A", 2)); v != "DEM202611002" {
		t.Errorf("xlsx A5 = %q", v)
	}
	f.Close()

	// Replaced whole: the new table, no temporary file left.
	if n, err := WriteFile(ctx, csvPath, slice{record(3)}, demand.Filter{}, TableOptions{Now: now}); err != nil || n != 1 {
		t.Fatalf("rewrite: %d, %v", n, err)
	}
	if b, _ := os.ReadFile(csvPath); strings.Contains(string(b), "DEM202611001") || !strings.Contains(string(b), "DEM202611003") {
		t.Errorf("rewritten CSV:\n%s", b)
	}

	// A failed export leaves the old file and nothing else.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	for _, path := range []string{xlsx, csvPath} {
		before, _ := os.ReadFile(path)
		if _, err := WriteFile(cctx, path, slice{record(9)}, demand.Filter{}, TableOptions{Now: now}); !errors.Is(err, context.Canceled) {
			t.Errorf("%s cancelled: %v", path, err)
		}
		if after, _ := os.ReadFile(path); string(after) != string(before) {
			t.Errorf("%s changed by a failed export", path)
		}
	}
	// Refused by its extension before anything is created.
	if _, err := WriteFile(ctx, filepath.Join(dir, "x.pdf"), slice{record(1)}, demand.Filter{}, TableOptions{}); !errors.Is(err, ErrFormat) {
		t.Errorf("x.pdf: %v", err)
	}
	if names := files(t, dir); len(names) != 2 {
		t.Errorf("files left: %q", names)
	}
	// No such directory: an error naming the file.
	missing := filepath.Join(dir, "nope", "x.xlsx")
	if _, err := WriteFile(ctx, missing, slice{record(1)}, demand.Filter{}, TableOptions{}); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing directory: %v", err)
	}
}
