package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/demandd/demandd/admin"
	"github.com/demandd/demandd/classify"
	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/engine"
	"github.com/demandd/demandd/ingest"
	"github.com/demandd/demandd/internal/promtest"
	"github.com/demandd/demandd/internal/testdb"
	"github.com/demandd/demandd/internal/testenv"
	"github.com/demandd/demandd/normalize"
	"github.com/demandd/demandd/store"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// fixture is a migrated register, an engine observed by the metrics and
// the admin handler over HTTP.
type fixture struct {
	st        *store.Store
	eng       *engine.Engine
	m         *admin.Metrics
	srv       *admin.Server
	web       *httptest.Server
	reportDir string
	rulesErr  error
}

func newFixture(t *testing.T, url string, cfg admin.Config) *fixture {
	t.Helper()
	env := testenv.New(t, url, nil)
	f := &fixture{st: env.Store, m: admin.NewMetrics("test-1.0"), reportDir: t.TempDir()}
	rules, _, err := classify.Load(classify.Sources{})
	if err != nil {
		t.Fatal(err)
	}
	cal, _ := classify.NewCalendar(testenv.Shanghai, nil, nil)
	cls, err := classify.NewEngine(classify.Options{DefaultType: demand.TypeInquiry, Calendar: cal,
		SLA: classify.SLA{P1: 24 * time.Hour, P2Workdays: 7, P3Days: 14, P4Days: 30}}, rules, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.eng = engine.New(env.Store, normalize.New(normalize.Options{Location: testenv.Shanghai}), cls,
		engine.Options{Location: testenv.Shanghai, Observer: f.m})
	loaded := time.Now()
	f.srv, err = admin.New(cfg, admin.Deps{Store: env.Store, Metrics: f.m, Reports: true, ReportDir: f.reportDir,
		Location: testenv.Shanghai, Version: "test-1.0", Rules: func() (time.Time, error) { return loaded, f.rulesErr }})
	if err != nil {
		t.Fatal(err)
	}
	f.web = httptest.NewServer(f.srv.Handler())
	t.Cleanup(f.web.Close)
	return f
}

// get fetches path and returns the status, the body and the content type.
func (f *fixture) get(t *testing.T, path string) (int, string, string) {
	t.Helper()
	resp, err := http.Get(f.web.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header.Get("Content-Type")
}

// jsonItem is a webhook delivery the JSON normaliser reads.
func jsonItem(source, key, title, body string) ingest.Item {
	payload, _ := json.Marshal(map[string]string{"title": title, "body": body})
	return ingest.Item{Channel: demand.ChannelWebhook, Source: source, Key: source + "/" + key, ContentType: ingest.ContentTypeJSON,
		Body: payload, ReceivedAt: time.Now(), Origin: demand.OriginRaised, Ref: key}
}

// scrape parses /metrics with the Prometheus text parser.
func (f *fixture) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	code, body, ct := f.get(t, "/metrics")
	if code != http.StatusOK || !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("/metrics: %d %s", code, ct)
	}
	return promtest.Parse(t, strings.NewReader(body))
}

// value is promtest.Value, short for the many checks below.
var value = promtest.Value

type l = map[string]string

