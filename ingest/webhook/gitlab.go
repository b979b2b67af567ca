package webhook

import (
	"net/http"
	"strings"
)

// gitlab reads GitLab project webhooks: Issue Hook and Note Hook.
type gitlab struct{ base }

// DeliveryID: Idempotency-Key (GitLab 17.4+), which GitLab keeps the
// same across retries of a delivery, else X-Gitlab-Event-UUID (older
// GitLab; meant for recursion detection, but unique per event).
func (p *gitlab) DeliveryID(h http.Header, payload []byte) string {
	return first(h.Get("Idempotency-Key"), h.Get("X-Gitlab-Event-UUID"))
}

type gitlabUser struct {
	ID       str `json:"id"`
	Name     str `json:"name"`
	Username str `json:"username"`
	Email    str `json:"email"`
}

type gitlabLabel struct {
	Title str `json:"title"`
}

type gitlabIssue struct {
	IID         str           `json:"iid"`
	Title       str           `json:"title"`
	Description str           `json:"description"`
	URL         str           `json:"url"`
	State       str           `json:"state"`
	Action      str           `json:"action"`
	AuthorID    str           `json:"author_id"`
	Severity    str           `json:"severity"`
	UpdatedAt   str           `json:"updated_at"`
	CreatedAt   str           `json:"created_at"`
	Labels      []gitlabLabel `json:"labels"`
}

type gitlabPayload struct {
	ObjectKind str        `json:"object_kind"`
	User       gitlabUser `json:"user"`
	Project    struct {
		PathWithNamespace str `json:"path_with_namespace"`
	} `json:"project"`
	ObjectAttributes struct {
		gitlabIssue
		Note         str `json:"note"`
		NoteableType str `json:"noteable_type"`
	} `json:"object_attributes"`
	Issue  *gitlabIssue  `json:"issue"`
	Labels []gitlabLabel `json:"labels"`
}

// Map reads Issue Hook (action open → created, close → closed, reopen →
// reopened, update and others → updated) and Note Hook on an issue (→
// commented); every other hook is ignored. The payload names only the
// issue author's id: the acting user is taken as the customer when it is
// the author, else the customer is left empty rather than set to staff.
func (p *gitlab) Map(h http.Header, payload []byte) (Event, error) {
	var g gitlabPayload
	if err := decode("gitlab", payload, &g); err != nil {
		return Event{}, err
	}
	kind := strings.ToLower(g.ObjectKind.String())
	oa := &g.ObjectAttributes
	ev := Event{Name: kind + "/" + oa.Action.String()}
	var is *gitlabIssue
	switch {
	case kind == "issue":
		is = &oa.gitlabIssue
		switch oa.Action {
		case "open":
			ev.Kind = KindCreated
		case "close":
			ev.Kind = KindClosed
		case "reopen":
			ev.Kind = KindReopened
		default:
			ev.Kind = KindUpdated
		}
	case kind == "note" && oa.NoteableType == "Issue" && g.Issue != nil:
		is = g.Issue
		ev.Kind = KindCommented
	case kind == "note":
		return Event{}, ignore("gitlab note on a %s, not an issue", first(oa.NoteableType.String(), "non-issue"))
	default:
		return Event{}, ignore("gitlab %s hook is not about an issue", first(kind, h.Get("X-Gitlab-Event"), "unknown"))
	}

	r := p.record()
	if g.User.ID != "" && g.User.ID == is.AuthorID {
		r.Customer.Contact = first(g.User.Name.String(), g.User.Username.String())
		r.Customer.Email = g.User.Email.String()
	}
	r.Description.Title = is.Title.String()
	r.Description.Text = is.Description.String()
	labels := g.Labels
	if len(labels) == 0 {
		labels = is.Labels
	}
	for _, l := range labels {
		if l.Title != "" {
			r.Tags = append(r.Tags, l.Title.String())
		}
	}
	if s := is.Severity.String(); s != "" && s != "unknown" {
		addExtra(&r, "severity", s)
	}
	r.Urgency = maxUrgency(append([]string{is.Severity.String()}, r.Tags...)...)
	r.Source.ReceivedAt = parseTime(first(is.UpdatedAt.String(), is.CreatedAt.String()))
	if path := g.Project.PathWithNamespace.String(); path != "" && is.IID != "" {
		ev.Ticket = path + "#" + is.IID.String()
	}
	ev.URL = is.URL.String()
	if ev.Kind == KindCommented {
		// The note hook's issue has no URL: the note's, without #note_….
		noteURL := oa.URL.String()
		if ev.URL == "" {
			ev.URL, _, _ = strings.Cut(noteURL, "#")
		}
		at := parseTime(oa.CreatedAt.String())
		ev.Comment = &Comment{Author: first(g.User.Username.String(), g.User.Name.String()), Text: strings.TrimSpace(oa.Note.String()), At: at}
		r.Description.Text = ev.Comment.Text
		r.Source.ReceivedAt = at
	}
	ev.Record = r
	if err := p.finish(&ev, "project.path_with_namespace or issue iid", "issue title or description",
		ev.Name, oa.Action.String(), stateKey(ev.Kind, is.State.String())); err != nil {
		return Event{}, err
	}
	return ev, nil
}
