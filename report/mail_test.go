package report_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/xuri/excelize/v2"

	"github.com/demandd/demandd/config/setting"
	"github.com/demandd/demandd/internal/i18n"
	"github.com/demandd/demandd/report"
	"github.com/demandd/demandd/store"
)

// smtpBackend is an SMTP server that keeps what it is given.
type smtpBackend struct {
	mu   sync.Mutex
	msgs [][]byte
	rcpt []string
}

func (b *smtpBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return &smtpSession{b: b}, nil }

func (b *smtpBackend) messages() [][]byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([][]byte(nil), b.msgs...)
}

type smtpSession struct {
	b    *smtpBackend
	auth bool
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "report@example.com" || pass != "s3cret" {
			return errors.New("bad credentials")
		}
		s.auth = true
		return nil
	}), nil
}

func (s *smtpSession) Mail(string, *smtp.MailOptions) error {
	if !s.auth {
		return errors.New("authenticate first")
	}
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.b.mu.Lock()
	s.b.rcpt = append(s.b.rcpt, to)
	s.b.mu.Unlock()
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.b.mu.Lock()
	s.b.msgs = append(s.b.msgs, b)
	s.b.mu.Unlock()
	return nil
}

func (s *smtpSession) Reset()        {}
func (s *smtpSession) Logout() error { return nil }

// serveSMTP starts the server on addr until the test ends.
func serveSMTP(t *testing.T, addr string) *smtpBackend {
	t.Helper()
	be := &smtpBackend{}
	srv := smtp.NewServer(be)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true // plain over loopback
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return be
}

// freeAddr is a loopback address nothing listens on (yet).
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func newMailer(t *testing.T, addr string, locale i18n.Locale) *report.Mailer {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	m, err := report.NewMailer(report.SMTPConfig{Host: host, Port: p, TLS: "none", Username: "report@example.com", Password: "s3cret",
		Timeout: durationOf(5 * time.Second)},
		report.MailConfig{Enabled: true, To: []string{"产品团队 <team@example.com>"}, CC: []string{"boss@example.com"},
			From: "demandd <report@example.com>"}, locale)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// writeWorkbook writes a tiny real workbook, as the report renderer would.
func writeWorkbook(path string) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetCellValue("Sheet1", "A1", "概览"); err != nil {
		return err
	}
	return f.SaveAs(path)
}

// attachment parses a message and returns its subject, its body and its
// one attachment's name and bytes.
func attachment(t *testing.T, msg []byte) (subject, body, name string, data []byte) {
	t.Helper()
	r, err := mail.CreateReader(bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	if subject, err = r.Header.Subject(); err != nil {
		t.Fatal(err)
	}
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(p.Body)
		if err != nil {
			t.Fatal(err)
		}
		switch h := p.Header.(type) {
		case *mail.InlineHeader:
			body = string(b)
		case *mail.AttachmentHeader:
			if name, err = h.Filename(); err != nil {
				t.Fatal(err)
			}
			if ct, params, _ := h.ContentType(); ct != report.XLSXType || params["name"] != name {
				t.Errorf("attachment Content-Type %s %v: want the workbook type and the name %q", ct, params, name)
			}
			data = b
		}
	}
	return subject, body, name, data
}

func TestMailMessage(t *testing.T) {
	path := t.TempDir() + "/wb.xlsx"
	if err := writeWorkbook(path); err != nil {
		t.Fatal(err)
	}
	m := newMailer(t, "127.0.0.1:25", i18n.ZH)
	day := time.Date(2026, 11, 28, 0, 0, 0, 0, shanghai)
	sum := report.Summary{New: 12, Open: 40, Overdue: 3, MostUrgent: []report.Urgent{
		{Code: "DEM-1", Title: "发票抬头", Due: time.Date(2026, 11, 29, 18, 0, 0, 0, shanghai)},
		{Code: "DEM-2", Title: "导出报表"}, {Code: "DEM-3", Title: "三"}, {Code: "DEM-4", Title: "第四个"}},
		DeliveryFailures: []string{"2026-11-27"}}
	var buf bytes.Buffer
	if err := m.Message(&buf, day, path, sum); err != nil {
		t.Fatal(err)
	}
	raw := buf.String()
	for _, want := range []string{
		`filename*=UTF-8''%E9%9C%80%E6%B1%82%E6%97%A5%E6%8A%A5-2026-11-28.xlsx`, // RFC 2231
		`filename="=?UTF-8?b?`, `name="=?UTF-8?b?`, // RFC 2047 for the clients that read only these
		"Auto-Submitted: auto-generated",
	} {
		if !strings.Contains(raw, want) {
			t.Errorf("message lacks %s:\n%s", want, raw[:min(len(raw), 2000)])
		}
	}
	subject, body, name, data := attachment(t, buf.Bytes())
	if subject != "需求日报 2026-11-28：新增 12，未关闭 40，超期 3" {
		t.Errorf("subject %q", subject)
	}
	if name != "需求日报-2026-11-28.xlsx" {
		t.Errorf("attachment name %q", name)
	}
	for _, want := range []string{"DEM-1", "发票抬头", "2026-11-29 18:00", "DEM-3", "2026-11-27"} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "DEM-4") {
		t.Errorf("body names more than three demands:\n%s", body)
	}
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("the attachment is not a workbook: %v", err)
	}
	defer f.Close()
	if v, _ := f.GetCellValue("Sheet1", "A1"); v != "概览" {
		t.Errorf("A1 = %q", v)
	}

	// the English name in locale en
	m = newMailer(t, "127.0.0.1:25", i18n.EN)
	buf.Reset()
	if err := m.Message(&buf, day, path, sum); err != nil {
		t.Fatal(err)
	}
	if subject, _, name, _ := attachment(t, buf.Bytes()); name != "daily-report-2026-11-28.xlsx" ||
		subject != "Daily demand report 2026-11-28: 12 new, 40 open, 3 overdue" {
		t.Errorf("en: %q %q", subject, name)
	}
}