// Values on /metrics move as items are committed, requests answered and
// states change; a failed commit counts its items as failed.
func TestMetricsMove(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, b.URL(t), admin.Config{Listen: "127.0.0.1:0"})
			ctx := context.Background()
			f.m.AddSource(admin.Source{Name: "webhook", Channel: "webhook", Items: []string{"crm"}})
			fams := f.scrape(t)
			if v := value(fams, "demandd_source_state", l{"source": "webhook", "state": "starting"}); v != 1 {
				t.Errorf("registered source: starting = %v", v)
			}
			if v := value(fams, "demandd_build_info", l{"version": "test-1.0"}); v != 1 {
				t.Errorf("build info %v", v)
			}
			if v := value(fams, "demandd_database_up", nil); v != 1 {
				t.Errorf("database_up %v", v)
			}
			if v := value(fams, "demandd_items_total", nil); v != -1 {
				t.Errorf("items before any commit: %v", v)
			}

			batch := ingest.Batch{Items: []ingest.Item{
				jsonItem("crm", "1", "希望增加批量导出功能", "我们每周要导出上千条记录"),
				jsonItem("crm", "2", "登录页面打不开", "今天上午开始所有人都无法登录"),
			}}
			bad := jsonItem("crm", "3", "", "")
			bad.Problem = "mapping found no title"
			batch.Items = append(batch.Items, bad)
			if _, err := f.eng.Emit(ctx, batch); err != nil {
				t.Fatal(err)
			}
			f.m.SourceState("webhook", engine.SourceRunning, nil)
			f.m.WebhookRequest("hook", "crm", 202, 3*time.Millisecond)
			f.m.WebhookRequest("hook", "crm", 401, time.Millisecond)
			f.m.WatchdogPing(true)
			fams = f.scrape(t)
			for _, c := range []struct {
				name   string
				labels l
				want   float64
			}{
				{"demandd_items_total", l{"channel": "webhook", "source": "crm", "outcome": "new"}, 2},
				{"demandd_items_total", l{"channel": "webhook", "source": "crm", "outcome": "quarantined"}, 1},
				{"demandd_batch_commit_duration_seconds", l{"channel": "webhook"}, 1},
				{"demandd_source_state", l{"source": "webhook", "state": "running"}, 1},
				{"demandd_source_state", l{"source": "webhook", "state": "starting"}, 0},
				{"demandd_webhook_request_duration_seconds", l{"source": "crm", "code": "202"}, 1},
				{"demandd_webhook_request_duration_seconds", l{"source": "crm", "code": "401"}, 1},
				{"demandd_watchdog_pings_total", l{"result": "sent"}, 1},
				{"demandd_rules_reload_success", nil, 1},
			} {
				if got := value(fams, c.name, c.labels); got != c.want {
					t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
				}
			}
			if v := value(fams, "demandd_source_last_success_timestamp_seconds", l{"source": "webhook"}); v < float64(time.Now().Add(-time.Minute).Unix()) {
				t.Errorf("last success of the webhook listener after its commit: %v", v)
			}

			// The same deliveries again: duplicates, counted.
			if _, err := f.eng.Emit(ctx, batch); err != nil {
				t.Fatal(err)
			}
			f.m.SetLease("webhook", false)
			f.m.FileFailed(ingest.FailedFile{Channel: demand.ChannelQuestionnaire, Source: "inbox"})
			f.rulesErr = errors.New("rules.toml:3: bad rule")
			fams = f.scrape(t)
			for _, c := range []struct {
				name   string
				labels l
				want   float64
			}{
				{"demandd_items_total", l{"outcome": "duplicate"}, 3},
				{"demandd_items_total", l{"outcome": "new"}, 2},
				{"demandd_batch_commit_duration_seconds", l{"channel": "webhook"}, 2},
				{"demandd_source_lease_held", l{"source": "webhook"}, 0},
				{"demandd_source_state", l{"source": "webhook", "state": "standby"}, 1},
				{"demandd_files_failed_total", l{"source": "inbox"}, 1},
				{"demandd_rules_reload_success", nil, 0},
			} {
				if got := value(fams, c.name, c.labels); got != c.want {
					t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
				}
			}

			// The register gone: the batch's items count as failed, the
			// database as down.
			f.st.Close()
			if _, err := f.eng.Emit(ctx, ingest.Batch{Items: []ingest.Item{jsonItem("crm", "4", "新需求", "正文")}}); err == nil {
				t.Fatal("a commit on a closed store succeeded")
			}
			fams = f.scrape(t)
			if v := value(fams, "demandd_items_total", l{"outcome": "failed"}); v != 1 {
				t.Errorf("failed items %v, want 1", v)
			}
			if v := value(fams, "demandd_batch_commit_failures_total", l{"channel": "webhook"}); v != 1 {
				t.Errorf("commit failures %v, want 1", v)
			}
			if v := value(fams, "demandd_database_up", nil); v != 0 {
				t.Errorf("database_up with the store closed: %v", v)
			}
		})
	}
}

