package webhook

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
)

// zendesk reads Zendesk event webhooks (zen:event-type:ticket.*). Trigger
// webhooks with a body built from placeholders have no fixed shape: use
// the generic preset for those.
type zendesk struct{ base }

type zendeskPayload struct {
	Type   str `json:"type"`
	ID     str `json:"id"`
	Time   str `json:"time"`
	Detail *struct {
		ID             str   `json:"id"`
		Subject        str   `json:"subject"`
		Description    str   `json:"description"`
		Priority       str   `json:"priority"`
		Status         str   `json:"status"`
		Tags           []str `json:"tags"`
		RequesterID    str   `json:"requester_id"`
		OrganizationID str   `json:"organization_id"`
		CreatedAt      str   `json:"created_at"`
		UpdatedAt      str   `json:"updated_at"`
	} `json:"detail"`
	Event struct {
		Current  zendeskStatus `json:"current"`
		Previous zendeskStatus `json:"previous"`
		Comment  *struct {
			Body   str `json:"body"`
			Author struct {
				ID      str  `json:"id"`
				Name    str  `json:"name"`
				IsStaff bool `json:"is_staff"`
			} `json:"author"`
		} `json:"comment"`
	} `json:"event"`
}

// zendeskStatus is an event's current or previous value: a status string
// ("SOLVED") for status_changed, an object with a status in some
// examples, anything else for other events — which is not a status.
type zendeskStatus string

func (s *zendeskStatus) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	var v str
	if json.Unmarshal(b, &v) == nil {
		*s = zendeskStatus(v)
		return nil
	}
	var o struct {
		Status str `json:"status"`
	}
	if len(b) > 0 && b[0] == '{' && json.Unmarshal(b, &o) == nil {
		*s = zendeskStatus(o.Status)
	}
	return nil // other values of other events say nothing here
}

// DeliveryID: the payload's own event id, prefixed by X-Zendesk-Webhook-Id
// when sent. X-Zendesk-Webhook-Id alone names the webhook, not the
// delivery, so without an event id the body's hash is used.
func (p *zendesk) DeliveryID(h http.Header, payload []byte) string {
	var z struct {
		ID str `json:"id"`
	}
	if json.Unmarshal(payload, &z) != nil || z.ID == "" {
		return ""
	}
	if w := h.Get("X-Zendesk-Webhook-Id"); w != "" {
		return w + ":" + z.ID.String()
	}
	return z.ID.String()
}

func zendeskClosed(s string) bool { return s == "solved" || s == "closed" }

// Map reads ticket events: ticket.created (→ created), ticket.comment_added
// (→ commented), ticket.status_changed (to solved or closed → closed; from
// solved or closed back → reopened; else updated), any other ticket event
// (→ updated). Events about users, organisations, articles … are ignored.
// The payload names the requester and organisation by id only: they are
// kept in Record.Extra, and the customer's name is left to the directory.
func (p *zendesk) Map(h http.Header, payload []byte) (Event, error) {
	var z zendeskPayload
	if err := decode("zendesk", payload, &z); err != nil {
		return Event{}, err
	}
	name := z.Type.String()
	ev := Event{Name: name}
	action, ok := strings.CutPrefix(name, "zen:event-type:ticket.")
	if !ok {
		return Event{}, ignore("zendesk event %s is not a ticket event", first(name, "without type"))
	}
	if z.Detail == nil {
		return Event{}, &PayloadError{Reason: "zendesk " + name + ": no detail"}
	}
	d := z.Detail
	cur, prev := strings.ToLower(string(z.Event.Current)), strings.ToLower(string(z.Event.Previous))
	switch action {
	case "created":
		ev.Kind = KindCreated
	case "comment_added":
		if z.Event.Comment == nil {
			return Event{}, &PayloadError{Reason: "zendesk " + name + ": no event.comment"}
		}
		ev.Kind = KindCommented
	case "status_changed":
		switch {
		case zendeskClosed(cur):
			ev.Kind = KindClosed
		case cur != "" && zendeskClosed(prev):
			ev.Kind = KindReopened
		default:
			ev.Kind = KindUpdated
		}
	default:
		ev.Kind = KindUpdated
	}

	r := p.record()
	r.Description.Title = d.Subject.String()
	r.Description.Text = d.Description.String()
	addExtra(&r, "requester_id", d.RequesterID.String())
	addExtra(&r, "organization_id", d.OrganizationID.String())
	addExtra(&r, "priority", d.Priority.String())
	for _, t := range d.Tags {
		if t != "" {
			r.Tags = append(r.Tags, t.String())
		}
	}
	r.Urgency = maxUrgency(append([]string{d.Priority.String()}, r.Tags...)...)
	r.Source.ReceivedAt = parseTime(first(z.Time.String(), d.UpdatedAt.String()))
	ev.Ticket = d.ID.String()
	if ev.Kind == KindCommented {
		c := z.Event.Comment
		ev.Comment = &Comment{Author: first(c.Author.Name.String(), c.Author.ID.String()),
			Text: strings.TrimSpace(c.Body.String()), At: r.Source.ReceivedAt}
		r.Description.Text = ev.Comment.Text
	}
	ev.Record = r
	var state string
	if action == "status_changed" {
		state = cur
	}
	if err := p.finish(&ev, "detail.id", "detail.subject or detail.description", name, action, state); err != nil {
		return Event{}, err
	}
	return ev, nil
}
