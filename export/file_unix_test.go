//go:build unix

package export

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/demandd/demandd/demand"
)

// The file gets the umask's mode, like any file a program creates, not
// os.CreateTemp's 0600.
func TestWriteFileMode(t *testing.T) {
	dir := t.TempDir()
	defer syscall.Umask(syscall.Umask(0o022)) // the process's umask back after the test
	for _, c := range []struct {
		umask int
		want  os.FileMode
	}{{0o022, 0o644}, {0o027, 0o640}, {0o002, 0o664}} {
		syscall.Umask(c.umask)
		for _, name := range []string{"t.xlsx", "t.csv"} {
			path := filepath.Join(dir, name)
			_, err := WriteFile(context.Background(), path, slice{record(1)}, demand.Filter{}, TableOptions{Now: now})
			if err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != c.want {
				t.Errorf("umask %03o: %s mode %v, want %v", c.umask, name, fi.Mode().Perm(), c.want)
			}
		}
	}
}
