package admin

import (
	"runtime"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/demandd/demandd/engine"
	"github.com/demandd/demandd/ingest"
)

// Outcomes of demandd_items_total: the kinds of ingest.Outcome, and
// failed for the items of a batch whose commit failed (they come again).
const OutcomeFailed = "failed"

// Metrics is demandd's Prometheus registry (its own, not the global one)
// and the table of sources behind /readyz and the status page. It is the
// engine's Observer; serve also feeds it webhook requests, watchdog pings
// and lease changes. Safe for concurrent use.
type Metrics struct {
	reg     *prometheus.Registry
	sources *sources
	now     func() time.Time

	items       *prometheus.CounterVec
	filesFailed *prometheus.CounterVec
	commitTime  *prometheus.HistogramVec
	commitFails *prometheus.CounterVec
	sourceFails *prometheus.CounterVec
	webhook     *prometheus.HistogramVec
	watchdog    *prometheus.CounterVec
}

var _ engine.Observer = (*Metrics)(nil)

// NewMetrics makes the registry with the Go runtime and process
// collectors and demandd_build_info for version.
func NewMetrics(version string) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), now: time.Now}
	m.sources = newSources(func() time.Time { return m.now() })
	m.items = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "demandd_items_total",
		Help: "Items committed by channel, source and outcome (new, linked, follow_up, duplicate, quarantined, ignored) or failed (the batch's commit failed; it comes again)."},
		[]string{"channel", "source", "outcome"})
	m.filesFailed = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "demandd_files_failed_total",
		Help: "Whole files set aside in failed/ by channel and source."}, []string{"channel", "source"})
	m.commitTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "demandd_batch_commit_duration_seconds",
		Help:    "Time of each committed batch's transaction, by channel.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, []string{"channel"})
	m.commitFails = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "demandd_batch_commit_failures_total",
		Help: "Batches whose commit failed (the database was unavailable), by channel."}, []string{"channel"})
	m.sourceFails = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "demandd_source_failures_total",
		Help: "Times a source's run failed and was restarted."}, []string{"source"})
	m.webhook = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "demandd_webhook_request_duration_seconds",
		Help:    "Time to answer a request on the webhook listener, by endpoint (hook, api, other), webhook source and HTTP status code.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}, []string{"endpoint", "source", "code"})
	m.watchdog = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "demandd_watchdog_pings_total",
		Help: "systemd watchdog ticks: sent (the database answered) or withheld (it did not)."}, []string{"result"})
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "demandd_build_info",
		Help: "Always 1; the labels name the build."}, []string{"version", "goversion"})
	build.WithLabelValues(version, runtime.Version()).Set(1)
	m.reg.MustRegister(m.items, m.filesFailed, m.commitTime, m.commitFails, m.sourceFails, m.webhook, m.watchdog, build,
		sourceCollector{m.sources},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is the registry /metrics serves.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// AddSource registers a configured source, so that it is listed (as
// starting) before the engine runs it.
func (m *Metrics) AddSource(s Source) { m.sources.add(s) }

// Sources is every source's status now.
func (m *Metrics) Sources() []SourceStatus { return m.sources.snapshot() }

// SetLease records whether this process holds source's lease: wire it to
// the engine's lease callback. A source whose lease another replica holds
// is shown as standby, and counts as ready.
func (m *Metrics) SetLease(source string, held bool) { m.sources.setLease(source, held) }

// WatchdogPing counts a watchdog tick: sent when the database answered.
func (m *Metrics) WatchdogPing(sent bool) {
	if sent {
		m.watchdog.WithLabelValues("sent").Inc()
	} else {
		m.watchdog.WithLabelValues("withheld").Inc()
	}
}

// WebhookRequest observes one answered request of the webhook listener
// (webhook.Options.Observe).
func (m *Metrics) WebhookRequest(endpoint, source string, status int, d time.Duration) {
	m.webhook.WithLabelValues(endpoint, source, strconv.Itoa(status)).Observe(d.Seconds())
}

// Committed implements engine.Observer.
func (m *Metrics) Committed(c engine.CommitInfo) {
	if len(c.Items) == 0 {
		return
	}
	channel := string(c.Items[0].Channel)
	type key struct{ channel, source, outcome string }
	counts := map[key]int{}
	seen := map[string]bool{}
	for i, it := range c.Items {
		outcome := OutcomeFailed
		if c.Err == nil && i < len(c.Outcomes) {
			outcome = c.Outcomes[i].Kind
		}
		counts[key{string(it.Channel), it.Source, outcome}]++
		seen[it.Source] = true
	}
	for k, n := range counts {
		m.items.WithLabelValues(k.channel, k.source, k.outcome).Add(float64(n))
	}
	if c.Err != nil {
		m.commitFails.WithLabelValues(channel).Inc()
		return
	}
	m.commitTime.WithLabelValues(channel).Observe(c.Duration.Seconds())
	m.sources.committed(seen, m.now())
}

// SourceState implements engine.Observer.
func (m *Metrics) SourceState(source string, state engine.SourceState, err error) {
	switch state {
	case engine.SourceRunning:
		m.sources.setState(source, StateRunning, nil)
	case engine.SourceFailed:
		m.sourceFails.WithLabelValues(source).Inc()
		m.sources.setState(source, StateFailed, err)
	case engine.SourceStopped:
		m.sources.setState(source, StateStopped, nil)
	}
}

// FileFailed implements engine.Observer.
func (m *Metrics) FileFailed(f ingest.FailedFile) {
	m.filesFailed.WithLabelValues(string(f.Channel), f.Source).Inc()
}

// sourceCollector turns the source table into gauges at each scrape, so
// that they are read from one snapshot.
type sourceCollector struct{ t *sources }

var (
	descState = prometheus.NewDesc("demandd_source_state",
		"1 for the state the source is in (starting, running, standby, failed, stopped), 0 for the others.",
		[]string{"source", "channel", "state"}, nil)
	descLastSuccess = prometheus.NewDesc("demandd_source_last_success_timestamp_seconds",
		"Last time the source was seen working: a mailbox's last completed sync, else its last commit (or its start).",
		[]string{"source", "channel"}, nil)
	descLag = prometheus.NewDesc("demandd_source_lag_seconds",
		"How long the newest committed message of a mailbox waited between its arrival and its commit.",
		[]string{"source", "part"}, nil)
	descIMAPConnected = prometheus.NewDesc("demandd_imap_connected",
		"1 while the mailbox's IMAP connection is open and selected.", []string{"source", "mailbox"}, nil)
	descIMAPIdle = prometheus.NewDesc("demandd_imap_idle",
		"1 while the mailbox waits for mail in IMAP IDLE (0: polling, or not connected).", []string{"source", "mailbox"}, nil)
	descLease = prometheus.NewDesc("demandd_source_lease_held",
		"1 while this process holds the source's lease (only sources with a lease).", []string{"source"}, nil)
)

func (sourceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descState, descLastSuccess, descLag, descIMAPConnected, descIMAPIdle, descLease} {
		ch <- d
	}
}

func (c sourceCollector) Collect(ch chan<- prometheus.Metric) {
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	for _, s := range c.t.snapshot() {
		for _, st := range allStates {
			ch <- prometheus.MustNewConstMetric(descState, prometheus.GaugeValue, b(s.State == st), s.Name, s.Channel, st)
		}
		if !s.LastSuccess.IsZero() {
			ch <- prometheus.MustNewConstMetric(descLastSuccess, prometheus.GaugeValue, float64(s.LastSuccess.UnixMilli())/1000, s.Name, s.Channel)
		}
		if s.Lease != nil {
			ch <- prometheus.MustNewConstMetric(descLease, prometheus.GaugeValue, b(*s.Lease), s.Name)
		}
		for _, p := range s.Parts {
			ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, p.Lag.Seconds(), s.Name, p.Name)
			if s.Channel == "email" {
				ch <- prometheus.MustNewConstMetric(descIMAPConnected, prometheus.GaugeValue, b(p.Connected), s.Name, p.Name)
				ch <- prometheus.MustNewConstMetric(descIMAPIdle, prometheus.GaugeValue, b(p.Idle), s.Name, p.Name)
			}
		}
	}
}
