package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/store"
)

func ptr[T any](v T) *T { return &v }

func TestUpdateProgressConfirmedLabelSurvivesReclassify(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		res, err := s.SaveBatch(ctx, []store.Entry{entry("k", "系统宕机", "")}, nil, opts())
		if err != nil {
			t.Fatal(err)
		}
		code := res.Codes[0]
		due := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
		rec, changed, err := s.UpdateProgress(ctx, code, store.Progress{Type: ptr(demand.TypeFeature),
			Urgency: ptr(demand.UrgencyLow), Satisfaction: ptr(4), DueAt: &due, By: "token:ops"})
		if err != nil || !changed {
			t.Fatalf("update: %v changed=%v", err, changed)
		}
		// Importance medium, urgency low: important, not urgent.
		if rec.Type != demand.TypeFeature || rec.Urgency != demand.UrgencyLow || rec.Priority != demand.P2 ||
			rec.Satisfaction != 4 || !rec.DueAt.Equal(due) {
			t.Errorf("after update %+v", rec)
		}
		if _, changed, err := s.UpdateProgress(ctx, code, store.Progress{Type: ptr(demand.TypeFeature), By: "x"}); err != nil || changed {
			t.Errorf("same type again: changed=%v %v", changed, err)
		}
		if _, _, err := s.UpdateProgress(ctx, code, store.Progress{Satisfaction: ptr(6)}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("satisfaction 6: %v, want ErrInvalid", err)
		}
		stale := int64(1)
		if _, _, err := s.UpdateProgress(ctx, code, store.Progress{Satisfaction: ptr(5), IfRevision: &stale}); !errors.Is(err, store.ErrConflict) {
			t.Errorf("stale If-Match: %v, want ErrConflict", err)
		}

		// The rules' replay says complaint/high again: the confirmed labels stay.
		old, err := s.Demand(ctx, code)
		if err != nil {
			t.Fatal(err)
		}
		cp := *old
		cp.Type, cp.Urgency, cp.Priority, cp.Department = demand.TypeComplaint, demand.UrgencyHigh, demand.P1, "运维部"
		cp.Reasons = []demand.Reason{{Rule: "kw", Attribute: "type", Value: "complaint"}}
		if err := s.Reclassify(ctx, []store.Change{{Old: old, New: &cp}}); err != nil {
			t.Fatal(err)
		}
		d, err := s.DemandDetail(ctx, code)
		if err != nil {
			t.Fatal(err)
		}
		got := d.Record
		if got.Type != demand.TypeFeature || got.Urgency != demand.UrgencyLow || got.Priority != demand.P2 || got.Department != "运维部" {
			t.Errorf("after replay: type %s urgency %s priority %s department %q; want the confirmed feature/low, P2, the rules' department",
				got.Type, got.Urgency, got.Priority, got.Department)
		}
		if d.Confirmed.Type != demand.TypeFeature || d.Confirmed.Urgency != demand.UrgencyLow || d.Confirmed.By != "token:ops" || d.Confirmed.At.IsZero() {
			t.Errorf("confirmed %+v", d.Confirmed)
		}
		var rules, confirmed int
		for _, r := range got.Reasons {
			switch r.Rule {
			case "kw":
				rules++
			case store.RuleConfirmed:
				confirmed++
			}
		}
		if rules != 1 || confirmed != 2 {
			t.Errorf("reasons %+v: want the rules' reason and two confirmed ones", got.Reasons)
		}
		if len(d.History) != 2 || d.History[0].Kind != "progress" || d.History[1].Kind != "reclassify" {
			t.Fatalf("history %+v", d.History)
		}
		var detail struct {
			Old, New struct {
				Type          string
				ConfirmedType string `json:"confirmed_type"`
			}
			By string
		}
		if err := json.Unmarshal(d.History[0].Detail, &detail); err != nil || detail.Old.Type != "complaint" ||
			detail.New.Type != "feature" || detail.New.ConfirmedType != "feature" || detail.By != "token:ops" {
			t.Errorf("progress history %s (%v)", d.History[0].Detail, err)
		}
		// A replay that only repeats what is stored writes nothing.
		again, _ := s.Demand(ctx, code)
		if err := s.Reclassify(ctx, []store.Change{{Old: again, New: &cp}}); err != nil {
			t.Fatal(err)
		}
		if h, _ := s.History(ctx, again.ID); len(h) != 2 {
			t.Errorf("%d history entries after a no-op replay, want 2", len(h))
		}
	})
}

