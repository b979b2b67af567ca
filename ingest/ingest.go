package ingest

import (
	"context"
	"errors"
	"time"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/internal/i18n"
)

// Content types of raw item bodies; normalize dispatches on them.
const (
	// ContentTypeRow is one spreadsheet row as JSON (see Row).
	ContentTypeRow = "application/vnd.demandd.row+json"
	// ContentTypeEmail is a whole RFC 5322 message.
	ContentTypeEmail = "message/rfc822"
	// ContentTypeJSON is a webhook payload.
	ContentTypeJSON = "application/json"
)

// Item is one raw item as it came from a channel.
type Item struct {
	Channel demand.Channel
	Source  string // the configured source name
	// Key identifies the item within its channel, independent of the
	// source: the same file dropped into two folders has the same keys.
	Key         string
	ContentType string
	Body        []byte
	// SHA256, when the channel computed it already (a message's key holds
	// it), is Body's digest in hex; the sink computes it otherwise.
	SHA256     string
	ReceivedAt time.Time
	Origin     demand.Origin
	// Ref is the human-readable external reference kept on the record
	// (file name and row, Message-ID, ticket URL).
	Ref string
	// Row, when set, is Body already decoded (ContentTypeRow): the channel
	// had it at hand, so the normaliser need not parse the JSON again.
	Row *Row
	// Mapped, when set, is the record the channel already made from Body
	// (a webhook preset's mapping of a ContentTypeJSON payload): the
	// normaliser completes it instead of reading Body again.
	Mapped *demand.Record
	// Problem, when set, is why the channel could not take the item whole
	// (a message over the size limit, recorded from its headers): it is
	// stored quarantined with this reason, not normalised.
	Problem string
	// Ignore, when set, says why the channel kept the item but it is not
	// a demand (a sender over its rate limit): it is stored as ignored.
	Ignore string
}

// Row is the body of a ContentTypeRow item: a questionnaire row with the
// header it is read against, so that the raw item can be reprocessed alone.
type Row struct {
	File   string   `json:"file"`
	SHA256 string   `json:"sha256"`
	Sheet  string   `json:"sheet,omitempty"`
	Number int      `json:"row"` // 1-based row number in the sheet
	Header []string `json:"header"`
	// Labels is the second header row of exports that have one, column for
	// column: Qualtrics writes its export tags (StartDate, Q1, V1 …) in the
	// first row and the labels — the question texts — in the second. The
	// mapper reads both. Header stays the file's first row as written
	// (rather than "Q1 | question text" combined) so that every header and
	// label shown to a person, and suggested for the configuration, is text
	// found in the file; rows stored before Labels existed read as before.
	Labels []string `json:"labels,omitempty"`
	// ImportIDs is Qualtrics' third header row, {"ImportId":"QID2_TEXT",
	// "timeZone":"America/Denver"} per column, when the file has it.
	ImportIDs []string `json:"import_ids,omitempty"`
	// FreeText is what the reader found in the file's first answer rows
	// (the same rows for every row of the file, so a row still reprocesses
	// alone): per column, the mean width of the answers that read as free
	// text — sentences, not numbers, dates, codes or a few repeated choices
	// — and 0 for the other columns. Nil when no column holds free text.
	// The mapper takes the widest free-text column as the description when
	// no header names one.
	FreeText []int    `json:"free_text,omitempty"`
	Cells    []string `json:"cells"`
	// Encoding is the text encoding a CSV file was read in (UTF-8,
	// GB18030, UTF-16LE, UTF-16BE), decided from its bytes when it has no
	// BOM: a rejection names it, since a wrong guess garbles the headers.
	// Empty for workbooks.
	Encoding string `json:"encoding,omitempty"`
	// MaxCell is the most bytes of one cell the record takes (the folder's
	// max_cell); a longer cell is cut on the record, and kept whole here.
	// 0: no limit (rows stored before it existed).
	MaxCell int `json:"max_cell,omitempty"`
	// CellsCut marks a row too big to store whole: its cells are cut here
	// too, and the whole row is only in the original file.
	CellsCut bool `json:"cells_cut,omitempty"`
}

