package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/demandd/demandd/demand"
)

// ErrConflict means the record changed since the caller read it.
var ErrConflict = errors.New("changed since it was read")

// ErrInvalid means a value is out of its range.
var ErrInvalid = errors.New("invalid value")

// RuleConfirmed is the reason rule of a type or urgency a person set: a
// confirmed label, which a replay of the rules keeps.
const RuleConfirmed = demand.RuleConfirmed

// Progress is what a person records on a demand; nil fields stay as they
// are.
type Progress struct {
	Status       *demand.Status
	Plan         *string // 响应方案
	Feedback     *string // 反馈结果
	Department   *string // 责任部门
	Satisfaction *int    // 满意度, 1–5
	DueAt        *time.Time
	// Type and Urgency are confirmed labels: they set the record's type or
	// urgency and are kept as the person's answer, which Reclassify does
	// not overwrite. Urgency also moves the priority to its quadrant.
	Type    *demand.Type
	Urgency *demand.Urgency
	// IfRevision, when set, makes the update fail with ErrConflict unless
	// the record is at that revision (an HTTP If-Match): the revision moves
	// on every change of a demand, also those that keep updated_at (a
	// duplicate counted, a follow-up's status).
	IfRevision *int64
	// By names who recorded it (the CLI user, an API token), for history.
	By string
}

// Confirmed are the labels a person gave a demand; empty when none.
type Confirmed struct {
	Type    demand.Type
	Urgency demand.Urgency
	By      string
	At      time.Time
}

// progressValues are the fields Progress may change, as kept in history.
// Comparable, so that "nothing changed" is ==; due_at is RFC 3339 in UTC,
// "" when there is no deadline.
type progressValues struct {
	Status           demand.Status   `json:"status"`
	Plan             string          `json:"response_plan"`
	Feedback         string          `json:"feedback_result"`
	Department       string          `json:"department"`
	Satisfaction     int             `json:"satisfaction"`
	DueAt            string          `json:"due_at"`
	Type             demand.Type     `json:"type"`
	Urgency          demand.Urgency  `json:"urgency"`
	Priority         demand.Priority `json:"priority"`
	ConfirmedType    demand.Type     `json:"confirmed_type"`
	ConfirmedUrgency demand.Urgency  `json:"confirmed_urgency"`
}

