package webhook

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/demandd/demandd/demand"
)

// generic reads any JSON through the source's Mapping.
type generic struct {
	base
	m Mapping
}

// DeliveryID: the X-Demandd-Delivery header, else the value at
// mapping.delivery.
func (p *generic) DeliveryID(h http.Header, payload []byte) string {
	if v := h.Get("X-Demandd-Delivery"); v != "" {
		return v
	}
	if p.m.Delivery == "" {
		return ""
	}
	doc, err := decodeDoc(payload)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(pointerText(doc, p.m.Delivery))
}

// genericKinds are the event values read as a kind without any mapping.
var genericKinds = map[string]Kind{
	"create": KindCreated, "created": KindCreated, "open": KindCreated, "opened": KindCreated, "new": KindCreated,
	"update": KindUpdated, "updated": KindUpdated, "edit": KindUpdated, "edited": KindUpdated, "change": KindUpdated, "changed": KindUpdated,
	"comment": KindCommented, "commented": KindCommented, "reply": KindCommented, "replied": KindCommented,
	"close": KindClosed, "closed": KindClosed, "resolve": KindClosed, "resolved": KindClosed, "solved": KindClosed, "done": KindClosed,
	"reopen": KindReopened, "reopened": KindReopened,
}

// Map reads the fields at the mapping's pointers. The event value (at
// mapping.event) decides the kind: create/update/comment/close/reopen and
// their usual spellings are read as such; a value the source's status
// mapping names is closed when it maps to a status that is no longer
// open, created when it maps to new, else updated; any other value, or
// no event pointer, is created (for a known ticket created only adds
// history). A commented event's text is its comment. ticket and one of
// title and text must have a value.
func (p *generic) Map(h http.Header, payload []byte) (Event, error) {
	doc, err := decodeDoc(payload)
	if err != nil {
		return Event{}, &PayloadError{Reason: fmt.Sprintf("generic: not a JSON payload: %v", err)}
	}
	get := func(ptr string) string { return strings.TrimSpace(pointerText(doc, ptr)) }
	name := get(p.m.Event)
	ev := Event{Name: first(name, "generic"), Kind: KindCreated}
	key := strings.ToLower(name)
	if k, ok := genericKinds[key]; ok {
		ev.Kind = k
	} else if s, ok := p.status[key]; ok {
		switch {
		case !s.Open():
			ev.Kind = KindClosed
		case s == demand.StatusNew:
			ev.Kind = KindCreated
		default:
			ev.Kind = KindUpdated
		}
	}
	r := p.record()
	r.Customer.Name = get(p.m.Customer)
	r.Customer.Contact = get(p.m.Contact)
	r.Customer.Email = get(p.m.Email)
	r.Customer.Phone = get(p.m.Phone)
	r.Description.Title = get(p.m.Title)
	r.Description.Text = get(p.m.Text)
	if u := get(p.m.Urgency); u != "" {
		addExtra(&r, "urgency", u)
		r.Urgency = urgencyOf(u)
		if r.Urgency == "" {
			// demand's own names (高/中/低, high/medium/low) too.
			r.Urgency, _ = demand.ParseUrgency(u)
		}
	}
	r.Source.ReceivedAt = parseTime(get(p.m.Time))
	ev.Ticket = get(p.m.Ticket)
	ev.URL = get(p.m.URL)
	if ev.Kind == KindCommented && r.Description.Text == "" {
		ev.Kind = KindUpdated // a comment without text adds nothing to follow up
	}
	if ev.Kind == KindCommented {
		ev.Comment = &Comment{Author: first(r.Customer.Contact, r.Customer.Email), Text: r.Description.Text, At: r.Source.ReceivedAt}
	}
	ev.Record = r
	what := "mapping.title or mapping.text value"
	if err := p.finish(&ev, "value at mapping.ticket ("+p.m.Ticket+")", what, name); err != nil {
		return Event{}, err
	}
	return ev, nil
}