// TestDeliveryRetried: the SMTP server is down at daily_at and up at the
// retry; the report arrives once.
func TestDeliveryRetried(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			st := openStore(t, b.url(t))
			markDone(t, st, "2026-11-27")
			addr := freeAddr(t)
			clock := newClock(time.Date(2026, 11, 29, 7, 59, 0, 0, shanghai))
			r := &renders{body: writeWorkbook}
			start(t, config(t.TempDir()), report.Deps{Store: st, Render: r.render, Clock: clock, Mailer: newMailer(t, addr, i18n.ZH),
				Summarize: func(_ context.Context, _ time.Time) (report.Summary, error) {
					return report.Summary{New: 1, Open: 2, Overdue: 0}, nil
				}})
			clock.waitIdle(t, 1)
			clock.Advance(time.Minute)
			clock.waitIdle(t, 1)
			run := runOf(t, st, "2026-11-28")
			if run.Status != store.ReportWritten || run.DeliveryStatus != store.DeliveryPending || run.DeliveryError == "" {
				t.Fatalf("with the server down: %+v", run)
			}
			be := serveSMTP(t, addr)
			clock.Advance(time.Minute) // the delivery backoff
			clock.waitIdle(t, 1)
			run = runOf(t, st, "2026-11-28")
			if run.Status != store.ReportDelivered || run.DeliveryStatus != store.DeliveryDelivered || run.DeliveryError != "" {
				t.Fatalf("after the retry: %+v", run)
			}
			// a day on: the next report, and no second copy of this one
			clock.Advance(24 * time.Hour)
			clock.waitIdle(t, 1)
			msgs := be.messages()
			if len(msgs) != 2 {
				t.Fatalf("the server got %d messages, want one a day", len(msgs))
			}
			subject, _, name, data := attachment(t, msgs[0])
			if name != "需求日报-2026-11-28.xlsx" || !strings.HasPrefix(subject, "需求日报 2026-11-28：新增 1，") {
				t.Errorf("first message: %q %q", subject, name)
			}
			if _, err := excelize.OpenReader(bytes.NewReader(data)); err != nil {
				t.Errorf("attachment: %v", err)
			}
			if _, _, name, _ := attachment(t, msgs[1]); name != "需求日报-2026-11-29.xlsx" {
				t.Errorf("second message: %q", name)
			}
			if got := r.got(); len(got) != 2 {
				t.Errorf("rendered %v", got)
			}
		})
	}
}

// TestDeliveryGivenUp: after DeliveryAttempts the delivery is recorded
// failed, the day is not retried, and the next report's mail says so.
func TestDeliveryGivenUp(t *testing.T) {
	st := openStore(t, backends[0].url(t))
	markDone(t, st, "2026-11-27")
	addr := freeAddr(t)
	clock := newClock(time.Date(2026, 11, 29, 7, 59, 0, 0, shanghai))
	r := &renders{body: writeWorkbook}
	start(t, config(t.TempDir()), report.Deps{Store: st, Render: r.render, Clock: clock, Mailer: newMailer(t, addr, i18n.ZH)})
	clock.waitIdle(t, 1)
	clock.Advance(time.Minute)
	for range report.DeliveryAttempts - 1 {
		clock.waitIdle(t, 1)
		clock.Advance(time.Hour) // past any backoff, not yet the next day
	}
	clock.waitIdle(t, 1)
	if run := runOf(t, st, "2026-11-28"); run.DeliveryStatus != store.DeliveryFailed || !run.Done() {
		t.Fatalf("after %d attempts: %+v", report.DeliveryAttempts, run)
	}
	be := serveSMTP(t, addr)
	clock.Advance(24 * time.Hour)
	clock.waitIdle(t, 1)
	msgs := be.messages()
	if len(msgs) != 1 {
		t.Fatalf("the server got %d messages, want the next day's alone", len(msgs))
	}
	_, body, name, _ := attachment(t, msgs[0])
	if name != "需求日报-2026-11-29.xlsx" || !strings.Contains(body, "2026-11-28") {
		t.Errorf("next report %q does not mention the failed delivery:\n%s", name, body)
	}
}

func durationOf(d time.Duration) setting.Duration { return setting.Duration{Duration: d} }

func TestMailWithoutCounts(t *testing.T) {
	m := newMailer(t, "127.0.0.1:25", i18n.ZH)
	day := time.Date(2026, 11, 28, 0, 0, 0, 0, shanghai)
	if got := m.Subject(day, report.Summary{NoCounts: true}); got != "需求日报 2026-11-28" {
		t.Errorf("subject without counts %q", got)
	}
}
