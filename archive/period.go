// Package archive writes and checks archive bundles: one zip per period
// (a month, or a day) holding the period's tracking table (records.xlsx),
// every record with its history (records.jsonl), every raw item as it came
// (raw/…) and a manifest of every file's size and SHA-256
// (manifest.json). A bundle is written by streaming, so memory does not
// depend on the period's size; Verify recomputes every digest. With the
// [archive] block, serve makes the previous month's bundle once and may
// then purge raw bytes the verified bundle holds.
package archive

import (
	"time"

	"github.com/demandd/demandd/internal/i18n"
)

// Period is the span a bundle covers: [Since, Until) in a time zone.
type Period struct {
	Name         string // "2026-10" or "2026-10-15"
	Since, Until time.Time
}

// ParsePeriod reads a month (YYYY-MM) or a day (YYYY-MM-DD) in loc.
func ParsePeriod(s string, loc *time.Location) (Period, error) {
	if t, err := time.ParseInLocation("2006-01", s, loc); err == nil {
		return Period{Name: s, Since: t, Until: t.AddDate(0, 1, 0)}, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
		return Period{Name: s, Since: t, Until: t.AddDate(0, 0, 1)}, nil
	}
	return Period{}, i18n.Errorf("归档期间 %q：应为月份 YYYY-MM 或日期 YYYY-MM-DD", "period %q: want a month as YYYY-MM or a day as YYYY-MM-DD", s)
}

// MonthOf is the month holding t in loc.
func MonthOf(t time.Time, loc *time.Location) Period {
	t = t.In(loc)
	start := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, loc)
	return Period{Name: start.Format("2006-01"), Since: start, Until: start.AddDate(0, 1, 0)}
}

// FileName is the bundle's default file name.
func (p Period) FileName() string { return "demandd-archive-" + p.Name + ".zip" }
