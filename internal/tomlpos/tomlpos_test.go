package tomlpos

import (
	"strings"
	"testing"

	"github.com/demandd/demandd/internal/i18n"
)

func TestTreeSyntaxErrors(t *testing.T) {
	tests := []struct {
		name, toml, en, zh string
	}{
		{"missing value", "data_dir = \n", "c.toml:1:12: syntax error: the value after = is missing", "c.toml:1:12: 语法错误：= 后面缺少值"},
		{"unquoted text", "[[folder]]\npath = inbox\n", "c.toml:2:8: syntax error: text must be in quotes", "文字要加引号"},
		{"unquoted duration", "stable_for = 30s\n", "c.toml:1:16: syntax error: text must be in quotes", "加引号"},
		{"open quote", "path = \"inbox\n", "c.toml:1:14: syntax error: the closing quote \" is missing", "缺少结尾的引号"},
		{"windows path", "path = \"C:\\data\"\n", "c.toml:1:11: syntax error: a \\ inside", "单引号"},
		{"no equals", "path \"inbox\"\n", "c.toml:1:6: syntax error: a key must be followed by =", "键后面应该是 ="},
		{"twice", "data_dir = \"a\"\ndata_dir = \"b\"\n", "c.toml:2:1: syntax error: data_dir is set twice", "data_dir 设置了两次"},
		{"table twice", "[log]\n[log]\n", "c.toml:2:2: syntax error: table [log] appears twice", "表 [log] 出现了两次"},
		{"other", "x = 01\n", "c.toml:1:5: syntax error: integers cannot have leading zeroes", "语法错误：integers cannot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Tree("c.toml", []byte(tt.toml))
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.HasPrefix(err.Error(), tt.en) {
				t.Errorf("en: got %q, want prefix %q", err, tt.en)
			}
			if zh := i18n.Message(err, i18n.ZH); !strings.Contains(zh, tt.zh) {
				t.Errorf("zh: got %q, want %q", zh, tt.zh)
			}
		})
	}
}

func TestTree(t *testing.T) {
	tree, err := Tree("c.toml", []byte("a = 1\n[b]\nc = \"x\"\n[[d]]\ne = true\n"))
	if err != nil {
		t.Fatal(err)
	}
	if tree["a"] != int64(1) || tree["b"].(map[string]any)["c"] != "x" || tree["d"].([]any)[0].(map[string]any)["e"] != true {
		t.Errorf("tree %#v", tree)
	}
}

func TestKeyLines(t *testing.T) {
	lines, _ := KeyLines([]byte("a = 1\n[b]\nc = \"x\"\n[[d]]\ne = true\n[[d]]\ne = false\n"))
	for key, want := range map[string]int{"a": 1, "b": 2, "b.c": 3, "d[0]": 4, "d[1].e": 7} {
		if lines[key] != want {
			t.Errorf("%s: line %d, want %d", key, lines[key], want)
		}
	}
	if got := LineOf(lines, "d[1].f"); got != 6 {
		t.Errorf("LineOf(d[1].f) = %d, want the table's line 6", got)
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{`5、请描述您遇到的问题`: `"5、请描述您遇到的问题"`, `say "hi"\now`: `"say \"hi\"\\now"`,
		"a\nb": `"a\nb"`, "x\ty": `"x\ty"`, "\x01": `"\u0001"`, "蓝鲸": `"蓝鲸"`} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
}