func formatDue(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func progressOf(r *demandRow) progressValues {
	return progressValues{demand.Status(r.Status), r.ResponsePlan, r.FeedbackResult, r.Department, r.Satisfaction,
		formatDue(r.DueAt.Time), demand.Type(r.Type), demand.Urgency(r.Urgency), demand.Priority(r.Priority),
		demand.Type(r.ConfirmedType), demand.Urgency(r.ConfirmedUrgency)}
}

// UpdateProgress applies p to the demand with the given code and keeps the
// old and new values in its history, in one transaction. It returns the
// record as updated and whether anything changed. Giving a type or urgency
// equal to the rules' answer is a change when it was not confirmed yet: the
// confirmation is recorded.
func (s *Store) UpdateProgress(ctx context.Context, code string, p Progress) (*demand.Record, bool, error) {
	if p.Satisfaction != nil && (*p.Satisfaction < 1 || *p.Satisfaction > 5) {
		return nil, false, fmt.Errorf("store: update %s: satisfaction %d, want 1 to 5: %w", code, *p.Satisfaction, ErrInvalid)
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, false, fmt.Errorf("store: update %s: %w", code, err)
	}
	defer tx.Rollback()
	var row demandRow
	q := `SELECT * FROM demands WHERE code = ?`
	if s.dialect == Postgres { // SQLite's BEGIN IMMEDIATE already serialises writers
		q += ` FOR UPDATE`
	}
	err = tx.GetContext(ctx, &row, s.db.Rebind(q), code)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, fmt.Errorf("store: update %s: %w", code, ErrNotFound)
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: update %s: %w", code, err)
	}
	if p.IfRevision != nil && *p.IfRevision != row.Revision {
		return nil, false, fmt.Errorf("store: update %s: %w", code, ErrConflict)
	}
	old := progressOf(&row)
	next := old
	if p.Status != nil {
		next.Status = *p.Status
	}
	if p.Plan != nil {
		next.Plan = clean(*p.Plan)
	}
	if p.Feedback != nil {
		next.Feedback = clean(*p.Feedback)
	}
	if p.Department != nil {
		next.Department = clean(*p.Department)
	}
	if p.Satisfaction != nil {
		next.Satisfaction = *p.Satisfaction
	}
	if p.DueAt != nil {
		next.DueAt = formatDue(*p.DueAt)
	}
	if p.Type != nil {
		next.Type, next.ConfirmedType = *p.Type, *p.Type
	}
	if p.Urgency != nil {
		// Priority is the quadrant of urgency × importance, as the rules
		// set it; the SLA deadline is left alone (it needs the calendar).
		next.Urgency, next.ConfirmedUrgency = *p.Urgency, *p.Urgency
		next.Priority = demand.Quadrant(next.Urgency, demand.Importance(row.Importance))
	}
	if next == old {
		rec, err := row.record()
		return rec, false, err
	}
	now := time.Now().UTC()
	var due any
	var dueAt sql.NullTime
	if next.DueAt != "" {
		t, err := time.Parse(time.RFC3339Nano, next.DueAt)
		if err != nil {
			return nil, false, fmt.Errorf("store: update %s: due_at: %w", code, err)
		}
		due, dueAt = t, sql.NullTime{Time: t, Valid: true}
	}
	reasons := row.Reasons
	confirmedBy, confirmedAt := row.ConfirmedBy, row.ConfirmedAt
	if next.ConfirmedType != old.ConfirmedType || next.ConfirmedUrgency != old.ConfirmedUrgency {
		confirmedBy, confirmedAt = clean(p.By), sql.NullTime{Time: now, Valid: true}
		if reasons, err = confirmReasons(reasons, next.ConfirmedType, next.ConfirmedUrgency, confirmedBy); err != nil {
			return nil, false, fmt.Errorf("store: update %s: %w", code, err)
		}
	}
	var confirmedAtArg any
	if confirmedAt.Valid {
		confirmedAtArg = confirmedAt.Time.UTC()
	}
	if _, err := tx.ExecContext(ctx, s.db.Rebind(`UPDATE demands SET status = ?, response_plan = ?, feedback_result = ?,
		department = ?, satisfaction = ?, due_at = ?, type = ?, urgency = ?, priority = ?, confirmed_type = ?,
		confirmed_urgency = ?, confirmed_by = ?, confirmed_at = ?, reasons = ?, updated_at = ?, last_activity_at = ?
		WHERE id = ?`),
		string(next.Status), next.Plan, next.Feedback, next.Department, next.Satisfaction, due, string(next.Type),
		string(next.Urgency), string(next.Priority), string(next.ConfirmedType), string(next.ConfirmedUrgency),
		confirmedBy, confirmedAtArg, string(reasons), now, now, row.ID); err != nil {
		return nil, false, fmt.Errorf("store: update %s: %w", code, err)
	}
	detail, err := json.Marshal(map[string]any{"old": old, "new": next, "by": p.By})
	if err != nil {
		return nil, false, fmt.Errorf("store: update %s: %w", code, err)
	}
	if _, err := tx.ExecContext(ctx, s.db.Rebind(`INSERT INTO demand_history (demand_id, at, kind, detail) VALUES (?, ?, 'progress', ?)`),
		row.ID, now, clean(string(detail))); err != nil {
		return nil, false, fmt.Errorf("store: history of %s: %w", code, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, false, fmt.Errorf("store: update %s: commit: %w", code, err)
	}
	row.Status, row.ResponsePlan, row.FeedbackResult, row.Department = string(next.Status), next.Plan, next.Feedback, next.Department
	row.Satisfaction, row.DueAt = next.Satisfaction, dueAt
	row.Type, row.Urgency, row.Priority = string(next.Type), string(next.Urgency), string(next.Priority)
	row.ConfirmedType, row.ConfirmedUrgency, row.ConfirmedBy, row.ConfirmedAt = string(next.ConfirmedType), string(next.ConfirmedUrgency), confirmedBy, confirmedAt
	row.Reasons = reasons
	row.UpdatedAt, row.LastActivityAt = now, now
	rec, err := row.record()
	return rec, true, err
}

// confirmReasons replaces the confirmed-label reasons in the JSON list
// data with ones for typ and urgency ("" for none), keeping the rules'
// reasons so that their answer stays visible.
func confirmReasons(data []byte, typ demand.Type, urgency demand.Urgency, by string) ([]byte, error) {
	var rs []demand.Reason
	if len(data) > 0 {
		if err := json.Unmarshal(data, &rs); err != nil {
			return nil, fmt.Errorf("decode reasons: %w", err)
		}
	}
	return []byte(jsonText(withConfirmed(rs, typ, urgency, by))), nil
}

// withConfirmed is rs without confirmed-label reasons, plus one per
// confirmed attribute.
func withConfirmed(rs []demand.Reason, typ demand.Type, urgency demand.Urgency, by string) []demand.Reason {
	out := make([]demand.Reason, 0, len(rs)+2)
	for _, r := range rs {
		if r.Rule != RuleConfirmed {
			out = append(out, r)
		}
	}
	var who []string
	if by != "" {
		who = []string{by}
	}
	if typ != "" {
		out = append(out, demand.Reason{Rule: RuleConfirmed, Attribute: "type", Value: string(typ), Matched: who})
	}
	if urgency != "" {
		out = append(out, demand.Reason{Rule: RuleConfirmed, Attribute: "urgency", Value: string(urgency), Matched: who})
	}
	return out
}
