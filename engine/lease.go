package engine

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync/atomic"
	"time"

	"github.com/demandd/demandd/ingest"
	"github.com/demandd/demandd/store"
)

// Leases: with Options.LeaseTTL set, each source that is not ingest.Shared
// runs in one process at a time — the holder of its lease in the database
// (store.AcquireLease) — so that several `serve` processes can share one
// PostgreSQL. A process that does not hold a source's lease stands by and
// asks again when the holding runs out, at most every acquireEvery; a
// holder renews every TTL/3.
//
// Margins. The database sets a renewed lease's expiry to its own now + TTL,
// and its now is no earlier than the moment this process sent the renewal,
// so by this process's monotonic clock the lease is held at least until
// sent + TTL. The source is stopped (its context cancelled) at sent +
// TTL − TTL/5 when no renewal succeeded since (a lost database, a
// partition): two failed renewals are tried first, and TTL/5 — 3 s of the
// default 15 s — is left for the source to stop reading (close its IMAP
// connection, finish the file it is on) before anybody else can hold the
// lease. A renewal the database answers "not yours" (another process took
// the lease after a long pause of this one) stops the source at once. What
// no margin covers — a pause longer than the TTL between reading and
// committing — the fence covers: every batch of a leased source commits
// under store.BatchOptions.Fence, so a batch whose lease is gone is refused
// whole, its checkpoint with it, and the next holder resumes from the last
// committed checkpoint. A source that stops on SIGTERM releases its lease,
// so that another process takes over at once rather than after the TTL.

// minAcquireEvery and maxAcquireEvery bound how often a standing-by process
// asks for a lease: TTL/5 in between.
const (
	minAcquireEvery = 100 * time.Millisecond
	maxAcquireEvery = 2 * time.Second
)

// errLeaseLost is the cause of a leased source's context ending because
// its lease was lost.
var errLeaseLost = errors.New("lease lost")

// NewOwner names this process in leases: hostname:pid:random, unique even
// across containers that share a hostname and pid.
func NewOwner() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	b := make([]byte, 4)
	crand.Read(b) // never fails (Go ≥ 1.24)
	return fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b))
}

// Owner is the name this process holds leases under.
func (e *Engine) Owner() string { return e.opts.Owner }

// leased reports whether src runs under a lease.
func (e *Engine) leased(src ingest.Source) bool { return e.opts.LeaseTTL > 0 && !ingest.IsShared(src) }

// run runs src once: under its lease unless it is shared or leases are off.
// It returns when ctx ends or the source fails.
func (e *Engine) run(ctx context.Context, src ingest.Source, log *slog.Logger) error {
	if !e.leased(src) {
		return src.Run(ctx, e, e.store)
	}
	key := ingest.LeaseKey(src)
	for {
		l, since, err := e.acquire(ctx, key, log)
		if err != nil {
			return nil // ctx ended while standing by
		}
		lost, err := e.hold(ctx, src, l, since, log)
		if !lost || ctx.Err() != nil {
			return err
		}
	}
}

// acquire waits until this process holds key's lease or ctx ends. since is
// when the successful request was sent, by this process's clock.
func (e *Engine) acquire(ctx context.Context, key string, log *slog.Logger) (l store.Lease, since time.Time, err error) {
	ttl := e.opts.LeaseTTL
	every := min(max(ttl/5, minAcquireEvery), maxAcquireEvery)
	standing, lastErr := false, ""
	for {
		since = time.Now()
		l, ok, left, err := e.store.AcquireLease(ctx, key, e.opts.Owner, ttl)
		if ctx.Err() != nil {
			return l, since, ctx.Err()
		}
		wait := every
		switch {
		case err != nil:
			if err.Error() != lastErr { // once per change, not per retry
				log.Warn("cannot ask for the source's lease; retrying", "err", err, "every", every)
				lastErr = err.Error()
			}
		case ok:
			return l, since, nil
		default:
			lastErr = ""
			if !standing {
				standing = true
				holder := ""
				if info, found, err := e.store.LeaseInfo(ctx, key); err == nil && found {
					holder = info.Owner
				}
				log.Info("source held by another process; standing by", "holder", holder, "expires_in", left.Round(time.Millisecond))
			}
			// Ask again just after it runs out; a little jitter keeps the
			// processes standing by from asking at the same instant.
			wait = min(left+time.Duration(rand.Int64N(int64(every/4)+1)), every)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return l, since, ctx.Err()
		case <-t.C:
		}
	}
}

