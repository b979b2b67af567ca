package folder_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/ingest/folder"
	"github.com/demandd/demandd/internal/fixture"
	"github.com/demandd/demandd/internal/i18n"
	"github.com/demandd/demandd/internal/testdb"
	"github.com/demandd/demandd/internal/testenv"
	"github.com/demandd/demandd/store"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// watched runs a folder source over a fresh database until the test ends.
type watched struct {
	*testenv.Env
	dir, processed, failed string
	logs                   *logRecorder
}

// watchOptions are what a test may change of the folder's configuration.
type watchOptions struct {
	aliases    map[string][]string
	emptyGrace time.Duration
	stableFor  time.Duration
	prepare    func(dir string) // runs before the source starts
}

func watch(t *testing.T, url string, aliases map[string][]string) *watched {
	return watchWith(t, url, watchOptions{aliases: aliases})
}

func watchWith(t *testing.T, url string, o watchOptions) *watched {
	t.Helper()
	env := testenv.New(t, url, o.aliases)
	dir := t.TempDir()
	w := &watched{Env: env, dir: dir, processed: filepath.Join(dir, "processed"), failed: filepath.Join(dir, "failed"),
		logs: &logRecorder{}}
	if o.stableFor == 0 {
		o.stableFor = 300 * time.Millisecond
	}
	if o.prepare != nil {
		o.prepare(dir)
	}
	src, err := folder.New(folder.Config{Name: "inbox", Path: dir, StableFor: o.stableFor, EmptyGrace: o.emptyGrace,
		Rescan: time.Second, Origin: demand.OriginRaised, BatchSize: 50, Location: testenv.Shanghai, Locale: i18n.EN,
		Logger: slogNew(w.logs)})
	if err != nil {
		t.Fatal(err)
	}
	env.Run(t, src)
	return w
}

// drop puts a file into the watched folder at once, as a finished copy
// does (written beside it, then renamed): a test that wrote in place
// would race the watcher on a busy machine.
func (w *watched) drop(t *testing.T, name string, write func(path string) error) {
	t.Helper()
	tmp := filepath.Join(t.TempDir(), name)
	if err := write(tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(w.dir, name)); err != nil {
		t.Fatal(err)
	}
}

func (w *watched) dropBytes(t *testing.T, name string, b []byte) {
	t.Helper()
	w.drop(t, name, func(p string) error { return os.WriteFile(p, b, 0o644) })
}

// logRecorder is a slog handler that keeps every message, so that a test
// can wait for what the source says it is doing instead of sleeping.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool { msg += " " + a.String(); return true })
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, msg)
	return nil
}
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

func slogNew(h slog.Handler) *slog.Logger { return slog.New(h) }

