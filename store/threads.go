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
// item of its channel (or one earlier in the batch), follows that demand
// up. Email replies name Message-IDs; webhook events name their ticket.
func (s *Store) threads(ctx context.Context, tx *sqlx.Tx, entries []Entry, fresh []int) ([]int, []followUp, error) {
	stored, err := s.storedRefs(ctx, tx, entries, fresh)
	if err != nil {
		return nil, nil, err
	}
	var keep []int
	var follow []followUp
	byRef := map[string]int{} // channel + ref → entry of this batch that becomes a demand
	for _, i := range fresh {
		e := entries[i]
		id, err := s.threadTarget(ctx, tx, e, stored)
		if err != nil {
			return nil, nil, err
		}
		switch {
		case id != 0:
			follow = append(follow, followUp{entry: i, demandID: id, inBatch: -1})
			continue
		case e.Record != nil:
			if j, ok := firstIn(byRef, e.Raw.Channel, e.Record.ReplyTo); ok {
				follow = append(follow, followUp{entry: i, inBatch: j})
				continue
			}
		}
		keep = append(keep, i)
		if threaded(e.Raw.Channel) && e.Raw.Ref != "" {
			byRef[e.Raw.Channel+"\x00"+e.Raw.Ref] = i
		}
	}
	return keep, follow, nil
}

// threaded reports whether a channel's items answer each other by ref.
func threaded(channel string) bool { return channel == "email" || channel == "webhook" }

func firstIn(m map[string]int, channel string, keys []string) (int, bool) {
	for _, k := range keys {
		if i, ok := m[channel+"\x00"+k]; ok {
			return i, true
		}
	}
	return 0, false
}

// storedRef is the earliest stored item with a ref that belongs to a demand.
type storedRef struct{ rawID, demandID int64 }

// replyRefs are the refs an entry answers, at most 50 (a References
// header can be long).
func replyRefs(e Entry) []string {
	if e.Record == nil || !threaded(e.Raw.Channel) {
		return nil
	}
	refs := e.Record.ReplyTo
	if len(refs) > 50 {
		refs = refs[:50]
	}
	return refs
}

// storedRefs looks up, in a few queries for the whole batch, the stored
// demands that fresh entries answer: channel + ref → earliest such item.
func (s *Store) storedRefs(ctx context.Context, tx *sqlx.Tx, entries []Entry, fresh []int) (map[string]storedRef, error) {
	byChannel := map[string][]string{}
	seen := map[string]bool{}
	for _, i := range fresh {
		e := entries[i]
		for _, ref := range replyRefs(e) {
			if k := e.Raw.Channel + "\x00" + ref; !seen[k] {
				seen[k] = true
				byChannel[e.Raw.Channel] = append(byChannel[e.Raw.Channel], ref)
			}
		}
	}
	out := map[string]storedRef{}
	for channel, refs := range byChannel {
		for start := 0; start < len(refs); start += 500 {
			chunk := refs[start:min(start+500, len(refs))]
			q, args, err := sqlx.In(`SELECT r.ref, MIN(r.id), MIN(COALESCE(r.demand_id, d.id)) FROM raw_items r
				LEFT JOIN demands d ON d.raw_item_id = r.id
				WHERE r.channel = ? AND r.ref IN (?) AND (r.demand_id IS NOT NULL OR d.id IS NOT NULL) GROUP BY r.ref`, channel, chunk)
			if err != nil {
				return nil, fmt.Errorf("store: find thread: %w", err)
			}
			rows, err := tx.QueryContext(ctx, tx.Rebind(q), args...)
			if err != nil {
				return nil, fmt.Errorf("store: find thread: %w", err)
			}
			for rows.Next() {
				var ref string
				var r storedRef
				if err := rows.Scan(&ref, &r.rawID, &r.demandID); err != nil {
					rows.Close()
					return nil, fmt.Errorf("store: find thread: %w", err)
				}
				out[channel+"\x00"+ref] = r
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, fmt.Errorf("store: find thread: %w", err)
			}
		}
	}
	return out, nil
}

// threadTarget finds the stored demand an entry answers, or 0: the demand
// its ThreadCode names, else the one of the earliest stored item it refers to.
func (s *Store) threadTarget(ctx context.Context, tx *sqlx.Tx, e Entry, stored map[string]storedRef) (int64, error) {
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
	var best storedRef
	for _, ref := range replyRefs(e) {
		if r, ok := stored[e.Raw.Channel+"\x00"+ref]; ok && (best.rawID == 0 || r.rawID < best.rawID) {
			best = r
		}
	}
	return best.demandID, nil
}

// attachFollowUps links each follow-up's raw item to its demand, keeps the
// reply in the demand's history, raises its last activity, and applies the
// status an entry sets (a ticket closed or reopened) with its history.
func (s *Store) attachFollowUps(ctx context.Context, tx *sqlx.Tx, entries []Entry, follow []followUp, now time.Time, out []Outcome) error {
	for _, f := range follow {
		e := entries[f.entry]
		id := f.demandID
		var code, status string
		if f.inBatch >= 0 {
			code = entries[f.inBatch].Record.Code
		}
		var err error
		if code != "" {
			err = tx.QueryRowContext(ctx, s.db.Rebind(`SELECT id, status FROM demands WHERE code = ?`), code).Scan(&id, &status)
		} else {
			err = tx.QueryRowContext(ctx, s.db.Rebind(`SELECT code, status FROM demands WHERE id = ?`), id).Scan(&code, &status)
		}
		if err != nil {
			return fmt.Errorf("store: follow-up of demand %d %s: %w", id, code, err)
		}
		out[f.entry] = Outcome{Kind: OutcomeFollowUp, Code: code}
		r := e.Record
		text := r.Description.Text
		if utf8.RuneCountInString(text) > 4000 {
			text = string([]rune(text)[:4000]) + "…"
		}
		at := r.Source.ReceivedAt.UTC()
		if at.IsZero() {
			at = now
		}
		fields := map[string]any{"raw_item_id": e.Raw.ID, "from": r.Customer.Email, "subject": r.Description.Title,
			"text": text, "received_at": at, "ref": e.Raw.Ref}
		if e.Event != "" {
			fields["event"] = e.Event
			if r.Customer.Email == "" {
				fields["from"] = firstNonEmpty(r.Customer.Contact, r.Customer.Name)
			}
		}
		detail, err := json.Marshal(fields)
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
		if e.SetStatus == "" || string(e.SetStatus) == status {
			continue
		}
		change, err := json.Marshal(map[string]any{"old": map[string]string{"status": status},
			"new": map[string]string{"status": string(e.SetStatus)}, "by": e.Raw.Channel + " " + e.Raw.Source, "event": e.Event})
		if err != nil {
			return fmt.Errorf("store: status of %s: %w", code, err)
		}
		if _, err := tx.ExecContext(ctx, s.db.Rebind(`UPDATE demands SET status = ? WHERE id = ?`), string(e.SetStatus), id); err != nil {
			return fmt.Errorf("store: status of %s: %w", code, err)
		}
		if _, err := tx.ExecContext(ctx, s.db.Rebind(`INSERT INTO demand_history (demand_id, at, kind, detail) VALUES (?, ?, 'progress', ?)`),
			id, at, clean(string(change))); err != nil {
			return fmt.Errorf("store: status history of %s: %w", code, err)
		}
	}
	return nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