// hold runs src while l is held. It returns lost when the lease was lost
// (the source was stopped for it), and the source's error.
func (e *Engine) hold(ctx context.Context, src ingest.Source, l store.Lease, since time.Time, log *slog.Logger) (lost bool, err error) {
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var lostFlag atomic.Bool
	loseLease := func() {
		if lostFlag.CompareAndSwap(false, true) {
			cancel(errLeaseLost)
		}
	}
	stop := make(chan struct{})
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		if e.renew(l, since, stop, log) {
			loseLease()
		}
	}()
	e.onLease(src.Name(), true)
	log.Info("source started under its lease", "owner", l.Owner, "token", l.Token, "ttl", l.TTL)
	err = src.Run(runCtx, &fencedSink{Engine: e, fence: l.Fence(), lost: loseLease}, e.store)
	close(stop) // renewals go on while the source drains: its last commits stay valid
	<-renewed
	e.onLease(src.Name(), false)
	if lostFlag.Load() {
		log.Warn("lease lost: source stopped; standing by to take it again when it is free", "token", l.Token)
		return true, err
	}
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer rcancel()
	if rerr := e.store.ReleaseLease(rctx, l); rerr != nil {
		log.Warn("lease not released; another process takes the source when it expires", "err", rerr, "ttl", l.TTL)
	} else {
		log.Info("lease released", "token", l.Token)
	}
	return false, err
}

// renew renews l every TTL/3 until stop is closed. It returns true when
// the lease is lost: the database refused a renewal, or none succeeded in
// time to keep the margin described above.
func (e *Engine) renew(l store.Lease, since time.Time, stop <-chan struct{}, log *slog.Logger) bool {
	every := l.TTL / 3
	margin := l.TTL / 5
	deadline := since.Add(l.TTL - margin)
	t := time.NewTimer(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return false
		case <-t.C:
		}
		if !time.Now().Before(deadline) {
			log.Error("lease not renewed in time (is the database reachable?): stopping the source before the lease runs out",
				"token", l.Token, "ttl", l.TTL)
			return true
		}
		sent := time.Now()
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		ok, err := e.store.RenewLease(ctx, l)
		cancel()
		switch {
		case err == nil && ok:
			deadline = sent.Add(l.TTL - margin)
			t.Reset(every)
		case err == nil:
			log.Error("lease taken over or expired: stopping the source", "token", l.Token)
			return true
		default:
			log.Warn("cannot renew the lease; retrying", "err", err, "stops_in", time.Until(deadline).Round(time.Millisecond))
			t.Reset(max(min(every/3, time.Until(deadline)), 0))
		}
	}
}

func (e *Engine) onLease(source string, held bool) {
	if e.opts.OnLease != nil {
		e.opts.OnLease(source, held)
	}
}

// fencedSink is the engine as a leased source sees it: every commit is
// fenced by the source's lease, and a commit refused for a lost lease
// stops the source at once.
type fencedSink struct {
	*Engine
	fence *store.Fence
	lost  func()
}

var _ ingest.Sink = (*fencedSink)(nil)

// Emit implements ingest.Sink.
func (s *fencedSink) Emit(ctx context.Context, b ingest.Batch) (ingest.Result, error) {
	p, err := s.Prepare(ctx, b)
	if err != nil {
		return ingest.Result{}, err
	}
	return s.Commit(ctx, p)
}

// Commit implements ingest.Sink.
func (s *fencedSink) Commit(ctx context.Context, p *ingest.Prepared) (ingest.Result, error) {
	res, err := s.commit(ctx, p, s.fence)
	if errors.Is(err, store.ErrLeaseLost) {
		s.lost()
	}
	return res, err
}
