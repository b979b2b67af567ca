package imapsrc

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/demandd/demandd/config/setting"
	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/ingest"
)

// Defaults of an account, shared by Settings and New.
const (
	DefaultPollInterval   = time.Minute
	DefaultMaxMessageSize = 25 << 20
	DefaultSenderLimit    = 30
)

// Settings is one [[email]] block: an IMAP account.
type Settings struct {
	Name string `toml:"name"`
	Host string `toml:"host"`
	Port int    `toml:"port"` // default 993 (implicit TLS), 143 otherwise
	// TLS is implicit (default), starttls or none; none is refused unless
	// the host is loopback or AllowInsecure is set.
	TLS           string `toml:"tls"`
	AllowInsecure bool   `toml:"allow_insecure"`
	Username      string `toml:"username"`
	// The password: inline, from a file (e.g. a systemd credential) or from
	// an environment variable.
	Password     string `toml:"password"`
	PasswordFile string `toml:"password_file"`
	PasswordEnv  string `toml:"password_env"`
	Auth         string `toml:"auth"` // plain, login or xoauth2
	// For xoauth2: the access token from a file (re-read at every
	// connection) or from a command's output (run at every connection).
	TokenFile    string           `toml:"token_file"`
	TokenCommand string           `toml:"token_command"`
	Mailboxes    []string         `toml:"mailboxes"`
	PollInterval setting.Duration `toml:"poll_interval"`
	IDLE         *bool            `toml:"idle"`
	// After: none (default), seen, or move:FOLDER.
	After          string `toml:"after"`
	Since          string `toml:"since"` // YYYY-MM-DD, first sync only
	MaxMessageSize int64  `toml:"max_message_size"`
	// SenderLimit is how many messages one sender may add per hour (a
	// mail-loop guard); more are kept as ignored. -1 disables it.
	SenderLimit int    `toml:"sender_limit"`
	Origin      string `toml:"origin"`
}

var _ ingest.Settings = (*Settings)(nil)

// SourceName implements ingest.Settings.
func (e *Settings) SourceName() string { return e.Name }

// SetDefaults fills every unset value.
func (e *Settings) SetDefaults() {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&e.TLS, "implicit")
	def(&e.Auth, "plain")
	def(&e.After, "none")
	def(&e.Origin, string(demand.OriginRaised))
	if e.Port == 0 {
		e.Port = 993
		if e.TLS != "implicit" {
			e.Port = 143
		}
	}
	if len(e.Mailboxes) == 0 {
		e.Mailboxes = []string{"INBOX"}
	}
	if e.PollInterval.Duration == 0 {
		e.PollInterval.Duration = DefaultPollInterval
	}
	if e.IDLE == nil {
		yes := true
		e.IDLE = &yes
	}
	if e.MaxMessageSize == 0 {
		e.MaxMessageSize = DefaultMaxMessageSize
	}
	if e.SenderLimit == 0 {
		e.SenderLimit = DefaultSenderLimit
	}
}

// Resolve implements ingest.Settings.
func (e *Settings) Resolve(abs func(*string)) {
	abs(&e.PasswordFile)
	abs(&e.TokenFile)
}

// ValidAfter reports whether after is none, seen or move:FOLDER; New and
// Validate share it.
func ValidAfter(after string) bool {
	return after == "none" || after == "seen" || (strings.HasPrefix(after, "move:") && len(after) > len("move:"))
}

