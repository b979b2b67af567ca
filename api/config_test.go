package api_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/demandd/demandd/api"
)

func TestTokenConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    api.TokenConfig
		keys []string // keys with problems
	}{
		{"inline", api.TokenConfig{Name: "dash", Token: "s"}, nil},
		{"write from env", api.TokenConfig{Name: "ops", Scope: "write", TokenEnv: "X"}, nil},
		{"no name", api.TokenConfig{Token: "s"}, []string{"name"}},
		{"bad scope", api.TokenConfig{Name: "x", Scope: "admin", Token: "s"}, []string{"scope"}},
		{"no token", api.TokenConfig{Name: "x"}, []string{"token"}},
		{"two ways", api.TokenConfig{Name: "x", Token: "s", TokenFile: "/f"}, []string{"token"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.SetDefaults()
			ps := tc.c.Validate()
			var keys []string
			for _, p := range ps {
				keys = append(keys, p.Key)
				if p.Text.Missing() || !strings.ContainsFunc(p.Text.ZH, func(r rune) bool { return unicode.Is(unicode.Han, r) }) {
					t.Errorf("problem %s: %+v: want English and Chinese", p.Key, p.Text)
				}
			}
			if strings.Join(keys, ",") != strings.Join(tc.keys, ",") {
				t.Errorf("problems %v, want keys %v", ps, tc.keys)
			}
		})
	}
	c := api.TokenConfig{Name: "x", Token: "s"}
	if c.SetDefaults(); c.Scope != api.ScopeRead {
		t.Errorf("default scope %q, want read", c.Scope)
	}
}

func TestTokenConfigResolve(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "tok")
	if err := os.WriteFile(file, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DEMANDD_TEST_API_TOKEN", "from-env")
	for _, tc := range []struct {
		name string
		c    api.TokenConfig
		want string // "" for an error
	}{
		{"inline", api.TokenConfig{Name: "a", Scope: "read", Token: "inline"}, "inline"},
		{"file", api.TokenConfig{Name: "a", Scope: "write", TokenFile: file}, "from-file"},
		{"env", api.TokenConfig{Name: "a", Scope: "read", TokenEnv: "DEMANDD_TEST_API_TOKEN"}, "from-env"},
		{"missing file", api.TokenConfig{Name: "a", Scope: "read", TokenFile: filepath.Join(dir, "none")}, ""},
		{"unset env", api.TokenConfig{Name: "a", Scope: "read", TokenEnv: "DEMANDD_TEST_API_TOKEN_UNSET"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := tc.c.Resolve()
			if tc.want == "" {
				if err == nil {
					t.Fatalf("got %+v, want an error", tok)
				}
				return
			}
			if err != nil || tok.Secret != tc.want || tok.Name != tc.c.Name || tok.Scope != tc.c.Scope {
				t.Errorf("got %+v %v, want secret %q", tok, err, tc.want)
			}
		})
	}
}

func TestNewRefusesBadTokens(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		for _, tc := range []struct {
			name   string
			tokens []api.Token
		}{
			{"no name", []api.Token{{Scope: "read", Secret: "s"}}},
			{"bad scope", []api.Token{{Name: "a", Scope: "all", Secret: "s"}}},
			{"empty secret", []api.Token{{Name: "a", Scope: "read"}}},
			{"white space", []api.Token{{Name: "a", Scope: "read", Secret: "two words"}}},
			{"same secret twice", []api.Token{{Name: "a", Scope: "read", Secret: "s"}, {Name: "b", Scope: "write", Secret: "s"}}},
		} {
			if _, err := api.New(e.st, api.Options{Tokens: tc.tokens}); err == nil {
				t.Errorf("%s: New accepted %+v", tc.name, tc.tokens)
			}
		}
	})
}
