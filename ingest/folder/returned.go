package folder

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/ingest"
	"github.com/demandd/demandd/internal/i18n"
)

// Returned tracking tables.
//
// A file whose first rows hold the tracking table's header (asked of the
// sink, an ingest.TableReturner, so that the folder keeps no copy of the
// export's columns) is a tracking table the team worked and brought back,
// not a questionnaire: it never creates demands. It is read again from
// the start with raw cell values (dates as serial numbers, so that a
// changed number format cannot change a date), and its data rows go to
// the sink's ApplyReturned a chunk at a time, read ahead while the
// previous chunk commits. Memory stays flat: the receipt's rows are
// streamed as they come. It keeps no checkpoint: a row equal to the
// register changes nothing, so a file read again after a crash, or dropped
// twice, adds nothing.
//
// Then the file moves to processed/DATE/ as a questionnaire does, with
// NAME.result.xlsx beside it listing every updated, conflicting and
// rejected cell (NAME.result.txt when there are only counts); a file that
// cannot be read goes to failed/ with NAME.error.txt.

// headerSearch is how many rows after the first may hold the header: an
// export has a title and a line above it.
const headerSearch = 8

// tableImport is a returned table being read: what importAny found and
// what became of it.
type tableImport struct {
	found   bool
	sha     string
	locale  i18n.Locale
	result  ingest.ReturnedResult // counts only; the cells went to the receipt
	receipt *receipt
}

// isTable says whether rd's first rows hold a tracking table's header.
func isTable(sink ingest.Sink, rd *rowBatcher) (ingest.TableReturner, bool) {
	ret, ok := sink.(ingest.TableReturner)
	if !ok {
		return nil, false
	}
	if ret.IsTrackingHeader(rd.header) || ret.IsTrackingHeader(rd.labels) {
		return ret, true
	}
	for i := 0; i < headerSearch && i < len(rd.ahead); i++ {
		if ret.IsTrackingHeader(rd.aheadCells(i)) {
			return ret, true
		}
	}
	return nil, false
}

// run reads the returned table at path and applies it.
func (t *tableImport) run(ctx context.Context, path string, id identity, sha string, text textEvidence, opts readOptions,
	ret ingest.TableReturner, progress func(int)) error {
	t.found, t.sha = true, sha
	t.receipt = newReceipt(t.locale)
	rr, err := openRows(path, text, opts.limits)
	if err != nil {
		return err
	}
	defer rr.Close()
	date1904 := false
	if x, ok := rr.(*xlsxRows); ok {
		x.raw = true
		if p, err := x.f.GetWorkbookProps(); err == nil && p.Date1904 != nil {
			date1904 = *p.Date1904
		}
	}
	var header []string
	for i := 0; header == nil; i++ {
		cells, _, err := rr.Next()
		if err == io.EOF || (err == nil && i > headerSearch+2) {
			return fileErrorf("找不到需求跟踪表的表头：请用 demandd 重新导出跟踪表", "the tracking table's header was not found: export the tracking table with demandd again")
		}
		if err != nil {
			return err
		}
		if ret.IsTrackingHeader(cells) {
			header = cells
		}
	}
	name := filepath.Base(path)
	size := max(opts.batchSize, 1000)
	type chunk struct {
		c    ingest.ReturnedChunk
		rows int // rows handled up to its end
		err  error
	}
	readCtx, stop := context.WithCancel(ctx)
	defer stop()
	chunks := make(chan chunk, 1)
	go func() {
		defer close(chunks)
		send := func(c chunk) bool {
			select {
			case chunks <- c:
				return c.err == nil
			case <-readCtx.Done():
				return false
			}
		}
		newChunk := func() ingest.ReturnedChunk {
			return ingest.ReturnedChunk{File: name, SHA256: sha, Header: header, Date1904: date1904,
				Rows: make([]ingest.ReturnedRow, 0, size)}
		}
		c, handled := newChunk(), 0
		for {
			cells, num, err := rr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				send(chunk{err: err})
				return
			}
			handled++
			if num > opts.limits.rows && len(trimRow(cells)) > 0 {
				send(chunk{err: maxRowsError(opts.limits.rows)})
				return
			}
			if len(trimRow(cells)) == 0 {
				continue
			}
			c.Rows = append(c.Rows, ingest.ReturnedRow{Number: num, Cells: cells})
			if len(c.Rows) == size {
				if !send(chunk{c: c, rows: handled}) {
					return
				}
				c = newChunk()
			}
		}
		// The whole file was read as hashed, or nothing is settled.
		if err := id.recheck(path, sha); err != nil {
			send(chunk{err: err})
			return
		}
		send(chunk{c: c, rows: handled})
	}()
	for c := range chunks {
		if c.err != nil {
			return c.err
		}
		res, err := ret.ApplyReturned(ctx, c.c)
		if err != nil {
			return err
		}
		if err := t.receipt.add(res.Cells); err != nil {
			return fmt.Errorf("folder: receipt of %s: %w", name, err)
		}
		res.Cells = nil
		t.result = t.result.Add(res)
		if progress != nil {
			progress(c.rows)
		}
	}
	return ctx.Err()
}

