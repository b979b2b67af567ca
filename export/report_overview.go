package export

import (
	"fmt"

	"github.com/xuri/excelize/v2"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/internal/i18n"
)

// overview is the 概览 sheet being filled: tables down columns A–E, the
// charts to their right, each chart over a table of this sheet.
type overview struct {
	rw    *reportWriter
	sheet string
	row   int // the next row to write
	err   error
	// styles beyond the tracking table's
	section, text, wrap, number, average, percent, rate, signed, day, alert int
}

// Overview columns: the labels and descriptions in A, figures in B–E.
var overviewWidths = []float64{40, 16, 12, 12, 12}

// chartCol is where the charts stand, right of the tables.
const chartCol = "G"

// tallyNames title each attribute's table.
var tallyNames = map[string]i18n.Text{
	"type":       i18n.T("需求类型", "Type"),
	"urgency":    i18n.T("紧急程度", "Urgency"),
	"priority":   i18n.T("优先级", "Priority"),
	"channel":    i18n.T("来源渠道", "Channel"),
	"department": i18n.T("责任部门", "Department"),
	"status":     i18n.T("状态", "Status"),
}

// valueLabel is an attribute's value as a person reads it.
func valueLabel(attr, v string, l i18n.Locale) string {
	en := l == i18n.EN
	switch {
	case v == "":
		return i18n.T("（未填）", "(none)").In(l)
	case attr == "type":
		return label(demand.Type(v), en)
	case attr == "urgency":
		return label(demand.Urgency(v), en)
	case attr == "priority":
		return priorityLabel(demand.Priority(v), en)
	case attr == "channel":
		return label(demand.Channel(v), en)
	case attr == "status":
		return label(demand.Status(v), en)
	}
	return v
}

func (rw *reportWriter) overview(sum *demand.DaySummary, warned map[demand.Warning]int, groups int) error {
	o := &overview{rw: rw, sheet: rw.names[sheetOverview], row: 1}
	b := rw.book
	add := func(st *excelize.Style) int {
		if o.err != nil {
			return 0
		}
		var id int
		id, o.err = b.NewStyle(st)
		return id
	}
	border := []excelize.Border{{Type: "left", Color: "BFBFBF", Style: 1}, {Type: "top", Color: "BFBFBF", Style: 1},
		{Type: "right", Color: "BFBFBF", Style: 1}, {Type: "bottom", Color: "BFBFBF", Style: 1}}
	avg, pct, signed, day := "0.0", "+0.0%;-0.0%;0.0%", "+0;-0;0", dayFormat
	o.section = add(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 12}})
	o.text = add(&excelize.Style{Border: border, Alignment: &excelize.Alignment{Vertical: "top"}})
	o.wrap = add(&excelize.Style{Border: border, Alignment: &excelize.Alignment{Vertical: "top", WrapText: true}})
	o.number = add(&excelize.Style{Border: border})
	o.average = add(&excelize.Style{Border: border, CustomNumFmt: &avg})
	o.percent = add(&excelize.Style{Border: border, CustomNumFmt: &pct})
	o.rate = add(&excelize.Style{Border: border, NumFmt: 10}) // 0.00%
	o.signed = add(&excelize.Style{Border: border, CustomNumFmt: &signed})
	o.day = add(&excelize.Style{Border: border, CustomNumFmt: &day})
	o.alert = add(&excelize.Style{Font: &excelize.Font{Bold: true, Color: "C00000"}})
	if o.err != nil {
		return fmt.Errorf("export: overview styles: %w", o.err)
	}
	for i, w := range overviewWidths {
		col := string(rune('A' + i))
		if err := b.SetColWidth(o.sheet, col, col, w); err != nil {
			return fmt.Errorf("export: overview: %w", err)
		}
	}
	o.fill(sum, warned, groups)
	if o.err != nil {
		return fmt.Errorf("export: overview: %w", o.err)
	}
	return nil
}

// put writes one row from column A; a nil value leaves its cell empty.
func (o *overview) put(style int, vals ...any) {
	o.putStyled(func(int) int { return style }, vals...)
}

func (o *overview) putStyled(style func(col int) int, vals ...any) {
	if o.err != nil {
		return
	}
	for i, v := range vals {
		cell := cellName(i+1, o.row)
		if t, ok := v.(string); ok {
			v = cellText(t) // SetCellValue writes a string as text, never a formula
		}
		if v != nil {
			if o.err = o.rw.book.SetCellValue(o.sheet, cell, v); o.err != nil {
				return
			}
		}
		if o.err = o.rw.book.SetCellStyle(o.sheet, cell, cell, style(i)); o.err != nil {
			return
		}
	}
	o.row++
}

