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

// Progress is what a person records on a demand; nil fields stay as they
// are.
type Progress struct {
	Status     *demand.Status
	Plan       *string // 响应方案
	Feedback   *string // 反馈结果
	Department *string // 责任部门
	// By names who recorded it (the CLI user, an API token), for history.
	By string
}

// progressValues are the fields Progress may change, as kept in history.
type progressValues struct {
	Status     demand.Status `json:"status"`
	Plan       string        `json:"response_plan"`
	Feedback   string        `json:"feedback_result"`
	Department string        `json:"department"`
}

// UpdateProgress applies p to the demand with the given code and keeps the
// old and new values in its history, in one transaction. It returns the
// record as updated and whether anything changed.
func (s *Store) UpdateProgress(ctx context.Context, code string, p Progress) (*demand.Record, bool, error) {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, false, fmt.Errorf("store: update %s: %w", code, err)
	}
	defer tx.Rollback()
	var row demandRow
	err = tx.GetContext(ctx, &row, s.db.Rebind(`SELECT * FROM demands WHERE code = ?`), code)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, fmt.Errorf("store: update %s: %w", code, ErrNotFound)
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: update %s: %w", code, err)
	}
	old := progressValues{demand.Status(row.Status), row.ResponsePlan, row.FeedbackResult, row.Department}
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
	if next == old {
		rec, err := row.record()
		return rec, false, err
	}
	now := time.Now().UTC()
	if _, err := tx.ExecContext(ctx, s.db.Rebind(`UPDATE demands SET status = ?, response_plan = ?, feedback_result = ?,
		department = ?, updated_at = ?, last_activity_at = ? WHERE id = ?`),
		string(next.Status), next.Plan, next.Feedback, next.Department, now, now, row.ID); err != nil {
		return nil, false, fmt.Errorf("store: update %s: %w", code, err)
	}
	detail, err := json.Marshal(map[string]any{"old": old, "new": next, "by": p.By})
	if err != nil {
		return nil, false, fmt.Errorf("store: update %s: %w", code, err)
	}
	if _, err := tx.ExecContext(ctx, s.db.Rebind(`INSERT INTO demand_history (demand_id, at, kind, detail) VALUES (?, ?, 'progress', ?)`),
		row.ID, now, string(detail)); err != nil {
		return nil, false, fmt.Errorf("store: history of %s: %w", code, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, false, fmt.Errorf("store: update %s: commit: %w", code, err)
	}
	row.Status, row.ResponsePlan, row.FeedbackResult, row.Department = string(next.Status), next.Plan, next.Feedback, next.Department
	row.UpdatedAt, row.LastActivityAt = now, now
	rec, err := row.record()
	return rec, true, err
}
