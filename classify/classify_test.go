package classify

import (
	"context"
	"testing"
	"time"

	"github.com/demandd/demandd/demand"
)

var shanghai, _ = time.LoadLocation("Asia/Shanghai")

func TestAddWorkdays(t *testing.T) {
	// 2026-10-01..07 is the National Day holiday; Sunday 2026-09-27 and
	// Saturday 2026-10-10 are make-up workdays (调休).
	cal, err := NewCalendar(shanghai, []string{"2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07"},
		[]string{"2026-09-27", "2026-10-10"})
	if err != nil {
		t.Fatal(err)
	}
	at := func(d string) time.Time {
		t, _ := time.ParseInLocation("2006-01-02 15:04", d, shanghai)
		return t
	}
	tests := []struct {
		from string
		n    int
		want string
	}{
		{"2026-11-20 10:00", 1, "2026-11-23 10:00"}, // Friday → Monday over a weekend
		{"2026-11-21 10:00", 1, "2026-11-23 10:00"}, // received on Saturday
		{"2026-11-23 10:00", 7, "2026-12-02 10:00"},
		{"2026-09-30 09:00", 1, "2026-10-08 09:00"}, // over the holiday (10-03/04 are a weekend)
		{"2026-10-08 09:00", 2, "2026-10-10 09:00"}, // Friday, then the make-up Saturday
		{"2026-09-26 09:00", 1, "2026-09-27 09:00"}, // Saturday → make-up Sunday
	}
	for _, tt := range tests {
		if got := cal.AddWorkdays(at(tt.from), tt.n); !got.Equal(at(tt.want)) {
			t.Errorf("AddWorkdays(%s, %d) = %s, want %s", tt.from, tt.n, got.Format("2006-01-02 15:04 Mon"), tt.want)
		}
	}
	if _, err := NewCalendar(shanghai, []string{"10/01/2026"}, nil); err == nil {
		t.Error("a malformed date was accepted")
	}
}

func TestEngineDefaults(t *testing.T) {
	cal, _ := NewCalendar(shanghai, nil, nil)
	none, err := ParseRules("none.toml", []byte(`taxonomy = "five"`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewEngine(Options{DefaultType: demand.TypeInquiry, Calendar: cal,
		Departments: map[demand.Type]string{demand.TypeInquiry: "客服部", demand.TypeFeature: "产品部"},
		SLA:         SLA{P1: 24 * time.Hour, P2Workdays: 7, P3Days: 14, P4Days: 30}}, none, nil)
	if err != nil {
		t.Fatal(err)
	}
	recv := time.Date(2026, 11, 20, 10, 0, 0, 0, shanghai) // a Friday
	tests := []struct {
		name     string
		rec      demand.Record
		priority demand.Priority
		due      time.Time
		dept     string
	}{
		// Nothing presses and nothing is at stake: the periodic review.
		{"defaults", demand.Record{}, demand.P4, recv.AddDate(0, 0, 30), "客服部"},
		{"a stated impact", demand.Record{Urgency: demand.UrgencyMedium}, demand.P2, time.Date(2026, 12, 1, 10, 0, 0, 0, shanghai), "客服部"},
		// Time pressure alone does not make a demand important.
		{"answered urgent", demand.Record{Urgency: demand.UrgencyHigh}, demand.P3, recv.AddDate(0, 0, 14), "客服部"},
		{"urgent with an impact", demand.Record{Urgency: demand.UrgencyHigh, Importance: demand.ImportanceMedium}, demand.P1, recv.Add(24 * time.Hour), "客服部"},
		{"urgent, low importance", demand.Record{Urgency: demand.UrgencyHigh, Importance: demand.ImportanceLow}, demand.P3, recv.AddDate(0, 0, 14), "客服部"},
		{"not urgent, low importance", demand.Record{Urgency: demand.UrgencyLow, Importance: demand.ImportanceLow, Type: demand.TypeFeature}, demand.P4, recv.AddDate(0, 0, 30), "产品部"},
		{"strategic customer", demand.Record{Urgency: demand.UrgencyHigh, Customer: demand.Customer{Tier: demand.TierStrategic}}, demand.P1, recv.Add(24 * time.Hour), "客服部"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.rec
			r.Source.ReceivedAt = recv
			if err := b.Classify(context.Background(), &r); err != nil {
				t.Fatal(err)
			}
			if r.Priority != tt.priority || !r.DueAt.Equal(tt.due) || r.Department != tt.dept {
				t.Errorf("priority %s due %s dept %s; want %s %s %s", r.Priority, r.DueAt, r.Department, tt.priority, tt.due, tt.dept)
			}
			explained := map[string]bool{}
			for _, why := range r.Reasons {
				explained[why.Attribute] = true
			}
			for _, attr := range []string{"priority", "due_at", "importance"} {
				if !explained[attr] && !(attr == "importance" && tt.rec.Importance != "") {
					t.Errorf("%s has no reason: %+v", attr, r.Reasons)
				}
			}
		})
	}
}

// A replay of the rules keeps what a person confirmed, and derives the
// rest from it.
func TestReclassifyKeepsConfirmedLabels(t *testing.T) {
	cal, _ := NewCalendar(shanghai, nil, nil)
	rules, _, err := Load(Sources{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEngine(Options{DefaultType: demand.TypeInquiry, Calendar: cal,
		SLA: SLA{P1: 24 * time.Hour, P2Workdays: 7, P3Days: 14, P4Days: 30}}, rules, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := demand.Record{Description: demand.Description{Text: "请问如何开通API接口？"},
		Source: demand.Source{ReceivedAt: time.Date(2026, 11, 20, 10, 0, 0, 0, shanghai)}}
	if err := e.Classify(context.Background(), &r); err != nil {
		t.Fatal(err)
	}
	r.Type, r.Urgency = demand.TypeFeature, demand.UrgencyHigh
	r.Reasons = append(r.Reasons,
		demand.Reason{Rule: demand.RuleConfirmed, Attribute: "type", Value: string(demand.TypeFeature)},
		demand.Reason{Rule: demand.RuleConfirmed, Attribute: "urgency", Value: string(demand.UrgencyHigh)})
	if err := e.Reclassify(context.Background(), &r); err != nil {
		t.Fatal(err)
	}
	if r.Type != demand.TypeFeature || r.Urgency != demand.UrgencyHigh || r.Priority != demand.Quadrant(demand.UrgencyHigh, r.Importance) {
		t.Errorf("after replay: type %s urgency %s priority %s", r.Type, r.Urgency, r.Priority)
	}
}
