package report_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/demandd/demandd/internal/i18n"
	"github.com/demandd/demandd/report"
	"github.com/demandd/demandd/store"
)

func config(dir string) report.Config {
	return report.Config{Dir: dir}
}

func TestOnTime(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			st := openStore(t, b.url(t))
			markDone(t, st, "2026-11-26")
			dir := t.TempDir()
			clock := newClock(time.Date(2026, 11, 28, 7, 59, 0, 0, shanghai))
			r := &renders{}
			start(t, config(dir), report.Deps{Store: st, Render: r.render, Clock: clock, FileMode: 0o644})
			clock.waitIdle(t, 1)
			if got := r.got(); len(got) != 0 {
				t.Fatalf("rendered before daily_at: %v", got)
			}
			clock.Advance(time.Minute)
			clock.waitIdle(t, 1)
			if got := r.got(); !slices.Equal(got, []string{"2026-11-27"}) {
				t.Fatalf("at 08:00 rendered %v, want the previous day", got)
			}
			path := filepath.Join(dir, "需求日报-2026-11-27.xlsx")
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o644 {
				t.Errorf("mode %v, want 0644", fi.Mode().Perm())
			}
			if run := runOf(t, st, "2026-11-27"); run.Status != store.ReportWritten || run.File != path || !run.Done() {
				t.Errorf("run %+v", run)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				t.Errorf("temporary files left: %v", entries)
			}
			// the next day at 08:00 again, not before
			clock.Advance(24*time.Hour - time.Second)
			clock.waitIdle(t, 1)
			if n := len(r.got()); n != 1 {
				t.Fatalf("rendered %d before the next daily_at", n)
			}
			clock.Advance(time.Second)
			clock.waitIdle(t, 1)
			if got := r.got(); !slices.Equal(got, []string{"2026-11-27", "2026-11-28"}) {
				t.Fatalf("rendered %v", got)
			}
		})
	}
}

func TestCatchUpAfterTwoDaysDown(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			st := openStore(t, b.url(t))
			markDone(t, st, "2026-11-25")
			clock := newClock(time.Date(2026, 11, 28, 9, 30, 0, 0, shanghai))
			r := &renders{}
			start(t, config(t.TempDir()), report.Deps{Store: st, Render: r.render, Clock: clock, Locale: i18n.EN})
			clock.waitIdle(t, 1)
			if got := r.got(); !slices.Equal(got, []string{"2026-11-26", "2026-11-27"}) {
				t.Fatalf("caught up %v, want 26 and 27 in order", got)
			}
			for _, d := range []string{"2026-11-26", "2026-11-27"} {
				if run := runOf(t, st, d); filepath.Base(run.File) != "daily-report-"+d+".xlsx" {
					t.Errorf("%s: file %q", d, run.File)
				}
			}
		})
	}
}

func TestNothingForAnEmptyRegister(t *testing.T) {
	// no report and no demand: nothing to catch up, no empty reports
	st := openStore(t, backends[0].url(t))
	clock := newClock(time.Date(2026, 11, 28, 9, 30, 0, 0, shanghai))
	r := &renders{}
	start(t, report.Config{Dir: t.TempDir(), KeepDays: 3}, report.Deps{Store: st, Render: r.render, Clock: clock})
	clock.waitIdle(t, 1)
	if got := r.got(); len(got) != 0 {
		t.Fatalf("rendered %v for an empty register", got)
	}
}

func TestNotTwiceWithTwoSchedulers(t *testing.T) {
	// two processes: one schema, a pool each
	url := backends[1].url(t)
	st1, st2 := openStore(t, url), openStore(t, url)
	markDone(t, st1, "2026-11-25")
	dir := t.TempDir()
	clock := newClock(time.Date(2026, 11, 28, 9, 0, 0, 0, shanghai))
	// Each render waits until both schedulers have tried to claim its day:
	// every day is raced for, and one of them wins it.
	mu, tried := newClaims()
	r := &renders{before: func(day string) { triedBy(t, mu, tried, day, 2) }}
	start(t, config(dir), report.Deps{Store: claims{st1, mu, tried}, Render: r.render, Clock: clock, Holder: "a"})
	start(t, config(dir), report.Deps{Store: claims{st2, mu, tried}, Render: r.render, Clock: clock, Holder: "b"})
	clock.waitIdle(t, 2)
	if got := r.sorted(); !slices.Equal(got, []string{"2026-11-26", "2026-11-27"}) {
		t.Fatalf("rendered %v, want each missing day once", got)
	}
	for range 3 {
		clock.Advance(24 * time.Hour)
		clock.waitIdle(t, 2)
	}
	want := []string{"2026-11-26", "2026-11-27", "2026-11-28", "2026-11-29", "2026-11-30"}
	if got := r.sorted(); !slices.Equal(got, want) {
		t.Fatalf("rendered %v, want %v", got, want)
	}
}

