package store

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strconv"
	"time"
	"unsafe"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/demandd/demandd/demand"
)

// A batch's rows go to PostgreSQL as lines of COPY's text format written
// here, not value by value through database/sql and lib/pq: a demand's
// columns known before the commit are written while the batch is
// prepared (Precompute), on the preparing goroutines, and the commit only
// adds the few that it decides and streams the lines in 64 KB pieces
// (lib/pq's CopyData). The commit is the import's slowest stage; per row
// it had spent more time converting and encoding arguments than PostgreSQL
// took to parse them.

// txConn is a batch's transaction and the connection it runs on, which
// COPY reaches through (copyLines).
type txConn struct {
	*sqlx.Tx
	conn *sqlx.Conn
}

// beginConn begins a transaction, under txCtx, on a connection of its own
// taken under ctx. close ends both.
func (s *Store) beginConn(ctx, txCtx context.Context) (*txConn, error) {
	conn, err := s.db.Connx(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := conn.BeginTxx(txCtx, nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return &txConn{Tx: tx, conn: conn}, nil
}

// close rolls the transaction back unless it has ended, and gives the
// connection back to the pool.
func (t *txConn) close() {
	_ = t.Tx.Rollback()
	_ = t.conn.Close()
}

// copyChunk is how much of a COPY is handed to lib/pq at once.
const copyChunk = 64 << 10

// copyLines streams n rows into table's columns with COPY (PostgreSQL):
// line appends row i to buf in COPY's text format, without the newline.
func (t *txConn) copyLines(ctx context.Context, table string, columns []string, n int, line func(buf []byte, i int) []byte) error {
	if n == 0 {
		return nil
	}
	err := t.conn.Raw(func(dc any) error {
		prep, ok := dc.(driver.ConnPrepareContext)
		if !ok {
			return fmt.Errorf("driver %T cannot prepare a COPY", dc)
		}
		st, err := prep.PrepareContext(ctx, copyFrom(table, columns))
		if err != nil {
			return err
		}
		defer st.Close()
		cp, ok := st.(copyStmt)
		if !ok {
			return fmt.Errorf("driver statement %T takes no COPY data", st)
		}
		buf := make([]byte, 0, copyChunk+8<<10)
		send := func() error {
			if len(buf) == 0 {
				return nil
			}
			// CopyData appends the bytes to its own buffer before it
			// returns; buf is not touched until then.
			_, err := cp.CopyData(ctx, unsafe.String(unsafe.SliceData(buf), len(buf)))
			buf = buf[:0]
			return err
		}
		for i := range n {
			if len(buf) > 0 {
				buf = append(buf, '\n')
			}
			buf = line(buf, i)
			if len(buf) >= copyChunk {
				if err := send(); err != nil {
					return err
				}
			}
		}
		if err := send(); err != nil {
			return err
		}
		_, err = cp.Exec(nil) // ends the COPY and reports its errors
		return err
	})
	if err != nil {
		return fmt.Errorf("store: copy %s: %w", table, err)
	}
	return nil
}

// copyStmt is lib/pq's COPY statement.
type copyStmt interface {
	CopyData(ctx context.Context, line string) (driver.Result, error)
	Exec(args []driver.Value) (driver.Result, error)
}

// appendCopyText appends s as a field of COPY's text format.
func appendCopyText(buf []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !copyEscaped[c] {
			continue
		}
		buf = append(buf, s[start:i]...)
		switch c {
		case '\\':
			buf = append(buf, `\\`...)
		case '\n':
			buf = append(buf, `\n`...)
		case '\r':
			buf = append(buf, `\r`...)
		case '\t':
			buf = append(buf, `\t`...)
		}
		start = i + 1
	}
	return append(buf, s[start:]...)
}

// copyEscaped are the bytes appendCopyText escapes, looked up a byte at a
// time: strings.IndexAny went a rune at a time through short strings.
var copyEscaped = [256]bool{'\\': true, '\n': true, '\r': true, '\t': true}

// appendCopyID appends an id, NULL for 0.
func appendCopyID(buf []byte, id int64) []byte {
	if id == 0 {
		return append(buf, `\N`...)
	}
	return strconv.AppendInt(buf, id, 10)
}

// appendCopyTime appends t as lib/pq sends a time.Time, NULL for the zero
// time when null is set.
func appendCopyTime(buf []byte, t time.Time, null bool) []byte {
	if null && t.IsZero() {
		return append(buf, `\N`...)
	}
	return append(buf, pq.FormatTimestamp(t.UTC())...)
}

// demandCopyColumns are the demand columns a COPY writes: first those
// Precompute writes (demandStaticLine), then those the commit decides
// (appendDemandDecided).
var demandCopyColumns = []string{"customer_name", "customer_industry", "contact_name",
	"contact_email", "contact_phone", "customer_tier", "title", "body", "scenario", "pain_point", "goal",
	"language", "attachments", "channel", "source_name", "origin", "external_ref", "received_at",
	"type", "importance", "priority", "department", "due_at", "sla", "pain_score", "business_value", "tags",
	"reasons", "response_plan", "feedback_result", "satisfaction", "fingerprint", "extra", "flags",
	"code", "raw_item_id", "urgency", "status", "duplicate_of", "occurrences", "created_at", "updated_at", "last_activity_at", "id"}

// demandStaticLine is the first part of r's COPY line: the columns that
// no part of a save changes, as demandValues has them.
func demandStaticLine(r *demand.Record, docs *[5]string) string {
	c, d, src := &r.Customer, &r.Description, &r.Source
	texts := [...]string{clean(c.Name), clean(c.Industry), clean(c.Contact), clean(c.Email),
		clean(c.Phone), string(c.Tier), clean(d.Title), clean(d.Text), clean(d.Scenario), clean(d.PainPoint),
		clean(d.Goal), d.Language, docs[0], string(src.Channel), clean(src.Name),
		string(src.Origin), clean(src.ExternalRef)}
	more := [...]string{string(r.Type), string(r.Importance), string(r.Priority), clean(r.Department), clean(r.SLA),
		docs[1], docs[2], clean(r.ResponsePlan), clean(r.FeedbackResult), r.Fingerprint, docs[3], docs[4]}
	size := 160 // the times, numbers and tabs
	for _, t := range texts {
		size += len(t) + len(t)/16 // room for a few escapes
	}
	for _, t := range more {
		size += len(t) + len(t)/16
	}
	b := make([]byte, 0, size)
	for i, v := range texts {
		if i > 0 {
			b = append(b, '\t')
		}
		b = appendCopyText(b, v)
	}
	b = appendCopyTime(append(b, '\t'), src.ReceivedAt, false)
	for _, v := range more[:4] { // type, importance, priority, department
		b = appendCopyText(append(b, '\t'), v)
	}
	b = appendCopyTime(append(b, '\t'), r.DueAt, true)
	b = appendCopyText(append(b, '\t'), more[4]) // sla
	b = strconv.AppendInt(append(b, '\t'), int64(r.PainScore), 10)
	b = strconv.AppendInt(append(b, '\t'), int64(r.BusinessValue), 10)
	for _, v := range more[5:9] { // tags, reasons, response plan, feedback result
		b = appendCopyText(append(b, '\t'), v)
	}
	b = strconv.AppendInt(append(b, '\t'), int64(r.Satisfaction), 10)
	for _, v := range more[9:] { // fingerprint, extra, flags
		b = appendCopyText(append(b, '\t'), v)
	}
	return unsafe.String(unsafe.SliceData(b), len(b)) // b is not used again
}

// timeText formats times for COPY, remembering the last: a batch's
// records share the time of their save.
type timeText struct {
	t    time.Time
	text []byte
}

func (c *timeText) append(buf []byte, t time.Time) []byte {
	if c.text == nil || !t.Equal(c.t) {
		c.t, c.text = t, pq.FormatTimestamp(t.UTC())
	}
	return append(buf, c.text...)
}

// appendDemandDecided appends the rest of r's COPY line: what the save
// decides (code, links, counts, times) or may change (urgency, status).
func appendDemandDecided(buf []byte, r *demand.Record, times *timeText) []byte {
	buf = appendCopyText(append(buf, '\t'), r.Code)
	buf = appendCopyID(append(buf, '\t'), r.RawItemID)
	buf = appendCopyText(append(buf, '\t'), string(r.Urgency))
	buf = appendCopyText(append(buf, '\t'), string(r.Status))
	buf = appendCopyID(append(buf, '\t'), r.DuplicateOf)
	buf = strconv.AppendInt(append(buf, '\t'), int64(r.Occurrences), 10)
	buf = times.append(append(buf, '\t'), r.CreatedAt)
	buf = times.append(append(buf, '\t'), r.UpdatedAt)
	buf = times.append(append(buf, '\t'), r.LastActivityAt)
	return strconv.AppendInt(append(buf, '\t'), r.ID, 10) // drawn by drawDemandIDs
}

// appendCopyValue appends v, of the types the store's rows hold, as
// lib/pq's COPY would send it.
func appendCopyValue(buf []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(buf, `\N`...)
	case string:
		return appendCopyText(buf, x)
	case int64:
		return strconv.AppendInt(buf, x, 10)
	case int:
		return strconv.AppendInt(buf, int64(x), 10)
	case time.Time:
		return appendCopyTime(buf, x, false)
	default:
		panic(fmt.Sprintf("store: no COPY text for %T", v))
	}
}
