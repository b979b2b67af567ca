package webhook

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// now is the fixed clock of the authentication tests.
var now = time.Date(2026, 3, 21, 8, 16, 42, 0, time.UTC)

func mustPreset(t *testing.T, c SourceConfig) Preset {
	t.Helper()
	if c.Name == "" {
		c.Name = "test"
	}
	if c.Secret == "" {
		c.Secret = "s3cr3t"
	}
	p, err := NewPreset(c, c.Secret)
	if err != nil {
		t.Fatalf("NewPreset(%s): %v", c.Preset, err)
	}
	return p
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

// mac is HMAC-SHA256 computed here, independently of the code under test.
func mac(key, msg string) []byte {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return m.Sum(nil)
}

type authCase struct {
	name    string
	h       http.Header
	body    []byte
	wantErr string // "" for success; else a substring of the AuthError's reason
}

func runAuth(t *testing.T, p Preset, cases []authCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := p.Authenticate(c.h, c.body, now)
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("Authenticate: %v", err)
				}
				if !bytes.Equal(got, c.body) {
					t.Fatalf("payload is not the body")
				}
				return
			}
			var ae *AuthError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want *AuthError", err)
			}
			if !strings.Contains(ae.Reason, c.wantErr) {
				t.Fatalf("reason %q does not contain %q", ae.Reason, c.wantErr)
			}
			if strings.Contains(ae.Reason, "s3cr3t") {
				t.Fatalf("reason %q echoes the secret", ae.Reason)
			}
		})
	}
}

