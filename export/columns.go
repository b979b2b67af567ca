package export

import (
	"context"
	"strings"
	"time"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/internal/i18n"
)

// Column indexes of the tracking table. The seed columns (需求编号 … 反馈结果)
// come first in the order DESIGN.md fixes, then the working columns.
// 响应时限 (the SLA text that set the due time) is the last column rather
// than beside 时间节点: between 时间节点 and 状态 it would break the seed
// order, and at the end it moves no documented column's letter.
const (
	colCode = iota
	colCustomer
	colDescription
	colType
	colPriority
	colDepartment
	colPlan
	colMilestone // 时间节点: the due date, as a date
	colStatus
	colFeedback
	colUrgency
	colChannel
	colReceived
	colDue // 截止时间: the due date and time
	colOverdue
	colOccurrences
	colDuplicateOf // 重复于: a duplicate's canonical demand
	colSLA
	// 满意度 (1–5) comes after 响应时限 for the same reason: it moves no
	// documented column's letter.
	colSatisfaction
	numColumns
)

// Cell kinds, to pick a column's style and how a value is written.
const (
	kindText = iota
	kindWrap // long text: wrapped
	kindDay  // a date shown as a day
	kindTime // a date shown with its time
	kindNumber
	kindScore // a number that is an empty cell when 0 (not rated)
	numKinds
)

// column is one column of the tracking table.
type column struct {
	name  i18n.Text
	width float64 // in Excel's character widths
	kind  int
}

var columns = [numColumns]column{
	colCode:         {i18n.T("需求编号", "Demand ID"), 16, kindText},
	colCustomer:     {i18n.T("客户信息", "Customer"), 30, kindText},
	colDescription:  {i18n.T("需求描述", "Description"), 60, kindWrap},
	colType:         {i18n.T("需求类型", "Type"), 10, kindText},
	colPriority:     {i18n.T("优先级", "Priority"), 16, kindText},
	colDepartment:   {i18n.T("责任部门", "Department"), 12, kindText},
	colPlan:         {i18n.T("响应方案", "Response plan"), 30, kindWrap},
	colMilestone:    {i18n.T("时间节点", "Target date"), 12, kindDay},
	colStatus:       {i18n.T("状态", "Status"), 10, kindText},
	colFeedback:     {i18n.T("反馈结果", "Feedback"), 24, kindWrap},
	colUrgency:      {i18n.T("紧急程度", "Urgency"), 10, kindText},
	colChannel:      {i18n.T("来源渠道", "Channel"), 22, kindText},
	colReceived:     {i18n.T("接收时间", "Received"), 18, kindTime},
	colDue:          {i18n.T("截止时间", "Due"), 18, kindTime},
	colOverdue:      {i18n.T("是否超期", "Overdue"), 10, kindText},
	colOccurrences:  {i18n.T("重复次数", "Occurrences"), 11, kindNumber},
	colDuplicateOf:  {i18n.T("重复于", "Duplicate of"), 16, kindText},
	colSLA:          {i18n.T("响应时限", "SLA"), 12, kindText},
	colSatisfaction: {i18n.T("满意度", "Satisfaction"), 9, kindScore},
}

// Columns are the tracking table's Chinese headers: the seed columns in
// their order, then the working columns.
var Columns = ColumnNames(i18n.ZH)

// ColumnNames are the tracking table's headers in l.
func ColumnNames(l i18n.Locale) []string {
	names := make([]string, numColumns)
	for i, c := range columns {
		names[i] = c.name.In(l)
	}
	return names
}

// tableRow is one record as the table shows it, before it becomes xlsx
// cells or CSV fields: WriteTable and WriteCSV fill it the same way, so
// the two formats cannot disagree on a column.
type tableRow struct {
	text    [numColumns]string    // the text columns; "" is an empty cell
	time    [numColumns]time.Time // the date columns; zero is an empty cell
	count   int                   // 重复次数
	score   int                   // 满意度, 0 when not rated
	overdue bool                  // open and past its due time
	stamp   string                // the hidden revision column (see Stamp)
}

// rowFiller fills tableRows for one export.
type rowFiller struct {
	now     time.Time
	locale  i18n.Locale
	yes, no string
}

func newRowFiller(opts TableOptions) rowFiller {
	return rowFiller{now: opts.Now, locale: opts.Locale,
		yes: i18n.T("是", "yes").In(opts.Locale), no: i18n.T("否", "no").In(opts.Locale)}
}

func (rf *rowFiller) fill(row *tableRow, r *demand.Record) {
	en := rf.locale == i18n.EN
	row.overdue = !r.DueAt.IsZero() && r.DueAt.Before(rf.now) && r.Status.Open()
	t := &row.text
	t[colCode] = r.Code
	t[colCustomer] = r.Customer.Summary()
	t[colDescription] = r.Description.Summary()
	t[colType] = label(r.Type, en)
	t[colPriority] = priorityLabel(r.Priority, en)
	t[colDepartment] = r.Department
	t[colPlan] = r.ResponsePlan
	t[colStatus] = label(r.Status, en)
	t[colFeedback] = r.FeedbackResult
	t[colUrgency] = label(r.Urgency, en)
	t[colChannel] = sourceLabel(r.Source, en)
	t[colOverdue] = rf.no
	if row.overdue {
		t[colOverdue] = rf.yes
	}
	t[colSLA] = r.SLA
	t[colDuplicateOf] = r.DuplicateOfCode
	row.time[colMilestone] = r.DueAt
	row.time[colReceived] = r.Source.ReceivedAt
	row.time[colDue] = r.DueAt
	row.count = r.Occurrences
	row.score = r.Satisfaction
	row.stamp = StampOf(r).String()
}

