package report_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/demandd/demandd/internal/i18n"
	"github.com/demandd/demandd/internal/testdb"
	"github.com/demandd/demandd/internal/testenv"
	"github.com/demandd/demandd/report"
	"github.com/demandd/demandd/store"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return l
}()

// fakeClock moves only when the test says so.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
}

type waiter struct {
	at time.Time
	c  chan time.Time
}

func newClock(t time.Time) *fakeClock { return &fakeClock{now: t} }

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) After(d time.Duration) <-chan time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := make(chan time.Time, 1)
	if d <= 0 {
		c <- f.now
		return c
	}
	f.waiters = append(f.waiters, waiter{f.now.Add(d), c})
	return c
}

// Advance moves the clock on and fires every timer due by then.
func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	kept := f.waiters[:0]
	for _, w := range f.waiters {
		if w.at.After(f.now) {
			kept = append(kept, w)
			continue
		}
		w.c <- f.now
	}
	f.waiters = kept
}

// waitIdle waits until n goroutines wait on the clock: the schedulers
// have done all they can at this time.
func (f *fakeClock) waitIdle(t *testing.T, n int) {
	t.Helper()
	testenv.Eventually(t, 20*time.Second, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.waiters) >= n
	}, func() string { return fmt.Sprintf("the schedulers did not come to rest (want %d waiting)", n) })
}

func openStore(t *testing.T, url string) *store.Store {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

var backends = []struct {
	name string
	url  func(t *testing.T) string
}{
	{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "d.db") }},
	{"postgres", func(t *testing.T) string { return testdb.Postgres(t) }},
}

// markDone records day's report as written, as an earlier run would have.
func markDone(t *testing.T, s *store.Store, day string) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	if _, ok, err := s.ClaimReport(ctx, day, "earlier", now, time.Hour); err != nil || !ok {
		t.Fatalf("seed %s: %v %v", day, ok, err)
	}
	if err := s.MarkReportWritten(ctx, day, "earlier", "x.xlsx", false, now); err != nil {
		t.Fatal(err)
	}
}

// renders records every render call; fail makes the next n fail.
type renders struct {
	mu   sync.Mutex
	days []string
	fail int
	body func(path string) error
	// before, when set, runs first: a test holds a render there.
	before func(day string)
}

func (r *renders) render(_ context.Context, day time.Time, path string) error {
	if r.before != nil {
		r.before(day.Format(time.DateOnly))
	}
	r.mu.Lock()
	r.days = append(r.days, day.Format(time.DateOnly))
	fail := r.fail > 0
	if fail {
		r.fail--
	}
	r.mu.Unlock()
	if fail {
		return os.ErrPermission
	}
	if r.body != nil {
		return r.body(path)
	}
	return os.WriteFile(path, []byte("workbook"), 0o600)
}

func (r *renders) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := append([]string(nil), r.days...)
	return out
}

func (r *renders) sorted() []string {
	out := r.got()
	sort.Strings(out)
	return out
}

// start runs a scheduler until the test ends.
func start(t *testing.T, cfg report.Config, d report.Deps) {
	t.Helper()
	if d.Logger == nil {
		d.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if d.Location == nil {
		d.Location = shanghai
	}
	if d.Locale == "" {
		d.Locale = i18n.ZH
	}
	s, err := report.New(cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func runOf(t *testing.T, s *store.Store, day string) store.ReportRun {
	t.Helper()
	r, ok, err := s.ReportRun(context.Background(), day)
	if err != nil || !ok {
		t.Fatalf("run %s: %v %v", day, ok, err)
	}
	return r
}

// claims wraps a scheduler's store and records which holders tried to claim
// each day, so that a test can hold a render until every scheduler has
// tried for its day: two schedulers then provably race for every day.
type claims struct {
	report.Store
	mu    *sync.Mutex
	tried map[string]map[string]bool // day → holders
}

func newClaims() (mu *sync.Mutex, tried map[string]map[string]bool) {
	return &sync.Mutex{}, map[string]map[string]bool{}
}

func (c claims) ClaimReport(ctx context.Context, day, holder string, now time.Time, lease time.Duration) (store.ReportRun, bool, error) {
	c.mu.Lock()
	if c.tried[day] == nil {
		c.tried[day] = map[string]bool{}
	}
	c.tried[day][holder] = true
	c.mu.Unlock()
	return c.Store.ClaimReport(ctx, day, holder, now, lease)
}

// triedBy waits until n holders have tried to claim day.
func triedBy(t *testing.T, mu *sync.Mutex, tried map[string]map[string]bool, day string, n int) {
	testenv.Eventually(t, 20*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(tried[day]) >= n
	}, func() string { return fmt.Sprintf("%d schedulers did not all try to claim %s", n, day) })
}
