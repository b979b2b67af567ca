//go:build unix

package export

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/demandd/demandd/demand"
)

// The export gets 0640 by default and the configured mode otherwise,
// whatever the umask: not os.CreateTemp's 0600, which hid the table from
// the team, nor the umask's 0644, which showed customers' contacts to
// every account on the machine.
func TestWriteFileMode(t *testing.T) {
	dir := t.TempDir()
	defer syscall.Umask(syscall.Umask(0o022)) // the process's umask back after the test
	for _, c := range []struct {
		umask int
		mode  os.FileMode // TableOptions.FileMode
		want  os.FileMode
	}{
		{0o022, 0, 0o640}, {0o002, 0, 0o640}, {0o027, 0, 0o640}, {0o077, 0, 0o640},
		{0o077, 0o644, 0o644}, {0o022, 0o600, 0o600}, {0o027, 0o664, 0o664},
	} {
		t.Run(fmt.Sprintf("umask %04o mode %04o", c.umask, c.mode), func(t *testing.T) {
			syscall.Umask(c.umask)
			for _, name := range []string{"t.xlsx", "t.csv"} {
				path := filepath.Join(dir, name)
				_, err := WriteFile(context.Background(), path, slice{record(1)}, demand.Filter{}, TableOptions{Now: now, FileMode: c.mode})
				if err != nil {
					t.Fatal(err)
				}
				fi, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm() != c.want {
					t.Errorf("%s mode %v, want %v", name, fi.Mode().Perm(), c.want)
				}
			}
		})
	}
}
