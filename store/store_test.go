package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/internal/testdb"
	"github.com/demandd/demandd/store"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// backends runs test against a fresh, migrated store on SQLite and on
// PostgreSQL (its own schema).
func backends(t *testing.T, test func(t *testing.T, s *store.Store)) {
	for _, b := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "d.db") }},
		{"postgres", func(t *testing.T) string { return testdb.Postgres(t) }},
	} {
		t.Run(b.name, func(t *testing.T) {
			s := open(t, b.url(t))
			test(t, s)
		})
	}
}

func open(t testing.TB, url string) *store.Store {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return l
}()

func entry(key, text, email string) store.Entry {
	recv := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	r := &demand.Record{
		Customer:    demand.Customer{Name: "华信科技", Contact: "张伟", Email: email},
		Description: demand.Description{Text: text, Language: "zh"},
		Source:      demand.Source{Channel: demand.ChannelQuestionnaire, Name: "inbox", Origin: demand.OriginRaised, ReceivedAt: recv},
		Urgency:     demand.UrgencyHigh, Type: demand.TypeComplaint, Importance: demand.ImportanceMedium, Priority: demand.P1,
		DueAt: recv.Add(24 * time.Hour), Reasons: []demand.Reason{{Rule: "r", Attribute: "urgency", Value: "high", Matched: []string{"紧急"}}},
		Extra: []demand.Attr{{Name: "来源", Value: "微信"}},
	}
	if email != "" {
		r.Fingerprint = "fp-" + email + "-" + text
	}
	return store.Entry{
		Raw: store.RawItem{Channel: "questionnaire", Source: "inbox", ExternalKey: key, Ref: "f.xlsx 第2行",
			SHA256: "00", ContentType: "application/json", Body: []byte(`{"cells":["` + text + `"]}`),
			Origin: "raised", Status: store.RawOK, ReceivedAt: recv},
		Record: r,
	}
}

func opts() store.BatchOptions {
	return store.BatchOptions{CodePrefix: "DEM", Location: shanghai, Now: time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)}
}

func all(t *testing.T, s *store.Store) []*demand.Record {
	t.Helper()
	var recs []*demand.Record
	if err := s.EachDemand(context.Background(), demand.Filter{}, func(r *demand.Record) error {
		recs = append(recs, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestSaveBatchRoundTripAndCodes(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		entries := []store.Entry{entry("k1", "系统宕机，无法下单", "a@x.cn"), entry("k2", "希望增加导出功能", "b@x.cn")}
		res, err := s.SaveBatch(ctx, entries, &store.Checkpoint{Key: "folder/x", Value: `{"rows":3}`}, opts())
		if err != nil {
			t.Fatal(err)
		}
		if res.New != 2 || len(res.Codes) != 2 {
			t.Fatalf("got %+v, want 2 new", res)
		}
		if got, want := res.Codes[0], "DEM202611001"; got != want {
			t.Errorf("first code %s, want %s", got, want)
		}
		recs := all(t, s)
		if len(recs) != 2 {
			t.Fatalf("got %d records, want 2", len(recs))
		}
		// A saved record holds its id, in the order of the batch.
		for i, e := range entries {
			if e.Record.ID != recs[i].ID || e.Record.Code != recs[i].Code || (i > 0 && e.Record.ID <= entries[i-1].Record.ID) {
				t.Errorf("entry %d saved as %s id %d; stored %s id %d", i, e.Record.Code, e.Record.ID, recs[i].Code, recs[i].ID)
			}
		}
		r := recs[0]
		if r.Code != "DEM202611001" || r.Description.Text != "系统宕机，无法下单" || r.Customer.Email != "a@x.cn" ||
			r.Urgency != demand.UrgencyHigh || r.Priority != demand.P1 || r.Status != demand.StatusNew || r.Occurrences != 1 {
			t.Errorf("round trip lost fields: %+v", r)
		}
		if !r.Source.ReceivedAt.Equal(time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)) || !r.DueAt.Equal(r.Source.ReceivedAt.Add(24*time.Hour)) {
			t.Errorf("times: received %v due %v", r.Source.ReceivedAt, r.DueAt)
		}
		if len(r.Reasons) != 1 || r.Reasons[0].Matched[0] != "紧急" || len(r.Extra) != 1 || r.Extra[0].Value != "微信" {
			t.Errorf("JSON fields: reasons %+v extra %+v", r.Reasons, r.Extra)
		}
		v, ok, err := s.Checkpoint(ctx, "folder/x")
		if err != nil || !ok || v != `{"rows":3}` {
			t.Errorf("checkpoint = %q %v %v", v, ok, err)
		}
		// The next batch continues the month's sequence.
		res, err = s.SaveBatch(ctx, []store.Entry{entry("k3", "培训", "")}, nil, opts())
		if err != nil {
			t.Fatal(err)
		}
		if res.Codes[0] != "DEM202611003" {
			t.Errorf("third code %s", res.Codes[0])
		}
	})
}

func TestSaveBatchIdempotent(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		batch := func() []store.Entry {
			return []store.Entry{entry("k1", "一", ""), entry("k2", "二", ""), entry("k2", "二", "")}
		}
		res, err := s.SaveBatch(ctx, batch(), nil, opts())
		if err != nil {
			t.Fatal(err)
		}
		if res.New != 2 || res.Duplicate != 1 {
			t.Fatalf("first: %+v, want 2 new 1 duplicate (same key twice in a batch)", res)
		}
		res, err = s.SaveBatch(ctx, batch(), nil, opts())
		if err != nil {
			t.Fatal(err)
		}
		if res.New != 0 || res.Duplicate != 3 {
			t.Fatalf("again: %+v, want 3 duplicates", res)
		}
		if c, _ := s.Count(ctx); c.Demands != 2 || c.Raw != 2 {
			t.Errorf("counts %+v", c)
		}
	})
}

