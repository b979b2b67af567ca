package report

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/demandd/demandd/internal/i18n"
)

// XLSXType is the media type of a workbook.
const XLSXType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// Mailer mails a report through the [smtp] server to [report.mail]'s
// recipients.
type Mailer struct {
	smtp     SMTPConfig
	mail     MailConfig
	password string
	from     *mail.Address
	to, cc   []*mail.Address
	locale   i18n.Locale
	// TLSConfig is used for implicit TLS and STARTTLS; nil verifies the
	// server's certificate against the system roots for Host.
	TLSConfig *tls.Config
}

var _ Sender = (*Mailer)(nil)

// NewMailer reads the SMTP password and the addresses.
func NewMailer(sc SMTPConfig, mc MailConfig, locale i18n.Locale) (*Mailer, error) {
	sc.SetDefaults()
	m := &Mailer{smtp: sc, mail: mc, locale: locale}
	if sc.Auth != "none" {
		pw, err := sc.Secret()
		if err != nil {
			return nil, fmt.Errorf("report: mailer: %w", err)
		}
		m.password = pw
	}
	var err error
	if m.from, err = mail.ParseAddress(mc.From); err != nil {
		return nil, fmt.Errorf("report: mailer: from %q: %w", mc.From, err)
	}
	parse := func(list []string) ([]*mail.Address, error) {
		var out []*mail.Address
		for _, s := range list {
			a, err := mail.ParseAddress(s)
			if err != nil {
				return nil, fmt.Errorf("report: mailer: address %q: %w", s, err)
			}
			out = append(out, a)
		}
		return out, nil
	}
	if m.to, err = parse(mc.To); err != nil {
		return nil, err
	}
	if m.cc, err = parse(mc.CC); err != nil {
		return nil, err
	}
	if len(m.to) == 0 {
		return nil, errors.New("report: mailer: no recipients")
	}
	return m, nil
}

// Subject is the mail's subject line for day in the mailer's locale.
func (m *Mailer) Subject(day time.Time, sum Summary) string {
	if sum.NoCounts {
		return m.mail.SubjectPrefix + i18n.Tf("需求日报 %s", "Daily demand report %s", day.Format(time.DateOnly)).In(m.locale)
	}
	return m.mail.SubjectPrefix + i18n.Tf("需求日报 %s：新增 %d，未关闭 %d，超期 %d",
		"Daily demand report %s: %d new, %d open, %d overdue",
		day.Format(time.DateOnly), sum.New, sum.Open, sum.Overdue).In(m.locale)
}

// body is the short text beside the workbook.
func (m *Mailer) body(day time.Time, name string, sum Summary) string {
	var b strings.Builder
	l := m.locale
	b.WriteString(i18n.Tf("%s 的需求日报见附件 %s。", "The daily demand report for %s is attached as %s.",
		day.Format(time.DateOnly), name).In(l))
	b.WriteString("\r\n")
	if !sum.NoCounts {
		b.WriteString("\r\n" + i18n.Tf("新增 %d，未关闭 %d，超期 %d。", "%d new, %d open, %d overdue.", sum.New, sum.Open, sum.Overdue).In(l) + "\r\n")
	}
	if n := min(3, len(sum.MostUrgent)); n > 0 {
		b.WriteString("\r\n" + i18n.T("最紧急的未关闭需求：", "Most urgent open demands:").In(l) + "\r\n")
		for _, u := range sum.MostUrgent[:n] {
			due := i18n.T("无截止日期", "no due date").In(l)
			if !u.Due.IsZero() {
				due = i18n.Tf("截止 %s", "due %s", u.Due.Format("2006-01-02 15:04")).In(l)
			}
			fmt.Fprintf(&b, "  %s  %s（%s）\r\n", u.Code, u.Title, due)
		}
	}
	if len(sum.DeliveryFailures) > 0 {
		b.WriteString("\r\n" + i18n.Tf("注意：以下日期的日报未能发送：%s；请在报表目录中查看。",
			"Note: the reports of %s could not be mailed; find them in the report directory.",
			strings.Join(sum.DeliveryFailures, ", ")).In(l) + "\r\n")
	}
	b.WriteString("\r\n-- \r\ndemandd\r\n")
	return b.String()
}

