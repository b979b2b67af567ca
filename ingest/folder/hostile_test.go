package folder_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/ingest"
	"github.com/demandd/demandd/ingest/folder"
	"github.com/demandd/demandd/internal/fixture"
	"github.com/demandd/demandd/internal/i18n"
	"github.com/demandd/demandd/internal/testenv"
	"github.com/demandd/demandd/store"
)

// gate is the real engine with a hand on its commits: a test can hold the
// commit of a file's batch to change the file under the reader, or see in
// which order files reach the register. Every commit is the engine's own.
type gate struct {
	ingest.Sink
	mu      sync.Mutex
	order   []string               // file of each commit, in order
	holdOn  func(file string) bool // hold this commit until released
	held    chan string
	release chan struct{}
}

func newGate(sink ingest.Sink) *gate {
	return &gate{Sink: sink, held: make(chan string, 16), release: make(chan struct{})}
}

func (g *gate) Commit(ctx context.Context, p *ingest.Prepared) (ingest.Result, error) {
	file := ""
	if len(p.Batch.Items) > 0 && p.Batch.Items[0].Row != nil {
		file = p.Batch.Items[0].Row.File
	}
	g.mu.Lock()
	g.order = append(g.order, file)
	hold := g.holdOn != nil && g.holdOn(file)
	g.mu.Unlock()
	if hold {
		g.held <- file
		select {
		case <-g.release:
		case <-ctx.Done():
		}
	}
	return g.Sink.Commit(ctx, p)
}

func (g *gate) commits() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.order...)
}

// runGated runs a folder source over a fresh SQLite register through g.
func runGated(t *testing.T, cfg folder.Config, hold func(string) bool) (*testenv.Env, *gate, *logRecorder) {
	t.Helper()
	env := testenv.New(t, testenv.Backends[0].URL(t), nil)
	g := newGate(env.Engine)
	g.holdOn = hold
	logs := &logRecorder{}
	cfg.Name, cfg.Origin, cfg.Location, cfg.Locale = "inbox", demand.OriginRaised, testenv.Shanghai, i18n.EN
	cfg.Logger = slogNew(logs)
	if cfg.StableFor == 0 {
		cfg.StableFor = 200 * time.Millisecond
	}
	if cfg.Rescan == 0 {
		cfg.Rescan = time.Second
	}
	src, err := folder.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); src.Run(ctx, g, env.Store) }()
	t.Cleanup(func() {
		cancel()
		close(g.release)
		<-done
	})
	return env, g, logs
}

