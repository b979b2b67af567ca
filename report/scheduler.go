package report

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/demandd/demandd/internal/i18n"
	"github.com/demandd/demandd/store"
)

// Scheduling constants; doc.go explains the choices.
const (
	// Lease is how long a claim holds a day. It outlasts a render and the
	// whole delivery backoff (1+2+4+8 minutes), so a live holder never
	// loses its day; a dead one's day is taken over when it runs out.
	Lease = time.Hour
	// MaxCatchUp bounds how many days a start (or a wake) writes: a
	// register down for a quarter would otherwise bury the team in
	// workbooks. keep_days bounds it too when smaller.
	MaxCatchUp = 30
	// DeliveryAttempts is how many times a report is offered to the SMTP
	// server before its delivery is given up and recorded as failed.
	DeliveryAttempts = 5

	firstBackoff = time.Minute
	maxBackoff   = time.Hour
)

// Clock is the time the scheduler sees; tests give a fake one.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Store is what the scheduler needs of the register (*store.Store).
type Store interface {
	ClaimReport(ctx context.Context, day, holder string, now time.Time, lease time.Duration) (store.ReportRun, bool, error)
	MarkReportWritten(ctx context.Context, day, holder, file string, deliver bool, now time.Time) error
	MarkReportFailed(ctx context.Context, day, holder, reason string, now time.Time) error
	MarkReportDelivered(ctx context.Context, day, holder string, now time.Time) error
	MarkReportDeliveryFailed(ctx context.Context, day, holder, reason string, final bool, now time.Time) error
	ReportRuns(ctx context.Context, from string) ([]store.ReportRun, error)
	ReportDeliveryFailures(ctx context.Context, before string) ([]store.ReportRun, error)
	FirstDemandAt(ctx context.Context) (time.Time, bool, error)
}

var _ Store = (*store.Store)(nil)

// Sender mails a written report (*Mailer).
type Sender interface {
	Send(ctx context.Context, day time.Time, path string, sum Summary) error
}

// Summary is what a report's mail says in its body.
type Summary struct {
	New, Open, Overdue int
	MostUrgent         []Urgent // the most urgent open demands; the mail shows three
	// NoCounts says the numbers are unknown (no Summarize, or it failed):
	// the mail leaves them out rather than announce "0 new".
	NoCounts bool
	// DeliveryFailures are the days, YYYY-MM-DD, of earlier reports whose
	// mail was given up since the last one delivered; the scheduler fills
	// them in.
	DeliveryFailures []string
}

// Urgent is one open demand named in the mail.
type Urgent struct {
	Code, Title string
	Due         time.Time // zero when it has no due date
}

// Deps are what a Scheduler works with.
type Deps struct {
	Store Store
	// Render writes day's workbook to path (a temporary name in the
	// report directory; the scheduler renames it). day is midnight of the
	// covered date in Location.
	Render func(ctx context.Context, day time.Time, path string) error
	// Summarize gives the mail's numbers; nil mails without them.
	Summarize func(ctx context.Context, day time.Time) (Summary, error)
	Mailer    Sender // nil: the report is written, not mailed
	Clock     Clock  // nil: the real clock
	Location  *time.Location
	Logger    *slog.Logger
	Locale    i18n.Locale
	FileMode  os.FileMode // 0: 0640
	// Holder names this process in report_runs.claimed_by; "" makes one
	// from the host name, the pid and a random suffix.
	Holder string
}

// Scheduler writes the daily report once a day, whichever of the
// processes sharing the register gets to it first.
type Scheduler struct {
	cfg          Config
	d            Deps
	hour, minute int
}

