package folder

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/demandd/demandd/internal/i18n"
	"github.com/demandd/demandd/internal/probe"
)

// Probe checks the folder as serve uses it: path is a folder demandd can
// list and move files out of; processed_dir and failed_dir are folders it
// can write, or can be made (serve makes them); and both are on path's
// file system, so that a file moves by one rename. It changes nothing but
// a scratch file, named as the watcher ignores it (".demandd-doctor-…"),
// written and removed in each folder that exists.
func (s *Settings) Probe() []probe.Result {
	name := func(zh, en, id string) (string, i18n.Text) {
		return "folder." + s.Name + "." + id, i18n.T(fmt.Sprintf("文件夹 %s：%s", s.Name, zh), fmt.Sprintf("folder %s: %s", s.Name, en))
	}
	var out []probe.Result
	id, n := name("监视目录", "path", "path")
	detail, hint, err := checkDir(s.Path, "path")
	if err != nil {
		out = append(out, probe.Failed(id, n, detail, hint, err))
		why := i18n.T("未检查：监视目录有问题", "not checked: path failed")
		for _, d := range [][3]string{{"processed_dir", "processed_dir", "processed"}, {"failed_dir", "failed_dir", "failed"},
			{"同一文件系统", "same file system", "rename"}} {
			id, n := name(d[0], d[1], d[2])
			out = append(out, probe.Skipped(id, n, why))
		}
		return out
	}
	entries, _ := os.ReadDir(s.Path)
	waiting := 0
	for _, e := range entries {
		if e.Type().IsRegular() && !ignored(e.Name()) {
			waiting++
		}
	}
	out = append(out, probe.Pass(id, n, i18n.Tf("%s 可读写，%d 个文件待导入", "%s is readable and writable, %d files waiting", s.Path, waiting)))
	for _, d := range []struct{ key, id, dir string }{{"processed_dir", "processed", s.ProcessedDir}, {"failed_dir", "failed", s.FailedDir}} {
		id, n := name(d.key, d.key, d.id)
		if _, err := os.Lstat(d.dir); errors.Is(err, fs.ErrNotExist) {
			parent := existingAncestor(d.dir)
			if detail, hint, err := checkDir(parent, d.key); err != nil {
				out = append(out, probe.Failed(id, n, detail, hint, err))
				continue
			}
			out = append(out, probe.Pass(id, n, i18n.Tf("%s 尚不存在；serve 会在 %s 中创建它", "%s does not exist yet; serve creates it in %s", d.dir, parent)))
			continue
		}
		if detail, hint, err := checkDir(d.dir, d.key); err != nil {
			out = append(out, probe.Failed(id, n, detail, hint, err))
			continue
		}
		out = append(out, probe.Pass(id, n, i18n.Tf("%s 可写", "%s is writable", d.dir)))
	}
	id, n = name("同一文件系统", "same file system", "rename")
	var apart []string
	for _, d := range []string{s.ProcessedDir, s.FailedDir} {
		if !sameDevice(s.Path, existingAncestor(d)) {
			apart = append(apart, d)
		}
	}
	if len(apart) > 0 {
		out = append(out, probe.Warning(id, n, i18n.Tf("%v 与 %s 不在同一文件系统：文件要先复制再删除，而不是一次改名",
			"%v not on the file system of %s: files are copied then removed instead of renamed at once", apart, s.Path),
			i18n.T("把 processed_dir 和 failed_dir 放在监视目录所在的文件系统上（默认就在监视目录里）",
				"put processed_dir and failed_dir on the watched folder's file system (by default they are inside it)")))
	} else {
		out = append(out, probe.Pass(id, n, i18n.T("processed_dir 和 failed_dir 与监视目录在同一文件系统：文件一次改名移走",
			"processed_dir and failed_dir are on the watched folder's file system: a file moves by one rename")))
	}
	return out
}

// checkDir says what is wrong with dir, which demandd must list and write
// (key is the setting that names it): missing, not a folder, not
// readable, not writable.
func checkDir(dir, key string) (detail, hint i18n.Text, err error) {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return i18n.Tf("%s 不存在", "%s does not exist", dir),
			i18n.Tf("检查 %s 的拼写（网络共享是否已挂载？），或创建这个文件夹", "check the spelling of %s (is a network share mounted?), or create the folder", key), err
	case err != nil:
		return i18n.Tf("无法访问 %s：%v", "cannot access %s: %v", dir, cause(err)), permHint(key), err
	case !fi.IsDir():
		err = fmt.Errorf("folder: %s is not a directory", dir)
		return i18n.Tf("%s 是文件，不是文件夹", "%s is a file, not a folder", dir),
			i18n.Tf("删除或改名这个文件，或把 %s 设为一个文件夹", "remove or rename the file, or set %s to a folder", key), err
	}
	if _, err := os.ReadDir(dir); err != nil {
		return i18n.Tf("无法列出 %s：%v", "cannot list %s: %v", dir, cause(err)), permHint(key), err
	}
	f, err := os.CreateTemp(dir, ".demandd-doctor-")
	if err != nil {
		return i18n.Tf("无法在 %s 中写入：%v", "cannot write in %s: %v", dir, cause(err)), permHint(key), err
	}
	f.Close()
	if err := os.Remove(f.Name()); err != nil {
		return i18n.Tf("无法删除 %s：%v", "cannot remove %s: %v", f.Name(), cause(err)), permHint(key), err
	}
	return i18n.Text{}, i18n.Text{}, nil
}

func permHint(key string) i18n.Text {
	return i18n.Tf("让运行 demandd 的用户能读写 %s（chown/chmod；systemd 下还要把它列入 ReadWritePaths=）",
		"let the user demandd runs as read and write %s (chown/chmod; under systemd also list it in ReadWritePaths=)", key)
}

// cause drops the operation and path of a *fs.PathError, which the
// message names itself.
func cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// existingAncestor is dir, or its nearest parent that exists.
func existingAncestor(dir string) string {
	for {
		if _, err := os.Lstat(dir); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return dir
		}
		dir = parent
	}
}

// sameDevice reports whether a and b are on one file system; true when
// that cannot be told.
func sameDevice(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	if err1 != nil || err2 != nil {
		return true
	}
	sa, ok1 := fa.Sys().(*syscall.Stat_t)
	sb, ok2 := fb.Sys().(*syscall.Stat_t)
	return !ok1 || !ok2 || sa.Dev == sb.Dev
}
