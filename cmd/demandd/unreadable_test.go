package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/demandd/demandd/internal/testenv"
)

// A file demandd may not read is tried a few times, then set aside in
// failed/ with the reason, and listed with the quarantine. Root reads
// everything, so as root the daemon runs as nobody.
func TestUnreadableFileSetAside(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the daemon")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	inbox := filepath.Join(dir, "inbox")
	os.MkdirAll(inbox, 0o777)
	cfg := writeConfig(t, dir, "sqlite:"+filepath.Join(dir, "d.db"), "")
	locked := filepath.Join(inbox, "locked.csv")
	os.WriteFile(locked, []byte("需求描述\n报表导出太慢\n"), 0o644)
	os.Chmod(locked, 0)
	cmd := exec.Command(bin, "serve", "--config", cfg)
	if os.Getuid() == 0 {
		for _, d := range []string{filepath.Dir(bin), filepath.Dir(dir), dir} {
			os.Chmod(d, 0o755)
		}
		os.Chown(dir, 65534, 65534)
		os.Chown(inbox, 65534, 65534)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	reason := filepath.Join(inbox, "failed", "locked.csv.error.txt")
	testenv.Eventually(t, 90*time.Second, func() bool { _, err := os.Stat(reason); return err == nil },
		func() string { return "not set aside; serve said:\n" + logs.String() })
	b, _ := os.ReadFile(reason)
	if !strings.Contains(string(b), "没有读取这个文件的权限") {
		t.Errorf("reason %q", b)
	}
	if _, out, _ := demandd(t, "quarantine", "list", "--config", cfg); !strings.Contains(out, "locked.csv") {
		t.Errorf("quarantine list: %q", out)
	}
}

// import: a file with no answers is an error (exit 1), a link named on
// the command line is read.
func TestImportHeaderOnlyAndLink(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "sqlite:"+filepath.Join(dir, "d.db"), "")
	empty := filepath.Join(dir, "header.csv")
	os.WriteFile(empty, []byte("姓名,需求描述\n"), 0o644)
	if code, out, errOut := demandd(t, "import", empty, "--config", cfg); code != exitRuntime || !strings.Contains(errOut, "没有任何数据行") {
		t.Errorf("import of a header-only file: %d %q %q", code, out, errOut)
	}
	real := filepath.Join(dir, "real.csv")
	os.WriteFile(real, []byte("姓名,需求描述\n张伟,报表导出太慢\n"), 0o644)
	link := filepath.Join(dir, "link.csv")
	os.Symlink(real, link)
	if code, out, errOut := demandd(t, "import", link, "--config", cfg); code != exitOK || !strings.Contains(out, "1 new") {
		t.Errorf("import of a link: %d %q %q", code, out, errOut)
	}
}
