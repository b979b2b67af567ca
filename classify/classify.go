package classify

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/demandd/demandd/demand"
)

// Classifier sets the derived attributes of a record and their reasons.
type Classifier interface {
	Classify(ctx context.Context, r *demand.Record) error
}

// SLA holds the response targets per quadrant.
type SLA struct {
	P1         time.Duration // clock time: urgent and important work does not wait for Monday
	P2Workdays int           // working days on the Calendar
	P3Days     int           // calendar days: the next iteration
	P4Days     int           // calendar days: the periodic review
}

// Options configure an Engine.
type Options struct {
	DefaultType demand.Type
	// DefaultUrgency is the urgency of a demand nothing in it presses:
	// no rule, no stated deadline (default low, as the process document
	// has it: plain questions and wishes are not urgent).
	DefaultUrgency demand.Urgency
	// UrgentFrom is the lowest urgency that makes a demand urgent in the
	// priority quadrant (default high); a deadline the customer states
	// within 48 hours makes it urgent too.
	UrgentFrom demand.Urgency
	// ImportantFrom is the lowest importance that makes a demand important
	// (default medium). Importance no rule sets is high for a 战略/重点
	// customer, medium when the urgency is medium (a stated business
	// impact), low otherwise.
	ImportantFrom demand.Importance
	Departments   map[demand.Type]string
	SLA           SLA
	Calendar      *Calendar
}

// Engine is the keyword-rules classifier. Its rules and customer directory
// can be replaced while it runs (Swap); a Classify call uses one
// consistent pair.
type Engine struct {
	opts  Options
	state atomic.Pointer[state]
}

type state struct {
	rules *Rules
	dir   *Directory
}

var _ Classifier = (*Engine)(nil)

// NewEngine builds an engine over rules (required) and a customer
// directory (nil for none).
func NewEngine(opts Options, rules *Rules, dir *Directory) (*Engine, error) {
	if rules == nil {
		return nil, fmt.Errorf("classify: no rules")
	}
	if opts.DefaultType == "" {
		opts.DefaultType = demand.TypeInquiry
		if rules.Taxonomy == TaxonomyThree {
			opts.DefaultType = demand.TypeFunctional
		}
	}
	if !typeInTaxonomy(opts.DefaultType, rules.Taxonomy) {
		return nil, fmt.Errorf("classify: default type %q is not in the rules' %s-way taxonomy", opts.DefaultType, rules.Taxonomy)
	}
	if opts.DefaultUrgency == "" {
		opts.DefaultUrgency = demand.UrgencyLow
	}
	if opts.UrgentFrom == "" {
		opts.UrgentFrom = demand.UrgencyHigh
	}
	if opts.ImportantFrom == "" {
		opts.ImportantFrom = demand.ImportanceMedium
	}
	if opts.Calendar == nil {
		cal, err := NewCalendar(time.UTC, nil, nil)
		if err != nil {
			return nil, err
		}
		opts.Calendar = cal
	}
	if opts.SLA.P1 <= 0 || opts.SLA.P2Workdays <= 0 || opts.SLA.P3Days <= 0 || opts.SLA.P4Days <= 0 {
		return nil, fmt.Errorf("classify: every SLA target must be positive: %+v", opts.SLA)
	}
	e := &Engine{opts: opts}
	e.state.Store(&state{rules: rules, dir: dir})
	return e, nil
}

// Swap puts new rules and directory in force for the next Classify calls.
func (e *Engine) Swap(rules *Rules, dir *Directory) { e.state.Store(&state{rules: rules, dir: dir}) }

// Rules returns the rules in force.
func (e *Engine) Rules() *Rules { return e.state.Load().rules }

// A deadline the customer states within urgentWithin makes the demand's
// urgency high, within pressingWithin medium, when no rule decided it
// (the process document: 客户要求2小时内解决 is 紧急; a deadline in about
// two weeks is a real but not a pressing constraint).
const (
	urgentWithin   = 48 * time.Hour
	pressingWithin = 14 * 24 * time.Hour
)

