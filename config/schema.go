package config

import (
	"encoding"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pelletier/go-toml/v2"

	"github.com/demandd/demandd/internal/i18n"
	"github.com/demandd/demandd/internal/redact"
)

// The schema check compares every key of the parsed file with Config's
// toml tags before decoding: go-toml's decoder stops at the first error,
// speaks Go ("cannot decode TOML integer into …"), and matches field names
// case-insensitively, so [classify.SLA] would pass. Keys that do not fit
// are reported and removed from the tree, so that the rest still decodes
// and is validated in the same run.

// hints say what a key's value looks like, by key path without indices.
var hints = map[string]i18n.Text{
	"locale":                i18n.T(`"zh" 或 "en"`, `"zh" or "en"`),
	"file_mode":             i18n.T(`加引号的八进制权限，例如 "0640"`, `an octal mode in quotes, such as "0640"`),
	"timezone":              i18n.T(`IANA 名称，例如 "Asia/Shanghai"`, `an IANA name such as "Asia/Shanghai"`),
	"log.level":             i18n.T(`"debug"、"info"、"warn" 或 "error"`, `"debug", "info", "warn" or "error"`),
	"log.format":            i18n.T(`"text" 或 "json"`, `"text" or "json"`),
	"database.url":          i18n.T(`"postgres://…" 或 "sqlite:路径"`, `"postgres://…" or "sqlite:PATH"`),
	"classify.taxonomy":     i18n.T(`"five" 或 "three"`, `"five" or "three"`),
	"classify.default_type": i18n.T(`类型，例如 "inquiry"`, `a type such as "inquiry"`),
	"classify.holidays":     i18n.T(`加引号的日期，例如 "2026-10-01"`, `dates in quotes such as "2026-10-01"`),
	"classify.workdays":     i18n.T(`加引号的日期，例如 "2026-10-10"`, `dates in quotes such as "2026-10-10"`),
	"folder.origin":         i18n.T(`"raised" 或 "discovered"`, `"raised" or "discovered"`),
	"folder.max_file_size":  i18n.T(`字节数，例如 209715200（200 MB）`, `bytes, such as 209715200 for 200 MB`),
	"folder.max_cell":       i18n.T(`字节数，例如 65536（64 KB）`, `bytes, such as 65536 for 64 KB`),
	"email.origin":          i18n.T(`"raised" 或 "discovered"`, `"raised" or "discovered"`),
	"email.tls":             i18n.T(`"implicit"、"starttls" 或 "none"`, `"implicit", "starttls" or "none"`),
	"email.auth":            i18n.T(`"plain"、"login" 或 "xoauth2"`, `"plain", "login" or "xoauth2"`),
	"email.after":           i18n.T(`"none"、"seen" 或 "move:邮件夹"`, `"none", "seen" or "move:FOLDER"`),
	"email.since":           i18n.T(`加引号的日期，例如 "2026-01-01"`, `a date in quotes such as "2026-01-01"`),
}

var indices = regexp.MustCompile(`\[\d+\]`)

var (
	durationType        = reflect.TypeFor[Duration]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// checkSchema reports every key of tree that Config does not have or whose
// value does not fit its field, and removes it from tree.
func (c *Config) checkSchema(tree map[string]any) []lineError {
	s := &schema{c: c}
	s.table("", tree, reflect.TypeFor[Config]())
	return s.errs
}

type schema struct {
	c    *Config
	errs []lineError
}

func (s *schema) fail(key string, msg i18n.Text) {
	s.c.broken = append(s.c.broken, key)
	s.errs = append(s.errs, lineError{s.c.lineOf(key), s.c.keyError(key, msg)})
}

// table checks the keys of one table against struct type t.
func (s *schema) table(path string, tree map[string]any, t reflect.Type) {
	var names []string
	fields := map[string]reflect.Type{}
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if !f.IsExported() || name == "-" || name == "" {
			continue
		}
		names = append(names, name)
		fields[name] = f.Type
	}
	for _, k := range slices.Sorted(maps.Keys(tree)) {
		key := join(path, k)
		ft, ok := fields[k]
		if !ok {
			_, isTable := tree[k].(map[string]any)
			s.fail(key, unknownKey(path, k, names, isTable))
			delete(tree, k)
			continue
		}
		if !s.value(key, tree[k], ft) {
			delete(tree, k)
		}
	}
}

// value checks v against Go type t and reports false when v must go. A
// table keeps the keys that fit; an array with a bad element goes whole.
func (s *schema) value(key string, v any, t reflect.Type) bool {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	mismatch := func() bool {
		s.fail(key, wantGot(key, t, v))
		return false
	}
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		str, ok := v.(string)
		if !ok {
			return mismatch()
		}
		if err := reflect.New(t).Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(str)); err != nil {
			var ie *i18n.Error
			if !errors.As(err, &ie) {
				ie = &i18n.Error{Text: i18n.T(err.Error(), err.Error())}
			}
			s.fail(key, ie.Text)
			return false
		}
		return true
	}
	switch t.Kind() {
	case reflect.String:
		if _, ok := v.(string); !ok {
			return mismatch()
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			return mismatch()
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := v.(int64)
		if !ok {
			return mismatch()
		}
		if reflect.New(t).Elem().OverflowInt(n) {
			s.fail(key, i18n.Tf("%d 太大了", "%d is too large", n))
			return false
		}
	case reflect.Float32, reflect.Float64:
		switch v.(type) {
		case float64, int64:
		default:
			return mismatch()
		}
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return mismatch()
		}
		s.table(key, m, t)
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return mismatch()
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if !s.value(join(key, k), m[k], t.Elem()) {
				delete(m, k)
			}
		}
	case reflect.Slice:
		list, ok := v.([]any)
		if !ok {
			return mismatch()
		}
		fits := true
		for i, e := range list {
			if !s.value(fmt.Sprintf("%s[%d]", key, i), e, t.Elem()) {
				fits = false
			}
		}
		// An element cannot be left out without renumbering the others;
		// the whole array goes, and Validate does not see it.
		return fits
	default:
		// A type this check does not know yet is left to the decoder.
	}
	return true
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// wantGot is "want a string ("five" or "three"), got an integer".
func wantGot(key string, t reflect.Type, v any) i18n.Text {
	want := describe(key, t)
	if h, ok := hints[indices.ReplaceAllString(key, "")]; ok && t != durationType {
		want = texts("%s（%s）", "%s (%s)", want, h)
	}
	got := kindOf(v)
	want.ZH, got.ZH = spaced(want.ZH), spaced(got.ZH)
	return texts("应为%s，实际是%s", "want %s, got %s", want, got)
}

