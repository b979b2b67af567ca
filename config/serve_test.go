package config

import (
	"strings"
	"testing"
	"time"

	"github.com/demandd/demandd/internal/i18n"
)

func TestServeBlock(t *testing.T) {
	c, err := Parse("d.toml", []byte(""))
	if err != nil {
		t.Fatal(err)
	}
	if c.Serve.LeaseTTL.Duration != 15*time.Second || c.Serve.DrainTimeout.Duration != 30*time.Second {
		t.Errorf("defaults %+v, want 15s and 30s", c.Serve)
	}
	c, err = Parse("d.toml", []byte("[serve]\nlease_ttl = \"3s\"\ndrain_timeout = \"5s\"\n"))
	if err != nil || c.Serve.LeaseTTL.Duration != 3*time.Second || c.Serve.DrainTimeout.Duration != 5*time.Second {
		t.Fatalf("%+v %v", c, err)
	}
	_, err = Parse("d.toml", []byte("[serve]\nlease_ttl = \"500ms\"\n"))
	msgs := strings.Join(Messages(err, i18n.EN), "\n")
	if !strings.Contains(msgs, "d.toml:2: serve.lease_ttl: want between 1s and 10m0s, got 500ms") {
		t.Errorf("short lease: %q", msgs)
	}
}
