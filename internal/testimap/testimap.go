// Package testimap starts a real Dovecot for tests and benchmarks and
// delivers mail into its Maildir without SMTP.
package testimap

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// StartDovecot runs a real Dovecot on 127.0.0.1 with a passwd-file user
// "test"/"secret" and a Maildir in a temp dir, until the test ends. Without
// Dovecot the test is skipped loudly, except under CI=true (.ci/run
// installs dovecot-imapd).
func StartDovecot(t testing.TB) (addr, maildir string) {
	t.Helper()
	d := Start(t)
	return d.Addr, d.Maildir
}

// Dovecot is a running Dovecot of one test.
type Dovecot struct {
	Addr    string // 127.0.0.1:PORT, IMAP without TLS
	Maildir string // user test's Maildir
	bin     string
	conf    string
	dir     string
	cmd     *exec.Cmd
}

// Start is StartDovecot returning the server, which the test may restart.
func Start(t testing.TB) *Dovecot {
	t.Helper()
	bin, err := exec.LookPath("dovecot")
	if err != nil {
		if _, err2 := os.Stat("/usr/sbin/dovecot"); err2 == nil {
			bin = "/usr/sbin/dovecot"
		} else {
			msg := "NO DOVECOT: the real-server IMAP tests are not run; install dovecot-imapd (Debian) to run them"
			if os.Getenv("CI") == "true" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
	if os.Geteuid() != 0 {
		t.Skip("NO DOVECOT TEST: the Dovecot harness needs root (it runs mail as the nobody user)")
	}
	dir, err := os.MkdirTemp("", "demandd-dovecot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755) // dovecot's auth workers must read the users file
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	for _, d := range []string{"run", "state", "mail"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	os.WriteFile(filepath.Join(dir, "users"), []byte("test:{PLAIN}secret\n"), 0o644)
	conf := fmt.Sprintf(`protocols = imap
listen = 127.0.0.1
base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
ssl = no
disable_plaintext_auth = no
mail_location = maildir:%[1]s/mail/%%u
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %[1]s/users
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=%[1]s/mail/%%u
}
service imap-login {
  inet_listener imap {
    port = %[2]d
  }
  inet_listener imaps {
    port = 0
  }
}
service stats {
  unix_listener stats-reader {
    mode = 0666
  }
  unix_listener stats-writer {
    mode = 0666
  }
}
`, dir, port)
	confPath := filepath.Join(dir, "dovecot.conf")
	os.WriteFile(confPath, []byte(conf), 0o644)
	if u, err := user.Lookup("nobody"); err == nil {
		uid, _ := strconv.Atoi(u.Uid)
		g, _ := user.LookupGroup("nogroup")
		gid := 65534
		if g != nil {
			gid, _ = strconv.Atoi(g.Gid)
		}
		os.Chown(filepath.Join(dir, "mail"), uid, gid)
	}
	d := &Dovecot{Addr: fmt.Sprintf("127.0.0.1:%d", port), Maildir: filepath.Join(dir, "mail", "test"), bin: bin, conf: confPath, dir: dir}
	t.Cleanup(d.stop)
	if err := d.start(); err != nil {
		t.Fatal(err)
	}
	return d
}

// start runs Dovecot in the foreground, in a process group of its own, and
// waits until it answers.
func (d *Dovecot) start() error {
	d.cmd = exec.Command(d.bin, "-F", "-c", d.conf)
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		return err
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", d.Addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(d.dir, "dovecot.log"))
			return fmt.Errorf("dovecot did not start: %v\n%s", err, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop ends Dovecot and all its processes.
func (d *Dovecot) stop() {
	if d.cmd == nil {
		return
	}
	syscall.Kill(-d.cmd.Process.Pid, syscall.SIGTERM)
	d.cmd.Wait()
	d.cmd = nil
}

// Restart stops Dovecot — every connection is cut — and starts it again
// on the same port with the same mail.
func (d *Dovecot) Restart() error {
	d.stop()
	return d.start()
}

var seq atomic.Int64

// Deliver writes a message into the Maildir as a local delivery agent
// does: into tmp/, owned by nobody, then renamed into new/.
func Deliver(t testing.TB, maildir string, raw []byte) {
	t.Helper()
	for _, d := range []string{"tmp", "new", "cur"} {
		os.MkdirAll(filepath.Join(maildir, d), 0o700)
	}
	name := fmt.Sprintf("%d.%d_%d.demandd", time.Now().Unix(), os.Getpid(), seq.Add(1))
	tmp := filepath.Join(maildir, "tmp", name)
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(maildir, "new", name)); err != nil {
		t.Fatal(err)
	}
}

// ChownNobody gives the Maildir tree to nobody, as Dovecot's userdb says.
func ChownNobody(t testing.TB, dir string) {
	t.Helper()
	u, err := user.Lookup("nobody")
	if err != nil {
		return
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid := 65534
	if g, err := user.LookupGroup("nogroup"); err == nil {
		gid, _ = strconv.Atoi(g.Gid)
	}
	filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			os.Chown(p, uid, gid)
		}
		return nil
	})
}
