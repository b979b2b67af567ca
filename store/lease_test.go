package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/demandd/demandd/internal/testenv"
	"github.com/demandd/demandd/store"
)

// TestLeaseAcquireRenewExpire: one holder at a time; another takes the
// lease only once it has expired, with a new token; the old holder can
// then neither renew it nor commit under it.
func TestLeaseAcquireRenewExpire(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		const key = "source/inbox"
		a, ok, _, err := s.AcquireLease(ctx, key, "host-a:1:aa", time.Hour)
		if err != nil || !ok || a.Token != 1 {
			t.Fatalf("first acquisition: %+v %v %v, want token 1", a, ok, err)
		}
		_, ok, left, err := s.AcquireLease(ctx, key, "host-b:2:bb", time.Hour)
		if err != nil || ok {
			t.Fatalf("second owner acquired a held lease: %v %v", ok, err)
		}
		if left < 59*time.Minute || left > time.Hour {
			t.Errorf("remaining %v, want about an hour", left)
		}
		again, ok, _, err := s.AcquireLease(ctx, key, "host-a:1:aa", 300*time.Millisecond)
		if err != nil || !ok || again.Token != 2 {
			t.Fatalf("the holder acquires again: %+v %v %v, want token 2", again, ok, err)
		}
		if ok, err := s.RenewLease(ctx, a); err != nil || ok {
			t.Errorf("renewal under the superseded token 1: %v %v, want refused", ok, err)
		}
		if ok, err := s.RenewLease(ctx, again); err != nil || !ok {
			t.Fatalf("renewal: %v %v", ok, err)
		}
		var b store.Lease
		testenv.Eventually(t, 10*time.Second, func() bool {
			var err error
			b, ok, _, err = s.AcquireLease(ctx, key, "host-b:2:bb", time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}, func() string { return "the second owner never got the expired lease" })
		if b.Token != 3 {
			t.Errorf("token after the takeover %d, want 3", b.Token)
		}
		if ok, err := s.RenewLease(ctx, again); err != nil || ok {
			t.Errorf("the old holder renewed a lease taken over: %v %v", ok, err)
		}
		info, found, err := s.LeaseInfo(ctx, key)
		if err != nil || !found || info.Owner != "host-b:2:bb" || info.Token != 3 || info.Remaining <= 0 || info.AcquiredAt.IsZero() {
			t.Errorf("lease row: %+v %v %v", info, found, err)
		}
	})
}

// TestFencedCommit: a batch commits under a held lease; once the lease is
// taken over, the old holder's batch is refused whole — no raw item, no
// record, no checkpoint — and the new holder's commits.
func TestFencedCommit(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		const key = "source/inbox"
		a, _, _, err := s.AcquireLease(ctx, key, "a", 200*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		withFence := func(l store.Lease) store.BatchOptions {
			o := opts()
			o.Fence = l.Fence()
			return o
		}
		if _, err := s.SaveBatch(ctx, []store.Entry{entry("k1", "系统宕机，无法下单", "a@x.cn")},
			&store.Checkpoint{Key: "folder/x", Value: "1"}, withFence(a)); err != nil {
			t.Fatalf("commit under a held lease: %v", err)
		}
		var b store.Lease
		testenv.Eventually(t, 10*time.Second, func() bool {
			var ok bool
			b, ok, _, err = s.AcquireLease(ctx, key, "b", time.Hour)
			return err == nil && ok
		}, func() string { return fmt.Sprint("no takeover: ", err) })

		_, err = s.SaveBatch(ctx, []store.Entry{entry("k2", "希望增加导出功能", "b@x.cn")},
			&store.Checkpoint{Key: "folder/x", Value: "2"}, withFence(a))
		if !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("commit of the old holder: %v, want ErrLeaseLost", err)
		}
		if c, _ := s.Count(ctx); c.Raw != 1 || c.Demands != 1 {
			t.Errorf("after the refused commit: %+v, want 1 raw item and 1 demand", c)
		}
		if v, _, _ := s.Checkpoint(ctx, "folder/x"); v != "1" {
			t.Errorf("checkpoint %q after the refused commit, want 1", v)
		}
		res, err := s.SaveBatch(ctx, []store.Entry{entry("k2", "希望增加导出功能", "b@x.cn")},
			&store.Checkpoint{Key: "folder/x", Value: "2"}, withFence(b))
		if err != nil || res.New != 1 {
			t.Fatalf("commit of the new holder: %+v %v", res, err)
		}
		// An expired lease fences too, even before anybody takes it.
		c, _, _, err := s.AcquireLease(ctx, "source/other", "c", 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, 10*time.Second, func() bool {
			info, _, _ := s.LeaseInfo(ctx, "source/other")
			return info.Remaining < 0
		}, func() string { return "the lease never expired" })
		if _, err := s.SaveBatch(ctx, nil, &store.Checkpoint{Key: "other", Value: "1"}, withFence(c)); !errors.Is(err, store.ErrLeaseLost) {
			t.Errorf("commit under an expired lease: %v, want ErrLeaseLost", err)
		}
	})
}

// TestLeaseReleaseAndClear: a released lease is free at once, and its
// token still grows; ClearLeases frees every lease.
func TestLeaseReleaseAndClear(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a, _, _, err := s.AcquireLease(ctx, "k", "a", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.ReleaseLease(ctx, a); err != nil {
			t.Fatal(err)
		}
		b, ok, _, err := s.AcquireLease(ctx, "k", "b", time.Hour)
		if err != nil || !ok || b.Token != 2 {
			t.Fatalf("after release: %+v %v %v, want b with token 2", b, ok, err)
		}
		if err := s.ReleaseLease(ctx, a); err != nil { // no longer held: nothing happens
			t.Fatal(err)
		}
		if _, ok, _, _ := s.AcquireLease(ctx, "k", "c", time.Hour); ok {
			t.Fatal("an old holder's release freed the new holder's lease")
		}
		if err := s.ClearLeases(ctx); err != nil {
			t.Fatal(err)
		}
		if _, ok, _, err := s.AcquireLease(ctx, "k", "c", time.Hour); err != nil || !ok {
			t.Fatalf("after ClearLeases: %v %v", ok, err)
		}
		all, err := s.Leases(ctx)
		if err != nil || len(all) != 1 || all[0].Owner != "c" || all[0].Token != 3 {
			t.Errorf("leases: %+v %v", all, err)
		}
	})
}

// TestLeaseRace: many owners ask for one free lease at once; exactly one
// gets it.
func TestLeaseRace(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		const n = 8
		var wg sync.WaitGroup
		won := make(chan string, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				owner := fmt.Sprint("owner-", i)
				if _, ok, _, err := s.AcquireLease(ctx, "race", owner, time.Hour); err != nil {
					t.Error(err)
				} else if ok {
					won <- owner
				}
			}()
		}
		wg.Wait()
		close(won)
		var winners []string
		for w := range won {
			winners = append(winners, w)
		}
		if len(winners) != 1 {
			t.Fatalf("winners %v, want exactly one", winners)
		}
	})
}
