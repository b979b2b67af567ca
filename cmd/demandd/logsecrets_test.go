package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/demandd/demandd/internal/fixture"
	"github.com/demandd/demandd/internal/testdb"
	"github.com/demandd/demandd/internal/testenv"
)

// authMailbox is the SMTP sink with a password: the report's mail logs in.
type authMailbox struct {
	mailbox
	user, password string
}

func (m *authMailbox) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &authSession{mailSession{m: &m.mailbox}, m}, nil
}

type authSession struct {
	mailSession
	box *authMailbox
}

func (s *authSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *authSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.box.user || pass != s.box.password {
			return errors.New("invalid credentials")
		}
		return nil
	}), nil
}

// Secrets that must never be logged, and the text of bodies.
const (
	hookSecret   = "whsec-Zq81-secret"
	apiToken     = "api-tok-Zq82-secret"
	imapPassword = "imap-pw-Zq83-secret"
	imapWrong    = "imap-wrong-Zq84-secret"
	smtpPassword = "smtp-pw-Zq85-secret"
	pgPassword   = "pg-pw-Zq86-secret"
	hookGuess    = "guess-Zq87-secret"
	apiWrong     = "api-wrong-Zq88-secret"
	apiWrite     = "api-write-Zq89-secret"
	emailBody    = "BODYMARK-email-7731"
	rowBody      = "BODYMARK-row-7732"
	hookBody     = "BODYMARK-hook-7733"
	badBody      = "BODYMARK-bad-7734"
)

// A full run of serve, logging at debug level in text and in JSON, with
// every kind of secret configured and used — a webhook secret, an API
// token, IMAP passwords (one from a systemd credential, one wrong), the
// SMTP password of the report's mail, a PostgreSQL password — and items
// from every channel, some refused: no secret and no message body appears
// in the log.
func TestServeLogsNoSecretsNorBodies(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			logs := fullRun(t, format)
			for _, s := range []string{hookSecret, apiToken, imapPassword, imapWrong, smtpPassword, pgPassword, hookGuess, apiWrong, apiWrite,
				emailBody, rowBody, hookBody, badBody} {
				if strings.Contains(logs, s) {
					i := strings.Index(logs, s)
					t.Errorf("the log shows %q: …%s…", s, logs[max(0, i-200):min(len(logs), i+100)])
				}
			}
			// The run did what it is meant to: each path was taken.
			for _, w := range []string{"demandd serving", "mailbox opened", "mailbox unavailable", "daily report mailed",
				"webhook refused", "webhook request", "file imported", "demand updated through the API", "demandd stopped"} {
				if !strings.Contains(logs, w) {
					t.Errorf("the log has no %q: the run missed a path\n%s", w, logs)
				}
			}
			for _, line := range strings.Split(logs, "\n") {
				if strings.Contains(line, "webhook") && strings.Contains(line, "request") || strings.Contains(line, "through the API") {
					if !strings.Contains(line, "request_id") {
						t.Errorf("no request id: %s", line)
					}
				}
			}
			if format == "json" {
				for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
					if !json.Valid([]byte(line)) {
						t.Errorf("not a JSON line: %s", line)
					}
				}
			}
		})
	}
}

