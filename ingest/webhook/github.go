package webhook

import (
	"net/http"
	"strings"
)

// github reads GitHub repository webhooks: issues and issue_comment.
type github struct{ base }

func (p *github) DeliveryID(h http.Header, payload []byte) string {
	return h.Get("X-GitHub-Delivery")
}

type githubUser struct {
	Login str `json:"login"`
	Type  str `json:"type"`
	Email str `json:"email"`
	Name  str `json:"name"`
}

type githubPayload struct {
	Action str `json:"action"`
	Zen    str `json:"zen"`
	Issue  *struct {
		Number  str        `json:"number"`
		Title   str        `json:"title"`
		Body    str        `json:"body"`
		HTMLURL str        `json:"html_url"`
		State   str        `json:"state"`
		User    githubUser `json:"user"`
		Labels  []struct {
			Name str `json:"name"`
		} `json:"labels"`
		CreatedAt   str `json:"created_at"`
		UpdatedAt   str `json:"updated_at"`
		PullRequest any `json:"pull_request"`
	} `json:"issue"`
	Comment *struct {
		Body      str        `json:"body"`
		User      githubUser `json:"user"`
		CreatedAt str        `json:"created_at"`
		HTMLURL   str        `json:"html_url"`
	} `json:"comment"`
	Repository *struct {
		FullName str        `json:"full_name"`
		Owner    githubUser `json:"owner"`
	} `json:"repository"`
	Organization *githubUser `json:"organization"`
}

// Map reads issues (opened → created, closed → closed, reopened →
// reopened, deleted → closed, any other action → updated) and
// issue_comment created (→ commented). Every other event — ping, push,
// pull_request, comments on pull requests, edited or deleted comments —
// is ignored. X-GitHub-Event names the event; without it (a payload
// replayed from storage) the payload's shape decides.
func (p *github) Map(h http.Header, payload []byte) (Event, error) {
	var g githubPayload
	if err := decode("github", payload, &g); err != nil {
		return Event{}, err
	}
	event := h.Get("X-GitHub-Event")
	if event == "" {
		switch {
		case g.Zen != "":
			event = "ping"
		case g.Issue != nil && g.Comment != nil:
			event = "issue_comment"
		case g.Issue != nil:
			event = "issues"
		}
	}
	action := g.Action.String()
	ev := Event{Name: event + "/" + action}
	if event == "ping" {
		return Event{}, ignore("github ping")
	}
	if g.Issue == nil || (event != "issues" && event != "issue_comment") {
		return Event{}, ignore("github event %s is not about an issue", ev.Name)
	}
	is := g.Issue
	if is.PullRequest != nil {
		return Event{}, ignore("github %s is about a pull request", ev.Name)
	}
	switch event {
	case "issues":
		switch action {
		case "opened":
			ev.Kind = KindCreated
		case "closed", "deleted":
			ev.Kind = KindClosed
		case "reopened":
			ev.Kind = KindReopened
		default:
			ev.Kind = KindUpdated
		}
	case "issue_comment":
		if action != "created" || g.Comment == nil {
			return Event{}, ignore("github %s: only new comments are follow-ups", ev.Name)
		}
		ev.Kind = KindCommented
	}

	r := p.record()
	r.Customer.Contact = first(is.User.Name.String(), is.User.Login.String())
	r.Customer.Email = is.User.Email.String()
	if g.Organization != nil {
		r.Customer.Name = g.Organization.Login.String()
	} else if g.Repository != nil && g.Repository.Owner.Type == "Organization" {
		r.Customer.Name = g.Repository.Owner.Login.String()
	}
	r.Description.Title = is.Title.String()
	r.Description.Text = is.Body.String()
	var labels []string
	for _, l := range is.Labels {
		if l.Name != "" {
			labels = append(labels, l.Name.String())
		}
	}
	r.Tags = labels
	r.Urgency = maxUrgency(labels...)
	r.Source.ReceivedAt = parseTime(first(is.UpdatedAt.String(), is.CreatedAt.String()))
	if g.Repository != nil && g.Repository.FullName != "" && is.Number != "" {
		ev.Ticket = g.Repository.FullName.String() + "#" + is.Number.String()
	}
	ev.URL = is.HTMLURL.String()
	if ev.Kind == KindCommented {
		c := g.Comment
		at := parseTime(c.CreatedAt.String())
		ev.Comment = &Comment{Author: c.User.Login.String(), Text: strings.TrimSpace(c.Body.String()), At: at}
		r.Description.Text = ev.Comment.Text
		r.Source.ReceivedAt = at
	}
	ev.Record = r
	if err := p.finish(&ev, "repository.full_name or issue.number", "issue.title or body", ev.Name, action, stateKey(ev.Kind, is.State.String())); err != nil {
		return Event{}, err
	}
	return ev, nil
}

// stateKey is the ticket's state as a status mapping key, only for events
// that change it: a comment on a closed ticket does not close the demand.
func stateKey(k Kind, state string) string {
	if k == KindClosed || k == KindReopened {
		return state
	}
	return ""
}
