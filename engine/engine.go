package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"runtime"
	"sync"
	"time"

	"github.com/demandd/demandd/classify"
	"github.com/demandd/demandd/dedupe"
	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/ingest"
	"github.com/demandd/demandd/internal/i18n"
	"github.com/demandd/demandd/normalize"
	"github.com/demandd/demandd/store"
)

// Normalizer makes a record from a raw item; see normalize.Normalizer.
type Normalizer interface {
	Normalize(ctx context.Context, item ingest.Item) (*demand.Record, error)
}

// Options configure the engine.
type Options struct {
	CodePrefix string
	// Dedupe links near-duplicates when on; nil links by fingerprint only.
	Dedupe   *dedupe.Config
	Location *time.Location
	Logger   *slog.Logger
	// DrainTimeout bounds a commit that is under way at shutdown.
	DrainTimeout time.Duration
	// RestartDelay is the pause before a failed source runs again.
	RestartDelay time.Duration
	// Locale is the language of the reasons stored with quarantined
	// items, which people read in `quarantine list` (default Chinese).
	Locale i18n.Locale
	// Tracking configures returned tracking tables (returned.go).
	Tracking Tracking
	// LeaseTTL, when set, runs every source that is not ingest.Shared
	// under a lease of this length (see lease.go); 0 runs every source
	// without one.
	LeaseTTL time.Duration
	// Owner names this process in leases (default hostname:pid:random).
	Owner string
	// OnLease, when set, is told whenever this process takes (held) or
	// gives up (!held) the lease of a source.
	OnLease func(source string, held bool)
	// Observer is told of every commit and source state (metrics); nil
	// tells no one.
	Observer Observer
	// PrepareWorkers is how many goroutines prepare one batch (normalise,
	// classify, encode); 0 means one per P. Fewer than the cores leave a
	// core to the goroutines that read and commit (see cmd/demandd's
	// spareP).
	PrepareWorkers int
}

// Engine connects sources, normalisation, classification and the store.
type Engine struct {
	store  *store.Store
	norm   Normalizer
	cls    classify.Classifier
	opts   Options
	log    *slog.Logger
	codeRe *regexp.Regexp
}

// New builds an engine.
func New(st *store.Store, n Normalizer, c classify.Classifier, opts Options) *Engine {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.DrainTimeout == 0 {
		opts.DrainTimeout = time.Minute
	}
	if opts.RestartDelay == 0 {
		opts.RestartDelay = 5 * time.Second
	}
	if opts.CodePrefix == "" {
		opts.CodePrefix = "DEM"
	}
	if opts.Owner == "" {
		opts.Owner = NewOwner()
	}
	if opts.Observer == nil {
		opts.Observer = nopObserver{}
	}
	codeRe := regexp.MustCompile(regexp.QuoteMeta(opts.CodePrefix) + `\d{9,}`)
	return &Engine{store: st, norm: n, cls: c, opts: opts, log: opts.Logger, codeRe: codeRe}
}

var _ ingest.Sink = (*Engine)(nil)

// Emit implements ingest.Sink.
func (e *Engine) Emit(ctx context.Context, b ingest.Batch) (ingest.Result, error) {
	p, err := e.Prepare(ctx, b)
	if err != nil {
		return ingest.Result{}, err
	}
	return e.Commit(ctx, p)
}

// Prepare implements ingest.Sink: it normalises and classifies.
func (e *Engine) Prepare(ctx context.Context, b ingest.Batch) (*ingest.Prepared, error) {
	items, err := e.prepare(ctx, b.Items)
	if err != nil {
		return nil, err
	}
	return &ingest.Prepared{Batch: b, Items: items}, nil
}

// Commit implements ingest.Sink: one transaction for the batch.
func (e *Engine) Commit(ctx context.Context, p *ingest.Prepared) (ingest.Result, error) {
	return e.commit(ctx, p, nil)
}

