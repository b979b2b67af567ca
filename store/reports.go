package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ReportRun is one day's daily report (需求日报): who claimed it, whether it
// was written and mailed. Day is the date it covers, YYYY-MM-DD in the
// configured time zone.
type ReportRun struct {
	Day            string    `db:"day" json:"day"`
	Status         string    `db:"status" json:"status"` // claimed, written, delivered or failed
	ClaimedBy      string    `db:"claimed_by" json:"claimed_by"`
	ClaimedAt      time.Time `db:"claimed_at" json:"claimed_at"`
	LeaseUntil     time.Time `db:"lease_until" json:"lease_until"`
	Attempts       int       `db:"attempts" json:"attempts"`
	File           string    `db:"file" json:"file"`
	Error          string    `db:"error" json:"error"`
	DeliveryStatus string    `db:"delivery_status" json:"delivery_status"` // "", pending, delivered or failed
	DeliveryError  string    `db:"delivery_error" json:"delivery_error"`
	UpdatedAt      time.Time `db:"updated_at" json:"updated_at"`
}

// Statuses of a report run and of its delivery.
const (
	ReportClaimed   = "claimed"   // a process is writing it
	ReportWritten   = "written"   // the workbook is in place
	ReportDelivered = "delivered" // written and mailed
	ReportFailed    = "failed"    // writing failed; the next claim retries it

	DeliveryNone      = ""          // no mail configured
	DeliveryPending   = "pending"   // to be mailed, or being retried
	DeliveryDelivered = "delivered" // the SMTP server accepted it
	DeliveryFailed    = "failed"    // given up; the next report says so
)

// ErrReportClaimLost means the run is no longer this process's: its lease
// ran out and another process took the day over.
var ErrReportClaimLost = errors.New("report run claimed by another process")

// Done reports whether the day needs nothing more: written (and mailed,
// or given up mailing) or delivered.
func (r ReportRun) Done() bool {
	return r.Status == ReportDelivered || (r.Status == ReportWritten && r.DeliveryStatus != DeliveryPending)
}

func (s *Store) reportColumns() string {
	day := `day`
	if s.dialect == Postgres {
		day = `to_char(day, 'YYYY-MM-DD') AS day` // a DATE scans as a time at midnight UTC otherwise
	}
	return day + `, status, claimed_by, claimed_at, lease_until, attempts, file, error, delivery_status, delivery_error, updated_at`
}

// ClaimReport claims day for holder until now+lease. It claims a day no
// one claimed, a day whose run failed (a failed report is retried, not
// skipped), and a day whose holder's lease ran out while writing or
// mailing it — its process died. claimed is false when another process
// holds the day or it is done; run is the row as it is after the attempt,
// so the caller sees whether only the mail is left (Status written).
// The row's primary key makes this safe across processes on one
// PostgreSQL: the insert and the conditional update are each atomic.
func (s *Store) ClaimReport(ctx context.Context, day, holder string, now time.Time, lease time.Duration) (run ReportRun, claimed bool, err error) {
	now = now.UTC()
	until := now.Add(lease)
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO report_runs (day, status, claimed_by, claimed_at, lease_until,
		attempts, updated_at) VALUES (?, 'claimed', ?, ?, ?, 1, ?) ON CONFLICT (day) DO NOTHING`), day, holder, now, until, now)
	if err != nil {
		return run, false, fmt.Errorf("store: claim report %s: %w", day, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return run, false, fmt.Errorf("store: claim report %s: %w", day, err)
	}
	if n == 0 {
		res, err = s.db.ExecContext(ctx, s.db.Rebind(`UPDATE report_runs SET
			status = CASE WHEN status = 'written' THEN 'written' ELSE 'claimed' END,
			claimed_by = ?, claimed_at = ?, lease_until = ?, attempts = attempts + 1, updated_at = ?
			WHERE day = ? AND (status = 'failed' OR (status = 'claimed' AND lease_until < ?)
				OR (status = 'written' AND delivery_status = 'pending' AND lease_until < ?))`),
			holder, now, until, now, day, now, now)
		if err != nil {
			return run, false, fmt.Errorf("store: claim report %s: %w", day, err)
		}
		if n, err = res.RowsAffected(); err != nil {
			return run, false, fmt.Errorf("store: claim report %s: %w", day, err)
		}
	}
	run, _, err = s.ReportRun(ctx, day)
	if err != nil {
		return run, false, err
	}
	return run, n == 1, nil
}

// ReportRun returns one day's run; ok is false when the day was never
// claimed.
func (s *Store) ReportRun(ctx context.Context, day string) (run ReportRun, ok bool, err error) {
	err = s.db.GetContext(ctx, &run, s.db.Rebind(`SELECT `+s.reportColumns()+` FROM report_runs WHERE day = ?`), day)
	if errors.Is(err, sql.ErrNoRows) {
		return run, false, nil
	}
	if err != nil {
		return run, false, fmt.Errorf("store: read report run %s: %w", day, err)
	}
	return run, true, nil
}

// ReportRuns lists the runs of from and later days (all when from is
// ""), oldest first.
func (s *Store) ReportRuns(ctx context.Context, from string) ([]ReportRun, error) {
	var out []ReportRun
	if err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT `+s.reportColumns()+` FROM report_runs
		WHERE day >= ? ORDER BY day`), orFirstDay(from)); err != nil {
		return nil, fmt.Errorf("store: list report runs: %w", err)
	}
	return out, nil
}

