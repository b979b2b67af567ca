package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/demandd/demandd/internal/fixture"
	"github.com/demandd/demandd/internal/promtest"
	"github.com/demandd/demandd/internal/testenv"
)

// syncBuffer is a log that serve writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServe runs `demandd serve` in-process; stop ends it and returns its
// exit code (the test's end stops it too).
func startServeInProcess(t *testing.T, cfg string) (log *syncBuffer, stop func() int) {
	t.Helper()
	log = &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"serve", "--config", cfg}, strings.NewReader(""), io.Discard, log) }()
	var once sync.Once
	code := 0
	stop = func() int {
		once.Do(func() {
			cancel()
			code = <-done
		})
		return code
	}
	t.Cleanup(func() { stop() })
	return log, stop
}

// waitListening waits until addr accepts connections.
func waitListening(t *testing.T, addr string, log *syncBuffer) {
	t.Helper()
	testenv.Eventually(t, 30*time.Second, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, func() string { return addr + " did not open; serve said:\n" + log.String() })
}

// scrape reads http://addr/metrics with the Prometheus text parser.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return promtest.Parse(t, resp.Body)
}

// metric is promtest.Value, short for the checks below.
var metric = promtest.Value

// notifications is a systemd notification socket: what serve sends
// through NOTIFY_SOCKET, in order.
type notifications struct {
	mu   sync.Mutex
	msgs []string
}

func listenNotify(t *testing.T) *notifications {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	n := &notifications{}
	go func() {
		buf := make([]byte, 4096)
		for {
			k, _, err := conn.ReadFromUnix(buf)
			if err != nil {
				return
			}
			n.mu.Lock()
			n.msgs = append(n.msgs, string(buf[:k]))
			n.mu.Unlock()
		}
	}()
	return n
}

func (n *notifications) all() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.msgs...)
}

// count is how many of msgs carry the assignment kv ("WATCHDOG=1").
func count(msgs []string, kv string) int {
	k := 0
	for _, m := range msgs {
		for _, line := range strings.Split(m, "\n") {
			if line == kv {
				k++
			}
		}
	}
	return k
}

// index is the position of the first (last) message carrying kv, -1 if
// none.
func index(msgs []string, kv string, last bool) int {
	at := -1
	for i, m := range msgs {
		if count([]string{m}, kv) > 0 {
			at = i
			if !last {
				return at
			}
		}
	}
	return at
}

// pgProxy forwards TCP to PostgreSQL until cut: then it drops every
// connection and refuses new ones until restore, as a database that went
// away does.
type pgProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]bool
}

// newPGProxy starts a proxy in front of url's server and returns it with
// url pointing at it.
func newPGProxy(t *testing.T, url string) (*pgProxy, string) {
	t.Helper()
	u, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &pgProxy{ln: ln, target: u.Host, conns: map[net.Conn]bool{}}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go p.serve()
	u.Host = ln.Addr().String()
	return p, u.String()
}

func (p *pgProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			c.Close()
			continue
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[s] = true, true
		p.mu.Unlock()
		go func() { io.Copy(s, c); s.Close() }()
		go func() { io.Copy(c, s); c.Close() }()
	}
}

func (p *pgProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *pgProxy) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}

// serve tells systemd READY, then WATCHDOG while the database answers,
// then STOPPING, in that order, through NOTIFY_SOCKET. On PostgreSQL the
// database is cut away behind a proxy: the watchdog pings stop while it is
// gone (systemd would restart the daemon) and resume when it is back.
func TestServeNotifiesSystemd(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(b.Name, func(t *testing.T) {
			url := b.URL(t)
			var proxy *pgProxy
			if b.Name == "postgres" {
				proxy, url = newPGProxy(t, url)
			}
			notes := listenNotify(t)
			t.Setenv("WATCHDOG_USEC", "1000000") // a ping every half second
			dir := t.TempDir()
			os.MkdirAll(filepath.Join(dir, "inbox"), 0o755)
			adminAddr := freeAddr(t)
			cfg := writeConfig(t, dir, url, fmt.Sprintf("[admin]\nlisten = %q\n", adminAddr))
			log, stop := startServeInProcess(t, cfg)
			testenv.Eventually(t, 30*time.Second, func() bool { return count(notes.all(), "WATCHDOG=1") >= 2 },
				func() string { return fmt.Sprintf("notifications %q; serve said:\n%s", notes.all(), log.String()) })

			if proxy != nil {
				withheld := func() float64 {
					return max(metric(scrape(t, adminAddr), "demandd_watchdog_pings_total", map[string]string{"result": "withheld"}), 0)
				}
				lostBefore := strings.Count(log.String(), "database does not answer")
				proxy.cut()
				var first float64
				testenv.Eventually(t, 30*time.Second, func() bool { first = withheld(); return first >= 1 },
					func() string { return "no ping withheld with the database gone; serve said:\n" + log.String() })
				// Every ping sent before the first withheld one is in the
				// socket by now; from here on none may come.
				before := count(notes.all(), "WATCHDOG=1")
				testenv.Eventually(t, 30*time.Second, func() bool { return withheld() >= first+2 },
					func() string { return "the watchdog stopped ticking" })
				if after := count(notes.all(), "WATCHDOG=1"); after != before {
					t.Errorf("%d watchdog pings sent with the database gone", after-before)
				}
				// Once, not at every tick (a ping slow before the cut may
				// have been logged already).
				if got := log.String(); strings.Count(got, "database does not answer") == 0 ||
					strings.Count(got, "database does not answer")-lostBefore > 1 {
					t.Errorf("a lost database is not logged once:\n%s", got)
				}
				proxy.restore()
				testenv.Eventually(t, 30*time.Second, func() bool { return count(notes.all(), "WATCHDOG=1") > before },
					func() string { return "pings did not resume with the database back; serve said:\n" + log.String() })
				if !strings.Contains(log.String(), "database answers again") {
					t.Errorf("the database's return is not logged:\n%s", log.String())
				}
			}

			if code := stop(); code != exitOK {
				t.Fatalf("serve exit %d:\n%s", code, log.String())
			}
			// Sent before serve returned; read by the socket's goroutine.
			testenv.Eventually(t, 10*time.Second, func() bool { return count(notes.all(), "STOPPING=1") > 0 },
				func() string { return fmt.Sprintf("no STOPPING=1 in %q", notes.all()) })
			msgs := notes.all()
			ready, firstPing := index(msgs, "READY=1", false), index(msgs, "WATCHDOG=1", false)
			lastPing, stopping := index(msgs, "WATCHDOG=1", true), index(msgs, "STOPPING=1", false)
			if ready != 0 || count(msgs, "READY=1") != 1 || firstPing < ready || stopping < lastPing || stopping != len(msgs)-1 {
				t.Errorf("notifications out of order: %q", msgs)
			}
		})
	}
}