// Reason rule names of the engine's own steps.
const (
	ruleDefault   = "default"
	ruleTier      = "customer tier"
	ruleDirectory = "customer directory"
	ruleQuadrant  = "quadrant"
	ruleDeadline  = "customer deadline"
	ruleImpact    = "business impact"
)

// rank orders urgency and importance levels: low 1, medium 2, high 3.
func rank[T ~string](v T) int {
	switch string(v) {
	case "high":
		return 3
	case "medium":
		return 2
	case "low":
		return 1
	}
	return 0
}

// quadrant is the priority of urgent × important.
func quadrant(urgent, important bool) demand.Priority {
	switch {
	case urgent && important:
		return demand.P1
	case important:
		return demand.P2
	case urgent:
		return demand.P3
	default:
		return demand.P4
	}
}

// Classify implements Classifier: directory, rules, defaults, quadrant,
// department, due time; every value with its reason.
func (e *Engine) Classify(_ context.Context, r *demand.Record) error {
	st := e.state.Load()
	why := func(rule, attr, value string, matched ...string) {
		r.Reasons = append(r.Reasons, demand.Reason{Rule: rule, Attribute: attr, Value: value, Matched: matched})
	}
	if st.dir != nil {
		if entry, key, ok := st.dir.Lookup(r.Customer); ok {
			c := &r.Customer
			if c.Name == "" && entry.Name != "" {
				c.Name = entry.Name
				why(ruleDirectory, "customer", entry.Name, key)
			}
			if c.Industry == "" && entry.Industry != "" {
				c.Industry = entry.Industry
				why(ruleDirectory, "industry", entry.Industry, key)
			}
			if c.Tier == "" && entry.Tier != "" {
				c.Tier = entry.Tier
				why(ruleDirectory, "tier", string(entry.Tier), key)
			}
		}
	}
	d := st.rules.Evaluate(Input{
		Title: r.Description.Title, Body: r.Description.Text,
		Customer:   r.Customer.Name + "\n" + r.Customer.Contact + "\n" + r.Customer.Email,
		SourceText: string(r.Source.Channel) + "\n" + r.Source.Name, Channel: r.Source.Channel,
		SourceName: r.Source.Name, Tier: r.Customer.Tier,
		Type: r.Type, Urgency: r.Urgency, Importance: r.Importance,
	})
	r.Reasons = append(r.Reasons, d.Reasons...)
	r.Type, r.Urgency, r.Importance = d.Type, d.Urgency, d.Importance
	received := r.Source.ReceivedAt
	if received.IsZero() {
		received = time.Now()
	}
	deadline, phrase, hasDeadline := statedDeadline(d.text, received, e.opts.Calendar.loc)
	soon := hasDeadline && deadline.Sub(received) <= urgentWithin
	switch {
	case r.Urgency != "":
	case soon:
		r.Urgency = demand.UrgencyHigh
		why(ruleDeadline, "urgency", string(r.Urgency), phrase)
	case hasDeadline && deadline.Sub(received) <= pressingWithin:
		r.Urgency = demand.UrgencyMedium
		why(ruleDeadline, "urgency", string(r.Urgency), phrase)
	default:
		r.Urgency = e.opts.DefaultUrgency
		why(ruleDefault, "urgency", string(r.Urgency))
	}
	if r.Type == "" {
		r.Type = e.opts.DefaultType
		why(ruleDefault, "type", string(r.Type))
	}
	switch {
	case (r.Customer.Tier == demand.TierStrategic || r.Customer.Tier == demand.TierKey) && r.Importance != demand.ImportanceHigh:
		r.Importance = demand.ImportanceHigh
		why(ruleTier, "importance", string(r.Importance), r.Customer.Tier.Label())
	case r.Importance == "" && r.Urgency == demand.UrgencyMedium:
		// Medium urgency is a stated business impact that is not a
		// stoppage. High urgency alone is time pressure, which does not
		// make a demand important: that is the 紧急不重要 quadrant.
		r.Importance = demand.ImportanceMedium
		why(ruleImpact, "importance", string(r.Importance), "urgency="+string(r.Urgency))
	case r.Importance == "":
		r.Importance = demand.ImportanceLow
		why(ruleDefault, "importance", string(r.Importance))
	}
	urgent := rank(r.Urgency) >= rank(e.opts.UrgentFrom) || soon
	important := rank(r.Importance) >= rank(e.opts.ImportantFrom)
	r.Priority = quadrant(urgent, important)
	why(ruleQuadrant, "priority", string(r.Priority), fmt.Sprintf("urgent=%t (urgency=%s)", urgent, r.Urgency),
		fmt.Sprintf("important=%t (importance=%s)", important, r.Importance))
	if d.Department != "" {
		r.Department = d.Department
	} else if dep, ok := e.opts.Departments[r.Type]; ok && r.Department == "" {
		r.Department = dep
		why("department by type", "department", dep, string(r.Type))
	}
	for _, t := range d.Tags {
		if !slices.Contains(r.Tags, t) {
			r.Tags = append(r.Tags, t)
		}
	}
	if d.PainScore != 0 {
		r.PainScore = d.PainScore
	}
	if d.BusinessValue != 0 {
		r.BusinessValue = d.BusinessValue
	}
	if d.SLA != 0 {
		r.DueAt, r.SLA = received.Add(d.SLA), formatHours(d.SLA)
	} else {
		r.DueAt, r.SLA = e.due(r.Priority, received)
	}
	why("sla "+string(r.Priority), "due_at", r.SLA)
	if hasDeadline && deadline.Before(r.DueAt) {
		r.DueAt = deadline
		r.SLA = "客户期限"
		why(ruleDeadline, "due_at", deadline.In(e.opts.Calendar.loc).Format("2006-01-02 15:04"), phrase)
	}
	return nil
}

