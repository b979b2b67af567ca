package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/demandd/demandd/demand"
)

// What the daily report (需求日报) reads. Each list is streamed by one
// statement, so memory stays flat whatever the register's size; the
// overview's figures are a handful of aggregate statements. Day boundaries
// are computed in Go in the report's zone and passed as instants, so the
// statements are the same on both dialects and use the received_at index.

const (
	openStatuses   = `('new', 'in_progress')`
	closedStatuses = `('delivered', 'accepted', 'closed', 'rejected')`
	// intakeDays is the length of the intake series and of the SLA window.
	intakeDays = 30
	// topRepeated is how many of the most repeated demands are shown.
	topRepeated = 10
)

// reportDims are the attributes the overview counts by.
var reportDims = []string{"type", "urgency", "priority", "channel", "department", "status"}

// reportDay checks q and returns its zone.
func reportDay(q demand.ReportQuery) (*time.Location, error) {
	if q.Start.IsZero() || !q.End.After(q.Start) {
		return nil, fmt.Errorf("store: report: no day (start %v, end %v)", q.Start, q.End)
	}
	if q.Location != nil {
		return q.Location, nil
	}
	return q.Start.Location(), nil
}

// daysBefore is the midnight n days before the day starting at start.
func daysBefore(start time.Time, loc *time.Location, n int) time.Time {
	s := start.In(loc)
	return time.Date(s.Year(), s.Month(), s.Day()-n, 0, 0, 0, 0, loc)
}

// ReportSummary gathers the daily report's figures for the day of q: the
// day's intake by attribute beside the day before and the week before,
// SLA compliance, open and overdue counts, the most repeated demands, the
// 30-day intake series and open demands by department.
func (s *Store) ReportSummary(ctx context.Context, q demand.ReportQuery) (*demand.DaySummary, error) {
	loc, err := reportDay(q)
	if err != nil {
		return nil, err
	}
	if q.Now.IsZero() {
		q.Now = time.Now()
	}
	sum := &demand.DaySummary{}
	if err := s.reportTallies(ctx, q, loc, sum); err != nil {
		return nil, err
	}
	if err := s.reportIntake(ctx, q, loc, sum); err != nil {
		return nil, err
	}
	if err := s.reportSLA(ctx, q, loc, sum); err != nil {
		return nil, err
	}
	if err := s.reportOpen(ctx, q, loc, sum); err != nil {
		return nil, err
	}
	n, err := s.countExceptions(ctx, q)
	if err != nil {
		return nil, err
	}
	sum.Exceptions = n
	return sum, nil
}

// reportTallies counts the day, the day before and the week before by
// each attribute, in one statement so that the tables agree.
func (s *Store) reportTallies(ctx context.Context, q demand.ReportQuery, loc *time.Location, sum *demand.DaySummary) error {
	prev, week := daysBefore(q.Start, loc, 1).UTC(), daysBefore(q.Start, loc, 7).UTC()
	start, end := q.Start.UTC(), q.End.UTC()
	buckets := `COALESCE(SUM(CASE WHEN received_at >= ? THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN received_at >= ? AND received_at < ? THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN received_at < ? THEN 1 ELSE 0 END), 0)`
	bucketArgs := []any{start, prev, start, start}
	cond := ` FROM demands WHERE received_at >= ? AND received_at < ?`
	condArgs := []any{week, end}
	// The total row also counts the day's duplicates, in the place of a value.
	parts := []string{`SELECT 'total' AS dim, '' AS val, ` + buckets + `,
		COALESCE(SUM(CASE WHEN received_at >= ? AND duplicate_of IS NOT NULL THEN 1 ELSE 0 END), 0)` + cond}
	args := append(append(append([]any{}, bucketArgs...), start), condArgs...)
	for _, d := range reportDims {
		parts = append(parts, `SELECT '`+d+`', `+d+`, `+buckets+`, 0`+cond+` GROUP BY `+d)
		args = append(append(args, bucketArgs...), condArgs...)
	}
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(strings.Join(parts, " UNION ALL ")), args...)
	if err != nil {
		return fmt.Errorf("store: report counts: %w", err)
	}
	defer rows.Close()
	byDim := map[string]*demand.Tally{}
	for _, d := range reportDims {
		sum.Tallies = append(sum.Tallies, demand.Tally{Attribute: d})
	}
	for i := range sum.Tallies {
		byDim[sum.Tallies[i].Attribute] = &sum.Tallies[i]
	}
	for rows.Next() {
		var dim string
		var r demand.TallyRow
		var dups int
		if err := rows.Scan(&dim, &r.Value, &r.Day, &r.PrevDay, &r.Week, &dups); err != nil {
			return fmt.Errorf("store: report counts: %w", err)
		}
		if dim == "total" {
			sum.New, sum.PrevDay, sum.Week, sum.Duplicates = r.Day, r.PrevDay, r.Week, dups
			continue
		}
		t := byDim[dim]
		t.Rows = append(t.Rows, r)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: report counts: %w", err)
	}
	// Most on the day first, then over the week: the order people read.
	for i := range sum.Tallies {
		rs := sum.Tallies[i].Rows
		sort.SliceStable(rs, func(a, b int) bool {
			if rs[a].Day != rs[b].Day {
				return rs[a].Day > rs[b].Day
			}
			if rs[a].Week != rs[b].Week {
				return rs[a].Week > rs[b].Week
			}
			return rs[a].Value < rs[b].Value
		})
	}
	return nil
}

