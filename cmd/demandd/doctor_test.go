package main

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/demandd/demandd/internal/testdb"
)

// doctorIMAP is go-imap's in-memory server on 127.0.0.1 with the user
// support/secret and the mailboxes INBOX, 客户需求 and Done.
func doctorIMAP(t *testing.T) (host, port string) {
	t.Helper()
	mem := imapmemserver.New()
	u := imapmemserver.NewUser("support", "secret")
	for _, mb := range []string{"INBOX", "客户需求", "Done"} {
		if err := u.Create(mb, nil); err != nil {
			t.Fatal(err)
		}
	}
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
	t.Cleanup(func() { srv.Close() })
	host, port, _ = net.SplitHostPort(ln.Addr().String())
	return host, port
}

// smtpSink is an SMTP server that takes report@example.com/s3cret over
// AUTH PLAIN and counts the mail it is given (doctor sends none).
type smtpSink struct{ mails int }

func (b *smtpSink) NewSession(*smtp.Conn) (smtp.Session, error) { return &sinkSession{b: b}, nil }

type sinkSession struct{ b *smtpSink }

func (s *sinkSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *sinkSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "report@example.com" || pass != "s3cret" {
			return errors.New("bad credentials")
		}
		return nil
	}), nil
}
func (s *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *sinkSession) Data(io.Reader) error                 { s.b.mails++; return nil }
func (s *sinkSession) Reset()                               {}
func (s *sinkSession) Logout() error                        { return nil }

func doctorSMTP(t *testing.T) (host, port string, sink *smtpSink) {
	t.Helper()
	sink = &smtpSink{}
	srv := smtp.NewServer(sink)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true // plain over loopback
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	host, port, _ = net.SplitHostPort(ln.Addr().String())
	return host, port, sink
}