// Reclassify clears what classification derived — keeping what the item
// itself stated and what a person confirmed — and classifies again; for
// replays after a rules change.
func (e *Engine) Reclassify(ctx context.Context, r *demand.Record) error {
	kept := r.Reasons[:0:0]
	stated := map[string]bool{}
	for _, why := range r.Reasons {
		if why.Rule == demand.RuleAnswer || why.Rule == demand.RuleHeader || why.Rule == demand.RuleConfirmed {
			kept = append(kept, why)
			stated[why.Attribute] = true
		}
	}
	if !stated["type"] {
		r.Type = ""
	}
	if !stated["urgency"] {
		r.Urgency = ""
	}
	if !stated["importance"] {
		r.Importance = ""
	}
	r.Reasons, r.Tags = kept, nil
	r.Department, r.PainScore, r.BusinessValue, r.DueAt, r.SLA = "", 0, 0, time.Time{}, ""
	return e.Classify(ctx, r)
}

// due is the response deadline of a priority for a demand received at t.
func (e *Engine) due(p demand.Priority, t time.Time) (time.Time, string) {
	s := e.opts.SLA
	switch p {
	case demand.P1:
		return t.Add(s.P1), formatHours(s.P1)
	case demand.P2:
		return e.opts.Calendar.AddWorkdays(t, s.P2Workdays), fmt.Sprintf("%d个工作日", s.P2Workdays)
	case demand.P3:
		return t.AddDate(0, 0, s.P3Days), fmt.Sprintf("%d天(下个迭代)", s.P3Days)
	default:
		return t.AddDate(0, 0, s.P4Days), fmt.Sprintf("%d天(定期评审)", s.P4Days)
	}
}

func formatHours(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%d小时", int(d/time.Hour))
	}
	return d.String()
}
