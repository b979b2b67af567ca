package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/demandd/demandd/internal/fixture"
	"github.com/demandd/demandd/internal/i18n"
	"github.com/demandd/demandd/internal/testdb"
	"github.com/demandd/demandd/internal/testenv"
	"github.com/demandd/demandd/store"
)

// importRows imports n 问卷星 rows into the register of cfg.
func importRows(t *testing.T, dir, cfg string, n int) {
	t.Helper()
	file := filepath.Join(dir, fmt.Sprintf("wjx-%d.xlsx", n))
	if err := fixture.WriteWJX(file, n); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := demandd(t, "import", file, "--config", cfg); code != exitOK {
		t.Fatalf("import: %d %q", code, errOut)
	}
}

// Every command and subcommand answers -h with exit 0 and its flags.
func TestHelpOnEveryCommand(t *testing.T) {
	for _, cmd := range commands {
		for _, h := range []string{"-h", "--help"} {
			args := append(strings.Fields(cmd.name), h)
			code, out, errOut := demandd(t, args...)
			if code != exitOK || !strings.Contains(out, "demandd "+cmd.name) || errOut != "" {
				t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
			}
			if !strings.Contains(out, "-config") && !strings.Contains(out, "子命令") {
				t.Errorf("%v: no flags listed: %q", args, out)
			}
		}
	}
	if code, out, _ := demandd(t, "help", "list"); code != exitOK || !strings.Contains(out, "-limit") || !strings.Contains(out, "-overdue") {
		t.Errorf("help list: %d %q", code, out)
	}
	for _, v := range []string{"--version", "-V", "version"} {
		if code, out, _ := demandd(t, v); code != exitOK || !strings.HasPrefix(out, "demandd ") {
			t.Errorf("%s: %d %q", v, code, out)
		}
	}
	if code, _, errOut := demandd(t, "list", "--bogus"); code != exitUsage || !strings.Contains(errOut, "-bogus") || !strings.Contains(errOut, "-h") {
		t.Errorf("unknown flag: %d %q", code, errOut)
	}
}

// Read commands never create a register; they name where they looked.
func TestReadCommandsDoNotCreateRegister(t *testing.T) {
	dir := t.TempDir()
	cfgDir := filepath.Join(dir, "etc")
	os.MkdirAll(cfgDir, 0o755)
	cfg := filepath.Join(cfgDir, "demandd.toml")
	os.WriteFile(cfg, []byte("data_dir = \"data\"\n"), 0o644)
	elsewhere := filepath.Join(dir, "elsewhere")
	os.MkdirAll(elsewhere, 0o755)
	t.Chdir(elsewhere)
	for _, args := range [][]string{
		{"list"}, {"export", "--out", filepath.Join(dir, "x.xlsx")}, {"quarantine", "list"},
		{"classify", "--replay"}, {"update", "DEM202611001", "--status", "处理中"}, {"reprocess", "--all"},
	} {
		code, _, errOut := demandd(t, append(args, "--config", cfg)...)
		if code != exitUsage || !strings.Contains(errOut, filepath.Join("data", "demandd.db")) || !strings.Contains(errOut, "demandd import") {
			t.Errorf("%v on no register: exit %d, %q", args, code, errOut)
		}
	}
	for _, d := range []string{filepath.Join(elsewhere, "data"), filepath.Join(cfgDir, "data")} {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("%s was created by a read command", d)
		}
	}
	code, out, _ := demandd(t, "version", "--verbose", "--config", cfg)
	if code != exitOK || !strings.Contains(out, filepath.Join(cfgDir, "data", "demandd.db")) {
		t.Errorf("version --verbose: %d %q", code, out)
	}
	if _, err := os.Stat(filepath.Join(cfgDir, "data")); err == nil {
		t.Error("version --verbose created the register")
	}

	// PostgreSQL: an empty database is no register either, and stays empty.
	url := testdb.Postgres(t)
	pg := writeConfig(t, t.TempDir(), url, "")
	if code, _, errOut := demandd(t, "list", "--config", pg); code != exitUsage || !strings.Contains(errOut, "demandd import") {
		t.Errorf("list on an empty PostgreSQL: %d %q", code, errOut)
	}
	if code, out, _ := demandd(t, "version", "--verbose", "--config", pg); code != exitOK || !strings.Contains(out, "schema:    0 of") {
		t.Errorf("version --verbose on PostgreSQL: %d %q", code, out)
	}
	db, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var tables int
	if err := db.QueryRow(`SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()`).Scan(&tables); err != nil || tables != 0 {
		t.Errorf("%d tables in the empty database after read commands (%v)", tables, err)
	}
}

