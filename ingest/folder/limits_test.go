package folder_test

import (
	"archive/zip"
	"bufio"
	"compress/flate"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/ingest/folder"
	"github.com/demandd/demandd/internal/fixture"
	"github.com/demandd/demandd/internal/i18n"
	"github.com/demandd/demandd/internal/testenv"
	"github.com/demandd/demandd/store"
)

// watchLimits is watch with the folder's configuration changed by set.
func watchLimits(t *testing.T, url string, set func(*folder.Config)) *watched {
	t.Helper()
	env := testenv.New(t, url, nil)
	dir := t.TempDir()
	w := &watched{Env: env, dir: dir, processed: filepath.Join(dir, "processed"), failed: filepath.Join(dir, "failed"),
		logs: &logRecorder{}}
	cfg := folder.Config{Name: "inbox", Path: dir, StableFor: 300 * time.Millisecond, Rescan: time.Second,
		Origin: demand.OriginRaised, BatchSize: 50, Location: testenv.Shanghai, Locale: i18n.EN, Logger: slog.New(w.logs)}
	if set != nil {
		set(&cfg)
	}
	src, err := folder.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	env.Run(t, src)
	return w
}

// peakHeap samples the heap in use until the test ends, when it fails the
// test if the peak went over limit.
func peakHeap(t *testing.T, limit uint64) {
	runtime.GC()
	var peak uint64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapInuse)
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() {
		close(stop)
		<-done
		t.Logf("peak heap in use: %d MB", peak>>20)
		if peak > limit {
			t.Errorf("peak heap in use %d MB, want under %d MB", peak>>20, limit>>20)
		}
	})
}

// A workbook part: its name, what writes its content, and how it is
// packed: deflate at its fastest unless bomb (packed as tight as deflate
// goes, as a zip bomb is) or stored.
type part struct {
	name         string
	write        func(w *bufio.Writer)
	bomb, stored bool
}

func text(s string) func(*bufio.Writer) { return func(w *bufio.Writer) { w.WriteString(s) } }

// repeat writes s n times.
func repeat(s string, n int) func(*bufio.Writer) {
	return func(w *bufio.Writer) {
		for range n {
			w.WriteString(s)
		}
	}
}

// noisy writes n bytes of 'a' with a varying letter every 16 bytes: text
// that deflate packs about 10:1, far from a bomb's ratio.
func noisy(n int) func(*bufio.Writer) {
	return func(w *bufio.Writer) {
		x := uint32(1)
		for i := range n {
			c := byte('a')
			if i%16 == 0 {
				x = x*1664525 + 1013904223
				c = 'a' + byte(x>>24)%26
			}
			w.WriteByte(c)
		}
	}
}

func seq(fs ...func(*bufio.Writer)) func(*bufio.Writer) {
	return func(w *bufio.Writer) {
		for _, f := range fs {
			f(w)
		}
	}
}

const (
	xmlHead = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n"
	mainNS  = `xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"`
)

