package archive

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/demandd/demandd/internal/i18n"
	"github.com/demandd/demandd/store"
)

// staleClaim is how long a claimed, unfinished monthly run is left to the
// process that claimed it before another takes it over (that process
// died, or its bundle failed to verify).
const staleClaim = 6 * time.Hour

// Runner makes the monthly bundles for serve.
type Runner struct {
	Store  *store.Store
	Config Config
	// Location is the zone months are counted in.
	Location *time.Location
	// Generator is the demandd version, for the manifest.
	Generator string
	Locale    i18n.Locale
	FileMode  os.FileMode
	Logger    *slog.Logger
	// Instance names this process in archive_runs (default host:pid).
	Instance string

	mu       sync.Mutex
	verified map[string]time.Time // bundles verified by this process: name → modification time
}

// MaybeMonthly makes the bundle of the month before now's, unless another
// process (or an earlier call) did: archive_runs holds one row per period,
// claimed once. The bundle is verified before its run is marked finished
// and its raw items marked as held by it; then, when PurgeRawAfter is set,
// the bytes of raw items older than that held by a bundle that verifies
// now are purged. It reports whether it made the bundle. Call it as often
// as convenient (hourly): all but one call per month only read a row.
func (r *Runner) MaybeMonthly(ctx context.Context, now time.Time) (bool, error) {
	if !r.Config.Monthly {
		return false, nil
	}
	loc := r.Location
	if loc == nil {
		loc = time.Local
	}
	log := r.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := MonthOf(MonthOf(now, loc).Since.AddDate(0, 0, -1), loc)
	who := r.Instance
	if who == "" {
		host, _ := os.Hostname()
		who = fmt.Sprintf("%s:%d", host, os.Getpid())
	}
	claimed, err := r.Store.ClaimArchiveRun(ctx, p.Name, who, now, staleClaim)
	if err != nil {
		return false, err
	}
	if claimed {
		if err := r.make(ctx, p, now, log); err != nil {
			if ferr := r.Store.FinishArchiveRun(ctx, p.Name, "", "", err.Error(), now); ferr != nil {
				log.Error("archive: recording the failure", "period", p.Name, "err", ferr)
			}
			return false, err
		}
	}
	if r.Config.PurgeRawAfter.Duration > 0 {
		if err := r.purge(ctx, now, log); err != nil {
			return claimed, err
		}
	}
	return claimed, nil
}

// make writes, verifies and records period p's bundle.
func (r *Runner) make(ctx context.Context, p Period, now time.Time, log *slog.Logger) error {
	if err := os.MkdirAll(r.Config.Dir, 0o750); err != nil {
		return fmt.Errorf("archive: create %s: %w", r.Config.Dir, err)
	}
	path := filepath.Join(r.Config.Dir, p.FileName())
	res, err := Write(ctx, path, r.Store, p, Options{Location: r.Location, Generator: r.Generator, Now: now,
		Locale: r.Locale, FileMode: r.FileMode})
	if err != nil {
		return err
	}
	rep, err := Verify(ctx, path)
	if err != nil {
		return err
	}
	if !rep.OK() {
		return fmt.Errorf("archive: %s does not verify: %s: %s", path, rep.Problems[0].Path, rep.Problems[0].Text.EN)
	}
	n, err := r.Store.MarkArchived(ctx, filepath.Base(path), heldItems(rep.Manifest))
	if err != nil {
		return err
	}
	if err := r.Store.FinishArchiveRun(ctx, p.Name, filepath.Base(path), res.ManifestSHA256, "", now); err != nil {
		return err
	}
	r.remember(path)
	log.Info("archive bundle written", "period", p.Name, "path", path, "manifest_sha256", res.ManifestSHA256,
		"records", res.Records, "raw_items", res.Raw.Total, "marked", n, "bytes", res.Size)
	return nil
}

// heldItems are the raw items whose bytes a bundle holds.
func heldItems(m *Manifest) []store.ArchivedItem {
	var items []store.ArchivedItem
	for _, it := range m.Items {
		if it.Path != "" {
			items = append(items, store.ArchivedItem{ID: it.ID, SHA256: it.SHA256})
		}
	}
	return items
}

// purge removes the bytes of raw items older than PurgeRawAfter held by
// bundles in Dir that verify: a bundle missing or damaged since keeps its
// items' bytes in the database, and says so.
func (r *Runner) purge(ctx context.Context, now time.Time, log *slog.Logger) error {
	cutoff := now.Add(-r.Config.PurgeRawAfter.Duration)
	bundles, err := r.Store.PurgeCandidates(ctx, cutoff)
	if err != nil {
		return err
	}
	for _, b := range bundles {
		path := filepath.Join(r.Config.Dir, b)
		if ok, err := r.verifiedNow(ctx, path); !ok {
			log.Warn("archive: raw bytes kept in the database: their bundle does not verify", "bundle", path, "err", err)
			continue
		}
		n, err := r.Store.PurgeRaw(ctx, b, cutoff, now)
		if err != nil {
			return err
		}
		log.Info("archive: raw bytes purged from the database", "bundle", path, "items", n, "received_before", cutoff)
	}
	return nil
}

// verifiedNow verifies the bundle at path, once per modification.
func (r *Runner) verifiedNow(ctx context.Context, path string) (bool, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return false, err
	}
	r.mu.Lock()
	at, ok := r.verified[path]
	r.mu.Unlock()
	if ok && at.Equal(fi.ModTime()) {
		return true, nil
	}
	rep, err := Verify(ctx, path)
	if err != nil {
		return false, err
	}
	if !rep.OK() {
		return false, fmt.Errorf("%s: %s", rep.Problems[0].Path, rep.Problems[0].Text.EN)
	}
	r.remember(path)
	return true, nil
}

func (r *Runner) remember(path string) {
	fi, err := os.Stat(path)
	if err != nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.verified == nil {
		r.verified = map[string]time.Time{}
	}
	r.verified[path] = fi.ModTime()
}
