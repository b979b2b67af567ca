package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// FailedFile is a whole file a channel could not read and moved aside.
type FailedFile struct {
	ID           int64     `db:"id" json:"id"`
	Channel      string    `db:"channel" json:"channel"`
	Source       string    `db:"source" json:"source"`
	Name         string    `db:"name" json:"name"`
	SHA256       string    `db:"sha256" json:"sha256"`
	Size         int64     `db:"size" json:"size"`
	Reason       string    `db:"reason" json:"reason"`
	OriginalPath string    `db:"original_path" json:"original_path"`
	MovedTo      string    `db:"moved_to" json:"moved_to"`
	Status       string    `db:"status" json:"status"` // failed, retried or resolved
	Attempts     int       `db:"attempts" json:"attempts"`
	FailedAt     time.Time `db:"failed_at" json:"failed_at"`
	UpdatedAt    time.Time `db:"updated_at" json:"updated_at"`
}

// Statuses of a failed file.
const (
	FileFailed   = "failed"   // in failed/, waiting for a person
	FileRetried  = "retried"  // moved back into its folder by reprocess
	FileResolved = "resolved" // the same content was imported since
)

const failedColumns = `id, channel, source, name, sha256, size, reason, original_path, moved_to, status, attempts, failed_at, updated_at`

// RecordFailedFile records a file moved aside. A file that failed before
// at the same place (taken back by reprocess and failed again) counts
// another attempt. found marks a file found lying in failed/: it is added
// if unknown and otherwise left as recorded.
func (s *Store) RecordFailedFile(ctx context.Context, f FailedFile, found bool) error {
	now := f.FailedAt.UTC()
	if now.IsZero() {
		now = time.Now().UTC()
	}
	conflict := `DO UPDATE SET channel = excluded.channel, source = excluded.source, name = excluded.name,
		sha256 = excluded.sha256, size = excluded.size, reason = excluded.reason, original_path = excluded.original_path,
		status = 'failed', attempts = failed_files.attempts + 1, updated_at = excluded.updated_at`
	if found {
		conflict = `DO NOTHING`
	}
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO failed_files (channel, source, name, sha256, size, reason,
		original_path, moved_to, status, attempts, failed_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'failed', 1, ?, ?)
		ON CONFLICT (moved_to) `+conflict),
		f.Channel, f.Source, clean(f.Name), f.SHA256, f.Size, clean(f.Reason), clean(f.OriginalPath), clean(f.MovedTo), now, now)
	if err != nil {
		return fmt.Errorf("store: record failed file %s: %w", f.Name, err)
	}
	return nil
}

// ResolveFailedFiles marks every earlier failure of the content sha256 on
// channel resolved: the same bytes have now been imported.
func (s *Store) ResolveFailedFiles(ctx context.Context, channel, sha256 string) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE failed_files SET status = 'resolved', updated_at = ?
		WHERE channel = ? AND sha256 = ? AND status <> 'resolved'`), time.Now().UTC(), channel, sha256)
	if err != nil {
		return fmt.Errorf("store: resolve failed files %s: %w", sha256, err)
	}
	return nil
}

// FailedFiles lists files with the given status (all when empty), oldest
// first.
func (s *Store) FailedFiles(ctx context.Context, status string) ([]FailedFile, error) {
	q := `SELECT ` + failedColumns + ` FROM failed_files`
	var args []any
	if status != "" {
		q += ` WHERE status = ?`
		args = append(args, status)
	}
	var out []FailedFile
	if err := s.db.SelectContext(ctx, &out, s.db.Rebind(q+` ORDER BY id`), args...); err != nil {
		return nil, fmt.Errorf("store: list failed files: %w", err)
	}
	return out, nil
}

// FailedFileByID returns one failed file.
func (s *Store) FailedFileByID(ctx context.Context, id int64) (*FailedFile, error) {
	var f FailedFile
	err := s.db.GetContext(ctx, &f, s.db.Rebind(`SELECT `+failedColumns+` FROM failed_files WHERE id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: failed file F%d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: failed file F%d: %w", id, err)
	}
	return &f, nil
}

// MarkFailedFileRetried records that reprocess moved the file back into
// its folder.
func (s *Store) MarkFailedFileRetried(ctx context.Context, id int64) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE failed_files SET status = 'retried', updated_at = ? WHERE id = ?`),
		time.Now().UTC(), id)
	if err != nil {
		return fmt.Errorf("store: mark failed file F%d retried: %w", id, err)
	}
	return nil
}
