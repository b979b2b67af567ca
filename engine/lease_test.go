package engine_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/engine"
	"github.com/demandd/demandd/ingest"
	"github.com/demandd/demandd/internal/testdb"
	"github.com/demandd/demandd/internal/testenv"
	"github.com/demandd/demandd/store"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// feed is a polled source shared by name between engines: it emits one
// message every few milliseconds and records whether two engines ever ran
// it at once.
type feed struct {
	name    string
	active  *atomic.Int32 // engines running it now
	overlap *atomic.Bool
	next    *atomic.Int64
}

func (f *feed) Name() string { return f.name }

func (f *feed) Run(ctx context.Context, sink ingest.Sink, _ ingest.State) error {
	if f.active.Add(1) > 1 {
		f.overlap.Store(true)
	}
	defer f.active.Add(-1)
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		n := f.next.Add(1)
		_, err := sink.Emit(ctx, ingest.Batch{Items: []ingest.Item{message(f.name, n)},
			Checkpoint: &ingest.Checkpoint{Key: "feed/" + f.name, Value: fmt.Sprint(n)}})
		if err != nil && ctx.Err() == nil {
			return err
		}
	}
}

func message(source string, n int64) ingest.Item {
	raw := fmt.Sprintf("From: c%d@example.com\r\nSubject: 需求 %d\r\nMessage-ID: <lease-%d@example.com>\r\n\r\n请增加第%d个报表\r\n", n, n, n, n)
	return ingest.Item{Channel: demand.ChannelEmail, Source: source, Key: fmt.Sprintf("lease-%d", n),
		ContentType: ingest.ContentTypeEmail, Body: []byte(raw), ReceivedAt: time.Now()}
}

// replica is one engine with its own store, as one `serve` process.
type replica struct {
	env    *testenv.Env
	held   atomic.Bool
	cancel context.CancelFunc
	done   chan struct{}
}

func startReplica(t *testing.T, url string, ttl time.Duration, sources ...ingest.Source) *replica {
	r := &replica{done: make(chan struct{})}
	r.env = testenv.NewWith(t, url, nil, func(o *engine.Options) {
		o.LeaseTTL = ttl
		o.OnLease = func(_ string, held bool) { r.held.Store(held) }
	})
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() {
		defer close(r.done)
		r.env.Engine.Run(ctx, sources)
	}()
	t.Cleanup(r.stop)
	return r
}

func (r *replica) stop() {
	r.cancel()
	<-r.done
}

// TestLeaseOneHolderAtATime: two engines share a source; one runs it. The
// holder stopped cleanly hands it over at once; a holder cut off from the
// database stops the source before its lease runs out, and the source
// runs on in the third engine. Never do two engines run it together.
func TestLeaseOneHolderAtATime(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(b.Name, func(t *testing.T) {
			const ttl = 600 * time.Millisecond
			url := b.URL(t)
			var active atomic.Int32
			var overlap atomic.Bool
			var next atomic.Int64
			src := func() *feed { return &feed{name: "feed", active: &active, overlap: &overlap, next: &next} }
			a := startReplica(t, url, ttl, src())
			bb := startReplica(t, url, ttl, src())
			stored := func() int { return a.env.Counts(t).Raw }
			var n int
			testenv.Eventually(t, 20*time.Second, func() bool { n = stored(); return n >= 5 && a.held.Load() != bb.held.Load() },
				func() string { return fmt.Sprintf("%d stored, held by a %v, b %v", n, a.held.Load(), bb.held.Load()) })
			holder, other := a, bb
			if bb.held.Load() {
				holder, other = bb, a
			}
			owner := holder.env.Engine.Owner()
			info, _, err := other.env.Store.LeaseInfo(context.Background(), "source/feed")
			if err != nil || info.Owner != owner {
				t.Fatalf("lease row %+v (%v), want owner %s", info, err, owner)
			}

			// SIGTERM-like stop: the lease is released, the other takes
			// the source without waiting for the TTL.
			stoppedAt := time.Now()
			holder.stop()
			if holder.held.Load() {
				t.Error("OnLease did not report the release")
			}
			testenv.Eventually(t, 10*time.Second, other.held.Load, func() string { return "no takeover after a clean stop" })
			t.Logf("takeover after a clean stop: %v", time.Since(stoppedAt).Round(time.Millisecond))
			at := stored()
			testenv.Eventually(t, 10*time.Second, func() bool { return stored() > at }, func() string { return "nothing committed after the takeover" })

			// Cut the holder off from the database: it must stop the
			// source before its lease expires, so the third engine never
			// runs it at the same time.
			c := startReplica(t, url, ttl, src())
			other.env.Store.Close()
			testenv.Eventually(t, 10*time.Second, func() bool { return !other.held.Load() }, func() string { return "the cut-off holder kept the source" })
			testenv.Eventually(t, 10*time.Second, c.held.Load, func() string { return "no takeover of a cut-off holder" })
			at = c.env.Counts(t).Raw
			testenv.Eventually(t, 10*time.Second, func() bool { return c.env.Counts(t).Raw > at }, func() string { return "nothing committed by the third engine" })
			if overlap.Load() {
				t.Fatal("two engines ran the source at once")
			}
		})
	}
}

