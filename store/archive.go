package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/internal/i18n"
)

// ErrPurged is what RawItem's error wraps when the item's bytes were
// removed from the register after a verified archive bundle took them.
var ErrPurged = errors.New("raw body purged")

// PurgedError says where the bytes of a purged raw item are.
type PurgedError struct {
	ID     int64
	Bundle string // the archive bundle's file name
	SHA256 string // the digest of the bytes, to check the bundle's copy
}

func (e *PurgedError) Error() string { return e.text().EN }

// text is the message in both languages.
func (e *PurgedError) text() i18n.Text {
	return i18n.Tf("原始条目 %d 的内容已从数据库清除，原件在归档包 %s 中（SHA-256 %s）",
		"raw item %d: its bytes were purged from the database; the original is in archive bundle %s (SHA-256 %s)",
		e.ID, e.Bundle, e.SHA256)
}

func (e *PurgedError) Unwrap() error { return ErrPurged }

// ArchiveRaw is a raw item as an archive reads it: with the demand it
// belongs to.
type ArchiveRaw struct {
	RawItem
	// Code is the demand made from the item; "" when none.
	Code string
	// FollowUpOf is the demand a follow-up item was attached to.
	FollowUpOf string
	// ArchivedIn is the bundle that holds the item's bytes, once verified.
	ArchivedIn string
	// Purged marks an item whose bytes are no longer in the register: Body
	// is empty and ArchivedIn names where they are.
	Purged bool
}

// archiveMeta is one row of EachRawItem's metadata cursor.
type archiveMeta struct {
	ArchiveRaw
	stored int64 // bytes of the body as stored
}

// bodyWindow is how many stored bytes EachRawItem fetches at once: enough
// for few round trips, small enough that memory does not depend on the
// period (a body larger than this is fetched alone).
const bodyWindow = 4 << 20

// EachRawItem calls fn with every raw item received in [since, until),
// whatever its status, body decoded: emails, then questionnaire rows
// grouped by file (the sha256 that starts their key) in row order, then
// webhook bodies and any other channel, each channel in id order. Bodies
// are read a window at a time, so memory does not grow with the period;
// fn must not keep it.Body after it returns.
func (s *Store) EachRawItem(ctx context.Context, since, until time.Time, fn func(it *ArchiveRaw) error) error {
	// The metadata streams through one cursor; bodies come by id over
	// another connection, a window at a time.
	q := s.db.Rebind(`SELECT r.id, r.channel, r.source, r.external_key, r.ref, r.sha256, r.content_type, r.origin, r.status,
		r.reason, r.attempts, r.received_at, r.created_at, r.updated_at, COALESCE(d.code, ''), COALESCE(f.code, ''),
		r.archived_in, r.purged_at IS NOT NULL, length(r.body)
		FROM raw_items r LEFT JOIN demands d ON d.raw_item_id = r.id LEFT JOIN demands f ON f.id = r.demand_id
		WHERE r.received_at >= ? AND r.received_at < ?
		ORDER BY CASE r.channel WHEN 'email' THEN 0 WHEN 'questionnaire' THEN 1 WHEN 'webhook' THEN 2 ELSE 3 END, r.channel,
		CASE WHEN r.channel = 'questionnaire' THEN substr(r.external_key, 1, 64) ELSE '' END,
		CASE WHEN r.channel = 'questionnaire' THEN length(r.external_key) ELSE 0 END,
		CASE WHEN r.channel = 'questionnaire' THEN r.external_key ELSE '' END, r.id`)
	rows, err := s.db.QueryContext(ctx, q, since.UTC(), until.UTC())
	if err != nil {
		return fmt.Errorf("store: list raw items to archive: %w", err)
	}
	defer rows.Close()
	var window []archiveMeta
	var size int64
	flush := func() error {
		if len(window) == 0 {
			return nil
		}
		err := s.withBodies(ctx, window, fn)
		window, size = window[:0], 0
		return err
	}
	for rows.Next() {
		var m archiveMeta
		r := &m.RawItem
		var status string
		if err := rows.Scan(&r.ID, &r.Channel, &r.Source, &r.ExternalKey, &r.Ref, &r.SHA256, &r.ContentType, &r.Origin,
			&status, &r.Reason, &r.Attempts, &r.ReceivedAt, &r.CreatedAt, &r.UpdatedAt, &m.Code, &m.FollowUpOf,
			&m.ArchivedIn, &m.Purged, &m.stored); err != nil {
			return fmt.Errorf("store: list raw items to archive: %w", err)
		}
		r.Status = RawStatus(status)
		if m.FollowUpOf != "" && m.Code != "" {
			m.FollowUpOf = ""
		}
		if size > 0 && size+m.stored > bodyWindow {
			if err := flush(); err != nil {
				return err
			}
		}
		window = append(window, m)
		size += m.stored
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: list raw items to archive: %w", err)
	}
	return flush()
}

