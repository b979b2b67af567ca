// Package tomlpos finds where keys stand in a TOML file, so that strict
// decoding errors name the file, the line and the key.
package tomlpos

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"

	"github.com/demandd/demandd/internal/i18n"
)

// KeyLines maps every key path ("database.url", "folder[1].origin") to its
// line, using the TOML parser's positions, and to its value's kind.
func KeyLines(data []byte) (map[string]int, map[string]unstable.Kind) {
	lines := map[string]int{}
	kinds := map[string]unstable.Kind{}
	var p unstable.Parser
	p.Reset(data)
	table := ""
	arrays := map[string]int{}
	keyOf := func(n *unstable.Node) string {
		var parts []string
		it := n.Key()
		for it.Next() {
			parts = append(parts, string(it.Node().Data))
		}
		return strings.Join(parts, ".")
	}
	// Line numbers from byte offsets through a table of line starts: the
	// parser's own Shape counts from the top each time, quadratic in a
	// file of thousands of rules.
	starts := []int{0}
	for i, b := range data {
		if b == '\n' {
			starts = append(starts, i+1)
		}
	}
	lineOfOffset := func(off int) int { return sort.SearchInts(starts, off+1) }
	lineAt := func(n *unstable.Node) int {
		if n.Raw.Length == 0 {
			return 0
		}
		return lineOfOffset(int(n.Raw.Offset))
	}
	lineFirstKey := func(n *unstable.Node) int {
		it := n.Key()
		if it.Next() {
			if k := it.Node(); k.Raw.Length > 0 {
				return lineOfOffset(int(k.Raw.Offset))
			}
		}
		return 0
	}
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table:
			table = keyOf(e)
			lines[table] = lineFirstKey(e)
		case unstable.ArrayTable:
			name := keyOf(e)
			table = fmt.Sprintf("%s[%d]", name, arrays[name])
			arrays[name]++
			lines[table] = lineFirstKey(e)
		case unstable.KeyValue:
			k := keyOf(e)
			if table != "" {
				k = table + "." + k
			}
			kinds[k] = e.Value().Kind
			if l := lineAt(e.Value()); l > 0 {
				lines[k] = l
			} else {
				lines[k] = lineFirstKey(e)
			}
		}
	}
	return lines, kinds
}

// DecodeError turns go-toml's errors into "FILE:LINE: key: message".
func DecodeError(name string, err error, hint string) error {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		var errs []error
		for _, e := range strict.Errors {
			row, _ := e.Position()
			errs = append(errs, fmt.Errorf("%s:%d: unknown key %q (check its spelling; %s)", name, row, strings.Join(e.Key(), "."), hint))
		}
		return errors.Join(errs...)
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, _ := de.Position()
		key := strings.Join(de.Key(), ".")
		if key != "" {
			return fmt.Errorf("%s:%d: %s: %s", name, row, key, de.Error())
		}
		return fmt.Errorf("%s:%d: %s", name, row, de.Error())
	}
	return fmt.Errorf("%s: %w", name, err)
}

// LineOf finds the line of key in lines (from KeyLines) or, failing
// that, of its closest parent; 0 when none is known.
func LineOf(lines map[string]int, key string) int {
	for k := key; k != ""; {
		if l, ok := lines[k]; ok {
			return l
		}
		i := strings.LastIndexAny(k, ".[")
		if i < 0 {
			break
		}
		k = k[:i]
	}
	return 0
}

// Tree parses data into a generic tree (tables are map[string]any, arrays
// []any) so that a caller can check every key before decoding into a
// struct, which stops at the first error. A syntax error is an *i18n.Error
// "FILE:LINE:COLUMN: syntax error: what is wrong", wrapping go-toml's.
func Tree(name string, data []byte) (map[string]any, error) {
	var tree map[string]any
	err := toml.Unmarshal(data, &tree)
	if err == nil {
		return tree, nil
	}
	var de *toml.DecodeError
	if !errors.As(err, &de) {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	row, col := de.Position()
	msg := syntaxText(strings.TrimPrefix(de.Error(), "toml: "))
	return nil, i18n.Wrap(err, i18n.Text{
		ZH: fmt.Sprintf("%s:%d:%d: 语法错误：%s", name, row, col, msg.ZH),
		EN: fmt.Sprintf("%s:%d:%d: syntax error: %s", name, row, col, msg.EN),
	})
}

// syntaxText says in users' words what the parser's message means, for the
// mistakes people make in a hand-written file; other messages are kept.
func syntaxText(msg string) i18n.Text {
	switch {
	case msg == "unexpected character U+000A at start of value" || msg == "unexpected character U+000D at start of value":
		return i18n.T("= 后面缺少值", "the value after = is missing")
	case strings.HasPrefix(msg, "unexpected character") && strings.HasSuffix(msg, "at start of value"),
		strings.HasPrefix(msg, "expected keyword"), msg == "strings must be quoted":
		return i18n.T(`文字要加引号，例如 path = "inbox"、stable_for = "2s"`,
			`text must be in quotes, such as path = "inbox" or stable_for = "2s"`)
	case msg == "basic strings cannot have new lines" || msg == "unterminated basic string":
		return i18n.T(`缺少结尾的引号 "`, `the closing quote " is missing`)
	case msg == "literal strings cannot have new lines" || msg == "unterminated literal string":
		return i18n.T("缺少结尾的引号 '", "the closing quote ' is missing")
	case strings.HasPrefix(msg, "invalid escape character"):
		// A Windows path in double quotes: C:\data reads \d as an escape.
		return i18n.T(`双引号里的 \ 是转义符；Windows 路径请用单引号 'C:\demandd\data' 或写成 C:/demandd/data`,
			`a \ inside "…" starts an escape; write a Windows path in single quotes, 'C:\demandd\data', or as C:/demandd/data`)
	case msg == "expected '=' after key":
		return i18n.T("键后面应该是 =", "a key must be followed by =")
	case strings.HasPrefix(msg, "expected newline but got"):
		return i18n.T("一行只能写一个 key = value；值后面多了内容", "one key = value per line: something follows the value")
	case strings.HasPrefix(msg, "key ") && strings.HasSuffix(msg, " is already defined"):
		key := strings.TrimSuffix(strings.TrimPrefix(msg, "key "), " is already defined")
		return i18n.Tf("%s 设置了两次", "%s is set twice", key)
	case strings.HasPrefix(msg, "table ") && strings.HasSuffix(msg, " already exists"):
		table := strings.TrimSuffix(strings.TrimPrefix(msg, "table "), " already exists")
		return i18n.Tf("表 [%s] 出现了两次", "table [%s] appears twice", table)
	case msg == "expected ']' to close table name":
		return i18n.T("表名缺少结尾的 ]", "the table name is missing its closing ]")
	case msg == "expected ']]' to close array table name":
		return i18n.T("表名缺少结尾的 ]]", "the table name is missing its closing ]]")
	case msg == "array is incomplete" || strings.HasPrefix(msg, "expected ',' or ']'"):
		return i18n.T("数组缺少结尾的 ] 或元素之间的逗号", "the array is missing its closing ] or a comma between values")
	}
	return i18n.T(msg, msg)
}

// Quote writes s as a TOML basic string, for the rule and configuration
// snippets demandd prints for people to paste.
func Quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
