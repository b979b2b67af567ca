package folder_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/ingest/folder"
	"github.com/demandd/demandd/internal/fixture"
	"github.com/demandd/demandd/internal/testdb"
	"github.com/demandd/demandd/internal/testenv"
	"github.com/demandd/demandd/store"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// watched runs a folder source over a fresh database until the test ends.
type watched struct {
	*testenv.Env
	dir, processed, failed string
}

func watch(t *testing.T, url string, aliases map[string][]string) *watched {
	t.Helper()
	env := testenv.New(t, url, aliases)
	dir := t.TempDir()
	w := &watched{Env: env, dir: dir, processed: filepath.Join(dir, "processed"), failed: filepath.Join(dir, "failed")}
	src, err := folder.New(folder.Config{Name: "inbox", Path: dir, StableFor: 300 * time.Millisecond, Rescan: time.Second,
		Origin: demand.OriginRaised, BatchSize: 50, Location: testenv.Shanghai})
	if err != nil {
		t.Fatal(err)
	}
	env.Run(t, src)
	return w
}

// processedFiles lists what landed in processed/DATE/.
func (w *watched) processedFiles(t *testing.T) []string {
	t.Helper()
	day := time.Now().In(testenv.Shanghai).Format("2006-01-02")
	entries, _ := os.ReadDir(filepath.Join(w.processed, day))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func (w *watched) waitProcessed(t *testing.T, n int) {
	t.Helper()
	testenv.Eventually(t, 30*time.Second, func() bool { return len(w.processedFiles(t)) == n },
		func() string { return fmt.Sprintf("processed %v, counts %+v", w.processedFiles(t), w.Counts(t)) })
}

func (w *watched) waitFailed(t *testing.T, name string) string {
	t.Helper()
	path := filepath.Join(w.failed, name+".error.txt")
	testenv.Eventually(t, 30*time.Second, func() bool { _, err := os.Stat(path); return err == nil },
		func() string { return "no " + path })
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(w.failed, name)); err != nil {
		t.Errorf("the failed file itself is not kept: %v", err)
	}
	if strings.Count(string(b), "\n") != 1 {
		t.Errorf("error.txt is not one line: %q", b)
	}
	return string(b)
}

func forBackends(t *testing.T, test func(t *testing.T, url string)) {
	for _, b := range testenv.Backends {
		t.Run(b.Name, func(t *testing.T) { test(t, b.URL(t)) })
	}
}

func TestWJXWorkbook(t *testing.T) {
	forBackends(t, func(t *testing.T, url string) {
		w := watch(t, url, nil)
		if err := fixture.WriteWJX(filepath.Join(w.dir, "问卷星_123456_120_0.xlsx"), 120); err != nil {
			t.Fatal(err)
		}
		w.waitProcessed(t, 1)
		recs := w.Records(t)
		if len(recs) != 120 {
			t.Fatalf("%d records, want 120", len(recs))
		}
		r := recs[0]
		want := fixture.WJXRow(1)
		if r.Customer.Contact != want[6] || r.Customer.Name != want[7] || r.Customer.Phone != want[8] || r.Customer.Email != want[9] ||
			r.Description.Text != want[10] {
			t.Errorf("first record %+v %+v, want row %v", r.Customer, r.Description, want)
		}
		if r.Source.Channel != demand.ChannelQuestionnaire || r.Source.Name != "inbox" || !strings.Contains(r.Source.ExternalRef, "第2行") {
			t.Errorf("source %+v", r.Source)
		}
		if r.Code != "DEM"+time.Now().In(testenv.Shanghai).Format("200601")+"001" {
			t.Errorf("code %s", r.Code)
		}
		if r.Urgency != demand.UrgencyHigh || r.Priority != demand.P1 || r.DueAt.IsZero() { // row 1: 紧急
			t.Errorf("urgency %s priority %s due %v", r.Urgency, r.Priority, r.DueAt)
		}
	})
}