// Validate checks every value.
func (e *Settings) Validate() setting.Problems {
	var p setting.Problems
	if e.Name == "" {
		p.Add("name", "每个 [[email]] 都需要 name", "every [[email]] needs a name")
	}
	if e.Host == "" {
		p.Add("host", "每个 [[email]] 都需要 host", "every [[email]] needs a host")
	}
	if e.Username == "" {
		p.Add("username", "每个 [[email]] 都需要 username", "every [[email]] needs a username")
	}
	switch e.TLS {
	case "implicit", "starttls":
	case "none":
		if !e.AllowInsecure && !isLoopback(e.Host) {
			p.Add("tls", `tls = "none" 会把密码明文发送到 %s；请用 implicit 或 starttls，或设置 allow_insecure = true`,
				`tls = "none" sends the password in clear text to %s; use implicit or starttls, or set allow_insecure = true`, e.Host)
		}
	default:
		p.Add("tls", "应为 implicit、starttls 或 none，实际是 %q", "want implicit, starttls or none, got %q", e.TLS)
	}
	switch e.Auth {
	case "plain", "login":
	case "xoauth2":
		if (e.TokenFile == "") == (e.TokenCommand == "") {
			p.Add("auth", "xoauth2 需要 token_file 或 token_command，且只能给其中一个", "xoauth2 needs exactly one of token_file and token_command")
		}
	default:
		p.Add("auth", "应为 plain、login 或 xoauth2，实际是 %q", "want plain, login or xoauth2, got %q", e.Auth)
	}
	if !ValidAfter(e.After) {
		p.Add("after", "应为 none、seen 或 move:邮件夹，实际是 %q", "want none, seen or move:FOLDER, got %q", e.After)
	}
	if e.Since != "" {
		if _, err := time.Parse("2006-01-02", e.Since); err != nil {
			p.Add("since", "日期应写成 YYYY-MM-DD，实际是 %q", "want a date as YYYY-MM-DD, got %q", e.Since)
		}
	}
	if e.PollInterval.Duration < time.Second {
		p.Add("poll_interval", "至少 1s，实际是 %s", "must be at least 1s, got %s", e.PollInterval.Duration)
	}
	if _, err := demand.ParseOrigin(e.Origin); err != nil {
		p.Add("origin", "应为 raised（主动提出）或 discovered（挖掘发现），实际是 %q", "want raised (主动提出) or discovered (挖掘发现), got %q", e.Origin)
	}
	e.secret().Check(&p, "password", [3]string{"password", "password_file", "password_env"})
	return p
}

func (e *Settings) secret() setting.Secret {
	return setting.Secret{Inline: e.Password, File: e.PasswordFile, Env: e.PasswordEnv}
}

// Secret returns the account's password from wherever it is configured.
func (e *Settings) Secret() (string, error) {
	return e.secret().Read("email " + e.Name + ": password")
}

// Token returns the OAuth2 access token of an xoauth2 account, fresh
// from its file or command.
func (e *Settings) Token(ctx context.Context) (string, error) {
	if e.TokenCommand != "" {
		out, err := exec.CommandContext(ctx, "/bin/sh", "-c", e.TokenCommand).Output()
		if err != nil {
			return "", fmt.Errorf("config: email %s: token_command: %w", e.Name, err)
		}
		return strings.TrimSpace(string(out)), nil
	}
	b, err := os.ReadFile(e.TokenFile)
	if err != nil {
		return "", fmt.Errorf("config: email %s: token_file: %w", e.Name, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// Source implements ingest.Settings.
func (e *Settings) Source(env ingest.Env) (ingest.Source, error) {
	cfg, err := e.config(env)
	if err != nil {
		return nil, err
	}
	return New(cfg)
}

// config is the account's Config; the error is the password's, which
// cannot be read.
func (e *Settings) config(env ingest.Env) (Config, error) {
	password, err := e.Secret()
	origin, _ := demand.ParseOrigin(e.Origin) // validated
	var since time.Time
	if e.Since != "" {
		since, _ = time.Parse("2006-01-02", e.Since)
	}
	var token func(context.Context) (string, error)
	if e.Auth == "xoauth2" {
		token = e.Token
	}
	return Config{Name: e.Name, Addr: net.JoinHostPort(e.Host, strconv.Itoa(e.Port)), TLS: e.TLS,
		Username: e.Username, Password: password, Auth: e.Auth, Token: token, Mailboxes: e.Mailboxes,
		PollInterval: e.PollInterval.Duration, IDLE: *e.IDLE, After: e.After, Since: since,
		MaxMessageSize: e.MaxMessageSize, SenderLimit: e.SenderLimit, Origin: origin, Locale: env.Locale, Logger: env.Logger}, err
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