func TestUpdateListFilters(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(b.Name, func(t *testing.T) {
			dir, url := t.TempDir(), b.URL(t)
			cfg := writeConfig(t, dir, url, "")
			importRows(t, dir, cfg, 12)
			var codes []string
			_, out, _ := demandd(t, "list", "--json", "--config", cfg)
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				var r struct{ Code string }
				json.Unmarshal([]byte(line), &r)
				codes = append(codes, r.Code)
			}
			if len(codes) != 12 {
				t.Fatalf("%d codes", len(codes))
			}
			code, out, errOut := demandd(t, "update", codes[0], codes[1], "--status", "处理中", "--plan", "下周上线批量导出", "--department", "交付部", "--config", cfg)
			if code != exitOK || strings.Count(out, "处理中") != 2 || !strings.Contains(out, "下周上线批量导出") {
				t.Fatalf("update: %d %q %q", code, out, errOut)
			}
			// Each change is in the demand's history, old and new values.
			st, err := store.Open(context.Background(), url, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			rec, err := st.Demand(context.Background(), codes[0])
			if err != nil {
				t.Fatal(err)
			}
			hist, err := st.History(context.Background(), rec.ID)
			st.Close()
			if err != nil || len(hist) != 1 || hist[0].Kind != "progress" {
				t.Fatalf("history %+v %v", hist, err)
			}
			var detail struct {
				Old, New struct {
					Status, Department string
					Plan               string `json:"response_plan"`
				}
				By string
			}
			if err := json.Unmarshal(hist[0].Detail, &detail); err != nil || detail.Old.Status != "new" || detail.New.Status != "in_progress" ||
				detail.Old.Plan != "" || detail.New.Plan != "下周上线批量导出" || detail.New.Department != "交付部" || !strings.HasPrefix(detail.By, "cli") {
				t.Errorf("history detail %s (%v)", hist[0].Detail, err)
			}
			code, out, _ = demandd(t, "update", codes[0], "--status", "in_progress", "--config", cfg)
			if code != exitOK || !strings.Contains(out, "无变化") {
				t.Errorf("update to the same status: %d %q", code, out)
			}
			if code, _, errOut := demandd(t, "update", "DEM000000000", "--status", "已关闭", "--config", cfg); code != exitRuntime || !strings.Contains(errOut, "DEM000000000") {
				t.Errorf("update of an unknown code: %d %q", code, errOut)
			}
			if code, _, errOut := demandd(t, "update", codes[0], "--status", "bogus", "--config", cfg); code != exitUsage || !strings.Contains(errOut, "处理中") {
				t.Errorf("bad status names the labels: %d %q", code, errOut)
			}
			// Status by label or name, in list and export alike.
			code, out, _ = demandd(t, "list", "--status", "处理中", "--config", cfg)
			if code != exitOK || strings.Count(out, "\n") != 3 || !strings.Contains(out, codes[1]) {
				t.Errorf("list --status 处理中: %d %q", code, out)
			}
			code, out, _ = demandd(t, "export", "--out", filepath.Join(dir, "t.xlsx"), "--status", "in_progress", "--config", cfg)
			if code != exitOK || !strings.Contains(out, "wrote 2 demands") {
				t.Errorf("export --status in_progress: %d %q", code, out)
			}
			code, out, _ = demandd(t, "list", "--limit", "5", "--config", cfg)
			if code != exitOK || strings.Count(out, "\n") != 6 || !strings.HasPrefix(out, "需求编号") {
				t.Errorf("list --limit 5: %d %q", code, out)
			}
			type row struct {
				Code, Priority, Status string
				DueAt                  time.Time `json:"due_at"`
			}
			rows := func(args ...string) []row {
				_, out, errOut := demandd(t, append([]string{"list", "--json", "--config", cfg}, args...)...)
				var rs []row
				for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
					var r row
					if err := json.Unmarshal([]byte(line), &r); err != nil {
						t.Fatalf("list %v: %q %q", args, line, errOut)
					}
					rs = append(rs, r)
				}
				return rs
			}
			for _, r := range rows("--priority", "P1", "--type", "功能,投诉,咨询,建议,服务") {
				if r.Priority != "P1" {
					t.Errorf("list --priority P1 gave %+v", r)
				}
			}
			// The rows were received on 2026-11-01: the open ones whose due
			// time has passed are overdue, and --overdue lists exactly those.
			want := map[string]bool{}
			for _, r := range rows() {
				if r.DueAt.Before(time.Now()) && (r.Status == "new" || r.Status == "in_progress") {
					want[r.Code] = true
				}
			}
			got := rows("--overdue")
			if len(want) == 0 || len(got) != len(want) {
				t.Errorf("list --overdue: %d rows, want %d", len(got), len(want))
			}
			for _, r := range got {
				if !want[r.Code] {
					t.Errorf("list --overdue gave %+v", r)
				}
			}
		})
	}
}

