package store

import (
	"encoding/binary"
	"fmt"
	"time"
)

// A column of a batch goes to PostgreSQL as one array in the binary wire
// format (array_recv), bound as a []byte so that lib/pq sends it in binary
// (see openPostgres), and is unnested server-side: INSERT … SELECT FROM
// unnest($1::text[], …). One small statement carries a whole batch with no
// per-row parameters to parse and no escaping: raw items went in 45 % less
// time than as a multi-row VALUES of the same rows (issue 15).

// Element type OIDs; array_recv refuses an array whose element type is not
// the one the statement casts to.
const (
	oidBytea       = 17
	oidText        = 25
	oidTimestamptz = 1184
)

// pgEpoch is where PostgreSQL's binary timestamps count from.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Unix()

// pgArray is column c of rows as a binary array of element type oid, in a
// buffer of its exact size. The values are strings (valid UTF-8 without
// NUL, as clean leaves them: PostgreSQL checks text), []byte or time.Time.
func pgArray(oid uint32, rows [][]any, c int) ([]byte, error) {
	size := 20
	for _, row := range rows {
		switch x := row[c].(type) {
		case string:
			size += 4 + len(x)
		case []byte:
			size += 4 + len(x)
		default:
			size += 4 + 8
		}
	}
	b := make([]byte, 0, size)
	// one dimension, a null bitmap flag PostgreSQL recomputes, the
	// element type, then the dimension's length and lower bound
	b = binary.BigEndian.AppendUint32(b, 1)
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint32(b, oid)
	b = binary.BigEndian.AppendUint32(b, uint32(len(rows)))
	b = binary.BigEndian.AppendUint32(b, 1)
	for _, row := range rows {
		switch x := row[c].(type) {
		case string:
			b = binary.BigEndian.AppendUint32(b, uint32(len(x)))
			b = append(b, x...)
		case []byte:
			b = binary.BigEndian.AppendUint32(b, uint32(len(x)))
			b = append(b, x...)
		case time.Time: // microseconds since 2000-01-01 UTC
			b = binary.BigEndian.AppendUint32(b, 8)
			b = binary.BigEndian.AppendUint64(b, uint64((x.Unix()-pgEpoch)*1_000_000+int64(x.Nanosecond()/1000)))
		default:
			return nil, fmt.Errorf("store: no binary array encoding for %T", x)
		}
	}
	return b, nil
}
