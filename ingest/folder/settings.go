package folder

import (
	"path/filepath"
	"time"

	"github.com/demandd/demandd/config/setting"
	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/ingest"
)

// Defaults of a folder source, shared by Settings and New.
const (
	DefaultStableFor         = 2 * time.Second
	DefaultRescan            = 30 * time.Second
	DefaultEmptyGrace        = 10 * time.Minute
	DefaultConcurrency       = 2
	DefaultUnreadableRetries = 3
	// MaxFileSizeLimit keeps ten times max_file_size (what an .xlsx may
	// unpack to) a sane number.
	MaxFileSizeLimit = 1 << 40
	// MaxCellLimit is the most a row may hold: a cell cannot be longer.
	MaxCellLimit = maxRowBytes
)

// Settings is one [[folder]] block: a watched folder of questionnaire
// exports.
type Settings struct {
	Name string `toml:"name"`
	Path string `toml:"path"`
	// ProcessedDir and FailedDir default to PATH/processed and PATH/failed.
	ProcessedDir string `toml:"processed_dir"`
	FailedDir    string `toml:"failed_dir"`
	// StableFor is how long size and mtime must not change before a file
	// is read.
	StableFor setting.Duration `toml:"stable_for"`
	// EmptyGrace is how long a 0-byte file is waited for before it is
	// called empty: a slow network share or a browser download keeps a
	// file at 0 bytes for a while.
	EmptyGrace setting.Duration `toml:"empty_grace"`
	// Concurrency is how many files of the folder are read at once,
	// smallest first, so that one large or stuck file never holds up the
	// rest.
	Concurrency int `toml:"concurrency"`
	// UnreadableRetries is how many times a file demandd may not read
	// (file permissions) is tried before it is set aside in failed/.
	UnreadableRetries int `toml:"unreadable_retries"`
	// Rescan is the period of the full directory scan that catches what
	// file system events missed.
	Rescan setting.Duration `toml:"rescan"`
	// Origin is raised (主动提出) or discovered (挖掘发现).
	Origin string `toml:"origin"`
	// MaxFileSize is the largest file read, in bytes (default 200 MB); a
	// bigger one goes to failed/. An .xlsx may unpack to ten times as much.
	MaxFileSize int64 `toml:"max_file_size"`
	// MaxRows is the most rows a file may have (default 1,000,000); a file
	// with more goes to failed/.
	MaxRows int `toml:"max_rows"`
	// MaxCell is the most bytes of one cell kept on a record (default
	// 64 KB): a longer description is cut there and flagged; the raw row
	// keeps it whole.
	MaxCell int `toml:"max_cell"`
}

var _ ingest.Settings = (*Settings)(nil)

// SourceName implements ingest.Settings.
func (s *Settings) SourceName() string { return s.Name }

// SetDefaults fills every unset value.
func (s *Settings) SetDefaults() {
	if s.ProcessedDir == "" && s.Path != "" {
		s.ProcessedDir = filepath.Join(s.Path, "processed")
	}
	if s.FailedDir == "" && s.Path != "" {
		s.FailedDir = filepath.Join(s.Path, "failed")
	}
	if s.StableFor.Duration == 0 {
		s.StableFor.Duration = DefaultStableFor
	}
	if s.Rescan.Duration == 0 {
		s.Rescan.Duration = DefaultRescan
	}
	if s.EmptyGrace.Duration == 0 {
		s.EmptyGrace.Duration = DefaultEmptyGrace
	}
	if s.Concurrency == 0 {
		s.Concurrency = DefaultConcurrency
	}
	if s.UnreadableRetries == 0 {
		s.UnreadableRetries = DefaultUnreadableRetries
	}
	if s.Origin == "" {
		s.Origin = string(demand.OriginRaised)
	}
	if s.MaxFileSize == 0 {
		s.MaxFileSize = DefaultMaxFileSize
	}
	if s.MaxRows == 0 {
		s.MaxRows = DefaultMaxRows
	}
	if s.MaxCell == 0 {
		s.MaxCell = DefaultMaxCell
	}
}

// Resolve implements ingest.Settings.
func (s *Settings) Resolve(abs func(*string)) {
	abs(&s.Path)
	abs(&s.ProcessedDir)
	abs(&s.FailedDir)
}

// Validate checks every value.
func (s *Settings) Validate() setting.Problems {
	var p setting.Problems
	if s.Name == "" {
		p.Add("name", "每个 [[folder]] 都需要 name", "every [[folder]] needs a name")
	}
	if s.Path == "" {
		p.Add("path", "每个 [[folder]] 都需要 path", "every [[folder]] needs a path")
	}
	if _, err := demand.ParseOrigin(s.Origin); err != nil {
		p.Add("origin", "应为 raised（主动提出）或 discovered（挖掘发现），实际是 %q", "want raised (主动提出) or discovered (挖掘发现), got %q", s.Origin)
	}
	if s.StableFor.Duration < 0 {
		p.Add("stable_for", "不能是负数", "must not be negative")
	}
	if s.EmptyGrace.Duration < 0 {
		p.Add("empty_grace", "不能是负数", "must not be negative")
	}
	if s.Rescan.Duration < time.Second {
		p.Add("rescan", "至少 1s，实际是 %s", "must be at least 1s, got %s", s.Rescan.Duration)
	}
	if s.Concurrency < 0 || s.Concurrency > 64 {
		p.Add("concurrency", "应在 1 到 64 之间，实际是 %d", "want 1 to 64, got %d", s.Concurrency)
	}
	if s.UnreadableRetries < 0 {
		p.Add("unreadable_retries", "不能是负数", "must not be negative")
	}
	if s.MaxFileSize < 0 || s.MaxFileSize > MaxFileSizeLimit {
		p.Add("max_file_size", "应为 1 到 %d 之间的字节数（例如 209715200 即 200 MB），实际是 %d",
			"want a number of bytes from 1 to %d (209715200 is 200 MB), got %d", int64(MaxFileSizeLimit), s.MaxFileSize)
	}
	if s.MaxRows < 0 {
		p.Add("max_rows", "必须是正数，实际是 %d", "must be positive, got %d", s.MaxRows)
	}
	if s.MaxCell < 0 || s.MaxCell > MaxCellLimit {
		p.Add("max_cell", "应为 1 到 %d（4 MB，一行的上限）之间的字节数，实际是 %d",
			"want a number of bytes from 1 to %d (4 MB, the most a row may hold), got %d", MaxCellLimit, s.MaxCell)
	}
	return p
}

// Source implements ingest.Settings.
func (s *Settings) Source(env ingest.Env) (ingest.Source, error) {
	origin, _ := demand.ParseOrigin(s.Origin) // validated
	return New(Config{Name: s.Name, Path: s.Path, ProcessedDir: s.ProcessedDir, FailedDir: s.FailedDir,
		StableFor: s.StableFor.Duration, EmptyGrace: s.EmptyGrace.Duration, Rescan: s.Rescan.Duration,
		Concurrency: s.Concurrency, UnreadableRetries: s.UnreadableRetries, MaxFileSize: s.MaxFileSize,
		MaxRows: s.MaxRows, MaxCell: s.MaxCell, Origin: origin, Location: env.Location, Locale: env.Locale,
		Logger: env.Logger, FileMode: env.FileMode})
}
