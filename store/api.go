package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/demandd/demandd/demand"
)

// ListQuery selects demands for the API. Zero fields match all; values of
// one list are alternatives (OR), the fields together narrow (AND).
type ListQuery struct {
	Status   []demand.Status
	Types    []demand.Type
	Urgency  []demand.Urgency
	Priority []demand.Priority
	Channel  []demand.Channel
	Source   []string  // source names (the configured mailbox, folder, webhook)
	Since    time.Time // received at or after
	Until    time.Time // received before
	Customer string    // substring of the customer's name, contact or email, any case
	Text     string    // substring of the title or text, any case
	// After continues a listing: only ids after it in the order (below it
	// when Descending). Keyset paging on the primary key, so that rows
	// arriving meanwhile neither shift nor repeat a page.
	After      int64
	Descending bool // newest first
	Limit      int  // at most this many; 0 means 50
}

// Listed is a demand as the API lists it.
type Listed struct {
	Record          *demand.Record
	Confirmed       Confirmed
	DuplicateOfCode string // code of the canonical demand, "" unless a duplicate
}

// listRow is a demand with its canonical demand's code.
type listRow struct {
	demandRow
	DuplicateOfCode string `db:"duplicate_of_code"`
}

func (r *listRow) listed() (Listed, error) {
	rec, err := r.record()
	if err != nil {
		return Listed{}, err
	}
	return Listed{Record: rec, Confirmed: r.confirmed(), DuplicateOfCode: r.DuplicateOfCode}, nil
}

const listSelect = `SELECT d.*, COALESCE(c.code, '') AS duplicate_of_code
	FROM demands d LEFT JOIN demands c ON c.id = d.duplicate_of`

// ListDemands returns the first q.Limit demands matching q in id order and
// whether more follow.
func (s *Store) ListDemands(ctx context.Context, q ListQuery) ([]Listed, bool, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	var where []string
	var args []any
	in := func(column string, values []string) { inList(&where, &args, column, values) }
	in("d.status", strs(q.Status))
	in("d.type", strs(q.Types))
	in("d.urgency", strs(q.Urgency))
	in("d.priority", strs(q.Priority))
	in("d.channel", strs(q.Channel))
	in("d.source_name", q.Source)
	if !q.Since.IsZero() {
		where = append(where, "d.received_at >= ?")
		args = append(args, q.Since.UTC())
	}
	if !q.Until.IsZero() {
		where = append(where, "d.received_at < ?")
		args = append(args, q.Until.UTC())
	}
	like := func(text string, columns ...string) {
		if text == "" {
			return
		}
		var or []string
		for _, c := range columns {
			or = append(or, "LOWER("+c+`) LIKE ? ESCAPE '\'`)
			args = append(args, likePattern(text))
		}
		where = append(where, "("+strings.Join(or, " OR ")+")")
	}
	like(q.Customer, "d.customer_name", "d.contact_name", "d.contact_email")
	like(q.Text, "d.title", "d.body")
	order := " ORDER BY d.id"
	if q.Descending {
		order += " DESC"
	}
	if q.After > 0 {
		if q.Descending {
			where = append(where, "d.id < ?")
		} else {
			where = append(where, "d.id > ?")
		}
		args = append(args, q.After)
	}
	stmt := listSelect
	if len(where) > 0 {
		stmt += " WHERE " + strings.Join(where, " AND ")
	}
	stmt += order + " LIMIT ?"
	args = append(args, limit+1) // one more tells whether a next page exists
	var rows []listRow
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(stmt), args...); err != nil {
		return nil, false, fmt.Errorf("store: list demands: %w", err)
	}
	more := len(rows) > limit
	if more {
		rows = rows[:limit]
	}
	out := make([]Listed, len(rows))
	for i := range rows {
		l, err := rows[i].listed()
		if err != nil {
			return nil, false, err
		}
		out[i] = l
	}
	return out, more, nil
}

// likePattern matches s anywhere, its % _ and \ taken literally.
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.ToLower(s)) + "%"
}

// Detail is a demand with everything the API shows about it.
type Detail struct {
	Listed
	History    []HistoryEntry
	RawItems   []RawItem // without bodies: the item it came from, then follow-ups
	Duplicates []string  // codes of the demands linked to this one as duplicates
}

