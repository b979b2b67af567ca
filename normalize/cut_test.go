package normalize

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/ingest"
)

// A cell longer than the row's MaxCell is cut on the record, on a
// character boundary, and the record is flagged; the item is not changed.
func TestLongCellCut(t *testing.T) {
	header := []string{"姓名", "需求描述", "备注"}
	long := strings.Repeat("登录很慢", 100) // 1,200 bytes
	it := rowItem(t, header, []string{"张三", long, strings.Repeat("x", 2000)})
	var row ingest.Row
	if err := json.Unmarshal(it.Body, &row); err != nil {
		t.Fatal(err)
	}
	row.MaxCell = 1000
	it.Row = &row
	rec, err := NewQuestionnaire(nil, shanghai).Record(it)
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.Description.Text; len(got) != 999 || !strings.HasPrefix(long, got) {
		t.Errorf("description of %d bytes, want the first 999 (333 characters)", len(got))
	}
	if len(rec.Extra) != 1 || len(rec.Extra[0].Value) != 1000 {
		t.Errorf("extra %d bytes, want 1000", len(rec.Extra[0].Value))
	}
	if !slices.Contains(rec.Flags, demand.FlagCellCut) {
		t.Errorf("flags %v, want %s", rec.Flags, demand.FlagCellCut)
	}
	if row.Cells[1] != long {
		t.Error("the row itself was changed")
	}

	// Under the limit, or without one (rows stored before max_cell): whole.
	for _, limit := range []int{0, 4096} {
		row.MaxCell = limit
		rec, err := NewQuestionnaire(nil, shanghai).Record(it)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Description.Text != long || slices.Contains(rec.Flags, demand.FlagCellCut) {
			t.Errorf("limit %d: description of %d bytes, flags %v", limit, len(rec.Description.Text), rec.Flags)
		}
	}

	// A row stored cut (too big to keep whole) is flagged when reprocessed.
	row.MaxCell, row.CellsCut = 4096, true
	body, _ := json.Marshal(row)
	rec, err = NewQuestionnaire(nil, shanghai).Record(ingest.Item{Channel: it.Channel, Source: it.Source, ContentType: it.ContentType, Body: body})
	if err != nil || !slices.Contains(rec.Flags, demand.FlagCellCut) {
		t.Errorf("reprocessed cut row: flags %v, %v", rec.Flags, err)
	}
}