// commit is Commit under fence, when set (see lease.go).
func (e *Engine) commit(ctx context.Context, p *ingest.Prepared, fence *store.Fence) (ingest.Result, error) {
	b := p.Batch
	if len(p.Items) != len(b.Items) {
		return ingest.Result{}, errors.New("engine: commit: batch was not prepared by this engine")
	}
	var cp *store.Checkpoint
	if b.Checkpoint != nil {
		cp = &store.Checkpoint{Key: b.Checkpoint.Key, Value: b.Checkpoint.Value}
	}
	// The commit runs to its end even when ctx is cancelled by shutdown:
	// the source then acknowledges it, or never learns of it and re-reads.
	commitCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.opts.DrainTimeout)
	defer cancel()
	start := time.Now()
	opts := store.BatchOptions{CodePrefix: e.opts.CodePrefix, Location: e.opts.Location, Dedupe: e.opts.Dedupe, Fence: fence}
	var res store.SaveResult
	var err error
	if st, ok := p.Staged.(*store.Staged); ok {
		p.Staged = nil
		res, err = st.Save(commitCtx, cp, opts)
	} else {
		res, err = e.store.SaveBatch(commitCtx, storeEntries(p), cp, opts)
	}
	if err != nil {
		e.opts.Observer.Committed(CommitInfo{Items: b.Items, Duration: time.Since(start), Err: err})
		return ingest.Result{}, fmt.Errorf("engine: emit: %w", err)
	}
	out := ingest.Result{New: res.New, Duplicate: res.Duplicate + res.Linked, Quarantined: res.Quarantined, Ignored: res.Ignored,
		FollowUp: res.FollowUp, Outcomes: make([]ingest.Outcome, len(res.Outcomes))}
	for i, o := range res.Outcomes {
		out.Outcomes[i] = ingest.Outcome{Kind: string(o.Kind), Code: o.Code, Reason: o.Reason, Stored: string(o.Stored)}
	}
	e.opts.Observer.Committed(CommitInfo{Items: b.Items, Outcomes: out.Outcomes, Duration: time.Since(start)})
	return out, nil
}

var _ ingest.Stager = (*Engine)(nil)

// Stage implements ingest.Stager: the batch's raw items are stored in a
// transaction of its own, which Commit finishes.
func (e *Engine) Stage(ctx context.Context, p *ingest.Prepared) bool {
	if p.Staged != nil || len(p.Items) != len(p.Batch.Items) {
		return false
	}
	st, err := e.store.StageBatch(ctx, storeEntries(p))
	if err != nil { // Commit does it all, and says what fails
		e.log.Debug("batch not staged", "err", err)
		return false
	}
	if st == nil {
		return false
	}
	p.Staged = st
	return true
}

// Discard implements ingest.Stager.
func (e *Engine) Discard(p *ingest.Prepared) {
	if st, ok := p.Staged.(*store.Staged); ok {
		p.Staged = nil
		st.Discard()
	}
}

// storeEntries is what the store keeps of a prepared batch.
func storeEntries(p *ingest.Prepared) []store.Entry {
	entries := make([]store.Entry, len(p.Items))
	for i := range p.Items {
		entries[i] = storeEntry(p.Batch.Items[i], p.Items[i])
	}
	return entries
}

// FileFailed implements ingest.Sink.
func (e *Engine) FileFailed(ctx context.Context, f ingest.FailedFile) error {
	if !f.Found {
		e.opts.Observer.FileFailed(f)
	}
	return e.store.RecordFailedFile(ctx, store.FailedFile{Channel: string(f.Channel), Source: f.Source, Name: f.Name,
		SHA256: f.SHA256, Size: f.Size, Reason: f.Reason, OriginalPath: f.OriginalPath, MovedTo: f.MovedTo, FailedAt: f.FailedAt}, f.Found)
}

// FileImported implements ingest.Sink.
func (e *Engine) FileImported(ctx context.Context, channel demand.Channel, sha256 string) error {
	return e.store.ResolveFailedFiles(ctx, string(channel), sha256)
}

