package store_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/store"
)

// revision is the stored revision of code.
func revision(t *testing.T, s *store.Store, code string) int64 {
	t.Helper()
	r, err := s.Demand(context.Background(), code)
	if err != nil {
		t.Fatal(err)
	}
	return r.Revision
}

// Every path that changes a demand moves its revision: progress, a replay
// of the rules, a duplicate linked to it, a follow-up that sets its
// status, a link and an unlink by hand.
func TestRevisionMovesOnEveryChange(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		res, err := s.SaveBatch(ctx, []store.Entry{entry("a", "导出很慢", "c@x.cn"), entry("b", "请问发票怎么开", "d@x.cn")}, nil, opts())
		if err != nil {
			t.Fatal(err)
		}
		code, other := res.Codes[0], res.Codes[1]
		rev := revision(t, s, code)
		if rev != 1 {
			t.Fatalf("a new demand's revision is %d, want 1", rev)
		}
		step := func(what string, change func()) {
			t.Helper()
			change()
			if got := revision(t, s, code); got <= rev {
				t.Errorf("%s: revision %d, was %d", what, got, rev)
			} else {
				rev = got
			}
		}
		step("progress", func() {
			if _, _, err := s.UpdateProgress(ctx, code, store.Progress{Status: ptr(demand.StatusInProgress), By: "t"}); err != nil {
				t.Fatal(err)
			}
		})
		step("reclassify", func() {
			old, _ := s.Demand(ctx, code)
			cp := *old
			cp.Type = demand.TypeFeature
			if err := s.Reclassify(ctx, []store.Change{{Old: old, New: &cp}}); err != nil {
				t.Fatal(err)
			}
		})
		step("a duplicate arrives", func() {
			if _, err := s.SaveBatch(ctx, []store.Entry{entry("c", "导出很慢", "c@x.cn")}, nil, opts()); err != nil {
				t.Fatal(err)
			}
		})
		step("a follow-up closes it", func() {
			e := entry("d", "已经好了，谢谢", "c@x.cn")
			e.ThreadCode, e.SetStatus = code, demand.StatusClosed
			if _, err := s.SaveBatch(ctx, []store.Entry{e}, nil, opts()); err != nil {
				t.Fatal(err)
			}
		})
		step("linked to another by hand", func() {
			if err := s.Link(ctx, code, other); err != nil {
				t.Fatal(err)
			}
		})
		step("unlinked", func() {
			if err := s.Unlink(ctx, code, nil); err != nil {
				t.Fatal(err)
			}
		})
		// Nothing to change: no new revision.
		before := revision(t, s, code)
		if _, changed, err := s.UpdateProgress(ctx, code, store.Progress{Type: ptr(demand.TypeFeature), By: "t"}); err != nil || !changed {
			t.Fatalf("confirming the type: changed %v, %v", changed, err)
		}
		if _, changed, err := s.UpdateProgress(ctx, code, store.Progress{Type: ptr(demand.TypeFeature), By: "t"}); err != nil || changed {
			t.Fatalf("the same again: changed %v, %v", changed, err)
		}
		if got := revision(t, s, code); got != before+1 {
			t.Errorf("revision %d after one change and one no-op, want %d", got, before+1)
		}
	})
}

