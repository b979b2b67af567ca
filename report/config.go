package report

import (
	"net"
	"net/mail"
	"strings"
	"time"

	"github.com/demandd/demandd/config/setting"
)

// Defaults of the [report] block.
const (
	DefaultDailyAt  = "08:00"
	DefaultDir      = "reports"
	DefaultKeepDays = 90
)

// What a day's report covers.
const (
	CoversPreviousDay = "previous_day" // written at daily_at for the day before
	CoversSameDay     = "same_day"     // written at daily_at for the day so far (an evening report)
)

// Config is the [report] block: when the daily report (需求日报) is
// written, where, for how long it is kept, and whom it is mailed to.
type Config struct {
	// Enabled defaults to true: writing a [report] block asks for the
	// report. enabled = false keeps the block but stops it.
	Enabled  *bool  `toml:"enabled"`
	DailyAt  string `toml:"daily_at"` // HH:MM in the configured time zone
	Covers   string `toml:"covers"`   // previous_day or same_day
	Dir      string `toml:"dir"`
	KeepDays int    `toml:"keep_days"` // files older than this are removed; -1 keeps them all

	Mail MailConfig `toml:"mail"`
}

// MailConfig is the [report.mail] block; the server is [smtp].
type MailConfig struct {
	Enabled       bool     `toml:"enabled"`
	To            []string `toml:"to"`
	CC            []string `toml:"cc"`
	From          string   `toml:"from"`
	SubjectPrefix string   `toml:"subject_prefix"` // e.g. "[demandd] "
}

var (
	_ setting.Block = (*Config)(nil)
	_ setting.Block = (*SMTPConfig)(nil)
)

// SetDefaults fills every unset value.
func (c *Config) SetDefaults() {
	if c.Enabled == nil {
		yes := true
		c.Enabled = &yes
	}
	if c.DailyAt == "" {
		c.DailyAt = DefaultDailyAt
	}
	if c.Covers == "" {
		c.Covers = CoversPreviousDay
	}
	if c.Dir == "" {
		c.Dir = DefaultDir
	}
	if c.KeepDays == 0 {
		c.KeepDays = DefaultKeepDays
	}
}

// Resolve makes the directory absolute: abs resolves it against the
// config file's directory.
func (c *Config) Resolve(abs func(*string)) { abs(&c.Dir) }

// On reports whether the report is to be written.
func (c *Config) On() bool { return c.Enabled == nil || *c.Enabled }

// At returns daily_at as hours and minutes; Validate has checked it.
func (c *Config) At() (hour, minute int) {
	t, err := time.Parse("15:04", c.DailyAt)
	if err != nil {
		return 8, 0
	}
	return t.Hour(), t.Minute()
}

