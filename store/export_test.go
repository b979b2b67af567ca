package store

import (
	"context"
	"time"
)

// InsertSchemaVersionForTest pretends a newer binary migrated the database.
func (s *Store) InsertSchemaVersionForTest(ctx context.Context, v int) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`),
		v, "future", time.Now().UTC())
	return err
}
