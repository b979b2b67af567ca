package imapsrc_test

import (
	"context"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/demandd/demandd/ingest"
	"github.com/demandd/demandd/ingest/imapsrc"
	"github.com/demandd/demandd/internal/i18n"
	"github.com/demandd/demandd/internal/probe"
	"github.com/demandd/demandd/internal/testimap"
)

// statuses is id → status of a probe's results.
func statuses(rs []probe.Result) map[string]probe.Status {
	out := map[string]probe.Status{}
	for _, r := range rs {
		out[r.ID] = r.Status
	}
	return out
}

func wantStatuses(t *testing.T, rs []probe.Result, want map[string]probe.Status) {
	t.Helper()
	got := statuses(rs)
	for id, st := range want {
		if got[id] != st {
			t.Errorf("%s: %s, want %s", id, got[id], st)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d results, want %d: %v", len(got), len(want), got)
	}
}

func result(rs []probe.Result, id string) probe.Result {
	for _, r := range rs {
		if r.ID == id {
			return r
		}
	}
	return probe.Result{}
}

func TestProbeInMemory(t *testing.T) {
	s := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rs := imapsrc.Probe(ctx, imapsrc.Config{Name: "support", Addr: s.real, TLS: "none", Username: "support", Password: "secret",
		IDLE: true, After: "seen"})
	wantStatuses(t, rs, map[string]probe.Status{"email.support.connect": probe.OK, "email.support.tls": probe.OK,
		"email.support.login": probe.OK, "email.support.mailbox.INBOX": probe.OK, "email.support.idle": probe.OK})

	// idle = false: polling, as configured.
	rs = imapsrc.Probe(ctx, imapsrc.Config{Name: "support", Addr: s.real, TLS: "none", Username: "support", Password: "secret",
		IDLE: false, PollInterval: time.Minute})
	if r := result(rs, "email.support.idle"); r.Status != probe.OK || !strings.Contains(r.Detail.EN, "polled every 1m0s") {
		t.Errorf("idle = false: %+v", r)
	}

	// A password file that cannot be read: the server is still checked
	// up to the login, which says why.
	host, port, _ := net.SplitHostPort(s.real)
	p, _ := strconv.Atoi(port)
	set := imapsrc.Settings{Name: "support", Host: host, Port: p, Username: "support", PasswordFile: filepath.Join(t.TempDir(), "missing")}
	set.SetDefaults()
	set.TLS = "none"
	rs = set.Probe(ctx, ingest.Env{Locale: i18n.EN})
	if r := result(rs, "email.support.login"); r.Status != probe.Fail || !strings.Contains(r.Detail.EN, "cannot read the password") ||
		!strings.Contains(r.Hint.EN, "password_file") {
		t.Errorf("missing password file: %+v", r)
	}
	if r := result(rs, "email.support.tls"); r.Status != probe.OK {
		t.Errorf("tls: %+v", r)
	}
}

// Against a real Dovecot: all good, then a wrong password, then a
// mailbox it does not have and a move target it does not have.
func TestProbeDovecot(t *testing.T) {
	addr, _ := testimap.StartDovecot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := imapsrc.Config{Name: "dc", Addr: addr, TLS: "none", Username: "test", Password: "secret", IDLE: true}
	rs := imapsrc.Probe(ctx, cfg)
	wantStatuses(t, rs, map[string]probe.Status{"email.dc.connect": probe.OK, "email.dc.tls": probe.OK,
		"email.dc.login": probe.OK, "email.dc.mailbox.INBOX": probe.OK, "email.dc.idle": probe.OK})

	bad := cfg
	bad.Password = "wrong"
	rs = imapsrc.Probe(ctx, bad)
	if r := result(rs, "email.dc.login"); r.Status != probe.Fail || !strings.Contains(r.Detail.EN, "AUTHENTICATIONFAILED") {
		t.Errorf("wrong password: %+v", r)
	}
	if r := result(rs, "email.dc.mailbox.INBOX"); r.Status != probe.Skip {
		t.Errorf("after a failed login: %+v", r)
	}

	missing := cfg
	missing.Mailboxes = []string{"INBOX", "客户需求"}
	missing.After = "move:Archive"
	rs = imapsrc.Probe(ctx, missing)
	if r := result(rs, "email.dc.mailbox.客户需求"); r.Status != probe.Fail || !strings.Contains(r.Hint.EN, "INBOX") {
		t.Errorf("missing mailbox: %+v", r)
	}
	if r := result(rs, "email.dc.move"); r.Status != probe.Fail || !strings.Contains(r.Detail.EN, `"Archive"`) {
		t.Errorf("missing move target: %+v", r)
	}
	if r := result(rs, "email.dc.mailbox.INBOX"); r.Status != probe.OK {
		t.Errorf("INBOX beside a missing mailbox: %+v", r)
	}
}