// LastReportDay returns the latest day whose report was written; ok is
// false before the first.
func (s *Store) LastReportDay(ctx context.Context) (day string, ok bool, err error) {
	var run ReportRun
	err = s.db.GetContext(ctx, &run, `SELECT `+s.reportColumns()+` FROM report_runs
		WHERE status IN ('written', 'delivered') ORDER BY day DESC LIMIT 1`)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("store: last report day: %w", err)
	}
	return run.Day, true, nil
}

// orFirstDay makes "" a day before every other, for a DATE column too.
func orFirstDay(day string) string {
	if day == "" {
		return "0001-01-01"
	}
	return day
}

// MarkReportWritten records that holder wrote day's workbook to file;
// deliver says whether it is still to be mailed. ErrReportClaimLost means
// another process took the day over, so this one must not mail it.
func (s *Store) MarkReportWritten(ctx context.Context, day, holder, file string, deliver bool, now time.Time) error {
	delivery := DeliveryNone
	if deliver {
		delivery = DeliveryPending
	}
	return s.updateReport(ctx, "mark report written", day, `status = 'written', file = ?, error = '', delivery_status = ?,
		updated_at = ? WHERE day = ? AND claimed_by = ? AND status = 'claimed'`, clean(file), delivery, now.UTC(), day, holder)
}

// MarkReportFailed records that holder could not write day's workbook;
// the next claim retries it.
func (s *Store) MarkReportFailed(ctx context.Context, day, holder, reason string, now time.Time) error {
	return s.updateReport(ctx, "mark report failed", day, `status = 'failed', error = ?, updated_at = ?
		WHERE day = ? AND claimed_by = ? AND status = 'claimed'`, clean(reason), now.UTC(), day, holder)
}

// MarkReportDelivered records that day's mail was accepted.
func (s *Store) MarkReportDelivered(ctx context.Context, day, holder string, now time.Time) error {
	return s.updateReport(ctx, "mark report delivered", day, `status = 'delivered', delivery_status = 'delivered',
		delivery_error = '', updated_at = ? WHERE day = ? AND claimed_by = ? AND status = 'written'`, now.UTC(), day, holder)
}

// MarkReportDeliveryFailed records a failed attempt to mail day's report:
// pending while it is retried, failed once given up (final).
func (s *Store) MarkReportDeliveryFailed(ctx context.Context, day, holder, reason string, final bool, now time.Time) error {
	delivery := DeliveryPending
	if final {
		delivery = DeliveryFailed
	}
	return s.updateReport(ctx, "mark report delivery failed", day, `delivery_status = ?, delivery_error = ?, updated_at = ?
		WHERE day = ? AND claimed_by = ? AND status = 'written'`, delivery, clean(reason), now.UTC(), day, holder)
}

func (s *Store) updateReport(ctx context.Context, op, day, set string, args ...any) error {
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE report_runs SET `+set), args...)
	if err != nil {
		return fmt.Errorf("store: %s %s: %w", op, day, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: %s %s: %w", op, day, err)
	}
	if n == 0 {
		return fmt.Errorf("store: %s %s: %w", op, day, ErrReportClaimLost)
	}
	return nil
}

// ReportDeliveryFailures returns the reports before day whose mail was
// given up since the last one delivered, newest first: what the next
// report's 概览 tells its readers they missed. At most a month is looked
// at.
func (s *Store) ReportDeliveryFailures(ctx context.Context, before string) ([]ReportRun, error) {
	var runs []ReportRun
	if err := s.db.SelectContext(ctx, &runs, s.db.Rebind(`SELECT `+s.reportColumns()+` FROM report_runs
		WHERE day < ? AND delivery_status IN ('delivered', 'failed') ORDER BY day DESC LIMIT 31`), before); err != nil {
		return nil, fmt.Errorf("store: report delivery failures: %w", err)
	}
	var out []ReportRun
	for _, r := range runs {
		if r.DeliveryStatus == DeliveryDelivered {
			break
		}
		out = append(out, r)
	}
	return out, nil
}

// FirstDemandAt returns when the register's first demand was received;
// ok is false for an empty register. The report scheduler starts its
// first catch-up there.
func (s *Store) FirstDemandAt(ctx context.Context) (at time.Time, ok bool, err error) {
	// ORDER BY rather than MIN: SQLite returns an aggregate as text.
	err = s.db.GetContext(ctx, &at, `SELECT received_at FROM demands ORDER BY received_at LIMIT 1`)
	if errors.Is(err, sql.ErrNoRows) {
		return at, false, nil
	}
	if err != nil {
		return at, false, fmt.Errorf("store: first demand: %w", err)
	}
	return at, true, nil
}
