//go:build unix

package folder_test

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/ingest/folder"
	"github.com/demandd/demandd/internal/i18n"
	"github.com/demandd/demandd/internal/testenv"
)

// NAME.error.txt is 0640 by default and the configured mode otherwise,
// whatever the umask.
func TestErrorFileMode(t *testing.T) {
	defer syscall.Umask(syscall.Umask(0o022)) // the process's umask back after the test
	for _, c := range []struct {
		umask int
		mode  os.FileMode // folder.Config.FileMode
		want  os.FileMode
	}{
		{0o022, 0, 0o640}, {0o002, 0, 0o640}, {0o077, 0, 0o640}, {0o077, 0o644, 0o644}, {0o022, 0o600, 0o600},
	} {
		t.Run(fmt.Sprintf("umask %04o mode %04o", c.umask, c.mode), func(t *testing.T) {
			syscall.Umask(c.umask)
			env := testenv.New(t, testenv.Backends[0].URL(t), nil)
			dir := t.TempDir()
			src, err := folder.New(folder.Config{Name: "inbox", Path: dir, StableFor: 100 * time.Millisecond, Rescan: time.Second,
				Origin: demand.OriginRaised, Location: testenv.Shanghai, Locale: i18n.EN, FileMode: c.mode, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			env.Run(t, src)
			tmp := filepath.Join(t.TempDir(), "notes.pdf")
			if err := os.WriteFile(tmp, []byte("%PDF-1.4"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, filepath.Join(dir, "notes.pdf")); err != nil {
				t.Fatal(err)
			}
			reason := filepath.Join(dir, "failed", "notes.pdf.error.txt")
			testenv.Eventually(t, 30*time.Second, func() bool { _, err := os.Stat(reason); return err == nil },
				func() string { return "no " + reason })
			fi, err := os.Stat(reason)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != c.want {
				t.Errorf("NAME.error.txt mode %v, want %v", fi.Mode().Perm(), c.want)
			}
		})
	}
}
