package classify

import (
	"fmt"
	"time"
)

// Calendar knows which days are working days: Monday to Friday, except
// public holidays, plus make-up workdays (调休) that fall on a weekend.
type Calendar struct {
	loc      *time.Location
	holidays map[string]bool
	workdays map[string]bool
}

// NewCalendar builds a calendar; dates are YYYY-MM-DD in loc.
func NewCalendar(loc *time.Location, holidays, workdays []string) (*Calendar, error) {
	if loc == nil {
		loc = time.UTC
	}
	c := &Calendar{loc: loc, holidays: map[string]bool{}, workdays: map[string]bool{}}
	for _, set := range []struct {
		dates []string
		into  map[string]bool
	}{{holidays, c.holidays}, {workdays, c.workdays}} {
		for _, d := range set.dates {
			if _, err := time.Parse("2006-01-02", d); err != nil {
				return nil, fmt.Errorf("classify: calendar date %q: want YYYY-MM-DD", d)
			}
			set.into[d] = true
		}
	}
	return c, nil
}

// IsWorkday reports whether t's day (in the calendar's zone) is worked.
func (c *Calendar) IsWorkday(t time.Time) bool {
	d := t.In(c.loc).Format("2006-01-02")
	if c.workdays[d] {
		return true
	}
	if c.holidays[d] {
		return false
	}
	wd := t.In(c.loc).Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// AddWorkdays returns the time n working days after t, at t's wall clock.
// A demand received on a day off starts counting from the next working day.
func (c *Calendar) AddWorkdays(t time.Time, n int) time.Time {
	t = t.In(c.loc)
	for n > 0 {
		t = t.AddDate(0, 0, 1)
		if c.IsWorkday(t) {
			n--
		}
	}
	return t
}
