package webhook

import (
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/demandd/demandd/config/setting"
	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/ingest"
)

// Defaults of the [webhook] block.
const (
	DefaultListen    = "127.0.0.1:8080"
	DefaultMaxBody   = 1 << 20
	DefaultGroupWait = 2 * time.Millisecond
	DefaultGroupSize = 256
	// maxBodyLimit keeps max_body a size a request may sensibly have.
	maxBodyLimit = 64 << 20
)

// Config is the [webhook] block: the listener every [[webhook.source]]
// and the API share.
type Config struct {
	// Listen is host:port; serve opens it only when a source or an API
	// token is configured.
	Listen string `toml:"listen"`
	// TLSCert and TLSKey, both or neither, make the listener HTTPS.
	TLSCert string `toml:"tls_cert"`
	TLSKey  string `toml:"tls_key"`
	// MaxBody is the largest request body read, in bytes; a longer one is
	// answered 413 after reading no more than this.
	MaxBody int64 `toml:"max_body"`
	// GroupWait is the longest a delivery waits for others to share its
	// commit, and GroupSize the most deliveries committed together: one
	// transaction per group, so that intake is not capped by one commit
	// per request.
	GroupWait setting.Duration `toml:"group_wait"`
	GroupSize int              `toml:"group_size"`
	Sources   []SourceConfig   `toml:"source"`
}

var _ setting.Block = (*Config)(nil)

// SetDefaults fills every unset value, the sources' too.
func (c *Config) SetDefaults() {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.MaxBody == 0 {
		c.MaxBody = DefaultMaxBody
	}
	if c.GroupWait.Duration == 0 {
		c.GroupWait.Duration = DefaultGroupWait
	}
	if c.GroupSize == 0 {
		c.GroupSize = DefaultGroupSize
	}
	for i := range c.Sources {
		c.Sources[i].SetDefaults()
	}
}

// Resolve makes relative paths absolute with abs.
func (c *Config) Resolve(abs func(*string)) {
	abs(&c.TLSCert)
	abs(&c.TLSKey)
	for i := range c.Sources {
		s := &c.Sources[i]
		abs(&s.SecretFile)
		abs(&s.EncryptKeyFile)
	}
}

// Validate checks the block and every source; keys of a source's problems
// start with "source[N].".
func (c *Config) Validate() setting.Problems {
	var p setting.Problems
	if _, port, err := net.SplitHostPort(c.Listen); err != nil || port == "" {
		p.Add("listen", `应为 主机:端口，例如 "127.0.0.1:8080" 或 ":8443"，实际是 %q`,
			`want host:port such as "127.0.0.1:8080" or ":8443", got %q`, c.Listen)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		p.Add("tls_cert", "tls_cert 和 tls_key 要么都给，要么都不给", "give both tls_cert and tls_key, or neither")
	}
	if c.MaxBody < 0 || c.MaxBody > maxBodyLimit {
		p.Add("max_body", "应为 1 到 %d 之间的字节数（例如 1048576 即 1 MB），实际是 %d",
			"want a number of bytes from 1 to %d (1048576 is 1 MB), got %d", maxBodyLimit, c.MaxBody)
	}
	if c.GroupWait.Duration < 0 || c.GroupWait.Duration > time.Second {
		p.Add("group_wait", "应在 0 到 1s 之间，实际是 %s", "want 0 to 1s, got %s", c.GroupWait.Duration)
	}
	if c.GroupSize < 0 || c.GroupSize > 10000 {
		p.Add("group_size", "应在 1 到 10000 之间，实际是 %d", "want 1 to 10000, got %d", c.GroupSize)
	}
	for i := range c.Sources {
		for _, q := range c.Sources[i].Validate() {
			p = append(p, setting.Problem{Key: fmt.Sprintf("source[%d].%s", i, q.Key), Text: q.Text})
		}
	}
	return p
}

// Mappers map the stored payloads of every source again, as its preset
// does, for `demandd reprocess`: the request's headers are gone by then,
// so a preset reads the event from the payload alone, and nothing is
// authenticated again (it was when the payload came in).
func Mappers(cfg Config) map[string]func(ingest.Item) (*demand.Record, error) {
	out := map[string]func(ingest.Item) (*demand.Record, error){}
	for _, sc := range cfg.Sources {
		// Stored payloads are decrypted already; the secret only makes
		// NewPreset's check pass.
		sc.EncryptKey, sc.EncryptKeyFile, sc.EncryptKeyEnv = "", "", ""
		sc.Secret, sc.SecretFile, sc.SecretEnv = "mapping only", "", ""
		p, err := NewPreset(sc, sc.Secret)
		if err != nil {
			continue // reprocess reads it as JSON without a preset
		}
		name := sc.Name
		out[name] = func(it ingest.Item) (*demand.Record, error) {
			ev, err := p.Map(http.Header{}, it.Body)
			if err != nil {
				return nil, err
			}
			rec := ev.Record
			if rec.Source.ExternalRef == "" {
				rec.Source.ExternalRef = first(ev.URL, ev.Ticket)
			}
			if ev.Comment != nil && rec.Description.Text == "" {
				rec.Description.Text = ev.Comment.Text
			}
			return &rec, nil
		}
	}
	return out
}
