package store_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/store"
)

// TestFieldsBackExactly stores records whose every column holds what COPY's
// text format must escape — tab, newline, carriage return, backslash, a
// literal \N — besides a NUL and an invalid byte, which the store cleans,
// and reads them back: on PostgreSQL the rows go as COPY lines the store
// writes itself, on SQLite as bound parameters, and both must give back
// the same record.
func TestFieldsBackExactly(t *testing.T) {
	const hostile = "a\tb\nc\rd\\e \\N \\t \\\\ 结尾\x00z\xffend"
	// In the JSON documents a NUL is the escape \u0000, kept as it is.
	const hostileDoc = "a\tb\nc\rd\\e \\N \\t \\\\ 结尾\u2028\"<z\xffend"
	cleaned := strings.ToValidUTF8(strings.ReplaceAll(hostile, "\x00", ""), "\uFFFD")
	odd := "x\t\\N\ny\\" // for the columns stored as given
	recv := time.Date(2026, 11, 24, 10, 30, 5, 123456000, time.FixedZone("CST", 8*3600))
	build := func(key string, due time.Time) (*demand.Record, store.Entry) {
		e := entry(key, hostile, "")
		r := e.Record
		r.Customer = demand.Customer{Name: hostile, Industry: hostile, Contact: hostile, Email: hostile, Phone: hostile, Tier: demand.Tier(odd)}
		r.Description = demand.Description{Title: hostile, Text: hostile, Scenario: hostile, PainPoint: hostile, Goal: hostile, Language: odd,
			Attachments: []demand.Attachment{{Name: hostileDoc, ContentType: "text/plain", Size: 7, SHA256: odd}}}
		r.Source = demand.Source{Channel: demand.ChannelQuestionnaire, Name: hostile, Origin: demand.OriginRaised, ExternalRef: hostile, ReceivedAt: recv}
		r.Department, r.SLA, r.ResponsePlan, r.FeedbackResult, r.Fingerprint = hostile, hostile, hostile, hostile, odd+key
		r.DueAt, r.PainScore, r.BusinessValue, r.Satisfaction = due, 3, 5, 4
		r.Tags, r.Flags = []string{hostileDoc, odd}, []string{odd}
		r.Reasons = []demand.Reason{{Rule: hostileDoc, Attribute: "urgency", Value: "high", Matched: []string{hostileDoc, odd}}}
		r.Extra = []demand.Attr{{Name: hostileDoc, Value: odd}}
		return r, e
	}
	// want is r as stored: its text cleaned, its times in UTC.
	want := func(r *demand.Record) string {
		var w demand.Record
		b, _ := json.Marshal(r)
		json.Unmarshal([]byte(strings.ReplaceAll(string(b), `\u0000`, "")), &w)
		return canonical(t, &w)
	}
	backends(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		due := recv.Add(26*time.Hour + 7*time.Microsecond)
		a, ea := build("a", due)
		b, eb := build("b", time.Time{})
		wantA, wantB := want(a), want(b)
		res, err := s.SaveBatch(ctx, []store.Entry{ea, eb}, nil, opts())
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range []string{wantA, wantB} {
			got, err := s.Demand(ctx, res.Codes[i])
			if err != nil {
				t.Fatal(err)
			}
			if g := canonical(t, got); g != w {
				t.Errorf("record %d back:\n%s\nwant\n%s", i, g, w)
			}
			if got.Customer.Name != cleaned || got.Description.Text != cleaned || got.Description.Language != odd {
				t.Errorf("record %d: name %q text %q language %q", i, got.Customer.Name, got.Description.Text, got.Description.Language)
			}
		}
	})
}

// canonical is r's columns as JSON, without what the save assigns and
// with its times in UTC.
func canonical(t *testing.T, r *demand.Record) string {
	t.Helper()
	c := *r
	c.ID, c.Code, c.RawItemID, c.Status, c.Occurrences, c.Revision = 0, "", 0, "", 0, 0
	c.CreatedAt, c.UpdatedAt, c.LastActivityAt = time.Time{}, time.Time{}, time.Time{}
	c.Source.ReceivedAt, c.DueAt = c.Source.ReceivedAt.UTC(), c.DueAt.UTC()
	b, err := json.MarshalIndent(&c, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}
