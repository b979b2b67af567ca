package main

import (
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/demandd/demandd/internal/testdb"
	"github.com/demandd/demandd/internal/testenv"
)

type silent struct{}

func (silent) Printf(string, ...any) {}

// TestEmailCrashSafety kills `demandd serve` with SIGKILL during a
// 5,000-message first sync and restarts it: every message exactly once.
func TestEmailCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the daemon")
	}
	const n = 5000
	mem := imapmemserver.New()
	u := imapmemserver.NewUser("support", "secret")
	u.Create("INBOX", nil)
	mem.AddUser(u)
	srv := imapserver.New(&imapserver.Options{InsecureAuth: true, Caps: imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		Logger: silent{},
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	c, err := imapclient.DialInsecure(ln.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Login("support", "secret").Wait()
	for i := 1; i <= n; i++ {
		raw := fmt.Sprintf("From: c%d@example.com\r\nSubject: 需求 %d\r\nMessage-ID: <crash-%d@example.com>\r\n\r\n请增加第%d个报表\r\n", i, i, i, i)
		cmd := c.Append("INBOX", int64(len(raw)), nil)
		cmd.Write([]byte(raw))
		cmd.Close()
		if _, err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()

	bin := buildBinary(t)
	url := testdb.Postgres(t)
	dir := t.TempDir()
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	cfg := filepath.Join(dir, "demandd.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`data_dir = %q
[database]
url = %q
[[email]]
name = "support"
host = %q
port = %s
tls = "none"
username = "support"
password = "secret"
sender_limit = -1
[admin]
listen = "127.0.0.1:0"
`, dir, url, host, port)), 0o644)
	db, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func() int {
		var k int
		if err := db.QueryRow(`SELECT COUNT(*) FROM raw_items`).Scan(&k); err != nil {
			return -1
		}
		return k
	}
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "serve", "--config", cfg)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	cmd := start()
	var at int
	testenv.Eventually(t, 60*time.Second, func() bool { at = count(); return at >= 100 }, func() string { return fmt.Sprint(at, " raw items") })
	if at >= n {
		t.Fatalf("the sync finished (%d) before it could be interrupted", at)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	t.Logf("SIGKILL with %d of %d messages committed", at, n)

	cmd = start()
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	testenv.Eventually(t, 120*time.Second, func() bool { at = count(); return at == n }, func() string { return fmt.Sprint(at, " raw items") })
	time.Sleep(time.Second)
	var raws, keys, demands int
	db.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT external_key), (SELECT COUNT(*) FROM demands) FROM raw_items`).Scan(&raws, &keys, &demands)
	if raws != n || keys != n || demands != n {
		t.Fatalf("raw %d, distinct keys %d, demands %d; want %d each", raws, keys, demands, n)
	}
}
