package api_test

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/demandd/demandd/api"
)

type spec struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Responses  map[string]json.RawMessage `json:"responses"`
		Schemas    map[string]json.RawMessage `json:"schemas"`
		Parameters map[string]json.RawMessage `json:"parameters"`
	} `json:"components"`
}

type operation struct {
	Security  *[]map[string][]string `json:"security"`
	Responses map[string]struct {
		Ref string `json:"$ref"`
	} `json:"responses"`
}

var methods = map[string]bool{"get": true, "put": true, "post": true, "delete": true, "options": true, "head": true, "patch": true, "trace": true}

// TestOpenAPIMatchesRoutes holds openapi.json against the route table: the
// same (method, path) pairs, and the error answers each route can give.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var s spec
	if err := json.Unmarshal(api.OpenAPISpec, &s); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(s.OpenAPI, "3.") {
		t.Errorf("openapi %q, want 3.x", s.OpenAPI)
	}
	var documented, registered []string
	scopes := api.RouteScopes()
	for path, item := range s.Paths {
		for m, raw := range item {
			if !methods[m] {
				continue // path-level parameters, summary…
			}
			key := strings.ToUpper(m) + " " + path
			documented = append(documented, key)
			var op operation
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s: %v", key, err)
			}
			want := []string{"200", "405"}
			scope, ok := scopes[key]
			if ok && scope != "" {
				want = append(want, "401")
			}
			if ok && scope == "" && (op.Security == nil || len(*op.Security) != 0) {
				t.Errorf("%s needs no token but the description does not say so (security: [])", key)
			}
			if strings.Contains(path, "{code}") {
				want = append(want, "404")
			}
			if m == "patch" {
				want = append(want, "400", "403", "409", "413", "415", "422")
			}
			for _, code := range want {
				r, ok := op.Responses[code]
				if !ok {
					t.Errorf("%s: response %s not documented", key, code)
					continue
				}
				if name, found := strings.CutPrefix(r.Ref, "#/components/responses/"); found && s.Components.Responses[name] == nil {
					t.Errorf("%s: response %s refers to missing %s", key, code, r.Ref)
				}
			}
		}
	}
	for _, r := range api.Routes() {
		registered = append(registered, r[0]+" "+r[1])
	}
	sort.Strings(documented)
	sort.Strings(registered)
	if strings.Join(documented, "\n") != strings.Join(registered, "\n") {
		t.Errorf("openapi.json documents\n  %s\nthe handler registers\n  %s", strings.Join(documented, "\n  "), strings.Join(registered, "\n  "))
	}
	// Every reference resolves.
	var refs []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, v := range x {
				if s, ok := v.(string); ok && k == "$ref" {
					refs = append(refs, s)
				}
				walk(v)
			}
		case []any:
			for _, v := range x {
				walk(v)
			}
		}
	}
	var all any
	json.Unmarshal(api.OpenAPISpec, &all)
	walk(all)
	for _, ref := range refs {
		parts := strings.Split(strings.TrimPrefix(ref, "#/components/"), "/")
		var table map[string]json.RawMessage
		switch parts[0] {
		case "responses":
			table = s.Components.Responses
		case "schemas":
			table = s.Components.Schemas
		case "parameters":
			table = s.Components.Parameters
		}
		if len(parts) != 2 || table[parts[1]] == nil {
			t.Errorf("unresolved $ref %s", ref)
		}
	}
}

func TestOpenAPIServed(t *testing.T) {
	h, err := api.New(nil, api.Options{})
	if err == nil || h != nil {
		t.Fatal("New without a store must fail")
	}
	backends(t, func(t *testing.T, e *env) {
		a := e.do(t, http.MethodGet, "/api/v1/openapi.json", "", "")
		if a.status != 200 || string(a.body) != string(api.OpenAPISpec) || !strings.HasPrefix(a.header.Get("Content-Type"), "application/json") {
			t.Errorf("%d %q", a.status, a.header.Get("Content-Type"))
		}
	})
}
