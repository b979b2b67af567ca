package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/demandd/demandd/config"
	"github.com/demandd/demandd/deploy"
)

// TestRestartNeeded: a reload of the same file needs no restart, nor does
// a new log level; other changes are named by their block.
func TestRestartNeeded(t *testing.T) {
	parse := func(text string) *config.Config {
		t.Helper()
		c, err := config.Parse("demandd.toml", []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	example := strings.ReplaceAll(deploy.ExampleConfig, "#[[email]]", "[[email]]") // an account, with its password_file
	example = strings.Replace(example, `#name = "support-mailbox"`, `name = "support-mailbox"`, 1)
	example = strings.Replace(example, `#host = "imap.exmail.qq.com"`, `host = "imap.exmail.qq.com"`, 1)
	example = strings.Replace(example, `#username = "support@example.com"`, `username = "support@example.com"`, 1)
	example = strings.Replace(example, `#password_file =`, `password_file =`, 1)
	old := parse(example)
	if got := restartNeeded(old, parse(example)); len(got) != 0 {
		t.Errorf("the same file: %v, want nothing", got)
	}
	next := parse(strings.Replace(example, `level = "info"`, `level = "debug"`, 1))
	if got := restartNeeded(old, next); len(got) != 0 {
		t.Errorf("a new log level: %v, want nothing", got)
	}
	next = parse(strings.NewReplacer(`lease_ttl = "15s"`, `lease_ttl = "5s"`, `format = "text"`, `format = "json"`,
		`#poll_interval = "60s"`, `poll_interval = "30s"`).Replace(example))
	if got, want := restartNeeded(old, next), []string{"log", "email", "serve"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