// pauser prepares a batch, then waits — a process paused past its lease —
// and commits it.
type pauser struct {
	prepared chan struct{}
	resume   chan struct{}
	result   chan error
	stopped  chan struct{}
}

func (p *pauser) Name() string { return "pauser" }

func (p *pauser) Run(ctx context.Context, sink ingest.Sink, _ ingest.State) error {
	prep, err := sink.Prepare(ctx, ingest.Batch{Items: []ingest.Item{message("pauser", 1)},
		Checkpoint: &ingest.Checkpoint{Key: "pauser", Value: "1"}})
	if err != nil {
		return err
	}
	close(p.prepared)
	<-p.resume
	_, err = sink.Commit(ctx, prep)
	p.result <- err
	<-ctx.Done()
	close(p.stopped)
	return nil
}

// TestFenceRefusesPausedHolder: the lease of a source paused between
// reading and committing is taken over; its commit is then refused whole
// and the source is stopped.
func TestFenceRefusesPausedHolder(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			url := b.URL(t)
			p := &pauser{prepared: make(chan struct{}), resume: make(chan struct{}), result: make(chan error, 1), stopped: make(chan struct{})}
			r := startReplica(t, url, 500*time.Millisecond, p)
			<-p.prepared
			thief := testenv.New(t, url, nil).Store
			if err := thief.ClearLeases(ctx); err != nil { // as if its lease had run out during the pause
				t.Fatal(err)
			}
			if _, ok, _, err := thief.AcquireLease(ctx, "source/pauser", "thief", time.Hour); err != nil || !ok {
				t.Fatalf("take over: %v %v", ok, err)
			}
			close(p.resume)
			if err := <-p.result; !errors.Is(err, store.ErrLeaseLost) {
				t.Fatalf("commit after the takeover: %v, want ErrLeaseLost", err)
			}
			select {
			case <-p.stopped:
			case <-time.After(10 * time.Second):
				t.Fatal("the source was not stopped after its commit was refused")
			}
			if c := r.env.Counts(t); c.Raw != 0 || c.Demands != 0 {
				t.Errorf("stored %+v, want nothing", c)
			}
			if _, ok, _ := r.env.Store.Checkpoint(ctx, "pauser"); ok {
				t.Error("the refused batch moved its checkpoint")
			}
			// OnLease is told once the stopped source has returned.
			testenv.Eventually(t, 5*time.Second, func() bool { return !r.held.Load() },
				func() string { return "OnLease still says held" })
		})
	}
}

// TestSharedSourcesRunEverywhere: a source that says it is shared runs in
// every engine at once, without a lease.
func TestSharedSourcesRunEverywhere(t *testing.T) {
	url := testenv.Backends[0].URL(t)
	var running sync.WaitGroup
	running.Add(2)
	both := make(chan struct{})
	go func() { running.Wait(); close(both) }()
	startReplica(t, url, time.Second, &shared{running: &running})
	startReplica(t, url, time.Second, &shared{running: &running})
	select {
	case <-both:
	case <-time.After(20 * time.Second):
		t.Fatal("a shared source did not run in both engines")
	}
}

type shared struct{ running *sync.WaitGroup }

func (s *shared) Name() string { return "hooks" }
func (s *shared) Shared() bool { return true }
func (s *shared) Run(ctx context.Context, _ ingest.Sink, _ ingest.State) error {
	s.running.Done()
	<-ctx.Done()
	return nil
}

// idle is a polled source that reads nothing and says when it stopped.
type idle struct {
	started, stopped chan struct{}
}

func (s *idle) Name() string { return "idle" }

func (s *idle) Run(ctx context.Context, _ ingest.Sink, _ ingest.State) error {
	close(s.started)
	<-ctx.Done()
	close(s.stopped)
	return nil
}

// TestLeaseStopsBeforeExpiry: a holder whose renewals fail stops its
// source while the lease is still valid by the database's clock, so that
// nobody else can have started it yet.
func TestLeaseStopsBeforeExpiry(t *testing.T) {
	url := testdb.Postgres(t)
	s := &idle{started: make(chan struct{}), stopped: make(chan struct{})}
	r := startReplica(t, url, 3*time.Second, s)
	<-s.started
	watcher := testenv.New(t, url, nil).Store
	r.env.Store.Close() // every renewal fails from now on
	select {
	case <-s.stopped:
	case <-time.After(20 * time.Second):
		t.Fatal("the source was not stopped")
	}
	info, _, err := watcher.LeaseInfo(context.Background(), "source/idle")
	if err != nil {
		t.Fatal(err)
	}
	if info.Remaining <= 0 {
		t.Fatalf("the source stopped %v after its lease expired", -info.Remaining)
	}
	t.Logf("stopped with %v of the lease left", info.Remaining.Round(time.Millisecond))
}
