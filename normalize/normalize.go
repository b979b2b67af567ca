// Package normalize turns raw items into demand records (四要素): it maps
// questionnaire columns to fields through aliases and understands the value
// conventions of the Chinese survey platforms. It decides nothing about
// classification; it reports items that cannot become a record.
package normalize

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/demandd/demandd/dedupe"
	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/ingest"
	"github.com/demandd/demandd/internal/i18n"
)

// QuarantineError means the item is kept, with this reason, for reprocess.
type QuarantineError struct {
	Reason string // in English: what is stored with the item
	// Text, when set, is the reason in both languages, for a caller that
	// shows it in the configured locale (i18n.Message sees it via Unwrap).
	Text i18n.Text
}

func (e *QuarantineError) Error() string { return e.Reason }

// Unwrap makes Text visible to i18n.Message; nil when Text is unset.
func (e *QuarantineError) Unwrap() error {
	if e.Text == (i18n.Text{}) {
		return nil
	}
	return &i18n.Error{Text: e.Text}
}

// quarantine is a QuarantineError whose Reason is t in English.
func quarantine(t i18n.Text) *QuarantineError { return &QuarantineError{Reason: t.EN, Text: t} }

// AsQuarantine reports whether err asks for quarantine.
func AsQuarantine(err error) (*QuarantineError, bool) {
	var q *QuarantineError
	ok := errors.As(err, &q)
	return q, ok
}

// Normalizer makes records from raw items of every content type.
type Normalizer struct {
	questionnaire *Questionnaire
	json          map[string]JSONMapper
}

// Options configure a Normalizer.
type Options struct {
	// Aliases are extra questionnaire header names per field.
	Aliases map[string][]string
	// Location is the zone of times written without one.
	Location *time.Location
	// JSONMappers map the JSON payloads of the named sources (webhook
	// presets); other JSON items are read by JSON.
	JSONMappers map[string]JSONMapper
}

// New builds a Normalizer.
func New(opts Options) *Normalizer {
	return &Normalizer{questionnaire: NewQuestionnaire(opts.Aliases, opts.Location), json: opts.JSONMappers}
}

// Normalize makes the record for item. Errors: *QuarantineError for an item
// that cannot become a record as it is; *IgnoreError for one that is not a
// demand (an auto-reply); *ingest.RejectError when the item's whole input is
// unusable (a questionnaire header with no description).
func (n *Normalizer) Normalize(ctx context.Context, item ingest.Item) (*demand.Record, error) {
	switch item.ContentType {
	case ingest.ContentTypeRow:
		return n.questionnaire.Record(item)
	case ingest.ContentTypeEmail:
		return Email(item)
	case ingest.ContentTypeJSON:
		rec, err := n.jsonRecord(item)
		if err != nil {
			return nil, err
		}
		return completeJSON(rec, item), nil
	default:
		return nil, &QuarantineError{Reason: fmt.Sprintf("no normaliser for content type %q", item.ContentType)}
	}
}

// Questionnaire returns the questionnaire mapper, for header checks.
func (n *Normalizer) Questionnaire() *Questionnaire { return n.questionnaire }

// Identify sets the record's compared text (CleanText) and its
// Fingerprint, once its customer and description are known.
func Identify(r *demand.Record) {
	r.CleanText = dedupe.Clean(r.Description.Title, r.Description.Text)
	r.Fingerprint = Fingerprint(r)
}

// Fingerprint identifies the same customer asking the same thing: a hash of
// the customer's identity and the description as dedupe.Clean leaves it, so
// that the exact match and the near-duplicate match compare one text.
// Without a customer identity it is empty: two
// anonymous "无" answers are not one demand.
func Fingerprint(r *demand.Record) string {
	text := r.CleanText
	if text == "" {
		text = dedupe.Clean(r.Description.Title, r.Description.Text)
	}
	c := r.Customer
	who := strings.ToLower(firstNonEmpty(c.Email, c.Phone))
	if who == "" && (c.Name != "" || c.Contact != "") {
		who = strings.ToLower(c.Name + "|" + c.Contact)
	}
	if who == "" || utf8.RuneCountInString(text) < 4 {
		return ""
	}
	h := sha256.Sum256([]byte(who + "\x00" + text))
	return hex.EncodeToString(h[:16])
}

// Language guesses zh, en or mixed from the letters of s.
func Language(s string) string {
	var han, latin int
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Han, r):
			han++
		case r < unicode.MaxASCII && unicode.IsLetter(r):
			latin++
		}
	}
	switch {
	case han == 0 && latin == 0:
		return ""
	case han == 0:
		return "en"
	case latin == 0 || han*4 >= latin: // one Han character carries about a word
		return "zh"
	default:
		return "mixed"
	}
}

// cleanText makes text storable: valid UTF-8 (flagging damage), no NUL or
// other control characters except newlines and tabs, Windows line ends
// folded, outer space trimmed.
func cleanText(s string, damaged *bool) string {
	if !utf8.ValidString(s) {
		*damaged = true
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if hasControl(s) { // CR and NUL among them
		s = strings.ReplaceAll(s, "\r\n", "\n")
		s = strings.Map(func(r rune) rune {
			if r == '\n' || r == '\t' {
				return r
			}
			if r == '\r' {
				return '\n'
			}
			if unicode.IsControl(r) {
				return -1
			}
			return r
		}, s)
	}
	return strings.TrimSpace(s)
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\n' && c != '\t' {
			return true
		}
	}
	return false
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
