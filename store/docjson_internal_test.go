package store

import (
	"encoding/json"
	"testing"

	"github.com/demandd/demandd/demand"
)

// FuzzDocJSON: the documents encoded by hand are json.Marshal's bytes.
func FuzzDocJSON(f *testing.F) {
	f.Add("questionnaire answer", "urgency", "非常紧急 <b>&\"\\\u2028\u2029\x00\x1f\x7f\xff\t\n\r\b\f", "matched", int64(-3))
	f.Add("", "", "", "", int64(0))
	f.Fuzz(func(t *testing.T, a, b, c, d string, n int64) {
		docs := []any{
			[]string{a, b, c, d}, []string{}, []string(nil),
			[]demand.Reason{{Rule: a, Attribute: b, Value: c, Matched: []string{d, a}}, {Rule: d}}, []demand.Reason(nil),
			[]demand.Attr{{Name: a, Value: b}, {Name: c, Value: d}},
			[]demand.Attachment{{Name: a, ContentType: b, Size: n, SHA256: c}, {Name: d, Size: n}},
		}
		for _, v := range docs {
			got, ok := appendDoc(nil, v)
			want, err := json.Marshal(v)
			if !ok || err != nil || string(got) != string(want) {
				t.Fatalf("%#v:\n%s\nwant\n%s", v, got, want)
			}
		}
	})
}
