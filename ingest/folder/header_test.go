package folder

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/ingest"
	"github.com/demandd/demandd/internal/fixture"
	"github.com/demandd/demandd/internal/i18n"
	"github.com/demandd/demandd/normalize"
)

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return l
}()

// normSink normalises what the folder emits as the engine does (a
// rejection fails the batch) and keeps the items and records, without a
// database.
type normSink struct {
	norm    *normalize.Normalizer
	items   []ingest.Item
	records []*demand.Record
	reasons []string // quarantined
}

func (s *normSink) Emit(ctx context.Context, b ingest.Batch) (ingest.Result, error) {
	p, err := s.Prepare(ctx, b)
	if err != nil {
		return ingest.Result{}, err
	}
	return s.Commit(ctx, p)
}

func (s *normSink) Prepare(ctx context.Context, b ingest.Batch) (*ingest.Prepared, error) {
	p := &ingest.Prepared{Batch: b}
	for _, it := range b.Items {
		rec, err := s.norm.Normalize(ctx, it)
		if q, ok := normalize.AsQuarantine(err); ok {
			p.Items = append(p.Items, ingest.PreparedItem{Status: ingest.ItemQuarantined, Reason: q.Reason})
			continue
		}
		if err != nil {
			return nil, err
		}
		p.Items = append(p.Items, ingest.PreparedItem{Status: ingest.ItemOK, Record: rec})
	}
	return p, nil
}

func (s *normSink) FileFailed(context.Context, ingest.FailedFile) error { return nil }
func (s *normSink) FileImported(context.Context, demand.Channel, string) error {
	return nil
}

func (s *normSink) Commit(_ context.Context, p *ingest.Prepared) (ingest.Result, error) {
	s.items = append(s.items, p.Batch.Items...)
	var res ingest.Result
	for _, it := range p.Items {
		if it.Status == ingest.ItemQuarantined {
			s.reasons = append(s.reasons, it.Reason)
			res.Quarantined++
			continue
		}
		s.records = append(s.records, it.Record)
		res.New++
	}
	return res, nil
}

type noState struct{}

func (noState) Checkpoint(context.Context, string) (string, bool, error) { return "", false, nil }

func importAll(t *testing.T, path string, aliases map[string][]string) (*normSink, error) {
	t.Helper()
	sink := &normSink{norm: normalize.New(normalize.Options{Aliases: aliases, Location: shanghai})}
	opts := defaultReadOptions()
	opts.batchSize = 2
	_, err := importFile(t.Context(), path, "inbox", demand.OriginRaised, opts, sink, noState{}, nil)
	return sink, err
}

// TestQualtricsFiles reads the two Qualtrics exports of the corpus: the
// label and ImportId rows are header rows, the free-text question is the
// description, EndDate the time received.
func TestQualtricsFiles(t *testing.T) {
	for _, tt := range []struct {
		file     string
		firstRow int // the respondent's row number
		labels   bool
		imports  bool
	}{
		{"sample.csv", 4, true, true},
		{"sample_legacy.csv", 3, true, false},
	} {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", "qualtrics", tt.file)
			sink, err := importAll(t, path, nil)
			if err != nil {
				t.Fatalf("import: %v", err)
			}
			if len(sink.items) != 1 || len(sink.records) != 1 {
				t.Fatalf("%d items, %d records (quarantined %v), want the one respondent", len(sink.items), len(sink.records), sink.reasons)
			}
			it, rec := sink.items[0], sink.records[0]
			if it.Row.Number != tt.firstRow || !strings.HasSuffix(it.Ref, fmt.Sprintf("第%d行", tt.firstRow)) {
				t.Errorf("row %d ref %q, want row %d", it.Row.Number, it.Ref, tt.firstRow)
			}
			if (it.Row.Labels != nil) != tt.labels || (it.Row.ImportIDs != nil) != tt.imports {
				t.Errorf("labels %q import ids %q", it.Row.Labels, it.Row.ImportIDs)
			}
			if rec.Description.Text != "Hello World!" {
				t.Errorf("description %q, want the free-text answer", rec.Description.Text)
			}
			if want := time.Date(2017, 7, 18, 8, 28, 48, 0, shanghai); !rec.Source.ReceivedAt.Equal(want) {
				t.Errorf("received %v, want EndDate %v", rec.Source.ReceivedAt, want)
			}
			if !strings.HasSuffix(rec.Source.ExternalRef, "#R_2YPOQ602ER1jkf1") {
				t.Errorf("ref %q", rec.Source.ExternalRef)
			}

			// The stored body alone reprocesses to the same record.
			alone := it
			alone.Row = nil
			again, err := normalize.New(normalize.Options{Location: shanghai}).Normalize(t.Context(), alone)
			if err != nil || again.Description.Text != rec.Description.Text || !again.Source.ReceivedAt.Equal(rec.Source.ReceivedAt) {
				t.Errorf("reprocessed from the body: %+v %v", again, err)
			}

			// classify --explain --row reads the same row, and says the
			// rows above it are header rows.
			one, err := ReadRow(path, tt.firstRow)
			if err != nil || !rowsEqual(one.Row, it.Row) {
				t.Errorf("ReadRow: %+v %v, want %+v", one.Row, err, it.Row)
			}
			if _, err := ReadRow(path, 2); err == nil || !strings.Contains(err.Error(), "header row") {
				t.Errorf("ReadRow(2): %v, want a header row", err)
			}
		})
	}
}

