package folder

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"time"
)

// The folder is untrusted input, as a mail server's spool is: what is read
// must be the regular file that was scanned, and stay that file until its
// last row is committed.

var (
	// errChanged: the file was written, truncated or replaced while it
	// was read. Nothing of it is marked done; it is read again once it is
	// stable, and rows already committed are not added twice.
	errChanged = errors.New("the file changed while it was read; it is read again once it is stable")
	// errGone: the file was deleted or moved away while it was read.
	errGone = errors.New("the file was deleted or moved away while it was read")
)

// identity is what tells one file from another at the same path.
type identity struct {
	size     int64
	mtime    time.Time
	dev, ino uint64
}

// fileIdentity reads path's identity without following a link. A link, a
// second hard link to a file, or anything but a regular file is refused:
// demandd reads only files put into the folder, never what a link points
// to (another folder's file, /etc/passwd).
func fileIdentity(path string) (identity, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return identity{}, errGone
		}
		return identity{}, fmt.Errorf("folder: %w", err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return identity{}, fileErrorf("这是一个符号链接，demandd 不读取链接：请把文件本身（不是指向它的链接）放入文件夹",
			"the file is a symbolic link, and demandd does not read links: put the file itself in the folder, not a link to it")
	}
	if !fi.Mode().IsRegular() {
		return identity{}, fileErrorf("这不是普通文件（%s）：请放入导出的 .xlsx 或 .csv 文件",
			"this is not a regular file (%s): put an exported .xlsx or .csv file in the folder", fi.Mode().Type())
	}
	id := identity{size: fi.Size(), mtime: fi.ModTime()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.dev, id.ino = uint64(st.Dev), st.Ino
		// A hard link shares its content with a file elsewhere, possibly
		// one the person who dropped it may not read.
		if st.Nlink > 1 {
			return identity{}, fileErrorf("这个文件还有其他硬链接（%d 个）：请复制文件本身放入文件夹，不要用链接",
				"the file has other hard links (%d): copy the file itself into the folder instead of linking it", st.Nlink)
		}
	}
	return id, nil
}

// recheck says whether path is still the file of id with the content
// hashed as sha: errChanged if not, errGone if it has gone.
func (id identity) recheck(path, sha string) error {
	now, err := fileIdentity(path)
	if err != nil {
		if errors.Is(err, errGone) {
			return errGone
		}
		return errChanged
	}
	if now != id {
		return errChanged
	}
	// Size and mtime can be kept by a rewrite in place; the content
	// cannot.
	again, err := fileSHA256(path)
	if err != nil {
		return errChanged
	}
	if again != sha {
		return errChanged
	}
	return nil
}

// openNoFollow opens path for reading, refusing a symbolic link put in its
// place since it was scanned.
func openNoFollow(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
}
