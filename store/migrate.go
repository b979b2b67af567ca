package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations
var migrationFS embed.FS

// ErrSchemaNewer means the database was migrated by a newer demandd.
var ErrSchemaNewer = errors.New("database schema is newer than this demandd binary")

type migration struct {
	version int
	name    string
	sql     string
}

func (s *Store) migrations() ([]migration, error) {
	dir := path.Join("migrations", string(s.dialect))
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, fmt.Errorf("store: read embedded migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("store: migration %s: name must be NNNN_name.sql", e.Name())
		}
		b, err := migrationFS.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("store: read migration %s: %w", e.Name(), err)
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	// Numbers are unique and increasing; a gap is allowed, because
	// branches developed side by side take their numbers ahead of the
	// merge. Migrate applies every migration not recorded yet, so a gap
	// filled later is applied too.
	for i, m := range ms {
		if m.version < 1 || (i > 0 && m.version == ms[i-1].version) {
			return nil, fmt.Errorf("store: migrations must be numbered 1, 2, 3… once each; %s is not", m.name)
		}
	}
	return ms, nil
}

// SchemaVersion returns the database's version — its highest applied
// migration, 0 for a database demandd never migrated — and the binary's
// highest. It only reads: commands that
// look at a register must not start one.
func (s *Store) SchemaVersion(ctx context.Context) (db, binary int, err error) {
	ms, err := s.migrations()
	if err != nil {
		return 0, 0, err
	}
	exists := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`
	if s.dialect == Postgres {
		exists = `SELECT COUNT(*) FROM (SELECT to_regclass('schema_migrations') AS t) r WHERE r.t IS NOT NULL`
	}
	var n int
	if err := s.db.GetContext(ctx, &n, exists); err != nil {
		return 0, 0, fmt.Errorf("store: read schema version: %w", err)
	}
	latest := 0
	if len(ms) > 0 {
		latest = ms[len(ms)-1].version
	}
	if n == 0 {
		return 0, latest, nil
	}
	if err := s.db.GetContext(ctx, &db, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`); err != nil {
		return 0, 0, fmt.Errorf("store: read schema version: %w", err)
	}
	return db, latest, nil
}

// Migrate applies the missing migrations, each in its own transaction, and
// returns how many it applied. Concurrent callers on PostgreSQL serialise on
// an advisory lock.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	ms, err := s.migrations()
	if err != nil {
		return 0, err
	}
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMP NOT NULL)`); err != nil {
		return 0, fmt.Errorf("store: create schema_migrations: %w", err)
	}
	current, latest, err := s.SchemaVersion(ctx)
	if err != nil {
		return 0, err
	}
	if current > latest {
		return 0, fmt.Errorf("store: %w: the database is at version %d, this binary knows up to %d; upgrade demandd (never run an older binary against a newer database)", ErrSchemaNewer, current, latest)
	}
	var have []int
	if err := s.db.SelectContext(ctx, &have, `SELECT version FROM schema_migrations`); err != nil {
		return 0, fmt.Errorf("store: read applied migrations: %w", err)
	}
	recorded := map[int]bool{}
	for _, v := range have {
		recorded[v] = true
	}
	applied := 0
	for _, m := range ms {
		if recorded[m.version] {
			continue
		}
		done, err := s.apply(ctx, m)
		if err != nil {
			return applied, err
		}
		if done {
			applied++
		}
	}
	return applied, nil
}

func (s *Store) apply(ctx context.Context, m migration) (bool, error) {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("store: migration %s: begin: %w", m.name, err)
	}
	defer tx.Rollback()
	if s.dialect == Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7262001)`); err != nil {
			return false, fmt.Errorf("store: migration %s: lock: %w", m.name, err)
		}
	}
	var n int
	if err := tx.GetContext(ctx, &n, s.db.Rebind(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), m.version); err != nil {
		return false, fmt.Errorf("store: migration %s: %w", m.name, err)
	}
	if n > 0 { // another process applied it meanwhile
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, fmt.Errorf("store: migration %s: %w", m.name, err)
	}
	if _, err := tx.ExecContext(ctx, s.db.Rebind(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`),
		m.version, m.name, time.Now().UTC()); err != nil {
		return false, fmt.Errorf("store: migration %s: record: %w", m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("store: migration %s: commit: %w", m.name, err)
	}
	return true, nil
}
