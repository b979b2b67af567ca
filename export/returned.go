package export

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/internal/i18n"
)

// Reading a tracking table back.
//
// The team works the exported table in Excel and drops it back (see
// package engine, ReturnTable). Only real edits count, and an edit made on
// a copy older than the register must not overwrite what changed since. So
// every row of the workbook carries, in a hidden column at the end (inside
// the filter range, so that sorting moves it with its row), a Stamp: the
// record's revision when exported and a fingerprint of each editable
// value as exported. A cell whose value equals its exported fingerprint
// is not an edit, whatever the register says now; an edited cell of a
// record whose revision moved since is a conflict. A hidden column rather
// than a hidden, protected sheet: it follows its row through sorting and
// copying, needs no join by code, and cannot be edited without first
// being unhidden; a protected sheet would also stop the team from sorting.
// CSV has no hidden columns and carries no stamp: its rows come back as
// unstamped, and differing cells are reported, not applied.

// stampHeader is the hidden column's header.
var stampHeader = i18n.T("demandd 修订（请勿修改）", "demandd revision (do not edit)")

// stampVersion starts every stamp, so that a later layout can be told
// apart.
const stampVersion = "d1"

// Stamp is what the hidden column holds for one row: the record's revision
// and its editable values as exported — enumerations as values, the
// deadline in Unix seconds, texts as TextPrint fingerprints (a plan or
// feedback can be long; a 64-bit FNV-1a print is exact for anything but a
// deliberate collision, which could only make an edit count as none).
type Stamp struct {
	// Code is the demand's: a row whose 需求编号 was typed over is not
	// compared with another demand's values.
	Code         string
	Revision     int64
	Type         demand.Type
	Urgency      demand.Urgency
	Priority     demand.Priority
	Status       demand.Status
	Due          int64 // Unix seconds; 0 without a deadline
	Satisfaction int
	Department   uint64
	Plan         uint64
	Feedback     uint64
}

// StampOf is r's stamp as its row shows it: the texts as written into the
// cells (cut to Excel's cell limit).
func StampOf(r *demand.Record) Stamp {
	s := Stamp{Code: r.Code, Revision: r.Revision, Type: r.Type, Urgency: r.Urgency, Priority: r.Priority, Status: r.Status,
		Satisfaction: r.Satisfaction, Department: TextPrint(cellText(r.Department)),
		Plan: TextPrint(cellText(r.ResponsePlan)), Feedback: TextPrint(cellText(r.FeedbackResult))}
	if !r.DueAt.IsZero() {
		s.Due = r.DueAt.Unix()
	}
	return s
}

// String is the stamp as the hidden cell holds it:
// d1;CODE;REVISION;TYPE;URGENCY;PRIORITY;STATUS;DUE;SATISFACTION;DEPT;PLAN;FEEDBACK,
// prints in base 36 and empty for empty text.
func (s Stamp) String() string {
	b := make([]byte, 0, 96)
	b = append(b, stampVersion...)
	b = append(b, ';')
	b = append(b, s.Code...)
	b = append(b, ';')
	b = strconv.AppendInt(b, s.Revision, 10)
	for _, v := range []string{string(s.Type), string(s.Urgency), string(s.Priority), string(s.Status)} {
		b = append(b, ';')
		b = append(b, v...)
	}
	b = append(b, ';')
	if s.Due != 0 {
		b = strconv.AppendInt(b, s.Due, 10)
	}
	b = append(b, ';')
	b = strconv.AppendInt(b, int64(s.Satisfaction), 10)
	for _, p := range []uint64{s.Department, s.Plan, s.Feedback} {
		b = append(b, ';')
		if p != 0 {
			b = strconv.AppendUint(b, p, 36)
		}
	}
	return string(b)
}

// ParseStamp reads a hidden cell; ok is false for anything String did not
// write (an empty cell, a cell a person typed over).
func ParseStamp(v string) (s Stamp, ok bool) {
	f := strings.Split(strings.TrimSpace(v), ";")
	if len(f) != 12 || f[0] != stampVersion || f[1] == "" {
		return s, false
	}
	s.Code, f = f[1], f[1:] // the fields after the code as numbered below
	var err error
	if s.Revision, err = strconv.ParseInt(f[1], 10, 64); err != nil || s.Revision < 1 {
		return s, false
	}
	s.Type, s.Urgency, s.Priority, s.Status = demand.Type(f[2]), demand.Urgency(f[3]), demand.Priority(f[4]), demand.Status(f[5])
	if f[6] != "" {
		if s.Due, err = strconv.ParseInt(f[6], 10, 64); err != nil {
			return s, false
		}
	}
	if s.Satisfaction, err = strconv.Atoi(f[7]); err != nil {
		return s, false
	}
	for i, p := range []*uint64{&s.Department, &s.Plan, &s.Feedback} {
		if f[8+i] == "" {
			continue
		}
		if *p, err = strconv.ParseUint(f[8+i], 36, 64); err != nil {
			return s, false
		}
	}
	return s, true
}

