// Package demand is the shared vocabulary of demandd: the demand record with
// its four elements (四要素: customer, description, source, urgency), the
// attributes derived by classification and the lifecycle. It depends on the
// standard library only; every other package speaks in these types.
package demand

import (
	"fmt"
	"strings"
	"time"
)

// Record is one customer demand (客户需求).
type Record struct {
	ID        int64  `json:"id,omitempty"`
	Code      string `json:"code,omitempty"` // human code, e.g. DEM202611001
	RawItemID int64  `json:"raw_item_id,omitempty"`

	Customer    Customer    `json:"customer"`
	Description Description `json:"description"`
	Source      Source      `json:"source"`
	Urgency     Urgency     `json:"urgency"`

	// Derived by classification.
	Type          Type       `json:"type"`
	Importance    Importance `json:"importance"`
	Priority      Priority   `json:"priority"`
	Department    string     `json:"department,omitempty"`
	DueAt         time.Time  `json:"due_at"`
	SLA           string     `json:"sla,omitempty"` // the target that set DueAt, e.g. "24小时"
	PainScore     int        `json:"pain_score,omitempty"`
	BusinessValue int        `json:"business_value,omitempty"`
	Tags          []string   `json:"tags,omitempty"`
	Reasons       []Reason   `json:"reasons,omitempty"`

	// Lifecycle.
	Status         Status `json:"status"`
	ResponsePlan   string `json:"response_plan,omitempty"`
	FeedbackResult string `json:"feedback_result,omitempty"`
	Satisfaction   int    `json:"satisfaction,omitempty"` // 1–5, 0 when not rated
	DuplicateOf    int64  `json:"duplicate_of,omitempty"`
	// DuplicateOfCode is the canonical demand's code, when the register
	// lists the record (not stored on it).
	DuplicateOfCode string `json:"duplicate_of_code,omitempty"`
	Occurrences     int    `json:"occurrences"`

	// Fingerprint identifies the same customer asking the same thing
	// (exact content); see Fingerprint.
	Fingerprint string `json:"fingerprint,omitempty"`
	// CleanText is the description as de-duplication compares it
	// (dedupe.Clean), set by normalize so that it is cut once per record;
	// not stored, empty when not computed.
	CleanText string `json:"-"`
	// Extra keeps input columns that map to no field, in input order.
	Extra []Attr `json:"extra,omitempty"`
	// Flags mark records a person should look at, e.g. FlagTimeUnparsed.
	Flags []string `json:"flags,omitempty"`
	// ReplyTo are the message IDs an email answers (In-Reply-To, then
	// References, nearest first): a reply to a stored demand becomes its
	// follow-up instead of a new demand. Not stored on the record.
	ReplyTo []string `json:"-"`

	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
	LastActivityAt time.Time `json:"last_activity_at"`
	// Revision is 1 when stored and one more on every change of the
	// stored record; the tracking table carries it to tell edits made
	// on an outdated copy (conflicts). 0 on a record not read from the
	// register.
	Revision int64 `json:"revision,omitempty"`
}

// Flags set on records by normalisation.
const (
	// FlagTimeUnparsed: the item's own time could not be read; the receive
	// time is when demandd saw it.
	FlagTimeUnparsed = "time_unparsed"
	// FlagTextDamaged: the text could not be fully decoded and carries
	// replacement characters.
	FlagTextDamaged = "text_damaged"
	// FlagCellCut: a value was longer than the source's max_cell and is
	// cut on the record; the raw item keeps it whole.
	FlagCellCut = "cell_cut"
)

// Customer is 客户基本信息.
type Customer struct {
	Name     string `json:"name,omitempty"` // organisation
	Industry string `json:"industry,omitempty"`
	Contact  string `json:"contact,omitempty"` // person
	Email    string `json:"email,omitempty"`
	Phone    string `json:"phone,omitempty"`
	Tier     Tier   `json:"tier,omitempty"`
}

// Summary is the customer as one line for tables: name, person, address.
func (c Customer) Summary() string {
	parts := make([]string, 0, 4)
	for _, s := range []string{c.Name, c.Contact, c.Email, c.Phone} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " / ")
}

// Description is 需求描述.
type Description struct {
	Title       string       `json:"title,omitempty"`
	Text        string       `json:"text"`
	Scenario    string       `json:"scenario,omitempty"`
	PainPoint   string       `json:"pain_point,omitempty"`
	Goal        string       `json:"goal,omitempty"`
	Language    string       `json:"language,omitempty"` // "zh", "en", "mixed"
	Attachments []Attachment `json:"attachments,omitempty"`
}

// Summary is the description as one cell: the title, then the text.
func (d Description) Summary() string {
	switch {
	case d.Title == "":
		return d.Text
	case d.Text == "" || d.Text == d.Title:
		return d.Title
	default:
		return d.Title + "\n" + d.Text
	}
}

// Attachment is a file that came with a demand.
type Attachment struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type,omitempty"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256,omitempty"`
}

// Source is 需求来源.
type Source struct {
	Channel     Channel   `json:"channel"`
	Name        string    `json:"name"` // the configured mailbox/folder/webhook
	Origin      Origin    `json:"origin"`
	ExternalRef string    `json:"external_ref,omitempty"` // Message-ID, file + row, ticket URL
	ReceivedAt  time.Time `json:"received_at"`
}

// Attr is a named value kept from the input.
type Attr struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Reason records why a derived attribute has its value.
type Reason struct {
	Rule      string   `json:"rule"`      // rule or step name
	Attribute string   `json:"attribute"` // "urgency", "type", "due_at", …
	Value     string   `json:"value"`
	Matched   []string `json:"matched,omitempty"` // words or answers that decided
}

// FormatCode builds the human code: prefix + yyyymm (in the month of t) +
// sequence, at least three digits (DEM202611001, …, DEM2026111000).
func FormatCode(prefix string, t time.Time, seq int64) string {
	return fmt.Sprintf("%s%s%03d", prefix, t.Format("200601"), seq)
}

// CodePeriod is the yyyymm part of a code for t.
func CodePeriod(t time.Time) string { return t.Format("200601") }

// Filter selects records for listing and export. Zero fields match all.
type Filter struct {
	Since    time.Time // received at or after
	Until    time.Time // received before
	Status   []Status
	Types    []Type
	Priority []Priority
	// OverdueAt, when set, keeps open demands due before it.
	OverdueAt time.Time
	// Limit keeps the first N matches (0: all).
	Limit int
	// Summary leaves out what tables and lists do not show — reasons, extra
	// attributes, attachments, flags — so that large exports stay fast.
	Summary bool
}

// Reason rules that mark values the item itself stated (a questionnaire's
// own 紧急程度 answer, an email's Importance header): classification keeps
// them, and a replay of the rules does not clear them.
const (
	RuleAnswer = "questionnaire answer"
	RuleHeader = "message header"
	// RuleConfirmed marks a type or urgency a person set (API, tracking
	// table): a confirmed label, kept beside what the rules said.
	RuleConfirmed = "confirmed label"
)
