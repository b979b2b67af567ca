package report

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/emersion/go-smtp"

	"github.com/demandd/demandd/internal/i18n"
	"github.com/demandd/demandd/internal/probe"
)

// Probe checks the [smtp] server as the mailer uses it, through the same
// dial and login, and sends nothing: connect, TLS as configured, EHLO and
// AUTH, QUIT. A step that fails makes the steps after it Skip. ctx bounds
// it all.
func (s SMTPConfig) Probe(ctx context.Context) []probe.Result {
	s.SetDefaults()
	m := &Mailer{smtp: s}
	addr := net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	name := func(zh, en string) (string, i18n.Text) {
		return "smtp." + strings.ToLower(en), i18n.T("SMTP："+zh, "SMTP: "+en)
	}
	skip := func(zh, en string, after i18n.Text) probe.Result {
		id, n := name(zh, en)
		return probe.Skipped(id, n, i18n.T(fmt.Sprintf("未检查：%s失败", after.ZH), fmt.Sprintf("not checked: %s failed", after.EN)))
	}
	var out []probe.Result
	c, err := m.dial(ctx, addr)
	var oe *net.OpError
	switch {
	case err != nil && errors.As(err, &oe) && oe.Op == "dial":
		id, n := name("连接", "connect")
		out = append(out, probe.Failed(id, n, i18n.Tf("无法连接 %s：%v", "cannot connect to %s: %v", addr, probe.Cause(err)), probe.NetHint(addr, err), err),
			skip("TLS", "TLS", i18n.T("连接", "connect")), skip("登录", "auth", i18n.T("连接", "connect")))
		return out
	case err != nil:
		id, n := name("连接", "connect")
		out = append(out, probe.Pass(id, n, i18n.Tf("%s 有应答", "%s answers", addr)))
		id, n = name("TLS", "TLS")
		out = append(out, probe.Failed(id, n, i18n.Tf("%s 的 TLS 失败：%v", "TLS with %s failed: %v", addr, probe.Cause(err)), probe.TLSHint(err, "465", "587"), err),
			skip("登录", "auth", i18n.T("TLS 握手", "TLS")))
		return out
	}
	defer c.Close()
	id, n := name("连接", "connect")
	out = append(out, probe.Pass(id, n, i18n.Tf("%s 有应答", "%s answers", addr)))
	id, n = name("TLS", "TLS")
	switch s.TLS {
	case "none":
		out = append(out, probe.Pass(id, n, i18n.T(`不加密（tls = "none"）`, `none: clear text (tls = "none")`)))
	case "starttls":
		out = append(out, probe.Pass(id, n, i18n.T("STARTTLS，证书已验证", "STARTTLS, certificate verified")))
	default:
		out = append(out, probe.Pass(id, n, i18n.T("隐式 TLS，证书已验证", "implicit TLS, certificate verified")))
	}
	id, n = name("登录", "auth")
	if s.Auth != "none" {
		if m.password, err = s.Secret(); err != nil {
			return append(out, probe.Failed(id, n, i18n.Tf("无法读取密码：%v", "cannot read the password: %v", err),
				i18n.T("检查 [smtp] password_file 是否存在且可读，或 password_env 是否已设置",
					"check that [smtp] password_file exists and is readable, or that password_env is set"), err))
		}
	}
	if err := m.login(c); err != nil {
		var se *smtp.SMTPError
		hint := i18n.T("检查 [smtp] username 和密码；QQ、163、企业微信、Gmail 等要用授权码或应用专用密码，而不是网页登录密码",
			"check [smtp] username and password; QQ, 163, WeCom, Gmail and others want an app password (授权码), not the web login's")
		if errors.As(err, &se) && se.Code == 504 || strings.Contains(err.Error(), "doesn't support AUTH") {
			hint = i18n.T("服务器不接受这种登录方式：试试 auth = \"login\"，或在加密连接上登录（tls）",
				"the server does not take this way of logging in: try auth = \"login\", or log in over TLS (tls)")
		}
		return append(out, probe.Failed(id, n, i18n.Tf("以 %s 登录失败：%v", "login as %s failed: %v", s.Username, err), hint, err))
	}
	if s.Auth == "none" {
		out = append(out, probe.Pass(id, n, i18n.T(`不登录（auth = "none"）`, `no login (auth = "none")`)))
	} else {
		out = append(out, probe.Pass(id, n, i18n.Tf("已以 %s 登录（%s）", "logged in as %s (%s)", s.Username, s.Auth)))
	}
	_ = c.Quit()
	return out
}