// NormalText is text as a returned cell is compared: line ends as \n,
// characters XML cannot hold (which a workbook drops) removed, spaces
// around trimmed.
func NormalText(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\n' && c != '\t' {
			clean = false
			break
		}
	}
	if !clean || !utf8.ValidString(s) {
		s = strings.ReplaceAll(s, "\r\n", "\n")
		s = strings.Map(func(r rune) rune {
			switch {
			case r == '\r':
				return '\n'
			case r == utf8.RuneError, r < 0x20 && r != '\n' && r != '\t', r == 0xFFFE, r == 0xFFFF:
				return -1
			}
			return r
		}, s)
	}
	return strings.TrimSpace(s)
}

// TextPrint is the fingerprint of a text as NormalText has it; 0 for an
// empty one.
func TextPrint(s string) uint64 {
	s = NormalText(s)
	if s == "" {
		return 0
	}
	// FNV-1a, as hash/fnv computes it, without its allocations: the
	// export prints three texts a row.
	const offset, prime = 14695981039346656037, 1099511628211
	p := uint64(offset)
	for i := 0; i < len(s); i++ {
		p ^= uint64(s[i])
		p *= prime
	}
	if p != 0 {
		return p
	}
	return 1
}

// Field is an editable column's meaning.
type Field int

// The fields a returned tracking table may change. 时间节点 and 截止时间 are
// both FieldDue.
const (
	FieldType Field = iota + 1
	FieldUrgency
	FieldPriority
	FieldDepartment
	FieldPlan
	FieldDue
	FieldStatus
	FieldFeedback
	FieldSatisfaction
)

// Layout is where a returned table has its columns, found by their headers
// in either language, in any order (a person may move a column).
type Layout struct {
	col   [numColumns]int // index in a row, -1 when absent
	stamp int             // the hidden column, -1 when absent
	// Header is the header row as the file has it, for messages.
	Header []string
	// Locale is the language of most of the headers found.
	Locale i18n.Locale
}

// ReadLayout recognises the tracking table's header row: every seed column
// (需求编号 … 反馈结果) present, by its Chinese or English name. It says
// where each known column is.
func ReadLayout(header []string) (Layout, bool) {
	l := Layout{stamp: -1, Header: header}
	for i := range l.col {
		l.col[i] = -1
	}
	zh, en := 0, 0
	for i, h := range header {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if h == stampHeader.ZH || strings.EqualFold(h, stampHeader.EN) {
			l.stamp = i
			continue
		}
		for c, col := range columns {
			if l.col[c] >= 0 {
				continue
			}
			switch {
			case h == col.name.ZH:
				zh++
			case strings.EqualFold(h, col.name.EN):
				en++
			default:
				continue
			}
			l.col[c] = i
			break
		}
	}
	for c := colCode; c <= colFeedback; c++ {
		if l.col[c] < 0 {
			return l, false
		}
	}
	l.Locale = i18n.ZH
	if en > zh {
		l.Locale = i18n.EN
	}
	return l, true
}

// IsTrackingHeader reports whether cells are a tracking table's header row.
func IsTrackingHeader(cells []string) bool {
	_, ok := ReadLayout(cells)
	return ok
}

// Stamped reports whether the table has its hidden revision column.
func (l Layout) Stamped() bool { return l.stamp >= 0 }

// ColumnName is the header of f's column as the file has it (时间节点
// stands for FieldDue when the file has no 截止时间 column).
func (l Layout) ColumnName(f Field) string {
	c := fieldColumn[f]
	if f == FieldDue && l.col[colDue] < 0 {
		c = colMilestone
	}
	if i := l.col[c]; i >= 0 && i < len(l.Header) {
		return strings.TrimSpace(l.Header[i])
	}
	return columns[c].name.In(l.Locale)
}

