package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/demandd/demandd/demand"
)

// A returned tracking table (see package ingest) is applied here, a chunk
// of rows per transaction.
//
// Every demand has a revision (migration 0011): 1 when inserted, and one
// more on every UPDATE of its row, counted by a trigger so that no update
// path can forget it. A row of the table names the revision it was
// exported at. For each value the row edits:
//
//   - equal to the register's value: unchanged (so a file applied twice,
//     or a chunk applied again after a crash, changes nothing);
//   - otherwise, when the record's revision is still the exported one:
//     applied;
//   - otherwise: a conflict, not applied — someone (a person, a webhook,
//     another file, a duplicate linked) changed the record since the
//     export. A row without a revision (an older export, a CSV, a row
//     typed in by hand) cannot tell, and conflicts too.
//
// What is applied goes into the record in one UPDATE and into its history
// as a progress entry (the kind `demandd update` and the API write, so the
// daily report counts it as activity) naming the file as its author. A
// type or urgency is a confirmed label, as through the API. A satisfaction
// below 4 given to a record that is delivered, accepted or closed reopens
// it (处理中), the reason in the history; a rejected demand stays rejected:
// its rejection was a decision, not work a better effort can improve.

// TableEdits are the values a returned row changes; nil fields are not
// edits. Texts are as the file has them, normalised by the caller.
type TableEdits struct {
	Type         *demand.Type
	Urgency      *demand.Urgency
	Priority     *demand.Priority
	Department   *string
	Plan         *string
	Feedback     *string
	Status       *demand.Status
	Satisfaction *int // 0 clears the rating
	Due          *time.Time
	ClearDue     bool
}

// TableRow is one row of a returned tracking table.
type TableRow struct {
	Row      int // in the sheet, for the caller's report
	Code     string
	Revision int64 // when exported; 0 when the row does not say
	Edits    TableEdits
}

// The fields of FieldChange and FieldConflict, as history names them.
const (
	FieldType         = "type"
	FieldUrgency      = "urgency"
	FieldPriority     = "priority"
	FieldDepartment   = "department"
	FieldPlan         = "response_plan"
	FieldFeedback     = "feedback_result"
	FieldStatus       = "status"
	FieldSatisfaction = "satisfaction"
	FieldDue          = "due_at"
)

// FieldChange is a value applied: enumerations as their values, due_at as
// RFC 3339 in UTC ("" for none), satisfaction as a number.
type FieldChange struct {
	Field    string
	Old, New string
	// Derived: not the row's edit but its consequence (the quadrant of
	// a new urgency, the reopening after a low rating).
	Derived bool
}

// FieldConflict is an edit not applied: the record changed since the
// export (or the row had no revision to tell). Now is the register's
// value.
type FieldConflict struct {
	Field      string
	Yours, Now string
	// NoRevision: the row carried no revision.
	NoRevision bool
}

// TableOutcome is what became of one row.
type TableOutcome struct {
	Row  int
	Code string
	// Unknown: no demand has the code.
	Unknown   bool
	Changed   []FieldChange
	Conflicts []FieldConflict
	// Reopened: a satisfaction below 4 reopened the record.
	Reopened bool
	// Exported and Revision are the row's revision and the record's
	// (after the changes).
	Exported, Revision int64
}

// reopenBelow is the satisfaction under which a finished demand reopens.
const reopenBelow = 4