// /readyz is 200 only when the database answers and is migrated and every
// source runs; the JSON says why not.
func TestReadyz(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, b.URL(t), admin.Config{})
			mailboxes := []admin.Part{{Name: "INBOX", Connected: true}, {Name: "售后", Connected: false, LastError: "connect: connection refused"}}
			f.m.AddSource(admin.Source{Name: "inbox", Channel: "questionnaire"})
			f.m.AddSource(admin.Source{Name: "support", Channel: "email", Parts: func() []admin.Part { return mailboxes }})
			ready := func() (int, admin.Readiness) {
				t.Helper()
				code, body, ct := f.get(t, "/readyz")
				if !strings.HasPrefix(ct, "application/json") {
					t.Fatalf("readyz content type %q", ct)
				}
				var r admin.Readiness
				if err := json.Unmarshal([]byte(body), &r); err != nil {
					t.Fatalf("readyz body: %v\n%s", err, body)
				}
				return code, r
			}
			code, r := ready()
			if code != http.StatusServiceUnavailable || r.Ready || !r.Database.Reachable || !r.Database.Migrated || len(r.Sources) != 2 {
				t.Fatalf("before the sources run: %d %+v", code, r)
			}
			f.m.SourceState("inbox", engine.SourceRunning, nil)
			f.m.SourceState("support", engine.SourceRunning, nil)
			code, r = ready()
			if code != http.StatusServiceUnavailable || len(r.Reasons) != 1 || !strings.Contains(r.Reasons[0], "售后: connect: connection refused") {
				t.Fatalf("a mailbox down: %d %v", code, r.Reasons)
			}
			mailboxes[1] = admin.Part{Name: "售后", Connected: true, Idle: true, LastSuccess: time.Now(), Lag: 3 * time.Second}
			if code, r = ready(); code != http.StatusOK || !r.Ready || r.Sources[1].Lag != 3*time.Second {
				t.Fatalf("all running: %d %+v", code, r)
			}
			f.m.SourceState("inbox", engine.SourceFailed, errors.New("folder /srv/in: permission denied"))
			if code, r = ready(); code != http.StatusServiceUnavailable || !strings.Contains(strings.Join(r.Reasons, "\n"), "source inbox: failed: folder /srv/in: permission denied") {
				t.Fatalf("a failed source: %d %v", code, r.Reasons)
			}
			f.m.SourceState("inbox", engine.SourceRunning, nil)
			f.m.SetLease("support", false) // another replica reads the mailboxes
			mailboxes[0].Connected = false
			if code, r = ready(); code != http.StatusOK || r.Sources[1].State != admin.StateStandby {
				t.Fatalf("standby: %d %+v", code, r)
			}
			f.st.Close()
			if code, r = ready(); code != http.StatusServiceUnavailable || r.Database.Reachable || !strings.HasPrefix(r.Reasons[0], "database unreachable") {
				t.Fatalf("database closed: %d %+v", code, r)
			}
			if code, body, _ := f.get(t, "/healthz"); code != http.StatusOK || body != "ok\n" {
				t.Errorf("healthz with the database closed: %d %q", code, body)
			}
		})
	}
	t.Run("not migrated", func(t *testing.T) {
		ctx := context.Background()
		st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "d.db"), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		srv, err := admin.New(admin.Config{}, admin.Deps{Store: st, Metrics: admin.NewMetrics("x")})
		if err != nil {
			t.Fatal(err)
		}
		r := srv.Readiness(ctx)
		if r.Ready || !r.Database.Reachable || r.Database.Migrated || !strings.Contains(strings.Join(r.Reasons, " "), "not migrated") {
			t.Errorf("an unmigrated database: %+v", r)
		}
	})
}

