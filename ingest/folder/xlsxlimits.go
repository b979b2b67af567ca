package folder

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"html"
	"io"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
)

// Workbook limits.
//
// An .xlsx is a zip of XML parts, and excelize trusts it: it holds every
// part but the large sheets in memory, decodes some of them whole, indexes
// every shared string, and builds each row's cells anew for every
// reference to a shared string and every '@' of a number format. A file of
// 1 MB can so cost gigabytes. Before excelize opens a workbook, checkXLSX
// reads the zip's directory and then streams the parts that matter through
// xmlScanner, which measures without keeping: each limit below is checked
// on the bytes as they come, and the first one exceeded names itself in
// the file's NAME.error.txt.
const (
	// unzipXMLLimit is excelize's UnzipXMLSizeLimit: a sheet or shared
	// strings part over it is unpacked to a temporary file and streamed.
	// One held in memory is decoded whole: 5 MB of short shared strings
	// take 100 MB.
	unzipXMLLimit = 1 << 20
	// maxDecodedPart bounds each part excelize decodes whole when it opens
	// a workbook (workbook, styles, theme, calcChain, relationships): a
	// 15 MB styles.xml decodes to 280 MB.
	maxDecodedPart = 1 << 20
	// maxInMemory bounds all the parts excelize holds in memory, pictures
	// included.
	maxInMemory = 32 << 20
	// maxDirectory bounds the zip's central directory, which archive/zip
	// reads whole: a 200 MB file of empty entries would list millions.
	maxDirectory = 4 << 20
	// maxParts is far more parts than a workbook of data has.
	maxParts = 10000
	// maxRatio is the compression ratio of a zip bomb; deflate cannot go
	// much beyond it. Parts under bombRatioFrom are not judged by it.
	maxRatio      = 1000
	bombRatioFrom = 1 << 20
	// maxSharedStrings bounds the shared strings, which excelize indexes
	// at about 60 bytes each: 65 million tiny ones took 4 GB, while a
	// 390,000-row export with 1.95 million of them peaks at 145 MB.
	maxSharedStrings = 2_000_000
	// maxXMLItem bounds a shared string, a cell, and any text or tag, as
	// written in the XML: an Excel cell holds 32,767 characters, a few
	// hundred KB at most even as rich text, while excelize decodes 15 MB
	// of rich text runs in one shared string to 280 MB.
	maxXMLItem = 1 << 20
	// hardRowBytes bounds one row as excelize builds it: a row this big
	// cannot be read safely.
	hardRowBytes = 16 << 20
	// aheadBytes bounds the rows read ahead with the header (see
	// readHeader), which are held together.
	aheadBytes = 64 << 20
	// unzipFactor bounds the unpacked workbook, and the text of its sheet,
	// to this many times max_file_size.
	unzipFactor = 10
)

// cellOverhead is what excelize adds to a cell's value in memory: the
// string header of its slot in the row.
const cellOverhead = 16

// decodedAtOpen reports the parts excelize decodes whole when it opens a
// workbook (lower-case names).
func decodedAtOpen(name string) bool {
	base := path.Base(name)
	return strings.HasSuffix(name, ".rels") || name == "[content_types].xml" || base == "workbook.xml" ||
		base == "styles.xml" || base == "calcchain.xml" || (strings.HasPrefix(base, "theme") && strings.HasSuffix(base, ".xml"))
}

// xlsxCheck is a workbook being checked: what the zip directory and the
// parts read so far tell.
type xlsxCheck struct {
	file  *os.File
	zr    *zip.Reader
	lim   limits
	parts map[string]*zip.File // by name as excelize keys them
	// The shared strings' sizes in bytes (their XML, an upper bound of the
	// text), and the longest.
	sst     []uint32
	sstMax  int64
	fmtLen  int64 // longest number format code
	fmtText int64 // most '@' (the text) in one number format code
}