// Checkpoint is a source's cursor, stored with the batch it acknowledges.
type Checkpoint struct {
	Key   string // e.g. "folder/inbox/<sha256>"
	Value string // opaque to the engine
}

// Batch is what a source emits at once; it is committed as a whole.
type Batch struct {
	Items      []Item
	Checkpoint *Checkpoint // nil when the source keeps no cursor
}

// Result counts what became of a batch's items.
type Result struct {
	New         int // became new demand records
	Duplicate   int // already stored, or the same content as an earlier record
	Quarantined int // kept with the reason, waiting for reprocess
	Ignored     int // kept, not a demand (auto-replies, bounces)
	FollowUp    int // replies attached to the demand they answer
	// Outcomes says, per item of the batch in order, what became of it and
	// the code of its demand (see store.Outcome); Add leaves it out.
	Outcomes []Outcome
	// Table is set when the file was a returned tracking table
	// (returned.go): nothing above counts, its rows are counted here.
	Table *ReturnedResult
}

// Outcome is what became of one item: Kind is new, linked, follow_up,
// duplicate, quarantined or ignored; Code the demand it belongs to.
type Outcome struct {
	Kind string
	Code string
	// Reason is why an item is quarantined or ignored.
	Reason string
	// Stored is, for a duplicate, what became of the item when it was
	// first stored: ok, quarantined or ignored.
	Stored string
}

// Add sums two results.
func (r Result) Add(o Result) Result {
	return Result{New: r.New + o.New, Duplicate: r.Duplicate + o.Duplicate, Quarantined: r.Quarantined + o.Quarantined,
		Ignored: r.Ignored + o.Ignored, FollowUp: r.FollowUp + o.FollowUp}
}

// Total is the number of items counted.
func (r Result) Total() int { return r.New + r.Duplicate + r.Quarantined + r.Ignored + r.FollowUp }

// Sink is where a source hands its batches: the engine.
type Sink interface {
	// Emit prepares and commits a batch; see the package documentation.
	Emit(ctx context.Context, b Batch) (Result, error)
	// Prepare does Emit's work up to the commit — normalising and
	// classifying — so that a source can prepare its next batch while the
	// previous one commits. It returns a *RejectError as Emit does.
	Prepare(ctx context.Context, b Batch) (*Prepared, error)
	// Commit stores a prepared batch in one transaction; it returns after
	// the commit. Commit batches of one checkpoint in the order read.
	Commit(ctx context.Context, p *Prepared) (Result, error)
	// FileFailed records a whole file the source could not read and set
	// aside, so that it is listed with the quarantine and can be retried.
	FileFailed(ctx context.Context, f FailedFile) error
	// FileImported marks earlier failures of the same content resolved.
	FileImported(ctx context.Context, channel demand.Channel, sha256 string) error
}

// FailedFile is a whole file a channel could not read and moved aside.
type FailedFile struct {
	Channel      demand.Channel
	Source       string
	Name         string
	SHA256       string
	Size         int64
	Reason       string // what is wrong and what to do, as written beside it
	OriginalPath string // where it was found: reprocess puts it back there
	MovedTo      string
	FailedAt     time.Time
	// Found marks a file found in failed/ rather than just set aside: it
	// is recorded if unknown and otherwise left as the register has it.
	Found bool
}

// Prepared is a batch made ready for Commit: every item of Batch, in
// order, with what normalisation and classification made of it.
type Prepared struct {
	Batch Batch
	Items []PreparedItem
	// Staged is the sink's commit begun by Stage, opaque here.
	Staged any
}

