package api

import (
	"encoding/json"
	"time"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/store"
)

// demandJSON is a demand as the API shows it: snake_case, times in UTC,
// null for what is not set, [] for empty lists. Enumerations are their
// English values, with the Chinese label beside them.
type demandJSON struct {
	Code           string              `json:"code"`
	Customer       customerJSON        `json:"customer"`
	Title          string              `json:"title"`
	Text           string              `json:"text"`
	Scenario       string              `json:"scenario"`
	PainPoint      string              `json:"pain_point"`
	Goal           string              `json:"goal"`
	Language       string              `json:"language"`
	Attachments    []demand.Attachment `json:"attachments"`
	Channel        demand.Channel      `json:"channel"`
	ChannelLabel   string              `json:"channel_label"`
	Source         string              `json:"source"`
	Origin         demand.Origin       `json:"origin"`
	ExternalRef    string              `json:"external_ref"`
	ReceivedAt     time.Time           `json:"received_at"`
	Type           demand.Type         `json:"type"`
	TypeLabel      string              `json:"type_label"`
	Urgency        demand.Urgency      `json:"urgency"`
	UrgencyLabel   string              `json:"urgency_label"`
	Importance     demand.Importance   `json:"importance"`
	Priority       demand.Priority     `json:"priority"`
	PriorityLabel  string              `json:"priority_label"`
	Confirmed      *confirmedJSON      `json:"confirmed"`
	Department     string              `json:"department"`
	DueAt          *time.Time          `json:"due_at"`
	SLA            string              `json:"sla"`
	PainScore      int                 `json:"pain_score"`
	BusinessValue  int                 `json:"business_value"`
	Tags           []string            `json:"tags"`
	Reasons        []demand.Reason     `json:"reasons"`
	Status         demand.Status       `json:"status"`
	StatusLabel    string              `json:"status_label"`
	ResponsePlan   string              `json:"response_plan"`
	FeedbackResult string              `json:"feedback_result"`
	Satisfaction   *int                `json:"satisfaction"`
	DuplicateOf    *string             `json:"duplicate_of"`
	Occurrences    int                 `json:"occurrences"`
	Flags          []string            `json:"flags"`
	Extra          []demand.Attr       `json:"extra"`
	CreatedAt      time.Time           `json:"created_at"`
	UpdatedAt      time.Time           `json:"updated_at"`
	LastActivityAt time.Time           `json:"last_activity_at"`
}

type customerJSON struct {
	Name     string      `json:"name"`
	Industry string      `json:"industry"`
	Contact  string      `json:"contact"`
	Email    string      `json:"email"`
	Phone    string      `json:"phone"`
	Tier     demand.Tier `json:"tier"`
}

// confirmedJSON is what a person set; type or urgency is null when only
// the other was confirmed.
type confirmedJSON struct {
	Type    *demand.Type    `json:"type"`
	Urgency *demand.Urgency `json:"urgency"`
	By      string          `json:"by"`
	At      *time.Time      `json:"at"`
}

type detailJSON struct {
	demandJSON
	History    []historyJSON  `json:"history"`
	FollowUps  []followUpJSON `json:"follow_ups"`
	Duplicates duplicatesJSON `json:"duplicates"`
	RawItems   []rawJSON      `json:"raw_items"`
}

type historyJSON struct {
	At     time.Time       `json:"at"`
	Kind   string          `json:"kind"`
	Detail json.RawMessage `json:"detail"`
}

// followUpJSON is a reply attached to the demand (history kind follow_up).
type followUpJSON struct {
	At        time.Time `json:"at"`
	RawItemID int64     `json:"raw_item_id"`
	From      string    `json:"from"`
	Subject   string    `json:"subject"`
	Text      string    `json:"text"`
	Ref       string    `json:"ref"`
}

type duplicatesJSON struct {
	Canonical *string  `json:"canonical"` // the demand this one duplicates
	Codes     []string `json:"codes"`     // demands that duplicate this one
}

// rawJSON references a raw item; its body stays in the register.
type rawJSON struct {
	ID          int64     `json:"id"`
	Role        string    `json:"role"` // "origin" (the demand was made from it) or "follow_up"
	Channel     string    `json:"channel"`
	Source      string    `json:"source"`
	Ref         string    `json:"ref"`
	SHA256      string    `json:"sha256"`
	ContentType string    `json:"content_type"`
	Status      string    `json:"status"`
	ReceivedAt  time.Time `json:"received_at"`
}