func TestMicrosoftFormsAndGBKCSV(t *testing.T) {
	forBackends(t, func(t *testing.T, url string) {
		w := watch(t, url, nil)
		if err := fixture.WriteXLSX(filepath.Join(w.dir, "Customer requests(1-30).xlsx"), fixture.MSFormsHeader, 30, fixture.MSFormsRow); err != nil {
			t.Fatal(err)
		}
		if err := fixture.WriteCSV(filepath.Join(w.dir, "导出.csv"), fixture.WJXHeader, 40, fixture.WJXRow, true, false); err != nil {
			t.Fatal(err)
		}
		if err := fixture.WriteCSV(filepath.Join(w.dir, "bom.csv"), fixture.WJXHeader, 5, func(n int) []string { return fixture.WJXRow(n + 1000) }, false, true); err != nil {
			t.Fatal(err)
		}
		w.waitProcessed(t, 3)
		recs := w.Records(t)
		if len(recs) != 75 {
			t.Fatalf("%d records, want 75", len(recs))
		}
		byText := map[string]*demand.Record{}
		for _, r := range recs {
			byText[r.Description.Text] = r
		}
		gbk := byText[fixture.WJXRow(7)[10]]
		if gbk == nil || gbk.Customer.Name != fixture.WJXRow(7)[7] {
			t.Errorf("GBK row not decoded: %+v", gbk)
		}
		if byText[fixture.WJXRow(1003)[10]] == nil {
			t.Error("UTF-8 BOM row missing")
		}
		var ms *demand.Record
		for _, r := range recs {
			if strings.HasSuffix(r.Customer.Email, "@contoso.com") {
				ms = r
				break
			}
		}
		if ms == nil || ms.Customer.Contact == "" || ms.Source.ReceivedAt.Year() != 2026 {
			t.Errorf("Microsoft Forms record %+v", ms)
		}
	})
}