// ReceiptPath is where the receipt of the returned table at path goes:
// NAME.result.xlsx beside it, or NAME.result.txt when it lists no cell.
func ReceiptPath(path string, cells bool) string {
	base := strings.TrimSuffix(path, filepath.Ext(path))
	if cells {
		return base + ".result.xlsx"
	}
	return base + ".result.txt"
}

// receipt is a returned table's receipt being written: the counts sheet
// at the end, the cells streamed to their own sheet as they come (the
// workbook is made with the first cell; none means a .txt).
type receipt struct {
	locale i18n.Locale
	book   *excelize.File
	sw     *excelize.StreamWriter
	n      int // cells written
}

func newReceipt(l i18n.Locale) *receipt { return &receipt{locale: l} }

// receiptSheets are the receipt's sheets: the counts, then the cells.
var receiptSheets = [2]i18n.Text{i18n.T("回执", "Receipt"), i18n.T("明细", "Cells")}

// outcomeLabel is an outcome as the receipt says it.
var outcomeLabel = map[ingest.CellOutcome]i18n.Text{
	ingest.CellUpdated:  i18n.T("已更新", "updated"),
	ingest.CellConflict: i18n.T("冲突", "conflict"),
	ingest.CellRejected: i18n.T("已拒绝", "rejected"),
}

func (r *receipt) add(cells []ingest.ReturnedCell) error {
	if len(cells) == 0 {
		return nil
	}
	l := r.locale
	if r.book == nil {
		r.book = excelize.NewFile()
		if err := r.book.SetSheetName(r.book.GetSheetName(0), receiptSheets[0].In(l)); err != nil {
			return err
		}
		if _, err := r.book.NewSheet(receiptSheets[1].In(l)); err != nil {
			return err
		}
		sw, err := r.book.NewStreamWriter(receiptSheets[1].In(l))
		if err != nil {
			return err
		}
		r.sw = sw
		for i, w := range []float64{8, 16, 12, 10, 30, 30, 60} {
			if err := sw.SetColWidth(i+1, i+1, w); err != nil {
				return err
			}
		}
		if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
			return err
		}
		head := []interface{}{i18n.T("行号", "Row").In(l), i18n.T("需求编号", "Demand ID").In(l), i18n.T("列", "Column").In(l),
			i18n.T("结果", "Outcome").In(l), i18n.T("文件中的值", "Value in the file").In(l),
			i18n.T("登记册中的值（原值 / 现值）", "In the register (before / now)").In(l), i18n.T("原因", "Reason").In(l)}
		if err := sw.SetRow("A1", head); err != nil {
			return err
		}
	}
	row := make([]interface{}, 7)
	for _, c := range cells {
		r.n++
		row[0], row[1], row[2], row[3] = c.Row, c.Code, c.Column, outcomeLabel[c.Outcome].In(l)
		row[4], row[5], row[6] = c.Value, c.Old, c.Reason.In(l)
		cell, err := excelize.CoordinatesToCellName(1, r.n+1)
		if err != nil {
			return err
		}
		if err := r.sw.SetRow(cell, row); err != nil {
			return err
		}
	}
	return nil
}

