//go:build unix

package folder

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// A file moved across file systems keeps its mode, as a rename does, so
// that where processed/ lives does not decide who may read the file.
func TestCopyKeepsMode(t *testing.T) {
	defer syscall.Umask(syscall.Umask(0o022))
	for _, c := range []struct {
		umask int
		mode  os.FileMode
	}{{0o022, 0o644}, {0o077, 0o644}, {0o022, 0o600}, {0o002, 0o664}} {
		t.Run(fmt.Sprintf("umask %04o mode %04o", c.umask, c.mode), func(t *testing.T) {
			syscall.Umask(c.umask)
			dir := t.TempDir()
			src, dst := filepath.Join(dir, "a.csv"), filepath.Join(dir, "b.csv")
			if err := os.WriteFile(src, []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(src, c.mode); err != nil {
				t.Fatal(err)
			}
			if err := copyFile(src, dst); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(dst)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != c.mode {
				t.Errorf("copy mode %v, want %v", fi.Mode().Perm(), c.mode)
			}
		})
	}
}
