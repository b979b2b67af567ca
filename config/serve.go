package config

import (
	"time"

	"github.com/demandd/demandd/config/setting"
)

// Serve is the [serve] table: how `serve` shares a database with other
// `serve` processes, and how it stops.
type Serve struct {
	// LeaseTTL is how long a process holds a polled source (a mailbox
	// account, a watched folder) without renewing its lease: when a
	// process dies, another takes its sources over after at most this
	// long. Renewed every third of it (default 15s).
	LeaseTTL Duration `toml:"lease_ttl"`
	// DrainTimeout bounds the commits under way when SIGTERM arrives; what
	// is not committed by then is read again at the next start (default
	// 30s; keep it under systemd's TimeoutStopSec).
	DrainTimeout Duration `toml:"drain_timeout"`
}

// Bounds of [serve] lease_ttl: a shorter lease costs renewals, a longer
// one slows a takeover.
const (
	MinLeaseTTL = time.Second
	MaxLeaseTTL = 10 * time.Minute
)

// SetDefaults implements setting.Block.
func (s *Serve) SetDefaults() {
	if s.LeaseTTL.Duration == 0 {
		s.LeaseTTL.Duration = 15 * time.Second
	}
	if s.DrainTimeout.Duration == 0 {
		s.DrainTimeout.Duration = 30 * time.Second
	}
}

// Validate implements setting.Block.
func (s *Serve) Validate() setting.Problems {
	var p setting.Problems
	if d := s.LeaseTTL.Duration; d < MinLeaseTTL || d > MaxLeaseTTL {
		p.Add("lease_ttl", "应在 %v 到 %v 之间，实际是 %v", "want between %v and %v, got %v", MinLeaseTTL, MaxLeaseTTL, d)
	}
	if s.DrainTimeout.Duration < 0 {
		p.Add("drain_timeout", "必须是正数", "must be positive")
	}
	return p
}
