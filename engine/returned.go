package engine

import (
	"context"
	"slices"
	"strings"

	"github.com/demandd/demandd/export"
	"github.com/demandd/demandd/ingest"
	"github.com/demandd/demandd/internal/i18n"
	"github.com/demandd/demandd/store"
)

// Returned tracking tables (ingest.TableReturner): the engine reads each
// row against the table's layout and hidden stamps (export.ReadLayout,
// ReadRow), checks what the configuration restricts (the departments),
// and has the store apply the edits of a chunk in one transaction
// (store.ApplyTable, where revisions decide conflicts). Rows whose cells
// all equal what was exported never reach the database: a returned table
// of 100,000 rows with a few edits costs little more than reading it.

// Tracking configures returned tracking tables.
type Tracking struct {
	// Departments, when set, is the closed list of 责任部门 a returned
	// table may set; a department outside it is rejected. Empty: any.
	Departments []string
}

var _ ingest.TableReturner = (*Engine)(nil)

// IsTrackingHeader implements ingest.TableReturner.
func (e *Engine) IsTrackingHeader(cells []string) bool { return export.IsTrackingHeader(cells) }

// storeField is each store field's column.
var storeField = map[string]export.Field{store.FieldType: export.FieldType, store.FieldUrgency: export.FieldUrgency,
	store.FieldPriority: export.FieldPriority, store.FieldDepartment: export.FieldDepartment, store.FieldPlan: export.FieldPlan,
	store.FieldFeedback: export.FieldFeedback, store.FieldStatus: export.FieldStatus,
	store.FieldSatisfaction: export.FieldSatisfaction, store.FieldDue: export.FieldDue}

// ApplyReturned implements ingest.TableReturner.
func (e *Engine) ApplyReturned(ctx context.Context, c ingest.ReturnedChunk) (ingest.ReturnedResult, error) {
	var res ingest.ReturnedResult
	layout, ok := export.ReadLayout(c.Header)
	if !ok {
		return res, &ingest.RejectError{Reason: "not a tracking table header", Text: i18n.T(
			"表头不是需求跟踪表的表头（需求编号 … 反馈结果）", "the header is not the tracking table's (Demand ID … Feedback)")}
	}
	opts := export.ReadOptions{Location: e.opts.Location, Date1904: c.Date1904}
	loc := layout.Locale
	rows := make([]store.TableRow, 0, len(c.Rows))
	for _, r := range c.Rows {
		rr := layout.ReadRow(r.Cells, opts)
		if rr.Blank {
			continue
		}
		res.Rows++
		if rr.Code == "" {
			res.Rejected++
			res.Cells = append(res.Cells, ingest.ReturnedCell{Row: r.Number, Column: layout.CodeColumn(), Outcome: ingest.CellRejected,
				Reason: i18n.T("这一行没有需求编号：未应用；请填回导出时的编号", "the row has no demand ID: not applied; put back the ID it was exported with")})
			continue
		}
		for _, p := range rr.Problems {
			res.Rejected++
			res.Cells = append(res.Cells, ingest.ReturnedCell{Row: r.Number, Code: rr.Code, Column: layout.ColumnName(p.Field),
				Outcome: ingest.CellRejected, Value: p.Value, Reason: p.Reason})
		}
		if d := rr.Edits.Department; d != nil && *d != "" && len(e.opts.Tracking.Departments) > 0 && !slices.Contains(e.opts.Tracking.Departments, *d) {
			res.Rejected++
			list := strings.Join(e.opts.Tracking.Departments, "、")
			res.Cells = append(res.Cells, ingest.ReturnedCell{Row: r.Number, Code: rr.Code, Column: layout.ColumnName(export.FieldDepartment),
				Outcome: ingest.CellRejected, Value: *d, Reason: i18n.Tf("不是已配置的部门；可用：%s", "not a configured department; allowed: %s", list)})
			rr.Edits.Department = nil
		}
		// A row as exported changes nothing and names a demand that
		// existed then: no need to ask the register.
		if rr.Edits.Empty() && rr.Stamped {
			res.Unchanged++
			continue
		}
		rev := int64(0)
		if rr.Stamped {
			rev = rr.Stamp.Revision
		}
		rows = append(rows, store.TableRow{Row: r.Number, Code: rr.Code, Revision: rev, Edits: store.TableEdits(rr.Edits)})
	}
	outcomes, err := e.store.ApplyTable(ctx, rows, c.File)
	if err != nil {
		return ingest.ReturnedResult{}, err
	}
	label := func(field, v string) string {
		return export.Label(storeField[field], v, e.opts.Location, loc)
	}
	for _, o := range outcomes {
		if o.Unknown {
			res.Rejected++
			res.Cells = append(res.Cells, ingest.ReturnedCell{Row: o.Row, Code: o.Code, Column: layout.CodeColumn(), Outcome: ingest.CellRejected,
				Value: o.Code, Reason: i18n.Tf("登记册中没有编号为 %s 的需求：这一行未应用", "no demand has the ID %s: the row is not applied", o.Code)})
			continue
		}
		if len(o.Changed) > 0 {
			res.Updated++
		} else {
			res.Unchanged++
		}
		for _, ch := range o.Changed {
			cell := ingest.ReturnedCell{Row: o.Row, Code: o.Code, Column: layout.ColumnName(storeField[ch.Field]), Outcome: ingest.CellUpdated,
				Value: label(ch.Field, ch.New), Old: label(ch.Field, ch.Old)}
			switch {
			case ch.Derived && ch.Field == store.FieldStatus:
				cell.Reason = i18n.T("满意度低于 4：已重新打开，转为处理中以便改进", "satisfaction below 4: reopened (in progress) for improvement")
			case ch.Derived && ch.Field == store.FieldPriority:
				cell.Reason = i18n.T("随紧急程度改变：紧急-重要四象限", "follows the urgency: the urgent–important quadrant")
			}
			res.Cells = append(res.Cells, cell)
		}
		for _, cf := range o.Conflicts {
			why := i18n.Tf("导出后这条需求已被修改（导出时修订 %d，现在 %d）：这一格未应用；请重新导出后再改",
				"the demand changed after the export (revision %d then, %d now): this cell is not applied; export again and redo the edit",
				o.Exported, o.Revision)
			if cf.NoRevision {
				why = i18n.T("这一行没有导出时的修订号（旧版导出、CSV 或手工添加的行），无法判断是否为新修改：未应用；请用 demandd 导出 .xlsx 后再改",
					"the row carries no revision (an older export, a CSV, a row added by hand), so an edit cannot be told from an outdated value: not applied; export an .xlsx with demandd and redo the edit")
			}
			res.Conflicts++
			res.Cells = append(res.Cells, ingest.ReturnedCell{Row: o.Row, Code: o.Code, Column: layout.ColumnName(storeField[cf.Field]),
				Outcome: ingest.CellConflict, Value: label(cf.Field, cf.Yours), Old: label(cf.Field, cf.Now), Reason: why})
		}
	}
	slices.SortStableFunc(res.Cells, func(a, b ingest.ReturnedCell) int { return a.Row - b.Row })
	return res, nil
}