// writeWorkbook writes a workbook by hand, as a zip bomb is made: the
// package parts of one sheet, then parts (a part named like a package
// part replaces it).
func writeWorkbook(path string, parts ...part) error {
	base := []part{
		{name: "[Content_Types].xml", write: text(xmlHead + `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>`)},
		{name: "_rels/.rels", write: text(xmlHead + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`)},
		{name: "xl/workbook.xml", write: text(xmlHead + `<workbook ` + mainNS + ` xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>`)},
		{name: "xl/_rels/workbook.xml.rels", write: text(xmlHead + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>`)},
		{name: "xl/worksheets/sheet1.xml", write: sheetXML(`<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s"><v>1</v></c></row>`)},
		{name: "xl/sharedStrings.xml", write: sstXML(`<si><t>需求描述</t></si><si><t>系统登录很慢，请尽快处理</t></si>`)},
	}
	for _, p := range parts {
		if i := slices.IndexFunc(base, func(b part) bool { return b.name == p.name }); i >= 0 {
			base[i] = p
		} else {
			base = append(base, p)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(f)
	const tight = 99 // a method of this test's own: deflate at its tightest
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, flate.BestSpeed) })
	zw.RegisterCompressor(tight, func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, flate.DefaultCompression) })
	for _, p := range base {
		h := &zip.FileHeader{Name: p.name, Method: zip.Deflate}
		switch {
		case p.stored:
			h.Method = zip.Store
		case p.bomb:
			h.Method = tight
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		bw := bufio.NewWriterSize(w, 1<<20)
		p.write(bw)
		if err := bw.Flush(); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Close()
}

func sheetXML(rows ...string) func(*bufio.Writer) { return sheetWith(text(strings.Join(rows, ""))) }

func sheetWith(rows func(*bufio.Writer)) func(*bufio.Writer) {
	return seq(text(xmlHead+`<worksheet `+mainNS+`><sheetData>`), rows, text(`</sheetData></worksheet>`))
}

// sstXML is the shared strings part: "需求描述" and a description first,
// then items.
func sstXML(items ...string) func(*bufio.Writer) {
	return sstWith(text(strings.Join(items, "")))
}

func sstWith(items func(*bufio.Writer)) func(*bufio.Writer) {
	return seq(text(xmlHead+`<sst `+mainNS+`><si><t>需求描述</t></si><si><t>系统登录很慢，请尽快处理</t></si>`), items, text(`</sst>`))
}

// TestZipBombsFailWithLimitNamed drops the bombs of the issue, and their
// cousins that stay under a bomb's compression ratio, into one folder with
// the default limits: each goes to failed/ with the limit it exceeds
// named, and none costs the daemon more than a few megabytes (each of
// them took gigabytes before the limits).
func TestZipBombsFailWithLimitNamed(t *testing.T) {
	w := watchLimits(t, testenv.Backends[0].URL(t), nil)
	type bomb struct {
		name  string
		parts []part
		want  []string
	}
	bombs := []bomb{
		{"sst-one-string.xlsx", // 16 MB of "a" in one shared string, 16 KB zipped
			[]part{{name: "xl/sharedStrings.xml", bomb: true,
				write: sstWith(seq(text(`<si><t>`), repeat(strings.Repeat("a", 1<<20), 16), text(`</t></si>`)))}},
			[]string{"xl/sharedStrings.xml", "16 MB", "more than the 1000:1 limit", "zip bomb"}},
		{"sst-long-string.xlsx", // 2 MB in one shared string, zipped 10:1
			[]part{{name: "xl/sharedStrings.xml", write: sstWith(seq(text(`<si><t>`), noisy(2<<20), text(`</t></si>`)))}},
			[]string{"a cell, text or tag of more than 1 MB"}},
		{"sst-rich-text.xlsx", // 1.1 MB of rich text runs in one shared string (15 MB took 280 MB)
			[]part{{name: "xl/sharedStrings.xml", write: sstWith(seq(text(`<si>`), repeat(`<r><t>a</t></r>`, 70_000), text(`</si>`)))}},
			[]string{"a cell, text or tag of more than 1 MB"}},
		{"sst-many-strings.xlsx", // 2,100,000 tiny shared strings (36 MB, 90 KB zipped)
			[]part{{name: "xl/sharedStrings.xml", write: sstWith(repeat(`<si><t>a</t></si>`, 2_100_000))}},
			[]string{"more than 2000000 distinct texts"}},
		{"custom-bomb.xlsx", // a 16 MB docProps/custom.xml, 16 KB zipped
			[]part{{name: "docProps/custom.xml", bomb: true, write: seq(text(xmlHead+`<Properties><property name="x"><lpwstr>`),
				repeat(strings.Repeat("a", 1<<20), 16), text(`</lpwstr></property></Properties>`))}},
			[]string{"docProps/custom.xml", "zip bomb"}},
		{"custom-big.xlsx", // a 34 MB docProps/custom.xml of numbers
			[]part{{name: "docProps/custom.xml", write: seq(text(xmlHead+`<Properties><property name="x"><lpwstr>`),
				func(w *bufio.Writer) {
					for i := range 1_100_000 {
						fmt.Fprintf(w, "%032d", i)
					}
				}, text(`</lpwstr></property></Properties>`))}},
			[]string{"read into memory", "docProps/custom.xml", "more than the 32 MB limit"}},
		{"references.xlsx", // one 9 KB string in 16,000 cells of a row: 144 MB once read
			[]part{
				{name: "xl/sharedStrings.xml", write: sstXML(`<si><t>` + strings.Repeat("字", 3000) + `</t></si>`)},
				{name: "xl/worksheets/sheet1.xml", write: sheetXML(`<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2">`,
					strings.Repeat(`<c t="s"><v>2</v></c>`, 16000), `</row>`)},
			},
			[]string{"row 2 of the sheet unpacks to more than 16 MB"}},
		{"disguised.xlsx", // the same with prefixed names, an entity for "s", a comment and spaces in the index
			[]part{
				{name: "xl/sharedStrings.xml", write: sstXML(`<si><t>` + strings.Repeat("字", 3000) + `</t></si>`)},
				{name: "xl/worksheets/sheet1.xml", write: text(xmlHead + `<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData>` +
					`<x:row r="1"><x:c r="A1" t="s"><x:v>0</x:v></x:c></x:row><x:row r="2">` +
					strings.Repeat(`<x:c t="&#115;"><!-- --><x:v> 2 </x:v></x:c>`, 16000) + `</x:row></x:sheetData></x:worksheet>`)},
			},
			[]string{"row 2 of the sheet unpacks to more than 16 MB"}},
		{"inline.xlsx", // a 2 MB cell in the sheet
			[]part{{name: "xl/worksheets/sheet1.xml", write: sheetWith(seq(text(`<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>`),
				noisy(2<<20), text(`</t></is></c></row>`)))}},
			[]string{"a cell, text or tag of more than 1 MB"}},
		{"format.xlsx", // a number format writing its cell's 10 KB 2,000 times
			[]part{
				{name: "xl/styles.xml", write: text(xmlHead + `<styleSheet ` + mainNS + `><numFmts count="1"><numFmt numFmtId="200" formatCode="` +
					strings.Repeat("@", 2000) + `"/></numFmts><cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="200" applyNumberFormat="1"/></cellXfs></styleSheet>`)},
				{name: "xl/sharedStrings.xml", write: sstXML(`<si><t>` + strings.Repeat("b", 10000) + `</t></si>`)},
				{name: "xl/worksheets/sheet1.xml", write: sheetXML(`<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" s="1" t="s"><v>2</v></c></row>`)},
			},
			[]string{"row 2 of the sheet unpacks to more than 16 MB"}},
		{"styles.xlsx", // 2 MB of cell formats: 40 MB once decoded
			[]part{{name: "xl/styles.xml", write: seq(text(xmlHead+`<styleSheet `+mainNS+`><cellXfs>`), func(w *bufio.Writer) {
				for i := range 120_000 {
					fmt.Fprintf(w, `<xf numFmtId="%d"/>`, i%5000)
				}
			}, text(`</cellXfs></styleSheet>`))}},
			[]string{"xl/styles.xml", "more than the 1 MB limit for that part"}},
		{"parts.xlsx", // 10,001 empty parts
			[]part{{name: "docProps/many/0.xml", write: func(*bufio.Writer) {}, stored: true}},
			nil}, // written below
		{"active-tab.xlsx", // an active tab excelize indexes with, unchecked
			[]part{{name: "xl/workbook.xml", write: text(xmlHead + `<workbook ` + mainNS + ` xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><bookViews><workbookView activeTab="-1"/></bookViews><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>`)}},
			[]string{"cannot be read"}},
	}
	many := &bombs[slices.IndexFunc(bombs, func(b bomb) bool { return b.name == "parts.xlsx" })]
	for i := range 10_000 {
		many.parts = append(many.parts, part{name: fmt.Sprintf("docProps/many/%d.xml", i+1), write: func(*bufio.Writer) {}, stored: true})
	}
	many.want = []string{fmt.Sprintf("%d parts, more than the 10000 limit", 6+len(many.parts))}
	// Written first, so that the heap measured is the daemon's.
	made := t.TempDir()
	for _, b := range bombs {
		if err := writeWorkbook(filepath.Join(made, b.name), b.parts...); err != nil {
			t.Fatal(err)
		}
	}
	peakHeap(t, 200<<20)
	for _, b := range bombs {
		if err := os.Rename(filepath.Join(made, b.name), filepath.Join(w.dir, b.name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range bombs {
		msg := w.waitFailed(t, b.name)
		t.Logf("%s: %s", b.name, strings.TrimSpace(msg))
		for _, want := range b.want {
			if !strings.Contains(msg, want) {
				t.Errorf("%s: %q, want it to say %q", b.name, msg, want)
			}
		}
	}
	if c := w.Counts(t); c.Raw != 0 {
		t.Errorf("counts %+v: a bomb's rows were stored", c)
	}
	if w.logs.saw("will retry") {
		t.Error("a bomb was taken for a transient failure")
	}
}

// TestFileOverLimitsFails sets the limits low: a file over max_file_size,
// a workbook unpacking to more than ten times it, and files over max_rows
// go to failed/ with the limit named. An .xlsx is refused before any row
// is committed; a CSV keeps the rows up to the limit.
func TestFileOverLimitsFails(t *testing.T) {
	forBackends(t, func(t *testing.T, url string) {
		w := watchLimits(t, url, func(c *folder.Config) {
			c.MaxFileSize, c.MaxRows, c.BatchSize = 100<<10, 10, 4
		})
		w.drop(t, "big.csv", func(p string) error {
			return fixture.WriteCSV(p, fixture.WJXHeader, 1000, fixture.WJXRow, false, false)
		})
		w.drop(t, "unpacks.xlsx", func(p string) error { // a few KB unpacking to 1.2 MB, a normal ratio
			return writeWorkbook(p, part{name: "xl/worksheets/sheet1.xml", write: sheetWith(seq(text(`<row r="1"><c r="A1" t="s"><v>0</v></c></row>`),
				func(w *bufio.Writer) {
					for i := range 10_000 {
						fmt.Fprintf(w, `<row r="%d"><c r="A%[1]d" t="inlineStr"><is><t>%s</t></is></c></row>`, i+2, strings.Repeat("z", 60))
					}
				}))})
		})
		w.drop(t, "rows.xlsx", func(p string) error { return fixture.WriteWJX(p, 20) })
		w.drop(t, "rows.csv", func(p string) error { return fixture.WriteCSV(p, fixture.WJXHeader, 20, fixture.WJXRow, false, false) })
		for name, want := range map[string]string{
			"big.csv":      "more than max_file_size (100 KB)",
			"unpacks.xlsx": "more than the 1000 KB limit (10 × max_file_size)",
			"rows.xlsx":    "more than max_rows (10) rows",
			"rows.csv":     "rows up to 10 were imported",
		} {
			if msg := w.waitFailed(t, name); !strings.Contains(msg, want) {
				t.Errorf("%s: %q, want it to say %q", name, msg, want)
			}
		}
		// Rows 2 to 10 of rows.csv, none of rows.xlsx.
		if c := w.Counts(t); c.Raw != 9 || c.Demands != 9 {
			t.Errorf("counts %+v, want the 9 answers of rows.csv under max_rows", c)
		}
		for _, r := range w.Records(t) {
			if !strings.HasPrefix(r.Source.ExternalRef, "rows.csv") {
				t.Errorf("record from %s", r.Source.ExternalRef)
			}
		}
	})
}

// TestLongCellCutOnRecord: a description over max_cell (64 KB by default)
// is cut on the record and flagged; the raw row keeps it whole, in either
// database.
func TestLongCellCutOnRecord(t *testing.T) {
	forBackends(t, func(t *testing.T, url string) {
		w := watchLimits(t, url, nil)
		long := strings.Repeat("登录很慢，", 6000) // 90 KB, 30,000 characters: an Excel cell holds 32,767
		w.drop(t, "long.xlsx", func(p string) error {
			return fixture.WriteXLSX(p, fixture.WJXHeader, 3, func(n int) []string {
				r := fixture.WJXRow(n)
				if n == 2 {
					r[10] = long
				}
				return r
			})
		})
		w.waitProcessed(t, 1)
		var cut *demand.Record
		for _, r := range w.Records(t) {
			if strings.HasPrefix(r.Description.Text, "登录很慢") {
				cut = r
			} else if slices.Contains(r.Flags, demand.FlagCellCut) {
				t.Errorf("%s flagged %v", r.Source.ExternalRef, r.Flags)
			}
		}
		if cut == nil {
			t.Fatal("the long row made no record")
		}
		if n := len(cut.Description.Text); n > folder.DefaultMaxCell || n < folder.DefaultMaxCell-4 || !strings.HasPrefix(long, cut.Description.Text) {
			t.Errorf("description of %d bytes, want the first %d of the cell", n, folder.DefaultMaxCell)
		}
		if !slices.Contains(cut.Flags, demand.FlagCellCut) {
			t.Errorf("flags %v, want %s", cut.Flags, demand.FlagCellCut)
		}
		raw, err := w.Store.RawItem(context.Background(), cut.RawItemID)
		if err != nil || !strings.Contains(string(raw.Body), long) {
			t.Errorf("raw row does not keep the cell whole (%d bytes, %v)", len(raw.Body), err)
		}
	})
}

// TestHugeRowQuarantined: a CSV row over 4 MB is stored quarantined with
// its cells cut, the reason saying so; the rows around it are imported and
// the file is processed, not retried.
func TestHugeRowQuarantined(t *testing.T) {
	forBackends(t, func(t *testing.T, url string) {
		w := watchLimits(t, url, nil)
		huge := strings.Repeat("x", 5<<20)
		w.drop(t, "huge.csv", func(p string) error {
			return fixture.WriteCSV(p, fixture.WJXHeader, 3, func(n int) []string {
				r := fixture.WJXRow(n)
				if n == 2 {
					r[10] = huge
				}
				return r
			}, false, false)
		})
		w.waitProcessed(t, 1)
		if c := w.Counts(t); c.Demands != 2 || c.Quarantined != 1 {
			t.Fatalf("counts %+v, want 2 demands and the huge row quarantined", c)
		}
		items, err := w.Store.RawItems(context.Background(), store.RawQuarantined, 0)
		if err != nil || len(items) != 1 || !strings.Contains(items[0].Reason, "more than the 4 MB a row may hold") ||
			!strings.Contains(items[0].Ref, "第3行") {
			t.Fatalf("quarantined %+v %v", items, err)
		}
		raw, err := w.Store.RawItem(context.Background(), items[0].ID)
		if err != nil || len(raw.Body) > 1<<20 || !strings.Contains(string(raw.Body), strings.Repeat("x", folder.DefaultMaxCell)) {
			t.Errorf("raw body of %d bytes, want the cells cut to max_cell: %v", len(raw.Body), err)
		}
	})
}

// TestNULInHeaderStored: content that a database refuses must not fail a
// commit, which is retried forever; a NUL in a CSV header (PostgreSQL
// refuses it in jsonb and text) is dropped from the record and from the
// reason a row is quarantined with.
func TestNULInHeaderStored(t *testing.T) {
	forBackends(t, func(t *testing.T, url string) {
		w := watchLimits(t, url, nil)
		w.dropBytes(t, "nul.csv", []byte("需求\x00描述,备\x00注,联系人\n系统登录很慢,x\x00y,张三\n,没有描述,李四\n"))
		w.waitProcessed(t, 1)
		if c := w.Counts(t); c.Demands != 1 || c.Quarantined != 1 {
			t.Errorf("counts %+v, want a demand and a row without description", c)
		}
		if w.logs.saw("will retry") {
			t.Error("the file was retried")
		}
		if recs := w.Records(t); len(recs) != 1 || len(recs[0].Extra) != 1 || recs[0].Extra[0] != (demand.Attr{Name: "备注", Value: "xy"}) {
			t.Errorf("records %+v", recs)
		}
		items, err := w.Store.RawItems(context.Background(), store.RawQuarantined, 0)
		if err != nil || len(items) != 1 || !strings.Contains(items[0].Reason, `"需求描述"`) {
			t.Errorf("quarantined %+v %v", items, err)
		}
	})
}