func writeCSV(t *testing.T, path string, rows int) []byte {
	t.Helper()
	if err := fixture.WriteCSV(path, fixture.WJXHeader, rows, fixture.WJXRow, false, false); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func waitHeld(t *testing.T, g *gate) string {
	t.Helper()
	select {
	case f := <-g.held:
		return f
	case <-time.After(60 * time.Second):
		t.Fatalf("no commit was held; commits %v", g.commits())
		return ""
	}
}

// A file truncated in place while it is read is not marked done: the
// intact original dropped again adds every row, none twice.
func TestFileTruncatedWhileRead(t *testing.T) {
	dir := t.TempDir()
	held := 0
	env, g, logs := runGated(t, folder.Config{Path: dir, BatchSize: 50}, func(string) bool { held++; return held == 3 })
	original := writeCSV(t, filepath.Join(t.TempDir(), "big.csv"), 2000)
	path := filepath.Join(dir, "big.csv")
	if err := os.WriteFile(path+".tmp", original, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Rename(path+".tmp", path)
	waitHeld(t, g)
	if err := os.Truncate(path, int64(len(original)/3)); err != nil {
		t.Fatal(err)
	}
	g.release <- struct{}{}
	testenv.Eventually(t, 60*time.Second, func() bool { return logs.saw("changed while it was read", "big.csv") },
		func() string { return fmt.Sprintf("counts %+v", env.Counts(t)) })
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the changed file left the folder: %v", err)
	}
	// The intact original comes back (as a person would drop it again).
	os.Remove(path)
	os.WriteFile(filepath.Join(dir, "again.csv.tmp"), original, 0o644)
	os.Rename(filepath.Join(dir, "again.csv.tmp"), filepath.Join(dir, "again.csv"))
	testenv.Eventually(t, 60*time.Second, func() bool { return env.Counts(t).Demands == 2000 },
		func() string { return fmt.Sprintf("counts %+v, want all 2000 rows", env.Counts(t)) })
	if c := env.Counts(t); c.Raw != 2000 {
		t.Errorf("counts %+v: rows twice", c)
	}
}

// A file deleted while it is read is reported as that, and dropped.
func TestFileDeletedWhileRead(t *testing.T) {
	dir := t.TempDir()
	held := 0
	_, g, logs := runGated(t, folder.Config{Path: dir, BatchSize: 50}, func(string) bool { held++; return held == 2 })
	b := writeCSV(t, filepath.Join(t.TempDir(), "x.csv"), 500)
	os.WriteFile(filepath.Join(dir, "gone.csv.tmp"), b, 0o644)
	os.Rename(filepath.Join(dir, "gone.csv.tmp"), filepath.Join(dir, "gone.csv"))
	waitHeld(t, g)
	os.Remove(filepath.Join(dir, "gone.csv"))
	g.release <- struct{}{}
	testenv.Eventually(t, 60*time.Second, func() bool { return logs.saw("deleted or moved away", "gone.csv") },
		func() string { return "no word of the deleted file" })
	if logs.saw("will retry", "gone.csv") {
		t.Error("a deleted file was said to be retried")
	}
}

// A file whose commit hangs does not hold up a small one dropped after it.
func TestSlowFileDoesNotBlockOthers(t *testing.T) {
	dir := t.TempDir()
	env, g, _ := runGated(t, folder.Config{Path: dir}, func(f string) bool { return f == "slow.csv" })
	b := writeCSV(t, filepath.Join(t.TempDir(), "s.csv"), 30)
	os.WriteFile(filepath.Join(dir, "slow.csv.tmp"), b, 0o644)
	os.Rename(filepath.Join(dir, "slow.csv.tmp"), filepath.Join(dir, "slow.csv"))
	waitHeld(t, g)
	small := writeCSV(t, filepath.Join(t.TempDir(), "q.csv"), 3)
	os.WriteFile(filepath.Join(dir, "quick.csv.tmp"), small, 0o644)
	os.Rename(filepath.Join(dir, "quick.csv.tmp"), filepath.Join(dir, "quick.csv"))
	testenv.Eventually(t, 60*time.Second, func() bool { return env.Counts(t).Demands == 3 },
		func() string {
			return fmt.Sprintf("the small file waited behind the slow one: counts %+v", env.Counts(t))
		})
	g.release <- struct{}{}
}

// With one worker, of two files ready together the smaller goes first.
func TestSmallFilesFirst(t *testing.T) {
	dir := t.TempDir()
	env, g, _ := runGated(t, folder.Config{Path: dir, Concurrency: 1, StableFor: time.Second}, nil)
	big := writeCSV(t, filepath.Join(t.TempDir(), "b.csv"), 300)
	small := writeCSV(t, filepath.Join(t.TempDir(), "s.csv"), 2)
	stage := t.TempDir()
	os.WriteFile(filepath.Join(stage, "big.csv"), big, 0o644)
	os.WriteFile(filepath.Join(stage, "small.csv"), small, 0o644)
	os.Rename(filepath.Join(stage, "big.csv"), filepath.Join(dir, "big.csv"))
	os.Rename(filepath.Join(stage, "small.csv"), filepath.Join(dir, "small.csv"))
	testenv.Eventually(t, 60*time.Second, func() bool { return env.Counts(t).Demands == 302 },
		func() string { return fmt.Sprintf("counts %+v", env.Counts(t)) })
	if order := g.commits(); order[0] != "small.csv" {
		t.Errorf("commits in order %v, want small.csv first", order)
	}
}

// Links are never read: a symbolic link made while serving, one there at
// start, and a second hard link go to failed/ as they are, and nothing of
// the target reaches the register, the reason or the log.
func TestLinksAreNotRead(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret.csv")
	os.WriteFile(secret, []byte("姓名,需求描述\nTOPSECRET-ROW,TOPSECRET-DESCRIPTION\n"), 0o600)
	dir := t.TempDir()
	os.Symlink(secret, filepath.Join(dir, "early.csv")) // there at start
	env, _, logs := runGated(t, folder.Config{Path: dir}, nil)
	os.Symlink(secret, filepath.Join(dir, "late.csv"))
	hard := filepath.Join(t.TempDir(), "hard.csv")
	os.WriteFile(hard, []byte("姓名,需求描述\nHARDLINKED,HARDLINKED-DESCRIPTION\n"), 0o600)
	if err := os.Link(hard, filepath.Join(dir, "hard.csv")); err != nil {
		t.Fatal(err)
	}
	failed := filepath.Join(dir, "failed")
	for _, name := range []string{"early.csv", "late.csv", "hard.csv"} {
		testenv.Eventually(t, 30*time.Second, func() bool { _, err := os.Stat(filepath.Join(failed, name+".error.txt")); return err == nil },
			func() string { return name + " not set aside" })
		reason, _ := os.ReadFile(filepath.Join(failed, name+".error.txt"))
		if !strings.Contains(string(reason), "link") || strings.Contains(string(reason), "TOPSECRET") || strings.Contains(string(reason), "HARDLINKED") {
			t.Errorf("%s: reason %q", name, reason)
		}
	}
	for _, name := range []string{"early.csv", "late.csv"} {
		if fi, err := os.Lstat(filepath.Join(failed, name)); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("%s: not kept as a link in failed/: %v %v", name, fi, err)
		}
	}
	if c := env.Counts(t); c.Raw != 0 || c.Demands != 0 {
		t.Errorf("counts %+v: something was read through a link", c)
	}
	var files []store.FailedFile
	testenv.Eventually(t, 30*time.Second, func() bool {
		files, _ = env.Store.FailedFiles(context.Background(), store.FileFailed)
		return len(files) == 3
	}, func() string { return fmt.Sprintf("recorded %+v", files) })
	if logs.saw("TOPSECRET") || logs.saw("HARDLINKED") {
		t.Error("the log holds a link target's content")
	}
	if b, _ := os.ReadFile(secret); !strings.Contains(string(b), "TOPSECRET") {
		t.Error("the target was touched")
	}
}

