package folder_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/demandd/demandd/ingest/folder"
	"github.com/demandd/demandd/internal/probe"
)

func probeFolder(t *testing.T, s folder.Settings) map[string]probe.Result {
	t.Helper()
	s.Name = "in"
	s.SetDefaults()
	out := map[string]probe.Result{}
	for _, r := range s.Probe() {
		out[strings.TrimPrefix(r.ID, "folder.in.")] = r
	}
	if len(out) != 4 {
		t.Errorf("%d results, want 4: %v", len(out), out)
	}
	return out
}

func TestProbe(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	os.MkdirAll(filepath.Join(in, "processed"), 0o755)
	os.WriteFile(filepath.Join(in, "a.xlsx"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(in, "~$a.xlsx"), []byte("x"), 0o644) // Excel's lock file: not waiting
	rs := probeFolder(t, folder.Settings{Path: in})
	for _, id := range []string{"path", "processed", "failed", "rename"} {
		if rs[id].Status != probe.OK {
			t.Errorf("%s: %+v", id, rs[id])
		}
	}
	if d := rs["path"].Detail.EN; !strings.Contains(d, "1 files waiting") {
		t.Errorf("path: %q", d)
	}
	if d := rs["failed"].Detail.EN; !strings.Contains(d, "does not exist yet") {
		t.Errorf("failed: %q", d)
	}
	entries, _ := os.ReadDir(in)
	if len(entries) != 3 {
		t.Errorf("the probe left files behind or took some: %v", entries)
	}
	if _, err := os.Stat(filepath.Join(in, "failed")); err == nil {
		t.Error("the probe made failed/")
	}

	// Missing: the rest is not looked at.
	rs = probeFolder(t, folder.Settings{Path: filepath.Join(dir, "nowhere")})
	if r := rs["path"]; r.Status != probe.Fail || !strings.Contains(r.Hint.EN, "is a network share mounted") {
		t.Errorf("missing path: %+v", r)
	}
	if rs["processed"].Status != probe.Skip || rs["rename"].Status != probe.Skip {
		t.Errorf("after a missing path: %+v", rs)
	}

	// A file where failed/ should be.
	os.WriteFile(filepath.Join(dir, "failed-file"), nil, 0o644)
	rs = probeFolder(t, folder.Settings{Path: in, FailedDir: filepath.Join(dir, "failed-file")})
	if r := rs["failed"]; r.Status != probe.Fail || !strings.Contains(r.Hint.EN, "set failed_dir to a folder") {
		t.Errorf("failed_dir a file: %+v", r)
	}
	// processed_dir under a parent that is missing too: made by serve.
	rs = probeFolder(t, folder.Settings{Path: in, ProcessedDir: filepath.Join(dir, "done", "2026")})
	if r := rs["processed"]; r.Status != probe.OK || !strings.Contains(r.Detail.EN, "serve creates it in "+dir) {
		t.Errorf("processed_dir to be made: %+v", r)
	}
}

// Write permission is checked by writing, so that it holds whoever runs
// the probe (root ignores the mode: the test needs another user).
func TestProbeNotWritable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes whatever the mode; the file-for-a-folder case in TestProbe covers the failure")
	}
	in := t.TempDir()
	os.Mkdir(filepath.Join(in, "processed"), 0o555)
	t.Cleanup(func() { os.Chmod(filepath.Join(in, "processed"), 0o755) })
	rs := probeFolder(t, folder.Settings{Path: in})
	if r := rs["processed"]; r.Status != probe.Fail || !strings.Contains(r.Hint.EN, "ReadWritePaths") {
		t.Errorf("read-only processed_dir: %+v", r)
	}
}

// processed_dir on another file system works (copy, then remove) and is
// said to.
func TestProbeOtherFileSystem(t *testing.T) {
	in := t.TempDir()
	other, err := os.MkdirTemp("/dev/shm", "demandd-probe-")
	if err != nil {
		t.Skip("no /dev/shm to put processed_dir on another file system")
	}
	t.Cleanup(func() { os.RemoveAll(other) })
	var a, b syscall.Stat_t
	if syscall.Stat(in, &a) != nil || syscall.Stat(other, &b) != nil || a.Dev == b.Dev {
		t.Skip("/dev/shm is on the temp dir's file system")
	}
	rs := probeFolder(t, folder.Settings{Path: in, ProcessedDir: other})
	if r := rs["rename"]; r.Status != probe.Warn || !strings.Contains(r.Detail.EN, "copied then removed") {
		t.Errorf("other file system: %+v", r)
	}
	if rs["processed"].Status != probe.OK {
		t.Errorf("processed: %+v", rs["processed"])
	}
}