// fullRun runs serve with everything configured and returns its log.
func fullRun(t *testing.T, format string) string {
	t.Helper()
	dir := t.TempDir()
	inbox := filepath.Join(dir, "inbox")
	os.MkdirAll(inbox, 0o755)

	// IMAP: one account whose password is a systemd credential, one with
	// a wrong password.
	mem := imapmemserver.New()
	for _, u := range []struct{ name, pass string }{{"support", imapPassword}, {"sales", "the-right-one"}} {
		user := imapmemserver.NewUser(u.name, u.pass)
		user.Create("INBOX", nil)
		mem.AddUser(user)
	}
	imapSrv := imapserver.New(&imapserver.Options{InsecureAuth: true, Caps: imap.CapSet{imap.CapIMAP4rev1: {}}, Logger: silent{},
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		}})
	imapLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go imapSrv.Serve(imapLn)
	t.Cleanup(func() { imapSrv.Close() })
	c, err := imapclient.DialInsecure(imapLn.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login("support", imapPassword).Wait(); err != nil {
		t.Fatal(err)
	}
	raw := "From: 王工 <wang@hd.example.com>\r\nSubject: 登录问题\r\nMessage-ID: <secret-test@example.com>\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\n" + emailBody + " 系统从今天早上开始无法登录，请尽快处理。\r\n"
	app := c.Append("INBOX", int64(len(raw)), nil)
	app.Write([]byte(raw))
	app.Close()
	if _, err := app.Wait(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	creds := filepath.Join(dir, "credentials")
	os.Mkdir(creds, 0o700)
	os.WriteFile(filepath.Join(creds, "imap-password"), []byte(imapPassword+"\n"), 0o600)
	t.Setenv("CREDENTIALS_DIRECTORY", creds)

	// SMTP with a password, for the report's mail.
	box := &authMailbox{user: "report", password: smtpPassword}
	smtpSrv := smtp.NewServer(box)
	smtpSrv.Domain, smtpSrv.AllowInsecureAuth = "localhost", true
	smtpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go smtpSrv.Serve(smtpLn)
	t.Cleanup(func() { smtpSrv.Close() })

	// PostgreSQL with a password in the URL (the test server trusts
	// loopback, so any password is accepted).
	url := strings.Replace(testdb.Postgres(t), "://postgres@", "://postgres:"+pgPassword+"@", 1)
	if !strings.Contains(url, pgPassword) {
		t.Fatalf("cannot put a password into %s", url)
	}
	t.Setenv("DEMANDD_TEST_HOOK_SECRET", hookSecret)
	t.Setenv("DEMANDD_TEST_SMTP_PASSWORD", smtpPassword)
	imapHost, imapPort, _ := net.SplitHostPort(imapLn.Addr().String())
	smtpHost, smtpPort, _ := net.SplitHostPort(smtpLn.Addr().String())
	hookAddr := freeAddr(t)
	cfg := writeConfig(t, dir, url, fmt.Sprintf(`
[log]
level = "debug"
format = %q
[[email]]
name = "support"
host = %[2]q
port = %[3]s
tls = "none"
username = "support"
password_file = "${CREDENTIALS_DIRECTORY}/imap-password"
idle = false
[[email]]
name = "sales"
host = %[2]q
port = %[3]s
tls = "none"
username = "sales"
password = %[4]q
[webhook]
listen = %[5]q
[[webhook.source]]
name = "crm"
preset = "generic"
secret_env = "DEMANDD_TEST_HOOK_SECRET"
[webhook.source.mapping]
ticket = "/id"
title = "/title"
text = "/body"
[[api.token]]
name = "viewer"
scope = "read"
token = %[6]q
[[api.token]]
name = "ops"
scope = "write"
token = %[10]q
[report]
daily_at = "00:00"
covers = "same_day"
keep_days = 1
dir = %[7]q
[report.mail]
enabled = true
to = ["team@example.com"]
from = "demandd <report@example.com>"
[smtp]
host = %[8]q
port = %[9]s
tls = "none"
auth = "plain"
username = "report"
password_env = "DEMANDD_TEST_SMTP_PASSWORD"
`, format, imapHost, imapPort, imapWrong, hookAddr, apiToken, filepath.Join(dir, "reports"), smtpHost, smtpPort, apiWrite))

	// Questionnaire rows received today: one file imported before serve
	// starts, so that today's report has a demand and is written and
	// mailed at start, and one dropped into the folder.
	now := time.Now().In(testenv.Shanghai)
	row := func(n int) []string {
		r := fixture.WJXRow(n)
		r[1] = now.Format("2006/01/02 15:04:05")
		r[10] = fmt.Sprintf("%s 报表导出太慢，希望优化（%d）", rowBody, n)
		return r
	}
	first := filepath.Join(dir, "first.xlsx")
	tmp := filepath.Join(dir, "today.xlsx")
	if err := fixture.WriteXLSX(first, fixture.WJXHeader, 1, row); err != nil {
		t.Fatal(err)
	}
	if err := fixture.WriteXLSX(tmp, fixture.WJXHeader, 3, row); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := demandd(t, "import", "--config", cfg, first); code != exitOK {
		t.Fatalf("import: %d %s", code, errOut)
	}

	log, stop := startServeInProcess(t, cfg)
	waitListening(t, hookAddr, log)
	if err := os.Rename(tmp, filepath.Join(inbox, "today.xlsx")); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 60*time.Second, func() bool {
		box.mu.Lock()
		defer box.mu.Unlock()
		return len(box.msgs) > 0
	}, func() string { return "the report was not mailed; serve said:\n" + log.String() })

	send := func(method, path, token, payload string) (int, map[string]any) {
		req, _ := http.NewRequest(method, "http://"+hookAddr+path, strings.NewReader(payload))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	code, answer := send(http.MethodPost, "/hooks/crm", hookSecret, `{"id":"T-1","title":"希望增加批量导出功能","body":"`+hookBody+` 每周要导出上千条记录"}`)
	if code != http.StatusAccepted {
		t.Errorf("delivery: %d %v", code, answer)
	}
	if code, _ := send(http.MethodPost, "/hooks/crm", hookGuess, `{"id":"T-2","title":"x","body":"`+hookBody+`"}`); code != http.StatusUnauthorized {
		t.Errorf("a wrong secret: %d", code)
	}
	if code, _ := send(http.MethodPost, "/hooks/crm", hookSecret, `{"id":"T-3","body":"`+badBody+`"`); code != http.StatusBadRequest {
		t.Errorf("a broken payload: %d", code)
	}
	demandPath := fmt.Sprintf("/api/v1/demands/%v", answer["code"])
	for _, c := range []struct {
		method, token string
		want          int
	}{{http.MethodGet, apiToken, http.StatusOK}, {http.MethodGet, apiWrong, http.StatusUnauthorized}, {http.MethodPatch, apiWrite, http.StatusOK}} {
		if code, body := send(c.method, demandPath, c.token, `{"status":"处理中"}`); code != c.want {
			t.Errorf("%s %s: %d %v", c.method, demandPath, code, body)
		}
	}
	testenv.Eventually(t, 60*time.Second, func() bool {
		l := log.String()
		return strings.Contains(l, "file imported") && bytes.Contains([]byte(l), []byte("mailbox unavailable")) &&
			strings.Count(l, "mailbox opened") >= 1
	}, func() string { return "the mailboxes and the folder were not all seen; serve said:\n" + log.String() })
	// The message is committed: it is listed.
	testenv.Eventually(t, 60*time.Second, func() bool {
		_, out, _ := demandd(t, "list", "--config", cfg)
		return strings.Contains(out, "登录")
	}, func() string { return "the mail did not become a demand; serve said:\n" + log.String() })
	if code := stop(); code != exitOK {
		t.Fatalf("serve exit %d:\n%s", code, log.String())
	}
	return log.String()
}