// CodeColumn is the header of the 需求编号 column as the file has it.
func (l Layout) CodeColumn() string {
	return strings.TrimSpace(l.Header[l.col[colCode]])
}

// fieldColumn is each field's column.
var fieldColumn = map[Field]int{FieldType: colType, FieldUrgency: colUrgency, FieldPriority: colPriority,
	FieldDepartment: colDepartment, FieldPlan: colPlan, FieldDue: colDue, FieldStatus: colStatus,
	FieldFeedback: colFeedback, FieldSatisfaction: colSatisfaction}

// Edits are the values a returned row changes: nil for a cell that is not
// an edit. Texts are NormalText; Due, when set, is the new deadline (to
// the minute), and ClearDue asks for none.
type Edits struct {
	Type         *demand.Type
	Urgency      *demand.Urgency
	Priority     *demand.Priority
	Department   *string
	Plan         *string
	Feedback     *string
	Status       *demand.Status
	Satisfaction *int // 0: the rating cleared
	Due          *time.Time
	ClearDue     bool
}

// Empty reports whether there is nothing to apply.
func (e Edits) Empty() bool {
	return e.Type == nil && e.Urgency == nil && e.Priority == nil && e.Department == nil && e.Plan == nil &&
		e.Feedback == nil && e.Status == nil && e.Satisfaction == nil && e.Due == nil && !e.ClearDue
}

// Problem is a cell that cannot be applied: its value is not one the
// column takes.
type Problem struct {
	Field  Field
	Value  string // as the cell has it
	Reason i18n.Text
}

// ReturnedRow is one data row of a returned table as read.
type ReturnedRow struct {
	Code string
	// Stamp is the hidden column's; Stamped is false when the row has
	// none that String wrote (a CSV, a row added by hand, a cell typed
	// over): its cells are then compared with the register alone, and an
	// empty cell is no edit.
	Stamp    Stamp
	Stamped  bool
	Edits    Edits
	Problems []Problem
	// Blank marks a row with nothing in the known columns.
	Blank bool
}

// ReadOptions say how a returned table's cells are read.
type ReadOptions struct {
	// Location is the zone whose wall clock the dates show (the export's).
	Location *time.Location
	// Date1904 is the workbook's date system (Excel for Mac's old one).
	Date1904 bool
}

// ReadRow reads one data row: cells are raw values (dates as Excel serial
// numbers, or as text a person typed). Each editable cell is compared with
// the row's stamp: one equal to what was exported is no edit.
func (l Layout) ReadRow(cells []string, o ReadOptions) ReturnedRow {
	if o.Location == nil {
		o.Location = time.UTC
	}
	cell := func(c int) (string, bool) {
		i := l.col[c]
		if i < 0 {
			return "", false
		}
		if i >= len(cells) {
			return "", true
		}
		return strings.TrimSpace(cells[i]), true
	}
	var r ReturnedRow
	r.Code, _ = cell(colCode)
	if l.stamp >= 0 && l.stamp < len(cells) {
		r.Stamp, r.Stamped = ParseStamp(cells[l.stamp])
		// A code typed over: the stamp is another demand's.
		r.Stamped = r.Stamped && r.Stamp.Code == r.Code
	}
	if r.Code == "" {
		r.Blank = true
		for c := range columns {
			if v, _ := cell(c); v != "" {
				r.Blank = false
				break
			}
		}
		return r
	}
	st := r.Stamp
	bad := func(f Field, v string, why i18n.Text) { r.Problems = append(r.Problems, Problem{f, v, why}) }
	// edited says whether a cell is an edit: with a stamp, when it differs
	// from what was exported; without one, when it is not empty.
	edited := func(v string, same bool) bool {
		if r.Stamped {
			return !same
		}
		return v != ""
	}
	enum := func(c int, f Field, exported string, parse func(string) (string, bool), set func(string), allowed i18n.Text) {
		v, ok := cell(c)
		if !ok {
			return
		}
		if v == "" {
			if r.Stamped && exported != "" {
				bad(f, v, badValue(v, allowed))
			}
			return
		}
		p, ok := parse(v)
		if !ok {
			bad(f, v, badValue(v, allowed))
			return
		}
		if edited(v, p == exported) {
			set(p)
		}
	}
	enum(colType, FieldType, string(st.Type), parseWith(demand.ParseType), func(v string) { t := demand.Type(v); r.Edits.Type = &t }, allowedTypes)
	enum(colUrgency, FieldUrgency, string(st.Urgency), parseWith(demand.ParseUrgency), func(v string) { u := demand.Urgency(v); r.Edits.Urgency = &u }, allowedUrgencies)
	enum(colPriority, FieldPriority, string(st.Priority), parsePriority, func(v string) { p := demand.Priority(v); r.Edits.Priority = &p }, allowedPriorities)
	enum(colStatus, FieldStatus, string(st.Status), parseWith(demand.ParseStatus), func(v string) { s := demand.Status(v); r.Edits.Status = &s }, allowedStatuses)
	for _, t := range []struct {
		c     int
		print uint64
		dst   **string
	}{{colDepartment, st.Department, &r.Edits.Department}, {colPlan, st.Plan, &r.Edits.Plan}, {colFeedback, st.Feedback, &r.Edits.Feedback}} {
		v, ok := cell(t.c)
		if !ok {
			continue
		}
		v = NormalText(v)
		if edited(v, TextPrint(v) == t.print) {
			*t.dst = &v
		}
	}
	if v, ok := cell(colSatisfaction); ok {
		n, good := 0, true
		if v != "" {
			f, err := strconv.ParseFloat(v, 64)
			n, good = int(f), err == nil && f == math.Trunc(f) && f >= 1 && f <= 5
		}
		switch {
		case !good:
			bad(FieldSatisfaction, v, i18n.T("应为 1 到 5 的整数，或留空（未评价）", "want a whole number from 1 to 5, or empty (not rated)"))
		case edited(v, n == st.Satisfaction):
			r.Edits.Satisfaction = &n
		}
	}
	l.readDue(&r, cell, o)
	return r
}