// labeled is an enumeration of package demand.
type labeled interface {
	~string
	Label() string
	English() string
}

// label is v's Chinese label, or its English one.
func label[T labeled](v T, english bool) string {
	if english {
		return v.English()
	}
	return v.Label()
}

func priorityLabel(p demand.Priority, en bool) string {
	switch {
	case p == "":
		return ""
	case en:
		return label(p, en)
	}
	return string(p) + " " + p.Label()
}

func sourceLabel(s demand.Source, en bool) string {
	ch := label(s.Channel, en)
	if s.Name == "" {
		return ch
	}
	return ch + " · " + s.Name
}

// labels are values as a person reads them in l.
func labels[T labeled](vs []T, l i18n.Locale) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = label(v, l == i18n.EN)
	}
	return out
}

// DescribeFilter says in l which records f selects, for the line above
// the table: "接收时间 2026-11-01 至 2026-11-30；状态 待处理、处理中", or 全部
// (all). Dates are days in loc; an Until at midnight is shown as the day
// before, the last day included, as --until takes it.
func DescribeFilter(f demand.Filter, loc *time.Location, l i18n.Locale) string {
	if loc == nil {
		loc = time.UTC
	}
	var parts []string
	since, until := "", ""
	if !f.Since.IsZero() {
		since = dayOrTime(f.Since.In(loc))
	}
	if !f.Until.IsZero() {
		u := f.Until.In(loc)
		if u.Equal(startOfDay(u)) {
			until = u.AddDate(0, 0, -1).Format(time.DateOnly)
		} else {
			until = i18n.Tf("%s 前", "before %s", u.Format("2006-01-02 15:04")).In(l)
		}
	}
	switch {
	case since != "" && until != "":
		parts = append(parts, i18n.Tf("接收时间 %s 至 %s", "received %s to %s", since, until).In(l))
	case since != "":
		parts = append(parts, i18n.Tf("接收时间 %s 起", "received from %s", since).In(l))
	case until != "":
		parts = append(parts, i18n.Tf("接收时间截至 %s", "received until %s", until).In(l))
	}
	sep := i18n.T("、", ", ").In(l)
	if len(f.Status) > 0 {
		parts = append(parts, i18n.Tf("状态 %s", "status %s", strings.Join(labels(f.Status, l), sep)).In(l))
	}
	if len(f.Types) > 0 {
		parts = append(parts, i18n.Tf("类型 %s", "type %s", strings.Join(labels(f.Types, l), sep)).In(l))
	}
	if len(f.Priority) > 0 {
		names := make([]string, len(f.Priority))
		for i, p := range f.Priority {
			names[i] = string(p)
		}
		parts = append(parts, i18n.Tf("优先级 %s", "priority %s", strings.Join(names, sep)).In(l))
	}
	if !f.OverdueAt.IsZero() {
		parts = append(parts, i18n.T("已超期未关闭", "open and overdue").In(l))
	}
	if f.Limit > 0 {
		parts = append(parts, i18n.Tf("前 %d 条", "first %d", f.Limit).In(l))
	}
	if len(parts) == 0 {
		return i18n.T("全部", "all").In(l)
	}
	return strings.Join(parts, i18n.T("；", "; ").In(l))
}

func startOfDay(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
}

func dayOrTime(t time.Time) string {
	if t.Equal(startOfDay(t)) {
		return t.Format(time.DateOnly)
	}
	return t.Format("2006-01-02 15:04")
}

// eachRow fills a table row for every record matching f, in order, and
// hands it to write with its 1-based number; it returns the number of rows.
// Both formats are written by it, so they show the same values.
func eachRow(ctx context.Context, src Records, f demand.Filter, opts TableOptions, write func(n int, tr *tableRow) error) (int, error) {
	n := 0
	f.Summary = true // reasons, extras, flags: not in the table
	rf := newRowFiller(opts)
	err := readAhead(ctx, src, f, func(r *demand.Record) *tableRow {
		tr := &tableRow{}
		rf.fill(tr, r)
		return tr
	}, func(tr *tableRow) error {
		n++
		return write(n, tr)
	})
	if err == nil {
		err = ctx.Err()
	}
	return n, err
}

// readAhead calls fn for every record matching f, in order, as conv makes
// it, while the records after it are read, decoded and converted on a
// goroutine of their own: the database read and the filling of rows
// overlap the workbook's writing on two cores.
func readAhead[T any](ctx context.Context, src Records, f demand.Filter, conv func(*demand.Record) T, fn func(T) error) error {
	const chunk = 256
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chunks := make(chan []T, 4)
	read := make(chan error, 1)
	go func() {
		defer close(chunks)
		buf := make([]T, 0, chunk)
		send := func() error {
			select {
			case chunks <- buf:
				buf = make([]T, 0, chunk)
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		err := src.EachDemand(ctx, f, func(r *demand.Record) error {
			if buf = append(buf, conv(r)); len(buf) == chunk {
				return send()
			}
			return nil
		})
		if len(buf) > 0 && ctx.Err() == nil { // the rows read before a failure too
			if e := send(); err == nil {
				err = e
			}
		}
		read <- err
	}()
	for items := range chunks {
		for _, it := range items {
			if err := fn(it); err != nil {
				cancel()
				for range chunks { // let the reader finish
				}
				<-read
				return err
			}
		}
	}
	return <-read
}
