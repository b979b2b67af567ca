package store_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/demandd/demandd/internal/testdb"
	"github.com/demandd/demandd/store"
)

// BenchmarkSmallGroups is the register's share of webhook intake: groups
// of 16 threaded deliveries with a 7 KB body, committed by two goroutines
// as the webhook listener's committers do. b.N is the number of items.
func BenchmarkSmallGroups(b *testing.B) {
	s := open(b, testdb.Postgres(b))
	body := []byte(strings.Repeat(`{"issue":{"number":1,"title":"导出报表时报错","body":"点击导出后页面空白"}},`, 80))
	const group = 16
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				lo := int(next.Add(group)) - group
				if lo >= b.N {
					return
				}
				var entries []store.Entry
				for i := lo; i < min(lo+group, b.N); i++ {
					e := entry(fmt.Sprintf("gh/d-%d", i), fmt.Sprintf("第 %d 号：导出报表时报错", i), "li@example.com")
					e.Raw.Channel, e.Raw.Ref, e.Raw.Body = "webhook", fmt.Sprintf("gh:o/r#%d", i), body
					e.Record.ReplyTo = []string{e.Raw.Ref}
					entries = append(entries, e)
				}
				if _, err := s.SaveBatch(context.Background(), entries, nil, opts()); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "items/s")
}
