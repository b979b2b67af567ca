package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/demandd/demandd/store"
)

func TestReportClaims(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
		const day, lease = "2026-11-28", time.Hour

		run, ok, err := s.ClaimReport(ctx, day, "a", now, lease)
		if err != nil || !ok || run.Status != store.ReportClaimed || run.ClaimedBy != "a" || run.Day != day {
			t.Fatalf("first claim: %+v %v %v", run, ok, err)
		}
		if _, ok, err := s.ClaimReport(ctx, day, "b", now.Add(time.Minute), lease); err != nil || ok {
			t.Fatalf("b claimed a day a holds: %v %v", ok, err)
		}
		// a failed run is retried by whoever claims it next
		if err := s.MarkReportFailed(ctx, day, "a", "disk full", now); err != nil {
			t.Fatal(err)
		}
		run, ok, err = s.ClaimReport(ctx, day, "b", now.Add(2*time.Minute), lease)
		if err != nil || !ok || run.Attempts != 2 || run.Error != "disk full" {
			t.Fatalf("claim of a failed run: %+v %v %v", run, ok, err)
		}
		// a's claim is gone: it must not record anything
		if err := s.MarkReportWritten(ctx, day, "a", "x.xlsx", true, now); !errors.Is(err, store.ErrReportClaimLost) {
			t.Fatalf("a wrote b's run: %v", err)
		}
		// b dies; after its lease a takes the day over
		if _, ok, _ := s.ClaimReport(ctx, day, "a", now.Add(lease), lease); ok {
			t.Fatal("claimed before the lease ran out")
		}
		if _, ok, err := s.ClaimReport(ctx, day, "a", now.Add(lease+3*time.Minute), lease); err != nil || !ok {
			t.Fatalf("no take-over after the lease: %v %v", ok, err)
		}
		if err := s.MarkReportWritten(ctx, day, "a", "r.xlsx", true, now); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkReportDeliveryFailed(ctx, day, "a", "connection refused", true, now); err != nil {
			t.Fatal(err)
		}
		run, _, _ = s.ReportRun(ctx, day)
		if !run.Done() || run.DeliveryStatus != store.DeliveryFailed || run.File != "r.xlsx" {
			t.Fatalf("after delivery failed: %+v", run)
		}
		// a done day is never claimed again, even long after
		if _, ok, _ := s.ClaimReport(ctx, day, "b", now.Add(48*time.Hour), lease); ok {
			t.Fatal("a written day was claimed again")
		}
		fails, err := s.ReportDeliveryFailures(ctx, "2026-11-29")
		if err != nil || len(fails) != 1 || fails[0].DeliveryError != "connection refused" {
			t.Fatalf("delivery failures: %+v %v", fails, err)
		}

		// the next day is delivered: no failure since then
		const next = "2026-11-29"
		if _, ok, _ := s.ClaimReport(ctx, next, "b", now, lease); !ok {
			t.Fatal("next day not claimed")
		}
		if err := s.MarkReportWritten(ctx, next, "b", "n.xlsx", true, now); err != nil {
			t.Fatal(err)
		}
		// written but not mailed, its holder gone: taken over for the mail alone
		run, ok, err = s.ClaimReport(ctx, next, "a", now.Add(2*lease), lease)
		if err != nil || !ok || run.Status != store.ReportWritten || run.Done() {
			t.Fatalf("take-over of an unmailed report: %+v %v %v", run, ok, err)
		}
		if err := s.MarkReportDelivered(ctx, next, "a", now); err != nil {
			t.Fatal(err)
		}
		if fails, _ := s.ReportDeliveryFailures(ctx, "2026-11-30"); len(fails) != 0 {
			t.Fatalf("failures before a delivered report: %+v", fails)
		}
		last, ok, err := s.LastReportDay(ctx)
		if err != nil || !ok || last != next {
			t.Fatalf("last report day %q %v %v", last, ok, err)
		}
		runs, err := s.ReportRuns(ctx, "")
		if err != nil || len(runs) != 2 || runs[0].Day != day || runs[1].Status != store.ReportDelivered {
			t.Fatalf("runs: %+v %v", runs, err)
		}
		if _, ok, err := s.FirstDemandAt(ctx); err != nil || ok {
			t.Fatalf("first demand of an empty register: %v %v", ok, err)
		}
	})
}