// ApplyTable applies rows of a returned tracking table in one transaction
// and says what became of each, in order; by (the file's name) is the
// author in history and of confirmed labels. A code that appears twice is
// applied in row order: the second row sees the first's revision, so its
// edits conflict unless equal.
func (s *Store) ApplyTable(ctx context.Context, rows []TableRow, by string) ([]TableOutcome, error) {
	out := make([]TableOutcome, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("store: apply tracking table: %w", err)
	}
	defer tx.Rollback()
	current, err := s.lockDemands(ctx, tx, rows)
	if err != nil {
		return nil, err
	}
	update, err := tx.PreparexContext(ctx, s.db.Rebind(`UPDATE demands SET status = ?, response_plan = ?, feedback_result = ?,
		department = ?, satisfaction = ?, due_at = ?, type = ?, urgency = ?, priority = ?, confirmed_type = ?,
		confirmed_urgency = ?, confirmed_by = ?, confirmed_at = ?, reasons = ?, updated_at = ?, last_activity_at = ?
		WHERE id = ?`))
	if err != nil {
		return nil, fmt.Errorf("store: apply tracking table: %w", err)
	}
	defer update.Close()
	history, err := tx.PreparexContext(ctx, s.db.Rebind(`INSERT INTO demand_history (demand_id, at, kind, detail) VALUES (?, ?, 'progress', ?)`))
	if err != nil {
		return nil, fmt.Errorf("store: apply tracking table: %w", err)
	}
	defer history.Close()
	now := time.Now().UTC()
	by = clean(by)
	for i, r := range rows {
		o := &out[i]
		o.Row, o.Code, o.Exported = r.Row, r.Code, r.Revision
		cur := current[r.Code]
		if cur == nil {
			o.Unknown = true
			continue
		}
		old := progressOf(cur)
		next, reason := tableNext(cur, old, r, o)
		o.Revision = cur.Revision
		if next == old {
			continue
		}
		var due any
		var dueAt sql.NullTime
		if next.DueAt != "" {
			t, err := time.Parse(time.RFC3339Nano, next.DueAt)
			if err != nil {
				return nil, fmt.Errorf("store: apply tracking table: %s: due_at: %w", r.Code, err)
			}
			due, dueAt = t, sql.NullTime{Time: t, Valid: true}
		}
		reasons := cur.Reasons
		confirmedBy, confirmedAt := cur.ConfirmedBy, cur.ConfirmedAt
		if next.ConfirmedType != old.ConfirmedType || next.ConfirmedUrgency != old.ConfirmedUrgency {
			confirmedBy, confirmedAt = by, sql.NullTime{Time: now, Valid: true}
			if reasons, err = confirmReasons(reasons, next.ConfirmedType, next.ConfirmedUrgency, confirmedBy); err != nil {
				return nil, fmt.Errorf("store: apply tracking table: %s: %w", r.Code, err)
			}
		}
		var confirmedAtArg any
		if confirmedAt.Valid {
			confirmedAtArg = confirmedAt.Time.UTC()
		}
		if _, err := update.ExecContext(ctx, string(next.Status), next.Plan, next.Feedback, next.Department, next.Satisfaction,
			due, string(next.Type), string(next.Urgency), string(next.Priority), string(next.ConfirmedType),
			string(next.ConfirmedUrgency), confirmedBy, confirmedAtArg, string(reasons), now, now, cur.ID); err != nil {
			return nil, fmt.Errorf("store: apply tracking table: %s: %w", r.Code, err)
		}
		entry := map[string]any{"old": old, "new": next, "by": by, "row": r.Row}
		if reason != "" {
			entry["reason"] = reason
		}
		detail, err := json.Marshal(entry)
		if err != nil {
			return nil, fmt.Errorf("store: apply tracking table: %s: %w", r.Code, err)
		}
		if _, err := history.ExecContext(ctx, cur.ID, now, clean(string(detail))); err != nil {
			return nil, fmt.Errorf("store: history of %s: %w", r.Code, err)
		}
		// What a later row of the same code compares with: the trigger
		// counted this UPDATE.
		cur.Status, cur.ResponsePlan, cur.FeedbackResult, cur.Department = string(next.Status), next.Plan, next.Feedback, next.Department
		cur.Satisfaction, cur.DueAt = next.Satisfaction, dueAt
		cur.Type, cur.Urgency, cur.Priority = string(next.Type), string(next.Urgency), string(next.Priority)
		cur.ConfirmedType, cur.ConfirmedUrgency, cur.ConfirmedBy, cur.ConfirmedAt = string(next.ConfirmedType), string(next.ConfirmedUrgency), confirmedBy, confirmedAt
		cur.Reasons = reasons
		cur.Revision++
		o.Revision = cur.Revision
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("store: apply tracking table: commit: %w", err)
	}
	return out, nil
}

// tableColumns are what applying a row reads of a demand.
const tableColumns = `id, code, revision, status, type, urgency, priority, importance, department, response_plan,
	feedback_result, due_at, satisfaction, confirmed_type, confirmed_urgency, confirmed_by, confirmed_at, reasons`

// lockDemands reads the demands rows name that have edits, locked for the
// transaction (PostgreSQL: FOR UPDATE, in id order so that two files
// cannot wait on each other crosswise; SQLite's BEGIN IMMEDIATE already
// serialises writers).
func (s *Store) lockDemands(ctx context.Context, tx *sqlx.Tx, rows []TableRow) (map[string]*demandRow, error) {
	seen := map[string]bool{}
	var codes []string
	for _, r := range rows {
		if !seen[r.Code] {
			seen[r.Code] = true
			codes = append(codes, r.Code)
		}
	}
	current := make(map[string]*demandRow, len(codes))
	const chunk = 500
	for lo := 0; lo < len(codes); lo += chunk {
		part := codes[lo:min(lo+chunk, len(codes))]
		args := make([]any, len(part))
		for i, c := range part {
			args[i] = c
		}
		q := `SELECT ` + tableColumns + ` FROM demands WHERE code IN (?` + strings.Repeat(", ?", len(part)-1) + `) ORDER BY id`
		if s.dialect == Postgres {
			q += ` FOR UPDATE`
		}
		rs, err := tx.QueryxContext(ctx, s.db.Rebind(q), args...)
		if err != nil {
			return nil, fmt.Errorf("store: apply tracking table: read demands: %w", err)
		}
		for rs.Next() {
			var row demandRow
			if err := rs.StructScan(&row); err != nil {
				rs.Close()
				return nil, fmt.Errorf("store: apply tracking table: read demands: %w", err)
			}
			current[row.Code] = &row
		}
		err = rs.Err()
		rs.Close()
		if err != nil {
			return nil, fmt.Errorf("store: apply tracking table: read demands: %w", err)
		}
	}
	return current, nil
}