// A file the folder set aside is listed with the quarantine and goes back
// into its folder on reprocess.
func TestQuarantineListsFailedFiles(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "sqlite:"+filepath.Join(dir, "d.db"), "")
	inbox := filepath.Join(dir, "inbox")
	os.MkdirAll(inbox, 0o755)
	os.WriteFile(filepath.Join(inbox, "notes.pdf"), []byte("%PDF-1.4"), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		var out, errOut strings.Builder
		done <- run(ctx, []string{"serve", "--config", cfg}, strings.NewReader(""), &out, &errOut)
	}()
	failed := filepath.Join(inbox, "failed", "notes.pdf")
	testenv.Eventually(t, 30*time.Second, func() bool { _, err := os.Stat(failed + ".error.txt"); return err == nil },
		func() string { return "notes.pdf not set aside" })
	// The record is written right after the reason; wait for it.
	testenv.Eventually(t, 30*time.Second, func() bool {
		_, out, _ := demandd(t, "quarantine", "list", "--config", cfg)
		return strings.Contains(out, "F1")
	}, func() string {
		_, out, errOut := demandd(t, "quarantine", "list", "--config", cfg)
		return out + errOut
	})
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("serve exit %d", code)
	}
	code, out, _ := demandd(t, "quarantine", "list", "--config", cfg)
	if code != exitOK || !strings.Contains(out, failed) || !strings.Contains(out, "不是问卷导出文件") || !strings.Contains(out, "1 个失败文件") {
		t.Errorf("quarantine list: %d %q", code, out)
	}
	_, out, _ = demandd(t, "quarantine", "list", "--json", "--config", cfg)
	var f struct {
		Kind, Name, SHA256 string
		MovedTo            string `json:"moved_to"`
		Size               int64
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &f); err != nil || f.Kind != "file" || f.Size != 8 || len(f.SHA256) != 64 || f.MovedTo != failed {
		t.Errorf("quarantine list --json: %q %v", out, err)
	}
	code, out, errOut := demandd(t, "reprocess", "F1", "--config", cfg)
	if code != exitOK || !strings.Contains(out, filepath.Join(inbox, "notes.pdf")) {
		t.Fatalf("reprocess F1: %d %q %q", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(inbox, "notes.pdf")); err != nil {
		t.Errorf("not put back: %v", err)
	}
	if _, err := os.Stat(failed + ".error.txt"); err == nil {
		t.Error("the stale reason stayed in failed/")
	}
	if _, out, _ := demandd(t, "quarantine", "list", "--config", cfg); !strings.Contains(out, "隔离区是空的") {
		t.Errorf("after reprocess: %q", out)
	}
}

// `demandd list | head -1` ends quietly: no "signal: broken pipe", exit 0.
func TestListIntoClosedPipe(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "sqlite:"+filepath.Join(dir, "d.db"), "")
	importRows(t, dir, cfg, 3000)
	cmd := exec.Command(bin, "list", "--config", cfg)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := bufio.NewReader(stdout).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	stdout.Close() // as head does after its line
	err = cmd.Wait()
	if err != nil || strings.Contains(stderr.String(), "broken pipe") {
		t.Errorf("list into a closed pipe: %v, stderr %q", err, stderr.String())
	}
}

