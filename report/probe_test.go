package report_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/demandd/demandd/internal/probe"
	"github.com/demandd/demandd/report"
)

// selfSigned is a certificate for 127.0.0.1 that no system trusts.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func smtpConfig(addr, tlsMode, password string) report.SMTPConfig {
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	return report.SMTPConfig{Host: host, Port: p, TLS: tlsMode, Username: "report@example.com", Password: password,
		Timeout: durationOf(5 * time.Second)}
}

func probeResult(rs []probe.Result, id string) probe.Result {
	for _, r := range rs {
		if r.ID == id {
			return r
		}
	}
	return probe.Result{ID: id, Status: "missing"}
}

func TestSMTPProbe(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	plain := freeAddr(t)
	be := serveSMTP(t, plain)

	// A self-signed server on implicit TLS.
	signed := &smtpBackend{}
	srv := smtp.NewServer(signed)
	srv.Domain = "localhost"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", srv.TLSConfig)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	for _, tc := range []struct {
		name   string
		cfg    report.SMTPConfig
		status map[string]probe.Status
		words  string // in the failed step's detail and hint
	}{
		{"all good", smtpConfig(plain, "none", "s3cret"),
			map[string]probe.Status{"smtp.connect": probe.OK, "smtp.tls": probe.OK, "smtp.auth": probe.OK}, ""},
		{"wrong password", smtpConfig(plain, "none", "wrong"),
			map[string]probe.Status{"smtp.connect": probe.OK, "smtp.tls": probe.OK, "smtp.auth": probe.Fail}, "app password"},
		{"nothing listens", smtpConfig(freeAddr(t), "none", "s3cret"),
			map[string]probe.Status{"smtp.connect": probe.Fail, "smtp.tls": probe.Skip, "smtp.auth": probe.Skip}, "nothing listens"},
		{"implicit TLS on a clear-text port", smtpConfig(plain, "implicit", "s3cret"),
			map[string]probe.Status{"smtp.connect": probe.OK, "smtp.tls": probe.Fail, "smtp.auth": probe.Skip}, "use port 465"},
		{"STARTTLS the server does not offer", smtpConfig(plain, "starttls", "s3cret"),
			map[string]probe.Status{"smtp.connect": probe.OK, "smtp.tls": probe.Fail, "smtp.auth": probe.Skip}, "STARTTLS"},
		{"an untrusted certificate", smtpConfig(ln.Addr().String(), "implicit", "s3cret"),
			map[string]probe.Status{"smtp.connect": probe.OK, "smtp.tls": probe.Fail, "smtp.auth": probe.Skip}, "trusted authority"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := tc.cfg.Probe(ctx)
			var words []string
			for id, st := range tc.status {
				r := probeResult(rs, id)
				if r.Status != st {
					t.Errorf("%s: %s, want %s (%s)", id, r.Status, st, r.Detail.EN)
				}
				if r.Status == probe.Fail {
					words = append(words, r.Detail.EN+" | "+r.Hint.EN)
				}
			}
			if tc.words != "" && !strings.Contains(strings.Join(words, " "), tc.words) {
				t.Errorf("%q not in %q", tc.words, words)
			}
		})
	}
	if n := len(be.messages()) + len(signed.messages()); n != 0 {
		t.Errorf("the probe sent %d mails", n)
	}
}