// New checks cfg and deps and returns a scheduler; Run starts it.
func New(cfg Config, d Deps) (*Scheduler, error) {
	cfg.SetDefaults()
	if p := cfg.Validate(); len(p) > 0 {
		t := p[0].Text
		return nil, fmt.Errorf("report: %w", &i18n.Error{Text: i18n.Text{
			ZH: "[report] " + p[0].Key + "：" + t.ZH, EN: "[report] " + p[0].Key + ": " + t.EN}})
	}
	if d.Store == nil || d.Render == nil {
		return nil, errors.New("report: a store and a render function are required")
	}
	if d.Clock == nil {
		d.Clock = realClock{}
	}
	if d.Location == nil {
		d.Location = time.Local
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.FileMode == 0 {
		d.FileMode = 0o640
	}
	if d.Holder == "" {
		host, _ := os.Hostname()
		d.Holder = host + ":" + strconv.Itoa(os.Getpid()) + ":" + randomSuffix()
	}
	s := &Scheduler{cfg: cfg, d: d}
	s.hour, s.minute = cfg.At()
	return s, nil
}

func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// FileName is the name of day's workbook in locale l.
func FileName(day time.Time, l i18n.Locale) string {
	if l == i18n.EN {
		return "daily-report-" + day.Format(time.DateOnly) + ".xlsx"
	}
	return "需求日报-" + day.Format(time.DateOnly) + ".xlsx"
}

// Run writes every missing report, then each day's at daily_at, until ctx
// ends; it returns nil then. A failed run is retried with a backoff that
// doubles from a minute to an hour.
func (s *Scheduler) Run(ctx context.Context) error {
	if err := os.MkdirAll(s.cfg.Dir, 0o750); err != nil {
		return fmt.Errorf("report: create %s: %w", s.cfg.Dir, err)
	}
	var backoff time.Duration
	for {
		recheck, err := s.catchUp(ctx)
		if ctx.Err() != nil {
			return nil
		}
		now := s.d.Clock.Now()
		next := s.nextRun(now)
		if err != nil {
			backoff = min(max(2*backoff, firstBackoff), maxBackoff)
			s.d.Logger.Error("daily report failed; retrying", "err", err, "retry_in", backoff)
			next = earliest(next, now.Add(backoff))
		} else {
			backoff = 0
		}
		// A day another process holds is looked at again when its lease
		// ends, in case that process died.
		if !recheck.IsZero() {
			next = earliest(next, recheck.Add(time.Second))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.d.Clock.After(next.Sub(now)):
		}
	}
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// date is day's midnight in the report's zone, n days on.
func (s *Scheduler) date(t time.Time, n int) time.Time {
	t = t.In(s.d.Location)
	return time.Date(t.Year(), t.Month(), t.Day()+n, 0, 0, 0, 0, s.d.Location)
}

func (s *Scheduler) runAt(day time.Time) time.Time {
	return time.Date(day.Year(), day.Month(), day.Day(), s.hour, s.minute, 0, 0, s.d.Location)
}

// nextRun is the first daily_at after now.
func (s *Scheduler) nextRun(now time.Time) time.Time {
	t := s.runAt(s.date(now, 0))
	if !t.After(now) {
		t = s.runAt(s.date(now, 1))
	}
	return t
}

// latestDue is the last day whose report is due at now.
func (s *Scheduler) latestDue(now time.Time) time.Time {
	run := s.date(now, 0)
	if now.Before(s.runAt(run)) {
		run = s.date(run, -1)
	}
	if s.cfg.Covers == CoversSameDay {
		return run
	}
	return s.date(run, -1)
}

// catchUp writes, in order, every day of the window that is not done. It
// returns when a day held by another process should be looked at again,
// and the first error; a failed day does not stop later ones.
func (s *Scheduler) catchUp(ctx context.Context) (recheck time.Time, err error) {
	now := s.d.Clock.Now()
	latest := s.latestDue(now)
	bound := MaxCatchUp
	if s.cfg.KeepDays > 0 && s.cfg.KeepDays < bound {
		bound = s.cfg.KeepDays
	}
	start := s.date(latest, 1-bound)
	runs, err := s.d.Store.ReportRuns(ctx, start.Format(time.DateOnly))
	if err != nil {
		return recheck, fmt.Errorf("report: catch up: %w", err)
	}
	if len(runs) > 0 {
		// Days before the first report kept in the window were covered, or
		// given up, before it.
		first, _ := time.ParseInLocation(time.DateOnly, runs[0].Day, s.d.Location)
		if first.After(start) {
			start = first
		}
	} else {
		// A first start, or a long stop: from the first demand, if any.
		at, ok, err := s.d.Store.FirstDemandAt(ctx)
		if err != nil {
			return recheck, fmt.Errorf("report: catch up: %w", err)
		}
		if !ok {
			return recheck, nil // nothing to report yet
		}
		if f := s.date(at, 0); f.After(start) {
			start = f
		}
	}
	done := map[string]bool{}
	for _, r := range runs {
		done[r.Day] = r.Done()
	}
	var firstErr error
	for day := start; !day.After(latest); day = s.date(day, 1) {
		key := day.Format(time.DateOnly)
		if done[key] {
			continue
		}
		run, claimed, err := s.d.Store.ClaimReport(ctx, key, s.d.Holder, s.d.Clock.Now(), Lease)
		if err != nil {
			firstErr = cmp(firstErr, fmt.Errorf("report: %s: %w", key, err))
			continue
		}
		if !claimed {
			if !run.Done() && (recheck.IsZero() || run.LeaseUntil.Before(recheck)) {
				recheck = run.LeaseUntil
			}
			continue
		}
		if err := s.runDay(ctx, day, run); err != nil {
			firstErr = cmp(firstErr, err)
		}
		if ctx.Err() != nil {
			return recheck, ctx.Err()
		}
	}
	return recheck, firstErr
}

func cmp(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// runDay writes day's report unless it is written already (a take-over
// of a report whose mail was left pending), then mails it.
func (s *Scheduler) runDay(ctx context.Context, day time.Time, run store.ReportRun) error {
	key := day.Format(time.DateOnly)
	path := run.File
	if run.Status != store.ReportWritten {
		var err error
		path, err = s.write(ctx, day)
		if err != nil {
			if merr := s.d.Store.MarkReportFailed(context.WithoutCancel(ctx), key, s.d.Holder, err.Error(), s.d.Clock.Now()); merr != nil {
				s.d.Logger.Error("daily report: cannot record the failure", "day", key, "err", merr)
			}
			return err
		}
		if err := s.d.Store.MarkReportWritten(ctx, key, s.d.Holder, path, s.d.Mailer != nil, s.d.Clock.Now()); err != nil {
			// Another process took the day over: it mails it, not this one.
			return fmt.Errorf("report: %s: %w", key, err)
		}
		s.d.Logger.Info("daily report written", "day", key, "file", path)
		s.prune()
	}
	if s.d.Mailer == nil {
		return nil
	}
	return s.deliver(ctx, day, path)
}

// write renders day's workbook beside its final name and renames it
// there, so that a reader — or the mail — never sees half a workbook.
func (s *Scheduler) write(ctx context.Context, day time.Time) (path string, err error) {
	name := FileName(day, s.d.Locale)
	final := filepath.Join(s.cfg.Dir, name)
	// Hidden, and still ending in .xlsx for a renderer that picks the
	// format by extension.
	tmp := filepath.Join(s.cfg.Dir, "."+strings.TrimSuffix(name, ".xlsx")+"."+randomSuffix()+".tmp.xlsx")
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if err := s.d.Render(ctx, day, tmp); err != nil {
		return "", fmt.Errorf("report: render %s: %w", name, err)
	}
	// Set, not left to the umask, which would narrow a wider mode.
	if err := os.Chmod(tmp, s.d.FileMode.Perm()); err != nil {
		return "", fmt.Errorf("report: write %s: %w", name, err)
	}
	if err := syncFile(tmp); err != nil {
		return "", fmt.Errorf("report: write %s: %w", name, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", fmt.Errorf("report: write %s: %w", name, err)
	}
	_ = syncFile(s.cfg.Dir) // the rename survives a crash where the directory can be synced
	return final, nil
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// deliver mails day's report, retrying with a doubling backoff; after
// DeliveryAttempts it gives up and records the delivery failed, which the
// next report tells its readers. It fails only when ctx ends: the row
// stays pending and the day is mailed by whoever claims it next.
func (s *Scheduler) deliver(ctx context.Context, day time.Time, path string) error {
	key := day.Format(time.DateOnly)
	sum := Summary{NoCounts: true}
	if s.d.Summarize != nil {
		got, err := s.d.Summarize(ctx, day)
		if err != nil {
			s.d.Logger.Warn("daily report: no summary for the mail; mailing without it", "day", key, "err", err)
		} else {
			sum = got
		}
	}
	fails, err := s.d.Store.ReportDeliveryFailures(ctx, key)
	if err != nil {
		s.d.Logger.Warn("daily report: cannot read earlier delivery failures", "day", key, "err", err)
	}
	for _, f := range fails {
		sum.DeliveryFailures = append(sum.DeliveryFailures, f.Day)
	}
	backoff := firstBackoff
	for attempt := 1; ; attempt++ {
		err := s.d.Mailer.Send(ctx, day, path, sum)
		if err == nil {
			if err := s.d.Store.MarkReportDelivered(context.WithoutCancel(ctx), key, s.d.Holder, s.d.Clock.Now()); err != nil {
				return fmt.Errorf("report: %s: %w", key, err)
			}
			s.d.Logger.Info("daily report mailed", "day", key, "attempt", attempt)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		final := attempt >= DeliveryAttempts
		if merr := s.d.Store.MarkReportDeliveryFailed(ctx, key, s.d.Holder, err.Error(), final, s.d.Clock.Now()); merr != nil {
			return fmt.Errorf("report: %s: %w", key, merr)
		}
		if final {
			s.d.Logger.Error("daily report not mailed; giving up, the next report says so", "day", key, "attempts", attempt, "err", err)
			return nil
		}
		s.d.Logger.Warn("daily report not mailed; retrying", "day", key, "attempt", attempt, "retry_in", backoff, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.d.Clock.After(backoff):
		}
		backoff *= 2
	}
}

// prune removes report files whose day is more than keep_days ago, and
// temporary files a crash left. It goes by the day in the name, not the
// file's time, so a copied directory is pruned the same.
func (s *Scheduler) prune() {
	if s.cfg.KeepDays < 0 {
		return
	}
	now := s.d.Clock.Now()
	cutoff := s.date(now, -s.cfg.KeepDays)
	entries, err := os.ReadDir(s.cfg.Dir)
	if err != nil {
		s.d.Logger.Warn("daily report: cannot list the report directory to prune it", "dir", s.cfg.Dir, "err", err)
		return
	}
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() {
			continue
		}
		old := false
		if day, ok := reportDay(name, s.d.Location); ok {
			old = day.Before(cutoff)
		} else if strings.HasPrefix(name, ".") && strings.HasSuffix(name, ".tmp.xlsx") {
			info, err := e.Info()
			old = err == nil && now.Sub(info.ModTime()) > 24*time.Hour
		}
		if !old {
			continue
		}
		if err := os.Remove(filepath.Join(s.cfg.Dir, name)); err != nil {
			s.d.Logger.Warn("daily report: cannot remove an old report", "file", name, "err", err)
			continue
		}
		s.d.Logger.Info("daily report removed after keep_days", "file", name, "keep_days", s.cfg.KeepDays)
	}
}

// reportDay reads the day from a report's file name, in either locale.
func reportDay(name string, loc *time.Location) (time.Time, bool) {
	for _, prefix := range []string{"需求日报-", "daily-report-"} {
		if rest, ok := strings.CutPrefix(name, prefix); ok {
			if d, ok := strings.CutSuffix(rest, ".xlsx"); ok {
				t, err := time.ParseInLocation(time.DateOnly, d, loc)
				return t, err == nil
			}
		}
	}
	return time.Time{}, false
}