// tableNext is the record's values after row r: each edit equal to the
// register's value is left out, each other one applied when the record
// is still at the row's revision and a conflict otherwise (recorded in
// o). reason says why the status moved when a low rating reopened it.
func tableNext(cur *demandRow, old progressValues, r TableRow, o *TableOutcome) (next progressValues, reason string) {
	next = old
	e := r.Edits
	fresh := r.Revision != 0 && r.Revision == cur.Revision
	// take decides one field: true when the value is to be applied.
	take := func(field, yours, now string, same bool) bool {
		switch {
		case same:
			return false
		case fresh:
			o.Changed = append(o.Changed, FieldChange{Field: field, Old: now, New: yours})
			return true
		}
		o.Conflicts = append(o.Conflicts, FieldConflict{Field: field, Yours: yours, Now: now, NoRevision: r.Revision == 0})
		return false
	}
	text := func(field string, v *string, dst *string) {
		if v != nil && take(field, *v, *dst, *v == normalText(*dst)) {
			*dst = clean(*v)
		}
	}
	if e.Type != nil && take(FieldType, string(*e.Type), string(old.Type), *e.Type == old.Type) {
		next.Type, next.ConfirmedType = *e.Type, *e.Type
	}
	urgencySet := false
	if e.Urgency != nil && take(FieldUrgency, string(*e.Urgency), string(old.Urgency), *e.Urgency == old.Urgency) {
		next.Urgency, next.ConfirmedUrgency = *e.Urgency, *e.Urgency
		urgencySet = true
	}
	if e.Priority != nil && take(FieldPriority, string(*e.Priority), string(old.Priority), *e.Priority == old.Priority) {
		next.Priority = *e.Priority
	} else if urgencySet && e.Priority == nil {
		// As a confirmed urgency through the API: the quadrant follows.
		next.Priority = demand.Quadrant(next.Urgency, demand.Importance(cur.Importance))
		if next.Priority != old.Priority {
			o.Changed = append(o.Changed, FieldChange{Field: FieldPriority, Old: string(old.Priority), New: string(next.Priority), Derived: true})
		}
	}
	text(FieldDepartment, e.Department, &next.Department)
	text(FieldPlan, e.Plan, &next.Plan)
	text(FieldFeedback, e.Feedback, &next.Feedback)
	if e.Status != nil && take(FieldStatus, string(*e.Status), string(old.Status), *e.Status == old.Status) {
		next.Status = *e.Status
	}
	switch {
	case e.Due != nil:
		yours := formatDue(*e.Due)
		same := cur.DueAt.Valid && cur.DueAt.Time.Truncate(time.Minute).Equal(e.Due.Truncate(time.Minute))
		if take(FieldDue, yours, old.DueAt, same) {
			next.DueAt = yours
		}
	case e.ClearDue:
		if take(FieldDue, "", old.DueAt, !cur.DueAt.Valid) {
			next.DueAt = ""
		}
	}
	if e.Satisfaction != nil && take(FieldSatisfaction, strconv.Itoa(*e.Satisfaction), strconv.Itoa(old.Satisfaction), *e.Satisfaction == old.Satisfaction) {
		next.Satisfaction = *e.Satisfaction
		if s := next.Satisfaction; s > 0 && s < reopenBelow && finished(next.Status) {
			reason = fmt.Sprintf("satisfaction %d is below %d: reopened (%s → %s) for improvement", s, reopenBelow, next.Status, demand.StatusInProgress)
			next.Status = demand.StatusInProgress
			o.Reopened = true
			o.Changed = reopened(o.Changed, old.Status)
		}
	}
	return next, reason
}

// finished reports the statuses a low rating reopens.
func finished(s demand.Status) bool {
	return s == demand.StatusDelivered || s == demand.StatusAccepted || s == demand.StatusClosed
}

// reopened makes the status change of cs the move to 处理中 (replacing
// the row's own status edit, if any), or drops it when the record was in
// progress already.
func reopened(cs []FieldChange, was demand.Status) []FieldChange {
	out := cs[:0]
	for _, c := range cs {
		if c.Field != FieldStatus {
			out = append(out, c)
		}
	}
	if was != demand.StatusInProgress {
		out = append(out, FieldChange{Field: FieldStatus, Old: string(was), New: string(demand.StatusInProgress), Derived: true})
	}
	return out
}

// normalText is a stored text as a returned cell is compared with it.
func normalText(s string) string {
	return strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
}