// Validate checks every value.
func (c *Config) Validate() setting.Problems {
	var p setting.Problems
	if _, err := time.Parse("15:04", c.DailyAt); err != nil {
		p.Add("daily_at", "应为 24 小时制的 HH:MM，例如 \"08:00\"，实际是 %q", "want a time as HH:MM (24-hour), such as \"08:00\", got %q", c.DailyAt)
	}
	switch c.Covers {
	case CoversPreviousDay, CoversSameDay:
	default:
		p.Add("covers", "应为 previous_day（前一天）或 same_day（当天），实际是 %q", "want previous_day or same_day, got %q", c.Covers)
	}
	if strings.TrimSpace(c.Dir) == "" {
		p.Add("dir", "需要一个存放日报的目录", "needs a directory for the reports")
	}
	if c.KeepDays < -1 {
		p.Add("keep_days", "应为正数的天数，或 -1 表示永久保留，实际是 %d", "want a number of days, or -1 to keep every report, got %d", c.KeepDays)
	}
	m := c.Mail
	if m.Enabled {
		if len(m.To) == 0 {
			p.Add("mail.to", "发送日报需要至少一个收件人", "mailing the report needs at least one recipient")
		}
		if m.From == "" {
			p.Add("mail.from", "发送日报需要发件人地址", "mailing the report needs a sender address")
		}
	}
	for _, l := range []struct {
		key   string
		addrs []string
	}{{"mail.to", m.To}, {"mail.cc", m.CC}, {"mail.from", nonEmpty(m.From)}} {
		for _, a := range l.addrs {
			if _, err := mail.ParseAddress(a); err != nil {
				p.Add(l.key, "不是有效的邮件地址：%q", "not a valid mail address: %q", a)
			}
		}
	}
	return p
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// SMTPConfig is the [smtp] block: the server the report is mailed through.
type SMTPConfig struct {
	Host string `toml:"host"`
	// Port defaults by TLS: 465 implicit, 587 starttls, 25 none.
	Port int `toml:"port"`
	// TLS is implicit (default), starttls or none; none is refused unless
	// the host is loopback or AllowInsecure is set.
	TLS           string `toml:"tls"`
	AllowInsecure bool   `toml:"allow_insecure"`
	Auth          string `toml:"auth"` // plain (default), login or none
	Username      string `toml:"username"`
	// The password: inline, from a file (e.g. a systemd credential) or from
	// an environment variable.
	Password     string           `toml:"password"`
	PasswordFile string           `toml:"password_file"`
	PasswordEnv  string           `toml:"password_env"`
	Timeout      setting.Duration `toml:"timeout"` // a whole delivery; default 1m
}

// DefaultSMTPTimeout bounds one delivery attempt.
const DefaultSMTPTimeout = time.Minute

// SetDefaults fills every unset value.
func (s *SMTPConfig) SetDefaults() {
	if s.TLS == "" {
		s.TLS = "implicit"
	}
	if s.Auth == "" {
		s.Auth = "plain"
	}
	if s.Port == 0 {
		switch s.TLS {
		case "starttls":
			s.Port = 587
		case "none":
			s.Port = 25
		default:
			s.Port = 465
		}
	}
	if s.Timeout.Duration == 0 {
		s.Timeout.Duration = DefaultSMTPTimeout
	}
}

// Resolve makes the password file absolute.
func (s *SMTPConfig) Resolve(abs func(*string)) { abs(&s.PasswordFile) }

// Validate checks every value.
func (s *SMTPConfig) Validate() setting.Problems {
	var p setting.Problems
	if s.Host == "" {
		p.Add("host", "[smtp] 需要 host", "[smtp] needs a host")
	}
	if s.Port < 1 || s.Port > 65535 {
		p.Add("port", "端口应在 1 到 65535 之间，实际是 %d", "want a port from 1 to 65535, got %d", s.Port)
	}
	switch s.TLS {
	case "implicit", "starttls":
	case "none":
		if !s.AllowInsecure && !isLoopback(s.Host) {
			p.Add("tls", `tls = "none" 会把密码和日报明文发送到 %s；请用 implicit 或 starttls，或设置 allow_insecure = true`,
				`tls = "none" sends the password and the report in clear text to %s; use implicit or starttls, or set allow_insecure = true`, s.Host)
		}
	default:
		p.Add("tls", "应为 implicit、starttls 或 none，实际是 %q", "want implicit, starttls or none, got %q", s.TLS)
	}
	switch s.Auth {
	case "plain", "login":
		if s.Username == "" {
			p.Add("username", "auth = %q 需要 username", "auth = %q needs a username", s.Auth)
		}
		if !s.secret().Given() {
			p.Add("password", "auth = %q 需要 password、password_file 或 password_env", "auth = %q needs password, password_file or password_env", s.Auth)
		}
	case "none":
	default:
		p.Add("auth", "应为 plain、login 或 none，实际是 %q", "want plain, login or none, got %q", s.Auth)
	}
	if s.Timeout.Duration < time.Second {
		p.Add("timeout", "至少 1s，实际是 %s", "must be at least 1s, got %s", s.Timeout.Duration)
	}
	s.secret().Check(&p, "password", [3]string{"password", "password_file", "password_env"})
	return p
}

func (s *SMTPConfig) secret() setting.Secret {
	return setting.Secret{Inline: s.Password, File: s.PasswordFile, Env: s.PasswordEnv}
}

// Secret returns the SMTP password from wherever it is configured.
func (s *SMTPConfig) Secret() (string, error) { return s.secret().Read("smtp: password") }

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
