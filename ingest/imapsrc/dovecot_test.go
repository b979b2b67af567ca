package imapsrc_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/demandd/demandd/ingest/imapsrc"
	"github.com/demandd/demandd/internal/testenv"
)

// startDovecot runs a real Dovecot on 127.0.0.1 with a passwd-file user
// "test"/"secret" and a Maildir in a temp dir, until the test ends. Without
// Dovecot the test is skipped loudly, except under CI=true (.ci/run
// installs dovecot-imapd).
func startDovecot(t *testing.T) string {
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
	cmd := exec.Command(bin, "-F", "-c", confPath)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		cmd.Wait()
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
			t.Fatalf("dovecot did not start: %v\n%s", err, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return addr
}

func dovecotAppend(t *testing.T, addr, raw string) {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("test", "secret").Wait(); err != nil {
		t.Fatal(err)
	}
	cmd := c.Append("INBOX", int64(len(raw)), nil)
	cmd.Write([]byte(raw))
	cmd.Close()
	if _, err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestDovecot(t *testing.T) {
	addr := startDovecot(t)
	for i := 1; i <= 3; i++ {
		dovecotAppend(t, addr, message(i, fmt.Sprintf("dovecot %d", i), "打印机卡纸，请安排上门"))
	}
	env := testenv.New(t, testenv.Backends[0].URL(t), nil)
	src := run(t, env, imapsrc.Config{Addr: addr, Username: "test", IDLE: true, PollInterval: time.Minute, After: "seen"})
	waitDemands(t, env, 3)
	testenv.Eventually(t, 10*time.Second, func() bool { return src.States()[0].Idle }, func() string { return fmt.Sprintf("%+v", src.States()) })
	start := time.Now()
	dovecotAppend(t, addr, message(4, "dovecot push", "系统宕机"))
	waitDemands(t, env, 4)
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("IDLE push took %s", took)
	}
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Login("test", "secret").Wait()
	if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() bool {
		msgs, _ := c.Fetch(imap.SeqSetNum(1, 2, 3, 4), &imap.FetchOptions{Flags: true}).Collect()
		seen := 0
		for _, m := range msgs {
			for _, f := range m.Flags {
				if f == imap.FlagSeen {
					seen++
				}
			}
		}
		return seen == 4
	}, func() string { return "messages not marked seen" })
}