func TestQuarantineAndResolve(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		q := entry("bad", "", "")
		q.Raw.Status, q.Raw.Reason, q.Record = store.RawQuarantined, "no description", nil
		res, err := s.SaveBatch(ctx, []store.Entry{entry("good", "好", ""), q}, nil, opts())
		if err != nil {
			t.Fatal(err)
		}
		if res.New != 1 || res.Quarantined != 1 {
			t.Fatalf("got %+v", res)
		}
		items, err := s.RawItems(ctx, store.RawQuarantined, 0)
		if err != nil || len(items) != 1 || items[0].Reason != "no description" {
			t.Fatalf("quarantined = %+v, %v", items, err)
		}
		it, err := s.RawItem(ctx, items[0].ID)
		if err != nil || !strings.Contains(string(it.Body), "cells") {
			t.Fatalf("raw body kept: %+v %v", it, err)
		}
		if err := s.StillQuarantined(ctx, it.ID, "still no description"); err != nil {
			t.Fatal(err)
		}
		rec := entry("bad", "补充了描述", "").Record
		code, err := s.Resolve(ctx, it.ID, rec, opts())
		if err != nil {
			t.Fatal(err)
		}
		if code != "DEM202611002" {
			t.Errorf("code %s", code)
		}
		if _, err := s.Resolve(ctx, it.ID, rec, opts()); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("resolving twice: %v, want ErrNotFound", err)
		}
		items, _ = s.RawItems(ctx, store.RawQuarantined, 0)
		if len(items) != 0 {
			t.Errorf("still quarantined: %+v", items)
		}
		got, err := s.Demand(ctx, code)
		if err != nil || got.RawItemID != it.ID {
			t.Errorf("resolved demand %+v %v", got, err)
		}
	})
}

func TestDuplicatesLinked(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		// Same customer, same text: in one batch and across batches.
		res, err := s.SaveBatch(ctx, []store.Entry{entry("a", "导出很慢", "c@x.cn"), entry("b", "导出很慢", "c@x.cn")}, nil, opts())
		if err != nil {
			t.Fatal(err)
		}
		if res.New != 1 || res.Linked != 1 {
			t.Fatalf("got %+v, want 1 new 1 linked", res)
		}
		if _, err := s.SaveBatch(ctx, []store.Entry{entry("c", "导出很慢", "c@x.cn")}, nil, opts()); err != nil {
			t.Fatal(err)
		}
		recs := all(t, s)
		if len(recs) != 3 {
			t.Fatalf("%d records, want 3: duplicates are kept", len(recs))
		}
		if recs[0].Occurrences != 3 || recs[1].DuplicateOf != recs[0].ID || recs[2].DuplicateOf != recs[0].ID {
			t.Errorf("canonical occurrences %d, links %d %d (canonical id %d)", recs[0].Occurrences, recs[1].DuplicateOf, recs[2].DuplicateOf, recs[0].ID)
		}
		if recs[0].DuplicateOfCode != "" || recs[1].DuplicateOfCode != recs[0].Code || recs[2].DuplicateOfCode != recs[0].Code {
			t.Errorf("canonical codes listed %q %q %q, want the duplicates to name %s", recs[0].DuplicateOfCode,
				recs[1].DuplicateOfCode, recs[2].DuplicateOfCode, recs[0].Code)
		}
	})
}