// heading starts a table: a blank row, its title and its header.
func (o *overview) heading(title i18n.Text, header ...i18n.Text) {
	l := o.rw.opts.Locale
	o.row++
	o.put(o.section, title.In(l))
	vals := make([]any, len(header))
	for i, h := range header {
		vals[i] = h.In(l)
	}
	o.put(o.rw.st.header, vals...)
}

// ref is an absolute reference to rows from–to of column col on 概览.
func (o *overview) ref(col string, from, to int) string {
	return fmt.Sprintf("%s!$%s$%d:$%s$%d", quoteSheet(o.sheet), col, from, col, to)
}

// chart adds a chart at row at of chartCol over the rows from–to of
// columns A (categories) and B (values); the series is named by the
// header cell above B (excelize writes a series name as a reference).
func (o *overview) chart(at int, typ excelize.ChartType, title i18n.Text, from, to int) {
	if o.err != nil {
		return
	}
	l := o.rw.opts.Locale
	c := &excelize.Chart{
		Type: typ,
		Series: []excelize.ChartSeries{{Name: fmt.Sprintf("%s!$B$%d", quoteSheet(o.sheet), from-1),
			Categories: o.ref("A", from, to), Values: o.ref("B", from, to)}},
		Title:     excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: title.In(l)}}},
		Dimension: excelize.ChartDimension{Width: 560, Height: 300},
		Legend:    excelize.ChartLegend{Position: "bottom"},
	}
	if typ != excelize.Pie {
		c.Legend.Position = "none"
	} else {
		c.PlotArea = excelize.ChartPlotArea{ShowPercent: true}
	}
	o.err = o.rw.book.AddChart(o.sheet, fmt.Sprintf("%s%d", chartCol, at), c)
}

