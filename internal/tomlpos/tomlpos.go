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