// reportIntake counts each of the 30 days ending with the report's day in
// one scan of the received_at range.
func (s *Store) reportIntake(ctx context.Context, q demand.ReportQuery, loc *time.Location, sum *demand.DaySummary) error {
	cols := make([]string, intakeDays)
	args := make([]any, 0, 2*intakeDays+2)
	sum.Intake = make([]demand.DayCount, intakeDays)
	for i := range intakeDays {
		from := daysBefore(q.Start, loc, intakeDays-1-i)
		to := daysBefore(q.Start, loc, intakeDays-2-i)
		sum.Intake[i].Day = from
		cols[i] = `COALESCE(SUM(CASE WHEN received_at >= ? AND received_at < ? THEN 1 ELSE 0 END), 0)`
		args = append(args, from.UTC(), to.UTC())
	}
	args = append(args, sum.Intake[0].Day.UTC(), q.End.UTC())
	dst := make([]any, intakeDays)
	for i := range sum.Intake {
		dst[i] = &sum.Intake[i].N
	}
	err := s.db.QueryRowContext(ctx, s.db.Rebind(`SELECT `+strings.Join(cols, ", ")+
		` FROM demands WHERE received_at >= ? AND received_at < ?`), args...).Scan(dst...)
	if err != nil {
		return fmt.Errorf("store: report intake: %w", err)
	}
	return nil
}

// closedAt is the closing time of a closed demand d: the last history
// entry that moved it into its status, else its last update.
func (s *Store) closedAt() string {
	newStatus, oldStatus := `h.detail->'new'->>'status'`, `h.detail->'old'->>'status'`
	if s.dialect == SQLite {
		newStatus, oldStatus = `json_extract(h.detail, '$.new.status')`, `json_extract(h.detail, '$.old.status')`
	}
	return `COALESCE((SELECT MAX(h.at) FROM demand_history h WHERE h.demand_id = d.id AND h.kind = 'progress'
		AND ` + newStatus + ` = d.status AND COALESCE(` + oldStatus + `, '') <> d.status), d.updated_at)`
}

// reportSLA counts the demands closed on the day and in the 30 days
// ending with it, and those closed by their due time. Closing sets
// updated_at, so a demand not updated since the window began was not
// closed in it: that bound keeps the history look-ups to recent rows.
func (s *Store) reportSLA(ctx context.Context, q demand.ReportQuery, loc *time.Location, sum *demand.DaySummary) error {
	from := daysBefore(q.Start, loc, intakeDays-1).UTC()
	start, end := q.Start.UTC(), q.End.UTC()
	stmt := `SELECT
		COALESCE(SUM(CASE WHEN closed_at >= ? THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN closed_at >= ? AND (due_at IS NULL OR closed_at <= due_at) THEN 1 ELSE 0 END), 0),
		COUNT(*),
		COALESCE(SUM(CASE WHEN due_at IS NULL OR closed_at <= due_at THEN 1 ELSE 0 END), 0)
		FROM (SELECT d.due_at, ` + s.closedAt() + ` AS closed_at FROM demands d
			WHERE d.status IN ` + closedStatuses + ` AND d.updated_at >= ?) c
		WHERE closed_at >= ? AND closed_at < ?`
	err := s.db.QueryRowContext(ctx, s.db.Rebind(stmt), start, start, from, from, end).Scan(
		&sum.SLADay.Closed, &sum.SLADay.InTime, &sum.SLA30.Closed, &sum.SLA30.InTime)
	if err != nil {
		return fmt.Errorf("store: report SLA: %w", err)
	}
	return nil
}

