package folder

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/demandd/demandd/ingest"
)

// rowJSON encodes the rows of one file exactly as json.Marshal encodes an
// ingest.Row, with the fields every row of the file shares — file, digest,
// sheet, the header rows, the free-text widths — encoded once: they are
// most of a row's JSON, and encoding them again for each of 100,000 rows
// was a tenth of the reading goroutine's time.
type rowJSON struct {
	shared    ingest.Row // the shared fields the parts below were made from
	head, mid []byte     // up to the row number; from it to the cells
	tail      []byte     // after the cells
	ok        bool
}

// rowNumberSentinel and cellsSentinel mark where a row's own values go in
// the template; no row has that number, and the cell is only ever seen
// here.
const rowNumberSentinel = 987654321

var cellsSentinel = []string{"\x01demandd\x01"}

// encode returns row's JSON. A row whose shared fields differ from the
// last template's (or that is cut) is encoded by json.Marshal.
func (e *rowJSON) encode(row *ingest.Row) ([]byte, error) {
	if row.CellsCut || row.Number == rowNumberSentinel {
		return json.Marshal(row)
	}
	if !e.ok || !sameShared(&e.shared, row) {
		if err := e.template(row); err != nil {
			return json.Marshal(row)
		}
	}
	cells, err := json.Marshal(row.Cells)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(e.head)+len(e.mid)+len(e.tail)+len(cells)+12)
	b = append(b, e.head...)
	b = strconv.AppendInt(b, int64(row.Number), 10)
	b = append(b, e.mid...)
	b = append(b, cells...)
	return append(b, e.tail...), nil
}

// template encodes row's shared fields around the sentinels and splits
// the result at them.
func (e *rowJSON) template(row *ingest.Row) error {
	e.ok = false
	t := *row
	t.Number, t.Cells = rowNumberSentinel, cellsSentinel
	b, err := json.Marshal(&t)
	if err != nil {
		return err
	}
	number := []byte(`"row":` + strconv.Itoa(rowNumberSentinel))
	cells, _ := json.Marshal(cellsSentinel)
	cells = append([]byte(`"cells":`), cells...)
	i, j := bytes.Index(b, number), bytes.Index(b, cells)
	if i < 0 || j < i || bytes.Count(b, number) != 1 || bytes.Count(b, cells) != 1 {
		return errTemplate
	}
	i += len(`"row":`)
	e.head = b[:i:i]
	e.mid = b[i+len(number)-len(`"row":`) : j+len(`"cells":`)]
	e.tail = b[j+len(cells):]
	e.shared = t
	e.shared.Cells, e.shared.Number = nil, 0
	e.ok = true
	return nil
}

var errTemplate = errors.New("folder: row template not found")

// sameShared reports whether row's shared fields are those of s: the
// slices compared as the same backing arrays, which every row of a file
// shares (rowBatcher.row), else by content; Header, never omitted, also
// by being nil.
func sameShared(s, row *ingest.Row) bool {
	return (s.Header == nil) == (row.Header == nil) && s.File == row.File && s.SHA256 == row.SHA256 && s.Sheet == row.Sheet && s.Encoding == row.Encoding &&
		s.MaxCell == row.MaxCell && sameSlice(s.Header, row.Header) && sameSlice(s.Labels, row.Labels) &&
		sameSlice(s.ImportIDs, row.ImportIDs) && sameSlice(s.FreeText, row.FreeText)
}

func sameSlice[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) > 0 && &a[0] == &b[0] {
		return true
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
