package normalize

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/ingest"
	"github.com/demandd/demandd/internal/i18n"
)

// The header rows of ingest/folder/testdata/qualtrics/sample.csv (current
// layout: tags, German labels, ImportId JSON) and sample_legacy.csv
// (legacy: V1…V10 tags, labels), as the folder reader passes them on; the
// folder package reads the files themselves.
var (
	qualtricsHeader = []string{"StartDate", "EndDate", "Status", "IPAddress", "Progress", "Duration (in seconds)",
		"Finished", "RecordedDate", "ResponseId", "RecipientLastName", "RecipientFirstName", "RecipientEmail",
		"ExternalReference", "LocationLatitude", "LocationLongitude", "DistributionChannel", "UserLanguage", "Q1", "Q2",
		"Q2 - Topics"}
	qualtricsLabels = []string{"Anfangsdatum", "Enddatum", "Antworttyp", "IP-Adresse", "Aktueller Stand",
		"Dauer (in Sekunden)", "Beendet", "Erfassungsdatum", "Antwort-ID", "Nachname des Empfängers",
		"Vorname des Empfängers", "E-Mail des Empfängers", "Externe Datenreferenz", "Breitengrad des Standorts",
		"Längengrad des Standorts", "Verteilungskanal", "Benutzersprache", "This is a multiple choice question.",
		"This is a free text question.", "Q2 - Topics"}
	qualtricsImportIDs = []string{`{"ImportId":"startDate"}`, `{"ImportId":"endDate"}`, `{"ImportId":"status"}`,
		`{"ImportId":"ipAddress"}`, `{"ImportId":"progress"}`, `{"ImportId":"duration"}`, `{"ImportId":"finished"}`,
		`{"ImportId":"recordedDate"}`, `{"ImportId":"_recordId"}`, `{"ImportId":"recipientLastName"}`,
		`{"ImportId":"recipientFirstName"}`, `{"ImportId":"recipientEmail"}`, `{"ImportId":"externalDataReference"}`,
		`{"ImportId":"locationLatitude"}`, `{"ImportId":"locationLongitude"}`, `{"ImportId":"distributionChannel"}`,
		`{"ImportId":"userLanguage"}`, `{"ImportId":"QID1"}`, `{"ImportId":"QID2_TEXT"}`,
		`{"ImportId":"QID2_TEXT_eae5a8d0e7fd4bd183e983e5Topics"}`}
	qualtricsCells = []string{"2017-07-18 08:28:09", "2017-07-18 08:28:48", "0", "130.92.34.66", "100", "38", "1",
		"2017-07-18 08:28:48", "R_2YPOQ602ER1jkf1", "", "", "", "", "47.115097045898", "7.2315979003906", "anonymous",
		"DE", "2", "Hello World!"}

	legacyHeader = []string{"V1", "V2", "V3", "V4", "V5", "V6", "V7", "V8", "V9", "V10", "Q1", "Q2",
		"LocationLatitude", "LocationLongitude", "LocationAccuracy"}
	legacyLabels = []string{"ResponseID", "ResponseSet", "Name", "ExternalDataReference", "EmailAddress", "IPAddress",
		"Status", "StartDate", "EndDate", "Finished", "This is a multiple choice question.",
		"This is a free text question.", "LocationLatitude", "LocationLongitude", "LocationAccuracy"}
	legacyCells = []string{"R_2YPOQ602ER1jkf1", "Standard-Antwortsatz", "Anonym", "", "", "130.92.34.66", "0",
		"2017-07-18 08:28:09", "2017-07-18 08:28:48", "1", "2", "Hello World!", "47.115097045898", "7.2315979003906",
		"-1"}
)

// freeTextAt is a FreeText as the reader finds it: width w in column i.
func freeTextAt(n, i, w int) []int {
	ft := make([]int, n)
	ft[i] = w
	return ft
}

func qualtricsRow(layout string) ingest.Row {
	if layout == "legacy" {
		return ingest.Row{File: "sample_legacy.csv", SHA256: "abc", Number: 3, Header: legacyHeader, Labels: legacyLabels,
			FreeText: freeTextAt(len(legacyHeader), 11, 12), Cells: legacyCells}
	}
	return ingest.Row{File: "sample.csv", SHA256: "abc", Number: 4, Header: qualtricsHeader, Labels: qualtricsLabels,
		ImportIDs: qualtricsImportIDs, FreeText: freeTextAt(len(qualtricsHeader), 18, 12), Cells: qualtricsCells}
}

