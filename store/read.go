package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/internal/i18n"
)

// ErrNotFound is returned when a looked-up row does not exist.
var ErrNotFound = errors.New("not found")

// demandRow is the demands table as scanned.
type demandRow struct {
	// DuplicateOfCode is read only where a query selects it.
	DuplicateOfCode  sql.NullString `db:"duplicate_of_code"`
	ID               int64          `db:"id"`
	Code             string         `db:"code"`
	RawItemID        sql.NullInt64  `db:"raw_item_id"`
	CustomerName     string         `db:"customer_name"`
	CustomerIndustry string         `db:"customer_industry"`
	ContactName      string         `db:"contact_name"`
	ContactEmail     string         `db:"contact_email"`
	ContactPhone     string         `db:"contact_phone"`
	CustomerTier     string         `db:"customer_tier"`
	Title            string         `db:"title"`
	Body             string         `db:"body"`
	Scenario         string         `db:"scenario"`
	PainPoint        string         `db:"pain_point"`
	Goal             string         `db:"goal"`
	Language         string         `db:"language"`
	Attachments      []byte         `db:"attachments"`
	Channel          string         `db:"channel"`
	SourceName       string         `db:"source_name"`
	Origin           string         `db:"origin"`
	ExternalRef      string         `db:"external_ref"`
	ReceivedAt       time.Time      `db:"received_at"`
	Urgency          string         `db:"urgency"`
	Type             string         `db:"type"`
	Importance       string         `db:"importance"`
	Priority         string         `db:"priority"`
	Department       string         `db:"department"`
	DueAt            sql.NullTime   `db:"due_at"`
	SLA              string         `db:"sla"`
	PainScore        int            `db:"pain_score"`
	BusinessValue    int            `db:"business_value"`
	Tags             []byte         `db:"tags"`
	Reasons          []byte         `db:"reasons"`
	Status           string         `db:"status"`
	ResponsePlan     string         `db:"response_plan"`
	FeedbackResult   string         `db:"feedback_result"`
	Satisfaction     int            `db:"satisfaction"`
	DuplicateOf      sql.NullInt64  `db:"duplicate_of"`
	Occurrences      int            `db:"occurrences"`
	Fingerprint      string         `db:"fingerprint"`
	Extra            []byte         `db:"extra"`
	Flags            []byte         `db:"flags"`
	CreatedAt        time.Time      `db:"created_at"`
	UpdatedAt        time.Time      `db:"updated_at"`
	LastActivityAt   time.Time      `db:"last_activity_at"`
	ConfirmedType    string         `db:"confirmed_type"`
	ConfirmedUrgency string         `db:"confirmed_urgency"`
	ConfirmedBy      string         `db:"confirmed_by"`
	ConfirmedAt      sql.NullTime   `db:"confirmed_at"`
	Revision         int64          `db:"revision"`
}

// confirmed is the row's confirmed labels.
func (r *demandRow) confirmed() Confirmed {
	return Confirmed{Type: demand.Type(r.ConfirmedType), Urgency: demand.Urgency(r.ConfirmedUrgency),
		By: r.ConfirmedBy, At: r.ConfirmedAt.Time}
}