// readDue reads the deadline from 截止时间 and 时间节点. 截止时间 is
// compared to the minute, 时间节点 to the day. An edited 截止时间 wins; an
// edited 时间节点 moves the deadline to that day, keeping the exported
// time of day (or at the day's end, 23:59, when there was none). The
// deadline is removed only when every date column present is emptied.
func (l Layout) readDue(r *ReturnedRow, cell func(int) (string, bool), o ReadOptions) {
	type read struct {
		present, empty, bad bool
		t                   time.Time
	}
	get := func(c int) read {
		v, ok := cell(c)
		if !ok {
			return read{}
		}
		if v == "" {
			return read{present: true, empty: true}
		}
		t, ok := cellTime(v, o)
		if !ok {
			r.Problems = append(r.Problems, Problem{FieldDue, v, i18n.T(
				"不是日期；请写成 2026-12-31 或 2026-12-31 18:00，或用 Excel 的日期格式",
				"not a date; write it as 2026-12-31 or 2026-12-31 18:00, or use an Excel date")})
			return read{present: true, bad: true}
		}
		return read{present: true, t: t}
	}
	due, day := get(colDue), get(colMilestone)
	if due.bad || day.bad {
		return
	}
	var exported time.Time
	if r.Stamp.Due != 0 {
		exported = time.Unix(r.Stamp.Due, 0).In(o.Location)
	}
	minute := func(t time.Time) time.Time { return t.Truncate(time.Minute) }
	sameDay := func(a, b time.Time) bool {
		a, b = a.In(o.Location), b.In(o.Location)
		return a.Year() == b.Year() && a.YearDay() == b.YearDay()
	}
	if !r.Stamped {
		switch {
		case due.present && !due.empty:
			t := minute(due.t)
			r.Edits.Due = &t
		case day.present && !day.empty:
			t := endOfDay(day.t, o.Location)
			r.Edits.Due = &t
		}
		return
	}
	dueEdited := due.present && (due.empty != exported.IsZero() || (!due.empty && !minute(due.t).Equal(minute(exported))))
	dayEdited := day.present && (day.empty != exported.IsZero() || (!day.empty && !sameDay(day.t, exported)))
	switch {
	case dueEdited && !due.empty:
		t := minute(due.t)
		r.Edits.Due = &t
	case dayEdited && !day.empty:
		t := endOfDay(day.t, o.Location)
		if !exported.IsZero() {
			d := day.t.In(o.Location)
			t = time.Date(d.Year(), d.Month(), d.Day(), exported.Hour(), exported.Minute(), 0, 0, o.Location)
		}
		r.Edits.Due = &t
	case (dueEdited || dayEdited) && (!due.present || due.empty) && (!day.present || day.empty):
		r.Edits.ClearDue = true
	}
}

