package store_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	_ "github.com/lib/pq"

	"github.com/demandd/demandd/internal/testdb"
	"github.com/demandd/demandd/store"
)

// TestStagedBatches: a batch staged while the one before it is not yet
// committed waits for it on a raw item they share, then finds it stored;
// codes follow the order of the saves; a discarded batch leaves nothing
// and can be saved whole later.
func TestStagedBatches(t *testing.T) {
	ctx := context.Background()
	url := testdb.Postgres(t)
	s := open(t, url)
	first := []store.Entry{entry("s-1", "登录很慢", "a@example.com"), entry("s-2", "导出失败", "b@example.com")}
	a, err := s.StageBatch(ctx, first)
	if err != nil || a == nil {
		t.Fatalf("stage a: %v %v", a, err)
	}
	// b repeats s-2, which a holds uncommitted: its insert must wait.
	second := []store.Entry{entry("s-2", "导出失败", "b@example.com"), entry("s-3", "希望支持单点登录", "c@example.com")}
	type staged struct {
		st  *store.Staged
		err error
	}
	bDone := make(chan staged, 1)
	go func() {
		st, err := s.StageBatch(ctx, second)
		bDone <- staged{st, err}
	}()
	waitForLockWait(t, url)
	resA, err := a.Save(ctx, &store.Checkpoint{Key: "k", Value: "after-a"}, opts())
	if err != nil || resA.New != 2 {
		t.Fatalf("save a: %+v %v", resA, err)
	}
	b := <-bDone
	if b.err != nil || b.st == nil {
		t.Fatalf("stage b: %v %v", b.st, b.err)
	}
	resB, err := b.st.Save(ctx, &store.Checkpoint{Key: "k", Value: "after-b"}, opts())
	if err != nil {
		t.Fatal(err)
	}
	if resB.New != 1 || resB.Duplicate != 1 || resB.Outcomes[0].Kind != store.OutcomeDuplicate || resB.Outcomes[0].Code != resA.Codes[1] {
		t.Fatalf("save b: %+v", resB)
	}
	if resB.Codes[0] <= resA.Codes[1] {
		t.Errorf("codes out of order: a %v, b %v", resA.Codes, resB.Codes)
	}
	b.st.Discard() // after Save: nothing
	if v, _, _ := s.Checkpoint(ctx, "k"); v != "after-b" {
		t.Errorf("checkpoint %q", v)
	}

	third := []store.Entry{entry("s-4", "报表打不开", "d@example.com")}
	c, err := s.StageBatch(ctx, third)
	if err != nil || c == nil {
		t.Fatalf("stage c: %v %v", c, err)
	}
	c.Discard()
	if n := countRaw(t, url, "s-4"); n != 0 {
		t.Fatalf("discarded raw item stored %d times", n)
	}
	res, err := s.SaveBatch(ctx, third, nil, opts())
	if err != nil || res.New != 1 {
		t.Fatalf("save c whole: %+v %v", res, err)
	}
	if counts, err := s.Count(ctx); err != nil || counts.Demands != 4 {
		t.Errorf("counts %+v %v", counts, err)
	}
}

// TestStageSlots: staging holds a connection, so at most half the pool's
// batches are staged at once; a third waits for a slot (here until its
// context ends), and a slot comes back when a batch is saved or
// discarded. A pool of one, and SQLite, do not stage (nil): SaveBatch
// does the whole batch.
func TestStageSlots(t *testing.T) {
	ctx := context.Background()
	url := testdb.Postgres(t)
	s, err := store.Open(ctx, url, store.Options{MaxOpenConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	one, err := s.StageBatch(ctx, []store.Entry{entry("slot-1", "a", "")})
	if err != nil || one == nil {
		t.Fatalf("first: %v %v", one, err)
	}
	two, err := s.StageBatch(ctx, []store.Entry{entry("slot-2", "b", "")})
	if err != nil || two == nil {
		t.Fatalf("second: %v %v", two, err)
	}
	gone, cancel := context.WithCancel(ctx)
	cancel()
	if three, err := s.StageBatch(gone, []store.Entry{entry("slot-3", "c", "")}); three != nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("a third of a pool of 4, its context ended: %v %v", three, err)
	}
	one.Discard()
	if _, err := two.Save(ctx, nil, opts()); err != nil {
		t.Fatal(err)
	}
	for i := range 3 { // the slots came back
		st, err := s.StageBatch(ctx, []store.Entry{entry("slot-again", "d", "")})
		if err != nil || st == nil {
			t.Fatalf("again %d: %v %v", i, st, err)
		}
		st.Discard()
	}

	single, err := store.Open(ctx, url, store.Options{MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer single.Close()
	if st, err := single.StageBatch(ctx, []store.Entry{entry("single", "e", "")}); st != nil || err != nil {
		t.Fatalf("a pool of one: %v %v", st, err)
	}
	lite := open(t, "sqlite:"+t.TempDir()+"/d.db")
	if st, err := lite.StageBatch(ctx, []store.Entry{entry("lite", "e", "")}); st != nil || err != nil {
		t.Fatalf("sqlite: %v %v", st, err)
	}
}

// waitForLockWait returns once a session of url's database waits on a lock.
func waitForLockWait(t *testing.T, url string) {
	t.Helper()
	db, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO raw_items%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
	}
	t.Fatal("no session waits on a lock")
}

func countRaw(t *testing.T, url, key string) int {
	t.Helper()
	db, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM raw_items WHERE external_key = $1`, key).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