// DemandDetail returns the demand with the given code, its history, raw
// item references and duplicates.
func (s *Store) DemandDetail(ctx context.Context, code string) (*Detail, error) {
	var row listRow
	err := s.db.GetContext(ctx, &row, s.db.Rebind(listSelect+` WHERE d.code = ?`), code)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: demand %s: %w", code, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: demand %s: %w", code, err)
	}
	l, err := row.listed()
	if err != nil {
		return nil, err
	}
	d := &Detail{Listed: l}
	if d.History, err = s.History(ctx, row.ID); err != nil {
		return nil, err
	}
	if d.RawItems, err = s.DemandRawItems(ctx, row.ID); err != nil {
		return nil, err
	}
	if d.Duplicates, err = s.DuplicatesOf(ctx, row.ID); err != nil {
		return nil, err
	}
	return d, nil
}

// DemandRawItems lists the raw items of a demand without their bodies: the
// one it was made from and those that followed it up, oldest first.
func (s *Store) DemandRawItems(ctx context.Context, demandID int64) ([]RawItem, error) {
	var items []RawItem
	err := s.db.SelectContext(ctx, &items, s.db.Rebind(`SELECT `+rawListColumns+` FROM raw_items
		WHERE id = (SELECT raw_item_id FROM demands WHERE id = ?) OR demand_id = ? ORDER BY id`), demandID, demandID)
	if err != nil {
		return nil, fmt.Errorf("store: raw items of demand %d: %w", demandID, err)
	}
	return items, nil
}

// DuplicatesOf lists the codes of the demands linked to demandID as its
// duplicates, oldest first.
func (s *Store) DuplicatesOf(ctx context.Context, demandID int64) ([]string, error) {
	var codes []string
	if err := s.db.SelectContext(ctx, &codes, s.db.Rebind(`SELECT code FROM demands WHERE duplicate_of = ? ORDER BY id`), demandID); err != nil {
		return nil, fmt.Errorf("store: duplicates of demand %d: %w", demandID, err)
	}
	return codes, nil
}

// Stats counts demands by each dimension; every record counts, duplicates
// included (Duplicates says how many of Total are).
type Stats struct {
	Total      int
	Duplicates int
	ByType     map[string]int
	ByUrgency  map[string]int
	ByPriority map[string]int
	ByStatus   map[string]int
	ByChannel  map[string]int
}

// statsDimensions are the grouped columns, in the order of the query.
var statsDimensions = []string{"type", "urgency", "priority", "status", "channel"}

// Stats counts the demands received in [since, until) (zero: unbounded)
// by type, urgency, priority, status and channel. One statement, so that
// the dimensions agree with each other on a table being written to.
func (s *Store) Stats(ctx context.Context, since, until time.Time) (Stats, error) {
	var where []string
	var args []any
	if !since.IsZero() {
		where = append(where, "received_at >= ?")
		args = append(args, since.UTC())
	}
	if !until.IsZero() {
		where = append(where, "received_at < ?")
		args = append(args, until.UTC())
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	// GROUPING SETS would do on PostgreSQL only; UNION ALL runs on both.
	parts := []string{`SELECT 'total' AS dim, '' AS val, COUNT(*) AS n,
		COALESCE(SUM(CASE WHEN duplicate_of IS NULL THEN 0 ELSE 1 END), 0) AS dups FROM demands` + cond}
	all := append([]any(nil), args...)
	for _, d := range statsDimensions {
		parts = append(parts, `SELECT '`+d+`', `+d+`, COUNT(*), 0 FROM demands`+cond+` GROUP BY `+d)
		all = append(all, args...)
	}
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(strings.Join(parts, " UNION ALL ")), all...)
	if err != nil {
		return Stats{}, fmt.Errorf("store: stats: %w", err)
	}
	defer rows.Close()
	st := Stats{ByType: map[string]int{}, ByUrgency: map[string]int{}, ByPriority: map[string]int{},
		ByStatus: map[string]int{}, ByChannel: map[string]int{}}
	by := map[string]map[string]int{"type": st.ByType, "urgency": st.ByUrgency, "priority": st.ByPriority,
		"status": st.ByStatus, "channel": st.ByChannel}
	for rows.Next() {
		var dim, val string
		var n, dups int
		if err := rows.Scan(&dim, &val, &n, &dups); err != nil {
			return Stats{}, fmt.Errorf("store: stats: %w", err)
		}
		if dim == "total" {
			st.Total, st.Duplicates = n, dups
			continue
		}
		by[dim][val] = n
	}
	if err := rows.Err(); err != nil {
		return Stats{}, fmt.Errorf("store: stats: %w", err)
	}
	return st, nil
}
