package demand

import "time"

// ReportQuery names the day of a daily report (需求日报) and the moment
// its open demands are judged at.
type ReportQuery struct {
	// Start and End bound the calendar day reported on, [Start, End), as
	// the configured zone has it (DayBounds).
	Start, End time.Time
	// Now is when open demands are judged: overdue, due soon, without
	// progress. The report is made after its day, so "open" means open now.
	Now time.Time
	// SoonBy is the end of "due within two working days": Now plus two
	// working days on the configured calendar.
	SoonBy time.Time
	// Location is the zone of the earlier days the comparisons and the
	// intake series count (default: Start's location).
	Location *time.Location
}

// DayBounds is the calendar day of t in loc, [start, end).
func DayBounds(t time.Time, loc *time.Location) (start, end time.Time) {
	t = t.In(loc)
	start = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
	return start, start.AddDate(0, 0, 1)
}

// StalledAfter is how long an urgent open demand may go without progress
// before the daily report warns about it.
const StalledAfter = 2 * time.Hour

// Warning is why an open demand is on the report's 超期预警 sheet.
type Warning string

// The warnings, most pressing first.
const (
	WarnOverdue  Warning = "overdue"   // 已超期
	WarnDue24h   Warning = "due_24h"   // 24小时内到期
	WarnDue2Days Warning = "due_2days" // 2个工作日内到期
	// WarnStalled: urgent (high urgency or P1) with no progress recorded
	// (a status change, plan, feedback or follow-up) for StalledAfter.
	WarnStalled Warning = "stalled" // 紧急需求2小时无进展
)

// AtRisk is an open demand the report warns about, with every warning
// that applies.
type AtRisk struct {
	Record   *Record
	Warnings []Warning
}

// Tally counts the demands received on the report's day, on the day
// before and over the seven days before it, by one attribute's values.
type Tally struct {
	Attribute string // type, urgency, priority, channel, department, status
	Rows      []TallyRow
}

// TallyRow is one value of a Tally.
type TallyRow struct {
	Value   string
	Day     int
	PrevDay int
	Week    int // over the seven days before the day: Week/7 is the daily average
}

// DayCount is the number of demands received on one day.
type DayCount struct {
	Day time.Time // midnight starting the day, in the report's zone
	N   int
}

// Count is a number of demands with one value.
type Count struct {
	Value string
	N     int
}

// SLACompliance is how many closed demands were closed by their due time.
// Closed is delivered, accepted, closed or rejected; the closing time is
// the history entry that set the status, else the last update. A demand
// without a due time counts as closed in time.
type SLACompliance struct {
	Closed, InTime int
}

// DaySummary is what the report's 概览 shows besides its lists.
type DaySummary struct {
	// New, PrevDay and Week count the demands received on the day, the day
	// before and the seven days before the day (duplicates included).
	New, PrevDay, Week int
	// Duplicates of New are linked to an earlier demand.
	Duplicates int
	Tallies    []Tally
	// SLA of the demands closed on the day and over the 30 days ending
	// with it.
	SLADay, SLA30 SLACompliance
	Open          int // open now
	OpenOverdue   int // open now and past their due time
	// TopRepeated are the canonical demands asked most often (occurrences
	// above 1) among those active in the 30 days ending with the day.
	TopRepeated []*Record
	// Intake is the demands received on each of the 30 days ending with
	// the day, oldest first.
	Intake []DayCount
	// OpenByDepartment counts open demands by 责任部门, most first.
	OpenByDepartment []Count
	// Exceptions counts the items quarantined or ignored and the files
	// failed on the day.
	Exceptions int
}

// Exception is an item received on the report's day that became no
// demand: quarantined, ignored, or a whole file moved to failed/.
type Exception struct {
	At      time.Time
	Kind    string // quarantined, ignored, failed_file
	Channel Channel
	Source  string
	Reason  string
	Ref     string // file and row, Message-ID, the failed file's name
	ID      int64  // the raw item's id (F-ID for a failed file in the CLI)
}