// spaced puts a space between Chinese and a following Latin word, as in
// "应为 true 或 false".
func spaced(s string) string {
	if s != "" && s[0] < utf8.RuneSelf {
		return " " + s
	}
	return s
}

// texts formats each language with the same language of args.
func texts(zh, en string, args ...i18n.Text) i18n.Text {
	var z, e []any
	for _, a := range args {
		z, e = append(z, a.ZH), append(e, a.EN)
	}
	return i18n.Text{ZH: fmt.Sprintf(zh, z...), EN: fmt.Sprintf(en, e...)}
}

// describe names what a field of type t holds, for "want …".
func describe(key string, t reflect.Type) i18n.Text {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	name := indices.ReplaceAllString(key, "")
	switch {
	case t == durationType:
		return i18n.T(`加引号的时长，例如 "30s"、"5m" 或 "24h"`, `a duration in quotes, such as "30s", "5m" or "24h"`)
	case reflect.PointerTo(t).Implements(textUnmarshalerType):
		return i18n.T("字符串", "a string")
	}
	switch t.Kind() {
	case reflect.String:
		return i18n.T("字符串", "a string")
	case reflect.Bool:
		return i18n.T("true 或 false", "true or false")
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return i18n.T("整数", "an integer")
	case reflect.Float32, reflect.Float64:
		return i18n.T("数字", "a number")
	case reflect.Struct, reflect.Map:
		return i18n.Tf("表 [%s]", "a table [%s]", name)
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Struct {
			// [folder] for [[folder]] is the likely mistake.
			return i18n.Tf("[[%s]] 表（两层方括号）", "[[%s]] tables (double brackets)", name)
		}
		elem := describe(key+"[0]", t.Elem())
		plural := map[reflect.Kind]string{reflect.String: "strings", reflect.Int: "integers", reflect.Int64: "integers",
			reflect.Bool: "booleans", reflect.Float64: "numbers"}[t.Elem().Kind()]
		if plural == "" {
			plural = "values"
		}
		return i18n.Text{ZH: elem.ZH + "数组", EN: "an array of " + plural}
	}
	return i18n.T(t.String(), t.String())
}

// kindOf names the kind of a parsed value, for "got …".
func kindOf(v any) i18n.Text {
	switch v := v.(type) {
	case string:
		// database = "postgres://…" (a URL where a table belongs) is shown.
		return i18n.Tf("字符串 %q", "a string (%q)", redact.DSN(v))
	case int64:
		return i18n.T("整数", "an integer")
	case float64:
		return i18n.T("小数", "a decimal number")
	case bool:
		return i18n.Tf("%t", "%t", v)
	case []any:
		return i18n.T("数组", "an array")
	case map[string]any:
		return i18n.T("表", "a table")
	case toml.LocalDate:
		return i18n.T("不带引号的日期", "a date without quotes")
	case toml.LocalTime:
		return i18n.T("不带引号的时间", "a time without quotes")
	case toml.LocalDateTime, time.Time:
		return i18n.T("不带引号的日期时间", "a date-time without quotes")
	}
	return i18n.Tf("%T", "%T", v)
}

// unknownKey says that k is not a key of the table at path and suggests
// the closest name among names when one is close.
func unknownKey(path, k string, names []string, isTable bool) i18n.Text {
	what := i18n.T("未知的键", "unknown key")
	if isTable {
		what = i18n.T("未知的表", "unknown table")
	}
	best, dist := "", -1
	for _, n := range names {
		d := distance(strings.ToLower(k), strings.ToLower(n))
		if d < dist || dist < 0 {
			best, dist = n, d
		}
	}
	// A distance of two covers a swapped pair or two typos in a longer
	// name; in a short name it would suggest unrelated keys.
	limit := 1
	if len([]rune(k)) >= 5 {
		limit = 2
	}
	if dist < 0 || dist > limit {
		return texts("%s（`demandd config example` 列出了所有键）", "%s (`demandd config example` lists every key)", what)
	}
	suggest := best
	if isTable {
		suggest = "[" + join(path, best) + "]"
	}
	if strings.EqualFold(k, best) {
		return texts("%s（是不是 %s？名称区分大小写）", "%s (did you mean %s? names are case-sensitive)", what, i18n.T(suggest, suggest))
	}
	return texts("%s（是不是 %s？）", "%s (did you mean %s?)", what, i18n.T(suggest, suggest))
}

// distance is the optimal string alignment distance: edits, counting a
// swap of two neighbours as one (stabel_for → stable_for).
func distance(a, b string) int {
	x, y := []rune(a), []rune(b)
	d := make([][]int, len(x)+1)
	for i := range d {
		d[i] = make([]int, len(y)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(x); i++ {
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && x[i-1] == y[j-2] && x[i-2] == y[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(x)][len(y)]
}