func rowsEqual(a, b *ingest.Row) bool {
	if a == nil || b == nil {
		return a == b
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// qualtricsHeaderRows are the three header rows of testdata's sample.csv.
func qualtricsHeaderRows(t *testing.T) [][]string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "qualtrics", "sample.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows[:3]
}

// qualtricsAnswer is respondent n of a generated export with sample.csv's
// columns: Q1 a choice, Q2 free text.
func qualtricsAnswer(n int) []string {
	return []string{"2026-11-02 09:00:00", fmt.Sprintf("2026-11-02 09:%02d:30", n), "0", "10.0.0.1", "100", "90", "1",
		fmt.Sprintf("2026-11-02 09:%02d:31", n), fmt.Sprintf("R_%04d", n), "", "", "", "", "", "", "anonymous", "EN",
		fmt.Sprint(1 + n%3), fmt.Sprintf("The export of report %d takes more than ten minutes", n), ""}
}

// TestQualtricsRespondentsCounted: many respondents, as CSV and as .xlsx
// (Qualtrics exports both with the same header rows): one demand each.
func TestQualtricsRespondentsCounted(t *testing.T) {
	const n = 7
	head := qualtricsHeaderRows(t)
	dir := t.TempDir()

	csvPath := filepath.Join(dir, "export.csv")
	f, err := os.Create(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	w.WriteAll(head)
	for i := 1; i <= n; i++ {
		w.Write(qualtricsAnswer(i))
	}
	w.Flush()
	f.Close()

	xlsxPath := filepath.Join(dir, "export.xlsx")
	if err := fixture.WriteXLSX(xlsxPath, head[0], n+2, func(i int) []string {
		if i <= 2 {
			return head[i]
		}
		return qualtricsAnswer(i - 2)
	}); err != nil {
		t.Fatal(err)
	}

	for _, path := range []string{csvPath, xlsxPath} {
		t.Run(filepath.Ext(path), func(t *testing.T) {
			sink, err := importAll(t, path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(sink.items) != n || len(sink.records) != n {
				t.Fatalf("%d items, %d records, want %d respondents (quarantined %v)", len(sink.items), len(sink.records), n, sink.reasons)
			}
			for i, rec := range sink.records {
				want := qualtricsAnswer(i + 1)
				if rec.Description.Text != want[18] || sink.items[i].Row.Number != i+4 {
					t.Errorf("row %d: description %q, want %q", sink.items[i].Row.Number, rec.Description.Text, want[18])
				}
				if wantAt, _ := normalize.ParseTime(want[1], shanghai); !rec.Source.ReceivedAt.Equal(wantAt) {
					t.Errorf("received %v, want %v", rec.Source.ReceivedAt, wantAt)
				}
			}
		})
	}
}

// TestNoFreeTextRejectsWithEveryHeader: a Qualtrics export whose answers
// hold no free text is refused, naming all its columns and the config line.
func TestNoFreeTextRejectsWithEveryHeader(t *testing.T) {
	head := qualtricsHeaderRows(t)
	path := filepath.Join(t.TempDir(), "choices.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	w.WriteAll(head)
	for i := 1; i <= 5; i++ {
		row := qualtricsAnswer(i)
		row[18] = "ok"
		w.Write(row)
	}
	w.Flush()
	f.Close()

	_, err = importAll(t, path, nil)
	if _, ok := ingest.IsReject(err); !ok {
		t.Fatalf("got %v, want the file refused", err)
	}
	for _, l := range []i18n.Locale{i18n.EN, i18n.ZH} {
		msg := i18n.Message(err, l)
		for i := range head[0] {
			if !strings.Contains(msg, head[0][i]) || !strings.Contains(msg, head[1][i]) {
				t.Errorf("%s: column %q / %q not listed: %q", l, head[0][i], head[1][i], msg)
			}
		}
		if !strings.HasSuffix(msg, "\n[questionnaire.aliases]\ndescription = [\"This is a free text question.\"]") {
			t.Errorf("%s: %q does not end with the config line", l, msg)
		}
	}

	// The line it gives works.
	sink, err := importAll(t, path, map[string][]string{"description": {"This is a free text question."}})
	if err != nil || len(sink.records) != 5 || sink.records[0].Description.Text != "ok" {
		t.Errorf("with the alias: %v, %d records", err, len(sink.records))
	}
}

// TestSecondRowIsAnAnswer: files with one header row, even with date
// column names like Qualtrics' (LimeSurvey), keep their second row.
func TestSecondRowIsAnAnswer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "limesurvey.csv")
	if err := fixture.WriteCSV(path, []string{"id", "submitdate", "startdate", "enddate", "Q1", "需求描述"}, 3, func(n int) []string {
		return []string{fmt.Sprint(n), "2026-11-02 10:00:00", "2026-11-02 09:50:00", "2026-11-02 10:00:00", "A1", fmt.Sprintf("需求%d", n)}
	}, false, false); err != nil {
		t.Fatal(err)
	}
	sink, err := importAll(t, path, nil)
	if err != nil || len(sink.records) != 3 || sink.items[0].Row.Number != 2 || sink.items[0].Row.Labels != nil {
		t.Fatalf("%v: %d records", err, len(sink.records))
	}
}

func TestFreeTextWidths(t *testing.T) {
	var sample [][]string
	for i := range 12 {
		sample = append(sample, []string{
			fmt.Sprintf("2026/11/%02d 10:00:00", i+1),                            // dates
			[]string{"非常满意", "满意", "一般"}[i%3],                                    // a choice, repeated
			fmt.Sprintf("第%d次导出报表时系统很慢，希望能优化", i),                                // free text
			fmt.Sprintf("user%d@example.com", i),                                 // e-mail
			[]string{"无", fmt.Sprintf("Please add SSO for team %d", i), ""}[i%3], // free text, often none
			fmt.Sprint(i * 10), // numbers
			"运动┋阅读",            // multi-select
		})
	}
	got := freeTextWidths(sample)
	if len(got) != 7 || got[2] < 30 || got[4] != 25 {
		t.Fatalf("widths %v", got)
	}
	for _, i := range []int{0, 1, 3, 5, 6} {
		if got[i] != 0 {
			t.Errorf("column %d (%q) read as free text: %v", i, sample[0][i], got)
		}
	}
	if got := freeTextWidths([][]string{{"1", "男"}}); got != nil {
		t.Errorf("no free text: %v", got)
	}
}

func TestHeaderRowDetection(t *testing.T) {
	legacy := []string{"V1", "V2", "V3", "V8", "Q1"}
	for _, tt := range []struct {
		header, second []string
		want           bool
	}{
		{legacy, []string{"ResponseID", "ResponseSet", "Name", "StartDate", "Question?"}, true},
		{legacy, []string{"R_1", "Default Response Set", "Anonymous", "2017-07-18 08:28:09", "2"}, false},
		{[]string{"StartDate", "EndDate", "Q1"}, []string{"Start Date", "End Date", "Question?"}, true},
		{[]string{"StartDate", "EndDate", "Q1"}, []string{"2017-07-18 08:28:09", "2017-07-18 08:28:48", "2"}, false},
		{[]string{"序号", "提交答卷时间"}, []string{"1", "2016/12/17 14:25:31"}, false},
	} {
		if got := labelRow(tt.header, tt.second); got != tt.want {
			t.Errorf("labelRow(%q, %q) = %v", tt.header, tt.second, got)
		}
	}
	if !qualtricsMeta([]string{`{"ImportId":"startDate","timeZone":"America/Denver"}`, "", ` {"ImportId": "QID1"}`}) ||
		qualtricsMeta([]string{"", ""}) || qualtricsMeta([]string{`{"ImportId":"x"}`, "answer"}) {
		t.Error("qualtricsMeta")
	}
	if !slices.Equal(trimRow([]string{"a", "", " "}), []string{"a"}) {
		t.Error("trimRow")
	}
}