// checkXLSX checks the zip directory, the number formats and the shared
// strings of the workbook at path. A *FileError says which limit the file
// exceeds; any other error is transient.
func checkXLSX(path string, lim limits) (*xlsxCheck, error) {
	f, err := openNoFollow(path)
	if err != nil {
		return nil, fmt.Errorf("folder: open %s: %w", path, err)
	}
	c := &xlsxCheck{file: f, lim: lim, parts: map[string]*zip.File{}}
	if err := c.directory(); err != nil {
		f.Close()
		return nil, err
	}
	if err := c.formats(); err != nil {
		f.Close()
		return nil, err
	}
	if err := c.sharedStrings(); err != nil {
		f.Close()
		return nil, err
	}
	return c, nil
}

func (c *xlsxCheck) close() {
	c.sst = nil
	c.file.Close()
}

// unzipLimit is the most the workbook may unpack to.
func (c *xlsxCheck) unzipLimit() int64 { return unzipFactor * c.lim.fileSize }

func (c *xlsxCheck) directory() error {
	fi, err := c.file.Stat()
	if err != nil {
		return fmt.Errorf("folder: %w", err)
	}
	size := fi.Size()
	dir, err := zipDirectorySize(c.file, size)
	if err != nil {
		return zipError(err)
	}
	if dir > maxDirectory {
		return fileErrorf("工作簿的目录有 %s，超过上限 %s：这不是问卷导出文件；请用 Excel 或 WPS 打开，另存为 .xlsx",
			"the workbook's zip directory is %s, more than the %s limit: not a survey export; open it in Excel or WPS and save it again as .xlsx",
			byteSize(int64(dir)), byteSize(maxDirectory))
	}
	c.zr, err = zip.NewReader(c.file, size)
	if err != nil {
		return zipError(err)
	}
	if n := len(c.zr.File); n > maxParts {
		return fileErrorf("工作簿由 %d 个部件组成，超过上限 %d：这不是问卷导出文件；请用 Excel 或 WPS 打开，另存为 .xlsx",
			"the workbook has %d parts, more than the %d limit: not a survey export; open it in Excel or WPS and save it again as .xlsx",
			n, maxParts)
	}
	var total, inMemory, largest int64
	var largestName string
	for _, zf := range c.zr.File {
		name := strings.ReplaceAll(zf.Name, "\\", "/") // as excelize keys parts
		c.parts[name] = zf
		n := min(zf.UncompressedSize64, 1<<62)
		size := int64(n)
		total += size
		if ratio := n / max(zf.CompressedSize64, 1); size > bombRatioFrom && ratio > maxRatio {
			return fileErrorf("工作簿中的 %s 从 %s 解压为 %s（压缩比 %d:1，上限 %d:1）：这是压缩炸弹，不是问卷导出文件；请从问卷平台重新导出",
				"%s in the workbook unpacks from %s to %s (%d:1, more than the %d:1 limit): a zip bomb, not a survey export; export the results again from the survey platform",
				name, byteSize(int64(zf.CompressedSize64)), byteSize(size), ratio, maxRatio)
		}
		lower := strings.ToLower(name)
		streamed := (strings.HasPrefix(lower, "xl/worksheets/sheet") || lower == "xl/sharedstrings.xml") && size > unzipXMLLimit
		if !streamed && !zf.FileInfo().IsDir() {
			inMemory += size
			if size > largest {
				largest, largestName = size, name
			}
			if decodedAtOpen(lower) && size > maxDecodedPart {
				return fileErrorf("工作簿中的 %s 有 %s，超过这类部件的上限 %s：请把答卷复制到新的工作簿（只粘贴数值）后另存为 .xlsx",
					"%s in the workbook is %s, more than the %s limit for that part; copy the answers into a new workbook (paste values only) and save it as .xlsx",
					name, byteSize(size), byteSize(maxDecodedPart))
			}
		}
	}
	if total > c.unzipLimit() {
		return fileErrorf("工作簿解压后共 %s，超过上限 %s（max_file_size 的 %d 倍）：请分批导出问卷结果（例如按日期），或在配置的 [[folder]] 中调大 max_file_size",
			"the workbook unpacks to %s, more than the %s limit (%d × max_file_size); export the survey results in parts (by date, for example) or raise max_file_size in the [[folder]] config",
			byteSize(total), byteSize(c.unzipLimit()), unzipFactor)
	}
	if inMemory > maxInMemory {
		return fileErrorf("工作簿中需读入内存的部件共 %s（最大的是 %s，%s），超过上限 %s：请删除图片等附加内容，或把答卷复制到新的工作簿后另存为 .xlsx",
			"the workbook's parts read into memory total %s (the largest: %s, %s), more than the %s limit; delete pictures and other additions, or copy the answers into a new workbook and save it as .xlsx",
			byteSize(inMemory), largestName, byteSize(largest), byteSize(maxInMemory))
	}
	return nil
}

