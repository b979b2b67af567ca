package dedupe

import (
	"time"

	"github.com/demandd/demandd/config/setting"
)

// Config is the [dedupe] block: how near-duplicate demands are linked.
type Config struct {
	// Enabled turns near-duplicate linking on (default); off, only the
	// exact fingerprint links.
	Enabled *bool `toml:"enabled"`
	// Window is how far back a canonical demand may be received.
	Window setting.Duration `toml:"window"`
	// MaxDistance is the most SimHash bits two near-duplicates may differ
	// in; Bands finds candidates only up to 3.
	MaxDistance int `toml:"max_distance"`
	// MinLength is the fewest runes of cleaned text a demand needs to be
	// linked as a near-duplicate: a short text has too few shingles for its
	// SimHash to mean anything, so it links by exact fingerprint only.
	MinLength int `toml:"min_length"`
	// CrossCustomer links near-duplicates of different customers too.
	CrossCustomer bool `toml:"cross_customer"`
	// MinSimilarity is the second check on a candidate: the Jaccard
	// similarity of the shingle sets, which a SimHash collision fails.
	MinSimilarity float64 `toml:"min_similarity"`
}

// Defaults.
const (
	DefaultWindow        = 30 * 24 * time.Hour
	DefaultMaxDistance   = 3
	DefaultMinLength     = 12
	DefaultMinSimilarity = 0.7
)

// SetDefaults fills what the file leaves out.
func (c *Config) SetDefaults() {
	if c.Enabled == nil {
		on := true
		c.Enabled = &on
	}
	if c.Window.Duration == 0 {
		c.Window.Duration = DefaultWindow
	}
	if c.MaxDistance == 0 {
		c.MaxDistance = DefaultMaxDistance
	}
	if c.MinLength == 0 {
		c.MinLength = DefaultMinLength
	}
	if c.MinSimilarity == 0 {
		c.MinSimilarity = DefaultMinSimilarity
	}
}

// Validate reports values out of range.
func (c *Config) Validate() setting.Problems {
	var p setting.Problems
	if c.Window.Duration < 0 {
		p.Add("window", "应为正的时长，实际是 %s", "want a positive duration, got %s", c.Window.Duration)
	}
	if c.MaxDistance < 0 || c.MaxDistance > 3 {
		// Four 16-bit bands guarantee a shared band only up to distance 3.
		p.Add("max_distance", "应在 0 到 3 之间，实际是 %d", "want 0 to 3, got %d", c.MaxDistance)
	}
	if c.MinLength < 0 {
		p.Add("min_length", "不能为负数，实际是 %d", "must not be negative, got %d", c.MinLength)
	}
	if c.MinSimilarity < 0 || c.MinSimilarity > 1 {
		p.Add("min_similarity", "应在 0 到 1 之间，实际是 %g", "want 0 to 1, got %g", c.MinSimilarity)
	}
	return p
}

// On reports whether near-duplicate linking is on: a nil Config is off.
func (c *Config) On() bool { return c != nil && (c.Enabled == nil || *c.Enabled) }

var _ setting.Block = (*Config)(nil)
