package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/demandd/demandd/internal/i18n"
)

// CheckPaths reports each path of the configuration that is not there or
// cannot be read, for `demandd config check`: a [[folder]] path that does
// not exist or is not a folder, a processed_dir or failed_dir whose parent
// does not exist, and a rules, customers, password_file or token_file that
// cannot be read. Each error is an *i18n.Error naming the key and its line,
// in file order. Load does not check these: serve creates folders itself,
// and a file may appear later (a systemd credential).
func (c *Config) CheckPaths() []error {
	var errs []lineError
	add := func(key string, t i18n.Text) {
		errs = append(errs, lineError{c.lineOf(key), c.keyError(key, t)})
	}
	readable := func(key, path string) {
		if path == "" {
			return
		}
		if t, ok := unreadable(path); ok {
			add(key, t)
		}
	}
	readable("classify.rules", c.Classify.Rules)
	readable("classify.customers", c.Classify.Customers)
	for i, f := range c.Folders {
		key := func(k string) string { return fmt.Sprintf("folder[%d].%s", i, k) }
		if f.Path != "" {
			if t, ok := notFolder(f.Path, i18n.Tf(
				"文件夹 %s 不存在；请检查拼写，或创建它（demandd serve 启动时也会创建）",
				"folder %s does not exist; check the spelling, or create it (demandd serve creates it when it starts)", f.Path)); ok {
				add(key("path"), t)
			}
		}
		for _, d := range []struct{ key, dir string }{{"processed_dir", f.ProcessedDir}, {"failed_dir", f.FailedDir}} {
			parent := filepath.Dir(d.dir)
			if d.dir == "" || parent == filepath.Clean(f.Path) {
				continue // missing along with path, reported above
			}
			if fi, err := os.Stat(d.dir); err == nil {
				if !fi.IsDir() {
					add(key(d.key), i18n.Tf("%s 不是文件夹", "%s is not a folder", d.dir))
				}
				continue
			}
			if t, ok := notFolder(parent, i18n.Tf("上级文件夹 %s 不存在；请检查拼写，或创建它",
				"its parent folder %s does not exist; check the spelling, or create it", parent)); ok {
				add(key(d.key), t)
			}
		}
	}
	for i, e := range c.Emails {
		readable(fmt.Sprintf("email[%d].password_file", i), e.PasswordFile)
		readable(fmt.Sprintf("email[%d].token_file", i), e.TokenFile)
	}
	readable("webhook.tls_cert", c.Webhook.TLSCert)
	readable("webhook.tls_key", c.Webhook.TLSKey)
	for i, w := range c.Webhook.Sources {
		readable(fmt.Sprintf("webhook.source[%d].secret_file", i), w.SecretFile)
		readable(fmt.Sprintf("webhook.source[%d].encrypt_key_file", i), w.EncryptKeyFile)
	}
	for i, t := range c.API.Tokens {
		readable(fmt.Sprintf("api.token[%d].token_file", i), t.TokenFile)
	}
	return sortByLine(errs)
}

// notFolder says what is wrong with dir, which should be a folder: missing
// (the message given), not a folder, or not readable.
func notFolder(dir string, missing i18n.Text) (i18n.Text, bool) {
	fi, err := os.Stat(dir)
	switch {
	case err == nil && fi.IsDir():
		return i18n.Text{}, false
	case err == nil:
		return i18n.Tf("%s 不是文件夹", "%s is not a folder", dir), true
	case errors.Is(err, fs.ErrNotExist):
		return missing, true
	}
	return i18n.Tf("无法访问 %s：%v", "cannot access %s: %v", dir, cause(err)), true
}

// unreadable says why the file at path cannot be read, if it cannot.
func unreadable(path string) (i18n.Text, bool) {
	f, err := os.Open(path)
	if err == nil {
		fi, statErr := f.Stat()
		f.Close()
		if statErr == nil && fi.IsDir() {
			return i18n.Tf("%s 是文件夹，不是文件", "%s is a folder, not a file", path), true
		}
		return i18n.Text{}, false
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return i18n.Tf("无法读取 %s：文件不存在", "cannot read %s: no such file", path), true
	case errors.Is(err, fs.ErrPermission):
		return i18n.Tf("无法读取 %s：没有权限；请检查文件的所有者和权限（demandd 以运行它的用户读取）",
			"cannot read %s: permission denied; check the file's owner and mode (demandd reads it as the user it runs as)", path), true
	}
	return i18n.Tf("无法读取 %s：%v", "cannot read %s: %v", path, cause(err)), true
}

// cause drops the operation and path from a *fs.PathError, which the
// message names itself.
func cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
