package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	_ "modernc.org/sqlite" // registers "sqlite"

	"github.com/demandd/demandd/internal/redact"
)

// Dialect names a database flavour.
type Dialect string

const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// Store is the register.
type Store struct {
	db      *sqlx.DB
	dialect Dialect
	q       queries
	// stageSlots bounds the batches staged at once (StageBatch), so that
	// their open transactions leave connections to everything else.
	stageSlots chan struct{}
}

// Options tune Open.
type Options struct {
	MaxOpenConns int
}

// Open connects to url: postgres://… / postgresql://… or sqlite:PATH. It
// does not migrate; call Migrate.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	var (
		db  *sqlx.DB
		d   Dialect
		err error
	)
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		d = Postgres
		db, err = openPostgres(url)
		if err == nil {
			n := opts.MaxOpenConns
			if n <= 0 {
				n = 8
			}
			db.SetMaxOpenConns(n)
			db.SetMaxIdleConns(n)
		}
	case strings.HasPrefix(url, "sqlite:"):
		d = SQLite
		path := SQLitePath(url)
		if err := createPrivate(path); err != nil {
			return nil, err
		}
		// WAL lets readers run beside the writer; synchronous=FULL makes a
		// commit durable before a source acknowledges; _txlock=immediate
		// takes the write lock at BEGIN so writers queue on busy_timeout
		// instead of failing on upgrade.
		dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)" +
			"&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)&_txlock=immediate"
		db, err = sqlx.Open("sqlite", dsn)
		if err == nil {
			db.SetMaxOpenConns(4)
		}
	default:
		return nil, fmt.Errorf("store: unsupported database url %q: want postgres://… or sqlite:PATH", redact.DSN(url))
	}
	// lib/pq's errors may quote the URL, password included (net/url's
	// parse errors do): every error says what failed without it.
	if err != nil {
		return nil, redact.Error(fmt.Errorf("store: open %s: %w", d, err), url)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, redact.Error(fmt.Errorf("store: connect to %s: %w", d, err), url)
	}
	s := &Store{db: db, dialect: d}
	if n := db.Stats().MaxOpenConnections; d == Postgres && n >= 2 {
		s.stageSlots = make(chan struct{}, n/2)
	}
	s.q = newQueries(db)
	return s, nil
}

// openPostgres opens url with lib/pq sending []byte parameters in binary
// (binary_parameters): raw bodies then travel as they are, not as hex text
// twice their size that both sides must encode and parse, and every
// statement with parameters takes one round trip instead of two. Every
// []byte the store binds is a bytea value; text and JSON go as strings.
func openPostgres(url string) (*sqlx.DB, error) {
	cfg, err := pq.NewConfig(url)
	if err != nil {
		return nil, err
	}
	cfg.BinaryParameters = true
	// JIT compilation pays off for long analytic queries; demandd's are
	// short, or long and simple (an export reads every row in id order),
	// where compiling cost 270 ms before the first row. A jit setting in
	// url wins.
	if _, ok := cfg.Runtime["jit"]; !ok {
		if cfg.Runtime == nil {
			cfg.Runtime = map[string]string{}
		}
		cfg.Runtime["jit"] = "off"
	}
	conn, err := pq.NewConnectorConfig(cfg)
	if err != nil {
		return nil, err
	}
	return sqlx.NewDb(sql.OpenDB(conn), "postgres"), nil
}

// createPrivate creates the SQLite file at path 0600, and its directory
// 0700 when missing, whatever the umask: the register holds customers'
// contact details. SQLite itself would create the file 0644, and it gives
// the -wal and -shm files the database file's mode, so they follow. A file
// or directory that exists keeps its mode: it may be shared on purpose (a
// backup group), and demandd does not change what it did not make.
func createPrivate(path string) error {
	if path == "" || strings.HasPrefix(path, ":") { // ":memory:", a temporary database
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("store: create database directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err == nil {
		// A umask that takes the owner's bits would leave SQLite a file
		// it cannot write.
		err = f.Chmod(0o600)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("store: create database file: %w", err)
	}
	return nil
}

// SQLitePath is the file of a sqlite:PATH (or sqlite://PATH) URL, "" for
// any other database.
func SQLitePath(url string) string {
	if !strings.HasPrefix(url, "sqlite:") {
		return ""
	}
	return strings.TrimPrefix(strings.TrimPrefix(url, "sqlite:"), "//")
}

// Dialect reports which database this is.
func (s *Store) Dialect() Dialect { return s.dialect }

// Close closes the pool.
func (s *Store) Close() error { return s.db.Close() }

// Ping checks the connection.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Checkpoint returns a source's stored cursor.
func (s *Store) Checkpoint(ctx context.Context, key string) (string, bool, error) {
	var v string
	err := s.db.GetContext(ctx, &v, s.q.getCheckpoint, key)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("store: read checkpoint %s: %w", key, err)
	}
	return v, true, nil
}

// SetCheckpoint writes a cursor outside a batch.
func (s *Store) SetCheckpoint(ctx context.Context, key, value string) error {
	if _, err := s.db.ExecContext(ctx, s.q.putCheckpoint, key, value, time.Now().UTC()); err != nil {
		return fmt.Errorf("store: write checkpoint %s: %w", key, err)
	}
	return nil
}

// Counts summarises the register.
type Counts struct {
	Demands     int
	Raw         int
	Quarantined int
	Ignored     int
	FailedFiles int // files in failed/ waiting for a person
}

// Count returns the register's totals.
func (s *Store) Count(ctx context.Context) (Counts, error) {
	var c Counts
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM demands`).Scan(&c.Demands); err != nil {
		return c, fmt.Errorf("store: count demands: %w", err)
	}
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*),
		COALESCE(SUM(CASE WHEN status = 'quarantined' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN status = 'ignored' THEN 1 ELSE 0 END), 0) FROM raw_items`).
		Scan(&c.Raw, &c.Quarantined, &c.Ignored)
	if err != nil {
		return c, fmt.Errorf("store: count raw items: %w", err)
	}
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM failed_files WHERE status = 'failed'`).Scan(&c.FailedFiles); err != nil {
		return c, fmt.Errorf("store: count failed files: %w", err)
	}
	return c, nil
}