func (r *demandRow) record() (*demand.Record, error) {
	rec := &demand.Record{
		ID: r.ID, Code: r.Code, RawItemID: r.RawItemID.Int64,
		Customer: demand.Customer{Name: r.CustomerName, Industry: r.CustomerIndustry, Contact: r.ContactName,
			Email: r.ContactEmail, Phone: r.ContactPhone, Tier: demand.Tier(r.CustomerTier)},
		Description: demand.Description{Title: r.Title, Text: r.Body, Scenario: r.Scenario, PainPoint: r.PainPoint,
			Goal: r.Goal, Language: r.Language},
		Source: demand.Source{Channel: demand.Channel(r.Channel), Name: r.SourceName, Origin: demand.Origin(r.Origin),
			ExternalRef: r.ExternalRef, ReceivedAt: r.ReceivedAt},
		Urgency: demand.Urgency(r.Urgency), Type: demand.Type(r.Type), Importance: demand.Importance(r.Importance),
		Priority: demand.Priority(r.Priority), Department: r.Department, DueAt: r.DueAt.Time, SLA: r.SLA,
		PainScore: r.PainScore, BusinessValue: r.BusinessValue, Status: demand.Status(r.Status),
		ResponsePlan: r.ResponsePlan, FeedbackResult: r.FeedbackResult, Satisfaction: r.Satisfaction,
		DuplicateOf: r.DuplicateOf.Int64, DuplicateOfCode: r.DuplicateOfCode.String, Occurrences: r.Occurrences, Fingerprint: r.Fingerprint,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, LastActivityAt: r.LastActivityAt, Revision: r.Revision,
	}
	for _, j := range []struct {
		name string
		data []byte
		dst  any
	}{
		{"attachments", r.Attachments, &rec.Description.Attachments},
		{"tags", r.Tags, &rec.Tags},
		{"reasons", r.Reasons, &rec.Reasons},
		{"extra", r.Extra, &rec.Extra},
		{"flags", r.Flags, &rec.Flags},
	} {
		if len(j.data) == 0 || string(j.data) == "[]" {
			continue
		}
		if err := json.Unmarshal(j.data, j.dst); err != nil {
			return nil, fmt.Errorf("store: demand %s: decode %s: %w", r.Code, j.name, err)
		}
	}
	return rec, nil
}

// summaryColumns select every column but the detail lists, left empty.
var summaryColumns = func() string {
	cols := []string{"id", "confirmed_type", "confirmed_urgency", "confirmed_by", "confirmed_at", "revision"}
	for _, c := range demandColumns {
		switch c {
		case "reasons", "extra", "attachments", "flags", "tags":
			cols = append(cols, "'[]' AS "+c)
		default:
			cols = append(cols, c)
		}
	}
	return strings.Join(cols, ", ")
}()

// EachDemand calls fn for every record matching f, oldest first, streaming
// rows so that memory does not grow with the table.
func (s *Store) EachDemand(ctx context.Context, f demand.Filter, fn func(*demand.Record) error) error {
	var where []string
	var args []any
	if !f.Since.IsZero() {
		where = append(where, "received_at >= ?")
		args = append(args, f.Since.UTC())
	}
	if !f.Until.IsZero() {
		where = append(where, "received_at < ?")
		args = append(args, f.Until.UTC())
	}
	in := func(column string, values []string) { inList(&where, &args, column, values) }
	in("status", strs(f.Status))
	in("type", strs(f.Types))
	in("priority", strs(f.Priority))
	if !f.OverdueAt.IsZero() {
		where = append(where, "due_at IS NOT NULL AND due_at < ? AND status IN ('new', 'in_progress')")
		args = append(args, f.OverdueAt.UTC())
	}
	// A duplicate's row names its canonical demand (the tracking table's
	// 重复于 column).
	const canonicalCode = `(SELECT c.code FROM demands c WHERE c.id = demands.duplicate_of) AS duplicate_of_code`
	q := `SELECT *, ` + canonicalCode + ` FROM demands`
	if f.Summary {
		q = `SELECT ` + summaryColumns + `, ` + canonicalCode + ` FROM demands`
	}
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.db.QueryxContext(ctx, s.db.Rebind(q), args...)
	if err != nil {
		return fmt.Errorf("store: list demands: %w", err)
	}
	return eachRecord(rows, "list demands", fn)
}

