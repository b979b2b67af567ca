// Package probe is the result of one installation check, shared by the
// packages that check what they own (a mailbox, a watched folder, an SMTP
// server) and `demandd doctor`, which prints them.
//
// A check never changes what it looks at, beyond a scratch file it writes
// and removes to prove a folder writable. A check that fails says what is
// wrong (Detail) and what to do (Hint); the checks that depend on it are
// Skip, with why. Warn is a setting that works but not as well as it could
// (no IDLE: mail is polled); it does not make doctor fail.
package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"syscall"

	"github.com/demandd/demandd/internal/i18n"
)

// Status is a check's outcome.
type Status string

// The outcomes, in the order of gravity.
const (
	OK   Status = "ok"
	Skip Status = "skip" // not run: a check it depends on failed, or nothing to check
	Warn Status = "warn" // works, with a drawback the hint names
	Fail Status = "fail"
)

// Result is one check.
type Result struct {
	// ID is stable, for scripts and tests: "email.support.login".
	ID string
	// Name is what a person reads: "邮箱 support：登录" / "email support: login".
	Name   i18n.Text
	Status Status
	// Detail is what was found (OK), what is wrong (Fail, Warn) or why the
	// check did not run (Skip).
	Detail i18n.Text
	// Hint is what to do (Fail, Warn).
	Hint i18n.Text
	// Err is the cause of a Fail, for logs and errors.Is.
	Err error
}

// Pass is a check that passed.
func Pass(id string, name, detail i18n.Text) Result {
	return Result{ID: id, Name: name, Status: OK, Detail: detail}
}

// Failed is a check that failed.
func Failed(id string, name, detail, hint i18n.Text, err error) Result {
	return Result{ID: id, Name: name, Status: Fail, Detail: detail, Hint: hint, Err: err}
}

// Warning is a check that passed with a drawback.
func Warning(id string, name, detail, hint i18n.Text) Result {
	return Result{ID: id, Name: name, Status: Warn, Detail: detail, Hint: hint}
}

// Skipped is a check that did not run, and why.
func Skipped(id string, name, why i18n.Text) Result {
	return Result{ID: id, Name: name, Status: Skip, Detail: why}
}

// Failures counts the failed checks.
func Failures(rs []Result) int {
	n := 0
	for _, r := range rs {
		if r.Status == Fail {
			n++
		}
	}
	return n
}

// NetHint says what to do about err from dialling addr: nothing listens,
// the name does not resolve, no answer.
func NetHint(addr string, err error) i18n.Text {
	var dns *net.DNSError
	var ne net.Error
	switch {
	case errors.As(err, &dns):
		return i18n.T("主机名无法解析：检查 host 的拼写和本机的 DNS 设置",
			"the host name does not resolve: check the spelling of host and this machine's DNS")
	case errors.Is(err, syscall.ECONNREFUSED):
		return i18n.Tf("%s 上没有服务在监听：检查 host 和 port，以及服务器是否在运行",
			"nothing listens on %s: check host and port, and that the server is running", addr)
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return i18n.Tf("%s 没有应答：检查 host 和 port，以及防火墙是否放行本机",
			"%s does not answer: check host and port, and that a firewall lets this machine through", addr)
	}
	return i18n.Tf("检查 host 和 port，以及本机到 %s 的网络", "check host and port, and the network from this machine to %s", addr)
}

// TLSHint says what to do about a failed TLS handshake: the server speaks
// clear text on the port, its certificate is not trusted, is for other
// names, or is out of date; tlsPort and startTLSPort are the protocol's
// usual ports ("993", "143" for IMAP).
func TLSHint(err error, tlsPort, startTLSPort string) i18n.Text {
	var rh tls.RecordHeaderError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return i18n.Tf("服务器接受了连接，但没有按时应答：检查 port 是否对应所配的 tls（implicit 用 %s，starttls 用 %s）",
			"the server took the connection but did not answer in time: check that port suits tls (implicit on %s, starttls on %s)", tlsPort, startTLSPort)
	case errors.As(err, &rh):
		return i18n.Tf("该端口上的服务器不使用 TLS：tls = \"implicit\" 请用端口 %s，或改为 tls = \"starttls\"（端口 %s）",
			"the server does not speak TLS on this port: with tls = \"implicit\" use port %s, or set tls = \"starttls\" (port %s)", tlsPort, startTLSPort)
	case errors.As(err, &ua):
		return i18n.T("证书不是受信任的机构签发的：把签发机构的证书装进系统信任库（/usr/local/share/ca-certificates/ 后运行 update-ca-certificates）",
			"the certificate is not signed by a trusted authority: add the issuer's certificate to the system store (/usr/local/share/ca-certificates/, then update-ca-certificates)")
	case errors.As(err, &hn):
		return i18n.Tf("证书不是为这个主机名签发的：把 host 改为证书上的名称（%v）",
			"the certificate is for other names: set host to a name on the certificate (%v)", hn.Certificate.DNSNames)
	case errors.As(err, &ci) && ci.Reason == x509.Expired:
		return i18n.T("证书已过期或尚未生效：请服务器管理员更新证书，并检查本机时钟",
			"the certificate has expired or is not yet valid: have it renewed on the server, and check this machine's clock")
	}
	return i18n.Tf("检查 tls（implicit 用端口 %s，starttls 用端口 %s）和 port",
		"check tls (implicit on port %s, starttls on port %s) and port", tlsPort, startTLSPort)
}

// Cause is the innermost error of err's chain ("connection refused",
// "tls: first record does not look like a TLS handshake"): a check's
// detail names the address and the step itself, and the wrappers above
// would only repeat them.
func Cause(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}
