package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Replay windows: how far a signed timestamp may be from now.
const (
	// zendeskSkew and genericSkew: the usual window of signed webhooks.
	zendeskSkew = 5 * time.Minute
	genericSkew = 5 * time.Minute
	// dingtalkSkew: 钉钉 documents one hour for its robot callbacks.
	dingtalkSkew = time.Hour
)

func hmacSHA256(key string, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, []byte(key))
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// equalHex compares a hex signature as sent with the expected MAC in
// constant time; case-insensitive, as senders differ.
func equalHex(sent string, want []byte) bool {
	got, err := hex.DecodeString(strings.TrimSpace(sent))
	return err == nil && hmac.Equal(got, want)
}

// equalString compares a token in constant time (the length may leak,
// not the content).
func equalString(sent, want string) bool {
	return subtle.ConstantTimeCompare([]byte(sent), []byte(want)) == 1
}

// bearer returns the token of an "Authorization: Bearer …" header.
func bearer(h http.Header) (string, bool) {
	v := h.Get("Authorization")
	scheme, token, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(token), true
}

func authErr(format string, args ...any) error {
	return &AuthError{Reason: fmt.Sprintf(format, args...)}
}

// within reports whether t is at most skew from now, either way.
func within(t, now time.Time, skew time.Duration) bool {
	d := now.Sub(t)
	return d <= skew && d >= -skew
}

// checkHubSignature checks a "sha256=<hex>" header: HMAC-SHA256 of the body.
func checkHubSignature(h http.Header, name, secret string, body []byte) error {
	v := h.Get(name)
	if v == "" {
		return authErr("missing %s header (want sha256=<hex HMAC-SHA256 of the body>)", name)
	}
	sig, ok := strings.CutPrefix(v, "sha256=")
	if !ok {
		return authErr("%s is not sha256=<hex>", name)
	}
	if !equalHex(sig, hmacSHA256(secret, body)) {
		return authErr("%s does not match the body signed with the configured secret", name)
	}
	return nil
}

// Authenticate: X-Hub-Signature-256 = sha256=hex(HMAC-SHA256(secret, body)).
func (p *github) Authenticate(h http.Header, body []byte, now time.Time) ([]byte, error) {
	if err := checkHubSignature(h, "X-Hub-Signature-256", p.secret, body); err != nil {
		return nil, err
	}
	return body, nil
}

// Authenticate: X-Gitlab-Token is the secret itself, sent in clear.
func (p *gitlab) Authenticate(h http.Header, body []byte, now time.Time) ([]byte, error) {
	v, ok := h["X-Gitlab-Token"]
	if !ok || len(v) == 0 {
		return nil, authErr("missing X-Gitlab-Token header (want the configured secret token)")
	}
	if !equalString(v[0], p.secret) {
		return nil, authErr("X-Gitlab-Token is not the configured secret token")
	}
	return body, nil
}

// Authenticate: Jira Cloud admin webhooks sign with X-Hub-Signature =
// sha256=hex(HMAC-SHA256(secret, body)); Jira Server/DC signs nothing, so
// it is given the secret as "Authorization: Bearer <secret>" (a custom
// header or an automation rule). A present signature must be right even
// when a bearer token is also sent.
func (p *jira) Authenticate(h http.Header, body []byte, now time.Time) ([]byte, error) {
	if h.Get("X-Hub-Signature") != "" {
		if err := checkHubSignature(h, "X-Hub-Signature", p.secret, body); err != nil {
			return nil, err
		}
		return body, nil
	}
	token, ok := bearer(h)
	if !ok {
		return nil, authErr("missing X-Hub-Signature header (sha256=<hex HMAC-SHA256 of the body>) or Authorization: Bearer <secret>")
	}
	if !equalString(token, p.secret) {
		return nil, authErr("the Authorization bearer token is not the configured secret")
	}
	return body, nil
}

// Authenticate: X-Zendesk-Webhook-Signature = base64(HMAC-SHA256(secret,
// timestamp + body)) with X-Zendesk-Webhook-Signature-Timestamp (RFC 3339),
// refused when more than 5 minutes from now.
func (p *zendesk) Authenticate(h http.Header, body []byte, now time.Time) ([]byte, error) {
	const sigH, tsH = "X-Zendesk-Webhook-Signature", "X-Zendesk-Webhook-Signature-Timestamp"
	sig, ts := h.Get(sigH), h.Get(tsH)
	if sig == "" || ts == "" {
		return nil, authErr("missing %s or %s header", sigH, tsH)
	}
	t, err := time.Parse(time.RFC3339, ts)
	if err != nil {
		return nil, authErr("%s is not an RFC 3339 time", tsH)
	}
	got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(sig))
	if err != nil || !hmac.Equal(got, hmacSHA256(p.secret, []byte(ts), body)) {
		return nil, authErr("%s does not match the timestamp and body signed with the configured secret", sigH)
	}
	// Checked after the signature so that a forged request learns nothing.
	if !within(t, now, zendeskSkew) {
		return nil, authErr("%s is more than %v from now (a replay?)", tsH, zendeskSkew)
	}
	return body, nil
}

// Authenticate: the robot callback's sign header = base64(HMAC-SHA256(
// secret, timestamp + "\n" + secret)), timestamp (ms) within an hour. The
// signature does not cover the body: 钉钉 signs only the time.
func (p *dingtalk) Authenticate(h http.Header, body []byte, now time.Time) ([]byte, error) {
	ts, sig := h.Get("timestamp"), h.Get("sign")
	if ts == "" || sig == "" {
		return nil, authErr("missing timestamp or sign header")
	}
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return nil, authErr("the timestamp header is not milliseconds since the epoch")
	}
	got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(sig))
	if err != nil || !hmac.Equal(got, hmacSHA256(p.secret, []byte(ts+"\n"+p.secret))) {
		return nil, authErr("the sign header does not match the timestamp signed with the configured AppSecret")
	}
	if !within(time.UnixMilli(ms), now, dingtalkSkew) {
		return nil, authErr("the timestamp header is more than %v from now (a replay?)", dingtalkSkew)
	}
	return body, nil
}

// Authenticate: X-Demandd-Signature: t=<unix seconds>,v1=<hex
// HMAC-SHA256(secret, t + "." + body)>, t within 5 minutes; or
// Authorization: Bearer <secret> for senders that cannot sign.
func (p *generic) Authenticate(h http.Header, body []byte, now time.Time) ([]byte, error) {
	const sigH = "X-Demandd-Signature"
	v := h.Get(sigH)
	if v == "" {
		token, ok := bearer(h)
		if !ok {
			return nil, authErr("missing %s header (t=<unix>,v1=<hex HMAC-SHA256 of t.body>) or Authorization: Bearer <secret>", sigH)
		}
		if !equalString(token, p.secret) {
			return nil, authErr("the Authorization bearer token is not the configured secret")
		}
		return body, nil
	}
	var ts string
	var sigs []string
	for _, part := range strings.Split(v, ",") {
		k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = val
		case "v1":
			sigs = append(sigs, val) // several during a secret rotation
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return nil, authErr("%s is not t=<unix seconds>,v1=<hex>", sigH)
	}
	want := hmacSHA256(p.secret, []byte(ts), []byte("."), body)
	ok := false
	for _, s := range sigs {
		ok = equalHex(s, want) || ok
	}
	if !ok {
		return nil, authErr("%s does not match t and the body signed with the configured secret", sigH)
	}
	if !within(time.Unix(sec, 0), now, genericSkew) {
		return nil, authErr("%s t= is more than %v from now (a replay?)", sigH, genericSkew)
	}
	return body, nil
}