func TestFilter(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		var es []store.Entry
		for i := 0; i < 5; i++ {
			e := entry(fmt.Sprint(i), fmt.Sprint("需求", i), "")
			e.Record.Source.ReceivedAt = time.Date(2026, 11, 20+i, 12, 0, 0, 0, time.UTC)
			if i == 4 {
				e.Record.Status = demand.StatusClosed
			}
			es = append(es, e)
		}
		if _, err := s.SaveBatch(ctx, es, nil, opts()); err != nil {
			t.Fatal(err)
		}
		count := func(f demand.Filter) int {
			n := 0
			if err := s.EachDemand(ctx, f, func(*demand.Record) error { n++; return nil }); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if got := count(demand.Filter{Since: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)}); got != 3 {
			t.Errorf("since: %d, want 3", got)
		}
		if got := count(demand.Filter{Until: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)}); got != 2 {
			t.Errorf("until: %d, want 2", got)
		}
		if got := count(demand.Filter{Status: []demand.Status{demand.StatusClosed}}); got != 1 {
			t.Errorf("status: %d, want 1", got)
		}
	})
}

func TestConcurrentBatchesGetDistinctCodes(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var es []store.Entry
				for i := 0; i < 20; i++ {
					es = append(es, entry(fmt.Sprintf("w%d-%d", w, i), "x", ""))
				}
				_, err := s.SaveBatch(ctx, es, nil, opts())
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		seen := map[string]bool{}
		for _, r := range all(t, s) {
			if seen[r.Code] {
				t.Fatalf("code %s used twice", r.Code)
			}
			seen[r.Code] = true
		}
		if len(seen) != 160 || !seen["DEM202611160"] {
			t.Errorf("%d codes; want DEM202611001…160", len(seen))
		}
	})
}

func TestTextCleaned(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		e := entry("nul", "a\x00b\xffc", "")
		if _, err := s.SaveBatch(context.Background(), []store.Entry{e}, nil, opts()); err != nil {
			t.Fatal(err)
		}
		if got := all(t, s)[0].Description.Text; got != "ab\uFFFDc" {
			t.Errorf("text %q", got)
		}
	})
}

func TestSchemaNewerRefused(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, bin, err := s.SchemaVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.InsertSchemaVersionForTest(ctx, bin+1); err != nil {
			t.Fatal(err)
		}
		_, err = s.Migrate(ctx)
		if !errors.Is(err, store.ErrSchemaNewer) || !strings.Contains(err.Error(), "upgrade demandd") {
			t.Fatalf("Migrate on a newer schema: %v", err)
		}
		if n, err := s.Migrate(ctx); n != 0 || err == nil {
			t.Fatal("still refused on a second try")
		}
	})
}

func TestMigrateIdempotent(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		n, err := s.Migrate(context.Background())
		if err != nil || n != 0 {
			t.Fatalf("second migrate applied %d, %v", n, err)
		}
	})
}

func TestReclassifyKeepsHistory(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if _, err := s.SaveBatch(ctx, []store.Entry{entry("k", "希望增加导出", "")}, nil, opts()); err != nil {
			t.Fatal(err)
		}
		old := all(t, s)[0]
		cp := *old
		cp.Type, cp.Urgency, cp.Priority, cp.Tags = demand.TypeFeature, demand.UrgencyLow, demand.P2, []string{"导出"}
		if err := s.Reclassify(ctx, []store.Change{{Old: old, New: &cp}}); err != nil {
			t.Fatal(err)
		}
		got := all(t, s)[0]
		if got.Type != demand.TypeFeature || got.Urgency != demand.UrgencyLow || len(got.Tags) != 1 {
			t.Errorf("after reclassify %+v", got)
		}
		h, err := s.History(ctx, got.ID)
		if err != nil || len(h) != 1 || h[0].Kind != "reclassify" {
			t.Fatalf("history %+v %v", h, err)
		}
		var detail map[string]struct{ Type demand.Type }
		if err := json.Unmarshal(h[0].Detail, &detail); err != nil || detail["old"].Type != demand.TypeComplaint || detail["new"].Type != demand.TypeFeature {
			t.Errorf("history detail %s (%v): want the old and the new type", h[0].Detail, err)
		}
	})
}
