package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Leases: each polled source (a mailbox account, a watched folder) is run
// by one `serve` process at a time, the holder of its row in leases.
//
//   - AcquireLease inserts the row, or takes it over when it has expired or
//     names the caller already: one INSERT … ON CONFLICT DO UPDATE … WHERE,
//     so two processes racing for it cannot both win. Every acquisition
//     raises the row's token by one.
//   - RenewLease moves expires_at on while the row still has the caller's
//     owner and token and has not expired; an expired lease is not renewed,
//     it must be acquired again (with a new token).
//   - SaveBatch with BatchOptions.Fence checks, in the batch's transaction
//     and just before it commits, that the row still has the fence's owner
//     and token and has not expired, and locks the row (FOR UPDATE) so that
//     nobody can take it over before the commit: a process that lost its
//     lease (paused past its expiry, cut off from the database) cannot
//     commit a batch, nor move its checkpoint, after the next holder
//     started. Its commit fails with ErrLeaseLost and nothing is written.
//
// Every time comes from the database's clock — now() on PostgreSQL,
// julianday('now') on SQLite — never the processes', whose clocks may
// disagree. The fence reads clock_timestamp(), the time of the check,
// rather than now(), which is the start of the batch's transaction.

// ErrLeaseLost means a fenced batch was refused: its source's lease has
// another owner, a newer token, or has expired.
var ErrLeaseLost = errors.New("the lease of this source is no longer held")

// Lease is a held claim on a source.
type Lease struct {
	Key   string
	Owner string
	// Token grows by one at every acquisition of the key: it tells this
	// holding from an earlier one of the same owner.
	Token int64
	// TTL is how long the lease lasts from its last acquisition or renewal.
	TTL time.Duration
}

// Fence is what a fenced batch must still hold when it commits.
func (l Lease) Fence() *Fence { return &Fence{Key: l.Key, Owner: l.Owner, Token: l.Token} }

// Fence names a lease a batch is committed under (BatchOptions.Fence).
type Fence struct {
	Key   string
	Owner string
	Token int64
}

// LeaseInfo is a lease row as stored, for status pages and tests.
type LeaseInfo struct {
	Key        string
	Owner      string
	Token      int64
	ExpiresAt  time.Time
	AcquiredAt time.Time
	RenewedAt  time.Time
	// Remaining is how long until it expires by the database's clock when
	// it was read; 0 or less: expired.
	Remaining time.Duration
}

// dbNowMS is the database's clock in milliseconds since the epoch.
func (s *Store) dbNowMS() string {
	if s.dialect == Postgres {
		return `(EXTRACT(EPOCH FROM now()) * 1000)::BIGINT`
	}
	return `CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)`
}

// leaseQueries are the lease statements of s's dialect. On PostgreSQL
// times are TIMESTAMPTZ; on SQLite milliseconds since the epoch.
func (s *Store) leaseQueries() (acquire, renew, release, check string) {
	if s.dialect == Postgres {
		ttl := `($3::BIGINT * interval '1 millisecond')`
		acquire = `INSERT INTO leases AS l (source_key, owner, token, expires_at, acquired_at, renewed_at)
			VALUES ($1, $2, 1, now() + ` + ttl + `, now(), now())
			ON CONFLICT (source_key) DO UPDATE SET owner = excluded.owner, token = l.token + 1,
				expires_at = excluded.expires_at, acquired_at = excluded.acquired_at, renewed_at = excluded.renewed_at
			WHERE l.expires_at <= now() OR l.owner = excluded.owner
			RETURNING token`
		renew = `UPDATE leases SET expires_at = now() + ($4::BIGINT * interval '1 millisecond'), renewed_at = now()
			WHERE source_key = $1 AND owner = $2 AND token = $3 AND expires_at > now()`
		release = `UPDATE leases SET expires_at = now() WHERE source_key = $1 AND owner = $2 AND token = $3`
		check = `SELECT 1 FROM leases WHERE source_key = $1 AND owner = $2 AND token = $3
			AND expires_at > clock_timestamp() FOR UPDATE`
		return
	}
	now := s.dbNowMS()
	acquire = `INSERT INTO leases AS l (source_key, owner, token, expires_at, acquired_at, renewed_at)
		VALUES (?1, ?2, 1, ` + now + ` + ?3, ` + now + `, ` + now + `)
		ON CONFLICT (source_key) DO UPDATE SET owner = excluded.owner, token = l.token + 1,
			expires_at = excluded.expires_at, acquired_at = excluded.acquired_at, renewed_at = excluded.renewed_at
		WHERE l.expires_at <= ` + now + ` OR l.owner = excluded.owner
		RETURNING token`
	renew = `UPDATE leases SET expires_at = ` + now + ` + ?4, renewed_at = ` + now + `
		WHERE source_key = ?1 AND owner = ?2 AND token = ?3 AND expires_at > ` + now
	release = `UPDATE leases SET expires_at = ` + now + ` WHERE source_key = ?1 AND owner = ?2 AND token = ?3`
	// BEGIN IMMEDIATE took the write lock: nobody changes the row until
	// the batch commits.
	check = `SELECT 1 FROM leases WHERE source_key = ?1 AND owner = ?2 AND token = ?3 AND expires_at > ` + now
	return
}