// withBodies reads the bodies of window and calls fn for each item, in
// order.
func (s *Store) withBodies(ctx context.Context, window []archiveMeta, fn func(*ArchiveRaw) error) error {
	ids := make([]int64, 0, len(window))
	for _, m := range window {
		if !m.Purged {
			ids = append(ids, m.ID)
		}
	}
	type stored struct {
		body  []byte
		codec string
	}
	bodies := make(map[int64]stored, len(ids))
	if len(ids) > 0 {
		q, args, err := sqlx.In(`SELECT id, body, body_codec FROM raw_items WHERE id IN (?)`, ids)
		if err != nil {
			return fmt.Errorf("store: read raw bodies: %w", err)
		}
		rows, err := s.db.QueryContext(ctx, s.db.Rebind(q), args...)
		if err != nil {
			return fmt.Errorf("store: read raw bodies: %w", err)
		}
		for rows.Next() {
			var id int64
			var b stored
			if err := rows.Scan(&id, &b.body, &b.codec); err != nil {
				rows.Close()
				return fmt.Errorf("store: read raw bodies: %w", err)
			}
			bodies[id] = b
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: read raw bodies: %w", err)
		}
	}
	for i := range window {
		it := &window[i].ArchiveRaw
		if !it.Purged {
			b, ok := bodies[it.ID]
			if !ok {
				return fmt.Errorf("store: read raw body %d: %w", it.ID, ErrNotFound)
			}
			body, err := decodeBody(b.body, b.codec)
			if err != nil {
				return fmt.Errorf("store: raw item %d: %w", it.ID, err)
			}
			it.Body = body
			delete(bodies, it.ID)
		}
		if err := fn(it); err != nil {
			return err
		}
		it.Body = nil
	}
	return nil
}

// recordPage is how many records EachRecordWithHistory reads at once.
const recordPage = 500

// EachRecordWithHistory calls fn with every record received in [since,
// until), oldest id first, and its history, a page at a time.
func (s *Store) EachRecordWithHistory(ctx context.Context, since, until time.Time, fn func(*demand.Record, []HistoryEntry) error) error {
	page := s.db.Rebind(`SELECT * FROM demands WHERE received_at >= ? AND received_at < ? AND id > ? ORDER BY id LIMIT ?`)
	var after int64
	for {
		var rows []demandRow
		if err := s.db.SelectContext(ctx, &rows, page, since.UTC(), until.UTC(), after, recordPage); err != nil {
			return fmt.Errorf("store: list records to archive: %w", err)
		}
		if len(rows) == 0 {
			return nil
		}
		ids := make([]int64, len(rows))
		for i := range rows {
			ids[i] = rows[i].ID
		}
		hist, err := s.histories(ctx, ids)
		if err != nil {
			return err
		}
		for i := range rows {
			rec, err := rows[i].record()
			if err != nil {
				return err
			}
			if err := fn(rec, hist[rec.ID]); err != nil {
				return err
			}
		}
		after = rows[len(rows)-1].ID
	}
}

