package config

import (
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/demandd/demandd/deploy"
)

// TestExampleShowsEveryKey keeps deploy/demandd.example.toml complete: a
// new key is documented there, commented out if it has no useful default.
func TestExampleShowsEveryKey(t *testing.T) {
	var walk func(path string, t reflect.Type) []string
	walk = func(path string, typ reflect.Type) []string {
		var keys []string
		for f := range typ.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
			if !f.IsExported() || name == "-" || name == "" {
				continue
			}
			ft := f.Type
			if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && ft != durationType {
				keys = append(keys, walk(join(path, name), ft)...)
				continue
			}
			if ft.Kind() == reflect.Map {
				keys = append(keys, "["+join(path, name)+"]")
				continue
			}
			keys = append(keys, join(path, name))
		}
		return keys
	}
	for _, key := range walk("", reflect.TypeFor[Config]()) {
		shown := strings.Contains(deploy.ExampleConfig, key) // a [table]
		if !strings.HasPrefix(key, "[") {
			name := key[strings.LastIndex(key, ".")+1:]
			shown = regexp.MustCompile(`\b` + name + ` = `).MatchString(deploy.ExampleConfig)
		}
		if !shown {
			t.Errorf("%s is not in deploy/demandd.example.toml", key)
		}
	}
}
