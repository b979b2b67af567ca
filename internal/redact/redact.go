// Package redact hides the credentials of a database URL or DSN, in the
// URL itself and in any message that quotes it, such as a driver's error.
// It is shared by config (what config check and version print) and store
// (connection errors), which do not import each other.
//
// A credential is the password of a URL's user info
// (postgres://user:PASSWORD@host), a password or sslpassword parameter
// (?password=…, password=… in a libpq key=value DSN) and an sslkey given
// inline as PEM text. Paths (sslkey, sslcert, passfile) and user names are
// kept: they say which configuration is meant and are not secret.
package redact

import (
	"errors"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// Mask stands where a credential was.
const Mask = "xxxxx"

// secretKey reports a parameter whose value is a credential. Keys are
// compared in any case: hiding too much is harmless.
func secretKey(key string) bool {
	switch strings.ToLower(key) {
	case "password", "sslpassword":
		return true
	}
	return false
}

// inlineKey reports a value that is a private key pasted inline (lib/pq's
// sslinline) rather than a path.
func inlineKey(key, value string) bool {
	return strings.EqualFold(key, "sslkey") && strings.Contains(value, "-----BEGIN")
}

// DSN returns dsn with every credential replaced by Mask: a URL
// (scheme://…) keeps its shape and the order of its parameters; anything
// else is read as a libpq key=value string. A string with no credential is
// returned as it is.
func DSN(dsn string) string {
	if p, ok := splitURL(dsn); ok {
		return p.redacted()
	}
	return kvValue.ReplaceAllStringFunc(dsn, func(m string) string {
		sub := kvValue.FindStringSubmatch(m)
		if !secretKey(sub[2]) && !inlineKey(sub[2], sub[4]) {
			return m
		}
		return sub[1] + sub[2] + sub[3] + Mask
	})
}

// kvValue is one key = value of a libpq DSN: a value in single quotes (with
// \ escapes, running to the end when the closing quote is missing) or up
// to the next space.
var kvValue = regexp.MustCompile(`(^|\s)([A-Za-z_]+)(\s*=\s*)('(?:[^'\\]|\\.)*(?:'|\\?$)|(?:[^\s\\]|\\.)*\\?)`)

// urlParts is a URL cut where its credentials are, by positions in the
// original string so that the rest is shown exactly as it was written.
type urlParts struct {
	s string
	// userEnd is the end of the user name, passEnd of the password (the
	// '@'); both are 0 without user info, equal without a password.
	userEnd, passEnd int
	query            int // start of the query after '?', -1 without one
	queryEnd         int // the '#' or the end
}

// splitURL finds the credentials of a URL. It does not use net/url, which
// refuses the very URLs whose errors quote them (an unencoded '/' or '%'
// in a password), and it errs on the side of hiding: the user info runs to
// the last '@' before the query, so that an unencoded '@', '/' or ':' in a
// password is hidden whole.
func splitURL(s string) (urlParts, bool) {
	i := strings.Index(s, "://")
	if i <= 0 || strings.ContainsAny(s[:i], " \t\n'\"=") {
		return urlParts{}, false
	}
	p := urlParts{s: s, query: -1, queryEnd: len(s)}
	start := i + 3
	// The query starts at the first '?' after the first '@' (a '?' before
	// it is part of a password); a '#' after that ends it.
	first := strings.IndexByte(s[start:], '@')
	from := start
	if first >= 0 {
		from = start + first
	}
	if q := strings.IndexByte(s[from:], '?'); q >= 0 {
		p.query = from + q + 1
		if h := strings.IndexByte(s[p.query:], '#'); h >= 0 {
			p.queryEnd = p.query + h
		}
	}
	authEnd := len(s)
	if p.query >= 0 {
		authEnd = p.query - 1
	}
	if at := strings.LastIndexByte(s[start:authEnd], '@'); at >= 0 {
		p.passEnd = start + at
		p.userEnd = p.passEnd
		if c := strings.IndexByte(s[start:p.passEnd], ':'); c >= 0 {
			p.userEnd = start + c
		}
	}
	return p, true
}

// password is the password as written (still percent-encoded), "" if none.
func (p urlParts) password() string {
	if p.passEnd > p.userEnd {
		return p.s[p.userEnd+1 : p.passEnd]
	}
	return ""
}

// params calls fn with the start, end and key of each parameter's value.
func (p urlParts) params(fn func(start, end int, key string)) {
	if p.query < 0 {
		return
	}
	pos := p.query
	for _, param := range strings.Split(p.s[p.query:p.queryEnd], "&") {
		if k, _, ok := strings.Cut(param, "="); ok {
			fn(pos+len(k)+1, pos+len(param), unescape(k))
		}
		pos += len(param) + 1
	}
}

func (p urlParts) redacted() string {
	var b strings.Builder
	last := 0
	cut := func(start, end int) {
		b.WriteString(p.s[last:start])
		b.WriteString(Mask)
		last = end
	}
	if p.password() != "" {
		cut(p.userEnd+1, p.passEnd)
	}
	p.params(func(start, end int, key string) {
		if v := p.s[start:end]; v != "" && (secretKey(key) || inlineKey(key, unescape(v))) {
			cut(start, end)
		}
	})
	b.WriteString(p.s[last:])
	return b.String()
}

// unescape decodes a query value, keeping it as it is when it does not
// decode.
func unescape(v string) string {
	if u, err := url.QueryUnescape(v); err == nil {
		return u
	}
	return v
}

// secrets are the credentials of dsn in every form a message may show
// them: as written, percent-decoded (a driver connects with the decoded
// password), and as %q writes them inside quotes.
func secrets(dsn string) []string {
	var raw []string
	if p, ok := splitURL(dsn); ok {
		if pw := p.password(); pw != "" {
			raw = append(raw, pw)
			if d, err := url.PathUnescape(pw); err == nil {
				raw = append(raw, d)
			}
		}
		p.params(func(start, end int, key string) {
			if v := dsn[start:end]; v != "" && (secretKey(key) || inlineKey(key, unescape(v))) {
				raw = append(raw, v, unescape(v))
			}
		})
	} else {
		for _, sub := range kvValue.FindAllStringSubmatch(dsn, -1) {
			if secretKey(sub[2]) || inlineKey(sub[2], sub[4]) {
				v := sub[4]
				raw = append(raw, v, kvUnquote(v))
			}
		}
	}
	var out []string
	for _, s := range raw {
		if s == "" {
			continue
		}
		out = append(out, s)
		if q := strconv.Quote(s); q[1:len(q)-1] != s {
			out = append(out, q[1:len(q)-1])
		}
	}
	return out
}

// kvUnquote is a key=value DSN's value as libpq reads it.
func kvUnquote(v string) string {
	v = strings.TrimPrefix(v, "'")
	v = strings.TrimSuffix(v, "'")
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) {
			i++
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// minSecret is the shortest credential hidden wherever it appears in a
// message, beyond the places the URL puts it. Hiding a shorter one would
// mask unrelated text ("1" in 127.0.0.1) and so point at the password
// rather than hide it.
const minSecret = 4

// quoted is a Go-quoted string in a message, such as net/url's
// `invalid URL escape "%zz"`.
var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// Message returns msg, a text that may quote dsn (a driver's error),
// without dsn's credentials: dsn itself, written as it is or quoted, is
// replaced by DSN(dsn); then any credential of minSecret bytes or more
// still present is masked, as is a quoted fragment of one (net/url quotes
// the bad part of a URL it refuses, which may be a piece of a password).
func Message(msg, dsn string) string {
	if dsn == "" {
		return msg
	}
	safe := DSN(dsn)
	for _, form := range []string{dsn, strings.SplitN(dsn, "#", 2)[0]} {
		msg = strings.ReplaceAll(msg, form, safe)
		if q := strconv.Quote(form); q[1:len(q)-1] != form {
			msg = strings.ReplaceAll(msg, q[1:len(q)-1], safe)
		}
	}
	secret := secrets(dsn)
	for _, s := range secret {
		if len(s) >= minSecret {
			msg = strings.ReplaceAll(msg, s, Mask)
		}
	}
	return quoted.ReplaceAllStringFunc(msg, func(q string) string {
		frag, err := strconv.Unquote(q)
		if err != nil {
			return q
		}
		// net/url writes a bad port with its colon: ":pw".
		frag = strings.TrimLeft(frag, ":")
		if len(frag) < 2 || strings.Contains(safe, frag) {
			return q
		}
		for _, s := range secret {
			if strings.Contains(s, frag) {
				return `"` + Mask + `"`
			}
		}
		return q
	})
}

// Error returns err with dsn's credentials removed from its message (see
// Message), or err itself when its message has none. errors.Is and
// errors.As still see the cause, but not through Unwrap: code that walks
// the chain to print each message (as some loggers do) must not find the
// cause's own text, which is not redacted.
func Error(err error, dsn string) error {
	if err == nil {
		return nil
	}
	msg := Message(err.Error(), dsn)
	if msg == err.Error() {
		return err
	}
	return &redacted{msg: msg, cause: err}
}

type redacted struct {
	msg   string
	cause error
}

func (e *redacted) Error() string { return e.msg }

// Is lets errors.Is see the cause (syscall.ECONNREFUSED, a deadline).
func (e *redacted) Is(target error) bool { return errors.Is(e.cause, target) }

// As lets errors.As find a typed cause (*pq.Error, *net.OpError); what it
// finds is not redacted.
func (e *redacted) As(target any) bool { return errors.As(e.cause, target) }
