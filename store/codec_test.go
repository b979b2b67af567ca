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
		ctx := context.Background()
		var entries []store.Entry
		for name, body := range bodies {
			e := entry("codec-"+name, "", "")
			e.Raw.Body = body
			sum := sha256.Sum256(body)
			e.Raw.SHA256 = hex.EncodeToString(sum[:])
			e.Raw.Status, e.Raw.Reason, e.Record = store.RawQuarantined, "kept", nil
			entries = append(entries, e)
		}
		if _, err := s.SaveBatch(ctx, entries, nil, opts()); err != nil {
			t.Fatal(err)
		}
		items, err := s.RawItems(ctx, store.RawQuarantined, 0)
		if err != nil || len(items) != len(bodies) {
			t.Fatalf("%d items, %v", len(items), err)
		}
		for _, it := range items {
			got, err := s.RawItem(ctx, it.ID)
			if err != nil {
				t.Fatal(err)
			}
			name := strings.TrimPrefix(got.ExternalKey, "codec-")
			sum := sha256.Sum256(got.Body)
			if !bytes.Equal(got.Body, bodies[name]) || hex.EncodeToString(sum[:]) != got.SHA256 {
				t.Errorf("%s: %d bytes back, digest %x, stored digest %s", name, len(got.Body), sum, got.SHA256)
			}
		}
	})
}
