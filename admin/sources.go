package admin

import (
	"slices"
	"strings"
	"sync"
	"time"
)

// Source states, as the status page, /readyz and demandd_source_state
// name them.
const (
	StateStarting = "starting" // registered, not yet running
	StateRunning  = "running"
	StateStandby  = "standby" // another replica holds its lease
	StateFailed   = "failed"  // its last run failed; it restarts
	StateStopped  = "stopped" // shut down
)

var allStates = []string{StateStarting, StateRunning, StateStandby, StateFailed, StateStopped}

// Part is a piece of a source with a connection of its own: an IMAP
// mailbox.
type Part struct {
	Name        string
	Connected   bool
	Idle        bool // waiting in IMAP IDLE
	LastSuccess time.Time
	LastError   string
	// Lag is how long the newest committed message waited between its
	// arrival and its commit.
	Lag time.Duration
}

// Source describes one configured source to the table.
type Source struct {
	Name    string
	Channel string // email, questionnaire or webhook
	// Items are the source names its items carry (default: Name); a
	// webhook listener's items name the webhook source they came through.
	Items []string
	// Parts, when set, reports the source's parts (mailboxes) when asked.
	Parts func() []Part
}

// SourceStatus is a source as /readyz and the status page show it.
type SourceStatus struct {
	Name    string `json:"name"`
	Channel string `json:"channel"`
	State   string `json:"state"`
	// Since is when it entered State.
	Since time.Time `json:"since"`
	// LastSuccess is the last time it was seen working: a mailbox's last
	// completed sync, else the source's last commit (or its start).
	LastSuccess time.Time `json:"last_success,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	// Lag is the largest lag of its parts (mailboxes); zero when unknown.
	Lag time.Duration `json:"lag_ns,omitempty"`
	// Lease is whether this process holds the source's lease; nil when
	// no lease was reported (a single replica).
	Lease *bool        `json:"lease_held,omitempty"`
	Parts []PartStatus `json:"parts,omitempty"`
	// Ready is false when the source cannot take items: failed, stopped,
	// not yet started, or a mailbox not connected; Reason says why.
	Ready  bool   `json:"ready"`
	Reason string `json:"reason,omitempty"`
}

// PartStatus is a Part for JSON.
type PartStatus struct {
	Name        string        `json:"name"`
	Connected   bool          `json:"connected"`
	Idle        bool          `json:"idle"`
	LastSuccess time.Time     `json:"last_success,omitzero"`
	LastError   string        `json:"last_error,omitempty"`
	Lag         time.Duration `json:"lag_ns,omitempty"`
}

type sourceRow struct {
	Source
	state       string
	since       time.Time
	lastSuccess time.Time
	lastError   string
	lastErrorAt time.Time
	lease       *bool
}

// sources is the table of sources, fed by the engine's Observer calls, the
// lease callback and the sources' own parts.
type sources struct {
	mu     sync.Mutex
	order  []string
	rows   map[string]*sourceRow
	commit map[string]time.Time // item source → last successful commit
	now    func() time.Time
}

func newSources(now func() time.Time) *sources {
	return &sources{rows: map[string]*sourceRow{}, commit: map[string]time.Time{}, now: now}
}

// row returns name's row, adding it when unknown (a source the engine
// runs that nobody registered).
func (t *sources) row(name string) *sourceRow {
	r := t.rows[name]
	if r == nil {
		r = &sourceRow{Source: Source{Name: name}, state: StateStarting, since: t.now()}
		t.rows[name] = r
		t.order = append(t.order, name)
	}
	return r
}

func (t *sources) add(s Source) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.row(s.Name)
	r.Source = s
}

func (t *sources) setState(name, state string, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.row(name)
	now := t.now()
	if r.state != state {
		r.state, r.since = state, now
	}
	switch {
	case err != nil:
		r.lastError, r.lastErrorAt = err.Error(), now
	case state == StateRunning && r.lastSuccess.IsZero():
		r.lastSuccess = now // started without error: the baseline until its first commit
	}
}

func (t *sources) setLease(name string, held bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.row(name)
	r.lease = &held
}

func (t *sources) committed(itemSources map[string]bool, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for s := range itemSources {
		t.commit[s] = at
	}
}

// snapshot is every source's status, in the order they were registered.
// Parts are asked for outside the lock.
func (t *sources) snapshot() []SourceStatus {
	t.mu.Lock()
	rows := make([]sourceRow, 0, len(t.order))
	commits := map[string]time.Time{}
	for _, name := range t.order {
		r := *t.rows[name]
		rows = append(rows, r)
		items := r.Items
		if len(items) == 0 {
			items = []string{r.Name}
		}
		for _, it := range items {
			if at := t.commit[it]; at.After(commits[r.Name]) {
				commits[r.Name] = at
			}
		}
	}
	t.mu.Unlock()

	out := make([]SourceStatus, 0, len(rows))
	for _, r := range rows {
		st := SourceStatus{Name: r.Name, Channel: r.Channel, State: r.state, Since: r.since, LastSuccess: r.lastSuccess,
			LastError: r.lastError, LastErrorAt: r.lastErrorAt, Lease: r.lease}
		if r.Parts != nil {
			// Its parts say when it last worked; starting is no success.
			st.LastSuccess = time.Time{}
		}
		if at := commits[r.Name]; at.After(st.LastSuccess) {
			st.LastSuccess = at
		}
		if st.State == StateRunning && r.lease != nil && !*r.lease {
			st.State = StateStandby
		}
		var down []string
		if r.Parts != nil {
			for _, p := range r.Parts() {
				st.Parts = append(st.Parts, PartStatus(p))
				if p.LastSuccess.After(st.LastSuccess) {
					st.LastSuccess = p.LastSuccess
				}
				st.Lag = max(st.Lag, p.Lag)
				if !p.Connected {
					msg := p.Name + ": " + firstNonEmpty(p.LastError, "not connected yet")
					down = append(down, msg)
				}
			}
			if len(down) > 0 && st.State == StateRunning {
				st.LastError = strings.Join(down, "; ")
			}
		}
		switch st.State {
		case StateRunning:
			st.Ready = len(down) == 0
			st.Reason = strings.Join(down, "; ")
		case StateStandby:
			st.Ready = true // another replica serves it
		case StateFailed:
			st.Reason = "failed: " + r.lastError
		default:
			st.Reason = st.State
		}
		out = append(out, st)
	}
	return out
}

func firstNonEmpty(s ...string) string {
	if i := slices.IndexFunc(s, func(v string) bool { return v != "" }); i >= 0 {
		return s[i]
	}
	return ""
}
