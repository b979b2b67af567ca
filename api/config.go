package api

import (
	"fmt"
	"strings"

	"github.com/demandd/demandd/config/setting"
)

// Scopes of a token.
const (
	ScopeRead  = "read"  // GET
	ScopeWrite = "write" // GET and PATCH
)

// Token is a resolved API token: the secret read from wherever the
// configuration put it.
type Token struct {
	Name   string // recorded as who changed a demand ("api:NAME" in history)
	Scope  string // ScopeRead or ScopeWrite
	Secret string
}

// TokenConfig is one [[api.token]] block.
type TokenConfig struct {
	Name      string `toml:"name"`
	Scope     string `toml:"scope"`
	Token     string `toml:"token"`
	TokenFile string `toml:"token_file"`
	TokenEnv  string `toml:"token_env"`
}

// SetDefaults leaves the scope at read, the safer of the two.
func (c *TokenConfig) SetDefaults() {
	if c.Scope == "" {
		c.Scope = ScopeRead
	}
}

func (c *TokenConfig) secret() setting.Secret {
	return setting.Secret{Inline: c.Token, File: c.TokenFile, Env: c.TokenEnv}
}

// Validate reports a missing name, an unknown scope and a token given
// more or less than once.
func (c *TokenConfig) Validate() setting.Problems {
	var p setting.Problems
	if strings.TrimSpace(c.Name) == "" {
		p.Add("name", "请给令牌起个名字（记录在需求的修改历史里）", "give the token a name (it is recorded in the history of the demands it changes)")
	}
	switch c.Scope {
	case ScopeRead, ScopeWrite:
	default:
		p.Add("scope", "权限范围应为 read（只读）或 write（读写），实际是 %q", "scope must be read or write, got %q", c.Scope)
	}
	names := [3]string{"token", "token_file", "token_env"}
	s := c.secret()
	if !s.Given() {
		p.Add("token", "请给出 token、token_file 或 token_env 之一", "give one of token, token_file and token_env")
	}
	s.Check(&p, "token", names)
	return p
}

// Resolve reads the token's secret.
func (c *TokenConfig) Resolve() (Token, error) {
	v, err := c.secret().Read("api token " + c.Name)
	if err != nil {
		return Token{}, err
	}
	if v == "" {
		return Token{}, fmt.Errorf("config: api token %s: the token is empty", c.Name)
	}
	return Token{Name: c.Name, Scope: c.Scope, Secret: v}, nil
}