// saw reports whether a message containing all of parts was logged.
func (l *logRecorder) saw(parts ...string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
next:
	for _, m := range l.msgs {
		for _, p := range parts {
			if !strings.Contains(m, p) {
				continue next
			}
		}
		return true
	}
	return false
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
	if !strings.HasSuffix(string(b), "\n") || strings.HasPrefix(string(b), "\n") {
		t.Errorf("error.txt does not start with the reason and end with a newline: %q", b)
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
		w.drop(t, "问卷星_123456_120_0.xlsx", func(p string) error { return fixture.WriteWJX(p, 120) })
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
		w.drop(t, "Customer requests(1-30).xlsx", func(p string) error { return fixture.WriteXLSX(p, fixture.MSFormsHeader, 30, fixture.MSFormsRow) })
		w.drop(t, "导出.csv", func(p string) error { return fixture.WriteCSV(p, fixture.WJXHeader, 40, fixture.WJXRow, true, false) })
		w.drop(t, "bom.csv", func(p string) error {
			return fixture.WriteCSV(p, fixture.WJXHeader, 5, func(n int) []string { return fixture.WJXRow(n + 1000) }, false, true)
		})
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
		w := watchWith(t, url, watchOptions{emptyGrace: 500 * time.Millisecond})
		junk := make([]byte, 4096)
		rand.Read(junk)
		w.dropBytes(t, "corrupt.xlsx", junk)
		w.dropBytes(t, "empty.csv", nil)
		w.dropBytes(t, "notes.pdf", []byte("%PDF-1.4"))
		w.dropBytes(t, "noheader.csv", []byte("序号,1、手机部数,2、性别\n1,2,男\n"))
		w.drop(t, "locked.xlsx", func(p string) error {
			f := excelize.NewFile()
			f.SetCellValue("Sheet1", "A1", "需求描述")
			f.SetCellValue("Sheet1", "A2", "加密的")
			return f.SaveAs(p, excelize.Options{Password: "secret"})
		})
		// Good work next to bad goes on.
		w.drop(t, "good.xlsx", func(p string) error { return fixture.WriteWJX(p, 3) })
		wants := map[string]string{
			"corrupt.xlsx": "save it again as .xlsx",
			"empty.csv":    "empty",
			"notes.pdf":    "not a questionnaire export",
			"noheader.csv": "[questionnaire.aliases]\ndescription = [\"1、手机部数\"]",
			"locked.xlsx":  "password",
		}
		for name, want := range wants {
			if msg := w.waitFailed(t, name); !strings.Contains(msg, want) {
				t.Errorf("%s: %q, want it to say %q", name, msg, want)
			}
		}
		w.waitProcessed(t, 1)
		if c := w.Counts(t); c.Demands != 3 {
			t.Errorf("counts %+v, want the 3 good rows", c)
		}
		// Each failed file is in the register, with what a person needs
		// to find it and to decide.
		var files []store.FailedFile
		testenv.Eventually(t, 30*time.Second, func() bool {
			var err error
			files, err = w.Store.FailedFiles(context.Background(), store.FileFailed)
			return err == nil && len(files) == len(wants)
		}, func() string { return fmt.Sprintf("failed files recorded: %+v", files) })
		for _, f := range files {
			b, err := os.ReadFile(f.MovedTo)
			if err != nil {
				t.Errorf("%s: moved_to %s: %v", f.Name, f.MovedTo, err)
				continue
			}
			sum := sha256.Sum256(b)
			if f.SHA256 != hex.EncodeToString(sum[:]) || f.Size != int64(len(b)) || f.Channel != string(demand.ChannelQuestionnaire) ||
				f.Source != "inbox" || f.OriginalPath != filepath.Join(w.dir, f.Name) || !strings.Contains(f.Reason, wants[f.Name]) {
				t.Errorf("failed file recorded as %+v", f)
			}
		}
	})
}

// A copy that stays at 0 bytes longer than stable_for (a slow share, a
// browser download) is waited for, not failed as empty.
func TestZeroByteFileWaitedFor(t *testing.T) {
	w := watch(t, testenv.Backends[0].URL(t), nil)
	path := filepath.Join(w.dir, "下载中.xlsx")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, func() bool { return w.logs.saw("still empty", "下载中.xlsx") },
		func() string {
			return fmt.Sprintf("the source never said it waits for the empty file; failed: %v", w.Counts(t))
		})
	full := filepath.Join(t.TempDir(), "full.xlsx")
	if err := fixture.WriteWJX(full, 4); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	w.waitProcessed(t, 1)
	if c := w.Counts(t); c.Demands != 4 || c.FailedFiles != 0 {
		t.Errorf("counts %+v, want the 4 rows and nothing failed", c)
	}
}

