package store

import (
	"strings"

	"github.com/jmoiron/sqlx"
)

// queries are the statements shared by both dialects, rebound once.
type queries struct {
	getCheckpoint, putCheckpoint string
	takeCodes                    string
	bumpOccurrences, linkByCode  string
	insertRaw, insertDemand      string
}

func newQueries(db *sqlx.DB) queries {
	placeholders := func(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }
	return queries{
		getCheckpoint: db.Rebind(`SELECT value FROM checkpoints WHERE source_key = ?`),
		putCheckpoint: db.Rebind(`INSERT INTO checkpoints (source_key, value, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (source_key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`),
		takeCodes: db.Rebind(`INSERT INTO code_sequences (period, last_value) VALUES (?, ?)
			ON CONFLICT (period) DO UPDATE SET last_value = code_sequences.last_value + excluded.last_value
			RETURNING last_value`),
		bumpOccurrences: db.Rebind(`UPDATE demands SET occurrences = occurrences + ?, last_activity_at = ? WHERE id = ?`),
		linkByCode:      db.Rebind(`UPDATE demands SET duplicate_of = (SELECT id FROM demands c WHERE c.code = ?) WHERE code = ?`),
		insertRaw: db.Rebind(`INSERT INTO raw_items (` + strings.Join(rawColumns, ", ") + `) VALUES (` +
			placeholders(len(rawColumns)) + `) ON CONFLICT (channel, external_key) DO NOTHING RETURNING id`),
		insertDemand: db.Rebind(`INSERT INTO demands (` + strings.Join(demandColumns, ", ") + `) VALUES (` +
			placeholders(len(demandColumns)) + `) RETURNING id`),
	}
}

// inList adds the condition "column IN (?, …)" for values, with its
// arguments; nothing when values is empty (no filter).
func inList(where *[]string, args *[]any, column string, values []string) {
	if len(values) == 0 {
		return
	}
	ph := make([]string, len(values))
	for i, v := range values {
		ph[i] = "?"
		*args = append(*args, v)
	}
	*where = append(*where, column+" IN ("+strings.Join(ph, ", ")+")")
}
