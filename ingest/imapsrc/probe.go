package imapsrc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/demandd/demandd/ingest"
	"github.com/demandd/demandd/internal/i18n"
	"github.com/demandd/demandd/internal/probe"
)

// Probe checks the account as serve would use it, through the same dial
// and login: connect, TLS, log in, open each mailbox read-only, the
// folder of after = "move:…", and IDLE. It reads and changes no message.
// A step that fails makes the steps after it Skip. ctx bounds it all: the
// connection is closed when ctx ends.
func (e *Settings) Probe(ctx context.Context, env ingest.Env) []probe.Result {
	cfg, secretErr := e.config(env)
	s, err := New(cfg)
	if err != nil {
		return []probe.Result{probe.Failed("email."+e.Name, i18n.Tf("邮箱 %s", "email %s", e.Name),
			i18n.Tf("%v", "%v", err), i18n.T("检查 [[email]] 配置块", "check the [[email]] block"), err)}
	}
	return s.probe(ctx, secretErr)
}

// Probe is Settings.Probe for a Config.
func Probe(ctx context.Context, cfg Config) []probe.Result {
	s, err := New(cfg)
	if err != nil {
		return []probe.Result{probe.Failed("email."+cfg.Name, i18n.Tf("邮箱 %s", "email %s", cfg.Name),
			i18n.Tf("%v", "%v", err), i18n.T("检查 [[email]] 配置块", "check the [[email]] block"), err)}
	}
	return s.probe(ctx, nil)
}

// steps collects a probe's results; once one fails, the rest are skipped
// with why.
type steps struct {
	account string
	out     []probe.Result
	failed  i18n.Text // the failed step's name, once one failed
}

// run records one step unless an earlier blocking one failed; f returns
// the detail on success (and a hint for a warning), or the detail, hint
// and cause of a failure. A blocking step's failure skips the rest.
func (st *steps) run(id, zh, en string, blocking bool, f func() (detail, hint i18n.Text, err error)) {
	id = "email." + st.account + "." + id
	name := i18n.T(fmt.Sprintf("邮箱 %s：%s", st.account, zh), fmt.Sprintf("email %s: %s", st.account, en))
	if st.failed != (i18n.Text{}) {
		st.out = append(st.out, probe.Skipped(id, name, i18n.T(fmt.Sprintf("未检查：%s失败", st.failed.ZH), fmt.Sprintf("not checked: %s failed", st.failed.EN))))
		return
	}
	detail, hint, err := f()
	switch {
	case err != nil:
		st.out = append(st.out, probe.Failed(id, name, detail, hint, err))
		if blocking {
			st.failed = i18n.T(zh, en)
		}
	case hint != (i18n.Text{}):
		st.out = append(st.out, probe.Warning(id, name, detail, hint))
	default:
		st.out = append(st.out, probe.Pass(id, name, detail))
	}
}