func itemOf(t *testing.T, row ingest.Row) ingest.Item {
	t.Helper()
	body, err := json.Marshal(row)
	if err != nil {
		t.Fatal(err)
	}
	return ingest.Item{Channel: demand.ChannelQuestionnaire, Source: "inbox", Key: "abc:4", ContentType: ingest.ContentTypeRow,
		Body: body, ReceivedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Origin: demand.OriginRaised,
		Ref: row.File + " 第" + itoa(row.Number) + "行"}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestQualtricsMapping(t *testing.T) {
	for _, tt := range []struct {
		layout string
		want   map[Field]int
	}{
		// received_at from EndDate: StartDate is the platform's; contact from
		// RecipientFirstName + RecipientLastName.
		{"current", map[Field]int{FieldReceivedAt: 1, FieldID: 8, FieldContact: 9, FieldEmail: 11, FieldDescription: 18}},
		{"legacy", map[Field]int{FieldID: 0, FieldContact: 2, FieldEmail: 4, FieldReceivedAt: 8, FieldDescription: 11}},
	} {
		t.Run(tt.layout, func(t *testing.T) {
			row := qualtricsRow(tt.layout)
			m, err := NewQuestionnaire(nil, shanghai).MapRow(&row)
			if err != nil {
				t.Fatal(err)
			}
			for f, i := range tt.want {
				if got, ok := m.Fields[f]; !ok || got != i {
					t.Errorf("%s → column %d (%v), want %d (%q)", f, got, ok, i, m.name(i))
				}
			}
			for f, i := range m.Fields {
				if _, ok := tt.want[f]; !ok {
					t.Errorf("unexpected %s → %q", f, m.name(i))
				}
			}
			if !m.DescriptionFromAnswers {
				t.Error("the description was not taken from the free-text answers")
			}
		})
	}
}

func TestQualtricsRecord(t *testing.T) {
	for _, layout := range []string{"current", "legacy"} {
		t.Run(layout, func(t *testing.T) {
			row := qualtricsRow(layout)
			rec, err := New(Options{Location: shanghai}).Normalize(t.Context(), itemOf(t, row))
			if err != nil {
				t.Fatal(err)
			}
			if rec.Description.Text != "Hello World!" || rec.Description.Language != "en" {
				t.Errorf("description %+v, want the free-text answer", rec.Description)
			}
			if want := time.Date(2017, 7, 18, 8, 28, 48, 0, shanghai); !rec.Source.ReceivedAt.Equal(want) {
				t.Errorf("received %v, want EndDate %v", rec.Source.ReceivedAt, want)
			}
			if !strings.HasSuffix(rec.Source.ExternalRef, " #R_2YPOQ602ER1jkf1") {
				t.Errorf("ref %q, want the ResponseId", rec.Source.ExternalRef)
			}
			if rec.Customer != (demand.Customer{}) {
				t.Errorf("customer %+v, want none for an anonymous response", rec.Customer)
			}
			extra := map[string]string{}
			for _, a := range rec.Extra {
				extra[a.Name] = a.Value
			}
			// Columns are named by their label, the question text.
			if extra["This is a multiple choice question."] != "2" {
				t.Errorf("extra %v: want the multiple choice answer under its question", extra)
			}
			for name, v := range extra {
				if v == "Hello World!" || strings.HasPrefix(v, `{"ImportId"`) {
					t.Errorf("extra %s = %q", name, v)
				}
			}
		})
	}
}

func TestQualtricsTimeZone(t *testing.T) {
	row := qualtricsRow("current")
	row.ImportIDs = append([]string(nil), row.ImportIDs...)
	row.ImportIDs[1] = `{"ImportId":"endDate","timeZone":"America/Denver"}`
	rec, err := New(Options{Location: shanghai}).Normalize(t.Context(), itemOf(t, row))
	if err != nil {
		t.Fatal(err)
	}
	denver, err := time.LoadLocation("America/Denver")
	if err != nil {
		t.Skip(err)
	}
	if want := time.Date(2017, 7, 18, 8, 28, 48, 0, denver); !rec.Source.ReceivedAt.Equal(want) {
		t.Errorf("received %v, want %v: the export's own time zone", rec.Source.ReceivedAt, want)
	}
}

func TestFirstAndLastName(t *testing.T) {
	row := qualtricsRow("current")
	row.Cells = append([]string(nil), row.Cells...)
	row.Cells[9], row.Cells[10], row.Cells[11] = "Lovelace", "Ada", "Ada@Example.com"
	rec, err := New(Options{Location: shanghai}).Normalize(t.Context(), itemOf(t, row))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Customer.Contact != "Ada Lovelace" || rec.Customer.Email != "ada@example.com" {
		t.Errorf("customer %+v", rec.Customer)
	}
}

func TestHeaderAliasOverLabel(t *testing.T) {
	// Aliases match the label too; a tag such as "Q2" folds to nothing and
	// must not match every column.
	for _, alias := range []string{"This is a free text question.", "Q2"} {
		row := qualtricsRow("legacy")
		row.FreeText = nil
		m, err := NewQuestionnaire(map[string][]string{"description": {alias}}, shanghai).MapRow(&row)
		if alias == "Q2" {
			if _, ok := ingest.IsReject(err); !ok {
				t.Errorf("alias Q2: %v %+v, want a rejection", err, m)
			}
			continue
		}
		if err != nil || m.Fields[FieldDescription] != 11 || m.DescriptionFromAnswers {
			t.Errorf("alias %q: %+v %v", alias, m, err)
		}
	}
}

func TestShortAnswersAreNotFreeText(t *testing.T) {
	row := qualtricsRow("legacy")
	row.FreeText = freeTextAt(len(legacyHeader), 11, minFreeText-1)
	if _, err := NewQuestionnaire(nil, shanghai).MapRow(&row); err == nil {
		t.Fatal("mapped a description from answers narrower than free text")
	} else if !strings.Contains(err.Error(), `description = ["This is a free text question."]`) {
		t.Errorf("%v: want the column with the widest answers as the example", err)
	}
}

func TestNoDescriptionListsEveryHeader(t *testing.T) {
	for _, tt := range []struct {
		name            string
		row             ingest.Row
		columns, labels []string
		example         string
	}{
		// 20 columns; no free-text answers: the text entry question (its
		// ImportId is QID2_TEXT) is the example, by its label.
		{"qualtrics", ingest.Row{Header: qualtricsHeader, Labels: qualtricsLabels, ImportIDs: qualtricsImportIDs},
			qualtricsHeader, qualtricsLabels, `["This is a free text question."]`},
		// 14 columns of 问卷星: the open question is the example.
		{"问卷星", ingest.Row{Header: []string{"序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP", "1、手机部数",
			"2、手机价格", "3、性别", "4、年龄", "5、月收入", "6、兴趣爱好", "7、爱好投入占收入比重", "8、还有什么想说的"}},
			nil, nil, `["8、还有什么想说的"]`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.columns == nil {
				tt.columns = tt.row.Header
			}
			_, err := NewQuestionnaire(nil, shanghai).MapRow(&tt.row)
			rej, ok := ingest.IsReject(err)
			if !ok {
				t.Fatalf("got %v, want a rejection", err)
			}
			en, zh := i18n.Message(err, i18n.EN), i18n.Message(err, i18n.ZH)
			if rej.Reason != en || rej.Error() != en || rej.Text.Missing() {
				t.Errorf("Reason %q, English %q, Text %+v: want the English text as the reason and both languages", rej.Reason, en, rej.Text)
			}
			for _, msg := range []string{en, zh} {
				for i, h := range tt.columns {
					if !strings.Contains(msg, h) || (tt.labels != nil && !strings.Contains(msg, tt.labels[i])) {
						t.Errorf("column %d (%q) not listed in %q", i, h, msg)
					}
				}
				if want := "\n[questionnaire.aliases]\ndescription = " + tt.example; !strings.HasSuffix(msg, want) {
					t.Errorf("%q does not end with the config lines %q", msg, want)
				}
			}
			if !strings.Contains(en, "no column holds the demand's description") || !strings.Contains(zh, "没有一列是需求描述") {
				t.Errorf("en %q\nzh %q", en, zh)
			}
		})
	}
}

func TestQuarantineReasonInBothLanguages(t *testing.T) {
	_, err := New(Options{Location: shanghai}).Normalize(t.Context(), rowItem(t, []string{"1、姓名", "2、问题描述"}, []string{"张三", ""}))
	q, ok := AsQuarantine(err)
	if !ok {
		t.Fatalf("got %v, want quarantine", err)
	}
	if zh := i18n.Message(err, i18n.ZH); !strings.Contains(zh, "survey.xlsx 第 2 行没有需求描述") || !strings.Contains(zh, "2、问题描述") {
		t.Errorf("zh %q", zh)
	}
	if q.Reason != i18n.Message(err, i18n.EN) || !strings.HasPrefix(q.Reason, "row 2 of survey.xlsx has no description") {
		t.Errorf("reason %q, en %q", q.Reason, i18n.Message(err, i18n.EN))
	}
}