func TestListDemands(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		var es []store.Entry
		for i := 0; i < 12; i++ {
			e := entry(fmt.Sprint("k", i), fmt.Sprint("导出_很慢 ", i), fmt.Sprintf("u%d@x.cn", i))
			e.Record.Source.ReceivedAt = time.Date(2026, 11, 1+i, 12, 0, 0, 0, time.UTC)
			if i%3 == 0 {
				e.Record.Urgency, e.Record.Type = demand.UrgencyLow, demand.TypeInquiry
				e.Record.Customer.Name = "Acme 100%"
			}
			es = append(es, e)
		}
		if _, err := s.SaveBatch(ctx, es, nil, opts()); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			q    store.ListQuery
			want int
		}{
			{"all", store.ListQuery{Limit: 100}, 12},
			{"urgency", store.ListQuery{Urgency: []demand.Urgency{demand.UrgencyLow}}, 4},
			{"type or", store.ListQuery{Types: []demand.Type{demand.TypeInquiry, demand.TypeComplaint}}, 12},
			{"since until", store.ListQuery{Since: time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 11, 5, 0, 0, 0, 0, time.UTC)}, 2},
			{"customer literal %", store.ListQuery{Customer: "acme 100%"}, 4},
			{"customer email", store.ListQuery{Customer: "U11@"}, 1},
			{"text literal _", store.ListQuery{Text: "出_很"}, 12},
			{"text underscore is not a wildcard", store.ListQuery{Text: "出x很"}, 0},
			{"channel", store.ListQuery{Channel: []demand.Channel{demand.ChannelEmail}}, 0},
			{"source", store.ListQuery{Source: []string{"inbox"}}, 12},
		} {
			got, _, err := s.ListDemands(ctx, tc.q)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if len(got) != tc.want {
				t.Errorf("%s: %d demands, want %d", tc.name, len(got), tc.want)
			}
		}
		for _, desc := range []bool{false, true} {
			seen := map[string]bool{}
			q := store.ListQuery{Limit: 5, Descending: desc}
			for page := 0; ; page++ {
				got, more, err := s.ListDemands(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				for _, l := range got {
					if seen[l.Record.Code] {
						t.Fatalf("desc=%v: %s twice", desc, l.Record.Code)
					}
					seen[l.Record.Code] = true
				}
				if !more {
					break
				}
				q.After = got[len(got)-1].Record.ID
			}
			if len(seen) != 12 {
				t.Errorf("desc=%v: paged over %d, want 12", desc, len(seen))
			}
		}
	})
}

func TestDemandDetailAndStats(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		res, err := s.SaveBatch(ctx, []store.Entry{entry("a", "导出很慢", "c@x.cn"), entry("b", "导出很慢", "c@x.cn"), entry("c", "培训", "")}, nil, opts())
		if err != nil {
			t.Fatal(err)
		}
		f := entry("f", "补充：还是很慢", "c@x.cn")
		f.ThreadCode = res.Codes[0]
		if r, err := s.SaveBatch(ctx, []store.Entry{f}, nil, opts()); err != nil || r.FollowUp != 1 {
			t.Fatalf("follow-up: %+v %v", r, err)
		}
		d, err := s.DemandDetail(ctx, res.Codes[0])
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Duplicates) != 1 || d.Duplicates[0] != res.Codes[1] {
			t.Errorf("duplicates %v, want [%s]", d.Duplicates, res.Codes[1])
		}
		if len(d.RawItems) != 2 || d.RawItems[0].ID != d.Record.RawItemID || d.RawItems[1].Ref != f.Raw.Ref || d.RawItems[0].Body != nil {
			t.Errorf("raw items %+v", d.RawItems)
		}
		if len(d.History) != 1 || d.History[0].Kind != "follow_up" {
			t.Errorf("history %+v", d.History)
		}
		dup, err := s.DemandDetail(ctx, res.Codes[1])
		if err != nil || dup.DuplicateOfCode != res.Codes[0] {
			t.Errorf("duplicate's canonical code %q %v", dup.DuplicateOfCode, err)
		}
		if _, err := s.DemandDetail(ctx, "DEM000000000"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown code: %v", err)
		}
		st, err := s.Stats(ctx, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if st.Total != 3 || st.Duplicates != 1 || st.ByType["complaint"] != 3 || st.ByUrgency["high"] != 3 ||
			st.ByPriority["P1"] != 3 || st.ByStatus["new"] != 3 || st.ByChannel["questionnaire"] != 3 {
			t.Errorf("stats %+v", st)
		}
		st, err = s.Stats(ctx, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{})
		if err != nil || st.Total != 0 || len(st.ByType) != 0 {
			t.Errorf("stats since 2027: %+v %v", st, err)
		}
	})
}