func (s *Source) probe(ctx context.Context, secretErr error) []probe.Result {
	st := &steps{account: s.cfg.Name}
	addr := s.cfg.Addr
	var conn net.Conn
	st.run("connect", "连接", "connect", true, func() (i18n.Text, i18n.Text, error) {
		var err error
		if conn, err = s.connect(ctx); err != nil {
			return i18n.Tf("无法连接 %s：%v", "cannot connect to %s: %v", addr, probe.Cause(err)), probe.NetHint(addr, err), err
		}
		// Every exchange after this is bounded by ctx as well.
		if d, ok := ctx.Deadline(); ok {
			_ = conn.SetDeadline(d)
		}
		return i18n.Tf("%s 有应答", "%s answers", addr), i18n.Text{}, nil
	})
	if conn != nil {
		defer conn.Close()
		stop := context.AfterFunc(ctx, func() { conn.Close() })
		defer stop()
	}
	var c *imapclient.Client
	st.run("tls", "TLS", "TLS", true, func() (i18n.Text, i18n.Text, error) {
		var err error
		if c, _, err = s.handshake(ctx, conn); err != nil {
			return i18n.Tf("%s 的 TLS 失败：%v", "TLS with %s failed: %v", addr, probe.Cause(err)), probe.TLSHint(err, "993", "143"), err
		}
		if d, ok := ctx.Deadline(); ok {
			_ = conn.SetDeadline(d) // handshake lifted it
		}
		switch s.cfg.TLS {
		case "none":
			return i18n.T(`不加密（tls = "none"）`, `none: clear text (tls = "none")`), i18n.Text{}, nil
		case "starttls":
			return i18n.T("STARTTLS，证书已验证", "STARTTLS, certificate verified"), i18n.Text{}, nil
		}
		return i18n.T("隐式 TLS，证书已验证", "implicit TLS, certificate verified"), i18n.Text{}, nil
	})
	if c != nil {
		defer c.Close()
	}
	st.run("login", "登录", "login", true, func() (i18n.Text, i18n.Text, error) {
		if secretErr != nil {
			return i18n.Tf("无法读取密码：%v", "cannot read the password: %v", secretErr),
				i18n.T("检查 password_file 是否存在且可读，或 password_env 是否已设置", "check that password_file exists and is readable, or that password_env is set"), secretErr
		}
		if err := s.authenticate(ctx, c); err != nil {
			return i18n.Tf("以 %s 登录失败：%v", "login as %s failed: %v", s.cfg.Username, err), loginHint(s.cfg.Auth, err), err
		}
		return i18n.Tf("已以 %s 登录（%s）", "logged in as %s (%s)", s.cfg.Username, s.cfg.Auth), i18n.Text{}, nil
	})
	for _, mb := range s.cfg.Mailboxes {
		st.run("mailbox."+mb, "邮件夹 "+mb, "mailbox "+mb, false, func() (i18n.Text, i18n.Text, error) {
			sel, err := c.Select(mb, &imap.SelectOptions{ReadOnly: true}).Wait()
			if err != nil {
				return i18n.Tf("无法打开邮件夹 %q：%v", "cannot open mailbox %q: %v", mb, err), mailboxHint(c, "mailboxes"), err
			}
			return i18n.Tf("%d 封邮件（只读打开）", "%d messages (opened read-only)", sel.NumMessages), i18n.Text{}, nil
		})
	}
	if target, ok := strings.CutPrefix(s.cfg.After, "move:"); ok {
		st.run("move", "移入邮件夹 "+target, "move target "+target, false, func() (i18n.Text, i18n.Text, error) {
			list, err := c.List("", target, nil).Collect()
			if err == nil && len(list) == 0 {
				err = fmt.Errorf("imap: no mailbox %q", target)
			}
			if err != nil {
				return i18n.Tf("after = %[2]q 的邮件夹 %[1]q 不存在", "the folder %[1]q of after = %[2]q does not exist", target, s.cfg.After), mailboxHint(c, "after"), err
			}
			return i18n.Tf("存在：处理后的邮件移入 %s", "exists: committed mail is moved into %s", target), i18n.Text{}, nil
		})
	}
	st.run("idle", "IDLE", "IDLE", false, func() (i18n.Text, i18n.Text, error) {
		poll := s.cfg.PollInterval
		switch {
		case !s.cfg.IDLE:
			return i18n.Tf("未使用（idle = false）：每 %s 检查一次新邮件", "not used (idle = false): new mail is polled every %s", poll), i18n.Text{}, nil
		case c.Caps().Has(imap.CapIdle):
			return i18n.T("服务器支持：新邮件即时到达", "offered: new mail arrives at once"), i18n.Text{}, nil
		}
		return i18n.Tf("服务器不支持 IDLE：每 %s 检查一次新邮件", "the server does not offer IDLE: new mail is polled every %s", poll),
			i18n.T("无需处理；要更快看到新邮件可减小 poll_interval，或设置 idle = false 表示已知", "nothing to do; lower poll_interval to see mail sooner, or set idle = false to say you know"), nil
	})
	if c != nil {
		_ = c.Logout().Wait()
	}
	return st.out
}

// loginHint says what to do about a refused login.
func loginHint(auth string, err error) i18n.Text {
	if auth == "xoauth2" {
		return i18n.T("访问令牌可能已过期或无效：检查 token_file 或 token_command 给出的令牌，以及 username",
			"the access token may have expired or be wrong: check what token_file or token_command gives, and username")
	}
	var ie *imap.Error
	if errors.As(err, &ie) && ie.Code == imap.ResponseCodePrivacyRequired {
		return i18n.T("服务器只在加密连接上接受登录：设置 tls = \"implicit\" 或 \"starttls\"",
			"the server accepts logins only over TLS: set tls = \"implicit\" or \"starttls\"")
	}
	return i18n.T("检查 username 和密码（password、password_file 或 password_env）；QQ、163、企业微信、Gmail 等要用授权码或应用专用密码，而不是网页登录密码",
		"check username and the password (password, password_file or password_env); QQ, 163, WeCom, Gmail and others want an app password (授权码), not the web login's")
}

// mailboxHint names the mailboxes the server has, so that a person can
// pick the right spelling; key is the setting to change.
func mailboxHint(c *imapclient.Client, key string) i18n.Text {
	list, err := c.List("", "*", nil).Collect()
	if err != nil || len(list) == 0 {
		return i18n.Tf("检查 %s 的拼写（区分大小写）", "check the spelling in %s (case matters)", key)
	}
	var names []string
	for i, l := range list {
		if i == 20 {
			names = append(names, "…")
			break
		}
		names = append(names, l.Mailbox)
	}
	all := strings.Join(names, ", ")
	return i18n.Tf("%s 应为服务器上的名称之一：%s", "set %s to names the server has: %s", key, all)
}
