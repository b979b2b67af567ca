package webhook

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// jira reads Jira Cloud and Server/DC issue webhooks.
type jira struct{ base }

// DeliveryID: X-Atlassian-Webhook-Identifier (Cloud; the same across
// retries). The payload's timestamp, event and issue do not identify a
// delivery: two edits within a millisecond look alike.
func (p *jira) DeliveryID(h http.Header, payload []byte) string {
	return h.Get("X-Atlassian-Webhook-Identifier")
}

type jiraUser struct {
	DisplayName  str `json:"displayName"`
	Name         str `json:"name"`
	EmailAddress str `json:"emailAddress"`
	AccountID    str `json:"accountId"`
}

func (u *jiraUser) person() string {
	if u == nil {
		return ""
	}
	return first(u.DisplayName.String(), u.Name.String(), u.AccountID.String())
}

type jiraComment struct {
	Body    jiraText  `json:"body"`
	Author  *jiraUser `json:"author"`
	Created str       `json:"created"`
}

type jiraPayload struct {
	Timestamp     json.RawMessage `json:"timestamp"`
	WebhookEvent  str             `json:"webhookEvent"`
	IssueEventTyp str             `json:"issue_event_type_name"`
	Issue         *struct {
		Key    str `json:"key"`
		Self   str `json:"self"`
		Fields struct {
			Summary     str       `json:"summary"`
			Description jiraText  `json:"description"`
			Reporter    *jiraUser `json:"reporter"`
			Creator     *jiraUser `json:"creator"`
			Priority    *struct {
				Name str `json:"name"`
			} `json:"priority"`
			Labels     []str           `json:"labels"`
			Resolution json.RawMessage `json:"resolution"`
			Status     *struct {
				Name           str `json:"name"`
				StatusCategory struct {
					Key str `json:"key"`
				} `json:"statusCategory"`
			} `json:"status"`
			Created str `json:"created"`
			Updated str `json:"updated"`
		} `json:"fields"`
	} `json:"issue"`
	Comment   *jiraComment `json:"comment"`
	Changelog *struct {
		Items []struct {
			Field      str `json:"field"`
			FromString str `json:"fromString"`
			ToString   str `json:"toString"`
		} `json:"items"`
	} `json:"changelog"`
}

// jiraText is a text field: a string (Server, REST v2) or an Atlassian
// Document Format tree (Cloud, v3), whose text nodes it joins.
type jiraText string

func (t *jiraText) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = jiraText(s)
		return nil
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	var sb strings.Builder
	adfText(&sb, v, 0)
	*t = jiraText(strings.TrimSpace(sb.String()))
	return nil
}

// adfText appends the text of an ADF node; block nodes end a line. depth
// bounds the walk: JSON nesting is already bounded by the decoder, this
// keeps the recursion obviously finite.
func adfText(sb *strings.Builder, v any, depth int) {
	n, ok := v.(map[string]any)
	if !ok || depth > 100 {
		return
	}
	if s, ok := n["text"].(string); ok {
		sb.WriteString(s)
	}
	if kids, ok := n["content"].([]any); ok {
		for _, k := range kids {
			adfText(sb, k, depth+1)
		}
	}
	switch n["type"] {
	case "paragraph", "heading", "listItem", "codeBlock", "blockquote", "hardBreak":
		sb.WriteString("\n")
	}
}

// jiraDone are status names that mean finished, for payloads whose status
// has no category (a changelog's fromString).
var jiraDone = map[string]bool{"done": true, "closed": true, "resolved": true, "完成": true, "已完成": true,
	"已关闭": true, "关闭": true, "已解决": true}