// save writes the receipt of file (its name) beside dst, the file as it
// now lies, with mode; it returns the receipt's path. A receipt there
// already (the same file imported again) is replaced.
func (r *receipt) save(dst, file string, res ingest.ReturnedResult, at time.Time, mode os.FileMode) (string, error) {
	l := r.locale
	lines := [][2]string{
		{i18n.T("文件", "File").In(l), file},
		{i18n.T("处理时间", "Processed").In(l), at.Format("2006-01-02 15:04:05 (UTC-07:00)")},
		{i18n.T("数据行", "Data rows").In(l), fmt.Sprint(res.Rows)},
		{i18n.T("已更新（行）", "Updated (rows)").In(l), fmt.Sprint(res.Updated)},
		{i18n.T("未变（行）", "Unchanged (rows)").In(l), fmt.Sprint(res.Unchanged)},
		{i18n.T("冲突（格）", "Conflicts (cells)").In(l), fmt.Sprint(res.Conflicts)},
		{i18n.T("拒绝（格）", "Rejected (cells)").In(l), fmt.Sprint(res.Rejected)},
	}
	path := ReceiptPath(dst, r.book != nil)
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".part")
	if r.book == nil {
		var b strings.Builder
		b.WriteString(res.Summary().In(l) + "\n")
		for _, line := range lines {
			b.WriteString(line[0] + ": " + line[1] + "\n")
		}
		if err := writeFile(tmp, []byte(b.String()), mode); err != nil {
			return "", err
		}
		return path, os.Rename(tmp, path)
	}
	sheet := receiptSheets[0].In(l)
	for i, line := range lines {
		if err := r.book.SetSheetRow(sheet, fmt.Sprintf("A%d", i+1), &[]interface{}{line[0], line[1]}); err != nil {
			return "", err
		}
	}
	note := i18n.T("逐格明细见工作表「明细」：已更新的格、冲突（导出后记录已被修改，未应用）和被拒绝的值",
		`cell by cell in the sheet "Cells": what was updated, conflicts (the record changed after the export; not applied) and rejected values`)
	if err := r.book.SetCellValue(sheet, fmt.Sprintf("A%d", len(lines)+2), note.In(l)); err != nil {
		return "", err
	}
	if err := r.book.SetColWidth(sheet, "A", "A", 18); err != nil {
		return "", err
	}
	if err := r.book.SetColWidth(sheet, "B", "B", 40); err != nil {
		return "", err
	}
	if err := r.sw.Flush(); err != nil {
		return "", err
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "", err
	}
	err = r.book.Write(f)
	if err == nil {
		err = f.Chmod(modeOr(mode)) // whatever the umask, as writeFile
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return "", err
	}
	return path, os.Rename(tmp, path)
}

func modeOr(mode os.FileMode) os.FileMode {
	if mode == 0 {
		return 0o640
	}
	return mode
}

// close lets go of the workbook and its temporary files.
func (r *receipt) close() {
	if r != nil && r.book != nil {
		r.book.Close()
		r.book = nil
	}
}

// finish settles a returned table read whole: the receipt beside the
// file where it now lies (dst), the content's earlier failures resolved.
func (t *tableImport) finish(ctx context.Context, sink ingest.Sink, dst string, mode os.FileMode) (string, error) {
	defer t.receipt.close()
	receiptPath, err := t.receipt.save(dst, filepath.Base(dst), t.result, time.Now(), mode)
	if err != nil {
		err = fmt.Errorf("folder: write the receipt of %s: %w", filepath.Base(dst), err)
	}
	t.result.Receipt = receiptPath
	if ferr := sink.FileImported(ctx, demand.ChannelQuestionnaire, t.sha); ferr != nil && err == nil {
		err = ferr
	}
	return receiptPath, err
}

// tableReturned settles a returned table moved to dst: its receipt beside
// it, the counts in the log. The file is processed whatever the receipt
// does: a receipt that cannot be written is logged.
func (s *Source) tableReturned(ctx context.Context, sink ingest.Sink, t *tableImport, dst string, took time.Duration) {
	receipt, err := t.finish(ctx, sink, dst, s.cfg.FileMode)
	if err != nil {
		s.log.Error("tracking table applied, but its receipt was not written", "file", filepath.Base(dst), "err", err)
	}
	r := t.result
	s.log.Info("tracking table returned", "file", filepath.Base(dst), "rows", r.Rows, "updated", r.Updated,
		"unchanged", r.Unchanged, "conflicts", r.Conflicts, "rejected", r.Rejected, "receipt", receipt,
		"took", took.Round(time.Millisecond), "moved_to", dst)
}
