package ingest

import (
	"log/slog"
	"os"
	"time"

	"github.com/demandd/demandd/config/setting"
	"github.com/demandd/demandd/internal/i18n"
)

// Env is what the daemon gives every source besides its own block.
type Env struct {
	Location *time.Location // the configured zone
	Locale   i18n.Locale    // the language of reasons people read
	Logger   *slog.Logger
	FileMode os.FileMode // the mode of files written for people
}

// Settings is a channel's configuration block ([[folder]], [[email]]): the
// channel's package owns its fields, defaults and validation; config
// decodes the file into it, and serve builds every configured source the
// same way. Adding a channel is its package and one field in config.
type Settings interface {
	setting.Block
	// SourceName is the block's name, unique across all sources.
	SourceName() string
	// Resolve makes the block's relative paths absolute with abs.
	Resolve(abs func(*string))
	// Source builds the source; the block is valid.
	Source(env Env) (Source, error)
}
