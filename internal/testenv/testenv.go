// Package testenv wires a real engine over a real database for tests of
// the channels and the command line: SQLite in a temp dir, or PostgreSQL in
// a schema of its own (internal/testdb).
package testenv

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/demandd/demandd/classify"
	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/engine"
	"github.com/demandd/demandd/ingest"
	"github.com/demandd/demandd/internal/i18n"
	"github.com/demandd/demandd/internal/testdb"
	"github.com/demandd/demandd/normalize"
	"github.com/demandd/demandd/store"
)

// Shanghai is the default time zone.
var Shanghai = mustZone("Asia/Shanghai")

func mustZone(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// Backend names a database for table-driven tests.
type Backend struct {
	Name string
	URL  func(t testing.TB) string
}

// Backends are SQLite and PostgreSQL; each call of URL gives a fresh one.
var Backends = []Backend{
	{"sqlite", func(t testing.TB) string { return "sqlite:" + filepath.Join(t.TempDir(), "demandd.db") }},
	{"postgres", testdb.Postgres},
}

// Env is an engine with its store.
type Env struct {
	Store  *store.Store
	Engine *engine.Engine
}

// New opens and migrates url and builds the engine with default settings
// and the given questionnaire aliases.
func New(t testing.TB, url string, aliases map[string][]string) *Env {
	t.Helper()
	return NewWith(t, url, aliases, nil)
}

// NewWith is New with engine options changed by set (leases, an owner).
func NewWith(t testing.TB, url string, aliases map[string][]string, set func(*engine.Options)) *Env {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	cal, err := classify.NewCalendar(Shanghai, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	rules, _, err := classify.Load(classify.Sources{})
	if err != nil {
		t.Fatal(err)
	}
	cls, err := classify.NewEngine(classify.Options{DefaultType: demand.TypeInquiry, Calendar: cal,
		SLA: classify.SLA{P1: 24 * time.Hour, P2Workdays: 7, P3Days: 14, P4Days: 30}}, rules, nil)
	if err != nil {
		t.Fatal(err)
	}
	norm := normalize.New(normalize.Options{Aliases: aliases, Location: Shanghai})
	opts := engine.Options{CodePrefix: "DEM", Location: Shanghai, RestartDelay: 100 * time.Millisecond, Locale: i18n.EN}
	if set != nil {
		set(&opts)
	}
	eng := engine.New(st, norm, cls, opts)
	return &Env{Store: st, Engine: eng}
}

// Run runs sources on the engine until the test ends; the cleanup stops
// them and waits for in-flight commits.
func (e *Env) Run(t testing.TB, sources ...ingest.Source) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.Engine.Run(ctx, sources)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// Records returns every stored record.
func (e *Env) Records(t testing.TB) []*demand.Record {
	t.Helper()
	var recs []*demand.Record
	if err := e.Store.EachDemand(context.Background(), demand.Filter{}, func(r *demand.Record) error {
		recs = append(recs, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return recs
}

// Counts returns the register's totals.
func (e *Env) Counts(t testing.TB) store.Counts {
	t.Helper()
	c, err := e.Store.Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Eventually polls cond until it holds or the wait ends; it reports what
// was last seen through msg.
func Eventually(t testing.TB, wait time.Duration, cond func() bool, msg func() string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %s: %s", wait, msg())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
