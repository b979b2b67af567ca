// Package ingest is the contract between demandd's channels and its engine.
//
// A Source runs until its context ends. It reads items from its channel
// (an IMAP mailbox, a watched folder, a webhook endpoint) and hands them to
// the Sink's Emit in batches, each batch with the checkpoint that acknowledges it.
// Emit normalises, classifies and stores the batch — raw items, records and
// checkpoint in one transaction — and returns nil only once that
// transaction has committed. A source acknowledges to its channel (advances
// its cursor, moves a file, answers 2xx) only after Emit returned nil; on an
// error it must not acknowledge, and will see the same items again. Items
// are identified by Channel + Key, so emitting an item twice adds nothing:
// the second time it counts as a duplicate.
//
// Emit returns a *RejectError when the batch as a whole can never be stored
// as it is (a questionnaire without a recognisable header, say): the source
// sets the input aside where a person will see it instead of retrying.
// Any other error is transient (the database is down): back off and retry.
//
// Emit is Prepare then Commit; a source that reads faster than it commits
// may Prepare batch N+1 while batch N commits, as long as it commits them in
// order and acknowledges each only after its Commit returned nil.
//
// A Sink that is also a TableReturner takes back tracking tables: a file
// whose header is the exported tracking table's is applied to the register
// through ApplyReturned, a chunk per transaction, instead of being emitted
// (returned.go).
//
// A source reads its own checkpoints through State when it starts.
//
// Several `serve` processes may share one PostgreSQL. A source that is not
// Shared runs in one of them at a time, under a lease (see engine): it must
// stop reading when its context ends, and its commits are refused once the
// lease is lost, so the next holder resumes from the last committed
// checkpoint. A Shared source (webhooks) runs in every process.
// Channel packages import ingest, demand and their protocol library only.
package ingest
