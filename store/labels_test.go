package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/store"
)

func TestEachConfirmed(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		early, late := entry("e1", "系统宕机", ""), entry("e2", "希望增加导出功能", "")
		late.Record.Source.ReceivedAt = late.Record.Source.ReceivedAt.Add(48 * time.Hour)
		late.Raw.ReceivedAt = late.Record.Source.ReceivedAt
		res, err := s.SaveBatch(ctx, []store.Entry{early, late, entry("e3", "请问怎么开发票", "")}, nil, opts())
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.UpdateProgress(ctx, res.Codes[0], store.Progress{Type: ptr(demand.TypeService), By: "ops"}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.UpdateProgress(ctx, res.Codes[1], store.Progress{Urgency: ptr(demand.UrgencyLow), By: "ops"}); err != nil {
			t.Fatal(err)
		}
		type seen struct {
			code, text string
			c          store.Confirmed
			confirmed  int // confirmed-label reasons on the record
		}
		collect := func(since time.Time) []seen {
			var got []seen
			err := s.EachConfirmed(ctx, since, func(r *demand.Record, c store.Confirmed) error {
				n := 0
				for _, why := range r.Reasons {
					if why.Rule == store.RuleConfirmed {
						n++
					}
				}
				c.At = time.Time{} // set by the database
				got = append(got, seen{r.Code, r.Description.Text, c, n})
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		tests := []struct {
			name  string
			since time.Time
			want  []seen
		}{
			{"all", time.Time{}, []seen{
				{res.Codes[0], "系统宕机", store.Confirmed{Type: demand.TypeService, By: "ops"}, 1},
				{res.Codes[1], "希望增加导出功能", store.Confirmed{Urgency: demand.UrgencyLow, By: "ops"}, 1},
			}},
			{"since", early.Record.Source.ReceivedAt.Add(time.Hour), []seen{
				{res.Codes[1], "希望增加导出功能", store.Confirmed{Urgency: demand.UrgencyLow, By: "ops"}, 1},
			}},
		}
		for _, tt := range tests {
			got := collect(tt.since)
			if len(got) != len(tt.want) {
				t.Fatalf("%s: %+v, want %+v", tt.name, got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("%s: %+v, want %+v", tt.name, got[i], tt.want[i])
				}
			}
		}
		stop := errors.New("stop")
		if err := s.EachConfirmed(ctx, time.Time{}, func(*demand.Record, store.Confirmed) error { return stop }); !errors.Is(err, stop) {
			t.Errorf("fn's error: %v", err)
		}
	})
}
