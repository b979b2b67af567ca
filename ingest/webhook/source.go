package webhook

import (
	"sort"
	"strings"

	"github.com/demandd/demandd/config/setting"
	"github.com/demandd/demandd/demand"
)

// SourceConfig is one [[webhook.source]] block.
type SourceConfig struct {
	Name   string `toml:"name"`
	Preset string `toml:"preset"` // github, gitlab, jira, zendesk, feishu, dingtalk, generic
	// The secret (HMAC key, token or app secret), given one of three ways.
	// Every preset needs one: a source without authentication is refused.
	// For feishu it is the Verification Token, for dingtalk the robot's
	// AppSecret, for gitlab the Secret token, for the others the signing
	// secret.
	Secret     string `toml:"secret"`
	SecretFile string `toml:"secret_file"`
	SecretEnv  string `toml:"secret_env"`
	// EncryptKey is 飞书's Encrypt Key (feishu only, optional): with it the
	// requests are signed (X-Lark-Signature) and their bodies may be
	// encrypted; it is given at most one of three ways, like the secret.
	EncryptKey     string `toml:"encrypt_key"`
	EncryptKeyFile string `toml:"encrypt_key_file"`
	EncryptKeyEnv  string `toml:"encrypt_key_env"`
	// Origin is raised (主动提出, default) or discovered (挖掘发现).
	Origin string `toml:"origin"`
	// Status maps the sender's event or state names to demand statuses,
	// over the preset's own mapping.
	Status map[string]string `toml:"status"`
	// Mapping is the generic preset's field mapping.
	Mapping Mapping `toml:"mapping"`
}

// Mapping says where the generic preset finds each field: RFC 6901 JSON
// Pointers into the payload. Ticket and one of Title and Text are
// required; the others may be left out.
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
	// Delivery points at the sender's delivery id, used when the request
	// has no X-Demandd-Delivery header.
	Delivery string `toml:"delivery"`
}

// pointers lists the mapping's pointers with their keys, for validation.
func (m Mapping) pointers() [][2]string {
	return [][2]string{
		{"event", m.Event}, {"ticket", m.Ticket}, {"title", m.Title}, {"text", m.Text},
		{"customer", m.Customer}, {"contact", m.Contact}, {"email", m.Email}, {"phone", m.Phone},
		{"urgency", m.Urgency}, {"url", m.URL}, {"time", m.Time}, {"delivery", m.Delivery},
	}
}

// Presets are the senders a source can be: the values of preset.
var Presets = []string{"github", "gitlab", "jira", "zendesk", "feishu", "dingtalk", "generic"}

var _ setting.Block = (*SourceConfig)(nil)

// SecretSetting is the secret as the three keys give it, for Read.
func (c *SourceConfig) SecretSetting() setting.Secret {
	return setting.Secret{Inline: c.Secret, File: c.SecretFile, Env: c.SecretEnv}
}

// EncryptKeySetting is 飞书's Encrypt Key as the three keys give it.
func (c *SourceConfig) EncryptKeySetting() setting.Secret {
	return setting.Secret{Inline: c.EncryptKey, File: c.EncryptKeyFile, Env: c.EncryptKeyEnv}
}

// SetDefaults fills unset values.
func (c *SourceConfig) SetDefaults() {
	if c.Origin == "" {
		c.Origin = "raised"
	}
	c.Preset = strings.ToLower(strings.TrimSpace(c.Preset))
}

// Validate checks the block.
func (c *SourceConfig) Validate() setting.Problems {
	var p setting.Problems
	if strings.TrimSpace(c.Name) == "" {
		p.Add("name", "缺少来源名称", "the source needs a name")
	}
	known := false
	for _, n := range Presets {
		known = known || c.Preset == n
	}
	switch {
	case c.Preset == "":
		p.Add("preset", "缺少预设，可选：%s", "the preset is missing; want one of %s", strings.Join(Presets, ", "))
	case !known:
		p.Add("preset", "未知的预设 %q，可选：%s", "unknown preset %q; want one of %s", c.Preset, strings.Join(Presets, ", "))
	}
	s := c.SecretSetting()
	s.Check(&p, "secret", [3]string{"secret", "secret_file", "secret_env"})
	if !s.Given() {
		// Why no opt-out: anyone who finds the URL could file demands.
		p.Add("secret", "缺少密钥：每个 webhook 来源都必须验证请求（secret、secret_file 或 secret_env）",
			"the secret is missing: every webhook source must authenticate its requests (secret, secret_file or secret_env)")
	}
	k := c.EncryptKeySetting()
	k.Check(&p, "encrypt_key", [3]string{"encrypt_key", "encrypt_key_file", "encrypt_key_env"})
	if k.Given() && c.Preset != "feishu" && known {
		p.Add("encrypt_key", "encrypt_key 只用于 feishu 预设", "encrypt_key is for the feishu preset only")
	}
	if _, err := demand.ParseOrigin(c.Origin); err != nil {
		p.Add("origin", "来源方式应为 raised（主动提出）或 discovered（挖掘发现），实际是 %q",
			"origin must be raised or discovered, got %q", c.Origin)
	}
	keys := make([]string, 0, len(c.Status))
	for k := range c.Status {
		keys = append(keys, k)
	}
	sort.Strings(keys) // problems in a stable order
	for _, k := range keys {
		if _, err := demand.ParseStatus(c.Status[k]); err != nil {
			p.Add("status."+k, "未知的需求状态 %q（可用：new 待处理、in_progress 处理中、delivered 已交付、accepted 已验收、closed 已关闭、rejected 已拒绝）",
				"unknown demand status %q (want new, in_progress, delivered, accepted, closed or rejected)", c.Status[k])
		}
	}
	for _, kp := range c.Mapping.pointers() {
		if kp[1] != "" && !strings.HasPrefix(kp[1], "/") {
			p.Add("mapping."+kp[0], "JSON 指针必须以 / 开头，例如 \"/issue/title\"，实际是 %q",
				"a JSON Pointer must start with /, e.g. \"/issue/title\", got %q", kp[1])
		}
	}
	if c.Preset == "generic" {
		if c.Mapping.Ticket == "" {
			p.Add("mapping.ticket", "generic 预设需要 mapping.ticket：指向工单编号的 JSON 指针",
				"the generic preset needs mapping.ticket: a JSON Pointer to the ticket id")
		}
		if c.Mapping.Title == "" && c.Mapping.Text == "" {
			p.Add("mapping.title", "generic 预设需要 mapping.title 或 mapping.text",
				"the generic preset needs mapping.title or mapping.text")
		}
	} else if known && c.Mapping != (Mapping{}) {
		p.Add("mapping", "mapping 只用于 generic 预设", "mapping is for the generic preset only")
	}
	return p
}
