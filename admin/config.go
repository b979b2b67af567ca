package admin

import (
	"net"
	"strconv"
	"strings"

	"github.com/demandd/demandd/config/setting"
)

// DefaultListen is where the admin listener listens when [admin] does not
// say: loopback only, since the status page shows customers' names and
// quarantine reasons.
const DefaultListen = "127.0.0.1:9090"

// Config is the [admin] block: the listener of /healthz, /readyz,
// /metrics and the status page.
type Config struct {
	// Listen is host:port; "off" (or an empty value written in the file)
	// turns the listener off. Config fills in DefaultListen when the key
	// is absent.
	Listen string `toml:"listen"`
	// Pprof serves net/http/pprof under /debug/pprof/ (default false);
	// only on a loopback address, since a profile shows the process's
	// memory.
	Pprof bool `toml:"pprof"`
}

var _ setting.Block = (*Config)(nil)

// SetDefaults does nothing: an empty listen means off, so the default is
// filled in by config only when the key is absent (see DefaultListen).
func (c *Config) SetDefaults() {}

// On reports whether the listener is to be opened.
func (c *Config) On() bool { return c.Listen != "" && c.Listen != "off" }

// Validate checks every value.
func (c *Config) Validate() setting.Problems {
	var p setting.Problems
	if !c.On() {
		return p
	}
	host, port, err := net.SplitHostPort(c.Listen)
	if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
		p.Add("listen", `应为 主机:端口，例如 "127.0.0.1:9090"，或 "off" 关闭，实际是 %q`,
			`want host:port such as "127.0.0.1:9090", or "off", got %q`, c.Listen)
		return p
	}
	if c.Pprof && !loopback(host) {
		p.Add("pprof", "pprof 会暴露进程内存，只能在回环地址上开启（listen = \"127.0.0.1:…\"），实际监听 %q",
			"pprof shows the process's memory: it is served only on a loopback address (listen = \"127.0.0.1:…\"), not on %q", c.Listen)
	}
	return p
}

// loopback reports whether host reaches this machine only.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
