package export

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"github.com/demandd/demandd/demand"
)

// bom is the UTF-8 byte order mark: without it Excel reads a CSV in the
// system's ANSI code page (GBK on a Chinese Windows) and garbles the text.
const bom = "\uFEFF"

// csvTime is how dates are written in CSV: what Excel recognises as a date
// and a person reads without a format.
const csvTime = "2006-01-02 15:04"

// WriteCSV streams the tracking table of the records matching f to w as
// CSV and returns the number of data rows: the header row and one row per
// record, the columns of WriteTable without its title area, for machines
// and for opening in Excel. It is UTF-8 with a byte order mark and CRLF
// line ends, as Excel expects; dates are YYYY-MM-DD HH:MM in
// opts.Location. Text that a spreadsheet would run as a formula gets a
// leading apostrophe (see csvText). On an error w may hold part of the
// file.
func WriteCSV(ctx context.Context, w io.Writer, src Records, f demand.Filter, opts TableOptions) (int, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return 0, err
	}
	out := &ctxWriter{ctx: ctx, w: w}
	if _, err := io.WriteString(out, bom); err != nil {
		return 0, fmt.Errorf("export: csv: %w", err)
	}
	cw := csv.NewWriter(out)
	cw.UseCRLF = true
	if err := cw.Write(ColumnNames(opts.Locale)); err != nil {
		return 0, fmt.Errorf("export: csv: %w", err)
	}
	fields := make([]string, numColumns)
	n, err := eachRow(ctx, src, f, opts, func(_ int, tr *tableRow) error {
		for i, c := range columns {
			switch c.kind {
			case kindDay, kindTime:
				fields[i] = ""
				if t := tr.time[i]; !t.IsZero() {
					fields[i] = t.In(opts.Location).Format(csvTime)
				}
			case kindNumber:
				fields[i] = strconv.Itoa(tr.count)
			case kindScore:
				fields[i] = ""
				if tr.score > 0 {
					fields[i] = strconv.Itoa(tr.score)
				}
			default:
				fields[i] = csvText(tr.text[i])
			}
		}
		return cw.Write(fields)
	})
	if err == nil {
		cw.Flush()
		err = cw.Error()
	}
	if err != nil {
		return 0, fmt.Errorf("export: csv: %w", err)
	}
	return n, nil
}

// csvText defends against CSV injection as OWASP advises: a field that
// starts with = + - @, a tab or a carriage return is a formula (or starts
// one) to Excel and LibreOffice when they open the file, so it gets a
// leading apostrophe, which they show as text. In the xlsx every string is
// a string cell and needs none.
func csvText(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}
