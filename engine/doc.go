// Package engine runs every configured source and turns what they emit
// into stored records.
//
// For each batch a source emits, the engine normalises every item
// (normalize), classifies the records (classify) — both spread over the
// CPUs — and hands raw items, records and the source's checkpoint to the
// store, which writes them in one transaction; Emit returns only after that
// commit. A source that prepares ahead may also stage a prepared batch
// (ingest.Stager): its raw items go into the batch's own transaction while
// the batch before commits, and Commit finishes that transaction. An item
// that cannot become a record is stored quarantined with
// its reason in the same transaction; an input that can never be used as it
// is (a questionnaire without a description column) rejects the batch with
// *ingest.RejectError and the source sets it aside.
//
// A returned tracking table (the exported table worked and brought back)
// is no batch of items: the folder hands its rows to ApplyReturned
// (returned.go), which reads them against the export's layout and stamps
// and has the store apply each chunk in one transaction.
//
// Shutdown: when the run context ends, sources stop reading; a commit that
// is under way finishes on a context of its own (bounded by DrainTimeout),
// so what was read is either committed with its checkpoint or not at all.
//
// Replicas: with Options.LeaseTTL set, a source that is not ingest.Shared
// runs only while this process holds its lease in the database, and each
// of its batches commits fenced by that lease; see lease.go for the
// protocol and its margins.
package engine
