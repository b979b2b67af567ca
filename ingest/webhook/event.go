package webhook

import (
	"errors"
	"net/http"
	"time"

	"github.com/demandd/demandd/demand"
)

// Kind is what an event does to its ticket.
type Kind string

// Event kinds. Every kind creates the demand when its ticket is unknown
// (the creation was missed: nothing is lost); for a known ticket, created
// and updated refresh nothing but the history and last activity, commented
// adds a follow-up, closed and reopened change the status.
const (
	KindCreated   Kind = "created"
	KindUpdated   Kind = "updated"
	KindCommented Kind = "commented"
	KindClosed    Kind = "closed"
	KindReopened  Kind = "reopened"
)

// Event is what one delivery says about one ticket, as a preset reads it.
type Event struct {
	Kind Kind
	// Name is the sender's own name of the event ("issues/opened",
	// "jira:issue_updated", "helpdesk.ticket.created_v1"), for history.
	Name string
	// Ticket identifies the ticket across all its events, unique within
	// the source: "octo/repo#12", a Jira key, a Zendesk ticket id. Never
	// empty for a mapped event.
	Ticket string
	// URL is the ticket's page for people, when the payload has one.
	URL string
	// Record carries the four elements: Customer (reporter/requester,
	// organisation where present), Description (Title and Text: the
	// ticket's title and body; for a comment event the ticket's title and
	// the comment), Source.ExternalRef (URL, else the ticket id),
	// Source.ReceivedAt (the event's own time, zero when it has none) and
	// Urgency ("" when the payload says nothing: the rules decide). Labels
	// and priority text are kept in Record.Tags and Record.Extra.
	Record demand.Record
	// Comment is the comment of a commented event.
	Comment *Comment
	// Status is the status the event asks for after the source's status
	// mapping; "" leaves it as it is.
	Status demand.Status
}

// Comment is a follow-up written on a ticket.
type Comment struct {
	Author string
	Text   string
	At     time.Time
}

// Errors of a preset. The server answers each with its status code; the
// body is {"error": Reason}.
type (
	// AuthError: the request's signature or token is missing or wrong (401).
	AuthError struct{ Reason string }
	// PayloadError: the payload is not what the preset reads — malformed
	// JSON, or a ticket event without the fields a demand needs (400).
	PayloadError struct{ Reason string }
	// IgnoreError: a valid event that is not about a ticket (a ping, a push,
	// a bot's own message): answered 2xx and stored as ignored with Reason.
	IgnoreError struct{ Reason string }
)

func (e *AuthError) Error() string    { return "webhook: unauthorised: " + e.Reason }
func (e *PayloadError) Error() string { return "webhook: bad payload: " + e.Reason }
func (e *IgnoreError) Error() string  { return "webhook: ignored: " + e.Reason }

// AsIgnore reports whether err is an *IgnoreError and returns it.
func AsIgnore(err error) (*IgnoreError, bool) {
	var e *IgnoreError
	ok := errors.As(err, &e)
	return e, ok
}

// Challenge is returned by Authenticate for a URL verification request
// (飞书's url_verification): the server answers 200 with Body as JSON and
// stores nothing.
type Challenge struct{ Body []byte }

func (c *Challenge) Error() string { return "webhook: url verification challenge" }

// Preset reads one sender's requests.
type Preset interface {
	// Authenticate checks the request's signature or token exactly as the
	// sender signs, comparing in constant time, and returns the payload to
	// map: body itself, or the decrypted payload of an encrypted envelope
	// (飞书 encrypt). It returns *AuthError, *PayloadError, or *Challenge.
	Authenticate(h http.Header, body []byte, now time.Time) ([]byte, error)
	// DeliveryID is the sender's id of this delivery (X-GitHub-Delivery,
	// X-Gitlab-Event-UUID, 飞书 header.event_id …), "" when it has none:
	// the server then uses the body's SHA-256.
	DeliveryID(h http.Header, payload []byte) string
	// Map reads the event. It returns *PayloadError or *IgnoreError.
	Map(h http.Header, payload []byte) (Event, error)
}