// pprof is served only when [admin] pprof asks for it.
func TestPprofOnlyWhenAsked(t *testing.T) {
	url := "sqlite:" + filepath.Join(t.TempDir(), "d.db")
	off := newFixture(t, url, admin.Config{})
	if code, _, _ := off.get(t, "/debug/pprof/"); code != http.StatusNotFound {
		t.Errorf("pprof off: %d", code)
	}
	on := newFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "d.db"), admin.Config{Pprof: true})
	if code, body, _ := on.get(t, "/debug/pprof/"); code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Errorf("pprof on: %d", code)
	}
}

// Only report workbooks in the report folder are served, whatever the
// name asks for.
func TestReportFilesStayInTheirFolder(t *testing.T) {
	f := newFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "d.db"), admin.Config{})
	outside := filepath.Join(t.TempDir(), "secret.xlsx")
	os.WriteFile(outside, []byte("not yours"), 0o644)
	os.Symlink(outside, filepath.Join(f.reportDir, "link.xlsx"))
	os.WriteFile(filepath.Join(f.reportDir, "notes.txt"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(f.reportDir, "需求日报-2026-11-28.xlsx"), []byte("PK workbook"), 0o644)
	for _, p := range []string{"/reports/link.xlsx", "/reports/notes.txt", "/reports/..%2Fsecret.xlsx", "/reports/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
		"/reports/.hidden.xlsx", "/reports/missing.xlsx"} {
		if code, body, _ := f.get(t, p); code != http.StatusNotFound {
			t.Errorf("%s: %d %q", p, code, body)
		}
	}
	code, body, ct := f.get(t, "/reports/"+"%E9%9C%80%E6%B1%82%E6%97%A5%E6%8A%A5-2026-11-28.xlsx")
	if code != http.StatusOK || body != "PK workbook" || !strings.Contains(ct, "spreadsheetml") {
		t.Errorf("a report: %d %q %s", code, body, ct)
	}
}

// A file set aside and a quarantined raw item, as the status page lists
// them.
func seedQuarantine(t *testing.T, f *fixture) {
	t.Helper()
	ctx := context.Background()
	it := jsonItem("crm", "q1", "", "")
	it.Problem = "映射找不到标题：请检查 [webhook.source.mapping] title"
	if _, err := f.eng.Emit(ctx, ingest.Batch{Items: []ingest.Item{it}}); err != nil {
		t.Fatal(err)
	}
	if err := f.st.RecordFailedFile(ctx, store.FailedFile{Channel: "questionnaire", Source: "inbox", Name: "坏表.xlsx", SHA256: "abc",
		Size: 10, Reason: "找不到表头：请确认第一行是列名", OriginalPath: "/srv/in/坏表.xlsx", MovedTo: "/srv/in/failed/坏表.xlsx",
		FailedAt: time.Now()}, false); err != nil {
		t.Fatal(err)
	}
}

func TestStatusPageFailsSoft(t *testing.T) {
	f := newFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "d.db"), admin.Config{})
	f.m.AddSource(admin.Source{Name: "inbox", Channel: "questionnaire"})
	f.st.Close()
	code, body, _ := f.get(t, "/")
	if code != http.StatusOK || !strings.Contains(body, "无法连接") || !strings.Contains(body, "inbox") {
		t.Errorf("status page with the database closed: %d\n%s", code, body)
	}
	if code, _, _ := f.get(t, "/nothing"); code != http.StatusNotFound {
		t.Errorf("unknown path: %d", code)
	}
}

func ExampleMetrics() {
	m := admin.NewMetrics("v1.2.3")
	m.AddSource(admin.Source{Name: "inbox", Channel: "questionnaire"})
	m.SourceState("inbox", engine.SourceRunning, nil)
	fmt.Println(m.Sources()[0].State)
	// Output: running
}
