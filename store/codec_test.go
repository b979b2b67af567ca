package store_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/demandd/demandd/store"
)

// Raw bodies come back bit for bit, whether they were stored compressed
// (a long JSON payload), too small to compress, or incompressible.
func TestRawBodiesReadBackBitForBit(t *testing.T) {
	random := make([]byte, 40<<10)
	_, _ = rand.Read(random)
	var long strings.Builder
	for i := range 400 {
		fmt.Fprintf(&long, `{"issue":{"number":%d,"title":"导出报表时报错","body":"点击导出后页面空白，请尽快处理"}},`, i)
	}
	bodies := map[string][]byte{"long": []byte(long.String()), "short": []byte(`{"a":1}`), "random": random,
		"empty": {}}
	backends(t, func(t *testing.T, s *store.Store) {
		var entries []store.Entry
		for name, body := range bodies {
			e := entry("codec-"+name, "", "")
			e.Raw.Body = body
			sum := sha256.Sum256(body)
			e.Raw.SHA256 = hex.EncodeToString(sum[:])
			e.Raw.Status, e.Raw.Reason, e.Record = store.RawQuarantined, "kept", nil
			entries = append(entries, e)
		}
		_, back := savedBack(t, s, entries, len(bodies))
		for key, got := range back {
			name := strings.TrimPrefix(key, "codec-")
			sum := sha256.Sum256(got.Body)
			if !bytes.Equal(got.Body, bodies[name]) || hex.EncodeToString(sum[:]) != got.SHA256 {
				t.Errorf("%s: %d bytes back, digest %x, stored digest %s", name, len(got.Body), sum, got.SHA256)
			}
		}
	})
}

// A batch may carry only a checkpoint: the last one of a file whose rows
// were all committed before a restart.
func TestEmptyBatchMovesCheckpoint(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if _, err := s.SaveBatch(ctx, nil, &store.Checkpoint{Key: "folder/inbox/x", Value: "done"}, opts()); err != nil {
			t.Fatal(err)
		}
		if v, ok, err := s.Checkpoint(ctx, "folder/inbox/x"); err != nil || !ok || v != "done" {
			t.Errorf("checkpoint %q %v %v", v, ok, err)
		}
	})
}

// A batch bigger than one INSERT holds — more rows than a chunk, bodies
// together over a chunk's bytes — keeps every body bit for bit (bytes
// that text protocols escape included), gives a key repeated across
// chunks one item, and answers the repeat as a duplicate.
func TestRawItemsAcrossChunks(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		var entries []store.Entry
		want := map[string][]byte{}
		add := func(key string, body []byte) {
			e := entry(key, "", "")
			e.Raw.Body = body
			sum := sha256.Sum256(body)
			e.Raw.SHA256 = hex.EncodeToString(sum[:])
			e.Raw.Status, e.Raw.Reason, e.Record = store.RawQuarantined, "kept", nil
			entries = append(entries, e)
		}
		for i := range 700 {
			body := []byte(fmt.Sprintf("row %d \\ \\x00 \x00 \xff\xfe \t\r\n%s", i, strings.Repeat("需求", i%50)))
			want[fmt.Sprintf("chunk-%d", i)] = body
			add(fmt.Sprintf("chunk-%d", i), body)
		}
		for i := range 3 {
			big := make([]byte, 5<<20)
			_, _ = rand.Read(big)
			want[fmt.Sprintf("big-%d", i)] = big
			add(fmt.Sprintf("big-%d", i), big)
		}
		add("chunk-3", []byte("a second delivery of chunk-3")) // in a later chunk
		res, back := savedBack(t, s, entries, len(want))
		if res.Quarantined != len(want) || res.Duplicate != 1 || res.Outcomes[len(entries)-1].Kind != store.OutcomeDuplicate {
			t.Fatalf("quarantined %d of %d, duplicates %d, last %+v", res.Quarantined, len(want), res.Duplicate, res.Outcomes[len(entries)-1])
		}
		for key, got := range back {
			if !bytes.Equal(got.Body, want[key]) {
				t.Errorf("%s: %d bytes back, want %d", key, len(got.Body), len(want[key]))
			}
		}
	})
}

// TestRawItemFieldsBackExactly stores raw items whose columns go to
// PostgreSQL as binary arrays (pgArray): times before and after 2000 to
// the microsecond, in another zone, text in several scripts, an empty
// body; each reads back as it went in.
func TestRawItemFieldsBackExactly(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		shanghai := time.FixedZone("CST", 8*3600)
		times := []time.Time{
			time.Date(1999, 12, 31, 23, 59, 59, 999999000, time.UTC),
			time.Date(2026, 11, 30, 9, 1, 2, 345678000, shanghai),
			time.Date(1970, 1, 1, 0, 0, 0, 1000, time.UTC),
		}
		var entries []store.Entry
		for i, at := range times {
			e := entry(fmt.Sprintf("exact-%d", i), "", "")
			e.Raw.ReceivedAt, e.Record = at, nil
			e.Raw.Status, e.Raw.Reason = store.RawQuarantined, fmt.Sprintf("原因 %d — reason ü", i)
			e.Raw.Ref, e.Raw.Source = "表格 第"+fmt.Sprint(i)+"行", "收件箱"
			if i == 2 {
				e.Raw.Body = nil
			}
			entries = append(entries, e)
		}
		_, back := savedBack(t, s, entries, len(times))
		for i, e := range entries {
			got, want := back[e.Raw.ExternalKey], e.Raw
			if !got.ReceivedAt.Equal(want.ReceivedAt) || got.Reason != want.Reason || got.Ref != want.Ref ||
				got.Source != want.Source || !bytes.Equal(got.Body, want.Body) || got.ContentType != want.ContentType {
				t.Errorf("%d back as %v %q %q %q %q %q, want %v %q %q %q %q %q", i, got.ReceivedAt, got.Reason, got.Ref,
					got.Source, got.Body, got.ContentType, want.ReceivedAt, want.Reason, want.Ref, want.Source, want.Body, want.ContentType)
			}
		}
	})
}

// savedBack saves entries, quarantined, in one batch and reads every
// quarantined raw item back whole, by external key; want is how many
// there must be.
func savedBack(t *testing.T, s *store.Store, entries []store.Entry, want int) (store.SaveResult, map[string]*store.RawItem) {
	t.Helper()
	ctx := context.Background()
	res, err := s.SaveBatch(ctx, entries, nil, opts())
	if err != nil {
		t.Fatal(err)
	}
	items, err := s.RawItems(ctx, store.RawQuarantined, 0)
	if err != nil || len(items) != want {
		t.Fatalf("%d items, %v", len(items), err)
	}
	back := map[string]*store.RawItem{}
	for _, it := range items {
		got, err := s.RawItem(ctx, it.ID)
		if err != nil {
			t.Fatal(err)
		}
		back[got.ExternalKey] = got
	}
	return res, back
}
