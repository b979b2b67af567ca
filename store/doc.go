// Package store is demandd's register: PostgreSQL (through sqlx + lib/pq)
// or SQLite (modernc.org/sqlite, no cgo) behind one API. All SQL lives here.
//
// Schema: numbered migrations embedded in the binary (migrations/DIALECT/
// NNNN_name.sql), each applied in its own transaction and recorded in
// schema_migrations; a database whose schema is newer than the binary is
// refused (ErrSchemaNewer).
//
// Transactions: SaveBatch writes a batch's raw items, its demand records,
// the demand codes they take and the source's checkpoint in one
// transaction. Idempotency is enforced by the database: raw items are
// unique on (channel, external_key) and inserted with ON CONFLICT DO
// NOTHING, so an item stored before counts as a duplicate and adds nothing.
// On PostgreSQL a batch may be staged (StageBatch): its transaction begun
// and its raw items inserted while the batch before it commits on another
// connection, then finished by Staged.Save — still one transaction, so a
// staged batch is stored whole or not at all. A staged insert of a key the
// earlier batch holds waits for that batch's end, which is why batches are
// staged in commit order; a slot count bounds the connections staging
// holds. A batch's transaction runs on a connection of its own (txConn),
// through which its demands, history and SimHash rows go as COPY lines the
// store writes (copytext.go); a record's unchanging columns are written by
// Precompute, before the commit.
// A record whose fingerprint (same customer, same text) matches an earlier
// canonical record is stored too, linked to it through duplicate_of, and
// raises the canonical record's occurrence count.
//
// Near-duplicates (BatchOptions.Dedupe): a record the fingerprint left
// canonical is looked up in demand_simhash — canonical demands' SimHash in
// four 16-bit bands, each indexed with customer key and receive time, so a
// lookup reads four small index ranges whatever the table's size — and
// linked to the closest canonical demand within the window whose shingle
// similarity passes too; the reason goes to the history (kind "dedupe"),
// and the canonical takes the group's highest urgency. Concurrency: on
// PostgreSQL each batch takes pg_advisory_xact_lock on every band value of
// its records, sorted so that two batches cannot wait on each other
// crosswise, before any lookup: two near-duplicates share a band value, so
// the second batch waits until the first commits and then, under READ
// COMMITTED, sees its row. The customer's latest demands in the window are
// candidates too (a reworded short text is often more bits away than a band
// reaches), so each record's customer key is locked as well. Advisory locks
// rather than SERIALIZABLE retries: they wait only for batches that could
// link to each other, where a serialization failure would throw away and
// redo a whole batch of a thousand rows. SQLite needs nothing: it has one
// writer at a time.
//
// Revisions: every demand has one, 1 when inserted and one more on every
// UPDATE of its row, counted by a trigger (migration 0011) so that no update
// path can forget it. ApplyTable applies a chunk of a returned tracking
// table in one transaction (its rows locked FOR UPDATE on PostgreSQL, in id
// order): a value equal to the register's is unchanged, another applied
// only while the record is at the revision the row was exported at, and a
// conflict otherwise (returned.go).
//
// Codes are prefix + yyyymm + sequence, taken from code_sequences inside the
// same transaction, so a rolled-back batch takes no numbers and two
// concurrent batches never share one.
package store
