package ingest

import (
	"context"

	"github.com/demandd/demandd/internal/i18n"
)

// A returned tracking table is the tracking table demandd exported, worked
// by the team (状态, 响应方案, 反馈结果, 满意度, a corrected type …) and
// brought back: dropped into a watched folder or given to `demandd
// import`. It never creates demands; its edits update the register.
//
// The channel recognises one by its header row (IsTrackingHeader) among the
// first rows of the first sheet, reads its rows as raw values (dates as
// Excel serial numbers) and hands them, a chunk at a time and in order, to
// ApplyReturned, which applies each chunk in one transaction and says what
// became of every row. Rows equal to what the register holds change
// nothing, so a file applied twice (or a chunk applied again after a crash)
// adds nothing. The channel writes the receipt and settles the file.

// TableReturner is implemented by a Sink that takes back tracking tables
// (the engine). A Sink that does not is given questionnaires only.
type TableReturner interface {
	// IsTrackingHeader reports whether cells are the tracking table's
	// header row.
	IsTrackingHeader(cells []string) bool
	// ApplyReturned applies one chunk of a returned table's data rows in
	// one transaction and returns only after its commit.
	ApplyReturned(ctx context.Context, c ReturnedChunk) (ReturnedResult, error)
}

// ReturnedChunk is consecutive data rows of one returned table.
type ReturnedChunk struct {
	// File is the file's name: the author of every change in history.
	File   string
	SHA256 string
	// Header is the table's header row, as read.
	Header []string
	// Date1904 is the workbook's date system (serial numbers count from
	// 1904 rather than 1900).
	Date1904 bool
	Rows     []ReturnedRow
}

// ReturnedRow is one data row: its number in the sheet (1-based, as Excel
// shows it) and its raw cell values.
type ReturnedRow struct {
	Number int
	Cells  []string
}

// CellOutcome is what became of a cell worth telling a person about.
type CellOutcome string

const (
	CellUpdated  CellOutcome = "updated"  // applied
	CellConflict CellOutcome = "conflict" // edited in the file, but the record changed since the export
	CellRejected CellOutcome = "rejected" // not a value the column takes, or no such demand
)

// ReturnedCell is one cell of the receipt.
type ReturnedCell struct {
	Row     int
	Code    string
	Column  string // the header as the file has it
	Outcome CellOutcome
	Value   string // as the file has it, or as applied
	Old     string // the register's value before (updated) or now (conflict), as a person reads it
	Reason  i18n.Text
}

// ReturnedResult counts what became of a returned table's rows: each row
// with data is Updated (something applied) or Unchanged (nothing to
// apply); Conflicts and Rejected count cells (an unknown 需求编号 is one
// rejected cell). Cells lists every updated, conflicting and rejected
// cell, in row order.
type ReturnedResult struct {
	Rows      int
	Updated   int
	Unchanged int
	Conflicts int
	Rejected  int
	Cells     []ReturnedCell
	// Receipt is where the channel wrote the receipt, once it has.
	Receipt string
}

// Add sums two results, Cells appended.
func (r ReturnedResult) Add(o ReturnedResult) ReturnedResult {
	return ReturnedResult{Rows: r.Rows + o.Rows, Updated: r.Updated + o.Updated, Unchanged: r.Unchanged + o.Unchanged,
		Conflicts: r.Conflicts + o.Conflicts, Rejected: r.Rejected + o.Rejected, Cells: append(r.Cells, o.Cells...)}
}

// Summary is the counts in one line, in both languages.
func (r ReturnedResult) Summary() i18n.Text {
	return i18n.Tf("跟踪表回收：%d 行，已更新 %d，未变 %d，冲突 %d 格，拒绝 %d 格",
		"tracking table returned: %d rows, %d updated, %d unchanged, %d conflicts, %d rejected",
		r.Rows, r.Updated, r.Unchanged, r.Conflicts, r.Rejected)
}
