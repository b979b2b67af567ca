package biff

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/richardlehane/mscfb"

	"github.com/demandd/demandd/internal/i18n"
)

// errBudget stops mscfb when reading the compound file's directory costs
// more than maxDirectoryReads; errLoop stops a stream whose sector chain
// comes back to a sector read before.
var (
	errBudget = errors.New("biff: the compound file's directory is too big")
	errLoop   = errors.New("biff: the stream's sector chain loops")
)

// guardedFile is the file as mscfb reads it. mscfb walks sector chains
// through ReadAt and reports a failure as text, so the first failure is
// kept here to be told apart: the file ending early (truncated), a
// directory that costs more than a budget to read (cyclic or huge chains),
// or an error of the file system (transient, not the file's fault).
type guardedFile struct {
	ra     io.ReaderAt
	size   int64
	budget int64 // bytes that may still be read; <0 is no budget
	err    error
	// read marks the 64-byte blocks of the file read whole since the
	// stream was last read from its start or a seek: a stream is read
	// front to back, so a block read twice is a chain that loops (a FAT
	// made to cycle), which mscfb would follow until the stream's size.
	read []uint64
}

// loopBlock is the unit of read: the size of a mini stream sector, and a
// divisor of every sector size.
const loopBlock = 64

// rewind starts a new front-to-back read of the stream.
func (g *guardedFile) rewind() {
	if g.read == nil {
		g.read = make([]uint64, g.size/loopBlock/64+1)
	}
	clear(g.read)
}

// mark records the blocks p covers whole; false when one was read before.
// The 4-byte reads of the FAT as mscfb follows a chain are not the
// stream's.
func (g *guardedFile) mark(off int64, n int) bool {
	if g.read == nil || n == 4 {
		return true
	}
	for b := (off + loopBlock - 1) / loopBlock; (b+1)*loopBlock <= off+int64(n); b++ {
		w, bit := b/64, uint64(1)<<(b%64)
		if g.read[w]&bit != 0 {
			return false
		}
		g.read[w] |= bit
	}
	return true
}

func (g *guardedFile) ReadAt(p []byte, off int64) (int, error) {
	if g.budget >= 0 {
		// A read costs at least a little, so that many tiny reads (one
		// per sector of a long chain) count too.
		cost := max(int64(len(p)), 64)
		if g.budget < cost {
			g.fail(errBudget)
			return 0, errBudget
		}
		g.budget -= cost
	}
	if off < 0 || off+int64(len(p)) > g.size {
		g.fail(errTruncated)
		return 0, errTruncated
	}
	if !g.mark(off, len(p)) {
		g.fail(errLoop)
		return 0, errLoop
	}
	n, err := g.ra.ReadAt(p, off)
	if err != nil && !(err == io.EOF && n == len(p)) {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			err = errTruncated
		}
		g.fail(err)
		return n, err
	}
	return n, nil
}

func (g *guardedFile) fail(err error) {
	if g.err == nil {
		g.err = err
	}
}

// cause turns an error of mscfb into what it means for the file: the
// failure guardedFile saw, or the compound file's own damage.
func (g *guardedFile) cause(err error) error {
	switch {
	case g.err == nil:
		return damaged(err)
	case g.err == errBudget:
		return i18n.Errorf("工作簿的复合文档目录过大或有循环（%s）：文件已损坏；请用 Excel 或 WPS 打开，另存为 .xlsx 后重新放入",
			"the workbook's compound-file directory is too big or loops back on itself (%s): the file is damaged; open it in Excel or WPS, save it as .xlsx and drop that file in", err)
	case g.err == errTruncated:
		return truncated()
	case g.err == errLoop:
		return i18n.Errorf("工作簿数据流的扇区链绕回到已读过的扇区（FAT 有循环）：文件已损坏；请用 Excel 或 WPS 打开，另存为 .xlsx 后重新放入",
			"the workbook stream's chain of sectors loops back to a sector read before (a cycle in the FAT): the file is damaged; open it in Excel or WPS, save it as .xlsx and drop that file in")
	}
	return fmt.Errorf("biff: read: %w", g.err)
}

// maxDirectoryReads bounds what mscfb reads to build the directory of the
// compound file: a workbook has a handful of entries, while a damaged or
// hostile file can chain sectors so that mscfb would hold millions.
const maxDirectoryReads = 8 << 20

// openStream finds the workbook stream of the compound file in ra.
func openStream(ra io.ReaderAt, size int64, lim Limits) (*mscfb.File, *guardedFile, error) {
	g := &guardedFile{ra: ra, size: size, budget: maxDirectoryReads}
	doc, err := mscfb.New(g)
	if err != nil {
		return nil, nil, g.cause(err)
	}
	g.budget = -1 // the streams are held to their sizes below
	var book, workbook *mscfb.File
	encrypted := false
	for _, f := range doc.File {
		if len(f.Path) != 0 {
			continue
		}
		switch {
		case strings.EqualFold(f.Name, "Workbook"):
			workbook = f
		case strings.EqualFold(f.Name, "Book"):
			book = f
		case f.Name == "EncryptionInfo":
			encrypted = true
		}
	}
	if workbook == nil {
		workbook = book
	}
	switch {
	case workbook == nil && encrypted:
		return nil, nil, errPassword()
	case workbook == nil:
		return nil, nil, i18n.Errorf("该文件是 OLE 文档，但其中没有 Excel 工作簿（可能是 Word 等其他 Office 文件）：请把问卷结果导出为 .xlsx 或 .csv 后放入文件夹",
			"the file is an OLE document with no Excel workbook in it (a Word or other Office file?); export the survey as .xlsx or .csv and drop that file in")
	case workbook.Size > size:
		// A stream's sectors are distinct sectors of the file: a bigger
		// stream is a damaged directory, or a chain that loops.
		return nil, nil, i18n.Errorf("工作簿数据流声称有 %d 字节，超过文件本身（%d 字节）：文件已损坏；请用 Excel 或 WPS 打开，另存为 .xlsx 后重新放入",
			"the workbook stream claims %d bytes, more than the whole file (%d bytes): the file is damaged; open it in Excel or WPS, save it as .xlsx and drop that file in",
			workbook.Size, size)
	case workbook.Size > lim.MaxStream:
		return nil, nil, i18n.Errorf("工作簿数据有 %s，超过上限 %s：请分批导出问卷结果（例如按日期）",
			"the workbook's data is %s, more than the %s limit; export the survey results in parts (by date, for example)",
			byteSize(workbook.Size), byteSize(lim.MaxStream))
	}
	return workbook, g, nil
}
