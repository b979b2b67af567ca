package classify

import (
	"context"
	"fmt"
	"time"

	"github.com/demandd/demandd/demand"
)

// Classifier sets the derived attributes of a record and their reasons.
type Classifier interface {
	Classify(ctx context.Context, r *demand.Record) error
}

// SLA holds the response targets per quadrant.
type SLA struct {
	P1         time.Duration // clock time
	P2Workdays int
	P3Days     int
	P4Days     int
}

// Options configure Basic.
type Options struct {
	DefaultType demand.Type
	Departments map[demand.Type]string
	SLA         SLA
	Calendar    *Calendar
}

// Basic is the first-cut classifier; see the package documentation.
type Basic struct{ opts Options }

var _ Classifier = (*Basic)(nil)

// NewBasic checks opts and builds the classifier.
func NewBasic(opts Options) (*Basic, error) {
	if opts.DefaultType == "" {
		opts.DefaultType = demand.TypeInquiry
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
	return &Basic{opts: opts}, nil
}

const ruleDefault = "default"

// Classify implements Classifier.
func (b *Basic) Classify(_ context.Context, r *demand.Record) error {
	why := func(rule, attr, value string, matched ...string) {
		r.Reasons = append(r.Reasons, demand.Reason{Rule: rule, Attribute: attr, Value: value, Matched: matched})
	}
	if r.Urgency == "" {
		r.Urgency = demand.UrgencyMedium
		why(ruleDefault, "urgency", string(r.Urgency))
	}
	if r.Type == "" {
		r.Type = b.opts.DefaultType
		why(ruleDefault, "type", string(r.Type))
	}
	if r.Importance == "" {
		switch r.Customer.Tier {
		case demand.TierStrategic, demand.TierKey:
			r.Importance = demand.ImportanceHigh
			why("customer tier", "importance", string(r.Importance), r.Customer.Tier.Label())
		default:
			r.Importance = demand.ImportanceMedium
			why(ruleDefault, "importance", string(r.Importance))
		}
	}
	r.Priority = demand.Quadrant(r.Urgency, r.Importance)
	why("quadrant", "priority", string(r.Priority), "urgency="+string(r.Urgency), "importance="+string(r.Importance))
	if r.Department == "" {
		if d, ok := b.opts.Departments[r.Type]; ok {
			r.Department = d
			why("department by type", "department", d, string(r.Type))
		}
	}
	if r.DueAt.IsZero() {
		r.DueAt, r.SLA = b.due(r.Priority, r.Source.ReceivedAt)
		why("sla "+string(r.Priority), "due_at", r.SLA)
	}
	return nil
}

// due is the response deadline of a priority for a demand received at t.
func (b *Basic) due(p demand.Priority, t time.Time) (time.Time, string) {
	s := b.opts.SLA
	switch p {
	case demand.P1:
		return t.Add(s.P1), formatHours(s.P1)
	case demand.P2:
		return b.opts.Calendar.AddWorkdays(t, s.P2Workdays), fmt.Sprintf("%d个工作日", s.P2Workdays)
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
