package folder_test

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/internal/fixture"
	"github.com/demandd/demandd/internal/testenv"
	"github.com/demandd/demandd/store"
)

// csvFile writes rows as a CSV file, each row ended by end(i) (i counts
// from 0, the header included), quoting the cells that need it.
func csvFile(rows [][]string, end func(i int) string) []byte {
	var b bytes.Buffer
	for i, row := range rows {
		for j, c := range row {
			if j > 0 {
				b.WriteByte(',')
			}
			if strings.ContainsAny(c, ",\"\r\n") {
				c = `"` + strings.ReplaceAll(c, `"`, `""`) + `"`
			}
			b.WriteString(c)
		}
		b.WriteString(end(i))
	}
	return b.Bytes()
}

// wjxRows is the 问卷星 header and rows from to to.
func wjxRows(from, to int, edit func(n int, row []string)) [][]string {
	rows := [][]string{fixture.WJXHeader}
	for n := from; n <= to; n++ {
		row := fixture.WJXRow(n)
		if edit != nil {
			edit(n, row)
		}
		rows = append(rows, row)
	}
	return rows
}

// Rows end at CR, LF or CRLF, in any mixture, and a line break inside a
// quoted answer stays in the answer.
func TestCSVRowEndsImported(t *testing.T) {
	w := watch(t, testenv.Backends[0].URL(t), nil)
	cr := func(int) string { return "\r" }
	w.dropBytes(t, "mac.csv", csvFile(wjxRows(1, 30, nil), cr))
	w.dropBytes(t, "mixed.csv", csvFile(wjxRows(31, 60, nil), func(i int) string { return []string{"\n", "\r\n", "\r"}[i%3] }))
	// One row ending in a bare CR among LF rows used to swallow the next.
	w.dropBytes(t, "barecr.csv", csvFile(wjxRows(61, 70, nil), func(i int) string {
		if i == 3 {
			return "\r"
		}
		return "\n"
	}))
	breaks := []string{"\r", "\n", "\r\n"}
	w.dropBytes(t, "multiline.csv", csvFile(wjxRows(71, 76, func(n int, row []string) {
		row[10] = "第一行" + breaks[n%3] + row[10]
	}), cr))
	w.waitProcessed(t, 4)
	recs := w.Records(t)
	if len(recs) != 76 {
		t.Fatalf("%d records, want 76", len(recs))
	}
	byNumber := map[string]*demand.Record{}
	for _, r := range recs {
		byNumber[r.Customer.Phone] = r
	}
	for n := 1; n <= 76; n++ {
		want := fixture.WJXRow(n)
		r := byNumber[want[8]]
		switch {
		case r == nil:
			t.Errorf("row %d missing", n)
		case r.Customer.Name != want[7] || !strings.HasSuffix(r.Description.Text, want[10]):
			t.Errorf("row %d read as %+v %q", n, r.Customer, r.Description.Text)
		case n > 70 && !strings.Contains(r.Description.Text, "第一行"):
			t.Errorf("row %d: the line before the break is lost: %q", n, r.Description.Text)
		}
	}
}

// One invalid byte in a UTF-8 export: the file is read as UTF-8 (not as
// GBK, which garbled the headers), and only that row is quarantined, with
// the byte's offset.
func TestCSVInvalidUTF8RowQuarantined(t *testing.T) {
	forBackends(t, func(t *testing.T, url string) {
		w := watch(t, url, nil)
		file := csvFile(wjxRows(1, 60, func(n int, row []string) {
			if n == 20 {
				row[10] = "希望\xFF" + row[10]
			}
		}), func(int) string { return "\r\n" })
		at := bytes.IndexByte(file, 0xFF)
		w.dropBytes(t, "one bad byte.csv", file)
		w.waitProcessed(t, 1)
		if c := w.Counts(t); c.Demands != 59 || c.Quarantined != 1 || c.Raw != 60 {
			t.Fatalf("counts %+v, want 59 demands and row 21 quarantined", c)
		}
		for _, r := range w.Records(t) {
			n, _ := strconv.Atoi(strings.TrimPrefix(r.Customer.Phone, "138"))
			if want := fixture.WJXRow(n); r.Customer.Name != want[7] || r.Description.Text != want[10] {
				t.Errorf("record %+v %q, want row %v", r.Customer, r.Description.Text, want)
			}
		}
		items, err := w.Store.RawItems(context.Background(), store.RawQuarantined, 0)
		if err != nil || len(items) != 1 {
			t.Fatalf("quarantined %+v %v", items, err)
		}
		if it := items[0]; !strings.Contains(it.Ref, "第21行") || !strings.Contains(it.Reason, strconv.Itoa(at)) || !strings.Contains(it.Reason, "UTF-8") {
			t.Errorf("quarantined as %q: %q, want row 21 and byte %d", it.Ref, it.Reason, at)
		}
	})
}

// A GBK export is still read as GBK; when its header names no description
// the reason says which encoding was assumed.
func TestGBKCSVNamesItsEncoding(t *testing.T) {
	w := watch(t, testenv.Backends[0].URL(t), nil)
	gbk, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte("序号,1、手机部数,2、性别\r\n1,2,男\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	w.dropBytes(t, "gbk.csv", gbk)
	w.dropBytes(t, "utf8.csv", []byte("序号,1、手机部数,2、性别\r\n1,2,男\r\n"))
	w.drop(t, "gbk ok.csv", func(p string) error { return fixture.WriteCSV(p, fixture.WJXHeader, 5, fixture.WJXRow, true, false) })
	msg := w.waitFailed(t, "gbk.csv")
	if !strings.Contains(msg, "1、手机部数 | 2、性别") || !strings.Contains(msg, "read as GB18030 (GBK)") || !strings.Contains(msg, "save the file as UTF-8") {
		t.Errorf("gbk.csv: %q", msg)
	}
	if msg := w.waitFailed(t, "utf8.csv"); strings.Contains(msg, "read as") {
		t.Errorf("utf8.csv: %q", msg)
	}
	w.waitProcessed(t, 1)
	recs := w.Records(t)
	if len(recs) != 5 {
		t.Fatalf("%d GBK records, want 5", len(recs))
	}
	for _, r := range recs {
		n, _ := strconv.Atoi(strings.TrimPrefix(r.Customer.Phone, "138"))
		if want := fixture.WJXRow(n); r.Customer.Name != want[7] || r.Description.Text != want[10] {
			t.Errorf("GBK record %+v %q, want row %v", r.Customer, r.Description.Text, want)
		}
	}
}
