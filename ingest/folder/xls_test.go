package folder_test

import (
	"crypto/rand"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/ingest/folder"
	"github.com/demandd/demandd/ingest/folder/biff/bifftest"
	"github.com/demandd/demandd/internal/testenv"
)

func testdataFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Real 问卷星 .xls exports import like their .xlsx: the header row, the
// columns by their questions (the free-text question named as the
// description), 问卷星's time and IP conventions, one record per row.
func TestLegacyXLSImported(t *testing.T) {
	forBackends(t, func(t *testing.T, url string) {
		w := watch(t, url, map[string][]string{"description": {
			"请问您使用的上一部手机(“中兴天机7”之前)的品牌及型号?", // All_Data_Readable.xls
			"兴趣爱好", // wjx_800_800_0.xls
		}})
		w.dropBytes(t, "All_Data_Readable.xls", testdataFile(t, "All_Data_Readable.xls"))
		w.dropBytes(t, "[问卷星数据]800_800_0.xls", testdataFile(t, "wjx_800_800_0.xls"))
		w.waitProcessed(t, 2)
		c := w.Counts(t)
		// All_Data_Readable.xls: 4 answers, 2 of them skipped (跳过) the
		// question, which are quarantined without a description.
		if c.Raw != 804 || c.Demands != 802 || c.Quarantined != 2 || c.FailedFiles != 0 {
			t.Fatalf("counts %+v, want 804 rows: 802 demands and the 2 without a description quarantined", c)
		}
		var phone *demand.Record
		hobbies := 0
		for _, r := range w.Records(t) {
			switch {
			case r.Description.Text == "中兴天机7":
				phone = r
			case strings.Contains(r.Source.ExternalRef, "800_800_0.xls"):
				hobbies++
			}
		}
		if hobbies != 800 {
			t.Errorf("%d records of the 800-row export", hobbies)
		}
		if phone == nil {
			t.Fatal("no record of row 3 of All_Data_Readable.xls")
		}
		want := time.Date(2016, 12, 17, 14, 25, 31, 0, testenv.Shanghai)
		if !phone.Source.ReceivedAt.Equal(want) || !strings.Contains(phone.Source.ExternalRef, "All_Data_Readable.xls 第3行") {
			t.Errorf("source %+v, want received %v and row 3", phone.Source, want)
		}
	})
}

// Damaged and hostile .xls files each go to failed/ with a one-line
// reason; the good one beside them imports.
func TestXLSHostileFailed(t *testing.T) {
	forBackends(t, func(t *testing.T, url string) {
		w := watch(t, url, map[string][]string{"description": {"兴趣爱好"}})
		good := testdataFile(t, "wjx_800_800_0.xls")
		junk := make([]byte, 4096)
		rand.Read(junk)
		files := map[string]struct {
			b    []byte
			want string
		}{
			"truncated.xls":   {bifftest.Truncate(good, len(good)/2), "incomplete"},
			"cyclic-fat.xls":  {bifftest.LoopFAT(good), "loops back"},
			"huge-sst.xls":    {bifftest.SSTCount(good, math.MaxUint32), "distinct texts (shared strings), more than the limit"},
			"long-string.xls": {bifftest.LongString(good), "shared string table declares"},
			"huge-stream.xls": {bifftest.StreamSize(good, 1<<31), "more than the whole file"},
			"junk.xls":        {junk, "not an Excel workbook"},
			"page.xls":        {[]byte("<html><table><tr><td>需求描述</td></tr></table></html>"), "not an Excel workbook"},
		}
		for name, f := range files {
			w.dropBytes(t, name, f.b)
		}
		w.dropBytes(t, "good.xls", good)
		for name, f := range files {
			msg := w.waitFailed(t, name)
			if !strings.Contains(msg, f.want) || strings.Count(msg, "\n") != 1 {
				t.Errorf("%s: %q, want one line saying %q", name, msg, f.want)
			}
		}
		w.waitProcessed(t, 1)
		if c := w.Counts(t); c.Demands != 800 {
			t.Errorf("counts %+v, want the 800 rows of good.xls", c)
		}
	})
}

// An .xls over max_rows fails before any of its rows is committed, as an
// .xlsx does.
func TestXLSMaxRows(t *testing.T) {
	w := watchLimits(t, testenv.Backends[0].URL(t), func(c *folder.Config) { c.MaxRows = 10 })
	w.dropBytes(t, "rows.xls", testdataFile(t, "wjx_800_800_0.xls"))
	if msg := w.waitFailed(t, "rows.xls"); !strings.Contains(msg, "more than max_rows (10) rows") {
		t.Errorf("%q, want it to name max_rows", msg)
	}
	if c := w.Counts(t); c.Raw != 0 {
		t.Errorf("counts %+v: rows of a file over max_rows were stored", c)
	}
}
