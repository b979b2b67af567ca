package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/demandd/demandd/demand"
)

// Change is a record's classification before and after a replay.
type Change struct {
	Old, New *demand.Record
}

// classification is what a replay may change, as kept in the history.
type classification struct {
	Type          demand.Type       `json:"type"`
	Urgency       demand.Urgency    `json:"urgency"`
	Importance    demand.Importance `json:"importance"`
	Priority      demand.Priority   `json:"priority"`
	Department    string            `json:"department"`
	DueAt         time.Time         `json:"due_at"`
	SLA           string            `json:"sla"`
	Tags          []string          `json:"tags"`
	PainScore     int               `json:"pain_score"`
	BusinessValue int               `json:"business_value"`
	Reasons       []demand.Reason   `json:"reasons"`
}

func classificationOf(r *demand.Record) classification {
	return classification{r.Type, r.Urgency, r.Importance, r.Priority, r.Department, r.DueAt, r.SLA, r.Tags,
		r.PainScore, r.BusinessValue, r.Reasons}
}

// Reclassify writes new classifications and keeps the old values in each
// record's history, all in one transaction. A confirmed type or urgency
// (see Progress) is never overwritten: the record keeps it, its priority
// stays the quadrant of the confirmed urgency, and its reason stays beside
// the rules' new reasons. A change that leaves nothing to write after that
// adds no history.
func (s *Store) Reclassify(ctx context.Context, changes []Change) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: reclassify: %w", err)
	}
	defer tx.Rollback()
	now := time.Now().UTC()
	lock := `SELECT confirmed_type, confirmed_urgency, confirmed_by FROM demands WHERE id = ?`
	if s.dialect == Postgres { // a PATCH confirming meanwhile waits for us, then wins
		lock += ` FOR UPDATE`
	}
	lock = s.db.Rebind(lock)
	update := s.db.Rebind(`UPDATE demands SET type = ?, urgency = ?, importance = ?, priority = ?, department = ?,
		due_at = ?, sla = ?, tags = ?, pain_score = ?, business_value = ?, reasons = ?, updated_at = ? WHERE id = ?`)
	history := s.db.Rebind(`INSERT INTO demand_history (demand_id, at, kind, detail) VALUES (?, ?, 'reclassify', ?)`)
	for _, c := range changes {
		var conf struct {
			Type    string `db:"confirmed_type"`
			Urgency string `db:"confirmed_urgency"`
			By      string `db:"confirmed_by"`
		}
		if err := tx.GetContext(ctx, &conf, lock, c.New.ID); err != nil {
			return fmt.Errorf("store: reclassify %s: %w", c.New.Code, err)
		}
		n := *c.New
		if conf.Type != "" || conf.Urgency != "" {
			if conf.Type != "" {
				n.Type = demand.Type(conf.Type)
			}
			if conf.Urgency != "" {
				n.Urgency = demand.Urgency(conf.Urgency)
				n.Priority = demand.Quadrant(n.Urgency, n.Importance)
			}
			n.Reasons = withConfirmed(n.Reasons, demand.Type(conf.Type), demand.Urgency(conf.Urgency), conf.By)
		}
		oldC, newC := classificationOf(c.Old), classificationOf(&n)
		if sameClassification(oldC, newC) {
			continue
		}
		var due any
		if !n.DueAt.IsZero() {
			due = n.DueAt.UTC()
		}
		if _, err := tx.ExecContext(ctx, update, string(n.Type), string(n.Urgency), string(n.Importance), string(n.Priority),
			clean(n.Department), due, clean(n.SLA), jsonText(n.Tags), n.PainScore, n.BusinessValue, jsonText(n.Reasons),
			now, n.ID); err != nil {
			return fmt.Errorf("store: reclassify %s: %w", n.Code, err)
		}
		detail, err := json.Marshal(map[string]classification{"old": oldC, "new": newC})
		if err != nil {
			return fmt.Errorf("store: reclassify %s: %w", n.Code, err)
		}
		if _, err := tx.ExecContext(ctx, history, n.ID, now, clean(string(detail))); err != nil {
			return fmt.Errorf("store: history of %s: %w", n.Code, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: reclassify: commit: %w", err)
	}
	return nil
}

// sameClassification compares as stored: times in UTC, empty lists alike.
func sameClassification(a, b classification) bool {
	norm := func(c classification) string {
		c.DueAt = c.DueAt.UTC()
		if len(c.Tags) == 0 {
			c.Tags = nil
		}
		if len(c.Reasons) == 0 {
			c.Reasons = nil
		}
		j, _ := json.Marshal(c)
		return string(j)
	}
	return norm(a) == norm(b)
}

// HistoryEntry is one change of a demand.
type HistoryEntry struct {
	At     time.Time       `db:"at" json:"at"`
	Kind   string          `db:"kind" json:"kind"`
	Detail json.RawMessage `db:"detail" json:"detail"`
}

// History lists a demand's changes, oldest first.
func (s *Store) History(ctx context.Context, demandID int64) ([]HistoryEntry, error) {
	var h []HistoryEntry
	rows, err := s.db.QueryxContext(ctx, s.db.Rebind(`SELECT at, kind, detail FROM demand_history WHERE demand_id = ? ORDER BY id`), demandID)
	if err != nil {
		return nil, fmt.Errorf("store: history of demand %d: %w", demandID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var e HistoryEntry
		var detail []byte
		if err := rows.Scan(&e.At, &e.Kind, &detail); err != nil {
			return nil, fmt.Errorf("store: history of demand %d: %w", demandID, err)
		}
		e.Detail = json.RawMessage(detail)
		h = append(h, e)
	}
	return h, rows.Err()
}
