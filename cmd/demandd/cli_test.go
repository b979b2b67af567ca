package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/demandd/demandd/internal/fixture"
	"github.com/demandd/demandd/internal/testdb"
	"github.com/demandd/demandd/internal/testenv"
)

func TestMain(m *testing.M) {
	if bareExcelize() { // a benchmark's subprocess
		return
	}
	code := testdb.Main(m)
	if binaryBuilt.Load() {
		if bin, err := binary(); err == nil {
			os.RemoveAll(filepath.Dir(bin))
		}
	}
	os.Exit(code)
}

// demandd runs the CLI in-process and returns its exit code and output.
func demandd(t testing.TB, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

// writeConfig writes a config for a database URL and a watched folder.
// The admin listener takes a free port (tests run side by side), unless
// extra has an [admin] block of its own.
func writeConfig(t testing.TB, dir, dbURL, extra string) string {
	t.Helper()
	if !strings.Contains(extra, "[admin]") {
		extra += "\n[admin]\nlisten = \"127.0.0.1:0\"\n"
	}
	cfg := fmt.Sprintf(`data_dir = %q
[database]
url = %q
[[folder]]
name = "inbox"
path = %q
stable_for = "100ms"
rescan = "1s"
%s`, filepath.Join(dir, "data"), dbURL, filepath.Join(dir, "inbox"), extra)
	path := filepath.Join(dir, "demandd.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestUsageAndExitCodes(t *testing.T) {
	if code, _, _ := demandd(t); code != exitUsage {
		t.Errorf("no command: exit %d", code)
	}
	if code, _, errOut := demandd(t, "frobnicate"); code != exitUsage || !strings.Contains(errOut, "未知命令") {
		t.Errorf("unknown command: exit %d %q", code, errOut)
	}
	if code, out, _ := demandd(t, "version"); code != exitOK || !strings.HasPrefix(out, "demandd ") {
		t.Errorf("version: exit %d %q", code, out)
	}
	if code, out, _ := demandd(t, "config", "example"); code != exitOK || !strings.Contains(out, "[[folder]]") {
		t.Errorf("config example: exit %d", code)
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("data_dir = \"x\"\n[[folder]]\nname = \"in\"\npath = \"in\"\norgin = \"raised\"\n"), 0o644)
	for _, cmd := range []string{"serve", "list", "config check", "migrate"} {
		args := append(strings.Fields(cmd), "--config", bad)
		code, _, errOut := demandd(t, args...)
		if code != exitUsage || !strings.Contains(errOut, "bad.toml:5") || !strings.Contains(errOut, "orgin") {
			t.Errorf("%s with a config typo: exit %d, %q", cmd, code, errOut)
		}
	}
	if code, _, errOut := demandd(t, "list", "--config", filepath.Join(dir, "missing.toml")); code != exitUsage || !strings.Contains(errOut, "missing.toml") {
		t.Errorf("missing config: exit %d %q", code, errOut)
	}
	// English where the configuration or the environment asks for it.
	t.Setenv("DEMANDD_LOCALE", "en")
	if code, _, errOut := demandd(t, "frobnicate"); code != exitUsage || !strings.Contains(errOut, "unknown command") {
		t.Errorf("unknown command in English: exit %d %q", code, errOut)
	}
	if code, _, errOut := demandd(t, "export", "--config", writeConfig(t, dir, "sqlite:"+filepath.Join(dir, "d.db"), "")); code != exitUsage || !strings.Contains(errOut, "--out") {
		t.Errorf("export without --out: exit %d %q", code, errOut)
	}
}

func TestImportListExportReprocess(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(b.Name, func(t *testing.T) {
			dir, url := t.TempDir(), b.URL(t)
			cfg := writeConfig(t, dir, url, "")
			header := []string{"序号", "提交答卷时间", "1、您的姓名：", "2、电子邮箱：", "3、问题描述", "4、其他想说的话", "5、紧急程度"}
			row := func(n int) []string {
				desc := fmt.Sprintf("第%d个需求：报表导出太慢", n)
				if n == 3 {
					desc = ""
				}
				if n == 5 {
					desc = `=HYPERLINK("http://evil.example","点我")`
				}
				return []string{fmt.Sprint(n), "2026/11/23 10:00:00", "张伟", fmt.Sprintf("u%d@example.com", n), desc, "谢谢", "紧急"}
			}
			file := filepath.Join(dir, "survey.xlsx")
			if err := fixture.WriteXLSX(file, header, 10, row); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := demandd(t, "import", file, "--config", cfg)
			if code != exitOK || strings.TrimSpace(out) != "9 new, 0 duplicate, 1 quarantined" {
				t.Fatalf("import: exit %d, %q, %q", code, out, errOut)
			}
			code, out, errOut = demandd(t, "import", "--config", cfg, file)
			if code != exitOK || strings.TrimSpace(out) != "0 new, 10 duplicate, 0 quarantined" || !strings.Contains(errOut, "没有新内容") {
				t.Fatalf("import again: exit %d, %q, %q", code, out, errOut)
			}

			code, out, _ = demandd(t, "list", "--json", "--config", cfg)
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if code != exitOK || len(lines) != 9 {
				t.Fatalf("list --json: exit %d, %d lines", code, len(lines))
			}
			var first map[string]any
			if err := json.Unmarshal([]byte(lines[0]), &first); err != nil || !strings.HasPrefix(first["code"].(string), "DEM") {
				t.Fatalf("first line %q: %v", lines[0], err)
			}
			if code, out, _ = demandd(t, "list", "--config", cfg); code != exitOK || !strings.Contains(out, "报表导出太慢") {
				t.Errorf("list: %d %q", code, out)
			}

			code, out, _ = demandd(t, "quarantine", "list", "--config", cfg)
			if code != exitOK || !strings.Contains(out, "没有需求描述") || !strings.Contains(out, "survey.xlsx 第4行") {
				t.Fatalf("quarantine list: %d %q", code, out)
			}
			// Nothing changed: the item stays quarantined.
			code, out, _ = demandd(t, "reprocess", "--all", "--config", cfg)
			if code != exitOK || !strings.Contains(out, "0 resolved, 1 still quarantined") {
				t.Fatalf("reprocess unchanged: %d %q", code, out)
			}
			// The config fix: take the description from the other column.
			cfg = writeConfig(t, dir, url, "[questionnaire.aliases]\ndescription = [\"其他想说的话\"]\n")
			code, out, errOut = demandd(t, "reprocess", "--all", "--config", cfg)
			if code != exitOK || !strings.Contains(out, "1 resolved, 0 still quarantined") {
				t.Fatalf("reprocess after the fix: %d %q %q", code, out, errOut)
			}
		})
	}
}

func TestExportWorkbook(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, testenv.Backends[0].URL(t), "")
	header := []string{"提交答卷时间", "公司名称", "需求描述", "紧急程度"}
	row := func(n int) []string {
		desc := "希望增加批量导出"
		if n == 2 {
			desc = `=HYPERLINK("http://evil.example","点我")`
		}
		return []string{"2026/11/23 10:00:00", "+86 公司", desc, "非常紧急"}
	}
	file := filepath.Join(dir, "s.xlsx")
	if err := fixture.WriteXLSX(file, header, 3, row); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := demandd(t, "import", file, "--config", cfg); code != exitOK {
		t.Fatalf("import: %s", errOut)
	}
	out := filepath.Join(dir, "跟踪表.xlsx")
	code, stdout, errOut := demandd(t, "export", "--out", out, "--since", "2026-11-23", "--until", "2026-11-23", "--status", "待处理", "--config", cfg)
	if code != exitOK || !strings.Contains(stdout, "wrote 3 demands") {
		t.Fatalf("export: %d %q %q", code, stdout, errOut)
	}
	f, err := excelize.OpenFile(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sheet := f.GetSheetName(0)
	rows, err := f.GetRows(sheet)
	if err != nil || len(rows) != 6 { // title, time and filter, header, 3 demands
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	if rows[0][0] != "需求分析与响应跟踪表" || !strings.Contains(strings.Join(rows[1], " "), "2026-11-23") ||
		!strings.Contains(strings.Join(rows[1], " "), "待处理") {
		t.Errorf("title rows %v / %v: want the title and the filter used", rows[0], rows[1])
	}
	if rows[2][0] != "需求编号" || rows[2][15] != "重复次数" {
		t.Errorf("header %v", rows[2])
	}
	if formula, _ := f.GetCellFormula(sheet, "C5"); formula != "" || !strings.HasPrefix(rows[4][2], "=HYPERLINK") {
		t.Errorf("description became a formula %q / %q", formula, rows[4][2])
	}
	// CSV by the name, UTF-8 with a BOM so that Excel reads the Chinese;
	// any other name is refused before anything is written.
	csvOut := filepath.Join(dir, "跟踪表.csv")
	if code, stdout, errOut := demandd(t, "export", "--out", csvOut, "--config", cfg); code != exitOK || !strings.Contains(stdout, "wrote 3 demands") {
		t.Fatalf("export csv: %d %q %q", code, stdout, errOut)
	}
	if b, err := os.ReadFile(csvOut); err != nil || !strings.HasPrefix(string(b), "\ufeff需求编号,") || strings.HasPrefix(string(b[3:]), "PK") {
		t.Errorf("csv export: %q %v", b[:min(len(b), 40)], err)
	}
	if fi, err := os.Stat(csvOut); err != nil || fi.Mode().Perm()&0o044 == 0 {
		t.Errorf("export mode %v %v: want the umask's (0644 typically)", fi.Mode(), err)
	}
	pdf := filepath.Join(dir, "x.pdf")
	if code, _, errOut := demandd(t, "export", "--out", pdf, "--config", cfg); code != exitUsage || !strings.Contains(errOut, ".csv") {
		t.Errorf("export to .pdf: %d %q", code, errOut)
	}
	if _, err := os.Stat(pdf); err == nil {
		t.Error("a .pdf was written")
	}
	// Dates outside the range are left out.
	code, stdout, _ = demandd(t, "export", "--out", out, "--since", "2026-11-24", "--config", cfg)
	if code != exitOK || !strings.Contains(stdout, "wrote 0 demands") {
		t.Errorf("export --since later: %q", stdout)
	}
}

// binary builds demandd once for the tests that run it as a process.
var binaryBuilt atomic.Bool

var binary = sync.OnceValues(func() (string, error) {
	binaryBuilt.Store(true)
	dir, err := os.MkdirTemp("", "demandd-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "demandd")
	// -buildvcs=auto: stamp the commit as a user's `go build` or `go
	// install` does, whatever GOFLAGS this machine sets.
	out, err := exec.Command("go", "build", "-buildvcs=auto", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

func buildBinary(t testing.TB) string {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

func TestRulesAndClassifyCommands(t *testing.T) {
	dir := t.TempDir()
	if code, out, _ := demandd(t, "rules", "example"); code != exitOK || !strings.Contains(out, "[[rule]]") {
		t.Fatalf("rules example: %d", code)
	} else {
		os.WriteFile(filepath.Join(dir, "rules.toml"), []byte(out), 0o644)
	}
	if code, out, _ := demandd(t, "rules", "check", filepath.Join(dir, "rules.toml")); code != exitOK || !strings.Contains(out, "ok (five-way taxonomy") {
		t.Errorf("rules check: %d %q", code, out)
	}
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("[[rule]]\nname = \"x\"\nany = [\"a\"]\nset_type = \"bug\"\n"), 0o644)
	if code, _, errOut := demandd(t, "rules", "check", bad); code != exitUsage || !strings.Contains(errOut, `bad.toml:2: 规则 "x": set_type`) {
		t.Errorf("rules check of a broken file: %d %q", code, errOut)
	}

	cfg := writeConfig(t, dir, "sqlite:"+filepath.Join(dir, "d.db"), "")
	code, out, _ := demandd(t, "classify", "--explain", "--text", "系统宕机，所有门店无法下单，请马上处理", "--config", cfg)
	if code != exitOK || !strings.Contains(out, "P1") || !strings.Contains(out, "宕机") {
		t.Errorf("explain: %d %q", code, out)
	}
	code, out, _ = demandd(t, "classify", "--explain", "--json", "--text", "not urgent, would be nice to have dark mode", "--config", cfg)
	var rec struct {
		Urgency string
		Reasons []struct{ Rule, Attribute string }
	}
	if err := json.Unmarshal([]byte(out), &rec); code != exitOK || err != nil || rec.Urgency != "low" || len(rec.Reasons) == 0 {
		t.Errorf("explain --json: %d %v %q", code, err, out)
	}
	// A questionnaire row.
	book := filepath.Join(dir, "q.xlsx")
	fixture.WriteWJX(book, 3)
	if code, out, errOut := demandd(t, "classify", "--explain", "--file", book, "--row", "2", "--config", cfg); code != exitOK || !strings.Contains(out, "questionnaire answer") {
		t.Errorf("explain --row: %d %q %q", code, out, errOut)
	}

	// Replay: import with a rules file, change a rule, replay, apply.
	rules := filepath.Join(dir, "mine.toml")
	os.WriteFile(rules, []byte("[[rule]]\nname = \"报表\"\nany = [\"报表\"]\nset_type = \"complaint\"\n"), 0o644)
	cfg = writeConfig(t, dir, "sqlite:"+filepath.Join(dir, "r.db"), "[classify]\nrules = \""+rules+"\"\n")
	if code, _, errOut := demandd(t, "import", book, "--config", cfg); code != exitOK {
		t.Fatalf("import: %q", errOut)
	}
	os.WriteFile(rules, []byte("[[rule]]\nname = \"报表\"\nany = [\"报表\"]\nset_type = \"feature\"\n"), 0o644)
	code, out, _ = demandd(t, "classify", "--replay", "--config", cfg)
	if code != exitOK || !strings.Contains(out, "type complaint→feature") || !strings.Contains(out, "1 of 3 demands would change") {
		t.Fatalf("replay: %d %q", code, out)
	}
	code, out, _ = demandd(t, "classify", "--replay", "--apply", "--config", cfg)
	if code != exitOK || !strings.Contains(out, "1 of 3 demands changed") {
		t.Fatalf("replay --apply: %d %q", code, out)
	}
	if code, out, _ = demandd(t, "classify", "--replay", "--config", cfg); !strings.Contains(out, "0 of 3") {
		t.Errorf("replay after apply: %d %q", code, out)
	}
}
