package webhook

import (
	"bytes"
	"errors"
	"fmt"
	json "github.com/goccy/go-json"
	"strconv"
	"strings"
	"time"

	"github.com/demandd/demandd/demand"
)

// NewPreset builds the preset of source c. secret is the source's secret
// already read (SourceConfig.SecretSetting().Read); an empty secret is
// refused, since a source must authenticate its requests. The feishu
// preset reads its Encrypt Key itself (EncryptKeySetting), from wherever
// it is given.
func NewPreset(c SourceConfig, secret string) (Preset, error) {
	c.SetDefaults()
	if problems := c.Validate(); len(problems) > 0 {
		return nil, fmt.Errorf("webhook: source %q: %s: %s", c.Name, problems[0].Key, problems[0].Text)
	}
	if secret == "" {
		return nil, fmt.Errorf("webhook: source %q: the secret is empty", c.Name)
	}
	origin, err := demand.ParseOrigin(c.Origin)
	if err != nil {
		return nil, fmt.Errorf("webhook: source %q: %w", c.Name, err)
	}
	b := base{name: c.Name, origin: origin, secret: secret, status: map[string]demand.Status{}}
	for k, v := range c.Status {
		s, err := demand.ParseStatus(v)
		if err != nil {
			return nil, fmt.Errorf("webhook: source %q: status.%s: %w", c.Name, k, err)
		}
		b.status[strings.ToLower(strings.TrimSpace(k))] = s
	}
	switch c.Preset {
	case "github":
		return &github{b}, nil
	case "gitlab":
		return &gitlab{b}, nil
	case "jira":
		return &jira{b}, nil
	case "zendesk":
		return &zendesk{b}, nil
	case "feishu":
		key, err := c.EncryptKeySetting().Read(fmt.Sprintf("webhook source %q: encrypt_key", c.Name))
		if err != nil {
			return nil, fmt.Errorf("webhook: source %q: %w", c.Name, err)
		}
		return &feishu{base: b, encryptKey: key}, nil
	case "dingtalk":
		return &dingtalk{b}, nil
	case "generic":
		return &generic{base: b, m: c.Mapping}, nil
	}
	return nil, fmt.Errorf("webhook: source %q: unknown preset %q", c.Name, c.Preset)
}

// base is what every preset shares: the source's identity, secret and
// status mapping (keys lower-cased).
type base struct {
	name   string
	origin demand.Origin
	secret string
	status map[string]demand.Status
}

// record starts an event's record with the source filled in.
func (b *base) record() demand.Record {
	return demand.Record{Source: demand.Source{Channel: demand.ChannelWebhook, Name: b.name, Origin: b.origin}}
}

// defaultStatus is what a kind asks for when the source maps nothing:
// closing closes, reopening puts the demand back in progress.
func defaultStatus(k Kind) demand.Status {
	switch k {
	case KindClosed:
		return demand.StatusClosed
	case KindReopened:
		return demand.StatusInProgress
	}
	return ""
}

// finish applies the status mapping — the first of keys (most specific
// first) the source maps wins over the kind's default — fills the
// external reference and checks that the event has what a demand needs.
// ticketField and textFields name the payload fields for the error.
func (b *base) finish(ev *Event, ticketField, textFields string, keys ...string) error {
	ev.Status = defaultStatus(ev.Kind)
	for _, k := range keys {
		if s, ok := b.status[strings.ToLower(strings.TrimSpace(k))]; ok && k != "" {
			ev.Status = s
			break
		}
	}
	ev.Ticket = strings.TrimSpace(ev.Ticket)
	if ev.Ticket == "" {
		return &PayloadError{Reason: fmt.Sprintf("%s: no %s", ev.Name, ticketField)}
	}
	d := &ev.Record.Description
	d.Title, d.Text = strings.TrimSpace(d.Title), strings.TrimSpace(d.Text)
	if d.Title == "" && d.Text == "" {
		return &PayloadError{Reason: fmt.Sprintf("%s: ticket %s has no %s", ev.Name, ev.Ticket, textFields)}
	}
	ev.Record.Source.ExternalRef = ev.URL
	if ev.URL == "" {
		ev.Record.Source.ExternalRef = ev.Ticket
	}
	return nil
}

// ignore builds an *IgnoreError.
func ignore(format string, args ...any) error {
	return &IgnoreError{Reason: fmt.Sprintf(format, args...)}
}

// decode unmarshals a payload, answering *PayloadError when it is not the
// JSON the preset reads.
func decode(preset string, payload []byte, v any) error {
	if err := json.Unmarshal(payload, v); err != nil {
		return &PayloadError{Reason: fmt.Sprintf("%s: not a JSON payload of this sender: %v", preset, err)}
	}
	return nil
}

// str is a JSON value read as text: senders write ids as strings or
// numbers, and null or absent as nothing.
type str string

