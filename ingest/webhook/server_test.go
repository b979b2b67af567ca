package webhook_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/ingest/webhook"
	"github.com/demandd/demandd/internal/testdb"
	"github.com/demandd/demandd/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

const ghSecret = "It's a Secret to Everybody"

// hub is a webhook listener over a real engine and register.
type hub struct {
	t   *testing.T
	env *testenv.Env
	url string
}

func newHub(t *testing.T, dbURL string, cfg webhook.Config) *hub {
	t.Helper()
	env := testenv.New(t, dbURL, nil)
	if len(cfg.Sources) == 0 {
		cfg.Sources = []webhook.SourceConfig{{Name: "gh", Preset: "github", Secret: ghSecret},
			{Name: "lark", Preset: "feishu", Secret: "verify-token"}}
	}
	cfg.SetDefaults()
	if p := cfg.Validate(); len(p) > 0 {
		t.Fatalf("config: %v", p)
	}
	srv, err := webhook.New(cfg, webhook.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts := httptest.NewServer(srv.Handler(ctx, env.Engine))
	t.Cleanup(func() { ts.Close(); cancel() })
	return &hub{t: t, env: env, url: ts.URL}
}

// githubSign is GitHub's X-Hub-Signature-256, computed here with
// crypto/hmac rather than by the code under test.
func githubSign(body []byte) string {
	m := hmac.New(sha256.New, []byte(ghSecret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

type reply struct {
	status int
	header http.Header
	body   map[string]string
}

func (h *hub) post(path string, header map[string]string, body []byte) reply {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.url+path, bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return do(h.t, req)
}

func do(t testing.TB, req *http.Request) reply {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header}
	if err := json.Unmarshal(raw, &r.body); err != nil && len(raw) > 0 {
		t.Fatalf("%s %s: answer is not JSON: %q", req.Method, req.URL.Path, raw)
	}
	return r
}

// github posts a signed GitHub event.
func (h *hub) github(event, delivery string, body []byte) reply {
	h.t.Helper()
	return h.post("/hooks/gh", map[string]string{"X-GitHub-Event": event, "X-GitHub-Delivery": delivery,
		"X-Hub-Signature-256": githubSign(body)}, body)
}

// issuePayload is the real issues.opened payload with its action and issue
// number replaced.
func issuePayload(t testing.TB, file, action string, number int, title string) []byte {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	v["action"] = action
	issue := v["issue"].(map[string]any)
	issue["number"] = number
	issue["html_url"] = fmt.Sprintf("https://github.com/Codertocat/Hello-World/issues/%d", number)
	if title != "" {
		issue["title"] = title
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestHookAnswers(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(b.Name, func(t *testing.T) {
			h := newHub(t, b.URL(t), webhook.Config{MaxBody: 64 << 10})
			opened := issuePayload(t, "github-issues.opened.json", "opened", 1, "")

			check := func(name string, got reply, status int) {
				t.Helper()
				if got.status != status {
					t.Errorf("%s: status %d %v, want %d", name, got.status, got.body, status)
				}
				if status >= 400 && got.body["error"] == "" {
					t.Errorf("%s: no error in the answer", name)
				}
			}
			check("unknown source", h.post("/hooks/nope", nil, opened), http.StatusNotFound)
			req, _ := http.NewRequest(http.MethodGet, h.url+"/hooks/gh", nil)
			got := do(t, req)
			check("GET", got, http.StatusMethodNotAllowed)
			if got.header.Get("Allow") != "POST" {
				t.Errorf("405 without Allow: POST")
			}
			check("form body", h.post("/hooks/gh", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, opened),
				http.StatusUnsupportedMediaType)
			big := append([]byte(`{"pad":"`), bytes.Repeat([]byte("x"), 70<<10)...)
			big = append(big, `"}`...)
			check("too big", h.github("issues", "d-big", big), http.StatusRequestEntityTooLarge)
			check("no signature", h.post("/hooks/gh", map[string]string{"X-GitHub-Event": "issues"}, opened), http.StatusUnauthorized)
			check("bad signature", h.post("/hooks/gh", map[string]string{"X-GitHub-Event": "issues",
				"X-Hub-Signature-256": "sha256=" + strings.Repeat("0", 64)}, opened), http.StatusUnauthorized)
			check("malformed JSON", h.github("issues", "d-bad", []byte(`{"action":`)), http.StatusBadRequest)
			check("no title or body", h.github("issues", "d-empty", []byte(`{"action":"opened","issue":{"number":9,"title":"","body":""},"repository":{"full_name":"a/b"}}`)),
				http.StatusBadRequest)
			check("ping", h.github("ping", "d-ping", []byte(`{"zen":"Keep it logically awesome.","hook_id":1}`)), http.StatusOK)
			if c := h.env.Counts(t); c.Demands != 0 {
				t.Fatalf("refused and ignored deliveries made %d demands", c.Demands)
			}

			first := h.github("issues", "d-1", opened)
			check("opened", first, http.StatusAccepted)
			code := first.body["code"]
			if !strings.HasPrefix(code, "DEM") || first.body["outcome"] != "new" {
				t.Fatalf("opened: answer %v", first.body)
			}
			again := h.github("issues", "d-1", opened)
			if again.status != http.StatusAccepted || again.body["code"] != code || again.body["outcome"] != "duplicate" {
				t.Errorf("redelivery: %d %v, want 202 with %s", again.status, again.body, code)
			}
			if again := h.github("ping", "d-ping", []byte(`{"zen":"Keep it logically awesome.","hook_id":1}`)); again.status != http.StatusOK {
				t.Errorf("ping redelivered: %d %v", again.status, again.body)
			}
			if again := h.github("issues", "d-empty", []byte(`{"action":"opened","issue":{"number":9,"title":"","body":""},"repository":{"full_name":"a/b"}}`)); again.status != http.StatusBadRequest {
				t.Errorf("bad payload redelivered: %d %v", again.status, again.body)
			}
			comment := h.github("issue_comment", "d-2", mustRead(t, "github-issue_comment.created.json"))
			if comment.status != http.StatusAccepted || comment.body["code"] != code || comment.body["outcome"] != "follow_up" {
				t.Errorf("comment: %d %v, want a follow-up of %s", comment.status, comment.body, code)
			}
			if got := status(t, h, code); got != demand.StatusNew {
				t.Errorf("after the comment: status %s", got)
			}
			h.github("issues", "d-3", issuePayload(t, "github-issues.opened.json", "closed", 1, ""))
			if got := status(t, h, code); got != demand.StatusClosed {
				t.Errorf("after closed: status %s, want closed", got)
			}
			h.github("issues", "d-4", issuePayload(t, "github-issues.opened.json", "reopened", 1, ""))
			if got := status(t, h, code); got != demand.StatusInProgress {
				t.Errorf("after reopened: status %s, want in_progress", got)
			}
			rec, err := h.env.Store.Demand(t.Context(), code)
			if err != nil {
				t.Fatal(err)
			}
			hist, err := h.env.Store.History(t.Context(), rec.ID)
			if err != nil {
				t.Fatal(err)
			}
			kinds := map[string]int{}
			for _, e := range hist {
				kinds[e.Kind]++
			}
			if kinds["follow_up"] != 3 || kinds["progress"] != 2 {
				t.Errorf("history: %v, want 3 follow-ups (comment, closed, reopened) and 2 status changes", kinds)
			}

			// A ticket whose creation was missed: its first event creates it.
			missed := issuePayload(t, "github-issues.opened.json", "closed", 2, "导出报表时报错 500")
			got = h.github("issues", "d-5", missed)
			if got.status != http.StatusAccepted || got.body["outcome"] != "new" {
				t.Fatalf("missed creation: %d %v", got.status, got.body)
			}
			if s := status(t, h, got.body["code"]); s != demand.StatusClosed {
				t.Errorf("a ticket first seen closed: status %s", s)
			}
			c := h.env.Counts(t)
			// Signed but unusable payloads are kept for a person, answered 400.
			if c.Demands != 2 || c.Quarantined != 2 || c.Ignored != 1 {
				t.Errorf("counts %+v, want 2 demands, 2 quarantined payloads (malformed, no title) and the ping ignored", c)
			}
		})
	}
}

func mustRead(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func status(t *testing.T, h *hub, code string) demand.Status {
	t.Helper()
	r, err := h.env.Store.Demand(t.Context(), code)
	if err != nil {
		t.Fatal(err)
	}
	return r.Status
}

func TestFeishuChallenge(t *testing.T) {
	h := newHub(t, testenv.Backends[0].URL(t), webhook.Config{})
	got := h.post("/hooks/lark", nil, []byte(`{"challenge":"ajls384kdjx98XX","token":"verify-token","type":"url_verification"}`))
	if got.status != http.StatusOK || got.body["challenge"] != "ajls384kdjx98XX" {
		t.Errorf("challenge: %d %v", got.status, got.body)
	}
	got = h.post("/hooks/lark", nil, []byte(`{"challenge":"x","token":"wrong","type":"url_verification"}`))
	if got.status != http.StatusUnauthorized {
		t.Errorf("challenge with a wrong token: %d %v", got.status, got.body)
	}
	if c := h.env.Counts(t); c.Raw != 0 {
		t.Errorf("a challenge stored %d items", c.Raw)
	}
}

// proxy forwards TCP to PostgreSQL and can cut every connection, so that
// the database becomes unavailable under a running daemon.
type proxy struct {
	t      *testing.T
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	p := &proxy{t: t, target: target}
	p.start("127.0.0.1:0")
	t.Cleanup(p.stop)
	return p
}

func (p *proxy) start(addr string) {
	var ln net.Listener
	var err error
	// The port may take a moment to be free again.
	testenv.Eventually(p.t, 10*time.Second, func() bool { ln, err = net.Listen("tcp", addr); return err == nil },
		func() string { return fmt.Sprintf("listen on %s: %v", addr, err) })
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
}

func (p *proxy) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func TestDatabaseDownAnswers503ThenRecovers(t *testing.T) {
	direct, err := url.Parse(testdb.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, direct.Host)
	via := *direct
	via.Host = p.addr
	h := newHub(t, via.String(), webhook.Config{})

	send := func(n int) reply {
		return h.github("issues", fmt.Sprintf("down-%d", n), issuePayload(t, "github-issues.opened.json", "opened", 100+n, fmt.Sprintf("第 %d 个需求：希望增加批量导出", n)))
	}
	if got := send(0); got.status != http.StatusAccepted {
		t.Fatalf("before the outage: %d %v", got.status, got.body)
	}
	p.stop()
	for n := 1; n <= 3; n++ {
		got := send(n)
		if got.status != http.StatusServiceUnavailable || got.header.Get("Retry-After") == "" {
			t.Fatalf("database down: %d %v (Retry-After %q), want 503 with Retry-After", got.status, got.body, got.header.Get("Retry-After"))
		}
	}
	p.start(p.addr)
	// The sender retries what was refused: everything arrives once.
	for n := 1; n <= 3; n++ {
		var got reply
		// The pool notices the dead connections on use.
		testenv.Eventually(t, 30*time.Second, func() bool { got = send(n); return got.status != http.StatusServiceUnavailable },
			func() string { return fmt.Sprintf("still %d after recovery", got.status) })
		if got.status != http.StatusAccepted || got.body["outcome"] != "new" {
			t.Fatalf("after recovery: %d %v", got.status, got.body)
		}
	}
	if c := h.env.Counts(t); c.Demands != 4 || c.Raw != 4 {
		t.Errorf("after recovery: %+v, want 4 demands from 4 deliveries", c)
	}
}

// TestLoad: 10,000 deliveries from 32 goroutines, each answered 202, make
// exactly 10,000 demands in PostgreSQL.
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	h := newHub(t, testdb.Postgres(t), webhook.Config{})
	const total, workers = 10000, 32
	bodies := make([][]byte, total)
	for i := range bodies {
		bodies[i] = issuePayload(t, "github-issues.opened.json", "opened", i+1, fmt.Sprintf("load %d: 登录页面偶尔报错，请尽快处理", i))
	}
	var next, accepted atomic.Int64
	codes := sync.Map{}
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= total {
					return
				}
				req, _ := http.NewRequest(http.MethodPost, h.url+"/hooks/gh", bytes.NewReader(bodies[i]))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-GitHub-Event", "issues")
				req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("load-%d", i))
				req.Header.Set("X-Hub-Signature-256", githubSign(bodies[i]))
				resp, err := client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				var a map[string]string
				_ = json.NewDecoder(resp.Body).Decode(&a)
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					t.Errorf("delivery %d: %d %v", i, resp.StatusCode, a)
					return
				}
				if _, dup := codes.LoadOrStore(a["code"], i); dup {
					t.Errorf("delivery %d: code %s given twice", i, a["code"])
				}
				accepted.Add(1)
			}
		}()
	}
	wg.Wait()
	if c := h.env.Counts(t); accepted.Load() != total || c.Demands != total || c.Raw != total {
		t.Errorf("%d accepted, counts %+v; want %d of each", accepted.Load(), c, total)
	}
}