func TestAuthGitHub(t *testing.T) {
	// GitHub's documented vector ("Validating webhook deliveries").
	p := mustPreset(t, SourceConfig{Preset: "github", Secret: "It's a Secret to Everybody"})
	body := []byte("Hello, World!")
	const good = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	corpus := readTestdata(t, "github-issues.opened.json")
	runAuth(t, p, []authCase{
		{"good", header("X-Hub-Signature-256", good), body, ""},
		{"upper-case hex", header("X-Hub-Signature-256", "sha256="+strings.ToUpper(good[7:])), body, ""},
		{"upper-case prefix", header("X-Hub-Signature-256", strings.ToUpper(good)), body, "not sha256="},
		{"corpus body", header("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac("It's a Secret to Everybody", string(corpus)))), corpus, ""},
		{"other body", header("X-Hub-Signature-256", good), []byte("Hello, World?"), "does not match"},
		{"other secret", header("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac("wrong", "Hello, World!"))), body, "does not match"},
		{"sha1 only", header("X-Hub-Signature", "sha1=0123"), body, "missing X-Hub-Signature-256"},
		{"missing", header(), body, "missing X-Hub-Signature-256"},
		{"not hex", header("X-Hub-Signature-256", "sha256=zz"), body, "does not match"},
	})
}

func TestAuthGitLab(t *testing.T) {
	p := mustPreset(t, SourceConfig{Preset: "gitlab"})
	body := readTestdata(t, "gitlab-issue.json")
	runAuth(t, p, []authCase{
		{"good", header("X-Gitlab-Token", "s3cr3t"), body, ""},
		{"wrong", header("X-Gitlab-Token", "s3cr3T"), body, "not the configured secret token"},
		{"prefix", header("X-Gitlab-Token", "s3cr3"), body, "not the configured secret token"},
		{"empty", http.Header{"X-Gitlab-Token": {""}}, body, "not the configured"},
		{"missing", header(), body, "missing X-Gitlab-Token"},
	})
}

func TestAuthJira(t *testing.T) {
	p := mustPreset(t, SourceConfig{Preset: "jira"})
	body := readTestdata(t, "jira-server-jira.issue_created.json")
	sig := "sha256=" + hex.EncodeToString(mac("s3cr3t", string(body)))
	runAuth(t, p, []authCase{
		{"hub signature", header("X-Hub-Signature", sig), body, ""},
		{"bearer", header("Authorization", "Bearer s3cr3t"), body, ""},
		{"bad signature", header("X-Hub-Signature", "sha256="+hex.EncodeToString(mac("other", string(body)))), body, "X-Hub-Signature does not match"},
		// A wrong signature is not rescued by a right token.
		{"bad signature, good bearer", header("X-Hub-Signature", "sha256=00", "Authorization", "Bearer s3cr3t"), body, "does not match"},
		{"bad bearer", header("Authorization", "Bearer nope"), body, "bearer token is not the configured secret"},
		{"basic", header("Authorization", "Basic czNjcjN0"), body, "missing X-Hub-Signature header"},
		{"missing", header(), body, "missing X-Hub-Signature header"},
	})
}

func TestAuthZendesk(t *testing.T) {
	p := mustPreset(t, SourceConfig{Preset: "zendesk"})
	body := readTestdata(t, "zendesk-zen.event-type.ticket.created.json")
	ts := now.Add(-time.Minute).Format(time.RFC3339)
	stale := now.Add(-6 * time.Minute).Format(time.RFC3339)
	future := now.Add(6 * time.Minute).Format(time.RFC3339)
	sign := func(ts string) string { return base64.StdEncoding.EncodeToString(mac("s3cr3t", ts+string(body))) }
	const sigH, tsH = "X-Zendesk-Webhook-Signature", "X-Zendesk-Webhook-Signature-Timestamp"
	runAuth(t, p, []authCase{
		{"good", header(sigH, sign(ts), tsH, ts), body, ""},
		{"stale", header(sigH, sign(stale), tsH, stale), body, "more than 5m0s from now"},
		{"future", header(sigH, sign(future), tsH, future), body, "more than 5m0s from now"},
		{"timestamp not signed", header(sigH, sign(stale), tsH, ts), body, "does not match"},
		{"bad signature", header(sigH, base64.StdEncoding.EncodeToString(mac("x", ts+string(body))), tsH, ts), body, "does not match"},
		{"bad timestamp", header(sigH, sign("yesterday"), tsH, "yesterday"), body, "not an RFC 3339 time"},
		{"missing timestamp", header(sigH, sign(ts)), body, "missing " + sigH},
		{"missing", header(), body, "missing " + sigH},
	})
}

func TestAuthDingTalk(t *testing.T) {
	p := mustPreset(t, SourceConfig{Preset: "dingtalk", Secret: "SEC-ding"})
	body := readTestdata(t, "dingtalk-chatbot.message.text.json")
	// Precomputed with python3: base64(hmac.new(b"SEC-ding",
	// b"1774081002701\nSEC-ding", sha256).digest()).
	const ts, sign = "1774081002701", "rIeLSAdIPs0vdKb8FxHzRONkDqOZ49Sk0OmKJGuJtLE="
	staleTS := strconv.FormatInt(now.Add(-61*time.Minute).UnixMilli(), 10)
	staleSign := base64.StdEncoding.EncodeToString(mac("SEC-ding", staleTS+"\nSEC-ding"))
	runAuth(t, p, []authCase{
		{"good", header("timestamp", ts, "sign", sign), body, ""},
		{"stale", header("timestamp", staleTS, "sign", staleSign), body, "more than 1h0m0s from now"},
		{"bad sign", header("timestamp", ts, "sign", staleSign), body, "does not match"},
		{"seconds", header("timestamp", "x", "sign", sign), body, "not milliseconds"},
		{"missing sign", header("timestamp", ts), body, "missing timestamp or sign"},
		{"missing", header(), body, "missing timestamp or sign"},
	})
}

func TestAuthGeneric(t *testing.T) {
	p := mustPreset(t, SourceConfig{Preset: "generic", Mapping: Mapping{Ticket: "/id", Title: "/title"}})
	body := []byte(`{"id":"T-1","title":"Export is slow"}`)
	sig := func(ts int64, key string) string {
		t := strconv.FormatInt(ts, 10)
		return "t=" + t + ",v1=" + hex.EncodeToString(mac(key, t+"."+string(body)))
	}
	const sigH = "X-Demandd-Signature"
	runAuth(t, p, []authCase{
		{"good", header(sigH, sig(now.Unix()-30, "s3cr3t")), body, ""},
		{"rotation", header(sigH, sig(now.Unix(), "old")+",v1="+hex.EncodeToString(mac("s3cr3t", strconv.FormatInt(now.Unix(), 10)+"."+string(body)))), body, ""},
		{"bearer", header("Authorization", "Bearer s3cr3t"), body, ""},
		{"stale", header(sigH, sig(now.Unix()-301, "s3cr3t")), body, "more than 5m0s from now"},
		{"bad signature", header(sigH, sig(now.Unix(), "other")), body, "does not match"},
		{"malformed", header(sigH, "v1=abcd"), body, "not t=<unix seconds>,v1=<hex>"},
		{"bad bearer", header("Authorization", "Bearer x"), body, "bearer token is not the configured secret"},
		{"missing", header(), body, "missing " + sigH},
	})
}

// larkEncrypt builds a 飞书 encrypt envelope the way 飞书 does, here in the
// test: AES-256-CBC, key SHA-256(encrypt key), a random IV first, PKCS#7.
func larkEncrypt(t *testing.T, key string, plain []byte) []byte {
	t.Helper()
	k := sha256.Sum256([]byte(key))
	block, err := aes.NewCipher(k[:])
	if err != nil {
		t.Fatal(err)
	}
	n := aes.BlockSize - len(plain)%aes.BlockSize
	padded := append(append([]byte{}, plain...), bytes.Repeat([]byte{byte(n)}, n)...)
	out := make([]byte, aes.BlockSize+len(padded))
	copy(out, "0123456789abcdef") // a fixed IV keeps the test repeatable
	cipher.NewCBCEncrypter(block, out[:aes.BlockSize]).CryptBlocks(out[aes.BlockSize:], padded)
	b, err := json.Marshal(map[string]string{"encrypt": base64.StdEncoding.EncodeToString(out)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func larkSign(ts, nonce, key string, body []byte) string {
	s := sha256.Sum256(append([]byte(ts+nonce+key), body...))
	return hex.EncodeToString(s[:])
}

func TestFeishuDecryptDocumentedVector(t *testing.T) {
	// The example of 飞书's "Encrypt Key" documentation.
	got, err := feishuDecrypt("test key", "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=")
	if err != nil || string(got) != "hello world" {
		t.Fatalf("feishuDecrypt = %q, %v; want hello world", got, err)
	}
	if _, err := feishuDecrypt("other key", "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk="); err == nil {
		t.Log("a wrong key passed the padding check (possible, 1 in ~256); the JSON check catches it")
	}
	for _, bad := range []string{"", "not base64!", base64.StdEncoding.EncodeToString([]byte("short"))} {
		if _, err := feishuDecrypt("test key", bad); err == nil {
			t.Errorf("feishuDecrypt(%q): no error", bad)
		}
	}
}

func TestAuthFeishu(t *testing.T) {
	const token = "rvaYgkND1GOiu5MM0E1rncYC6PLtF7JV" // the corpus payloads' header.token
	const key = "kE7-encrypt"
	plainP := mustPreset(t, SourceConfig{Preset: "feishu", Secret: token})
	encP := mustPreset(t, SourceConfig{Preset: "feishu", Secret: token, EncryptKey: key})
	event := readTestdata(t, "feishu-helpdesk.ticket.created_v1.json")
	challenge := []byte(`{"challenge":"ajls384kdjx98XX","token":"` + token + `","type":"url_verification"}`)
	badChallenge := []byte(`{"challenge":"ajls384kdjx98XX","token":"nope","type":"url_verification"}`)

	wantChallenge := func(t *testing.T, p Preset, h http.Header, body []byte) {
		t.Helper()
		_, err := p.Authenticate(h, body, now)
		var c *Challenge
		if !errors.As(err, &c) {
			t.Fatalf("err = %v, want *Challenge", err)
		}
		if string(c.Body) != `{"challenge":"ajls384kdjx98XX"}` {
			t.Fatalf("challenge body = %s", c.Body)
		}
	}
	t.Run("challenge plain", func(t *testing.T) { wantChallenge(t, plainP, header(), challenge) })
	t.Run("challenge encrypted", func(t *testing.T) { wantChallenge(t, encP, header(), larkEncrypt(t, key, challenge)) })
	t.Run("challenge plain to an encrypting source", func(t *testing.T) { wantChallenge(t, encP, header(), challenge) })

	// Without an Encrypt Key the token in the payload authenticates.
	runAuth(t, plainP, []authCase{
		{"token", header(), event, ""},
		{"bad token", header(), bytes.Replace(event, []byte(token), []byte("forged-token-forged-token-forged"), 1), "not the configured verification token"},
		{"no token", header(), []byte(`{"schema":"2.0","header":{"event_type":"helpdesk.ticket.created_v1"}}`), "no verification token"},
		{"bad challenge token", header(), badChallenge, "url_verification token"},
		{"encrypted without key", header(), larkEncrypt(t, key, event), "no encrypt_key"},
	})

	// With one, the signature over the raw (encrypted) body and the token.
	enc := larkEncrypt(t, key, event)
	ts, nonce := "1608725989", "13675"
	signed := header("X-Lark-Request-Timestamp", ts, "X-Lark-Request-Nonce", nonce, "X-Lark-Signature", larkSign(ts, nonce, key, enc))
	got, err := encP.Authenticate(signed, enc, now)
	if err != nil {
		t.Fatalf("encrypted event: %v", err)
	}
	if !bytes.Equal(got, event) {
		t.Fatalf("decrypted payload differs from the plaintext:\n%s", got)
	}
	ev, err := encP.Map(header(), got)
	if err != nil || ev.Ticket != "6626871355780366331" {
		t.Fatalf("Map(decrypted) = %+v, %v", ev, err)
	}
	plainSigned := header("X-Lark-Request-Timestamp", ts, "X-Lark-Request-Nonce", nonce, "X-Lark-Signature", larkSign(ts, nonce, key, event))
	if _, err := encP.Authenticate(plainSigned, event, now); err != nil {
		t.Fatalf("signed plain event: %v", err)
	}
	wrongKey := larkEncrypt(t, "another key", event)
	runAuth(t, encP, []authCase{
		{"bad signature", header("X-Lark-Request-Timestamp", ts, "X-Lark-Request-Nonce", "13676", "X-Lark-Signature", larkSign(ts, nonce, key, enc)), enc, "X-Lark-Signature does not match"},
		{"signature of another key", header("X-Lark-Request-Timestamp", ts, "X-Lark-Request-Nonce", nonce, "X-Lark-Signature", larkSign(ts, nonce, "x", enc)), enc, "does not match"},
		{"missing signature", header(), enc, "missing X-Lark-Signature"},
		{"wrong encrypt key", signed, wrongKey, "encrypt_key"},
	})
}
