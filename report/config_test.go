package report_test

import (
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/demandd/demandd/config/setting"
	"github.com/demandd/demandd/report"
)

func keys(p setting.Problems) []string {
	var out []string
	for _, x := range p {
		out = append(out, x.Key)
	}
	return out
}

// checkProblems compares the problem keys and checks every message is
// written in both languages.
func checkProblems(t *testing.T, name string, p setting.Problems, want []string) {
	t.Helper()
	if got := keys(p); !slices.Equal(got, want) {
		t.Errorf("%s: problems at %v, want %v (%v)", name, got, want, p)
	}
	for _, x := range p {
		if x.Text.EN == "" || !strings.ContainsFunc(x.Text.ZH, func(r rune) bool { return unicode.Is(unicode.Han, r) }) {
			t.Errorf("%s: %s: not bilingual: %q / %q", name, x.Key, x.Text.ZH, x.Text.EN)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	var c report.Config
	c.SetDefaults()
	if !c.On() || c.DailyAt != "08:00" || c.Covers != report.CoversPreviousDay || c.Dir != "reports" || c.KeepDays != 90 {
		t.Errorf("defaults: %+v", c)
	}
	if p := c.Validate(); len(p) != 0 {
		t.Errorf("defaults invalid: %v", p)
	}
	c.Resolve(func(s *string) { *s = "/etc/demandd/" + *s })
	if c.Dir != "/etc/demandd/reports" {
		t.Errorf("resolved dir %q", c.Dir)
	}
	off := false
	c = report.Config{Enabled: &off}
	c.SetDefaults()
	if c.On() {
		t.Error("enabled = false is on")
	}

	for _, tc := range []struct {
		tls  string
		port int
	}{{"", 465}, {"implicit", 465}, {"starttls", 587}, {"none", 25}} {
		s := report.SMTPConfig{TLS: tc.tls}
		s.SetDefaults()
		if s.Port != tc.port || s.Auth != "plain" || s.Timeout.Duration == 0 {
			t.Errorf("tls %q: %+v", tc.tls, s)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    report.Config
		want []string
	}{
		{"bad time", report.Config{DailyAt: "8am"}, []string{"daily_at"}},
		{"hour 24", report.Config{DailyAt: "24:00"}, []string{"daily_at"}},
		{"same day", report.Config{Covers: report.CoversSameDay, DailyAt: "18:30"}, nil},
		{"bad covers", report.Config{Covers: "week"}, []string{"covers"}},
		{"keep", report.Config{KeepDays: -2}, []string{"keep_days"}},
		{"keep forever", report.Config{KeepDays: -1}, nil},
		{"mail without recipients", report.Config{Mail: report.MailConfig{Enabled: true}}, []string{"mail.to", "mail.from"}},
		{"bad address", report.Config{Mail: report.MailConfig{Enabled: true, To: []string{"team"}, CC: []string{"a@b.c"},
			From: "需求日报 <r@example.com>"}}, []string{"mail.to"}},
	} {
		tc.c.SetDefaults()
		checkProblems(t, tc.name, tc.c.Validate(), tc.want)
	}
}

func TestSMTPValidate(t *testing.T) {
	ok := report.SMTPConfig{Host: "smtp.example.com", Username: "u", Password: "p"}
	for _, tc := range []struct {
		name string
		edit func(s *report.SMTPConfig)
		want []string
	}{
		{"ok", func(*report.SMTPConfig) {}, nil},
		{"no host", func(s *report.SMTPConfig) { s.Host = "" }, []string{"host"}},
		{"clear text", func(s *report.SMTPConfig) { s.TLS = "none" }, []string{"tls"}},
		{"clear text allowed", func(s *report.SMTPConfig) { s.TLS, s.AllowInsecure = "none", true }, nil},
		{"clear text to loopback", func(s *report.SMTPConfig) { s.TLS, s.Host = "none", "127.0.0.1" }, nil},
		{"bad tls", func(s *report.SMTPConfig) { s.TLS = "ssl" }, []string{"tls"}},
		{"bad auth", func(s *report.SMTPConfig) { s.Auth = "cram-md5" }, []string{"auth"}},
		{"no password", func(s *report.SMTPConfig) { s.Password = "" }, []string{"password"}},
		{"no auth", func(s *report.SMTPConfig) { s.Auth, s.Username, s.Password = "none", "", "" }, nil},
		{"two passwords", func(s *report.SMTPConfig) { s.PasswordEnv = "SMTP_PASSWORD" }, []string{"password"}},
		{"bad port", func(s *report.SMTPConfig) { s.Port = 70000 }, []string{"port"}},
	} {
		s := ok
		tc.edit(&s)
		s.SetDefaults()
		checkProblems(t, tc.name, s.Validate(), tc.want)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	_, err := report.New(report.Config{DailyAt: "25:00"}, report.Deps{})
	if err == nil || !strings.Contains(err.Error(), "daily_at") {
		t.Fatalf("New: %v", err)
	}
}
