package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
)

// mailbox is an in-process SMTP server that keeps what it is sent.
type mailbox struct {
	mu   sync.Mutex
	msgs [][]byte
}

func (m *mailbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &mailSession{m: m}, nil }

type mailSession struct{ m *mailbox }

func (s *mailSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *mailSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *mailSession) Reset()                               {}
func (s *mailSession) Logout() error                        { return nil }
func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.m.mu.Lock()
	s.m.msgs = append(s.m.msgs, b)
	s.m.mu.Unlock()
	return err
}

// `demandd report --send` writes the day's workbook and mails it.
func TestReportSend(t *testing.T) {
	box := &mailbox{}
	srv := smtp.NewServer(box)
	srv.Domain = "localhost"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	host, port, _ := net.SplitHostPort(ln.Addr().String())

	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "inbox"), 0o755)
	cfg := writeConfig(t, dir, "sqlite:"+filepath.Join(dir, "d.db"), fmt.Sprintf(`
[report.mail]
enabled = true
to = ["产品团队 <team@example.com>"]
from = "demandd <report@example.com>"
[smtp]
host = %q
port = %s
tls = "none"
auth = "none"
`, host, port))
	if code, _, errOut := demandd(t, "migrate", "--config", cfg); code != exitOK {
		t.Fatalf("migrate: %d %q", code, errOut)
	}
	out := filepath.Join(dir, "需求日报-2026-11-24.xlsx")
	code, stdout, errOut := demandd(t, "report", "--date", "2026-11-24", "--out", out, "--send", "--config", cfg)
	if code != exitOK || !strings.Contains(stdout, "mailed it to 产品团队 <team@example.com>") {
		t.Fatalf("report --send: %d %q %q", code, stdout, errOut)
	}
	box.mu.Lock()
	defer box.mu.Unlock()
	if len(box.msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(box.msgs))
	}
	// The attachment keeps its Chinese name (RFC 2231).
	if msg := string(box.msgs[0]); !strings.Contains(msg, "%E9%9C%80%E6%B1%82%E6%97%A5%E6%8A%A5-2026-11-24.xlsx") {
		t.Errorf("no RFC 2231 file name in:\n%.2000s", msg)
	}
}