// inEnglish makes the configuration at path ask for English.
func inEnglish(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append([]byte("locale = \"en\"\n"), b...), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

type doctorCheck struct {
	ID, Name, Status, Detail, Hint string
}

// runDoctor runs `demandd doctor --json` and returns its exit code and
// checks by id.
func runDoctor(t *testing.T, cfg string, args ...string) (int, map[string]doctorCheck) {
	t.Helper()
	code, out, errOut := demandd(t, append([]string{"doctor", "--json", "--config", cfg}, args...)...)
	var rep struct {
		OK     bool
		Checks []doctorCheck
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("doctor --json: %v\n%s\n%s", err, out, errOut)
	}
	if rep.OK != (code == exitOK) {
		t.Errorf("ok = %v, exit %d", rep.OK, code)
	}
	byID := map[string]doctorCheck{}
	for _, c := range rep.Checks {
		if _, dup := byID[c.ID]; dup {
			t.Errorf("check %s twice", c.ID)
		}
		byID[c.ID] = c
	}
	return code, byID
}

// want checks that the check id has status, and that its detail and hint
// hold the given words.
func want(t *testing.T, checks map[string]doctorCheck, id, status string, words ...string) {
	t.Helper()
	c, ok := checks[id]
	if !ok {
		t.Errorf("no check %s", id)
		return
	}
	if c.Status != status {
		t.Errorf("%s: %s, want %s (%s; %s)", id, c.Status, status, c.Detail, c.Hint)
	}
	for _, w := range words {
		if !strings.Contains(c.Detail+" | "+c.Hint, w) {
			t.Errorf("%s: %q not in %q | %q", id, w, c.Detail, c.Hint)
		}
	}
}

// An installation that works: SQLite, a folder, an account with two
// mailboxes and a move target, an SMTP server with a login, a rules file
// and a customer directory — every check passes and exit 0. Nothing is
// sent, moved or created.
func TestDoctorAllGood(t *testing.T) {
	dir := t.TempDir()
	imapHost, imapPort := doctorIMAP(t)
	smtpHost, smtpPort, sink := doctorSMTP(t)
	_, rules, _ := demandd(t, "rules", "example")
	os.WriteFile(filepath.Join(dir, "rules.toml"), []byte(rules), 0o644)
	os.WriteFile(filepath.Join(dir, "customers.csv"), []byte("匹配,客户名称,行业,等级\n@huaxin.com,华信科技,制造,战略\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "imap.pass"), []byte("secret\n"), 0o600)
	os.MkdirAll(filepath.Join(dir, "inbox"), 0o755)
	cfg := writeConfig(t, dir, "sqlite:"+filepath.Join(dir, "d.db"), fmt.Sprintf(`
[[email]]
name = "support"
host = %q
port = %s
tls = "none"
username = "support"
password_file = "imap.pass"
mailboxes = ["INBOX", "客户需求"]
after = "move:Done"

[smtp]
host = %q
port = %s
tls = "none"
username = "report@example.com"
password = "s3cret"

[classify]
rules = "rules.toml"
customers = "customers.csv"

[webhook]
listen = "127.0.0.1:0"
[[webhook.source]]
name = "crm"
preset = "generic"
secret_file = "crm.secret"
[webhook.source.mapping]
ticket = "/id"
title = "/title"
text = "/body"
[[api.token]]
name = "viewer"
scope = "read"
token = "read-token-123"
`, imapHost, imapPort, smtpHost, smtpPort))
	os.WriteFile(filepath.Join(dir, "crm.secret"), []byte("s3cret-crm\n"), 0o600)
	if code, _, errOut := demandd(t, "migrate", "--config", cfg); code != exitOK {
		t.Fatalf("migrate: %d %s", code, errOut)
	}

	code, checks := runDoctor(t, cfg)
	if code != exitOK {
		t.Errorf("exit %d, want 0: %+v", code, checks)
	}
	for _, id := range []string{"config", "clock.zone", "database.connect", "rules", "customers",
		"folder.inbox.path", "folder.inbox.processed", "folder.inbox.failed", "folder.inbox.rename",
		"email.support.connect", "email.support.tls", "email.support.login", "email.support.mailbox.INBOX",
		"email.support.mailbox.客户需求", "email.support.move", "email.support.idle",
		"smtp.connect", "smtp.tls", "smtp.auth", "webhook"} {
		want(t, checks, id, "ok")
	}
	want(t, checks, "database.schema", "ok", "版本")
	want(t, checks, "database.clock", "ok", "SQLite")
	want(t, checks, "email.support.login", "ok", "support")
	want(t, checks, "smtp.auth", "ok", "report@example.com")
	want(t, checks, "customers", "ok", "customers.csv")
	for id, c := range checks {
		if c.Status == "fail" || c.Status == "skip" {
			t.Errorf("%s: %s (%s)", id, c.Status, c.Detail)
		}
	}
	if sink.mails != 0 {
		t.Errorf("doctor sent %d mails", sink.mails)
	}
	for _, d := range []string{"processed", "failed"} {
		if _, err := os.Stat(filepath.Join(dir, "inbox", d)); err == nil {
			t.Errorf("doctor created inbox/%s", d)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "inbox")); len(entries) != 0 {
		t.Errorf("doctor left %v in the folder", entries)
	}

	// The lines a person reads, in the configured language.
	code, out, _ := demandd(t, "doctor", "--config", cfg)
	if code != exitOK || !strings.Contains(out, "✓ 邮箱 support：邮件夹 客户需求 — 0 封邮件") || !strings.Contains(out, "✓ SMTP：登录") ||
		strings.Contains(out, "✗") {
		t.Errorf("doctor: exit %d\n%s", code, out)
	}
}

// Each fault is found, with a hint saying what to do, and every other
// check still runs: exit 1.
func TestDoctorFailures(t *testing.T) {
	dir := t.TempDir()
	imapHost, imapPort := doctorIMAP(t)
	smtpHost, smtpPort, _ := doctorSMTP(t)
	os.WriteFile(filepath.Join(dir, "rules.toml"), []byte("[[rule]]\nname = \"x\"\nany = [\"a\"]\nset_type = \"bug\"\n"), 0o644)
	os.MkdirAll(filepath.Join(dir, "inbox"), 0o755)
	os.MkdirAll(filepath.Join(dir, "blocked"), 0o755)
	// A file where processed/ should be: root, which the tests may run
	// as, writes anywhere whatever the permissions.
	os.WriteFile(filepath.Join(dir, "blocked", "processed"), []byte("x"), 0o644)
	// A port nothing listens on.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	_, downPort, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	account := func(name, port, password, mailbox string) string {
		return fmt.Sprintf("[[email]]\nname = %q\nhost = %q\nport = %s\ntls = \"none\"\nusername = \"support\"\npassword = %q\nmailboxes = [%q]\n",
			name, imapHost, port, password, mailbox)
	}
	cfg := writeConfig(t, dir, "sqlite:"+filepath.Join(dir, "d.db"),
		account("down", downPort, "secret", "INBOX")+account("badpass", imapPort, "wrong", "INBOX")+
			account("nobox", imapPort, "secret", "需求")+fmt.Sprintf(`
[[email]]
name = "tlsmismatch"
host = %q
port = %s
username = "support"
password = "secret"

[[folder]]
name = "gone"
path = "nowhere"

[[folder]]
name = "blocked"
path = "blocked"

[smtp]
host = %q
port = %s
tls = "none"
username = "report@example.com"
password = "wrong"

[classify]
rules = "rules.toml"

[[webhook.source]]
name = "crm"
preset = "generic"
secret_file = "missing.secret"
[webhook.source.mapping]
ticket = "/id"
title = "/title"
`, imapHost, imapPort, smtpHost, smtpPort))
	inEnglish(t, cfg)
	if code, _, errOut := demandd(t, "migrate", "--config", cfg); code != exitUsage || !strings.Contains(errOut, "set_type") {
		t.Fatalf("migrate with broken rules: %d %s", code, errOut) // the register is made before the rules are read
	}

	code, checks := runDoctor(t, cfg)
	if code != exitRuntime {
		t.Errorf("exit %d, want %d", code, exitRuntime)
	}
	want(t, checks, "email.down.connect", "fail", "connection refused", "nothing listens on 127.0.0.1:"+downPort)
	want(t, checks, "email.down.login", "skip", "connect failed")
	want(t, checks, "email.down.mailbox.INBOX", "skip")
	want(t, checks, "email.badpass.connect", "ok")
	want(t, checks, "email.badpass.login", "fail", "login as support failed", "app password")
	want(t, checks, "email.badpass.mailbox.INBOX", "skip", "login failed")
	want(t, checks, "email.nobox.login", "ok")
	want(t, checks, "email.nobox.mailbox.需求", "fail", `cannot open mailbox "需求"`, "set mailboxes to names the server has: ", "客户需求")
	want(t, checks, "email.nobox.idle", "ok") // a missing mailbox hides nothing else
	want(t, checks, "email.tlsmismatch.connect", "ok")
	want(t, checks, "email.tlsmismatch.tls", "fail", "does not speak TLS on this port", `tls = "starttls"`)
	want(t, checks, "email.tlsmismatch.login", "skip", "TLS failed")
	want(t, checks, "folder.gone.path", "fail", "does not exist", "check the spelling of path")
	want(t, checks, "folder.gone.processed", "skip")
	want(t, checks, "folder.inbox.path", "ok")
	want(t, checks, "folder.blocked.path", "ok")
	want(t, checks, "folder.blocked.processed", "fail", "is a file, not a folder", "set processed_dir to a folder")
	want(t, checks, "folder.blocked.failed", "ok")
	want(t, checks, "rules", "fail", "rules.toml:", "set_type", "demandd rules check")
	want(t, checks, "smtp.connect", "ok")
	want(t, checks, "smtp.auth", "fail", "login as report@example.com failed", "app password")
	want(t, checks, "database.schema", "ok")
	want(t, checks, "webhook", "fail", "missing.secret", "exists and is readable")

	// The text form: one line per check, a mark, the hint after the fault.
	_, out, errOut := demandd(t, "doctor", "--config", cfg)
	if !strings.Contains(out, "✗ email badpass: login — login as support failed: imap: NO [AUTHENTICATIONFAILED]") ||
		!strings.Contains(out, "; hint: check username and the password") ||
		!strings.Contains(out, "- email badpass: mailbox INBOX — not checked: login failed") || !strings.Contains(errOut, "checks failed") {
		t.Errorf("doctor:\n%s\n%s", out, errOut)
	}
}

// A server that takes the connection and never answers costs the
// timeout, not forever; a configuration that does not load is one line
// with its errors.
func TestDoctorTimeoutAndBadConfig(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, silent
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	os.MkdirAll(filepath.Join(dir, "inbox"), 0o755)
	cfg := writeConfig(t, dir, "sqlite:"+filepath.Join(dir, "d.db"), fmt.Sprintf(`
[[email]]
name = "silent"
host = "127.0.0.1"
port = %s
username = "support"
password = "secret"
`, port))
	inEnglish(t, cfg)
	demandd(t, "migrate", "--config", cfg)
	code, checks := runDoctor(t, cfg, "--timeout", "1s")
	if code != exitRuntime {
		t.Errorf("exit %d", code)
	}
	want(t, checks, "email.silent.connect", "ok")
	want(t, checks, "email.silent.tls", "fail", "did not answer in time")
	want(t, checks, "database.connect", "ok")

	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("locale = \"en\"\ntimezone = \"Mars/Olympus\"\n[[folder]]\nname = \"in\"\npath = \"in\"\norgin = \"raised\"\n"), 0o644)
	code, out, _ := demandd(t, "doctor", "--config", bad)
	if code != exitRuntime || !strings.Contains(out, "✗ config — ") || !strings.Contains(out, "bad.toml:2: timezone") ||
		!strings.Contains(out, "bad.toml:6") || !strings.Contains(out, "- every other check — not checked") {
		t.Errorf("bad config: exit %d\n%s", code, out)
	}
	// No register: doctor says so and creates none.
	os.Remove(filepath.Join(dir, "d.db"))
	_, checks = runDoctor(t, cfg, "--timeout", "1s")
	want(t, checks, "database.connect", "fail", "does not exist", "demandd migrate")
	want(t, checks, "database.schema", "skip")
	if _, err := os.Stat(filepath.Join(dir, "d.db")); err == nil {
		t.Error("doctor created the register")
	}
}

// On PostgreSQL: the schema behind or ahead of the binary, the clock
// compared, and a server that is not there.
func TestDoctorPostgres(t *testing.T) {
	url := testdb.Postgres(t)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "inbox"), 0o755)
	cfg := inEnglish(t, writeConfig(t, dir, url, ""))
	if code, _, errOut := demandd(t, "migrate", "--config", cfg); code != exitOK {
		t.Fatalf("migrate: %d %s", code, errOut)
	}
	code, checks := runDoctor(t, cfg)
	want(t, checks, "database.connect", "ok", "postgres")
	want(t, checks, "database.schema", "ok")
	want(t, checks, "database.clock", "ok", "round trip")
	if code != exitOK {
		t.Errorf("exit %d: %+v", code, checks)
	}

	db, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var latest int
	if err := db.QueryRow(`SELECT MAX(version) FROM schema_migrations`).Scan(&latest); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM schema_migrations WHERE version = $1`, latest); err != nil {
		t.Fatal(err)
	}
	code, checks = runDoctor(t, cfg)
	want(t, checks, "database.schema", "fail", fmt.Sprintf("behind: version %d, this binary expects %d", latest-1, latest), "demandd migrate")
	if code != exitRuntime {
		t.Errorf("behind: exit %d", code)
	}
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, 'x', now()), ($2, 'y', now())`, latest, latest+1); err != nil {
		t.Fatal(err)
	}
	_, checks = runDoctor(t, cfg)
	want(t, checks, "database.schema", "fail", "ahead", "newer demandd")

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	down := inEnglish(t, writeConfig(t, t.TempDir(), "postgres://postgres@"+addr+"/postgres?sslmode=disable", ""))
	code, checks = runDoctor(t, down)
	want(t, checks, "database.connect", "fail", "connection refused", "[database] url")
	want(t, checks, "database.schema", "skip", "did not connect")
	want(t, checks, "database.clock", "skip")
	if code != exitRuntime {
		t.Errorf("down: exit %d", code)
	}
}

func TestDoctorClockSkew(t *testing.T) {
	for _, tc := range []struct {
		skew, rtt time.Duration
		status    string
		words     string
	}{
		{40 * time.Millisecond, time.Millisecond, "ok", "40ms from this machine's"},
		{-6 * time.Second, time.Millisecond, "fail", "6s behind this machine's"},
		{7 * time.Second, time.Millisecond, "fail", "7s ahead of this machine's"},
		// Known only to within half the round trip: not called a skew.
		{5500 * time.Millisecond, 2 * time.Second, "ok", ""},
	} {
		r := clockResult(tc.skew, tc.rtt, clockTolerance)
		if string(r.Status) != tc.status || !strings.Contains(r.Detail.EN, tc.words) {
			t.Errorf("skew %s, round trip %s: %s %q", tc.skew, tc.rtt, r.Status, r.Detail.EN)
		}
	}
}