// part returns the part named (as excelize keys it), case-insensitively
// for the fixed names that excelize also matches so.
func (c *xlsxCheck) part(name string) *zip.File {
	if zf, ok := c.parts[name]; ok {
		return zf
	}
	for n, zf := range c.parts {
		if strings.EqualFold(n, name) {
			return zf
		}
	}
	return nil
}

// scanner opens a part for scanning; keep is how much of a text or
// attribute value the caller reads.
func (c *xlsxCheck) scanner(zf *zip.File, keep int) (*xmlScanner, func(), error) {
	rc, err := zf.Open()
	if err != nil {
		return nil, nil, zipError(err)
	}
	ahead := newInflateAhead(rc)
	return &xmlScanner{r: bufio.NewReaderSize(ahead, 64<<10), max: maxXMLItem, keep: keep}, func() { ahead.Close() }, nil
}

// formats finds the longest number format and the most '@' in one: a cell
// shown through a format holds its literal text, and its own text once per
// '@' ("@@@@" writes it four times).
func (c *xlsxCheck) formats() error {
	zf := c.part("xl/styles.xml")
	if zf == nil {
		return nil
	}
	s, done, err := c.scanner(zf, maxDecodedPart)
	if err != nil {
		return err
	}
	defer done()
	for {
		_, err := s.next(func(tag, name, value []byte, long bool) {
			if string(tag) != "numFmt" || (string(name) != "formatCode" && string(name) != "formatCode16") {
				return
			}
			v := xmlUnescape(value)
			c.fmtLen = max(c.fmtLen, int64(len(v)))
			c.fmtText = max(c.fmtText, int64(strings.Count(v, "@")))
		})
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return c.partError(zf, err)
		}
	}
}

// sharedStrings counts and measures the shared strings.
func (c *xlsxCheck) sharedStrings() error {
	zf := c.part("xl/sharedStrings.xml")
	if zf == nil {
		return nil
	}
	s, done, err := c.scanner(zf, 0)
	if err != nil {
		return err
	}
	defer done()
	start := int64(-1)
	for {
		t, err := s.next(nil)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return c.partError(zf, err)
		}
		if string(t.name) != "si" {
			continue
		}
		switch {
		case t.end && start >= 0:
			size := t.start - start
			if size > maxXMLItem {
				return textTooLong()
			}
			c.sst[len(c.sst)-1] = uint32(size)
			c.sstMax = max(c.sstMax, size)
			start = -1
		case !t.end:
			if len(c.sst) == maxSharedStrings {
				return fileErrorf("工作簿包含超过 %d 条不同的文本（共享字符串）：请分批导出问卷结果（例如按日期）",
					"the workbook holds more than %d distinct texts (shared strings); export the survey results in parts (by date, for example)",
					maxSharedStrings)
			}
			c.sst = append(c.sst, 0)
			if !t.empty {
				start = t.stop
			}
		}
	}
}

// partError is the error of a scan of zf: a limit, a damaged part, or a
// transient read error.
func (c *xlsxCheck) partError(zf *zip.File, err error) error {
	var fe *FileError
	switch {
	case errors.As(err, &fe):
		return err
	case errors.Is(err, errTooLong):
		return textTooLong()
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, errBadXML):
		return fileErrorf("工作簿中的 %s 已损坏：请用 Excel 或 WPS 打开，重新另存为 .xlsx",
			"%s in the workbook is damaged; open the file in Excel or WPS and save it again as .xlsx", zf.Name)
	}
	return zipError(err)
}