func (o *overview) fill(sum *demand.DaySummary, warned map[demand.Warning]int, groups int) {
	rw := o.rw
	l := rw.opts.Locale
	o.put(rw.st.title, i18n.Tf("需求日报 %s", "Daily demand report %s", rw.day).In(l))
	o.put(rw.st.meta, i18n.Tf("统计日 %s（%s）；生成时间 %s；未关闭、超期和预警按生成时间统计",
		"Day %s (%s); made %s; open, overdue and at-risk figures are as of that time", rw.day, rw.opts.Location, rw.made).In(l))
	if m := rw.opts.PreviousMail; m != nil {
		prev := m.Day.In(rw.opts.Location).Format("2006-01-02")
		switch {
		case m.Failed && m.Error != "":
			o.put(o.alert, i18n.Tf("上一期日报（%s）邮件发送失败：%s", "Mailing the previous report (%s) failed: %s", prev, m.Error).In(l))
		case m.Failed:
			o.put(o.alert, i18n.Tf("上一期日报（%s）邮件发送失败", "Mailing the previous report (%s) failed", prev).In(l))
		default:
			o.put(rw.st.meta, i18n.Tf("上一期日报（%s）邮件已发送", "The previous report (%s) was mailed", prev).In(l))
		}
	}

	// Key figures.
	weekAvg := float64(sum.Week) / 7
	o.heading(i18n.T("关键指标", "Key figures"), i18n.T("指标", "Figure"), i18n.T("数值", "Value"))
	figure := func(name i18n.Text, style int, v any) {
		o.putStyled(func(c int) int { return [2]int{o.text, style}[c] }, name.In(l), v)
	}
	figure(i18n.T("今日新增", "New today"), o.number, sum.New)
	figure(i18n.T("其中重复（已关联到先前需求）", "of which duplicates (linked to an earlier demand)"), o.number, sum.Duplicates)
	figure(i18n.T("前一日新增", "New the day before"), o.number, sum.PrevDay)
	figure(i18n.T("近7日日均新增", "Daily average of the 7 days before"), o.average, weekAvg)
	figure(i18n.T("较前一日", "Change on the day before"), o.signed, sum.New-sum.PrevDay)
	var vsWeek any
	if weekAvg > 0 {
		vsWeek = (float64(sum.New) - weekAvg) / weekAvg
	}
	figure(i18n.T("较近7日日均", "Change on the 7-day average"), o.percent, vsWeek)
	figure(i18n.T("未关闭", "Open"), o.number, sum.Open)
	figure(i18n.T("已超期", "Overdue"), o.number, warned[demand.WarnOverdue])
	figure(i18n.T("24小时内到期", "Due within 24 h"), o.number, warned[demand.WarnDue24h])
	figure(i18n.T("2个工作日内到期", "Due within 2 working days"), o.number, warned[demand.WarnDue2Days])
	figure(i18n.T("紧急需求2小时无进展", "Urgent, no progress for 2 h"), o.number, warned[demand.WarnStalled])
	figure(i18n.T("今日出现重复的需求组", "Duplicate groups that grew today"), o.number, groups)
	figure(i18n.T("今日异常（隔离、忽略、失败文件）", "Exceptions today (quarantined, ignored, failed files)"), o.number, sum.Exceptions)

	// SLA compliance.
	o.heading(i18n.T("SLA 达成率（按时关闭 / 已关闭）", "SLA compliance (closed in time / closed)"),
		i18n.T("范围", "Period"), i18n.T("已关闭", "Closed"), i18n.T("按时关闭", "In time"), i18n.T("达成率", "Rate"))
	rate := func(s demand.SLACompliance) any {
		if s.Closed == 0 {
			return nil
		}
		return float64(s.InTime) / float64(s.Closed)
	}
	slaStyle := func(c int) int { return [4]int{o.text, o.number, o.number, o.rate}[c] }
	o.putStyled(slaStyle, i18n.T("当日关闭", "Closed on the day").In(l), sum.SLADay.Closed, sum.SLADay.InTime, rate(sum.SLADay))
	o.putStyled(slaStyle, i18n.T("近30日关闭", "Closed in the last 30 days").In(l), sum.SLA30.Closed, sum.SLA30.InTime, rate(sum.SLA30))
	o.putStyled(slaStyle, i18n.T("未关闭且已超期", "Open and overdue").In(l), sum.OpenOverdue)

	// The day's intake by attribute.
	ranges := map[string][2]int{}
	for _, t := range sum.Tallies {
		name := tallyNames[t.Attribute]
		o.heading(i18n.T("按"+name.ZH, "By "+name.EN), name, i18n.T("今日", "Today"), i18n.T("前一日", "Day before"),
			i18n.T("近7日日均", "7-day average"), i18n.T("较前一日", "Change"))
		from := o.row
		st := func(c int) int { return [5]int{o.text, o.number, o.number, o.average, o.signed}[c] }
		for _, r := range t.Rows {
			o.putStyled(st, valueLabel(t.Attribute, r.Value, l), r.Day, r.PrevDay, float64(r.Week)/7, r.Day-r.PrevDay)
		}
		if len(t.Rows) == 0 {
			o.put(o.text, i18n.T("（无）", "(none)").In(l))
			continue
		}
		ranges[t.Attribute] = [2]int{from, o.row - 1}
	}

	// The most repeated demands.
	o.heading(i18n.T("重复最多的需求（近30日）", "Most repeated demands (last 30 days)"),
		i18n.T("需求描述", "Description"), i18n.T("需求编号", "Demand ID"), i18n.T("重复次数", "Occurrences"),
		i18n.T("状态", "Status"), i18n.T("责任部门", "Department"))
	for _, r := range sum.TopRepeated {
		o.putStyled(func(c int) int { return [5]int{o.wrap, o.text, o.number, o.text, o.text}[c] },
			r.Description.Summary(), r.Code, r.Occurrences, label(r.Status, l == i18n.EN), r.Department)
	}
	if len(sum.TopRepeated) == 0 {
		o.put(o.text, i18n.T("（无）", "(none)").In(l))
	}

	// Series for the charts.
	o.heading(i18n.T("近30日每日新增", "Daily intake, last 30 days"), i18n.T("日期", "Date"), i18n.T("新增", "New"))
	intakeFrom := o.row
	for _, d := range sum.Intake {
		o.putStyled(func(c int) int { return [2]int{o.day, o.number}[c] }, excelTime(d.Day, rw.opts.Location), d.N)
	}
	intakeTo := o.row - 1
	o.heading(i18n.T("未关闭需求按部门", "Open demands by department"), i18n.T("责任部门", "Department"), i18n.T("未关闭", "Open"))
	deptFrom := o.row
	for _, c := range sum.OpenByDepartment {
		o.putStyled(func(c int) int { return [2]int{o.text, o.number}[c] }, valueLabel("department", c.Value, l), c.N)
	}
	deptTo := o.row - 1

	// Charts, each over a table above.
	if r, ok := ranges["type"]; ok {
		o.chart(2, excelize.Pie, i18n.T("今日新增按类型", "New today by type"), r[0], r[1])
	}
	if r, ok := ranges["channel"]; ok {
		o.chart(19, excelize.Col, i18n.T("今日新增按渠道", "New today by channel"), r[0], r[1])
	}
	if len(sum.Intake) > 0 {
		o.chart(36, excelize.Line, i18n.T("近30日每日新增", "Daily intake, last 30 days"), intakeFrom, intakeTo)
	}
	if deptTo >= deptFrom {
		o.chart(53, excelize.Bar, i18n.T("未关闭需求按部门", "Open demands by department"), deptFrom, deptTo)
	}
}