func TestApplyTable(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		res, err := s.SaveBatch(ctx, []store.Entry{entry("a", "导出很慢", ""), entry("b", "发票", ""), entry("c", "培训", ""),
			entry("d", "接口", "")}, nil, opts())
		if err != nil {
			t.Fatal(err)
		}
		a, b, c, d := res.Codes[0], res.Codes[1], res.Codes[2], res.Codes[3]
		if _, _, err := s.UpdateProgress(ctx, c, store.Progress{Status: ptr(demand.StatusDelivered), By: "t"}); err != nil {
			t.Fatal(err)
		}
		rc := revision(t, s, c)
		due := time.Date(2026, 12, 20, 10, 0, 0, 0, time.UTC)
		rows := []store.TableRow{
			{Row: 4, Code: a, Revision: 1, Edits: store.TableEdits{Status: ptr(demand.StatusInProgress), Plan: ptr("下周上线"),
				Urgency: ptr(demand.UrgencyLow), Due: &due}},
			// The same code again, from the same export: the first row moved it.
			{Row: 5, Code: a, Revision: 1, Edits: store.TableEdits{Plan: ptr("另一个方案"), Status: ptr(demand.StatusInProgress)}},
			// Equal to the register: unchanged, even without a revision.
			{Row: 6, Code: b, Edits: store.TableEdits{Status: ptr(demand.StatusNew)}},
			// Different without a revision: a conflict.
			{Row: 7, Code: b, Edits: store.TableEdits{Feedback: ptr("已回访")}},
			{Row: 8, Code: c, Revision: rc, Edits: store.TableEdits{Satisfaction: ptr(3), Status: ptr(demand.StatusClosed)}},
			{Row: 9, Code: "DEM209912999", Revision: 3, Edits: store.TableEdits{Status: ptr(demand.StatusClosed)}},
			{Row: 10, Code: d, Revision: 1, Edits: store.TableEdits{ClearDue: true, Type: ptr(demand.TypeService)}},
		}
		out, err := s.ApplyTable(ctx, rows, "表.xlsx")
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != len(rows) {
			t.Fatalf("%d outcomes for %d rows", len(out), len(rows))
		}
		if o := out[0]; len(o.Changed) != 5 || len(o.Conflicts) != 0 || o.Revision != 2 {
			t.Errorf("row 4: %+v", o)
		}
		if o := out[1]; len(o.Changed) != 0 || len(o.Conflicts) != 1 || o.Conflicts[0].Field != store.FieldPlan ||
			o.Conflicts[0].Now != "下周上线" || o.Conflicts[0].NoRevision {
			t.Errorf("row 5 (the same demand again): %+v", o)
		}
		if o := out[2]; len(o.Changed)+len(o.Conflicts) != 0 {
			t.Errorf("row 6 (equal): %+v", o)
		}
		if o := out[3]; len(o.Conflicts) != 1 || !o.Conflicts[0].NoRevision {
			t.Errorf("row 7 (no revision): %+v", o)
		}
		if o := out[4]; !o.Reopened || len(o.Changed) != 2 || o.Changed[1].Field != store.FieldStatus || o.Changed[1].New != "in_progress" {
			t.Errorf("row 8 (rated 3 and closed): %+v", o)
		}
		if !out[5].Unknown {
			t.Errorf("row 9: %+v", out[5])
		}
		ra, _ := s.Demand(ctx, a)
		if ra.Status != demand.StatusInProgress || ra.ResponsePlan != "下周上线" || ra.Urgency != demand.UrgencyLow ||
			ra.Priority != demand.Quadrant(demand.UrgencyLow, ra.Importance) || !ra.DueAt.Equal(due) || ra.Revision != 2 {
			t.Errorf("a: %+v", ra)
		}
		if rb, _ := s.Demand(ctx, b); rb.FeedbackResult != "" || rb.Revision != 1 {
			t.Errorf("b: feedback %q, revision %d", rb.FeedbackResult, rb.Revision)
		}
		rcAfter, _ := s.Demand(ctx, c)
		if rcAfter.Status != demand.StatusInProgress || rcAfter.Satisfaction != 3 {
			t.Errorf("c: status %s, satisfaction %d", rcAfter.Status, rcAfter.Satisfaction)
		}
		rd, _ := s.Demand(ctx, d)
		if !rd.DueAt.IsZero() || rd.Type != demand.TypeService {
			t.Errorf("d: due %v, type %s", rd.DueAt, rd.Type)
		}
		var confirmed []store.Confirmed
		if err := s.EachConfirmed(ctx, time.Time{}, func(r *demand.Record, c store.Confirmed) error {
			c.At = time.Time{}
			confirmed = append(confirmed, c)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(confirmed) != 2 || confirmed[0] != (store.Confirmed{Urgency: demand.UrgencyLow, By: "表.xlsx"}) ||
			confirmed[1] != (store.Confirmed{Type: demand.TypeService, By: "表.xlsx"}) {
			t.Errorf("confirmed labels %+v", confirmed)
		}
		h, err := s.History(ctx, rcAfter.ID)
		if err != nil {
			t.Fatal(err)
		}
		var detail struct {
			By, Reason string
			Row        int
		}
		if err := json.Unmarshal(h[len(h)-1].Detail, &detail); err != nil || detail.By != "表.xlsx" || detail.Row != 8 || detail.Reason == "" {
			t.Errorf("history %s", h[len(h)-1].Detail)
		}

		// A replay of the rules keeps the labels the table confirmed.
		cp := *rd
		cp.Type = demand.TypeInquiry
		if err := s.Reclassify(ctx, []store.Change{{Old: rd, New: &cp}}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Demand(ctx, d); got.Type != demand.TypeService {
			t.Errorf("after a replay, type %s: the confirmed label was overwritten", got.Type)
		}

		// Applied again: nothing changes.
		rows[0].Revision, rows[4].Revision = 1, rc
		again, err := s.ApplyTable(ctx, rows, "表.xlsx")
		if err != nil {
			t.Fatal(err)
		}
		for i, o := range again {
			if len(o.Changed) != 0 {
				t.Errorf("again, row %d: %+v", rows[i].Row, o)
			}
		}
		if got := revision(t, s, a); got != 2 {
			t.Errorf("a's revision %d after the same rows again", got)
		}
	})
}