// The metrics of a running daemon move as a questionnaire file and webhook
// deliveries come in; /readyz says ready; the status page lists the
// sources; every webhook answer carries a request id.
func TestServeAdmin(t *testing.T) {
	t.Setenv("DEMANDD_TEST_CRM_SECRET", "crm-secret")
	dir := t.TempDir()
	inbox := filepath.Join(dir, "inbox")
	os.MkdirAll(inbox, 0o755)
	hookAddr, adminAddr := freeAddr(t), freeAddr(t)
	cfg := writeConfig(t, dir, "sqlite:"+filepath.Join(dir, "d.db"), fmt.Sprintf(`
[webhook]
listen = %q
[[webhook.source]]
name = "crm"
preset = "generic"
secret_env = "DEMANDD_TEST_CRM_SECRET"
[webhook.source.mapping]
ticket = "/id"
title = "/title"
text = "/body"
[admin]
listen = %q
`, hookAddr, adminAddr))
	log, stop := startServeInProcess(t, cfg)
	waitListening(t, adminAddr, log)
	running := func(source string) bool {
		return metric(scrape(t, adminAddr), "demandd_source_state", map[string]string{"source": source, "state": "running"}) == 1
	}
	testenv.Eventually(t, 30*time.Second, func() bool { return running("inbox") && running("webhook") },
		func() string { return "sources not running; serve said:\n" + log.String() })
	fams := scrape(t, adminAddr)
	if v := metric(fams, "demandd_items_total", nil); v != -1 {
		t.Errorf("items counted before any came: %v", v)
	}

	// Three rows, written beside the folder and moved in whole.
	tmp := filepath.Join(dir, "wjx.xlsx")
	if err := fixture.WriteWJX(tmp, 3); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(inbox, "wjx.xlsx")); err != nil {
		t.Fatal(err)
	}
	q := map[string]string{"channel": "questionnaire", "source": "inbox", "outcome": "new"}
	testenv.Eventually(t, 30*time.Second, func() bool { return metric(scrape(t, adminAddr), "demandd_items_total", q) == 3 },
		func() string { return "questionnaire rows not counted; serve said:\n" + log.String() })

	body := []byte(`{"id":"T-9","title":"希望增加批量导出功能","body":"每周要导出上千条记录"}`)
	for _, c := range []struct {
		secret string
		want   int
	}{{"crm-secret", http.StatusAccepted}, {"wrong", http.StatusUnauthorized}, {"crm-secret", http.StatusAccepted}} {
		req, _ := http.NewRequest(http.MethodPost, "http://"+hookAddr+"/hooks/crm", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+c.secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want || len(resp.Header.Get("X-Request-Id")) != 16 {
			t.Errorf("delivery: %d (want %d), request id %q", resp.StatusCode, c.want, resp.Header.Get("X-Request-Id"))
		}
	}
	fams = scrape(t, adminAddr)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"demandd_items_total", map[string]string{"channel": "webhook", "source": "crm", "outcome": "new"}, 1},
		{"demandd_items_total", map[string]string{"channel": "webhook", "source": "crm", "outcome": "duplicate"}, 1},
		{"demandd_items_total", q, 3},
		{"demandd_webhook_request_duration_seconds", map[string]string{"endpoint": "hook", "source": "crm", "code": "202"}, 2},
		{"demandd_webhook_request_duration_seconds", map[string]string{"endpoint": "hook", "source": "crm", "code": "401"}, 1},
		{"demandd_batch_commit_duration_seconds", map[string]string{"channel": "questionnaire"}, 1},
		{"demandd_database_up", nil, 1},
		{"demandd_rules_reload_success", nil, 1},
	} {
		if got := metric(fams, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if metric(fams, "process_resident_memory_bytes", nil) <= 0 || metric(fams, "go_goroutines", nil) <= 0 {
		t.Error("no process or Go runtime metrics")
	}

	resp, err := http.Get("http://" + adminAddr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	rb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(rb), `"ready": true`) {
		t.Errorf("readyz: %d %s", resp.StatusCode, rb)
	}
	resp, err = http.Get("http://" + adminAddr + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, w := range []string{"demandd 运行状态", "inbox", "webhook", "今日收到", "就绪"} {
		if !strings.Contains(string(page), w) {
			t.Errorf("status page: no %q", w)
		}
	}
	if code := stop(); code != exitOK {
		t.Fatalf("serve exit %d:\n%s", code, log.String())
	}
	if got := log.String(); !strings.Contains(got, "admin listener serving") || !strings.Contains(got, "request_id=") {
		t.Errorf("log without the admin listener or request ids:\n%s", got)
	}
}