// A file with a header and no answers is not "processed": it fails.
func TestHeaderOnlyFileFails(t *testing.T) {
	w := watch(t, testenv.Backends[0].URL(t), nil)
	w.dropBytes(t, "header-only.csv", []byte(strings.Join(fixture.WJXHeader, ",")+"\n"))
	if msg := w.waitFailed(t, "header-only.csv"); !strings.Contains(msg, "no data rows") {
		t.Errorf("reason %q", msg)
	}
	if n := len(w.processedFiles(t)); n != 0 {
		t.Errorf("%d files processed", n)
	}
}

// The no-description rejection names headers, never answers.
func TestNoAnswersInReasonsOrLogs(t *testing.T) {
	w := watch(t, testenv.Backends[0].URL(t), nil)
	w.dropBytes(t, "nomap.csv", []byte("序号,1、手机部数,2、性别\n1,CUSTOMER-SECRET-4711,男\n2,CUSTOMER-SECRET-4712,女\n"))
	msg := w.waitFailed(t, "nomap.csv")
	if strings.Contains(msg, "CUSTOMER-SECRET") || !strings.Contains(msg, "1、手机部数") {
		t.Errorf("reason %q: want the headers and no answer", msg)
	}
	if w.logs.saw("CUSTOMER-SECRET") {
		t.Error("the log holds an answer")
	}
}
