package store

import (
	"context"
	"fmt"
	"time"
)

// Clock is the database server's clock against this machine's: the
// server's time minus the local time halfway through the query, and the
// query's round trip, which bounds how well the skew is known. Due times
// and leases are stamped by the machine that writes them and compared by
// others, so a skew between machines sharing a PostgreSQL moves SLA times
// and breaks leases. SQLite has no clock of its own: it reports a zero
// skew.
func (s *Store) Clock(ctx context.Context) (skew, roundTrip time.Duration, err error) {
	if s.dialect != Postgres {
		return 0, 0, nil
	}
	var db time.Time
	start := time.Now()
	// clock_timestamp, not now(): now() is the transaction's start.
	if err := s.db.GetContext(ctx, &db, `SELECT clock_timestamp()`); err != nil {
		return 0, 0, fmt.Errorf("store: read the database clock: %w", err)
	}
	end := time.Now()
	roundTrip = end.Sub(start)
	mid := start.Add(roundTrip / 2)
	return db.Sub(mid), roundTrip, nil
}
