package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	_ "github.com/lib/pq"

	"github.com/demandd/demandd/internal/fixture"
	"github.com/demandd/demandd/internal/testdb"
	"github.com/demandd/demandd/internal/testenv"
)

// TestCrashSafety kills `demandd serve` with SIGKILL in the middle of a
// 20,000-row import, stops the next run with SIGTERM in the middle too, and
// lets a third run finish: exactly 20,000 demands, none lost, none twice.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the daemon")
	}
	const rows = 20000
	bin := buildBinary(t)
	url := testdb.Postgres(t)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, url, "")
	inbox := filepath.Join(dir, "inbox")
	os.MkdirAll(inbox, 0o755)
	if err := fixture.WriteWJX(filepath.Join(inbox, "big.xlsx"), rows); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func(table string) int {
		var n int
		if err := db.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
			return -1 // not migrated yet
		}
		return n
	}
	start := func() (*exec.Cmd, *os.File) {
		log, err := os.CreateTemp(dir, "serve-*.log")
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "serve", "--config", cfg)
		// A killed daemon leaves excelize's temp files: keep them in the
		// test's directory, removed with it.
		tmp := filepath.Join(dir, "tmp")
		os.MkdirAll(tmp, 0o755)
		cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, log
	}
	// waitBetween waits until some but not all rows are committed; it fails
	// the test if the import finished before it could interrupt it.
	waitBetween := func(lo int) int {
		var n int
		testenv.Eventually(t, 60*time.Second, func() bool { n = count("demands"); return n >= lo }, func() string {
			return fmt.Sprintf("%d demands", n)
		})
		if n >= rows {
			t.Fatalf("the import finished before the interruption (%d rows)", n)
		}
		return n
	}

	cmd, _ := start()
	killedAt := waitBetween(1)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	t.Logf("SIGKILL with %d demands committed", killedAt)

	cmd, log := start()
	termAt := waitBetween(killedAt + 1)
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			b, _ := os.ReadFile(log.Name())
			t.Fatalf("SIGTERM: %v, want exit 0\n%s", err, b)
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("serve did not stop within 30s of SIGTERM")
	}
	t.Logf("SIGTERM with %d demands committed; stopped cleanly", termAt)
	if d, r := count("demands"), count("raw_items"); d != r {
		t.Errorf("after SIGTERM: %d demands for %d raw items", d, r)
	}

	cmd, log = start()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	day := time.Now().In(testenv.Shanghai).Format("2006-01-02")
	processed := filepath.Join(inbox, "processed", day, "big.xlsx")
	testenv.Eventually(t, 120*time.Second, func() bool { _, err := os.Stat(processed); return err == nil },
		func() string {
			b, _ := os.ReadFile(log.Name())
			if len(b) > 4000 {
				b = b[len(b)-4000:]
			}
			return fmt.Sprintf("%d demands, file not in processed/; the daemon's log ends:\n%s", count("demands"), b)
		})

	var demands, raws, codes, keys int
	err = db.QueryRowContext(context.Background(), `SELECT (SELECT COUNT(*) FROM demands), (SELECT COUNT(*) FROM raw_items),
		(SELECT COUNT(DISTINCT code) FROM demands), (SELECT COUNT(DISTINCT raw_item_id) FROM demands)`).Scan(&demands, &raws, &codes, &keys)
	if err != nil {
		t.Fatal(err)
	}
	if demands != rows || raws != rows || codes != rows || keys != rows {
		t.Fatalf("demands %d, raw items %d, codes %d, raw links %d; want %d each", demands, raws, codes, keys, rows)
	}
}
