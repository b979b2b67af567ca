//go:build unix

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/demandd/demandd/internal/fixture"
)

// What demandd writes under a permissive umask: the register the owner's
// alone, the export at file_mode (0640 unless configured).
func TestFileModesFromConfig(t *testing.T) {
	defer syscall.Umask(syscall.Umask(0o002)) // the process's umask back after the test
	for _, c := range []struct {
		setting string // file_mode line, if any
		want    os.FileMode
	}{{"", 0o640}, {`file_mode = "0604"`, 0o604}} {
		t.Run(fmt.Sprintf("%q", c.setting), func(t *testing.T) {
			syscall.Umask(0o002)
			dir := t.TempDir()
			cfg := filepath.Join(dir, "demandd.toml")
			if err := os.WriteFile(cfg, []byte("data_dir = \"data\"\n"+c.setting+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, "survey.xlsx")
			if err := fixture.WriteWJX(file, 3); err != nil {
				t.Fatal(err)
			}
			if code, out, errOut := demandd(t, "import", file, "--config", cfg); code != exitOK {
				t.Fatalf("import: exit %d %s%s", code, out, errOut)
			}
			for path, want := range map[string]os.FileMode{
				filepath.Join(dir, "data"):               0o700 | os.ModeDir,
				filepath.Join(dir, "data", "demandd.db"): 0o600,
			} {
				if fi, err := os.Stat(path); err != nil || fi.Mode()&(os.ModeDir|os.ModePerm) != want {
					t.Errorf("%s: %v %v, want %v", path, fi.Mode(), err, want)
				}
			}
			out := filepath.Join(dir, "t.xlsx")
			if code, stdout, errOut := demandd(t, "export", "--out", out, "--config", cfg); code != exitOK {
				t.Fatalf("export: exit %d %s%s", code, stdout, errOut)
			}
			if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != c.want {
				t.Errorf("export: %v %v, want %v", fi.Mode(), err, c.want)
			}
		})
	}
}