func (s *str) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*s = ""
	case b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return fmt.Errorf("read text: %w", err)
		}
		*s = str(v)
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		*s = str(b)
	case string(b) == "true" || string(b) == "false":
		*s = str(b)
	default:
		return errors.New("read text: want a string or a number")
	}
	return nil
}

func (s str) String() string { return string(s) }

// first returns the first non-empty value.
func first(v ...string) string {
	for _, s := range v {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}

// parseTime reads the time formats the senders write: RFC 3339, GitLab's
// "2015-05-17 17:06:40 UTC", Jira's "2018-01-11T13:08:03.317+0300", and
// epoch seconds or milliseconds. It returns zero when it cannot read one:
// the event then has no time of its own.
func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return epoch(n)
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05 MST", "2006-01-02 15:04:05 -0700",
		"2006-01-02T15:04:05.000-0700", "2006-01-02T15:04:05-0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

// epoch reads n as milliseconds when it is too large for seconds of a
// plausible date, else as seconds.
func epoch(n int64) time.Time {
	switch {
	case n <= 0:
		return time.Time{}
	case n > 1e11: // after 5138 as seconds: milliseconds
		if n > 1e14 { // not a plausible date in either unit
			return time.Time{}
		}
		return time.UnixMilli(n).UTC()
	default:
		return time.Unix(n, 0).UTC()
	}
}

// urgencyWords maps senders' priority and severity names to demand's three
// urgency levels. The top of five-level scales (P0/P1, blocker, critical,
// highest, urgent) is high; their second step (P2, high, major) is medium;
// the bottom (P3/P4, low, minor, trivial) is low. A scale's middle
// (medium, normal) is left out on purpose: it is every ticket's default,
// says nothing, and leaves urgency to the rules.
var urgencyWords = map[string]demand.Urgency{
	"p0": demand.UrgencyHigh, "p1": demand.UrgencyHigh, "s0": demand.UrgencyHigh, "s1": demand.UrgencyHigh,
	"sev0": demand.UrgencyHigh, "sev1": demand.UrgencyHigh, "blocker": demand.UrgencyHigh,
	"critical": demand.UrgencyHigh, "highest": demand.UrgencyHigh, "urgent": demand.UrgencyHigh,
	"emergency": demand.UrgencyHigh, "紧急": demand.UrgencyHigh, "加急": demand.UrgencyHigh,
	"特急": demand.UrgencyHigh, "非常紧急": demand.UrgencyHigh, "最高": demand.UrgencyHigh,
	"p2": demand.UrgencyMedium, "s2": demand.UrgencyMedium, "sev2": demand.UrgencyMedium,
	"high": demand.UrgencyMedium, "major": demand.UrgencyMedium, "高": demand.UrgencyMedium,
	"p3": demand.UrgencyLow, "p4": demand.UrgencyLow, "s3": demand.UrgencyLow, "s4": demand.UrgencyLow,
	"sev3": demand.UrgencyLow, "sev4": demand.UrgencyLow, "low": demand.UrgencyLow, "lowest": demand.UrgencyLow,
	"minor": demand.UrgencyLow, "trivial": demand.UrgencyLow, "低": demand.UrgencyLow, "最低": demand.UrgencyLow,
	"不急": demand.UrgencyLow,
}

var urgencyRank = map[demand.Urgency]int{demand.UrgencyLow: 1, demand.UrgencyMedium: 2, demand.UrgencyHigh: 3}

// urgencyOf reads a priority value or label ("P1", "priority: high",
// "severity::critical", "优先级：紧急", "high priority"); "" when it is not
// one.
func urgencyOf(s string) demand.Urgency {
	w := strings.ToLower(strings.TrimSpace(s))
	for _, prefix := range []string{"priority", "prio", "severity", "sev", "urgency", "优先级", "紧急程度", "紧急度"} {
		if rest, ok := strings.CutPrefix(w, prefix); ok {
			if r := strings.TrimLeft(rest, ":：/=_- "); r != rest {
				w = r
				break
			}
		}
	}
	for _, suffix := range []string{" priority", "-priority", "_priority", "优先级"} {
		w = strings.TrimSuffix(w, suffix)
	}
	return urgencyWords[strings.TrimSpace(w)]
}

// maxUrgency is the most urgent that any of values says.
func maxUrgency(values ...string) demand.Urgency {
	var u demand.Urgency
	for _, v := range values {
		if w := urgencyOf(v); urgencyRank[w] > urgencyRank[u] {
			u = w
		}
	}
	return u
}

// addExtra keeps a named value on the record when it has one.
func addExtra(r *demand.Record, name, value string) {
	if value = strings.TrimSpace(value); value != "" {
		r.Extra = append(r.Extra, demand.Attr{Name: name, Value: value})
	}
}