func textTooLong() error {
	return fileErrorf("工作簿中有单元格、文本或标记超过 %s（Excel 的单元格最多 32767 个字符）：这不是问卷导出文件；请从问卷平台重新导出",
		"the workbook holds a cell, text or tag of more than %s (an Excel cell holds at most 32,767 characters): not a survey export; export the results again from the survey platform",
		byteSize(maxXMLItem))
}

// zipError classifies an error of archive/zip: a damaged or foreign file
// is a *FileError; an error of the file system is transient.
func zipError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("folder: read workbook: %w", err)
	}
	return fileErrorf("该文件不是可读取的 .xlsx 工作簿（%v）：请用 Excel 或 WPS 打开，重新另存为 .xlsx",
		"the file is not a readable .xlsx workbook (%v); open it in Excel or WPS and save it again as .xlsx", err)
}

// activeSheet finds the sheet excelize reads first (the active tab, else
// the first) and its part; part is "" when the workbook does not say.
func (c *xlsxCheck) activeSheet() (name, part string) {
	var rels struct {
		Rel []struct {
			ID     string `xml:"Id,attr"`
			Type   string `xml:"Type,attr"`
			Target string `xml:"Target,attr"`
		} `xml:"Relationship"`
	}
	var wb struct {
		Views []struct {
			ActiveTab int `xml:"activeTab,attr"`
		} `xml:"bookViews>workbookView"`
		Sheets []struct {
			Name    string `xml:"name,attr"`
			SheetID int    `xml:"sheetId,attr"`
			RID     string `xml:"id,attr"`
		} `xml:"sheets>sheet"`
	}
	decode := func(name string, v any) bool {
		zf := c.parts[name]
		if zf == nil || zf.UncompressedSize64 > maxDecodedPart {
			return false
		}
		rc, err := zf.Open()
		if err != nil {
			return false
		}
		defer rc.Close()
		return xml.NewDecoder(rc).Decode(v) == nil
	}
	workbook := ""
	if decode("_rels/.rels", &rels) {
		for _, r := range rels.Rel {
			if strings.HasSuffix(r.Type, "/officeDocument") {
				workbook = strings.TrimPrefix(r.Target, "/")
			}
		}
	}
	if workbook == "" || !decode(workbook, &wb) || len(wb.Sheets) == 0 {
		return "", ""
	}
	active := wb.Sheets[0]
	if len(wb.Views) > 0 {
		if i := wb.Views[0].ActiveTab; i >= 0 && i < len(wb.Sheets) && wb.Sheets[i].SheetID != 0 {
			active = wb.Sheets[i]
		}
	}
	rels.Rel = nil
	dir := path.Dir(workbook)
	if !decode(path.Join(dir, "_rels", path.Base(workbook)+".rels"), &rels) {
		return active.Name, ""
	}
	for _, r := range rels.Rel {
		if r.ID != active.RID {
			continue
		}
		p := path.Join(dir, r.Target)
		if strings.HasPrefix(r.Target, "/") {
			p = strings.TrimPrefix(path.Clean(r.Target), "/")
		}
		if _, ok := c.parts[p]; ok {
			return active.Name, p
		}
	}
	return active.Name, ""
}

// sheetScan is the outcome of scanning a sheet.
type sheetScan struct {
	rows int // number of the last row with something in it
}

