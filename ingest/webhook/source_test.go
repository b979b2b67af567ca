package webhook

import (
	"strings"
	"testing"
	"unicode"

	"github.com/demandd/demandd/config/setting"
)

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// problem finds the problem at key, failing when there is none.
func problem(t *testing.T, ps setting.Problems, key string) setting.Problem {
	t.Helper()
	for _, p := range ps {
		if p.Key == key {
			return p
		}
	}
	t.Fatalf("no problem at %q in %v", key, ps)
	return setting.Problem{}
}

func TestValidateGood(t *testing.T) {
	for _, c := range []SourceConfig{
		{Name: "gh", Preset: "github", Secret: "x"},
		{Name: "gl", Preset: "GitLab", SecretEnv: "GITLAB_TOKEN"},
		{Name: "jira", Preset: "jira", SecretFile: "/run/credentials/jira", Status: map[string]string{"Done": "已交付", "Won't Do": "rejected"}},
		{Name: "zd", Preset: "zendesk", Secret: "x", Origin: "挖掘发现"},
		{Name: "fs", Preset: "feishu", Secret: "token", EncryptKeyEnv: "LARK_KEY"},
		{Name: "dt", Preset: "dingtalk", Secret: "x"},
		{Name: "any", Preset: "generic", Secret: "x", Mapping: Mapping{Ticket: "/id", Text: "/text", Event: "/type"}},
	} {
		c.SetDefaults()
		if ps := c.Validate(); len(ps) != 0 {
			t.Errorf("%s: %v", c.Name, ps)
		}
	}
	c := SourceConfig{Name: "x", Preset: " GitHub ", Secret: "x"}
	c.SetDefaults()
	if c.Origin != "raised" || c.Preset != "github" {
		t.Errorf("defaults: origin %q, preset %q", c.Origin, c.Preset)
	}
}

func TestValidateProblems(t *testing.T) {
	tests := []struct {
		name string
		c    SourceConfig
		key  string
		en   string // a substring of the English text
	}{
		{"no name", SourceConfig{Preset: "github", Secret: "x"}, "name", "needs a name"},
		{"no preset", SourceConfig{Name: "a", Secret: "x"}, "preset", "github, gitlab, jira, zendesk, feishu, dingtalk, generic"},
		{"unknown preset", SourceConfig{Name: "a", Preset: "freshdesk", Secret: "x"}, "preset", `unknown preset "freshdesk"; want one of github`},
		{"no secret", SourceConfig{Name: "a", Preset: "github"}, "secret", "every webhook source must authenticate"},
		{"two secrets", SourceConfig{Name: "a", Preset: "github", Secret: "x", SecretEnv: "X"}, "secret", "give one of secret, secret_file and secret_env"},
		{"two encrypt keys", SourceConfig{Name: "a", Preset: "feishu", Secret: "x", EncryptKey: "k", EncryptKeyFile: "/k"}, "encrypt_key", "encrypt_key, encrypt_key_file and encrypt_key_env"},
		{"encrypt key elsewhere", SourceConfig{Name: "a", Preset: "github", Secret: "x", EncryptKey: "k"}, "encrypt_key", "feishu preset only"},
		{"origin", SourceConfig{Name: "a", Preset: "github", Secret: "x", Origin: "found"}, "origin", `raised or discovered, got "found"`},
		{"status", SourceConfig{Name: "a", Preset: "github", Secret: "x", Status: map[string]string{"closed": "finished"}}, "status.closed", `unknown demand status "finished"`},
		{"generic ticket", SourceConfig{Name: "a", Preset: "generic", Secret: "x", Mapping: Mapping{Title: "/t"}}, "mapping.ticket", "needs mapping.ticket"},
		{"generic text", SourceConfig{Name: "a", Preset: "generic", Secret: "x", Mapping: Mapping{Ticket: "/id"}}, "mapping.title", "mapping.title or mapping.text"},
		{"pointer", SourceConfig{Name: "a", Preset: "generic", Secret: "x", Mapping: Mapping{Ticket: "id", Text: "/t"}}, "mapping.ticket", `must start with /, e.g. "/issue/title", got "id"`},
		{"mapping elsewhere", SourceConfig{Name: "a", Preset: "jira", Secret: "x", Mapping: Mapping{Ticket: "/id"}}, "mapping", "generic preset only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.c.SetDefaults()
			p := problem(t, tt.c.Validate(), tt.key)
			if !strings.Contains(p.Text.EN, tt.en) {
				t.Errorf("English %q does not contain %q", p.Text.EN, tt.en)
			}
			if !hasHan(p.Text.ZH) || p.Text.ZH == p.Text.EN {
				t.Errorf("Chinese %q is not Chinese", p.Text.ZH)
			}
		})
	}
}

func TestNewPresetRefuses(t *testing.T) {
	for _, c := range []struct {
		c      SourceConfig
		secret string
	}{
		{SourceConfig{Name: "a", Preset: "github", Secret: "x"}, ""},
		{SourceConfig{Name: "a", Preset: "nope", Secret: "x"}, "x"},
		{SourceConfig{Name: "a", Preset: "generic", Secret: "x"}, "x"},
		{SourceConfig{Name: "a", Preset: "feishu", Secret: "x", EncryptKeyEnv: "DEMANDD_TEST_UNSET_VARIABLE"}, "x"},
	} {
		if _, err := NewPreset(c.c, c.secret); err == nil || !strings.HasPrefix(err.Error(), "webhook: source \"a\"") {
			t.Errorf("NewPreset(%+v, %q) = %v, want an error naming the source", c.c, c.secret, err)
		}
	}
}
