package normalize

import (
	"encoding/json"
	"strings"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/ingest"
	"github.com/demandd/demandd/internal/i18n"
)

// JSONMapper makes a record from a ContentTypeJSON item of one source: a
// webhook source's preset, which knows its sender's payload.
type JSONMapper func(item ingest.Item) (*demand.Record, error)

// jsonRecord maps a JSON item: as its channel did, else with its
// source's mapper, else with JSON.
func (n *Normalizer) jsonRecord(item ingest.Item) (*demand.Record, error) {
	if item.Mapped != nil {
		rec := *item.Mapped
		return &rec, nil
	}
	if m, ok := n.json[item.Source]; ok {
		return m(item)
	}
	return JSON(item)
}

// completeJSON fills what every JSON record has: the source as the item
// came, the language and the fingerprint.
func completeJSON(rec *demand.Record, item ingest.Item) *demand.Record {
	src := &rec.Source
	src.Channel, src.Name, src.Origin = item.Channel, item.Source, item.Origin
	if src.ExternalRef == "" {
		src.ExternalRef = item.Ref
	}
	if src.ReceivedAt.IsZero() {
		src.ReceivedAt = item.ReceivedAt
	}
	d := &rec.Description
	d.Title, d.Text = strings.TrimSpace(d.Title), strings.TrimSpace(d.Text)
	d.Language = Language(d.Title + " " + d.Text)
	Identify(rec)
	return rec
}

// JSON makes a record from a JSON payload no preset knows: the title and
// body fields wherever they are nested (GitHub issue.title/body, Jira
// fields.summary/description…), the first non-empty string of each name
// found walking the document.
func JSON(item ingest.Item) (*demand.Record, error) {
	var v any
	if err := json.Unmarshal(item.Body, &v); err != nil {
		return nil, quarantine(i18n.Tf("不是有效的 JSON：%v", "not valid JSON: %v", err))
	}
	rec := &demand.Record{Source: demand.Source{Channel: item.Channel, Name: item.Source, Origin: item.Origin,
		ExternalRef: item.Ref, ReceivedAt: item.ReceivedAt}}
	rec.Description.Title = findString(v, "title", "subject", "summary")
	rec.Description.Text = findString(v, "body", "description", "text", "content")
	if rec.Description.Title == "" && rec.Description.Text == "" {
		return nil, quarantine(i18n.T("没有 title、subject、summary、body、description、text 或 content 字段",
			"no title, subject, summary, body, description, text or content field"))
	}
	return rec, nil
}

// findString is the first non-blank string under one of keys, looking at a
// map's own keys before its children.
func findString(v any, keys ...string) string {
	switch x := v.(type) {
	case map[string]any:
		for _, k := range keys {
			if s, ok := x[k].(string); ok && strings.TrimSpace(s) != "" {
				return s
			}
		}
		for _, child := range x {
			if s := findString(child, keys...); s != "" {
				return s
			}
		}
	case []any:
		for _, child := range x {
			if s := findString(child, keys...); s != "" {
				return s
			}
		}
	}
	return ""
}