// scanAll scans every sheet of the workbook for bombs, when the one that
// will be read is not known.
func (c *xlsxCheck) scanAll() error {
	for name, zf := range c.parts {
		if strings.HasPrefix(strings.ToLower(name), "xl/worksheets/sheet") && !zf.FileInfo().IsDir() {
			if _, err := c.scanSheet(zf, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// scanSheet measures each row of a sheet as excelize will build it: the
// text of its cells, each shared string as often as it is referenced, a
// styled cell as its number format may write it. With rows set it also
// holds the sheet to max_rows, so that a file over it fails before any of
// its rows is committed.
func (c *xlsxCheck) scanSheet(zf *zip.File, rows bool) (sheetScan, error) {
	var out sheetScan
	s, done, err := c.scanner(zf, 64)
	if err != nil {
		return out, err
	}
	defer done()
	var (
		row, col, maxCol      int
		inRow, inCell         bool
		rowSize, total, ahead int64
		rowHas, cellHas       bool
		shared, styled        bool
		cellStart             int64
		index                 int // the <v> of a shared string cell; noIndex, or badIndex if unreadable
		first                 int // the first row with something in it: the header
		// What the attributes of the tag just read said.
		attrRow, attrCol       int
		attrShared, attrStyled bool
	)
	const noIndex, badIndex = -2, -1
	attr := func(tag, name, value []byte, long bool) {
		switch {
		// On the bytes, not strings: a string per attribute was a third
		// of the allocations of an import.
		case string(tag) == "row" && string(name) == "r":
			if n, err := strconv.Atoi(string(xmlValue(value))); err == nil && n > 0 && !long {
				attrRow = n
			}
		case string(tag) != "c":
		case string(name) == "r":
			if !long {
				attrCol = columnOf(xmlValue(value))
			}
		case string(name) == "t":
			attrShared = long || string(xmlValue(value)) == "s" // a value cut short costs the most
		case string(name) == "s":
			v := bytes.TrimSpace(xmlValue(value))
			attrStyled = long || len(bytes.Trim(v, "0")) > 0
		}
	}
	endRow := func() error {
		if !inRow {
			return nil
		}
		inRow = false
		size := rowSize + cellOverhead*int64(maxCol)
		if size > hardRowBytes {
			return fileErrorf("工作表第 %d 行解开后超过 %s：这不是问卷导出文件；请从问卷平台重新导出",
				"row %d of the sheet unpacks to more than %s: not a survey export; export the results again from the survey platform",
				row, byteSize(hardRowBytes))
		}
		if total += size; total > c.unzipLimit() {
			return fileErrorf("工作表的文本超过 %s（max_file_size 的 %d 倍）：请分批导出问卷结果（例如按日期），或在配置的 [[folder]] 中调大 max_file_size",
				"the sheet's text is more than %s (%d × max_file_size); export the survey results in parts (by date, for example) or raise max_file_size in the [[folder]] config",
				byteSize(c.unzipLimit()), unzipFactor)
		}
		if rowHas {
			out.rows = row
			if first == 0 {
				first = row
			}
			if rows && row > c.lim.rows {
				return maxRowsError(c.lim.rows)
			}
		}
		if first > 0 && row <= first+sampleRows+2 {
			if ahead += size; ahead > aheadBytes {
				return fileErrorf("工作表第 %d 至 %d 行解开后超过 %s：这不是问卷导出文件；请从问卷平台重新导出",
					"rows %d to %d of the sheet unpack to more than %s: not a survey export; export the results again from the survey platform",
					first, row, byteSize(aheadBytes))
			}
		}
		return nil
	}
	for {
		attrRow, attrCol, attrShared, attrStyled = 0, 0, false, false
		t, err := s.next(attr)
		if err == io.EOF {
			return out, endRow()
		}
		if err != nil {
			return out, c.partError(zf, err)
		}
		if inCell && s.textSet {
			cellHas = true
		}
		switch name := string(t.name); {
		case name == "row" && !t.end:
			if err := endRow(); err != nil {
				return out, err
			}
			inRow, rowSize, rowHas, col, maxCol = true, 0, false, 0, 0
			if row++; attrRow > 0 {
				row = attrRow
			}
			if t.empty {
				if err := endRow(); err != nil {
					return out, err
				}
			}
		case name == "row":
			if err := endRow(); err != nil {
				return out, err
			}
		case name == "c" && !t.end:
			if col++; attrCol > 0 {
				col = attrCol
			}
			maxCol = max(maxCol, col)
			inCell, cellHas, cellStart, index = !t.empty, false, t.stop, noIndex
			shared, styled = attrShared, attrStyled
		case name == "v" && t.end && inCell:
			index = badIndex
			if s.textLen <= int64(len(s.text)) && !s.cdata {
				// excelize reads what is not a number as index 0.
				index, _ = strconv.Atoi(strings.TrimSpace(xmlUnescape(s.text)))
			}
		case name == "c" && t.end && inCell:
			inCell = false
			value := t.start - cellStart
			if value > maxXMLItem {
				return out, textTooLong()
			}
			if shared {
				switch {
				case index == badIndex:
					value = c.sstMax
				case index >= 0 && index < len(c.sst):
					value = int64(c.sst[index])
				}
			}
			if styled {
				value = value*max(c.fmtText, 1) + c.fmtLen
			}
			rowSize += value
			rowHas = rowHas || cellHas
		}
	}
}

func maxRowsError(limit int) error {
	return fileErrorf("工作表超过 max_rows（%d 行）：请分批导出问卷结果（例如按日期），或在配置的 [[folder]] 中调大 max_rows",
		"the sheet has more than max_rows (%d) rows; export the survey results in parts (by date, for example) or raise max_rows in the [[folder]] config",
		limit)
}

// columnOf is the column number of a cell reference such as "AB12"; 0 if
// there is none.
func columnOf[T string | []byte](ref T) int {
	n := 0
	for i := 0; i < len(ref); i++ {
		switch r := ref[i]; {
		case r >= 'A' && r <= 'Z':
			n = n*26 + int(r-'A') + 1
		case r >= 'a' && r <= 'z':
			n = n*26 + int(r-'a') + 1
		case r == '$':
		default:
			return n
		}
		if n > 1<<20 {
			return 0
		}
	}
	return n
}

// zipDirectorySize reads the size of the zip's central directory from its
// end record, before archive/zip reads the directory whole.
func zipDirectorySize(r io.ReaderAt, size int64) (uint64, error) {
	const endLen, locatorLen = 22, 20
	tail := min(size, endLen+65535)
	buf := make([]byte, tail)
	if _, err := r.ReadAt(buf, size-tail); err != nil && err != io.EOF {
		return 0, err
	}
	i := bytes.LastIndex(buf, []byte("PK\x05\x06"))
	if i < 0 || len(buf)-i < endLen {
		return 0, zip.ErrFormat
	}
	records := binary.LittleEndian.Uint16(buf[i+10:])
	dir := uint64(binary.LittleEndian.Uint32(buf[i+12:]))
	offset := binary.LittleEndian.Uint32(buf[i+16:])
	if records != 0xffff && dir != 0xffffffff && offset != 0xffffffff {
		return dir, nil
	}
	// Zip64: the locator before the end record points to the zip64 end.
	at := size - tail + int64(i) - locatorLen
	loc := make([]byte, locatorLen)
	if at < 0 {
		return 0, zip.ErrFormat
	}
	if _, err := r.ReadAt(loc, at); err != nil || !bytes.HasPrefix(loc, []byte("PK\x06\x07")) {
		return dir, nil // archive/zip reads it as a plain zip too
	}
	end := make([]byte, 56)
	if _, err := r.ReadAt(end, int64(binary.LittleEndian.Uint64(loc[8:]))); err != nil || !bytes.HasPrefix(end, []byte("PK\x06\x06")) {
		return 0, zip.ErrFormat
	}
	return binary.LittleEndian.Uint64(end[40:]), nil
}

// xmlUnescape decodes the entities of a short XML value as encoding/xml
// does (&#115; is "s").
func xmlUnescape(b []byte) string { return string(xmlValue(b)) }

// xmlValue is xmlUnescape as bytes: b itself when it holds no entity.
func xmlValue(b []byte) []byte {
	if bytes.IndexByte(b, '&') < 0 {
		return b
	}
	return []byte(html.UnescapeString(string(b)))
}
