package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mattn/go-runewidth"

	"github.com/demandd/demandd/internal/i18n"
)

// Columns line up by display width: a Chinese character takes two
// terminal cells, and a cut cell ends in "…" within its width.
func TestTableMeasuresDisplayWidth(t *testing.T) {
	var b bytes.Buffer
	tab := newTable(&b, i18n.ZH, column{"客户", "CUSTOMER", 10}, column{"状态", "STATUS", 6}, column{"需求描述", "DESCRIPTION", 12})
	tab.row("北京远航物流有限公司", "待处理", "报表导出太慢，希望增加批量导出功能")
	tab.row("ACME", "new", "short")
	tab.row("混合 mixed 文本", "处理中", "line\nbreak")
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines: %q", len(lines), b.String())
	}
	// The status column starts at the same display column on every line.
	var at []int
	for _, l := range lines {
		for _, status := range []string{"状态", "待处理", "new", "处理中"} {
			if i := strings.Index(l, status); i >= 0 {
				at = append(at, runewidth.StringWidth(l[:i]))
				break
			}
		}
	}
	if len(at) != 4 || at[0] != 12 || at[1] != 12 || at[2] != 12 || at[3] != 12 {
		t.Errorf("status column starts at %v, want 12 on every line:\n%s", at, b.String())
	}
	if !strings.Contains(lines[1], "北京远航…") {
		t.Errorf("customer not cut to 10 cells: %q", lines[1])
	}
	for _, l := range lines {
		if w := runewidth.StringWidth(l); w > 10+2+6+2+12 {
			t.Errorf("line %q is %d cells wide", l, w)
		}
		if strings.HasSuffix(l, " ") {
			t.Errorf("trailing blanks: %q", l)
		}
	}
	var en bytes.Buffer
	newTable(&en, i18n.EN, column{"客户", "CUSTOMER", 10})
	if strings.TrimSpace(en.String()) != "CUSTOMER" {
		t.Errorf("English header %q", en.String())
	}
}
