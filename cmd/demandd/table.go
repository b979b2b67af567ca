package main

import (
	"io"
	"strings"

	"github.com/mattn/go-runewidth"

	"github.com/demandd/demandd/internal/i18n"
)

// column is one column of a terminal table: its header in both languages
// and its width in terminal cells (a Chinese character takes two).
type column struct {
	zh, en string
	width  int // cut to this many cells; 0: never cut
}

// table writes rows as they come, each cell cut or padded to its column's
// display width, so that a table of thousands of rows needs no buffering
// and Chinese text lines up under its header.
type table struct {
	w    io.Writer
	cols []column
	pad  []int // display width of each column: its width, at least its header's
	err  error
}

func newTable(w io.Writer, l i18n.Locale, cols ...column) *table {
	t := &table{w: w, cols: cols, pad: make([]int, len(cols))}
	header := make([]string, len(cols))
	for i, c := range cols {
		header[i] = i18n.T(c.zh, c.en).In(l)
		t.pad[i] = max(c.width, runewidth.StringWidth(header[i]))
	}
	t.row(header...)
	return t
}

// row writes one line; it returns the first write error (a closed pipe).
func (t *table) row(cells ...string) error {
	if t.err != nil {
		return t.err
	}
	var b strings.Builder
	for i, c := range t.cols {
		cell := ""
		if i < len(cells) {
			cell = fitCell(cells[i], c.width)
		}
		if i == len(t.cols)-1 {
			b.WriteString(cell) // no trailing blanks
			break
		}
		b.WriteString(runewidth.FillRight(cell, t.pad[i]))
		b.WriteString("  ")
	}
	b.WriteByte('\n')
	_, t.err = io.WriteString(t.w, b.String())
	return t.err
}

// fitCell puts s on one line and cuts it to width display cells with "…".
func fitCell(s string, width int) string {
	s = strings.Join(strings.Fields(s), " ")
	if width <= 0 || runewidth.StringWidth(s) <= width {
		return s
	}
	return runewidth.Truncate(s, width, "…")
}
