package folder

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/demandd/demandd/ingest"
	"github.com/demandd/demandd/internal/i18n"
)

// Limits of a file. A file over one goes to failed/ with the limit named
// in NAME.error.txt; it can never be stored, so it is not retried. What
// reaches the database is bounded too: a cell on the record by max_cell, a
// raw row by maxRowBytes, so that no content can make a commit fail (such
// as SQLite's "string or blob too big", which was retried forever). The
// limits of an .xlsx, checked before excelize reads it, are in
// xlsxlimits.go.

// The default limits of a file.
const (
	DefaultMaxFileSize = 200 << 20
	DefaultMaxRows     = 1_000_000
	DefaultMaxCell     = 64 << 10
)

// maxRowBytes is the most a row may hold, all cells together: a bigger
// row is stored quarantined with its cells cut (see produce).
const maxRowBytes = 4 << 20

// maxBatchBytes bounds a batch as well as BatchSize does, so that big rows
// are not held a thousand at a time.
const maxBatchBytes = 16 << 20

// maxHeaderBytes bounds the header rows, which every raw row carries.
const maxHeaderBytes = 1 << 20

// limits bound what reading one file may cost.
type limits struct {
	fileSize int64 // bytes on disk
	rows     int   // number of the last row with something in it
	cell     int   // bytes of one cell on the record
}

// readOptions are how importFile reads a file.
type readOptions struct {
	batchSize int
	limits
	// locale is the language of the reasons stored with quarantined rows.
	locale i18n.Locale
}

func defaultReadOptions() readOptions {
	return readOptions{batchSize: 1000, limits: limits{DefaultMaxFileSize, DefaultMaxRows, DefaultMaxCell}, locale: i18n.ZH}
}

func (s *Source) readOptions() readOptions {
	return readOptions{batchSize: s.cfg.BatchSize, limits: limits{s.cfg.MaxFileSize, s.cfg.MaxRows, s.cfg.MaxCell}, locale: s.cfg.Locale}
}

// rowBytes is what cells take in memory.
func rowBytes(cells []string) int {
	n := 0
	for _, c := range cells {
		n += len(c) + cellOverhead
	}
	return n
}

// cutRow is row with every cell and header cut to the size that lets the
// row be stored: at most cell bytes each, and maxRowBytes together.
func cutRow(row *ingest.Row, cell int) *ingest.Row {
	cut := *row
	per := min(cell, maxRowBytes/max(len(row.Cells)+len(row.Header)+len(row.Labels)+len(row.ImportIDs), 1))
	each := func(ss []string) []string {
		out := make([]string, len(ss))
		for i, s := range ss {
			out[i] = cutString(s, per)
		}
		return out
	}
	cut.Header, cut.Labels, cut.ImportIDs, cut.Cells = each(row.Header), each(row.Labels), each(row.ImportIDs), each(row.Cells)
	cut.CellsCut = true
	return &cut
}

// cutString is s cut to at most n bytes, on a character boundary.
func cutString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// byteSize writes n bytes for a person: 512 bytes, 64 KB, 1.1 GB.
func byteSize(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d bytes", n)
	case n < 1<<20:
		return trimZero(float64(n)/(1<<10)) + " KB"
	case n < 1<<30:
		return trimZero(float64(n)/(1<<20)) + " MB"
	}
	return trimZero(float64(n)/(1<<30)) + " GB"
}

func trimZero(v float64) string {
	return strings.TrimSuffix(strconv.FormatFloat(v, 'f', 1, 64), ".0")
}
