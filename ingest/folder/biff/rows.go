package biff

import (
	"fmt"
	"io"

	"github.com/demandd/demandd/internal/i18n"
)

// Rows reads the rows of one sheet in order. It holds two rows: the one
// returned last and the one being read. The rows of a workbook share its
// stream: one Rows reads at a time, and starting another ends the last.
type Rows struct {
	wb  *Workbook
	rr  *recordReader
	c   cont
	err error // sticky: io.EOF or the error that ended the reading

	build    []Cell // the row being read
	buildRow int    // its index; -1 before the first cell
	out      []Cell // the row returned last, or finished and waiting
	outRow   int
	waiting  bool // out is finished and not returned yet
	next     int  // index of the next row to return
	done     bool // the sheet's EOF was read
	depth    int  // BOF records nested in the sheet (charts), skipped
	// pending is the column of a formula whose text result is in the
	// STRING record that follows; -1 when none.
	pending int
	scratch []Cell // the cells of the record read last
}

// Rows starts reading the rows of sheet i.
func (wb *Workbook) Rows(i int) (r *Rows, err error) {
	defer func() {
		if p := recover(); p != nil {
			r, err = nil, damaged(fmt.Errorf("%v", p))
		}
	}()
	if i < 0 || i >= len(wb.Sheets) {
		return nil, fmt.Errorf("biff: no sheet %d", i)
	}
	r = &Rows{wb: wb, rr: newRecordReader(wb.stream, wb.stream.Size, wb.file.rewind), buildRow: -1, pending: -1}
	sheetAt := func() error {
		return i18n.Errorf("工作表“%s”的位置不对（不是一个工作表的开头）：文件已损坏；请用 Excel 或 WPS 打开，另存为 .xlsx 后重新放入",
			"sheet %q does not start where the workbook says: the file is damaged; open it in Excel or WPS, save it as .xlsx and drop that file in",
			wb.Sheets[i].Name)
	}
	if err := r.rr.seekTo(wb.Sheets[i].offset); err != nil {
		if err == errTruncated {
			return nil, sheetAt()
		}
		return nil, wb.cause(err)
	}
	if err := r.rr.next(); err != nil {
		return nil, wb.cause(err)
	}
	if r.rr.typ != recBOF || len(r.rr.body) < 4 {
		return nil, sheetAt()
	}
	if dt := u16(r.rr.body, 2); dt != 0x0010 {
		r.done, r.err = true, io.EOF // a chart or macro sheet: no cells
	}
	return r, nil
}

// Next returns the next row: its index (0 for the first row) and its
// cells, each at its column's index; a row without cells is empty. The
// cells are valid until the next call. After the last row with a cell it
// returns io.EOF.
func (r *Rows) Next() (row int, cells []Cell, err error) {
	defer func() {
		if p := recover(); p != nil {
			r.err = damaged(fmt.Errorf("%v", p))
			row, cells, err = 0, nil, r.err
		}
	}()
	for {
		if r.waiting {
			if r.next < r.outRow { // a row without cells
				r.next++
				return r.next - 1, nil, nil
			}
			r.waiting = false
			r.next++
			return r.outRow, r.out, nil
		}
		if r.err != nil {
			return 0, nil, r.err
		}
		if r.done {
			r.err = io.EOF
			r.finish()
			continue
		}
		if err := r.read(); err != nil {
			r.err = r.wb.cause(err)
		}
	}
}

// finish makes the row being read the one waiting.
func (r *Rows) finish() {
	if r.buildRow < 0 {
		return
	}
	r.out, r.build = r.build, r.out[:0]
	r.outRow, r.buildRow, r.waiting = r.buildRow, -1, true
}

// put places the cells of a record at row, from column col on.
func (r *Rows) put(row, col int, cells []Cell) error {
	if col+len(cells) > MaxCols {
		return i18n.Errorf("工作表第 %d 行有单元格超出 .xls 的 256 列：文件已损坏；请用 Excel 或 WPS 打开，另存为 .xlsx 后重新放入",
			"row %d of the sheet has a cell beyond the 256 columns an .xls holds: the file is damaged; open it in Excel or WPS, save it as .xlsx and drop that file in", row+1)
	}
	switch {
	case r.buildRow < 0:
		r.buildRow = row
	case row < r.buildRow:
		return i18n.Errorf("工作表的行顺序错乱（第 %d 行出现在第 %d 行之后）：这不是 Excel 写出的文件；请用 Excel 或 WPS 打开，另存为 .xlsx 后重新放入",
			"the sheet's rows are out of order (row %d comes after row %d): not a file Excel wrote; open it in Excel or WPS, save it as .xlsx and drop that file in",
			row+1, r.buildRow+1)
	case row > r.buildRow:
		r.finish()
		r.buildRow = row
	}
	for len(r.build) < col+len(cells) {
		r.build = append(r.build, Cell{})
	}
	copy(r.build[col:], cells)
	return nil
}

