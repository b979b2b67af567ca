package folder

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/demandd/demandd/internal/fixture"
)

// The parity of sheetRows with excelize: every row of every workbook here
// reads the same through openFastXLSX as through excelize's Rows.Next and
// Rows.Columns, formatted and raw, with the same row numbers.

var parityLimits = limits{fileSize: 1 << 30, rows: 2_000_000, cell: 1 << 20}

// paritySide is one reading of a workbook: its rows and numbers, and the
// error it ended with (nil at the end of the sheet).
type paritySide struct {
	rows [][]string
	nums []int
	err  error
}

func excelizeOpts() excelize.Options {
	return excelize.Options{UnzipSizeLimit: max(unzipFactor*parityLimits.fileSize, unzipXMLLimit), UnzipXMLSizeLimit: unzipXMLLimit}
}

// readExcelize reads path as openXLSX's excelize path does.
func readExcelize(path string, raw bool, maxRows int) (side paritySide) {
	defer func() {
		if p := recover(); p != nil {
			side.err = fmt.Errorf("excelize panicked: %v", p)
		}
	}()
	f, err := excelize.OpenFile(path, excelizeOpts())
	if err != nil {
		side.err = err
		return
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		side.err = errors.New("no sheet")
		return
	}
	sheet := f.GetSheetName(f.GetActiveSheetIndex())
	if sheet == "" {
		sheet = sheets[0]
	}
	rows, err := f.Rows(sheet)
	if err != nil {
		side.err = err
		return
	}
	defer rows.Close()
	n := 0
	for rows.Next() && n < maxRows {
		n++
		cells, err := rows.Columns(excelize.Options{RawCellValue: raw})
		if err != nil {
			side.err = err
			return
		}
		side.rows = append(side.rows, cells)
		side.nums = append(side.nums, n)
	}
	side.err = rows.Error()
	return
}

// readFast reads path with openFastXLSX; fallback reports a workbook left
// to excelize.
func readFast(path string, raw bool, maxRows int) (side paritySide, fallback bool) {
	check, err := checkXLSX(path, parityLimits)
	if err != nil {
		side.err = err
		return
	}
	name, part := check.activeSheet()
	if part != "" {
		_, err = check.scanSheet(check.parts[part], true)
	} else {
		err = check.scanAll()
	}
	if err != nil {
		check.close()
		side.err = err
		return
	}
	xr, err := openFastXLSX(check, name, part, excelizeOpts())
	if err != nil {
		check.close()
		side.err = err
		return side, errors.Is(err, errFallback)
	}
	defer xr.Close()
	xr.raw = raw
	for len(side.rows) < maxRows {
		cells, n, err := xr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			side.err = err
			return
		}
		side.rows = append(side.rows, cells)
		side.nums = append(side.nums, n)
	}
	return
}

type parityStats struct {
	workbooks, rows, cells, fallbacks int
}

// compareWorkbook compares the two readings of path, formatted and raw.
// strict wants both to succeed and the fast reader to read the workbook
// itself; else, where excelize reads the workbook, the fast reader must
// read the same rows or fail with a *FileError.
func compareWorkbook(t testing.TB, path string, strict bool, st *parityStats) {
	t.Helper()
	// A few rows numbered in the millions are a million empty rows to
	// both readers: the fuzzer compares the first rows only.
	maxRows := 1 << 30
	if !strict {
		maxRows = 2000
	}
	for _, raw := range []bool{false, true} {
		want := readExcelize(path, raw, maxRows)
		got, fallback := readFast(path, raw, maxRows)
		if fallback {
			st.fallbacks++
			if strict && want.err == nil {
				t.Errorf("%s: left to excelize, which reads it", filepath.Base(path))
			}
			continue
		}
		if strict && want.err != nil && got.err == nil {
			t.Errorf("%s (raw %v): excelize fails (%v), the fast reader does not", filepath.Base(path), raw, want.err)
			continue
		}
		if strict && got.err != nil {
			t.Errorf("%s (raw %v): excelize: %v; fast: %v", filepath.Base(path), raw, want.err, got.err)
			continue
		}
		if want.err != nil {
			continue // excelize cannot read it: anything goes but a panic
		}
		var fe *FileError
		if got.err != nil && !errors.As(got.err, &fe) {
			t.Errorf("%s (raw %v): fast reader failed with %v, not a *FileError", filepath.Base(path), raw, got.err)
			continue
		}
		n := len(got.rows)
		if got.err == nil && n != len(want.rows) {
			t.Errorf("%s (raw %v): %d rows, excelize %d", filepath.Base(path), raw, n, len(want.rows))
		}
		n = min(n, len(want.rows))
		for i := range n {
			if got.nums[i] != want.nums[i] {
				t.Errorf("%s (raw %v): row %d numbered %d, excelize %d", filepath.Base(path), raw, i, got.nums[i], want.nums[i])
				break
			}
			if !slices.Equal(got.rows[i], want.rows[i]) {
				t.Errorf("%s (raw %v): row %d:\n got %q\nwant %q", filepath.Base(path), raw, want.nums[i], got.rows[i], want.rows[i])
				break
			}
			st.cells += len(want.rows[i])
		}
		st.rows += n
	}
	st.workbooks++
}