// AcquireLease claims key for owner for ttl. It returns the lease and true
// when the caller holds it now — the row was free, expired, or already the
// caller's — and otherwise false and how long the current holding has left
// by the database's clock, so that the caller knows when to try again.
func (s *Store) AcquireLease(ctx context.Context, key, owner string, ttl time.Duration) (Lease, bool, time.Duration, error) {
	if ttl < time.Millisecond {
		return Lease{}, false, 0, fmt.Errorf("store: acquire lease %s: ttl %v is too short", key, ttl)
	}
	acquire, _, _, _ := s.leaseQueries()
	var token int64
	err := s.db.GetContext(ctx, &token, acquire, key, owner, ttl.Milliseconds())
	if err == nil {
		return Lease{Key: key, Owner: owner, Token: token, TTL: ttl}, true, 0, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return Lease{}, false, 0, fmt.Errorf("store: acquire lease %s: %w", key, err)
	}
	info, ok, err := s.LeaseInfo(ctx, key)
	if err != nil {
		return Lease{}, false, 0, err
	}
	if !ok { // released and removed meanwhile: try again at once
		return Lease{}, false, 0, nil
	}
	return Lease{}, false, max(info.Remaining, 0), nil
}

// RenewLease extends l by its TTL from now. It returns false when the lease
// is lost: taken over, or expired (an expired lease is acquired again, with
// a new token, never renewed).
func (s *Store) RenewLease(ctx context.Context, l Lease) (bool, error) {
	_, renew, _, _ := s.leaseQueries()
	res, err := s.db.ExecContext(ctx, renew, l.Key, l.Owner, l.Token, l.TTL.Milliseconds())
	if err != nil {
		return false, fmt.Errorf("store: renew lease %s: %w", l.Key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: renew lease %s: %w", l.Key, err)
	}
	return n == 1, nil
}

// ReleaseLease ends l at once, so that another process can take the source
// without waiting for the TTL. The row stays, with its token, so that
// tokens only grow. Releasing a lease that is no longer held does nothing.
func (s *Store) ReleaseLease(ctx context.Context, l Lease) error {
	_, _, release, _ := s.leaseQueries()
	if _, err := s.db.ExecContext(ctx, release, l.Key, l.Owner, l.Token); err != nil {
		return fmt.Errorf("store: release lease %s: %w", l.Key, err)
	}
	return nil
}

// ClearLeases ends every lease at once. `serve` on SQLite calls it once it
// holds the database's lock file: no other process can hold a lease then,
// and a killed predecessor's leases would only delay the sources.
func (s *Store) ClearLeases(ctx context.Context) error {
	q := `UPDATE leases SET expires_at = now() WHERE expires_at > now()`
	if s.dialect == SQLite {
		q = `UPDATE leases SET expires_at = ` + s.dbNowMS() + ` WHERE expires_at > ` + s.dbNowMS()
	}
	if _, err := s.db.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("store: clear leases: %w", err)
	}
	return nil
}

// checkFence fails with ErrLeaseLost unless f is still held, and keeps it
// held until tx ends. Call it last, just before the commit.
func (s *Store) checkFence(ctx context.Context, tx *sqlx.Tx, f *Fence) error {
	_, _, _, check := s.leaseQueries()
	var one int
	err := tx.GetContext(ctx, &one, check, f.Key, f.Owner, f.Token)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: save batch under lease %s (token %d): %w", f.Key, f.Token, ErrLeaseLost)
	}
	if err != nil {
		return fmt.Errorf("store: check lease %s: %w", f.Key, err)
	}
	return nil
}

// LeaseInfo reads the lease row of key; false when there is none.
func (s *Store) LeaseInfo(ctx context.Context, key string) (LeaseInfo, bool, error) {
	all, err := s.leases(ctx, key)
	if err != nil || len(all) == 0 {
		return LeaseInfo{}, false, err
	}
	return all[0], true, nil
}

// Leases reads every lease row, by key.
func (s *Store) Leases(ctx context.Context) ([]LeaseInfo, error) { return s.leases(ctx, "") }

func (s *Store) leases(ctx context.Context, key string) ([]LeaseInfo, error) {
	cols := `source_key, owner, token, ` + s.dbNowMS() + `, `
	if s.dialect == Postgres {
		cols += `(EXTRACT(EPOCH FROM expires_at) * 1000)::BIGINT, (EXTRACT(EPOCH FROM acquired_at) * 1000)::BIGINT,
			(EXTRACT(EPOCH FROM renewed_at) * 1000)::BIGINT`
	} else {
		cols += `expires_at, acquired_at, renewed_at`
	}
	q := `SELECT ` + cols + ` FROM leases`
	var args []any
	if key != "" {
		q += ` WHERE source_key = ?`
		args = append(args, key)
	}
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(q+` ORDER BY source_key`), args...)
	if err != nil {
		return nil, fmt.Errorf("store: read leases: %w", err)
	}
	defer rows.Close()
	var out []LeaseInfo
	for rows.Next() {
		var l LeaseInfo
		var now, exp, acq, ren int64
		if err := rows.Scan(&l.Key, &l.Owner, &l.Token, &now, &exp, &acq, &ren); err != nil {
			return nil, fmt.Errorf("store: read leases: %w", err)
		}
		l.ExpiresAt, l.AcquiredAt, l.RenewedAt = time.UnixMilli(exp).UTC(), time.UnixMilli(acq).UTC(), time.UnixMilli(ren).UTC()
		l.Remaining = time.Duration(exp-now) * time.Millisecond
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read leases: %w", err)
	}
	return out, nil
}
