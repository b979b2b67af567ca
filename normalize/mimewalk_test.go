package normalize

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/emersion/go-message"

	"github.com/demandd/demandd/ingest"
)

// sameBothWays checks that Email's fast path (partWalker, base64Digest)
// gives what go-message's walk and decoder give, and reports whether the
// fast path took the message (false: it left it to the other).
func sameBothWays(t *testing.T, name string, body []byte) bool {
	t.Helper()
	it := ingest.Item{Body: body, Channel: "email", Source: "inbox"}
	fast, fastErr := email(it, true)
	if errors.Is(fastErr, errSlowPath) {
		return false
	}
	slow, slowErr := email(it, false)
	if fmt.Sprint(fastErr) != fmt.Sprint(slowErr) || !reflect.DeepEqual(fast, slow) {
		t.Errorf("%s: the fast path gives\n%+v %v\nthe slow one\n%+v %v", name, fast, fastErr, slow, slowErr)
	}
	return true
}

// withAttachment is a multipart message whose attachment part has the
// given transfer encoding and body text.
func withAttachment(enc, text string) []byte {
	return []byte("From: 张伟 <zhang@example.com>\r\nTo: support@example.com\r\nSubject: 报表导出失败\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n导出报表时系统报错，请尽快处理。\r\n" +
		"--b1\r\nContent-Type: application/pdf; name=\"report.pdf\"\r\nContent-Disposition: attachment; filename=\"report.pdf\"\r\n" +
		"Content-Transfer-Encoding: " + enc + "\r\n\r\n" + text + "\r\n--b1--\r\n")
}

// wrapped is data in base64, in lines of n characters ending with eol.
func wrapped(data []byte, n int, eol string) string {
	s := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n] + eol)
		s = s[n:]
	}
	b.WriteString(s)
	return b.String()
}

func TestFastMailPathMatches(t *testing.T) {
	files, _ := filepath.Glob("testdata/mail/*.eml")
	if len(files) < 15 {
		t.Fatalf("%d test messages", len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sameBothWays(t, filepath.Base(f), b)
	}

	data := make([]byte, 100<<10)
	_, _ = rand.Read(data)
	plain := map[string]string{ // plain base64 in the shapes mail has: the fast path takes these
		"76 CRLF":            wrapped(data, 76, "\r\n"),
		"76 LF":              wrapped(data, 76, "\n"),
		"one line":           wrapped(data, 1<<30, ""),
		"odd line length":    wrapped(data, 61, "\r\n"),
		"indented lines":     strings.ReplaceAll(wrapped(data, 76, "\r\n"), "\r\n", "\r\n \t"),
		"trailing spaces":    strings.ReplaceAll(wrapped(data, 64, "\r\n"), "\r\n", "  \r\n"),
		"padding one":        wrapped(data[:100], 76, "\r\n"),
		"padding two":        wrapped(data[:101], 76, "\r\n"),
		"empty":              "",
		"quantum across 32K": wrapped(data[:40000], 32767, "\n"),
		"upper-case name":    wrapped(data[:500], 76, "\r\n"),
	}
	for name, text := range plain {
		enc := "base64"
		if name == "upper-case name" {
			enc = "BASE64"
		}
		if !sameBothWays(t, name, withAttachment(enc, text)) {
			t.Errorf("%s: left to the slow path", name)
		}
	}
	good := wrapped(data[:3000], 76, "\r\n")
	broken := map[string]string{ // what the fast path leaves to go-message; either way the same record
		"bad character":       good[:1000] + "*" + good[1000:],
		"data after padding":  wrapped(data[:100], 76, "\r\n") + "\r\nQUJD",
		"padding in a line":   "QQ==QUJD",
		"partial quantum":     good[:len(good)-3],
		"padding then spaces": wrapped(data[:100], 76, "\r\n") + "  \r\n",
		"URL alphabet":        strings.NewReplacer("+", "-", "/", "_").Replace(good),
		// padding that ends base64Digest's first 32 KB read, data after it
		"padding at a read's end": base64.StdEncoding.EncodeToString(data[:24574]) + "QUJD",
	}
	for name, text := range broken {
		sameBothWays(t, name, withAttachment("base64", text))
	}
	other := map[string][]byte{
		"quoted-printable attachment": withAttachment("quoted-printable", "=E6=8A=A5=E8=A1=A8 report"),
		"unknown encoding":            withAttachment("x-uuencode", "begin 644 a\n"),
		"not multipart": []byte("From: a@example.com\r\nSubject: s\r\nContent-Type: application/pdf\r\n" +
			"Content-Transfer-Encoding: base64\r\n\r\n" + good + "\r\n"),
		"nested": []byte("From: a@example.com\r\nSubject: s\r\nContent-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n" +
			"Content-Type: multipart/alternative; boundary=i\r\n\r\n--i\r\nContent-Type: text/plain\r\n\r\nhello there\r\n--i--\r\n" +
			"--o\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n" + good + "\r\n--o--\r\n"),
		"truncated": withAttachment("base64", good)[:len(withAttachment("base64", good))-200],
	}
	for name, b := range other {
		sameBothWays(t, name, b)
	}
}

// TestFastMailPathLimit: an attachment that decodes past maxPartBytes is
// counted to the limit both ways, and what follows the limit is not read
// for errors.
func TestFastMailPathLimit(t *testing.T) {
	data := make([]byte, maxPartBytes+3000)
	_, _ = rand.Read(data)
	text := wrapped(data, 76, "\r\n") + "\r\n*broken after the limit*"
	if !sameBothWays(t, "over the limit", withAttachment("base64", text)) {
		t.Error("left to the slow path")
	}
}

func FuzzFastMailPath(f *testing.F) {
	files, _ := filepath.Glob("testdata/mail/*.eml")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil && bytes.Contains(b, []byte("base64")) {
			f.Add(b)
		}
	}
	f.Add(withAttachment("base64", wrapped([]byte("需求附件 attachment body"), 8, "\r\n")))
	f.Add([]byte("From: a@example.com\r\nSubject: s\r\nContent-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n" +
		"Content-Type: multipart/alternative; boundary=i\r\n\r\n--i\r\nContent-Type: text/plain\r\n\r\nhi\r\n--i--\r\n" +
		"--o\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\nQUJD\r\nREVG\r\n--o--\r\n"))
	f.Add([]byte("From: a@example.com\r\nSubject: s\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nQUJD\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		sameBothWays(t, "fuzzed", b)
	})
}

