package normalize

import (
	"testing"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/ingest"
)

func TestJSONFindsNestedTitleAndBody(t *testing.T) {
	n := New(Options{})
	item := ingest.Item{Channel: demand.ChannelWebhook, Source: "hooks", ContentType: ingest.ContentTypeJSON,
		Body: []byte(`{"action":"opened","issue":{"title":"导出报错","body":"点击导出后页面空白","user":{"login":"a"}}}`)}
	rec, err := n.Normalize(t.Context(), item)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Description.Title != "导出报错" || rec.Description.Text != "点击导出后页面空白" || rec.Source.Name != "hooks" {
		t.Errorf("got %+v", rec.Description)
	}
	for _, body := range []string{`{"a":`, `{"id":1,"labels":["x"]}`} {
		item.Body = []byte(body)
		if _, err := n.Normalize(t.Context(), item); err == nil {
			t.Errorf("%s: want a quarantine error", body)
		} else if _, ok := AsQuarantine(err); !ok {
			t.Errorf("%s: got %v, want a quarantine error", body, err)
		}
	}
}

func TestJSONMapperBySource(t *testing.T) {
	n := New(Options{JSONMappers: map[string]JSONMapper{"gh": func(ingest.Item) (*demand.Record, error) {
		return &demand.Record{Description: demand.Description{Title: "mapped"}}, nil
	}}})
	rec, err := n.Normalize(t.Context(), ingest.Item{Source: "gh", ContentType: ingest.ContentTypeJSON, Body: []byte(`{}`)})
	if err != nil || rec.Description.Title != "mapped" {
		t.Fatalf("got %v, %v", rec, err)
	}
}
