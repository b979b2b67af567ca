package store

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// A batch's commit is the import's slowest stage, and on a busy machine
// each statement of it costs a wake-up of the server and of this process
// besides the work: the helpers here send what used to be a statement per
// key or per chunk of keys as one statement on PostgreSQL.

// inChunk is how many keys SQLite binds in one "IN (…)".
const inChunk = 500

// queryIn runs query, whose one bound parameter is the "IN (?)" that takes
// keys, and hands each row to scan: on PostgreSQL as one statement over an
// array, on SQLite in chunks of bound parameters.
func queryIn[K string | int64](ctx context.Context, s *Store, tx *sqlx.Tx, query string, keys []K, scan func(*sql.Rows) error) error {
	if len(keys) == 0 {
		return nil
	}
	if s.dialect == Postgres {
		q := strings.Replace(query, "IN (?)", "= ANY(?)", 1)
		return scanRows(tx.QueryContext(ctx, tx.Rebind(q), pq.Array(keys)))(scan)
	}
	for start := 0; start < len(keys); start += inChunk {
		q, args, err := sqlx.In(query, keys[start:min(start+inChunk, len(keys))])
		if err != nil {
			return err
		}
		if err := scanRows(tx.QueryContext(ctx, tx.Rebind(q), args...))(scan); err != nil {
			return err
		}
	}
	return nil
}

// queryIDs runs queryIn for a query of (text, id) rows and puts them in ids.
func queryIDs(ctx context.Context, s *Store, tx *sqlx.Tx, query string, keys []string, ids map[string]int64) error {
	return queryIn(ctx, s, tx, query, keys, func(rows *sql.Rows) error {
		var key string
		var id int64
		err := rows.Scan(&key, &id)
		ids[key] = id
		return err
	})
}

// scanRows hands each row of a query's result to scan and closes it.
func scanRows(rows *sql.Rows, err error) func(scan func(*sql.Rows) error) error {
	return func(scan func(*sql.Rows) error) error {
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	}
}

// bumpOccurrences raises each demand's occurrence count by its number in
// bump and marks it active at now: one UPDATE on PostgreSQL.
func (s *Store) bumpOccurrences(ctx context.Context, tx *sqlx.Tx, bump map[int64]int, now time.Time) error {
	if len(bump) == 0 {
		return nil
	}
	ids := make([]int64, 0, len(bump))
	for id := range bump {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] }) // the same statements for the same batch
	if s.dialect == Postgres {
		by := make([]int64, len(ids))
		for i, id := range ids {
			by[i] = int64(bump[id])
		}
		if _, err := tx.ExecContext(ctx, `UPDATE demands d SET occurrences = d.occurrences + u.n, last_activity_at = $3
			FROM unnest($1::bigint[], $2::bigint[]) AS u(id, n)
			WHERE d.id = u.id`, pq.Array(ids), pq.Array(by), now); err != nil {
			return fmt.Errorf("store: count duplicates of %d demands: %w", len(ids), err)
		}
		return nil
	}
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, s.q.bumpOccurrences, bump[id], now, id); err != nil {
			return fmt.Errorf("store: count duplicate of demand %d: %w", id, err)
		}
	}
	return nil
}
