package main

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/demandd/demandd/internal/fixture"
	"github.com/demandd/demandd/internal/testenv"
)

// TestServeSignalsSQLite runs `demandd serve` on SQLite: a second serve on
// the same database refuses to start and says why; SIGHUP changes the log
// level and names the blocks that need a restart; SIGTERM in the middle of
// a 5,000-row import commits the batch under way with its checkpoint and
// exits 0.
func TestServeSignalsSQLite(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the daemon")
	}
	const rows = 5000
	start := time.Now()
	stage := func(what string) { t.Logf("%6.1fs %s", time.Since(start).Seconds(), what) }
	bin := buildBinary(t)
	stage("built")
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "data", "demandd.db")
	write := func(extra string) string {
		return writeConfig(t, dir, "sqlite:"+dbPath, "[serve]\ndrain_timeout = \"20s\"\n"+extra)
	}
	cfg := write("")
	first := startServe(t, bin, cfg, dir, "first")
	first.waitLog(t, 30*time.Second, "demandd serving", 1)
	stage("serving")

	// A second serve on the same SQLite file.
	out, err := exec.Command(bin, "serve", "--config", cfg).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitRuntime {
		t.Fatalf("second serve: %v, want exit %d\n%s", err, exitRuntime, out)
	}
	if !strings.Contains(string(out), "一个 SQLite 数据库只能运行一个 serve") || !strings.Contains(string(out), fmt.Sprintf("pid %d", first.cmd.Process.Pid)) ||
		!strings.Contains(string(out), "PostgreSQL") {
		t.Errorf("second serve's message does not say why and what to do: %s", out)
	}
	t.Logf("second serve: %s", strings.TrimSpace(string(out)))

	// SIGHUP: debug logging on, and a folder setting that needs a restart.
	cfg = write("[log]\nlevel = \"debug\"\n")
	os.WriteFile(cfg, []byte(strings.Replace(readFile(t, cfg), `stable_for = "100ms"`, `stable_for = "200ms"`, 1)), 0o644)
	first.cmd.Process.Signal(syscall.SIGHUP)
	first.waitLog(t, 10*time.Second, "log level changed", 1)
	first.waitLog(t, 10*time.Second, "restart demandd to apply", 1)
	if log := first.logText(); !strings.Contains(log, `blocks=folder`) {
		t.Errorf("the folder block is not named as needing a restart:\n%s", first.tail())
	}
	// A debug line shows the new level at work: an empty file is waited for.
	os.WriteFile(filepath.Join(dir, "inbox", "empty.csv"), nil, 0o644)
	first.waitLog(t, 10*time.Second, "level=DEBUG", 1)
	os.Remove(filepath.Join(dir, "inbox", "empty.csv"))

	stage("reloaded")
	// SIGTERM in the middle of an import.
	if err := fixture.WriteWJX(filepath.Join(dir, "big.xlsx"), rows); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "big.xlsx"), filepath.Join(dir, "inbox", "big.xlsx")); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+dbPath+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func() int {
		var n int
		db.QueryRow(`SELECT COUNT(*) FROM raw_items`).Scan(&n)
		return n
	}
	var n int
	testenv.Eventually(t, 60*time.Second, func() bool { n = count(); return n > 0 }, func() string { return "nothing imported; " + first.tail() })
	if n >= rows {
		t.Fatalf("the import finished before SIGTERM")
	}
	stage("first batch committed")
	first.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-first.done:
	case <-time.After(40 * time.Second):
		t.Fatalf("serve did not stop within 40 s of SIGTERM; %s", first.tail())
	}
	if first.err != nil {
		t.Fatalf("SIGTERM: %v, want exit 0; %s", first.err, first.tail())
	}
	var raws, demands int
	var cp string
	db.QueryRow(`SELECT COUNT(*), (SELECT COUNT(*) FROM demands) FROM raw_items`).Scan(&raws, &demands)
	db.QueryRow(`SELECT value FROM checkpoints WHERE source_key LIKE 'questionnaire-file/%'`).Scan(&cp)
	var fc struct{ Items int }
	json.Unmarshal([]byte(cp), &fc)
	if raws != demands || fc.Items != raws || raws >= rows {
		t.Fatalf("after SIGTERM: %d raw items, %d demands, checkpoint %s; want the checkpoint's items = raw items = demands < %d",
			raws, demands, cp, rows)
	}
	if !strings.Contains(first.logText(), "demandd stopped") {
		t.Errorf("no clean stop logged; %s", first.tail())
	}
	t.Logf("SIGTERM with %d rows read ahead; %d committed with their checkpoint, exit 0", n, raws)

	stage("stopped")
	// The lock went with the process: serve starts again and finishes.
	again := startServe(t, bin, cfg, dir, "again")
	testenv.Eventually(t, 120*time.Second, func() bool { return count() == rows }, func() string { return fmt.Sprint(count(), " raw items; ", again.tail()) })
	stage("import finished")
	again.kill(syscall.SIGTERM)
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