func TestBadFilesFailWithReason(t *testing.T) {
	forBackends(t, func(t *testing.T, url string) {
		w := watch(t, url, nil)
		junk := make([]byte, 4096)
		rand.Read(junk)
		write := func(name string, b []byte) {
			if err := os.WriteFile(filepath.Join(w.dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		write("corrupt.xlsx", junk)
		write("empty.csv", nil)
		write("notes.pdf", []byte("%PDF-1.4"))
		write("noheader.csv", []byte("序号,1、手机部数,2、性别\n1,2,男\n"))
		f := excelize.NewFile()
		f.SetCellValue("Sheet1", "A1", "需求描述")
		f.SetCellValue("Sheet1", "A2", "加密的")
		if err := f.SaveAs(filepath.Join(w.dir, "locked.xlsx"), excelize.Options{Password: "secret"}); err != nil {
			t.Fatal(err)
		}
		// Good work next to bad goes on.
		if err := fixture.WriteWJX(filepath.Join(w.dir, "good.xlsx"), 3); err != nil {
			t.Fatal(err)
		}
		for name, want := range map[string]string{
			"corrupt.xlsx": "save it again as .xlsx",
			"empty.csv":    "empty",
			"notes.pdf":    "not a questionnaire export",
			"noheader.csv": "[questionnaire.aliases] description",
			"locked.xlsx":  "password",
		} {
			if msg := w.waitFailed(t, name); !strings.Contains(msg, want) {
				t.Errorf("%s: %q, want it to say %q", name, msg, want)
			}
		}
		w.waitProcessed(t, 1)
		if c := w.Counts(t); c.Demands != 3 {
			t.Errorf("counts %+v, want the 3 good rows", c)
		}
	})
}

func TestSameFileTwiceAddsNothing(t *testing.T) {
	forBackends(t, func(t *testing.T, url string) {
		w := watch(t, url, nil)
		a := filepath.Join(t.TempDir(), "a.xlsx")
		if err := fixture.WriteWJX(a, 25); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(a)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(w.dir, "第一次.xlsx"), b, 0o644)
		w.waitProcessed(t, 1)
		os.WriteFile(filepath.Join(w.dir, "copy of 第一次.xlsx"), b, 0o644)
		w.waitProcessed(t, 2)
		if c := w.Counts(t); c.Demands != 25 || c.Raw != 25 {
			t.Errorf("counts %+v, want 25 demands from two copies", c)
		}
	})
}

func TestRowWithoutDescriptionQuarantined(t *testing.T) {
	forBackends(t, func(t *testing.T, url string) {
		w := watch(t, url, nil)
		err := fixture.WriteXLSX(filepath.Join(w.dir, "q.xlsx"), fixture.WJXHeader, 10, func(n int) []string {
			r := fixture.WJXRow(n)
			if n == 4 {
				r[10] = "(跳过)"
			}
			return r
		})
		if err != nil {
			t.Fatal(err)
		}
		w.waitProcessed(t, 1)
		c := w.Counts(t)
		if c.Demands != 9 || c.Quarantined != 1 || c.Raw != 10 {
			t.Fatalf("counts %+v, want 9 demands and 1 quarantined", c)
		}
		items, err := w.Store.RawItems(context.Background(), store.RawQuarantined, 0)
		if err != nil || len(items) != 1 || !strings.Contains(items[0].Reason, "no description") || !strings.Contains(items[0].Ref, "第5行") {
			t.Fatalf("quarantined %+v %v", items, err)
		}
		raw, err := w.Store.RawItem(context.Background(), items[0].ID)
		if err != nil || !strings.Contains(string(raw.Body), fixture.WJXRow(4)[6]) {
			t.Errorf("raw cells not kept: %s %v", raw.Body, err)
		}
	})
}

func TestFileStillBeingWritten(t *testing.T) {
	w := watch(t, testenv.Backends[0].URL(t), nil)
	path := filepath.Join(w.dir, "growing.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, strings.Join(fixture.WJXHeader, ","))
	// Append a row every 50 ms for 0.75 s: far less than stable_for
	// (300 ms) between writes, so nothing may be read until the end.
	for i := 1; i <= 15; i++ {
		fmt.Fprintln(f, strings.Join(fixture.WJXRow(i), ","))
		f.Sync()
		time.Sleep(50 * time.Millisecond)
		if len(w.processedFiles(t)) > 0 || w.Counts(t).Raw > 0 {
			t.Fatalf("read after %d rows while still being written", i)
		}
	}
	f.Close()
	w.waitProcessed(t, 1)
	if c := w.Counts(t); c.Demands != 15 {
		t.Errorf("counts %+v, want all 15 rows", c)
	}
}

func TestIgnoredFilesLeftAlone(t *testing.T) {
	w := watch(t, testenv.Backends[0].URL(t), nil)
	book := filepath.Join(t.TempDir(), "b.xlsx")
	if err := fixture.WriteWJX(book, 2); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(book)
	for _, name := range []string{"~$report.xlsx", ".hidden.xlsx", "download.xlsx.crdownload", "x.part", "y.tmp", "real.xlsx"} {
		if err := os.WriteFile(filepath.Join(w.dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	w.waitProcessed(t, 1)
	time.Sleep(time.Second)
	entries, _ := os.ReadDir(w.dir)
	left := 0
	for _, e := range entries {
		if !e.IsDir() {
			left++
		}
	}
	if left != 5 || w.Counts(t).Demands != 2 {
		t.Errorf("%d files left in the folder (want the 5 ignored ones), counts %+v", left, w.Counts(t))
	}
}

func TestImportFileOnce(t *testing.T) {
	env := testenv.New(t, testenv.Backends[0].URL(t), nil)
	path := filepath.Join(t.TempDir(), "once.xlsx")
	if err := fixture.WriteWJX(path, 30); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := folder.ImportFile(ctx, path, "import", demand.OriginDiscovered, env.Engine, env.Store, nil)
	if err != nil || res.New != 30 {
		t.Fatalf("first import %+v %v", res, err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("import moved the file: %v", err)
	}
	res, err = folder.ImportFile(ctx, path, "import", demand.OriginDiscovered, env.Engine, env.Store, nil)
	if err != nil || res.New != 0 || res.Duplicate != 30 {
		t.Fatalf("second import %+v %v, want 30 duplicates and nothing new", res, err)
	}
	if r := env.Records(t)[0]; r.Source.Origin != demand.OriginDiscovered || r.Source.Name != "import" {
		t.Errorf("source %+v", r.Source)
	}
}

func TestLegacyXLSRefusedWithAdvice(t *testing.T) {
	forBackends(t, func(t *testing.T, url string) {
		w := watch(t, url, nil)
		// Real 问卷星 .xls exports, and junk named .xls: each is set aside
		// with the advice to save it as .xlsx; nothing is lost.
		for _, name := range []string{"All_Data_Readable.xls", "wjx_800_800_0.xls"} {
			b, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(w.dir, name), b, 0o644)
		}
		junk := make([]byte, 2048)
		rand.Read(junk)
		os.WriteFile(filepath.Join(w.dir, "broken.xls"), junk, 0o644)
		for _, name := range []string{"All_Data_Readable.xls", "wjx_800_800_0.xls", "broken.xls"} {
			if msg := w.waitFailed(t, name); !strings.Contains(msg, "save it as .xlsx") {
				t.Errorf("%s: %q", name, msg)
			}
		}
		if c := w.Counts(t); c.Raw != 0 {
			t.Errorf("counts %+v", c)
		}
	})
}