// Log lines carry the configured zone's time, not UTC.
func TestLogTimesInConfiguredZone(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "sqlite:"+filepath.Join(dir, "d.db"), "[log]\nformat = \"json\"\n")
	_, _, errOut := demandd(t, "migrate", "--config", cfg) // logs "database migrated"
	var line struct{ Time string }
	if err := json.Unmarshal([]byte(strings.SplitN(errOut, "\n", 2)[0]), &line); err != nil || !strings.HasSuffix(line.Time, "+08:00") {
		t.Errorf("log time %q (%v) in %q, want Asia/Shanghai", line.Time, err, errOut)
	}
	// At debug level every command says which database it opened.
	cfg = writeConfig(t, dir, "sqlite:"+filepath.Join(dir, "d.db"), "[log]\nlevel = \"debug\"\n")
	_, _, errOut = demandd(t, "list", "--config", cfg)
	if !strings.Contains(errOut, "database opened") || !strings.Contains(errOut, filepath.Join(dir, "d.db")) {
		t.Errorf("list at debug level: %q, want the database it opened", errOut)
	}
}

// A config file's errors come all at once, in users' words, in the
// configured language; config check names folders that do not exist.
func TestConfigErrorsAllAtOnce(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "demandd.toml")
	os.WriteFile(bad, []byte("locale = \"en\"\n[classify]\ntaxonomy = 5\n[classify.SLA]\np1 = \"24h\"\n[[folder]]\nname = \"in\"\npath = \"in\"\nstabel_for = \"2s\"\n"), 0o644)
	code, _, errOut := demandd(t, "config", "check", "--config", bad)
	for _, want := range []string{"demandd.toml:3: classify.taxonomy: want a string", "got an integer", "classify.SLA", "demandd.toml:9", "stable_for"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("config check: exit %d, %q lacks %q", code, errOut, want)
		}
	}
	if code != exitUsage || strings.Contains(errOut, "toml:") && strings.Contains(errOut, "cannot decode") {
		t.Errorf("config check: exit %d %q", code, errOut)
	}
	good := filepath.Join(dir, "good.toml")
	os.WriteFile(good, []byte("[[folder]]\nname = \"in\"\npath = \"no-such-folder\"\n"), 0o644)
	code, _, errOut = demandd(t, "config", "check", "--config", good)
	if code != exitUsage || !strings.Contains(errOut, "good.toml:3") || !strings.Contains(errOut, filepath.Join(dir, "no-such-folder")) {
		t.Errorf("config check of a missing folder: %d %q", code, errOut)
	}
	code, _, errOut = demandd(t, "list", "--config", filepath.Join(dir, "missing.toml"))
	if code != exitUsage || !strings.Contains(errOut, "missing.toml") || !strings.Contains(errOut, "config example") {
		t.Errorf("missing config: %d %q", code, errOut)
	}
}

// The binary says which build it is, not "dev".
func TestVersionFromBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	if err := exec.Command("git", "rev-parse", "HEAD").Run(); err != nil {
		t.Skip("not a git checkout: the build has no commit to show")
	}
	out, err := exec.Command(buildBinary(t), "--version").Output()
	if err != nil || !strings.HasPrefix(string(out), "demandd ") || strings.TrimSpace(string(out)) == "demandd dev" {
		t.Errorf("--version: %q %v", out, err)
	}
}

// On a terminal the import shows a bar that moves while reading and is
// full when the file is done.
func TestImportProgressEndsFull(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "sqlite:"+filepath.Join(dir, "d.db"), "")
	file := filepath.Join(dir, "big.xlsx")
	if err := fixture.WriteWJX(file, 2500); err != nil {
		t.Fatal(err)
	}
	var out, errOut strings.Builder
	c := &cli{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, lang: i18n.ZH, progress: true}
	if err := c.importFiles(context.Background(), []string{file, "--config", cfg}); err != nil {
		t.Fatal(err)
	}
	frames := strings.Split(strings.TrimRight(errOut.String(), "\n"), "\r")
	last := frames[len(frames)-1]
	if !strings.Contains(last, "["+strings.Repeat("=", 20)+"]") || !strings.Contains(last, "2500 rows") {
		t.Errorf("last progress frame %q, want a full bar and every row", last)
	}
	if len(frames) < 3 {
		t.Errorf("only %d progress frames: %q", len(frames), errOut.String())
	}
}
