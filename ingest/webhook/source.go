package webhook

import (
	"github.com/demandd/demandd/config/setting"
)

// SourceConfig is one [[webhook.source]] block.
type SourceConfig struct {
	Name   string `toml:"name"`
	Preset string `toml:"preset"` // github, gitlab, jira, zendesk, feishu, dingtalk, generic
	// The secret (HMAC key, token or app secret), given one of three ways.
	Secret     string `toml:"secret"`
	SecretFile string `toml:"secret_file"`
	SecretEnv  string `toml:"secret_env"`
	// Origin is raised (主动提出, default) or discovered (挖掘发现).
	Origin string `toml:"origin"`
	// Status maps the sender's event or state names to demand statuses,
	// over the preset's own mapping.
	Status map[string]string `toml:"status"`
	// Mapping is the generic preset's field mapping.
	Mapping Mapping `toml:"mapping"`
}

// Mapping says where the generic preset finds each field: RFC 6901 JSON
// Pointers into the payload.
type Mapping struct {
	Event    string `toml:"event"`
	Ticket   string `toml:"ticket"`
	Title    string `toml:"title"`
	Text     string `toml:"text"`
	Customer string `toml:"customer"`
	Contact  string `toml:"contact"`
	Email    string `toml:"email"`
	Phone    string `toml:"phone"`
	Urgency  string `toml:"urgency"`
	URL      string `toml:"url"`
	Time     string `toml:"time"`
}

var _ setting.Block = (*SourceConfig)(nil)

// SetDefaults fills unset values.
func (c *SourceConfig) SetDefaults() {
	if c.Origin == "" {
		c.Origin = "raised"
	}
}

// Validate checks the block.
func (c *SourceConfig) Validate() setting.Problems {
	var p setting.Problems
	return p
}
