//go:build unix

package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// The register holds customers' contact details: the database, its -wal
// and -shm files are the owner's alone (0600), and so is a data directory
// demandd creates (0700), whatever the umask.
func TestSQLiteFileModes(t *testing.T) {
	defer syscall.Umask(syscall.Umask(0o022)) // the process's umask back after the test
	for _, umask := range []int{0o022, 0o002, 0o000} {
		t.Run(fmt.Sprintf("umask %04o", umask), func(t *testing.T) {
			syscall.Umask(umask)
			dir := filepath.Join(t.TempDir(), "data")
			path := filepath.Join(dir, "sub", "demandd.db")
			s := open(t, "sqlite:"+path) // migrated: the WAL has been written
			if _, err := s.Count(context.Background()); err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{path, path + "-wal", path + "-shm"} {
				assertMode(t, f, 0o600)
			}
			assertMode(t, dir, 0o700|os.ModeDir)
			assertMode(t, filepath.Dir(path), 0o700|os.ModeDir)
		})
	}
}

// A database or directory that exists keeps its mode: it may be shared on
// purpose (a backup group), and -wal and -shm follow the database's.
func TestSQLiteExistingModesKept(t *testing.T) {
	defer syscall.Umask(syscall.Umask(0o022))
	dir := filepath.Join(t.TempDir(), "shared")
	if err := os.Mkdir(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "demandd.db")
	if err := os.WriteFile(path, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	s := open(t, "sqlite:"+path)
	if _, err := s.Count(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		assertMode(t, f, 0o640)
	}
	assertMode(t, dir, 0o750|os.ModeDir)
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Error(err)
		return
	}
	if got := fi.Mode() & (os.ModeDir | os.ModePerm); got != want {
		t.Errorf("%s: mode %v, want %v", filepath.Base(path), got, want)
	}
}
