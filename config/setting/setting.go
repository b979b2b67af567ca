// Package setting holds what every configuration block shares, so that a
// channel can own its block — its struct, defaults and validation — in its
// own package while config decodes the file and reports every problem with
// the file, line and key: durations written as "30s", problems with a key
// relative to the block, and secrets given inline, in a file or in an
// environment variable.
package setting

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/demandd/demandd/internal/i18n"
)

// Duration is a time.Duration written as "2s", "1m30s", "24h".
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return i18n.Errorf(`应为时长，例如 "30s"、"5m" 或 "24h"，实际是 %q`, `want a duration such as "30s", "5m" or "24h", got %q`, b)
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration back.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Problem is one bad value of a block: Key is relative to the block
// ("path", "mapping.title"); config prefixes it with the block's place in
// the file and adds the line.
type Problem struct {
	Key  string
	Text i18n.Text
}

// Problems collects a block's problems.
type Problems []Problem

// Add records that key is wrong, in both languages.
func (p *Problems) Add(key, zh, en string, args ...any) {
	*p = append(*p, Problem{Key: key, Text: i18n.Tf(zh, en, args...)})
}

// Block is a configuration block a component owns: config calls
// SetDefaults after decoding, then Validate.
type Block interface {
	SetDefaults()
	Validate() Problems
}

// Secret is a secret given one of three ways; at most one may be set.
type Secret struct {
	Inline string // the value in the file
	File   string // a file holding it (e.g. a systemd credential)
	Env    string // an environment variable holding it
}

// Given reports whether any of the three is set.
func (s Secret) Given() bool { return s.Inline != "" || s.File != "" || s.Env != "" }

// Check adds a problem under key when more than one way is used; names
// are the three keys as written in the file, e.g. "secret", "secret_file",
// "secret_env".
func (s Secret) Check(p *Problems, key string, names [3]string) {
	n := 0
	for _, v := range []string{s.Inline, s.File, s.Env} {
		if v != "" {
			n++
		}
	}
	if n > 1 {
		p.Add(key, "%s、%s 和 %s 只能给一个", "give one of %s, %s and %s", names[0], names[1], names[2])
	}
}

// Read returns the secret from wherever it is set; what names the block
// for errors ("email support: password").
func (s Secret) Read(what string) (string, error) {
	switch {
	case s.File != "":
		b, err := os.ReadFile(s.File)
		if err != nil {
			return "", fmt.Errorf("config: %s: %w", what, err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	case s.Env != "":
		v, ok := os.LookupEnv(s.Env)
		if !ok {
			return "", fmt.Errorf("config: %s: environment variable %s is not set", what, s.Env)
		}
		return v, nil
	default:
		return s.Inline, nil
	}
}