func TestFailedRunRetried(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			st := openStore(t, b.url(t))
			markDone(t, st, "2026-11-26")
			clock := newClock(time.Date(2026, 11, 28, 7, 59, 0, 0, shanghai))
			r := &renders{fail: 1}
			dir := t.TempDir()
			start(t, config(dir), report.Deps{Store: st, Render: r.render, Clock: clock})
			clock.waitIdle(t, 1)
			clock.Advance(time.Minute)
			clock.waitIdle(t, 1)
			if run := runOf(t, st, "2026-11-27"); run.Status != store.ReportFailed || run.Error == "" {
				t.Fatalf("after a failed render: %+v", run)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Fatalf("a failed render left %v", entries)
			}
			clock.Advance(time.Minute) // the first backoff
			clock.waitIdle(t, 1)
			if got := r.got(); !slices.Equal(got, []string{"2026-11-27", "2026-11-27"}) {
				t.Fatalf("rendered %v, want a retry", got)
			}
			if run := runOf(t, st, "2026-11-27"); run.Status != store.ReportWritten || run.Attempts != 2 {
				t.Fatalf("after the retry: %+v", run)
			}
		})
	}
}

func TestPrune(t *testing.T) {
	st := openStore(t, backends[0].url(t))
	markDone(t, st, "2026-11-26")
	dir := t.TempDir()
	for _, name := range []string{"需求日报-2026-08-01.xlsx", "daily-report-2026-11-20.xlsx", "需求日报-2026-11-25.xlsx", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	clock := newClock(time.Date(2026, 11, 28, 7, 59, 0, 0, shanghai))
	r := &renders{}
	start(t, report.Config{Dir: dir, KeepDays: 5}, report.Deps{Store: st, Render: r.render, Clock: clock})
	clock.waitIdle(t, 1)
	clock.Advance(time.Minute)
	clock.waitIdle(t, 1)
	var names []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{"notes.txt", "需求日报-2026-11-25.xlsx", "需求日报-2026-11-27.xlsx"}
	if !slices.Equal(names, want) {
		t.Fatalf("after pruning: %v, want %v", names, want)
	}
}

// TestDeadHolderTakenOver: a day claimed by a process that died is
// written once its lease runs out, not a day later.
func TestDeadHolderTakenOver(t *testing.T) {
	st := openStore(t, backends[1].url(t))
	markDone(t, st, "2026-11-26")
	at := time.Date(2026, 11, 28, 8, 0, 0, 0, shanghai)
	if _, ok, err := st.ClaimReport(context.Background(), "2026-11-27", "dead", at, report.Lease); err != nil || !ok {
		t.Fatal(ok, err)
	}
	clock := newClock(at.Add(time.Minute))
	r := &renders{}
	start(t, config(t.TempDir()), report.Deps{Store: st, Render: r.render, Clock: clock, Holder: "alive"})
	clock.waitIdle(t, 1)
	if got := r.got(); len(got) != 0 {
		t.Fatalf("rendered %v while another process holds the day", got)
	}
	clock.Advance(report.Lease)
	clock.waitIdle(t, 1)
	if got := r.got(); !slices.Equal(got, []string{"2026-11-27"}) {
		t.Fatalf("rendered %v after the lease ran out", got)
	}
	if run := runOf(t, st, "2026-11-27"); run.ClaimedBy != "alive" || run.Status != store.ReportWritten {
		t.Fatalf("run %+v", run)
	}
}