// FuzzBase64Digest: whatever base64Digest takes, it decodes as go-message
// does — the same bytes, to the same limit.
func FuzzBase64Digest(f *testing.F) {
	f.Add([]byte(wrapped([]byte("需求附件 attachment body"), 8, "\r\n")), uint16(10))
	f.Add([]byte("QQ==\r\n"), uint16(100))
	f.Add([]byte("QUJD REVG\tR0hJ\n"), uint16(4))
	f.Add([]byte("QUJDREVG*R0hJ"), uint16(3))
	f.Fuzz(func(t *testing.T, text []byte, limit uint16) {
		size, sum, err := base64Digest(bytes.NewReader(text), int64(limit))
		if errors.Is(err, errSlowPath) {
			return
		}
		var h message.Header
		h.Set("Content-Transfer-Encoding", "base64")
		e, _ := message.New(h, bytes.NewReader(text))
		d := sha256.New()
		want, _ := io.Copy(d, io.LimitReader(e.Body, int64(limit)))
		if err != nil || size != want || !bytes.Equal(sum, d.Sum(nil)) {
			t.Fatalf("%q to %d: %d bytes %x %v, go-message %d bytes %x", text, limit, size, sum, err, want, d.Sum(nil))
		}
	})
}

// FuzzAppendBase64Text: the word-at-a-time skip of whitespace drops
// exactly space, tab, CR and LF.
func FuzzAppendBase64Text(f *testing.F) {
	f.Add([]byte("QUJD REVG\tR0hJ\r\nSktM\x00\x1f!~\x80\xff"))
	f.Add([]byte(strings.Repeat("QUJDREVGR0hJSktM", 9) + "\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var want []byte
		for _, c := range b {
			if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
				want = append(want, c)
			}
		}
		if got := appendBase64Text([]byte("x"), b); !bytes.Equal(got, append([]byte("x"), want...)) {
			t.Fatalf("%q: %q, want %q", b, got, want)
		}
	})
}