// read reads records until a row is finished or the sheet ends.
func (r *Rows) read() error {
	for !r.waiting {
		if err := r.rr.next(); err != nil {
			if err == io.EOF {
				return errTruncated // the sheet has no EOF record
			}
			return err
		}
		if r.depth > 0 { // inside a chart of the sheet
			switch r.rr.typ {
			case recBOF:
				r.depth++
			case recEOF:
				r.depth--
			}
			continue
		}
		if err := r.record(); err != nil {
			return err
		}
		if r.done {
			r.finish()
			return nil
		}
	}
	return nil
}

// record reads one record of the sheet.
func (r *Rows) record() error {
	b, wb := r.rr.body, r.wb
	typ := r.rr.typ
	if r.pending >= 0 && typ != recString && typ != recShrFmla && typ != recArray && typ != recTable {
		r.pending = -1 // no STRING: the formula's text stays empty
	}
	switch typ {
	case recEOF:
		r.done = true
		return nil
	case recBOF:
		r.depth++
		return nil
	case recString:
		if r.pending < 0 {
			return nil
		}
		r.c.reset(r.rr)
		s, err := wb.string(&r.c, false)
		if err != nil {
			return err
		}
		if r.pending < len(r.build) {
			r.build[r.pending].Text = s
		}
		r.pending = -1
		return nil
	case recNumber, recRK, recLabelSST, recLabel, recRString, recBoolErr, recFormula:
	case recMulRK:
		return r.mulRK(b)
	default:
		return nil
	}
	if len(b) < 6 {
		return errTruncated
	}
	row, col, xf := int(u16(b, 0)), int(u16(b, 2)), u16(b, 4)
	var cell Cell
	switch typ {
	case recNumber:
		if len(b) < 14 {
			return errTruncated
		}
		cell = wb.number(f64(b, 6), xf)
	case recRK:
		if len(b) < 10 {
			return errTruncated
		}
		cell = wb.number(rk(u32(b, 6)), xf)
	case recLabelSST:
		if len(b) < 10 {
			return errTruncated
		}
		i := u32(b, 6)
		if uint64(i) >= uint64(len(wb.sst)) {
			return i18n.Errorf("第 %d 行第 %d 列引用了不存在的共享字符串 %d（共 %d 条）：文件已损坏；请用 Excel 或 WPS 打开，另存为 .xlsx 后重新放入",
				"row %d, column %d refers to shared string %d of %d: the file is damaged; open it in Excel or WPS, save it as .xlsx and drop that file in",
				row+1, col+1, i, len(wb.sst))
		}
		cell = Cell{Kind: Text, Text: wb.sst[i]}
	case recLabel, recRString:
		r.c.reset(r.rr)
		r.c.pos = 6
		s, err := wb.string(&r.c, false)
		if err != nil {
			return err
		}
		cell = Cell{Kind: Text, Text: s}
	case recBoolErr:
		if len(b) < 8 {
			return errTruncated
		}
		cell = Cell{Kind: Bool, Num: float64(b[6])}
		if b[7] != 0 {
			cell.Kind = Error
		}
	case recFormula:
		if len(b) < 14 {
			return errTruncated
		}
		if u16(b, 12) != 0xFFFF {
			cell = wb.number(f64(b, 6), xf)
			break
		}
		switch b[6] { // the cached result is not a number
		case 0: // text, in the STRING record that follows
			cell = Cell{Kind: Text}
			r.pending = col
		case 1:
			cell = Cell{Kind: Bool, Num: float64(b[8])}
		case 2:
			cell = Cell{Kind: Error, Num: float64(b[8])}
		default: // 3: an empty text
			cell = Cell{Kind: Text}
		}
	}
	r.scratch = append(r.scratch[:0], cell)
	return r.put(row, col, r.scratch)
}

// mulRK reads a MULRK record: RK numbers in adjacent cells of a row.
func (r *Rows) mulRK(b []byte) error {
	if len(b) < 12 {
		return errTruncated
	}
	row, col := int(u16(b, 0)), int(u16(b, 2))
	n := (len(b) - 6) / 6
	r.scratch = r.scratch[:0]
	for i := range n {
		at := 4 + 6*i
		r.scratch = append(r.scratch, r.wb.number(rk(u32(b, at+2)), u16(b, at)))
	}
	return r.put(row, col, r.scratch)
}
