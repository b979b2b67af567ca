package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
)

// followUp is a fresh entry that answers a demand: by id when it is
// stored, or by the index of an earlier entry of the same batch.
type followUp struct {
	entry    int
	demandID int64
	inBatch  int // entry index of the demand in this batch, or -1
}

// threads splits fresh entries into new demands and follow-ups: an entry
// whose ThreadCode names a stored demand, or whose ReplyTo names a stored
// message (or one earlier in the batch), follows that demand up.
func (s *Store) threads(ctx context.Context, tx *sqlx.Tx, entries []Entry, fresh []int) ([]int, []followUp, error) {
	var keep []int
	var follow []followUp
	byRef := map[string]int{} // Message-ID → entry of this batch that becomes a demand
	for _, i := range fresh {
		e := entries[i]
		id, err := s.threadTarget(ctx, tx, e)
		if err != nil {
			return nil, nil, err
		}
		switch {
		case id != 0:
			follow = append(follow, followUp{entry: i, demandID: id, inBatch: -1})
			continue
		case e.Record != nil:
			if j, ok := firstIn(byRef, e.Record.ReplyTo); ok {
				follow = append(follow, followUp{entry: i, inBatch: j})
				continue
			}
		}
		keep = append(keep, i)
		if e.Raw.Channel == "email" && e.Raw.Ref != "" {
			byRef[e.Raw.Ref] = i
		}
	}
	return keep, follow, nil
}

func firstIn(m map[string]int, keys []string) (int, bool) {
	for _, k := range keys {
		if i, ok := m[k]; ok {
			return i, true
		}
	}
	return 0, false
}

// threadTarget finds the stored demand an entry answers, or 0.
func (s *Store) threadTarget(ctx context.Context, tx *sqlx.Tx, e Entry) (int64, error) {
	var id int64
	if e.ThreadCode != "" {
		err := tx.GetContext(ctx, &id, s.db.Rebind(`SELECT id FROM demands WHERE code = ?`), e.ThreadCode)
		if err == nil {
			return id, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("store: find demand %s: %w", e.ThreadCode, err)
		}
	}
	if e.Record == nil || len(e.Record.ReplyTo) == 0 {
		return 0, nil
	}
	refs := e.Record.ReplyTo
	if len(refs) > 50 {
		refs = refs[:50]
	}
	q, args, err := sqlx.In(`SELECT COALESCE(r.demand_id, d.id) FROM raw_items r LEFT JOIN demands d ON d.raw_item_id = r.id
		WHERE r.channel = 'email' AND r.ref IN (?) AND (r.demand_id IS NOT NULL OR d.id IS NOT NULL)
		ORDER BY r.id LIMIT 1`, refs)
	if err != nil {
		return 0, fmt.Errorf("store: find thread: %w", err)
	}
	err = tx.GetContext(ctx, &id, tx.Rebind(q), args...)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: find thread: %w", err)
	}
	return id, nil
}

// attachFollowUps links each follow-up's raw item to its demand, keeps the
// reply in the demand's history and raises its last activity.
func (s *Store) attachFollowUps(ctx context.Context, tx *sqlx.Tx, entries []Entry, follow []followUp, now time.Time) error {
	for _, f := range follow {
		e := entries[f.entry]
		id := f.demandID
		if f.inBatch >= 0 {
			code := entries[f.inBatch].Record.Code
			if err := tx.GetContext(ctx, &id, s.db.Rebind(`SELECT id FROM demands WHERE code = ?`), code); err != nil {
				return fmt.Errorf("store: follow-up of %s: %w", code, err)
			}
		}
		r := e.Record
		text := r.Description.Text
		if utf8.RuneCountInString(text) > 4000 {
			text = string([]rune(text)[:4000]) + "…"
		}
		at := r.Source.ReceivedAt.UTC()
		if at.IsZero() {
			at = now
		}
		detail, err := json.Marshal(map[string]any{"raw_item_id": e.Raw.ID, "from": r.Customer.Email, "subject": r.Description.Title,
			"text": text, "received_at": at, "ref": e.Raw.Ref})
		if err != nil {
			return fmt.Errorf("store: follow-up: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.db.Rebind(`UPDATE raw_items SET demand_id = ? WHERE id = ?`), id, e.Raw.ID); err != nil {
			return fmt.Errorf("store: follow-up: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.db.Rebind(`INSERT INTO demand_history (demand_id, at, kind, detail) VALUES (?, ?, 'follow_up', ?)`),
			id, at, clean(string(detail))); err != nil {
			return fmt.Errorf("store: follow-up history: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.db.Rebind(`UPDATE demands SET last_activity_at = CASE WHEN last_activity_at < ? THEN ? ELSE last_activity_at END,
			updated_at = ? WHERE id = ?`), at, at, now, id); err != nil {
			return fmt.Errorf("store: follow-up activity: %w", err)
		}
	}
	return nil
}
