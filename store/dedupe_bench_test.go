package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/internal/testdb"
	"github.com/demandd/demandd/store"
)

// BenchmarkDedupeLookup ingests questionnaire-like batches of 1000 with
// near-duplicate linking on over 10k and 1M existing demands (seeded with
// generate_series, outside the timer): the band and customer indexes keep
// the rate flat. dedupe=off is the exact-fingerprint linking alone, the
// rate before near-duplicates, over the same 10k.
func BenchmarkDedupeLookup(b *testing.B) {
	for _, c := range []struct {
		existing int
		on       bool
	}{{10_000, false}, {10_000, true}, {1_000_000, true}} {
		b.Run(fmt.Sprintf("existing=%d/dedupe=%t", c.existing, c.on), func(b *testing.B) {
			existing := c.existing
			ctx := context.Background()
			url := testdb.Postgres(b)
			s := open(b, url)
			db, err := sql.Open("postgres", url)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			seed := fmt.Sprintf(`INSERT INTO demands (code, channel, source_name, origin, received_at, urgency, type, importance,
				priority, created_at, updated_at, last_activity_at, contact_email, body)
				SELECT 'SEED' || g, 'questionnaire', 'seed', 'raised', now() - (g %% 720) * interval '1 hour', 'low', 'consult',
				'medium', 'P4', now(), now(), now(), 'c' || (g %% 50000) || '@x.com', 'seed text ' || g
				FROM generate_series(1, %d) g`, existing)
			fill := `INSERT INTO demand_simhash (demand_id, customer_key, received_at, simhash, band0, band1, band2, band3, cleaned)
				SELECT id, contact_email, received_at, h, h & 65535, (h >> 16) & 65535, (h >> 32) & 65535, (h >> 48) & 65535, body
				FROM (SELECT id, contact_email, received_at, body, ('x' || substr(md5(body), 1, 16))::bit(64)::bigint AS h FROM demands) d`
			for _, q := range []string{seed, fill, `ANALYZE demands`, `ANALYZE demand_simhash`} {
				if _, err := db.ExecContext(ctx, q); err != nil {
					b.Fatal(err)
				}
			}
			o := opts()
			if c.on {
				o.Dedupe = dedupeCfg(nil)
			}
			o.Now = time.Now()
			var lat []time.Duration
			rows := 0
			b.ResetTimer()
			for i := range b.N {
				es := make([]store.Entry, 1000)
				for j := range es {
					k := i*1000 + j
					text := fmt.Sprintf("第%d份问卷：导出报表的时候系统非常慢，每次要等%d分钟以上才能下载完成，影响我们月底结账，希望优化", k, k%97)
					es[j] = nearEntry(fmt.Sprintf("b%d", k), text, fmt.Sprintf("c%d@x.com", k%50000), time.Now().Add(-time.Hour), demand.UrgencyLow)
				}
				start := time.Now()
				if _, err := s.SaveBatch(ctx, es, nil, o); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
				rows += len(es)
			}
			b.StopTimer()
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(lat[len(lat)*99/100].Milliseconds()), "p99-ms/batch")
		})
	}
}