// prepare normalises and classifies items in parallel.
func (e *Engine) prepare(ctx context.Context, items []ingest.Item) ([]ingest.PreparedItem, error) {
	entries := make([]ingest.PreparedItem, len(items))
	errs := make([]error, len(items))
	work := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			entries[i], errs[i] = e.entry(ctx, items[i])
		}
	}
	workers := e.opts.PrepareWorkers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if len(items) < 64 || workers == 1 {
		work(0, len(items))
	} else {
		var wg sync.WaitGroup
		chunk := (len(items) + workers - 1) / workers
		for lo := 0; lo < len(items); lo += chunk {
			wg.Add(1)
			go func(lo, hi int) {
				defer wg.Done()
				work(lo, hi)
			}(lo, min(lo+chunk, len(items)))
		}
		wg.Wait()
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return entries, nil
}

// entry prepares one item. Only a *ingest.RejectError is returned as an
// error; an item that is not a demand is stored ignored; every other
// failure quarantines the item.
func (e *Engine) entry(ctx context.Context, it ingest.Item) (ingest.PreparedItem, error) {
	p, err := e.outcome(ctx, it)
	if err != nil {
		return p, err
	}
	if p.SHA256 = it.SHA256; p.SHA256 == "" {
		sum := sha256.Sum256(it.Body)
		p.SHA256 = hex.EncodeToString(sum[:])
	}
	p.StoredBody, p.BodyCodec = e.store.EncodeBody(it.Body)
	if p.Record != nil {
		p.Stored = store.Precompute(p.Record)
	}
	return p, nil
}

// outcome is what becomes of an item: its record, or why not.
func (e *Engine) outcome(ctx context.Context, it ingest.Item) (ingest.PreparedItem, error) {
	if it.Problem != "" {
		return ingest.PreparedItem{Status: ingest.ItemQuarantined, Reason: it.Problem}, nil
	}
	if it.Ignore != "" {
		return ingest.PreparedItem{Status: ingest.ItemIgnored, Reason: it.Ignore}, nil
	}
	rec, reason, err := e.record(ctx, it)
	if ig, ok := normalize.AsIgnore(err); ok {
		return ingest.PreparedItem{Status: ingest.ItemIgnored, Reason: ig.Reason}, nil
	}
	if err != nil {
		return ingest.PreparedItem{}, err
	}
	if reason != "" {
		return ingest.PreparedItem{Status: ingest.ItemQuarantined, Reason: reason}, nil
	}
	return ingest.PreparedItem{Status: ingest.ItemOK, Record: rec, ThreadCode: e.threadCode(rec)}, nil
}

// storeEntry is what the store keeps of a prepared item: the raw item as
// it came, and the record made from it.
func storeEntry(it ingest.Item, p ingest.PreparedItem) store.Entry {
	digest := p.SHA256
	if digest == "" {
		sum := sha256.Sum256(it.Body)
		digest = hex.EncodeToString(sum[:])
	}
	raw := store.RawItem{Channel: string(it.Channel), Source: it.Source, ExternalKey: it.Key, Ref: it.Ref,
		SHA256: digest, ContentType: it.ContentType, Body: it.Body, StoredBody: p.StoredBody, BodyCodec: p.BodyCodec, Origin: string(it.Origin),
		Status: store.RawStatus(p.Status), Reason: p.Reason, ReceivedAt: it.ReceivedAt} // the same three words
	if p.Status != ingest.ItemOK {
		return store.Entry{Raw: raw}
	}
	pre, _ := p.Stored.(*store.Precomputed)
	return store.Entry{Raw: raw, Record: p.Record, ThreadCode: p.ThreadCode, SetStatus: p.SetStatus, Event: p.Event, Pre: pre}
}

// threadCode finds a demand code in an email's subject ("Re: [DEM202611001]
// …"): such a message is a follow-up of that demand.
func (e *Engine) threadCode(r *demand.Record) string {
	if r.Source.Channel != demand.ChannelEmail {
		return ""
	}
	return e.codeRe.FindString(r.Description.Title)
}