// Stager is a Sink that can begin a prepared batch's commit ahead of it —
// storing its raw items in a transaction of its own while the batch
// before it commits — so that the two overlap. Commit then finishes it.
//
// A source stages its batches in the order it commits them, each after
// the one before was staged, and only while every batch before it in the
// run was staged: once Stage says false, the rest are committed whole (an
// earlier batch saved whole could wait on an item a later staged one holds,
// which commits only after it). It Discards every staged batch it will not
// commit — those after a failed commit above all, whose checkpoints would
// pass the failed items.
type Stager interface {
	// Stage reports whether p was staged; a batch that was not is
	// committed whole by Commit.
	Stage(ctx context.Context, p *Prepared) bool
	// Discard undoes Stage; after Commit, or on a batch never staged, it
	// does nothing.
	Discard(p *Prepared)
}

// Stage stages p when sink is a Stager, and reports whether it did.
func Stage(ctx context.Context, sink Sink, p *Prepared) bool {
	if st, ok := sink.(Stager); ok && p != nil {
		return st.Stage(ctx, p)
	}
	return false
}

// Discard discards p when sink is a Stager.
func Discard(sink Sink, p *Prepared) {
	if st, ok := sink.(Stager); ok && p != nil {
		st.Discard(p)
	}
}

// ItemStatus is what becomes of a prepared item.
type ItemStatus string

const (
	ItemOK          ItemStatus = "ok"          // a demand record, or a follow-up of one
	ItemQuarantined ItemStatus = "quarantined" // kept with Reason, waiting for reprocess
	ItemIgnored     ItemStatus = "ignored"     // kept with Reason, not a demand
)

// PreparedItem is one item made ready for the commit.
type PreparedItem struct {
	Status ItemStatus
	Reason string         // why it is quarantined or ignored
	Record *demand.Record // set when Status is ItemOK
	// ThreadCode is a demand code the item names (a [DEM…] in an email
	// subject): the item then follows that demand up.
	ThreadCode string
	// SetStatus, when set, is the status the item puts its demand in (a
	// ticket closed or reopened where it came from).
	SetStatus demand.Status
	// Event names what the item is (a webhook event), for the history.
	Event string
	// SHA256, StoredBody and BodyCodec are the sink's work done while
	// preparing, off the commit's path: the body's digest and the body as
	// it will be stored. Sources leave them alone.
	SHA256     string
	StoredBody []byte
	BodyCodec  string
	// Stored is the sink's own work on Record done while preparing (the
	// store's encoded documents and hashed text), opaque here.
	Stored any
}

// Merge joins prepared batches without checkpoints, never staged, into
// one, so that items prepared apart (webhook deliveries, each in its
// request) commit in one transaction.
func Merge(ps []*Prepared) *Prepared {
	m := &Prepared{}
	for _, p := range ps {
		m.Batch.Items = append(m.Batch.Items, p.Batch.Items...)
		m.Items = append(m.Items, p.Items...)
	}
	return m
}

// State reads a source's checkpoints.
type State interface {
	Checkpoint(ctx context.Context, key string) (value string, ok bool, err error)
}

// Source is one configured channel instance.
type Source interface {
	Name() string
	// Run reads until ctx ends and returns nil then; an error return means
	// the source cannot go on (the engine logs it and restarts the source
	// after a pause).
	Run(ctx context.Context, sink Sink, state State) error
}

// RejectError says a batch can never be stored as it is.
type RejectError struct {
	Reason string // what is wrong and what to do, in English
	// Text, when set, is the reason in both languages; i18n.Message renders
	// it in the configured locale (Unwrap exposes it as an *i18n.Error).
	Text i18n.Text
}

func (e *RejectError) Error() string { return e.Reason }

// Unwrap makes Text visible to i18n.Message; nil when Text is unset.
func (e *RejectError) Unwrap() error {
	if e.Text == (i18n.Text{}) {
		return nil
	}
	return &i18n.Error{Text: e.Text}
}

// IsReject reports whether err is a *RejectError and returns it.
func IsReject(err error) (*RejectError, bool) {
	var r *RejectError
	ok := errors.As(err, &r)
	return r, ok
}