type listJSON struct {
	Demands    []demandJSON `json:"demands"`
	NextCursor *string      `json:"next_cursor"`
}

type statsJSON struct {
	Total      int            `json:"total"`
	Duplicates int            `json:"duplicates"`
	ByType     map[string]int `json:"by_type"`
	ByUrgency  map[string]int `json:"by_urgency"`
	ByPriority map[string]int `json:"by_priority"`
	ByStatus   map[string]int `json:"by_status"`
	ByChannel  map[string]int `json:"by_channel"`
}

func list[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

func utc(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func nonEmpty[T ~string](s T) *T {
	if s == "" {
		return nil
	}
	return &s
}

func toJSON(l store.Listed) demandJSON {
	r := l.Record
	c, d := r.Customer, r.Description
	j := demandJSON{
		Code:     r.Code,
		Customer: customerJSON{Name: c.Name, Industry: c.Industry, Contact: c.Contact, Email: c.Email, Phone: c.Phone, Tier: c.Tier},
		Title:    d.Title, Text: d.Text, Scenario: d.Scenario, PainPoint: d.PainPoint, Goal: d.Goal, Language: d.Language,
		Attachments: list(d.Attachments),
		Channel:     r.Source.Channel, ChannelLabel: r.Source.Channel.Label(), Source: r.Source.Name, Origin: r.Source.Origin,
		ExternalRef: r.Source.ExternalRef, ReceivedAt: r.Source.ReceivedAt.UTC(),
		Type: r.Type, TypeLabel: r.Type.Label(), Urgency: r.Urgency, UrgencyLabel: r.Urgency.Label(),
		Importance: r.Importance, Priority: r.Priority, PriorityLabel: r.Priority.Label(),
		Department: r.Department, DueAt: utc(r.DueAt), SLA: r.SLA, PainScore: r.PainScore, BusinessValue: r.BusinessValue,
		Tags: list(r.Tags), Reasons: list(r.Reasons),
		Status: r.Status, StatusLabel: r.Status.Label(), ResponsePlan: r.ResponsePlan, FeedbackResult: r.FeedbackResult,
		DuplicateOf: nonEmpty(l.DuplicateOfCode), Occurrences: r.Occurrences, Flags: list(r.Flags), Extra: list(r.Extra),
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), LastActivityAt: r.LastActivityAt.UTC(),
	}
	if r.Satisfaction != 0 {
		j.Satisfaction = &r.Satisfaction
	}
	if cf := l.Confirmed; cf.Type != "" || cf.Urgency != "" {
		j.Confirmed = &confirmedJSON{Type: nonEmpty(cf.Type), Urgency: nonEmpty(cf.Urgency), By: cf.By, At: utc(cf.At)}
	}
	return j
}

func detailToJSON(d *store.Detail) detailJSON {
	j := detailJSON{demandJSON: toJSON(d.Listed), History: []historyJSON{}, FollowUps: []followUpJSON{}, RawItems: []rawJSON{},
		Duplicates: duplicatesJSON{Canonical: nonEmpty(d.DuplicateOfCode), Codes: list(d.Duplicates)}}
	for _, h := range d.History {
		j.History = append(j.History, historyJSON{At: h.At.UTC(), Kind: h.Kind, Detail: h.Detail})
		if h.Kind != "follow_up" {
			continue
		}
		f := followUpJSON{At: h.At.UTC()}
		var detail struct {
			RawItemID int64  `json:"raw_item_id"`
			From      string `json:"from"`
			Subject   string `json:"subject"`
			Text      string `json:"text"`
			Ref       string `json:"ref"`
		}
		if json.Unmarshal(h.Detail, &detail) == nil { // an unreadable detail still dates the follow-up
			f.RawItemID, f.From, f.Subject, f.Text, f.Ref = detail.RawItemID, detail.From, detail.Subject, detail.Text, detail.Ref
		}
		j.FollowUps = append(j.FollowUps, f)
	}
	for _, it := range d.RawItems {
		role := "follow_up"
		if it.ID == d.Record.RawItemID {
			role = "origin"
		}
		j.RawItems = append(j.RawItems, rawJSON{ID: it.ID, Role: role, Channel: it.Channel, Source: it.Source, Ref: it.Ref,
			SHA256: it.SHA256, ContentType: it.ContentType, Status: string(it.Status), ReceivedAt: it.ReceivedAt.UTC()})
	}
	return j
}