// histories is the history of each of ids, oldest first.
func (s *Store) histories(ctx context.Context, ids []int64) (map[int64][]HistoryEntry, error) {
	q, args, err := sqlx.In(`SELECT demand_id, at, kind, detail FROM demand_history WHERE demand_id IN (?) ORDER BY demand_id, id`, ids)
	if err != nil {
		return nil, fmt.Errorf("store: read histories: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("store: read histories: %w", err)
	}
	defer rows.Close()
	out := map[int64][]HistoryEntry{}
	for rows.Next() {
		var id int64
		var e HistoryEntry
		var detail []byte
		if err := rows.Scan(&id, &e.At, &e.Kind, &detail); err != nil {
			return nil, fmt.Errorf("store: read histories: %w", err)
		}
		e.Detail = detail
		out[id] = append(out[id], e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read histories: %w", err)
	}
	return out, nil
}

// ArchiveRun is a period's row in archive_runs.
type ArchiveRun struct {
	Period         string       `db:"period"`
	ClaimedBy      string       `db:"claimed_by"`
	ClaimedAt      time.Time    `db:"claimed_at"`
	FinishedAt     sql.NullTime `db:"finished_at"`
	Bundle         string       `db:"bundle"`
	ManifestSHA256 string       `db:"manifest_sha256"`
	Error          string       `db:"error"`
}

// ClaimArchiveRun claims period for by, once: it reports false when the
// period was claimed before — unless that claim is unfinished and older
// than stale (a process that died making it), which it takes over.
func (s *Store) ClaimArchiveRun(ctx context.Context, period, by string, now time.Time, stale time.Duration) (bool, error) {
	now = now.UTC()
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO archive_runs (period, claimed_by, claimed_at) VALUES (?, ?, ?)
		ON CONFLICT (period) DO NOTHING`), period, clean(by), now)
	if err != nil {
		return false, fmt.Errorf("store: claim archive of %s: %w", period, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return true, nil
	}
	// An unfinished claim, or one that failed, is taken over once stale.
	res, err = s.db.ExecContext(ctx, s.db.Rebind(`UPDATE archive_runs SET claimed_by = ?, claimed_at = ?, error = ''
		WHERE period = ? AND finished_at IS NULL AND claimed_at < ?`), clean(by), now, period, now.Add(-stale))
	if err != nil {
		return false, fmt.Errorf("store: claim archive of %s: %w", period, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// FinishArchiveRun records what a claimed run made, or why it failed
// (errText set: the run stays unfinished, to be retried once stale).
func (s *Store) FinishArchiveRun(ctx context.Context, period, bundle, manifestSHA256, errText string, now time.Time) error {
	var finished any
	if errText == "" {
		finished = now.UTC()
	}
	if _, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE archive_runs SET finished_at = ?, bundle = ?, manifest_sha256 = ?, error = ?
		WHERE period = ?`), finished, clean(bundle), manifestSHA256, clean(errText), period); err != nil {
		return fmt.Errorf("store: record archive of %s: %w", period, err)
	}
	return nil
}

// ArchiveRuns lists archive_runs, newest period first.
func (s *Store) ArchiveRuns(ctx context.Context) ([]ArchiveRun, error) {
	var runs []ArchiveRun
	if err := s.db.SelectContext(ctx, &runs, `SELECT * FROM archive_runs ORDER BY period DESC`); err != nil {
		return nil, fmt.Errorf("store: list archive runs: %w", err)
	}
	return runs, nil
}

// ArchivedItem is a raw item a verified bundle holds, with the digest of
// the bytes the bundle has.
type ArchivedItem struct {
	ID     int64
	SHA256 string
}

// MarkArchived records that the verified bundle holds items. An item is
// marked only when the digest the bundle has is the one the register
// keeps, so that a purge never removes bytes the bundle does not hold; it
// returns how many were marked.
func (s *Store) MarkArchived(ctx context.Context, bundle string, items []ArchivedItem) (int, error) {
	if bundle == "" || strings.ContainsAny(bundle, "/\\") {
		return 0, fmt.Errorf("store: mark archived: bundle %q must be a file name", bundle)
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("store: mark archived: %w", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PreparexContext(ctx, tx.Rebind(`UPDATE raw_items SET archived_in = ? WHERE id = ? AND sha256 = ? AND purged_at IS NULL`))
	if err != nil {
		return 0, fmt.Errorf("store: mark archived: %w", err)
	}
	defer stmt.Close()
	marked := 0
	for _, it := range items {
		res, err := stmt.ExecContext(ctx, bundle, it.ID, it.SHA256)
		if err != nil {
			return 0, fmt.Errorf("store: mark raw item %d archived: %w", it.ID, err)
		}
		n, _ := res.RowsAffected()
		marked += int(n)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("store: mark archived: commit: %w", err)
	}
	return marked, nil
}

// PurgeRaw empties the bodies of the raw items that bundle holds (marked
// by MarkArchived) and that were received before cutoff, and returns how
// many it purged. The caller verifies the bundle first.
func (s *Store) PurgeRaw(ctx context.Context, bundle string, cutoff, now time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE raw_items SET body = ?, body_codec = '', purged_at = ?
		WHERE archived_in = ? AND purged_at IS NULL AND received_at < ?`), []byte{}, now.UTC(), bundle, cutoff.UTC())
	if err != nil {
		return 0, fmt.Errorf("store: purge raw items of %s: %w", bundle, err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// PurgeCandidates lists the bundles holding raw items received before
// cutoff whose bytes are still in the register.
func (s *Store) PurgeCandidates(ctx context.Context, cutoff time.Time) ([]string, error) {
	var bundles []string
	if err := s.db.SelectContext(ctx, &bundles, s.db.Rebind(`SELECT DISTINCT archived_in FROM raw_items
		WHERE archived_in <> '' AND purged_at IS NULL AND received_at < ? ORDER BY archived_in`), cutoff.UTC()); err != nil {
		return nil, fmt.Errorf("store: list bundles to purge: %w", err)
	}
	return bundles, nil
}