// Files already in failed/ (set aside by an older demandd, or while the
// database was down) are recorded at start; importing the same bytes later
// settles them.
func TestFailedFolderRecordedAndResolved(t *testing.T) {
	good := filepath.Join(t.TempDir(), "good.csv")
	if err := fixture.WriteCSV(good, fixture.WJXHeader, 3, fixture.WJXRow, false, false); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	w := watchWith(t, testenv.Backends[0].URL(t), watchOptions{prepare: func(dir string) {
		failed := filepath.Join(dir, "failed")
		os.MkdirAll(failed, 0o755)
		os.WriteFile(filepath.Join(failed, "old.csv"), b, 0o644)
		os.WriteFile(filepath.Join(failed, "old.csv.error.txt"), []byte("no column holds the description\n"), 0o644)
		os.WriteFile(filepath.Join(failed, "bare.xlsx"), []byte("junk"), 0o644)
	}})
	var files []store.FailedFile
	testenv.Eventually(t, 30*time.Second, func() bool {
		files, _ = w.Store.FailedFiles(context.Background(), store.FileFailed)
		return len(files) == 2
	}, func() string { return fmt.Sprintf("recorded %+v", files) })
	for _, f := range files {
		switch f.Name {
		case "old.csv":
			if f.Reason != "no column holds the description" || f.Size != int64(len(b)) {
				t.Errorf("old.csv recorded as %+v", f)
			}
		case "bare.xlsx":
			if !strings.Contains(f.Reason, "no reason was recorded") {
				t.Errorf("bare.xlsx recorded as %+v", f)
			}
		default:
			t.Errorf("unexpected %+v", f)
		}
	}
	w.dropBytes(t, "again.csv", b)
	w.waitProcessed(t, 1)
	testenv.Eventually(t, 30*time.Second, func() bool {
		files, _ = w.Store.FailedFiles(context.Background(), store.FileFailed)
		return len(files) == 1 && files[0].Name == "bare.xlsx"
	}, func() string { return fmt.Sprintf("still failed: %+v", files) })
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
		w.dropBytes(t, "第一次.xlsx", b)
		w.waitProcessed(t, 1)
		w.dropBytes(t, "copy of 第一次.xlsx", b)
		w.waitProcessed(t, 2)
		if c := w.Counts(t); c.Demands != 25 || c.Raw != 25 {
			t.Errorf("counts %+v, want 25 demands from two copies", c)
		}
	})
}

func TestRowWithoutDescriptionQuarantined(t *testing.T) {
	forBackends(t, func(t *testing.T, url string) {
		w := watch(t, url, nil)
		w.drop(t, "q.xlsx", func(p string) error {
			return fixture.WriteXLSX(p, fixture.WJXHeader, 10, func(n int) []string {
				r := fixture.WJXRow(n)
				if n == 4 {
					r[10] = "(跳过)"
				}
				return r
			})
		})
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
	// The file grows for longer than stable_for (3 s against 2 s), a row
	// every 50 ms: each write must restart the clock. Only a pause forty
	// times the interval could make the file look finished early.
	w := watchWith(t, testenv.Backends[0].URL(t), watchOptions{stableFor: 2 * time.Second})
	path := filepath.Join(w.dir, "growing.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, strings.Join(fixture.WJXHeader, ","))
	const rows = 60
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for i := 1; i <= rows; i++ {
		fmt.Fprintln(f, strings.Join(fixture.WJXRow(i), ","))
		f.Sync()
		<-tick.C
		if len(w.processedFiles(t)) > 0 || w.Counts(t).Raw > 0 {
			t.Fatalf("read after %d rows while still being written", i)
		}
	}
	f.Close()
	w.waitProcessed(t, 1)
	if c := w.Counts(t); c.Demands != rows {
		t.Errorf("counts %+v, want all %d rows", c, rows)
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
		w.dropBytes(t, name, b)
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
	res, err := folder.ImportFile(ctx, path, "import", demand.OriginDiscovered, i18n.EN, env.Engine, env.Store, nil)
	if err != nil || res.New != 30 {
		t.Fatalf("first import %+v %v", res, err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("import moved the file: %v", err)
	}
	res, err = folder.ImportFile(ctx, path, "import", demand.OriginDiscovered, i18n.EN, env.Engine, env.Store, nil)
	if err != nil || res.New != 0 || res.Duplicate != 30 {
		t.Fatalf("second import %+v %v, want 30 duplicates and nothing new", res, err)
	}
	if r := env.Records(t)[0]; r.Source.Origin != demand.OriginDiscovered || r.Source.Name != "import" {
		t.Errorf("source %+v", r.Source)
	}
}
