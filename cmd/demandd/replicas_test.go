package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/demandd/demandd/internal/testdb"
	"github.com/demandd/demandd/internal/testenv"
	"github.com/demandd/demandd/internal/testimap"
)

// TestReplicasFailover runs three `serve` processes on one PostgreSQL, one
// Dovecot mailbox, one watched folder and a webhook source, fed all along.
// Each polled source runs in one process; the holder of the mailbox is
// killed with SIGKILL, another takes it over within the lease TTL and one
// poll interval, the killed process is started again; every mail, file
// row and ticket is stored exactly once, and every process stops on
// SIGTERM with exit 0.
func TestReplicasFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs three daemons")
	}
	dove := testimap.Start(t)
	f := newFleet(t, testdb.Postgres(t), dove, 3)
	for i := range 3 {
		f.start(i)
	}
	f.feed()
	var got fedCounts
	testenv.Eventually(t, 60*time.Second, func() bool {
		got = f.stored()
		return got.email > 5 && got.questionnaire > 0 && got.webhook > 5 && f.holder("support") >= 0 && f.holder("inbox") >= 0
	}, func() string { return fmt.Sprintf("stored %+v; %s", got, f.tails()) })

	took, killed := f.failover("support", "email")
	t.Logf("replica %d (the mailbox's holder) killed with SIGKILL: another took over and committed mail after %v", killed, took.Round(time.Millisecond))
	if limit := fleetTTL + fleetPoll; took > limit {
		t.Errorf("takeover took %v, want at most the lease TTL and one poll interval (%v)", took, limit)
	}
	f.start(killed)
	at := f.stored()
	testenv.Eventually(t, 30*time.Second, func() bool { now := f.stored(); return now.questionnaire > at.questionnaire && now.email > at.email },
		func() string { return "intake did not go on after the restart; " + f.tails() }) // files taken over too, if it held them

	want := f.settle(90 * time.Second)
	if dupes := f.exactlyOnce(); dupes != 0 {
		t.Errorf("%d items stored more than once", dupes)
	}
	t.Logf("fed and stored exactly once: %d mails, %d file rows, %d tickets", want.email, want.questionnaire, want.webhook)
	f.stopAll()
}

// BenchmarkFailover measures failover time — SIGKILL of the process that
// holds the mailbox's lease, at a random moment of its renewal cycle, to
// the first mail committed by another — ten times over three processes (lease_ttl 3s, poll_interval 1s), restarting
// the killed process each time: `make bench-failover`.
func BenchmarkFailover(b *testing.B) {
	const rounds = 10
	dove := testimap.Start(b)
	f := newFleet(b, testdb.Postgres(b), dove, 3)
	for i := range 3 {
		f.start(i)
	}
	f.feed()
	testenv.Eventually(b, 60*time.Second, func() bool { return f.stored().email > 5 && f.holder("support") >= 0 },
		func() string { return "no mail stored; " + f.tails() })
	b.ResetTimer()
	var times []time.Duration
	for range b.N {
		for r := range rounds {
			// A random moment of the holder's renewal cycle: right after a
			// takeover the lease is fresh, which would measure the worst case.
			pause(context.Background(), fleetTTL/3+rand.N(fleetTTL/3))
			took, killed := f.failover("support", "email")
			times = append(times, took)
			b.Logf("failover %2d: %v (replica %d killed)", r+1, took.Round(time.Millisecond), killed)
			f.start(killed)
		}
	}
	b.StopTimer()
	med, mx := medianMax(times)
	fmt.Printf("failover (SIGKILL of the lease holder → first mail committed by another replica), lease_ttl %v, poll_interval %v, %d runs: median %v, max %v\n",
		fleetTTL, fleetPoll, len(times), med.Round(time.Millisecond), mx.Round(time.Millisecond))
	b.ReportMetric(med.Seconds(), "median-s")
	b.ReportMetric(mx.Seconds(), "max-s")
	f.settle(90 * time.Second)
	if dupes := f.exactlyOnce(); dupes != 0 {
		b.Errorf("%d items stored more than once", dupes)
	}
	f.stopAll()
}