// reportOpen counts open demands, the overdue among them and by
// department, and finds the most repeated demands.
func (s *Store) reportOpen(ctx context.Context, q demand.ReportQuery, loc *time.Location, sum *demand.DaySummary) error {
	err := s.db.QueryRowContext(ctx, s.db.Rebind(`SELECT COUNT(*),
		COALESCE(SUM(CASE WHEN due_at IS NOT NULL AND due_at < ? THEN 1 ELSE 0 END), 0)
		FROM demands WHERE status IN `+openStatuses), q.Now.UTC()).Scan(&sum.Open, &sum.OpenOverdue)
	if err != nil {
		return fmt.Errorf("store: report open demands: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT department, COUNT(*) AS n FROM demands WHERE status IN `+openStatuses+`
		GROUP BY department ORDER BY n DESC, department`)
	if err != nil {
		return fmt.Errorf("store: report open by department: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c demand.Count
		if err := rows.Scan(&c.Value, &c.N); err != nil {
			return fmt.Errorf("store: report open by department: %w", err)
		}
		sum.OpenByDepartment = append(sum.OpenByDepartment, c)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: report open by department: %w", err)
	}
	var top []demandRow
	err = s.db.SelectContext(ctx, &top, s.db.Rebind(`SELECT `+summaryColumns+` FROM demands
		WHERE duplicate_of IS NULL AND occurrences > 1 AND last_activity_at >= ? AND received_at < ?
		ORDER BY occurrences DESC, id LIMIT ?`), daysBefore(q.Start, loc, intakeDays-1).UTC(), q.End.UTC(), topRepeated)
	if err != nil {
		return fmt.Errorf("store: report repeated demands: %w", err)
	}
	for i := range top {
		r, err := top[i].record()
		if err != nil {
			return err
		}
		sum.TopRepeated = append(sum.TopRepeated, r)
	}
	return nil
}

func (s *Store) countExceptions(ctx context.Context, q demand.ReportQuery) (int, error) {
	var items, files int
	err := s.db.QueryRowContext(ctx, s.db.Rebind(`SELECT COUNT(*) FROM raw_items
		WHERE status IN ('quarantined', 'ignored') AND received_at >= ? AND received_at < ?`), q.Start.UTC(), q.End.UTC()).Scan(&items)
	if err == nil {
		err = s.db.QueryRowContext(ctx, s.db.Rebind(`SELECT COUNT(*) FROM failed_files WHERE failed_at >= ? AND failed_at < ?`),
			q.Start.UTC(), q.End.UTC()).Scan(&files)
	}
	if err != nil {
		return 0, fmt.Errorf("store: report exceptions: %w", err)
	}
	return items + files, nil
}

// atRiskRow is a demand with whether it is stalled.
type atRiskRow struct {
	demandRow
	Stalled int `db:"stalled"`
}

// EachAtRisk calls fn for every open demand that is overdue at q.Now, due
// before q.SoonBy, or urgent (high urgency or P1) with no progress — a
// progress or follow-up history entry, or its creation — for
// demand.StalledAfter; soonest due first, those without a due time last.
func (s *Store) EachAtRisk(ctx context.Context, q demand.ReportQuery, fn func(demand.AtRisk) error) error {
	if q.Now.IsZero() {
		q.Now = time.Now()
	}
	if q.SoonBy.IsZero() {
		q.SoonBy = q.Now.Add(48 * time.Hour)
	}
	stale := q.Now.Add(-demand.StalledAfter).UTC()
	stalled := `(urgency = 'high' OR priority = 'P1') AND created_at < ? AND NOT EXISTS (SELECT 1 FROM demand_history h
		WHERE h.demand_id = d.id AND h.kind IN ('progress', 'follow_up') AND h.at >= ?)`
	stmt := `SELECT ` + summaryColumns + `, CASE WHEN ` + stalled + ` THEN 1 ELSE 0 END AS stalled FROM demands d
		WHERE status IN ` + openStatuses + ` AND ((due_at IS NOT NULL AND due_at < ?) OR (` + stalled + `))
		ORDER BY CASE WHEN due_at IS NULL THEN 1 ELSE 0 END, due_at, id`
	rows, err := s.db.QueryxContext(ctx, s.db.Rebind(stmt), stale, stale, q.SoonBy.UTC(), stale, stale)
	if err != nil {
		return fmt.Errorf("store: demands at risk: %w", err)
	}
	defer rows.Close()
	now, day := q.Now, q.Now.Add(24*time.Hour)
	var row atRiskRow
	for rows.Next() {
		row = atRiskRow{}
		if err := rows.StructScan(&row); err != nil {
			return fmt.Errorf("store: demands at risk: %w", err)
		}
		rec, err := row.record()
		if err != nil {
			return err
		}
		a := demand.AtRisk{Record: rec}
		switch due := rec.DueAt; {
		case due.IsZero():
		case due.Before(now):
			a.Warnings = append(a.Warnings, demand.WarnOverdue)
		case due.Before(day):
			a.Warnings = append(a.Warnings, demand.WarnDue24h)
		case due.Before(q.SoonBy):
			a.Warnings = append(a.Warnings, demand.WarnDue2Days)
		}
		if row.Stalled == 1 {
			a.Warnings = append(a.Warnings, demand.WarnStalled)
		}
		if err := fn(a); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: demands at risk: %w", err)
	}
	return nil
}

// EachDuplicateGroup calls fn for every demand of each duplicate group
// that gained a demand on the day of q: the canonical demand first
// (DuplicateOf 0), then its duplicates, oldest first.
func (s *Store) EachDuplicateGroup(ctx context.Context, q demand.ReportQuery, fn func(*demand.Record) error) error {
	if _, err := reportDay(q); err != nil {
		return err
	}
	rows, err := s.db.QueryxContext(ctx, s.db.Rebind(`SELECT `+summaryColumns+` FROM demands
		WHERE COALESCE(duplicate_of, id) IN (SELECT duplicate_of FROM demands
			WHERE received_at >= ? AND received_at < ? AND duplicate_of IS NOT NULL)
		ORDER BY COALESCE(duplicate_of, id), CASE WHEN duplicate_of IS NULL THEN 0 ELSE 1 END, id`), q.Start.UTC(), q.End.UTC())
	if err != nil {
		return fmt.Errorf("store: duplicate groups: %w", err)
	}
	return eachRecord(rows, "duplicate groups", fn)
}

// EachException calls fn for every raw item received on the day of q that
// was quarantined or ignored, oldest first, then for every file moved to
// failed/ that day.
func (s *Store) EachException(ctx context.Context, q demand.ReportQuery, fn func(demand.Exception) error) error {
	if _, err := reportDay(q); err != nil {
		return err
	}
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(`SELECT id, received_at, status, channel, source, reason, ref, external_key
		FROM raw_items WHERE status IN ('quarantined', 'ignored') AND received_at >= ? AND received_at < ?
		ORDER BY received_at, id`), q.Start.UTC(), q.End.UTC())
	if err != nil {
		return fmt.Errorf("store: report exceptions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e demand.Exception
		var key string
		if err := rows.Scan(&e.ID, &e.At, &e.Kind, &e.Channel, &e.Source, &e.Reason, &e.Ref, &key); err != nil {
			return fmt.Errorf("store: report exceptions: %w", err)
		}
		if e.Ref == "" {
			e.Ref = key // a Message-ID or delivery id when the channel kept no ref
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: report exceptions: %w", err)
	}
	rows.Close()
	files, err := s.db.QueryContext(ctx, s.db.Rebind(`SELECT id, failed_at, channel, source, reason, name
		FROM failed_files WHERE failed_at >= ? AND failed_at < ? ORDER BY failed_at, id`), q.Start.UTC(), q.End.UTC())
	if err != nil {
		return fmt.Errorf("store: report failed files: %w", err)
	}
	defer files.Close()
	for files.Next() {
		e := demand.Exception{Kind: "failed_file"}
		if err := files.Scan(&e.ID, &e.At, &e.Channel, &e.Source, &e.Reason, &e.Ref); err != nil {
			return fmt.Errorf("store: report failed files: %w", err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := files.Err(); err != nil {
		return fmt.Errorf("store: report failed files: %w", err)
	}
	return nil
}
