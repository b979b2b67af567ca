package export

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/internal/i18n"
)

// Format is a file format of the tracking table.
type Format int

// The formats WriteFile writes.
const (
	XLSX Format = iota + 1
	CSV
)

func (f Format) String() string {
	switch f {
	case XLSX:
		return "xlsx"
	case CSV:
		return "csv"
	}
	return "Format(" + strconv.Itoa(int(f)) + ")"
}

// ErrFormat is what FormatFor's error wraps: the output file's extension
// names no format export writes.
var ErrFormat = errors.New("unsupported export format")

// FormatFor picks the format by the output file's extension, in any case:
// .xlsx or .csv. Anything else is an error (wrapping ErrFormat, with a
// message in both languages) rather than a workbook under a name that
// promises something else.
func FormatFor(path string) (Format, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".xlsx":
		return XLSX, nil
	case ".csv":
		return CSV, nil
	}
	return 0, fmt.Errorf("export: %w", i18n.Wrap(ErrFormat, i18n.Tf(
		"%s：demandd 只能导出 .xlsx 或 .csv 文件", "%s: demandd writes .xlsx or .csv", path)))
}

// WriteFile writes the tracking table of the records matching f to path,
// as a workbook or CSV by its extension (FormatFor), and returns the number
// of rows. It writes a file beside path, syncs it and renames it over path,
// so a reader never sees half a file and a failed export leaves the old
// one. The file gets opts.FileMode, 0640 by default, whatever the umask:
// the team it is for reads it through its group, while the customers'
// names and contacts in it are not for every account on the machine.
func WriteFile(ctx context.Context, path string, src Records, f demand.Filter, opts TableOptions) (n int, err error) {
	format, err := FormatFor(path)
	if err != nil {
		return 0, err
	}
	err = writeAtomic(path, opts.FileMode, func(tmp *os.File) error {
		var err error
		switch format {
		case XLSX:
			n, err = WriteTable(ctx, tmp, src, f, opts)
		case CSV:
			n, err = WriteCSV(ctx, tmp, src, f, opts)
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// writeAtomic has write fill a new file beside path, then syncs it and
// renames it over path, so a reader never sees half a file and a failure
// leaves the old one. The file gets mode (DefaultFileMode when 0) whatever
// the umask. write's own errors are returned as they are.
func writeAtomic(path string, mode os.FileMode, write func(*os.File) error) (err error) {
	mode = mode.Perm()
	if mode == 0 {
		mode = DefaultFileMode
	}
	tmp, err := createBeside(path)
	if err != nil {
		return fmt.Errorf("export: create %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	// Set, not left to the umask, which would narrow a wider mode asked
	// for (0644 under umask 027).
	if err = tmp.Chmod(mode); err != nil {
		return fmt.Errorf("export: create %s: %w", path, err)
	}
	if err = write(tmp); err != nil {
		return err
	}
	if err = tmp.Sync(); err == nil {
		err = tmp.Close()
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("export: write %s: %w", path, err)
	}
	syncDir(filepath.Dir(path))
	return nil
}

// DefaultFileMode is the mode of a file WriteFile writes when
// TableOptions.FileMode is 0.
const DefaultFileMode os.FileMode = 0o640

// createBeside creates a new, hidden file in path's directory, the
// owner's alone until WriteFile sets its mode.
func createBeside(path string) (*os.File, error) {
	dir, base := filepath.Split(path)
	for range 100 {
		name := filepath.Join(dir, "."+base+"."+strconv.FormatUint(rand.Uint64(), 36)+".tmp")
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if !errors.Is(err, fs.ErrExist) {
			return f, err
		}
	}
	return nil, fmt.Errorf("no free temporary name beside %s", path)
}

// syncDir makes a rename in dir durable. Best effort: the file itself is
// synced, and some file systems cannot sync a directory.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}
