package archive

import (
	"strconv"
	"strings"
	"time"

	"github.com/demandd/demandd/config/setting"
	"github.com/demandd/demandd/internal/i18n"
)

// DefaultDir is where bundles go when [archive] dir is not set, relative
// to the configuration (Resolve makes it absolute).
const DefaultDir = "archive"

// Config is the optional [archive] block.
type Config struct {
	// Dir is where serve writes the monthly bundles.
	Dir string `toml:"dir"`
	// Monthly makes serve write the previous month's bundle once, early
	// in each month, whatever the number of serve processes.
	Monthly bool `toml:"monthly"`
	// PurgeRawAfter, when set, removes from the database the bytes of raw
	// items older than this that a verified bundle in Dir holds: "400d",
	// "9600h". Zero keeps every byte.
	PurgeRawAfter Age `toml:"purge_raw_after"`
}

var _ setting.Block = (*Config)(nil)

// SetDefaults fills every unset value.
func (c *Config) SetDefaults() {
	if c.Dir == "" {
		c.Dir = DefaultDir
	}
}

// Resolve makes Dir absolute with abs.
func (c *Config) Resolve(abs func(*string)) { abs(&c.Dir) }

// Validate checks every value.
func (c *Config) Validate() setting.Problems {
	var p setting.Problems
	if c.PurgeRawAfter.Duration < 0 {
		p.Add("purge_raw_after", "不能是负数", "must not be negative")
	}
	if c.PurgeRawAfter.Duration > 0 && !c.Monthly {
		p.Add("purge_raw_after", "需要 monthly = true：只清除已验证的月度归档包中保存的原件",
			"needs monthly = true: only bytes held by a verified monthly bundle are purged")
	}
	if c.PurgeRawAfter.Duration > 0 && c.PurgeRawAfter.Duration < 24*time.Hour {
		p.Add("purge_raw_after", "至少 1d，实际是 %s", "must be at least 1d, got %s", c.PurgeRawAfter)
	}
	return p
}

// Age is a duration written in days ("400d") or as a Go duration
// ("9600h").
type Age struct{ time.Duration }

// UnmarshalText parses "Nd" or a Go duration.
func (a *Age) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err == nil {
			a.Duration = time.Duration(n) * 24 * time.Hour
			return nil
		}
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return i18n.Errorf(`应为天数或时长，例如 "400d" 或 "9600h"，实际是 %q`, `want days or a duration such as "400d" or "9600h", got %q`, b)
	}
	a.Duration = v
	return nil
}

// MarshalText writes whole days as "Nd".
func (a Age) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

func (a Age) String() string {
	if a.Duration%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(a.Duration/(24*time.Hour)), 10) + "d"
	}
	return a.Duration.String()
}
