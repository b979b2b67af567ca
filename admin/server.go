package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/store"
)

// Store is what the admin listener reads of the register (*store.Store).
type Store interface {
	Ping(ctx context.Context) error
	SchemaVersion(ctx context.Context) (db, binary int, err error)
	ReportSummary(ctx context.Context, q demand.ReportQuery) (*demand.DaySummary, error)
	RawItems(ctx context.Context, status store.RawStatus, limit int) ([]store.RawItem, error)
	FailedFiles(ctx context.Context, status string) ([]store.FailedFile, error)
	ReportRuns(ctx context.Context, from string) ([]store.ReportRun, error)
}

var _ Store = (*store.Store)(nil)

// Deps are what the listener works with besides its block.
type Deps struct {
	Store   Store
	Metrics *Metrics
	// Rules reports the last load of the rules: when, and its error (nil:
	// the rules in force are the files on disk); nil when unknown.
	Rules func() (time.Time, error)
	// Reports says that [report] is on; ReportDir is where the workbooks
	// are, served under /reports/ for the status page's links.
	Reports   bool
	ReportDir string
	Location  *time.Location
	Logger    *slog.Logger
	Version   string
	// Timeout bounds each database read of a request (default 5s).
	Timeout time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Server is the admin listener.
type Server struct {
	cfg     Config
	d       Deps
	started time.Time
	handler http.Handler

	mu sync.Mutex
	ln net.Listener
}

// New builds the listener and registers its database-backed metrics
// (database up, report and mail status, rules reload) with d.Metrics; call
// it once per Metrics.
func New(cfg Config, d Deps) (*Server, error) {
	if d.Store == nil || d.Metrics == nil {
		return nil, errors.New("admin: a store and metrics are required")
	}
	if d.Location == nil {
		d.Location = time.Local
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Timeout == 0 {
		d.Timeout = 5 * time.Second
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	s := &Server{cfg: cfg, d: d, started: d.Now()}
	if err := d.Metrics.reg.Register(dbCollector{s}); err != nil {
		return nil, fmt.Errorf("admin: register metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.Metrics.reg, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(d.Logger.Handler(), slog.LevelWarn), Timeout: 10 * time.Second}))
	mux.HandleFunc("GET /{$}", s.status)
	mux.HandleFunc("GET /reports/{name}", s.reportFile)
	if cfg.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	s.handler = mux
	return s, nil
}

// Handler serves every path of the listener.
func (s *Server) Handler() http.Handler { return s.handler }

// Listen binds the address now, so that a port in use stops serve at
// start with a clear message; Run serves on it.
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("admin: listen on %s: %w", s.cfg.Listen, err)
	}
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	return nil
}

// Addr is the bound address, after Listen.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Run serves until ctx ends, then stops within a few seconds. It binds
// the address itself when Listen was not called.
func (s *Server) Run(ctx context.Context) error {
	if s.Addr() == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	s.mu.Lock()
	ln := s.ln
	s.mu.Unlock()
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: time.Minute,
		IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(s.d.Logger.Handler(), slog.LevelWarn)}
	if s.cfg.Pprof {
		srv.WriteTimeout = 0 // a CPU profile or trace streams for as long as asked
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.d.Logger.Info("admin listener serving", "addr", ln.Addr().String(), "pprof", s.cfg.Pprof)
	select {
	case err := <-errc:
		return fmt.Errorf("admin: serve: %w", err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil {
		_ = srv.Close() // a long pprof profile does not hold up the exit
	}
	return nil
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok\n"))
}

// Readiness is the body of /readyz.
type Readiness struct {
	Ready bool `json:"ready"`
	// Reasons say what keeps the process from being ready.
	Reasons  []string       `json:"reasons,omitempty"`
	Database DatabaseStatus `json:"database"`
	Sources  []SourceStatus `json:"sources"`
}

// DatabaseStatus is whether the register answers and is migrated.
type DatabaseStatus struct {
	Reachable bool   `json:"reachable"`
	Migrated  bool   `json:"migrated"`
	Schema    int    `json:"schema_version"`
	Binary    int    `json:"binary_version"`
	Error     string `json:"error,omitempty"`
}

// database checks the register: it answers, and its schema is the one
// this binary knows.
func (s *Server) database(ctx context.Context) DatabaseStatus {
	ctx, cancel := context.WithTimeout(ctx, s.d.Timeout)
	defer cancel()
	var st DatabaseStatus
	if err := s.d.Store.Ping(ctx); err != nil {
		st.Error = err.Error()
		return st
	}
	st.Reachable = true
	db, bin, err := s.d.Store.SchemaVersion(ctx)
	if err != nil {
		st.Error = err.Error()
		return st
	}
	st.Schema, st.Binary = db, bin
	st.Migrated = db == bin
	if !st.Migrated {
		st.Error = fmt.Sprintf("schema at version %d, this binary expects %d", db, bin)
	}
	return st
}

// Readiness checks the database and every source.
func (s *Server) Readiness(ctx context.Context) Readiness {
	r := Readiness{Database: s.database(ctx), Sources: s.d.Metrics.Sources()}
	if !r.Database.Reachable {
		r.Reasons = append(r.Reasons, "database unreachable: "+r.Database.Error)
	} else if !r.Database.Migrated {
		r.Reasons = append(r.Reasons, "database not migrated: "+r.Database.Error)
	}
	for _, src := range r.Sources {
		if !src.Ready {
			r.Reasons = append(r.Reasons, "source "+src.Name+": "+src.Reason)
		}
	}
	r.Ready = len(r.Reasons) == 0
	return r
}

// readyz answers 200 when the database answers and is migrated and every
// source runs (or is served by another replica), 503 otherwise; the JSON
// body says why either way.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	rd := s.Readiness(r.Context())
	code := http.StatusOK
	if !rd.Ready {
		code = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	_ = enc.Encode(rd)
}

// reportFile serves one daily report workbook from the report folder,
// for the status page's links. Only a plain name is taken, and os.Root
// keeps a link inside the folder from leading out of it.
func (s *Server) reportFile(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !s.d.Reports || s.d.ReportDir == "" || name != filepath.Base(name) || strings.HasPrefix(name, ".") ||
		!strings.EqualFold(filepath.Ext(name), ".xlsx") {
		http.NotFound(w, r)
		return
	}
	root, err := os.OpenRoot(s.d.ReportDir)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer root.Close()
	f, err := root.Open(name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	http.ServeContent(w, r, name, fi.ModTime(), f)
}

// dbCollector reads, at each scrape, what lives in the database or
// elsewhere outside the metrics: whether the database answers, the newest
// daily report's status and mail, and the last rules reload.
type dbCollector struct{ s *Server }

var (
	descDBUp         = prometheus.NewDesc("demandd_database_up", "1 when the database answered a ping during this scrape.", nil, nil)
	descReportStatus = prometheus.NewDesc("demandd_report_status",
		"1 for the status of the newest daily report (claimed, written, delivered, failed), 0 for the others.", []string{"status"}, nil)
	descReportMail = prometheus.NewDesc("demandd_report_mail_status",
		"1 for the mail status of the newest daily report (none, pending, delivered, failed), 0 for the others.", []string{"status"}, nil)
	descReportWritten = prometheus.NewDesc("demandd_report_last_written_timestamp_seconds",
		"When the newest written daily report was written.", nil, nil)
	descReportDay = prometheus.NewDesc("demandd_report_last_day_timestamp_seconds",
		"Midnight (configured zone) of the day the newest written daily report covers.", nil, nil)
	descRulesOK = prometheus.NewDesc("demandd_rules_reload_success",
		"1 when the last load of the rules and customer directory succeeded; 0 when the files on disk were refused and older rules stay in force.", nil, nil)
	descRulesAt = prometheus.NewDesc("demandd_rules_reload_timestamp_seconds", "When the rules were last loaded or refused.", nil, nil)
)

func (c dbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descDBUp, descReportStatus, descReportMail, descReportWritten, descReportDay, descRulesOK, descRulesAt} {
		ch <- d
	}
}

func (c dbCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	ctx, cancel := context.WithTimeout(context.Background(), min(s.d.Timeout, 3*time.Second))
	defer cancel()
	up := 0.0
	if s.d.Store.Ping(ctx) == nil {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(descDBUp, prometheus.GaugeValue, up)
	if s.d.Rules != nil {
		at, err := s.d.Rules()
		ok := 1.0
		if err != nil {
			ok = 0
		}
		ch <- prometheus.MustNewConstMetric(descRulesOK, prometheus.GaugeValue, ok)
		ch <- prometheus.MustNewConstMetric(descRulesAt, prometheus.GaugeValue, float64(at.UnixMilli())/1000)
	}
	if !s.d.Reports || up == 0 {
		return
	}
	from := s.d.Now().In(s.d.Location).AddDate(0, 0, -reportDays).Format(time.DateOnly)
	runs, err := s.d.Store.ReportRuns(ctx, from)
	if err != nil || len(runs) == 0 {
		return
	}
	newest := runs[len(runs)-1]
	for _, st := range []string{store.ReportClaimed, store.ReportWritten, store.ReportDelivered, store.ReportFailed} {
		ch <- prometheus.MustNewConstMetric(descReportStatus, prometheus.GaugeValue, b2f(newest.Status == st), st)
	}
	for _, st := range []string{store.DeliveryNone, store.DeliveryPending, store.DeliveryDelivered, store.DeliveryFailed} {
		label := st
		if label == "" {
			label = "none"
		}
		ch <- prometheus.MustNewConstMetric(descReportMail, prometheus.GaugeValue, b2f(newest.DeliveryStatus == st), label)
	}
	for i := len(runs) - 1; i >= 0; i-- {
		if r := runs[i]; r.Status == store.ReportWritten || r.Status == store.ReportDelivered {
			ch <- prometheus.MustNewConstMetric(descReportWritten, prometheus.GaugeValue, float64(r.UpdatedAt.UnixMilli())/1000)
			if day, err := time.ParseInLocation(time.DateOnly, r.Day, s.d.Location); err == nil {
				ch <- prometheus.MustNewConstMetric(descReportDay, prometheus.GaugeValue, float64(day.Unix()))
			}
			break
		}
	}
}

// reportDays is how far back the status page and the metrics look for
// daily reports.
const reportDays = 14

func b2f(v bool) float64 {
	if v {
		return 1
	}
	return 0
}