// eachRecord calls fn for the record of every row, closing rows; op names
// the query in errors.
func eachRecord(rows *sqlx.Rows, op string, fn func(*demand.Record) error) error {
	defer rows.Close()
	var row demandRow
	for rows.Next() {
		row = demandRow{}
		if err := rows.StructScan(&row); err != nil {
			return fmt.Errorf("store: %s: %w", op, err)
		}
		rec, err := row.record()
		if err != nil {
			return err
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	return nil
}

func strs[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// Demand returns the record with the given code.
func (s *Store) Demand(ctx context.Context, code string) (*demand.Record, error) {
	var row demandRow
	err := s.db.GetContext(ctx, &row, s.db.Rebind(`SELECT * FROM demands WHERE code = ?`), code)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: demand %s: %w", code, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: demand %s: %w", code, err)
	}
	return row.record()
}

const rawListColumns = `id, channel, source, external_key, ref, sha256, content_type, origin, status, reason,
	attempts, received_at, created_at, updated_at`

// RawItems lists raw items with the given status, oldest first, without
// their bodies.
func (s *Store) RawItems(ctx context.Context, status RawStatus, limit int) ([]RawItem, error) {
	if limit <= 0 {
		limit = 1 << 30
	}
	var items []RawItem
	err := s.db.SelectContext(ctx, &items, s.db.Rebind(`SELECT `+rawListColumns+` FROM raw_items
		WHERE status = ? ORDER BY id LIMIT ?`), string(status), limit)
	if err != nil {
		return nil, fmt.Errorf("store: list %s raw items: %w", status, err)
	}
	return items, nil
}

// RawItem returns one raw item with its body.
func (s *Store) RawItem(ctx context.Context, id int64) (*RawItem, error) {
	var row struct {
		RawItem
		ArchivedIn string       `db:"archived_in"`
		PurgedAt   sql.NullTime `db:"purged_at"`
	}
	err := s.db.GetContext(ctx, &row, s.db.Rebind(`SELECT `+rawListColumns+`, body, body_codec, archived_in, purged_at
		FROM raw_items WHERE id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: raw item %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: raw item %d: %w", id, err)
	}
	it := row.RawItem
	if row.PurgedAt.Valid {
		// Empty bytes would read as an empty email: say where they are.
		pe := &PurgedError{ID: id, Bundle: row.ArchivedIn, SHA256: it.SHA256}
		return nil, fmt.Errorf("store: %w", i18n.Wrap(pe, pe.text()))
	}
	if it.Body, err = decodeBody(it.Body, it.BodyCodec); err != nil {
		return nil, fmt.Errorf("store: raw item %d: %w", id, err)
	}
	it.BodyCodec = codecNone
	return &it, nil
}

// Resolve stores the record made from a quarantined raw item on reprocess
// and marks the item ok, in one transaction. It returns the new code.
func (s *Store) Resolve(ctx context.Context, rawID int64, rec *demand.Record, opts BatchOptions) (string, error) {
	opts = opts.withDefaults()
	now := opts.Now.UTC()
	tx, err := s.beginConn(ctx, ctx)
	if err != nil {
		return "", fmt.Errorf("store: resolve raw item %d: %w", rawID, err)
	}
	defer tx.close()
	res, err := tx.ExecContext(ctx, s.db.Rebind(`UPDATE raw_items SET status = 'ok', reason = '', attempts = attempts + 1,
		updated_at = ? WHERE id = ? AND status = 'quarantined'`), now, rawID)
	if err != nil {
		return "", fmt.Errorf("store: resolve raw item %d: %w", rawID, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return "", fmt.Errorf("store: resolve raw item %d: not quarantined: %w", rawID, ErrNotFound)
	}
	rec.RawItemID = rawID
	if _, _, err := s.insertRecords(ctx, tx, []*demand.Record{rec}, nil, opts); err != nil {
		return "", err
	}
	if err := tx.Commit(); err != nil {
		return "", fmt.Errorf("store: resolve raw item %d: commit: %w", rawID, err)
	}
	return rec.Code, nil
}

// StillQuarantined records another failed attempt and its reason.
func (s *Store) StillQuarantined(ctx context.Context, rawID int64, reason string) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE raw_items SET reason = ?, attempts = attempts + 1, updated_at = ?
		WHERE id = ?`), clean(reason), time.Now().UTC(), rawID)
	if err != nil {
		return fmt.Errorf("store: update raw item %d: %w", rawID, err)
	}
	return nil
}