// Message writes the mail for day's report at path to w.
func (m *Mailer) Message(w io.Writer, day time.Time, path string, sum Summary) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("report: mail %s: %w", path, err)
	}
	name := FileName(day, m.locale)
	var h mail.Header
	h.SetDate(time.Now())
	h.SetAddressList("From", []*mail.Address{m.from})
	h.SetAddressList("To", m.to)
	h.SetAddressList("Cc", m.cc)
	h.SetSubject(m.Subject(day, sum))
	if err := h.GenerateMessageID(); err != nil {
		return fmt.Errorf("report: mail: %w", err)
	}
	// RFC 3834: out-of-office replies and demandd's own email intake
	// leave it alone.
	h.Set("Auto-Submitted", "auto-generated")
	mw, err := mail.CreateWriter(w, h)
	if err != nil {
		return fmt.Errorf("report: mail: %w", err)
	}
	var th mail.InlineHeader
	th.Set("Content-Type", "text/plain; charset=utf-8")
	tw, err := mw.CreateSingleInline(th)
	if err != nil {
		return fmt.Errorf("report: mail: %w", err)
	}
	if _, err := io.WriteString(tw, m.body(day, name, sum)); err != nil {
		return fmt.Errorf("report: mail: %w", err)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("report: mail: %w", err)
	}
	var ah mail.AttachmentHeader
	// Both spellings of the name: RFC 2231 filename* for clients that
	// follow the standard, and an RFC 2047 encoded word in name and
	// filename for Outlook, Foxmail and webmail that read only those.
	// mime.ParseMediaType, like most readers, prefers filename*.
	word := mime.BEncoding.Encode("UTF-8", name)
	ah.Set("Content-Type", XLSXType+`; name="`+word+`"`)
	ah.Set("Content-Disposition", `attachment; filename="`+word+`"; filename*=UTF-8''`+rfc2231(name))
	aw, err := mw.CreateAttachment(ah)
	if err != nil {
		return fmt.Errorf("report: mail: %w", err)
	}
	if _, err := aw.Write(data); err != nil {
		return fmt.Errorf("report: mail: %w", err)
	}
	if err := aw.Close(); err != nil {
		return fmt.Errorf("report: mail: %w", err)
	}
	if err := mw.Close(); err != nil {
		return fmt.Errorf("report: mail: %w", err)
	}
	return nil
}

// rfc2231 percent-encodes s as an RFC 2231 extended value: everything
// but attribute characters.
func rfc2231(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c < 0x80 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0) {
			b.WriteByte(c)
			continue
		}
		b.WriteString(strings.ToUpper(url.PathEscape(string([]byte{c}))))
	}
	return b.String()
}

// Send mails day's report at path. One attempt, bounded by [smtp]
// timeout; the scheduler retries.
func (m *Mailer) Send(ctx context.Context, day time.Time, path string, sum Summary) error {
	var msg bytes.Buffer
	if err := m.Message(&msg, day, path, sum); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, m.smtp.Timeout.Duration)
	defer cancel()
	addr := net.JoinHostPort(m.smtp.Host, strconv.Itoa(m.smtp.Port))
	c, err := m.dial(ctx, addr)
	if err != nil {
		return fmt.Errorf("report: mail %s: connect to %s: %w", filepath.Base(path), addr, err)
	}
	defer c.Close()
	if err := m.send(c, msg.Bytes()); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", err, ctx.Err())
		}
		return fmt.Errorf("report: mail %s via %s: %w", filepath.Base(path), addr, err)
	}
	return nil
}

func (m *Mailer) dial(ctx context.Context, addr string) (*smtp.Client, error) {
	cfg := m.TLSConfig
	if cfg == nil {
		cfg = &tls.Config{ServerName: m.smtp.Host, MinVersion: tls.VersionTLS12}
	}
	var conn net.Conn
	var err error
	if m.smtp.TLS == "implicit" {
		conn, err = (&tls.Dialer{Config: cfg}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	// The deadline bounds the whole conversation; closing on ctx's end
	// unblocks a read when the caller stops.
	if d, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(d)
	}
	context.AfterFunc(ctx, func() { conn.Close() })
	if m.smtp.TLS == "starttls" {
		c, err := smtp.NewClientStartTLS(conn, cfg)
		if err != nil {
			return nil, fmt.Errorf("starttls: %w", err)
		}
		return c, nil
	}
	return smtp.NewClient(conn), nil
}

func (m *Mailer) send(c *smtp.Client, msg []byte) error {
	if err := m.login(c); err != nil {
		return err
	}
	if err := c.Mail(m.from.Address, nil); err != nil {
		return fmt.Errorf("mail from: %w", err)
	}
	for _, a := range append(append([]*mail.Address{}, m.to...), m.cc...) {
		if err := c.Rcpt(a.Address, nil); err != nil {
			return fmt.Errorf("rcpt to %s: %w", a.Address, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	// The message was accepted at the end of DATA: a lost QUIT reply
	// must not make the scheduler send it again.
	_ = c.Quit()
	return nil
}

// login greets the server and authenticates as [smtp] says.
func (m *Mailer) login(c *smtp.Client) error {
	if host, err := os.Hostname(); err == nil && host != "" {
		if err := c.Hello(host); err != nil {
			return fmt.Errorf("hello: %w", err)
		}
	}
	switch m.smtp.Auth {
	case "plain":
		if err := c.Auth(sasl.NewPlainClient("", m.smtp.Username, m.password)); err != nil {
			return fmt.Errorf("auth plain: %w", err)
		}
	case "login":
		if err := c.Auth(sasl.NewLoginClient(m.smtp.Username, m.password)); err != nil {
			return fmt.Errorf("auth login: %w", err)
		}
	}
	return nil
}
