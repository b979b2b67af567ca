package main

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/demandd/demandd/internal/testdb"
	"github.com/demandd/demandd/internal/testenv"
	"github.com/demandd/demandd/internal/testimap"
)

// TestChaos is the fault run (`make chaos`; `make test` and CI run it
// too): three `serve` processes on a PostgreSQL of the test's own, fed mail,
// questionnaire files and webhook tickets all along, while processes are
// killed with SIGKILL at 20 random moments (half of them the holder of a
// polled source's lease) and started again, PostgreSQL is restarted in
// immediate mode mid-ingest, and Dovecot is restarted. Afterwards nothing
// is lost, nothing is stored twice, and every source is held and ingesting
// again. The figures are printed. DEMANDD_CHAOS_SEED=N replays a schedule.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("the fault run takes a few minutes")
	}
	began := time.Now()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("DEMANDD_CHAOS_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	rng := rand.New(rand.NewPCG(seed, seed))
	t.Logf("chaos seed %d (DEMANDD_CHAOS_SEED=%d replays it)", seed, seed)

	pg := testdb.StartCluster(t)
	dove := testimap.Start(t)
	f := newFleet(t, pg.URL, dove, 3)
	for i := range 3 {
		f.start(i)
	}
	f.feed()
	testenv.Eventually(t, 60*time.Second, func() bool { s := f.stored(); return s.email > 0 && s.questionnaire > 0 && s.webhook > 0 },
		func() string { return "nothing stored; " + f.tails() })

	// recovered measures, in the background, the time from a fault to the
	// next commit of channel.
	var mu sync.Mutex
	recovery := map[string][]time.Duration{}
	var measuring sync.WaitGroup
	recovered := func(what, channel string, since time.Time) {
		measuring.Add(1)
		go func() {
			defer measuring.Done()
			deadline := time.Now().Add(2 * time.Minute)
			for time.Now().Before(deadline) {
				var first sql.NullTime
				f.db.QueryRow(`SELECT MIN(created_at) FROM raw_items WHERE channel = $1 AND created_at > $2`, channel, since).Scan(&first)
				if first.Valid {
					mu.Lock()
					recovery[what] = append(recovery[what], first.Time.Sub(since))
					mu.Unlock()
					return
				}
				pause(context.Background(), 100*time.Millisecond)
			}
			t.Errorf("%s: no %s committed within 2 minutes", what, channel)
		}()
	}

	const kills = 20
	holderKills := 0
	var lastFault time.Time
	for k := 1; k <= kills; k++ {
		pause(context.Background(), time.Duration(500+rng.IntN(2000))*time.Millisecond)
		victim, held := rng.IntN(3), ""
		if rng.IntN(2) == 0 { // a lease holder, when there is one
			for _, src := range []string{"support", "inbox"}[rng.IntN(2):] {
				if h := f.holder(src); h >= 0 {
					victim, held = h, src
					break
				}
			}
		}
		at := time.Now()
		f.proc(victim).kill(syscall.SIGKILL)
		lastFault = at
		if held != "" {
			holderKills++
			recovered("holder killed", map[string]string{"support": "email", "inbox": "questionnaire"}[held], at)
		}
		t.Logf("%5.1fs kill %2d: replica %d%s", time.Since(began).Seconds(), k, victim, map[bool]string{true: " (holder of " + held + ")", false: ""}[held != ""])
		switch k {
		case 7:
			at := time.Now()
			if err := pg.Restart(); err != nil {
				t.Fatal(err)
			}
			lastFault = time.Now()
			t.Logf("%5.1fs PostgreSQL restarted (immediate) in %v", time.Since(began).Seconds(), time.Since(at).Round(time.Millisecond))
			for _, ch := range []string{"email", "questionnaire", "webhook"} {
				recovered("PostgreSQL restart", ch, lastFault)
			}
		case 14:
			if err := dove.Restart(); err != nil {
				t.Fatal(err)
			}
			lastFault = time.Now()
			t.Logf("%5.1fs Dovecot restarted", time.Since(began).Seconds())
			recovered("Dovecot restart", "email", lastFault)
		}
		pause(context.Background(), time.Duration(rng.IntN(1500))*time.Millisecond)
		f.start(victim)
	}

	// The feed goes on until every channel has committed something sent
	// after the last fault: stopping it at once could leave a channel
	// nothing new to commit (a holder killed just after committing the
	// last file dropped before the kill).
	testenv.Eventually(t, 2*time.Minute, func() bool {
		for _, ch := range []string{"email", "questionnaire", "webhook"} {
			if !f.lastCommit(ch).After(lastFault) {
				return false
			}
		}
		return true
	}, func() string { return "a channel committed nothing after the last fault; " + f.tails() })
	want := f.settle(3 * time.Minute)
	measuring.Wait()
	dupes := f.exactlyOnce()
	got := f.stored()
	// Every source healthy again: each polled source held by a running
	// process, and every channel committing after the last fault.
	for _, src := range []string{"support", "inbox"} {
		if f.holder(src) < 0 {
			t.Errorf("nobody holds %s after the run", src)
		}
	}
	for _, ch := range []string{"email", "questionnaire", "webhook"} {
		if last := f.lastCommit(ch); !last.After(lastFault) {
			t.Errorf("%s: nothing committed after the last fault", ch)
		}
	}
	f.stopAll()

	lost := (want.email - got.email) + (want.questionnaire - got.questionnaire) + (want.webhook - got.webhook)
	report := fmt.Sprintf("chaos (seed %d), %v: %d SIGKILLs (%d of a lease holder), PostgreSQL restarted once (immediate), Dovecot restarted once\n"+
		"  sent:   %d mails, %d file rows (%d files), %d webhook tickets\n"+
		"  stored: %d mails, %d file rows, %d tickets; lost %d, stored twice %d\n",
		seed, time.Since(began).Round(time.Second), kills, holderKills, want.email, want.questionnaire, want.questionnaire/fleetRows,
		want.webhook, got.email, got.questionnaire, got.webhook, lost, dupes)
	for _, what := range []string{"holder killed", "PostgreSQL restart", "Dovecot restart"} {
		med, mx := medianMax(recovery[what])
		report += fmt.Sprintf("  %s → next commit: median %v, max %v (n=%d)\n", what, med.Round(time.Millisecond), mx.Round(time.Millisecond), len(recovery[what]))
	}
	fmt.Print(report)
	t.Log("\n" + report)
	if lost != 0 || dupes != 0 {
		t.Errorf("lost %d, stored twice %d; want 0 and 0", lost, dupes)
	}
}