// Map reads jira:issue_created (→ created), jira:issue_updated (with a
// comment → commented; moving to a done status or setting a resolution →
// closed; leaving one → reopened; else updated), comment_created (→
// commented) and jira:issue_deleted (→ closed); other events are ignored.
func (p *jira) Map(h http.Header, payload []byte) (Event, error) {
	var j jiraPayload
	if err := decode("jira", payload, &j); err != nil {
		return Event{}, err
	}
	name := j.WebhookEvent.String()
	ev := Event{Name: name}
	if j.Issue == nil {
		return Event{}, ignore("jira event %s is not about an issue", first(name, "without webhookEvent"))
	}
	f := &j.Issue.Fields
	switch name {
	case "jira:issue_created":
		ev.Kind = KindCreated
	case "jira:issue_deleted":
		ev.Kind = KindClosed
	case "comment_created":
		ev.Kind = KindCommented
	case "jira:issue_updated":
		ev.Kind = p.updateKind(&j)
	default:
		return Event{}, ignore("jira event %s is not an issue's creation, change or comment", first(name, "without webhookEvent"))
	}
	if ev.Kind == KindCommented && j.Comment == nil {
		return Event{}, &PayloadError{Reason: "jira " + name + ": no comment"}
	}

	r := p.record()
	reporter := f.Reporter
	if reporter == nil {
		reporter = f.Creator
	}
	r.Customer.Contact = reporter.person()
	if reporter != nil {
		r.Customer.Email = reporter.EmailAddress.String()
	}
	r.Description.Title = f.Summary.String()
	r.Description.Text = string(f.Description)
	for _, l := range f.Labels {
		if l != "" {
			r.Tags = append(r.Tags, l.String())
		}
	}
	var prio string
	if f.Priority != nil {
		prio = f.Priority.Name.String()
		addExtra(&r, "priority", prio)
	}
	r.Urgency = maxUrgency(append([]string{prio}, r.Tags...)...)
	r.Source.ReceivedAt = jiraTime(j.Timestamp)
	if r.Source.ReceivedAt.IsZero() {
		if ev.Kind == KindCreated {
			r.Source.ReceivedAt = parseTime(f.Created.String())
		} else {
			r.Source.ReceivedAt = parseTime(f.Updated.String())
		}
	}
	ev.Ticket = j.Issue.Key.String()
	// The payload links the REST resource; people want …/browse/KEY.
	if self := j.Issue.Self.String(); ev.Ticket != "" {
		if i := strings.Index(self, "/rest/api/"); i > 0 {
			ev.URL = self[:i] + "/browse/" + ev.Ticket
		}
	}
	if ev.Kind == KindCommented {
		c := j.Comment
		at := parseTime(c.Created.String())
		ev.Comment = &Comment{Author: c.Author.person(), Text: strings.TrimSpace(string(c.Body)), At: at}
		r.Description.Text = ev.Comment.Text
		if !at.IsZero() {
			r.Source.ReceivedAt = at
		}
	}
	ev.Record = r
	var state string
	if f.Status != nil {
		state = stateKey(ev.Kind, f.Status.Name.String())
	}
	if err := p.finish(&ev, "issue.key", "issue summary or description", j.IssueEventTyp.String(), name, state); err != nil {
		return Event{}, err
	}
	return ev, nil
}

// updateKind reads what a jira:issue_updated did: issue_event_type_name
// when Jira names it, else the comment and the changelog.
func (p *jira) updateKind(j *jiraPayload) Kind {
	switch j.IssueEventTyp {
	case "issue_commented":
		if j.Comment != nil {
			return KindCommented
		}
	case "issue_resolved", "issue_closed":
		return KindClosed
	case "issue_reopened":
		return KindReopened
	}
	if j.Comment != nil {
		return KindCommented
	}
	if j.Changelog == nil {
		return KindUpdated
	}
	f := &j.Issue.Fields
	resolved := len(f.Resolution) > 0 && string(f.Resolution) != "null"
	done := resolved || (f.Status != nil && f.Status.StatusCategory.Key == "done")
	for _, it := range j.Changelog.Items {
		switch strings.ToLower(it.Field.String()) {
		case "status":
			if done || jiraDone[strings.ToLower(it.ToString.String())] {
				return KindClosed
			}
			if jiraDone[strings.ToLower(it.FromString.String())] {
				return KindReopened
			}
		case "resolution":
			if it.ToString != "" {
				return KindClosed
			}
			if it.FromString != "" {
				return KindReopened
			}
		}
	}
	return KindUpdated
}

// jiraTime reads the payload's timestamp: epoch milliseconds (Cloud and
// recent Server); old Server wrote a local "2018-1-11 13:08:04,225"
// without a zone, which is not read.
func jiraTime(raw json.RawMessage) time.Time {
	var s str
	if len(raw) == 0 || json.Unmarshal(raw, &s) != nil {
		return time.Time{}
	}
	return parseTime(s.String())
}