// record normalises and classifies; a non-empty reason means quarantine.
func (e *Engine) record(ctx context.Context, it ingest.Item) (rec *demand.Record, reason string, err error) {
	defer func() { // a parser bug must cost one item, not the daemon
		if p := recover(); p != nil {
			rec, reason, err = nil, fmt.Sprintf("internal error while normalising: %v (please report it)", p), nil
		}
	}()
	rec, err = e.norm.Normalize(ctx, it)
	if err != nil {
		if _, ok := ingest.IsReject(err); ok {
			return nil, "", err
		}
		if _, ok := normalize.AsIgnore(err); ok {
			return nil, "", err
		}
		if q, ok := normalize.AsQuarantine(err); ok {
			if q.Text != (i18n.Text{}) {
				return nil, q.Text.In(e.opts.Locale), nil
			}
			return nil, q.Reason, nil
		}
		return nil, "normalise: " + err.Error(), nil
	}
	if err := e.cls.Classify(ctx, rec); err != nil {
		return nil, "classify: " + err.Error(), nil
	}
	return rec, "", nil
}

// Run runs every source until ctx ends, restarting a source that fails
// after RestartDelay, and returns when all have stopped.
func (e *Engine) Run(ctx context.Context, sources []ingest.Source) {
	var wg sync.WaitGroup
	for _, src := range sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.runSource(ctx, src)
		}()
	}
	wg.Wait()
}

func (e *Engine) runSource(ctx context.Context, src ingest.Source) {
	log := e.log.With("source", src.Name())
	lastErr := "" // logged once per change, not once per restart
	for {
		if lastErr == "" && !e.leased(src) { // a leased source logs its lease instead
			log.Info("source started")
		}
		e.opts.Observer.SourceState(src.Name(), SourceRunning, nil)
		started := time.Now()
		err := e.run(ctx, src, log)
		if ctx.Err() != nil {
			log.Info("source stopped")
			e.opts.Observer.SourceState(src.Name(), SourceStopped, nil)
			return
		}
		if err == nil {
			err = errors.New("returned without being stopped")
		}
		e.opts.Observer.SourceState(src.Name(), SourceFailed, err)
		if time.Since(started) > time.Minute {
			lastErr = "" // it ran for a while: a new failure is news
		}
		if err.Error() != lastErr {
			log.Error("source failed; restarting until it runs", "err", err, "after", e.opts.RestartDelay)
			lastErr = err.Error()
		}
		t := time.NewTimer(e.opts.RestartDelay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// ReprocessResult counts a reprocess run.
type ReprocessResult struct {
	Resolved []string // codes of the records created
	Still    int      // items still quarantined
}

// Reprocess retries quarantined raw items with the current configuration;
// ids nil means all of them.
func (e *Engine) Reprocess(ctx context.Context, ids []int64) (ReprocessResult, error) {
	var res ReprocessResult
	if ids == nil {
		items, err := e.store.RawItems(ctx, store.RawQuarantined, 0)
		if err != nil {
			return res, err
		}
		for _, it := range items {
			ids = append(ids, it.ID)
		}
	}
	for _, id := range ids {
		raw, err := e.store.RawItem(ctx, id)
		if err != nil {
			return res, err
		}
		if raw.Status != store.RawQuarantined {
			return res, fmt.Errorf("engine: reprocess raw item %d: it is %s, not quarantined", id, raw.Status)
		}
		it := ingest.Item{Channel: demand.Channel(raw.Channel), Source: raw.Source, Key: raw.ExternalKey,
			ContentType: raw.ContentType, Body: raw.Body, ReceivedAt: raw.ReceivedAt,
			Origin: demand.Origin(raw.Origin), Ref: raw.Ref}
		rec, reason, err := e.record(ctx, it)
		if err != nil { // a rejection is a reason too, item by item
			reason = err.Error()
		}
		if reason != "" {
			res.Still++
			if err := e.store.StillQuarantined(ctx, id, reason); err != nil {
				return res, err
			}
			continue
		}
		code, err := e.store.Resolve(ctx, id, rec, store.BatchOptions{CodePrefix: e.opts.CodePrefix, Location: e.opts.Location, Dedupe: e.opts.Dedupe})
		if err != nil {
			return res, err
		}
		res.Resolved = append(res.Resolved, code)
	}
	return res, nil
}
