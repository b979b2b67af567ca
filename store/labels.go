package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	gojson "github.com/goccy/go-json"

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
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(q+` ORDER BY id`), args...)
	if err != nil {
		return fmt.Errorf("store: list confirmed demands: %w", err)
	}
	defer rows.Close()
	var row demandRow
	for rows.Next() {
		row = demandRow{}
		// Scanned by position and the reasons decoded here with go-json:
		// StructScan's reflection and encoding/json were half the time of
		// `rules evaluate` over a large register.
		if err := rows.Scan(&row.ID, &row.Code, &row.CustomerName, &row.CustomerIndustry, &row.ContactName,
			&row.ContactEmail, &row.ContactPhone, &row.CustomerTier, &row.Title, &row.Body, &row.Language, &row.Channel,
			&row.SourceName, &row.Origin, &row.ExternalRef, &row.ReceivedAt, &row.Urgency, &row.Type, &row.Importance,
			&row.Priority, &row.Status, &row.Reasons, &row.ConfirmedType, &row.ConfirmedUrgency, &row.ConfirmedBy,
			&row.ConfirmedAt); err != nil {
			return fmt.Errorf("store: list confirmed demands: %w", err)
		}
		reasons := row.Reasons
		row.Reasons = nil
		rec, err := row.record()
		if err != nil {
			return err
		}
		if len(reasons) > 0 && string(reasons) != "[]" {
			if err := gojson.Unmarshal(reasons, &rec.Reasons); err != nil {
				return fmt.Errorf("store: demand %s: decode reasons: %w", row.Code, err)
			}
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