// rawWorkbook writes a workbook of hand-written parts; parts replace the
// base ones by name, "" content drops one.
func rawWorkbook(t testing.TB, path string, parts map[string]string) {
	t.Helper()
	base := map[string]string{
		"[Content_Types].xml":        `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n" + `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>`,
		"_rels/.rels":                `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n" + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`,
		"xl/workbook.xml":            rawWorkbookXML(false),
		"xl/_rels/workbook.xml.rels": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n" + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>`,
		"xl/styles.xml":              rawStyles,
		"xl/sharedStrings.xml":       rawSST,
		"xl/worksheets/sheet1.xml":   rawSheet(`<row r="1"><c r="A1" t="s"><v>0</v></c></row>`),
	}
	for name, content := range parts {
		base[name] = content
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	names := make([]string, 0, len(base))
	for name := range base {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if base[name] == "" {
			continue
		}
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, base[name]); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func rawWorkbookXML(date1904 bool) string {
	pr := ""
	if date1904 {
		pr = `<workbookPr date1904="1"/>`
	}
	return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n" + `<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">` + pr + `<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>`
}

func rawSheet(rows string) string {
	return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n" + `<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><dimension ref="A1"/><sheetData>` + rows + `</sheetData><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>`
}

// rawStyles has a style per kind of number format (see rawStyleIDs).
const rawStyles = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="5"><numFmt numFmtId="164" formatCode="yyyy\-mm\-dd\ hh:mm:ss"/><numFmt numFmtId="165" formatCode="0.000%"/><numFmt numFmtId="166" formatCode="&quot;编号&quot;@&quot;号&quot;"/><numFmt numFmtId="167" formatCode="0.0;[Red]\-0.0;&quot;zero&quot;;&quot;txt:&quot;@"/><numFmt numFmtId="168" formatCode="yyyy&quot;年&quot;m&quot;月&quot;d&quot;日&quot;"/></numFmts><fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts><fills count="1"><fill><patternFill patternType="none"/></fill></fills><borders count="1"><border/></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="17"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="10" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="2" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="166" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="22" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="200" fontId="0" fillId="0" borderId="0" xfId="0"/><xf fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="4" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="27" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="167" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="168" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="21" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="11" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs></styleSheet>`

const rawStyleCount = 17

// rawSST: plain, rich text, phonetic runs, spaces, entities, escapes.
var rawSST = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n" + `<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="12" uniqueCount="12">` +
	`<si><t>需求描述</t></si>` +
	`<si><t xml:space="preserve">  前后有空格  </t></si>` +
	`<si><r><rPr><b/><sz val="11"/><color rgb="FFFF0000"/><rFont val="宋体"/><family val="2"/><charset val="134"/></rPr><t>红色</t></r><r><rPr><i val="0"/><color theme="1" tint="-0.25"/></rPr><t xml:space="preserve"> 斜体</t></r></si>` +
	`<si><t>東京</t><rPh sb="0" eb="2"><t>トウキョウ</t></rPh><phoneticPr fontId="1" type="noConversion"/></si>` +
	`<si><t>a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos; &#20013;&#x6587; &#x1F600;</t></si>` +
	`<si><t>line1` + "\r\n" + `line2` + "\r" + `line3&#13;&#10;x</t></si>` +
	`<si><t>_x000D__x000A_ and _x005F_x0041_ and _xD800_ and _x004</t></si>` +
	`<si><t>12345</t></si>` +
	`<si><t/></si>` +
	`<si><t>0.5</t></si>` +
	`<si><t><![CDATA[<cdata> & ]]></t><!-- comment --><t>second t wins</t></si>` +
	`<si><t>x</t><r><t>run1</t></r><r><rPr/></r><r><t>run3</t></r></si>` +
	`</sst>`

// styleMatrix is a sheet of every kind of cell under every style.
func styleMatrix() string {
	type cell struct{ t, v, extra string }
	var cells []cell
	for _, v := range []string{"0", "1", "-1.5", "44927.5", "45000.75", "0.123456", "3.14159265358979323846", "12345678901234567890",
		"1E+3", "1e-10", "100000000000", "123456789012", "0.1", "-0", "+5", "inf", "NaN", "0x10", "1_000", "abc", "  7", "", "60", "1.5E+300"} {
		cells = append(cells, cell{"", v, ""}, cell{"n", v, ""})
	}
	for i := range 12 {
		cells = append(cells, cell{"s", fmt.Sprint(i), ""})
	}
	cells = append(cells, cell{"s", " 3 ", ""}, cell{"s", "x", ""}, cell{"s", "99", ""}, cell{"s", "-1", ""}, cell{"s", "", ""},
		cell{"str", "formula text", "<f>A1&amp;\"x\"</f>"}, cell{"str", "", "<f>\"\"</f>"}, cell{"", "", "<f>SUM(1)</f>"}, cell{"", "3", "<f t=\"shared\" ref=\"A1:A2\" si=\"0\"/>"},
		cell{"b", "1", ""}, cell{"b", "0", ""}, cell{"b", "true", ""}, cell{"b", "", ""},
		cell{"e", "#DIV/0!", ""}, cell{"e", "#N/A", "<f>NA()</f>"},
		cell{"d", "2024-01-02T03:04:05Z", ""}, cell{"d", "2024-01-02T03:04:05.123", ""}, cell{"d", "20240102T030405Z", ""}, cell{"d", "2024-01-02", ""}, cell{"d", "bad", ""},
		cell{"inlineStr", "", "<is><t>内联 12</t></is>"}, cell{"inlineStr", "", "<is><r><t>富</t></r><r><rPr><b/></rPr><t>文本</t></r></is>"}, cell{"inlineStr", "0.25", ""},
		cell{"inlineStr", "", "<is><t>_x0041_</t></is>"}, cell{"inlineStr", "", "<is/>"}, cell{"x", "5", ""})
	var b strings.Builder
	row := 0
	for s := range rawStyleCount + 2 {
		for i := 0; i < len(cells); i += 12 {
			row++
			fmt.Fprintf(&b, `<row r="%d">`, row)
			for j, c := range cells[i:min(i+12, len(cells))] {
				ref, _ := excelize.CoordinatesToCellName(j+1, row)
				fmt.Fprintf(&b, `<c r="%s" s="%d"`, ref, s)
				if c.t != "" {
					fmt.Fprintf(&b, ` t="%s"`, c.t)
				}
				b.WriteString(">" + c.extra)
				if c.v != "" || c.extra == "" {
					b.WriteString("<v>" + c.v + "</v>")
				}
				b.WriteString("</c>")
			}
			b.WriteString("</row>")
		}
	}
	return b.String()
}

// structureSheets are sheets of odd structure, each its own workbook.
var structureSheets = map[string]string{
	"no-r":             `<row><c t="s"><v>0</v></c><c t="s"><v>1</v></c></row><row><c><v>1</v></c><c/><c><v>3</v></c></row><row/><row><c t="s"><v>3</v></c></row>`,
	"gaps":             `<row r="2"><c r="C2" t="s"><v>0</v></c></row><row r="5"><c r="A5"><v>1</v></c><c r="F5"><v>2</v></c></row><row r="6"/><row r="9"><c r="B9" t="s"><v>8</v></c></row>`,
	"mixed-r":          `<row r="3"><c r="B3"><v>1</v></c><c><v>2</v></c><c r="A3"><v>0</v></c><c><v>9</v></c></row><row><c r="D4"><v>4</v></c></row><row r="4"><c><v>dup</v></c></row><row r="2"><c><v>back</v></c></row>`,
	"row-zero":         `<row r="0"><c><v>1</v></c></row><row r="0"><c><v>2</v></c></row><row r="7"><c><v>7</v></c></row>`,
	"empty-cells":      `<row r="1"><c r="A1" s="1"/><c r="B1" t="s"><v>0</v></c><c r="C1" s="3"/><c r="D1" t="str"><v></v></c><c r="E1"/></row><row r="2"><c r="A2" t="inlineStr"><is><t></t></is></c></row>`,
	"wide":             `<row r="1"><c r="A1"><v>1</v></c><c r="XFD1"><v>2</v></c></row><row r="2"><c r="AA2" t="s"><v>0</v></c><c r="ZZ2"><v>3</v></c></row>`,
	"prefixed":         `<x:row r="1" xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:c r="A1" t="s"><x:v>0</x:v></x:c><x:c r="B1"><x:v>2</x:v></x:c></x:row>`,
	"quotes-spaces":    `<row   r = '1'  spans="1:3" ><c r='A1'  t = "s" ><v> 0 </v></c><c r="B1" s='2'><v>45000.5</v></c></row>`,
	"entities":         `<row r="1"><c r="A1" t="inlineStr"><is><t xml:space="preserve"> a&amp;b &#x41;&#66; &lt;&gt; </t></is></c><c r="B1" t="str"><v>x&#13;&#10;y` + "\r\n" + `z` + "\r" + `w</v></c><c r="C1"><v>&#49;&#50;</v></c></row>`,
	"cdata-comments":   `<!-- c --><row r="1"><!-- in row --><c r="A1" t="str"><v><![CDATA[<b>&]]><!-- x -->tail</v></c><c r="B1"><v>1<!-- c -->2</v></c></row>`,
	"nested-v":         `<row r="1"><c r="A1" t="str"><v>keep<x>drop</x>this</v></c><c r="B1"><extLst><v>9</v></extLst></c><c r="C1"><v>1</v><v>2</v></c></row>`,
	"formula-only":     `<row r="1"><c r="A1"><f>1+1</f></c><c r="C1" t="str"><f>""</f><v></v></c><c r="D1" s="5"><f/></c></row><row r="2"><c r="B2"><f aca="1" ca="true" si="1"/></c></row>`,
	"bad-s":            `<row r="1"><c r="A1" s="x" t="s"><v>0</v></c><c r="B1" t="s" s=""><v>1</v></c><c r="C1"><v>3</v></c></row>`,
	"chinese":          `<row r="1"><c r="A1" t="inlineStr"><is><t>序号</t></is></c><c r="B1" t="inlineStr"><is><t>提交答卷时间</t></is></c></row><row r="2"><c r="A2"><v>1</v></c><c r="B2" t="inlineStr"><is><t>2026/11/01 08:00:37</t></is></c><c r="C2" t="inlineStr"><is><t>性能┋稳定性〖培训〗</t></is></c></row>`,
	"after-sheetData":  ``, // see structureWorkbook
	"empty-sheetData":  ``,
	"lowercase-ref":    `<row r="1"><c r="b1"><v>1</v></c><c r="$C$1"><v>2</v></c></row>`,
	"formula-bad-attr": `<row r="1"><c r="A1"><v>5</v><f ca="maybe">X</f><v>6</v></c><c r="B1"><v>7</v></c></row>`,
	"phonetic-inline":  `<row r="1"><c r="A1" t="inlineStr"><is><t>漢字</t><rPh sb="0" eb="1"><t>かんじ</t></rPh></is></c></row>`,
	"bool-raw":         `<row r="1"><c r="A1" t="b" s="1"><v>1</v></c><c r="B1" t="b" s="7"><v>2</v></c></row>`,
}

func structureWorkbook(t testing.TB, dir, name, rows string) string {
	path := filepath.Join(dir, name+".xlsx")
	sheet := rawSheet(rows)
	switch name {
	case "after-sheetData":
		sheet = `<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1"><v>1</v></c></row></sheetData><extLst><row r="5"><c><v>after</v></c></row></extLst></worksheet>`
	case "empty-sheetData":
		sheet = `<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData/></worksheet>`
	}
	rawWorkbook(t, path, map[string]string{"xl/worksheets/sheet1.xml": sheet})
	return path
}

// apiWorkbooks writes workbooks with excelize's own API.
func apiWorkbooks(t testing.TB, dir string) []string {
	var paths []string
	for _, date1904 := range []bool{false, true} {
		f := excelize.NewFile()
		if date1904 {
			if err := f.SetWorkbookProps(&excelize.WorkbookPropsOptions{Date1904: &date1904}); err != nil {
				t.Fatal(err)
			}
		}
		sheet := f.GetSheetName(0)
		set := func(ref string, v any) {
			if err := f.SetCellValue(sheet, ref, v); err != nil {
				t.Fatal(err)
			}
		}
		style := func(s *excelize.Style) int {
			id, err := f.NewStyle(s)
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
		code := `yyyy"年"m"月"d"日" hh:mm`
		styles := []int{
			style(&excelize.Style{NumFmt: 14}), style(&excelize.Style{NumFmt: 22}), style(&excelize.Style{NumFmt: 10}),
			style(&excelize.Style{NumFmt: 2}), style(&excelize.Style{NumFmt: 49}), style(&excelize.Style{CustomNumFmt: &code}),
			style(&excelize.Style{NumFmt: 3}), style(&excelize.Style{Font: &excelize.Font{Bold: true}}),
		}
		values := []any{44927.25, 0.5, 1, -3.75, 1234567.891, "文本", "12", true, false, 0.123456789, 1e15, 45292}
		for i, s := range styles {
			for j, v := range values {
				ref, _ := excelize.CoordinatesToCellName(j+1, i+1)
				set(ref, v)
				if err := f.SetCellStyle(sheet, ref, ref, s); err != nil {
					t.Fatal(err)
				}
			}
		}
		set("A20", "  leading and trailing  ")
		set("B20", "line\r\nbreak")
		set("C20", "a&b<c>")
		set("D22", 3.5)
		set("F25", "gap")
		if err := f.SetCellFormula(sheet, "A30", `CONCATENATE("a","b")`); err != nil {
			t.Fatal(err)
		}
		if err := f.SetCellFormula(sheet, "B30", "1+2"); err != nil {
			t.Fatal(err)
		}
		if err := f.SetCellRichText(sheet, "C30", []excelize.RichTextRun{{Text: "粗", Font: &excelize.Font{Bold: true}}, {Text: "体 text", Font: &excelize.Font{Color: "FF0000"}}}); err != nil {
			t.Fatal(err)
		}
		if err := f.SetCellStr(sheet, "D30", "_x0041_ literal"); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, fmt.Sprintf("api-1904-%v.xlsx", date1904))
		if err := f.SaveAs(path); err != nil {
			t.Fatal(err)
		}
		f.Close()
		paths = append(paths, path)
	}
	// A streamed workbook of every type, as the fixtures write.
	f := excelize.NewFile()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 50; i++ {
		ref, _ := excelize.CoordinatesToCellName(1, i*2)
		if err := sw.SetRow(ref, []any{i, float64(i) / 7, "行" + fmt.Sprint(i), i%2 == 0, nil, "", excelize.Cell{Formula: "A1+1", Value: i}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := sw.Flush(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "stream.xlsx")
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return append(paths, path)
}

func TestSheetRowsParity(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	// Hand-written parts: every kind of cell under every style, in both
	// date systems; odd structures.
	for _, date1904 := range []bool{false, true} {
		path := filepath.Join(dir, fmt.Sprintf("matrix-1904-%v.xlsx", date1904))
		rawWorkbook(t, path, map[string]string{"xl/worksheets/sheet1.xml": rawSheet(styleMatrix()), "xl/workbook.xml": rawWorkbookXML(date1904)})
		paths = append(paths, path)
	}
	for name, rows := range structureSheets {
		paths = append(paths, structureWorkbook(t, dir, name, rows))
	}
	// excelize's API.
	paths = append(paths, apiWorkbooks(t, dir)...)
	// The fixtures the package's tests drop.
	for _, w := range []struct {
		name  string
		write func(string) error
	}{
		{"wjx-120.xlsx", func(p string) error { return fixture.WriteWJX(p, 120) }},
		{"msforms-30.xlsx", func(p string) error { return fixture.WriteXLSX(p, fixture.MSFormsHeader, 30, fixture.MSFormsRow) }},
	} {
		p := filepath.Join(dir, w.name)
		if err := w.write(p); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	// The legacy workbooks of testdata as Excel saves them as .xlsx.
	xls, _ := filepath.Glob("testdata/*.xls")
	for _, p := range xls {
		out := filepath.Join(dir, strings.TrimSuffix(filepath.Base(p), ".xls")+".xlsx")
		writeAsXLSX(t, p, out)
		paths = append(paths, out)
	}
	// Workbooks saved by other programs: excelize's test files, LibreOffice.
	saved, _ := filepath.Glob("testdata/xlsx/*.xlsx")
	paths = append(paths, saved...)

	var st parityStats
	for _, p := range paths {
		compareWorkbook(t, p, true, &st)
	}
	t.Logf("%d workbooks, %d rows, %d cells compared (formatted and raw)", st.workbooks, st.rows, st.cells)
}