func endOfDay(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 23, 59, 0, 0, loc)
}

// dateLayouts are the ways a person types a date into a text cell.
var dateLayouts = []string{"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02", "2006/1/2 15:04:05", "2006/1/2 15:04",
	"2006/1/2", "2006.1.2", "2006年1月2日 15:04", "2006年1月2日", "2006-1-2 15:04", "2006-1-2"}

// cellTime reads a date cell: an Excel serial number (the wall clock in
// o.Location), or a date typed as text.
func cellTime(v string, o ReadOptions) (time.Time, bool) {
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		if f < 1 || f > 2958465 { // 1900-01-01 to 9999-12-31
			return time.Time{}, false
		}
		w, err := excelize.ExcelDateToTime(f, o.Date1904)
		if err != nil {
			return time.Time{}, false
		}
		w = w.Round(time.Second)
		return time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, o.Location), true
	}
	for _, layout := range dateLayouts {
		if t, err := time.ParseInLocation(layout, v, o.Location); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func parseWith[T ~string](parse func(string) (T, error)) func(string) (string, bool) {
	return func(v string) (string, bool) {
		p, err := parse(v)
		return string(p), err == nil
	}
}

// parsePriority reads a quadrant as the table writes it ("P1 紧急且重要",
// "P1 urgent and important"), or as P1 or its name alone.
func parsePriority(v string) (string, bool) {
	if p, err := demand.ParsePriority(v); err == nil {
		return string(p), true
	}
	head, rest, _ := strings.Cut(v, " ")
	if p, err := demand.ParsePriority(head); err == nil {
		return string(p), true
	}
	for _, p := range []demand.Priority{demand.P1, demand.P2, demand.P3, demand.P4} {
		if strings.EqualFold(strings.TrimSpace(rest), strings.TrimPrefix(p.English(), string(p)+" ")) {
			return string(p), true
		}
	}
	return "", false
}

// Allowed values, as a person writes them.
var (
	allowedTypes      = allowed(demand.TypeInquiry, demand.TypeComplaint, demand.TypeSuggestion, demand.TypeFeature, demand.TypeService, demand.TypeFunctional, demand.TypeExperience, demand.TypeStrategic)
	allowedUrgencies  = allowed(demand.UrgencyHigh, demand.UrgencyMedium, demand.UrgencyLow)
	allowedStatuses   = allowed(demand.StatusNew, demand.StatusInProgress, demand.StatusDelivered, demand.StatusAccepted, demand.StatusClosed, demand.StatusRejected)
	allowedPriorities = i18n.T("P1 紧急且重要、P2 重要不紧急、P3 紧急不重要、P4 不紧急不重要", "P1, P2, P3, P4")
)

// badValue says that v is no value of a column and which are.
func badValue(v string, allowed i18n.Text) i18n.Text {
	if v == "" {
		return i18n.Text{ZH: "不能为空；可用：" + allowed.ZH, EN: "must not be empty; allowed: " + allowed.EN}
	}
	return i18n.Text{ZH: fmt.Sprintf("%q 无法识别；可用：%s", v, allowed.ZH), EN: fmt.Sprintf("%q is not a known value; allowed: %s", v, allowed.EN)}
}

func allowed[T labeled](vs ...T) i18n.Text {
	zh, en := make([]string, len(vs)), make([]string, len(vs))
	for i, v := range vs {
		zh[i], en[i] = v.Label(), v.English()
	}
	return i18n.T(strings.Join(zh, "、"), strings.Join(en, ", "))
}

// Label is v of f as a person reads it in l: an enumeration's label, a
// deadline in loc, a rating, a text.
func Label(f Field, v string, loc *time.Location, l i18n.Locale) string {
	en := l == i18n.EN
	switch f {
	case FieldType:
		return label(demand.Type(v), en)
	case FieldUrgency:
		return label(demand.Urgency(v), en)
	case FieldPriority:
		return priorityLabel(demand.Priority(v), en)
	case FieldStatus:
		return label(demand.Status(v), en)
	case FieldDue:
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			if loc == nil {
				loc = time.UTC
			}
			return t.In(loc).Format("2006-01-02 15:04")
		}
	case FieldSatisfaction:
		if v == "0" {
			return ""
		}
	}
	return v
}
