package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/demandd/demandd/demand"
)

// confirmedColumns are what classifying a demand again needs — its texts,
// customer, source, stated values and reasons — with the confirmed
// labels. The lists the rules never read (tags, extra attributes,
// attachments, flags) are left out: decoding them is most of the cost
// of a row.
var confirmedColumns = strings.Join([]string{"id", "code", "customer_name", "customer_industry", "contact_name",
	"contact_email", "contact_phone", "customer_tier", "title", "body", "language", "channel", "source_name", "origin",
	"external_ref", "received_at", "urgency", "type", "importance", "priority", "status", "reasons",
	"confirmed_type", "confirmed_urgency", "confirmed_by", "confirmed_at"}, ", ")

// EachConfirmed calls fn for every demand with a confirmed type or urgency
// received at or after since (zero: all), oldest first, with its
// confirmed labels, streaming rows so that memory does not grow with the
// table. The record carries what classification reads and its reasons
// (the confirmed-label ones included); its tags, extra attributes,
// attachments and flags are left empty.
func (s *Store) EachConfirmed(ctx context.Context, since time.Time, fn func(rec *demand.Record, c Confirmed) error) error {
	q := `SELECT ` + confirmedColumns + ` FROM demands WHERE (confirmed_type <> '' OR confirmed_urgency <> '')`
	var args []any
	if !since.IsZero() {
		q += ` AND received_at >= ?`
		args = append(args, since.UTC())
	}
	rows, err := s.db.QueryxContext(ctx, s.db.Rebind(q+` ORDER BY id`), args...)
	if err != nil {
		return fmt.Errorf("store: list confirmed demands: %w", err)
	}
	defer rows.Close()
	var row demandRow
	for rows.Next() {
		row = demandRow{}
		if err := rows.StructScan(&row); err != nil {
			return fmt.Errorf("store: list confirmed demands: %w", err)
		}
		rec, err := row.record()
		if err != nil {
			return err
		}
		if err := fn(rec, row.confirmed()); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: list confirmed demands: %w", err)
	}
	return nil
}
