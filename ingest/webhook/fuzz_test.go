package webhook

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzMap feeds every preset's Map any payload: it must never panic, and a
// mapped event must have a ticket and a title or text.
func FuzzMap(f *testing.F) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed payloads: %v", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(zendeskTicket("comment_added", `{"comment":{"body":"x","author":{"name":"y"}}}`))
	f.Add([]byte(`{"schema":"2.0","header":{"event_type":"helpdesk.ticket.updated_v1"},"event":{"object":{"ticket_id":"1","status":51},"old_object":{"status":1}}}`))
	f.Add([]byte(`{"webhookEvent":"jira:issue_updated","issue":{"key":"A-1","fields":{"summary":"s","description":{"type":"doc","content":[{"type":"paragraph","content":[{"type":"text","text":"hi"}]}]}}},"changelog":{"items":[{"field":"resolution","toString":"Done"}]}}`))
	f.Add([]byte(`{"event":"closed","ticket":{"id":7},"title":"t","body":"b"}`))

	presets := make([]Preset, 0, len(Presets))
	for _, name := range Presets {
		c := SourceConfig{Name: "fuzz", Preset: name, Secret: "s",
			Status: map[string]string{"closed": "accepted", "opened": "new"}}
		if name == "generic" {
			c.Mapping = Mapping{Event: "/event", Ticket: "/ticket/id", Title: "/title", Text: "/body",
				Urgency: "/priority", Time: "/at", URL: "/url", Delivery: "/id"}
		}
		p, err := NewPreset(c, "s")
		if err != nil {
			f.Fatal(err)
		}
		presets = append(presets, p)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		for i, p := range presets {
			_ = p.DeliveryID(nil, payload)
			ev, err := p.Map(nil, payload)
			if err != nil {
				continue
			}
			if ev.Ticket == "" {
				t.Fatalf("%s: mapped event without ticket: %+v", Presets[i], ev)
			}
			if ev.Record.Description.Title == "" && ev.Record.Description.Text == "" {
				t.Fatalf("%s: mapped event without title or text: %+v", Presets[i], ev)
			}
			if ev.Kind == "" {
				t.Fatalf("%s: mapped event without kind: %+v", Presets[i], ev)
			}
		}
	})
}
