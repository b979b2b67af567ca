package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/demandd/demandd/dedupe"
	"github.com/demandd/demandd/demand"
)

// RawStatus is what became of a raw item.
type RawStatus string

const (
	RawOK          RawStatus = "ok"
	RawQuarantined RawStatus = "quarantined"
	RawIgnored     RawStatus = "ignored"
)

// RawItem is an item as it came from its channel.
type RawItem struct {
	ID          int64  `db:"id" json:"id"`
	Channel     string `db:"channel" json:"channel"`
	Source      string `db:"source" json:"source"`
	ExternalKey string `db:"external_key" json:"external_key"`
	Ref         string `db:"ref" json:"ref"`
	SHA256      string `db:"sha256" json:"sha256"`
	ContentType string `db:"content_type" json:"content_type"`
	Body        []byte `db:"body" json:"-"`
	// BodyCodec is how Body is stored; RawItem returns Body decoded.
	BodyCodec string `db:"body_codec" json:"-"`
	// StoredBody, when set, is Body already encoded with BodyCodec (see
	// EncodeBody), so that a batch's commit need not do it.
	StoredBody []byte    `db:"-" json:"-"`
	Origin     string    `db:"origin" json:"origin"`
	Status     RawStatus `db:"status" json:"status"`
	Reason     string    `db:"reason" json:"reason,omitempty"`
	Attempts   int       `db:"attempts" json:"attempts"`
	ReceivedAt time.Time `db:"received_at" json:"received_at"`
	CreatedAt  time.Time `db:"created_at" json:"created_at"`
	UpdatedAt  time.Time `db:"updated_at" json:"updated_at"`
}

// Entry is one raw item with the record made from it; Record is nil unless
// Raw.Status is RawOK.
type Entry struct {
	Raw    RawItem
	Record *demand.Record
	// ThreadCode is a demand code the item names (a [DEM…] in a subject):
	// with Record.ReplyTo it makes the item a follow-up of that demand.
	ThreadCode string
	// SetStatus, when set, is the status the item puts its demand in: a
	// ticket closed or reopened in the system it came from.
	SetStatus demand.Status
	// Event names what the item is (a webhook event such as
	// "issues/closed"), kept in the demand's history.
	Event string
	// Pre, when set, is Precompute(Record), done before the commit.
	Pre *Precomputed
}

// Precomputed is the part of storing a record that needs no database —
// its documents encoded, its text cleaned, cut and hashed for duplicate
// linking — done by the caller while preparing a batch, in parallel and
// before the transaction that would otherwise wait for it (1.6 s of a
// 100,000-row import's commit time). The record must not change after.
type Precomputed struct {
	docs    [5]string // attachments, tags, reasons, extra, flags as stored
	line    string    // the first part of the record's COPY line (demandStaticLine)
	cleaned string
	text    *dedupe.Text
}

// Precompute does a record's database-free work of SaveBatch.
func Precompute(r *demand.Record) *Precomputed {
	p := &Precomputed{docs: [5]string{jsonText(r.Description.Attachments), jsonText(r.Tags), jsonText(r.Reasons),
		jsonText(r.Extra), jsonText(r.Flags)}}
	p.line = demandStaticLine(r, &p.docs)
	p.setText(r)
	return p
}

func (p *Precomputed) setText(r *demand.Record) {
	p.cleaned = r.CleanText
	if p.cleaned == "" {
		p.cleaned = dedupe.Clean(r.Description.Title, r.Description.Text)
	}
	p.text = dedupe.NewText(p.cleaned)
}

// OutcomeKind is what SaveBatch did with one entry.
type OutcomeKind string

const (
	OutcomeNew         OutcomeKind = "new"         // a new canonical demand
	OutcomeLinked      OutcomeKind = "linked"      // a new demand, duplicate of an earlier one
	OutcomeFollowUp    OutcomeKind = "follow_up"   // attached to the demand it answers
	OutcomeDuplicate   OutcomeKind = "duplicate"   // the raw item was stored before: nothing changed
	OutcomeQuarantined OutcomeKind = "quarantined" // kept with its reason
	OutcomeIgnored     OutcomeKind = "ignored"     // kept, not a demand
)

// Outcome is what became of one entry, and the demand it belongs to (""
// when none: quarantined, ignored, or a duplicate of such an item).
type Outcome struct {
	Kind OutcomeKind
	Code string
	// Reason is why the item is quarantined or ignored.
	Reason string
	// Stored is, for a duplicate, the status the item was stored with.
	Stored RawStatus
}

// Checkpoint is a source cursor committed with a batch.
type Checkpoint struct {
	Key   string
	Value string
}

// SaveResult counts what SaveBatch did.
type SaveResult struct {
	New         int // canonical records created
	Linked      int // records created as duplicates of an earlier record
	Duplicate   int // raw items stored before: nothing added
	Quarantined int
	Ignored     int
	FollowUp    int      // replies attached to an existing demand
	Codes       []string // codes of the records created, in entry order
	// Outcomes says, per entry in order, what became of it.
	Outcomes []Outcome
}

// BatchOptions carry what the caller decides about codes.
type BatchOptions struct {
	CodePrefix string         // default "DEM"
	Location   *time.Location // month of the code; default UTC
	Now        time.Time      // default time.Now()
	// Dedupe, when on, links near-duplicates too (see linkNear) and keeps
	// every link's reason in the history; nil links by fingerprint only.
	Dedupe *dedupe.Config
	// Fence, when set, is the lease the batch's source runs under: the
	// batch commits only while it is held (see Lease), else SaveBatch
	// fails with ErrLeaseLost and writes nothing.
	Fence *Fence
}

func (o BatchOptions) withDefaults() BatchOptions {
	if o.CodePrefix == "" {
		o.CodePrefix = "DEM"
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	return o
}

// SaveBatch stores entries and the checkpoint in one transaction. See the
// package documentation for idempotency and duplicate linking.
func (s *Store) SaveBatch(ctx context.Context, entries []Entry, cp *Checkpoint, opts BatchOptions) (SaveResult, error) {
	opts = opts.withDefaults()
	tx, err := s.beginConn(ctx, ctx)
	if err != nil {
		return SaveResult{}, fmt.Errorf("store: save batch: begin: %w", err)
	}
	defer tx.close()
	ids, err := s.insertRaw(ctx, tx.Tx, entries, opts.Now.UTC())
	if err != nil {
		return SaveResult{}, err
	}
	return s.saveRest(ctx, tx, entries, ids, cp, opts)
}

// Staged is a batch whose transaction has begun and holds its raw items
// (StageBatch): Save finishes it, Discard undoes it.
type Staged struct {
	s       *Store
	tx      *txConn
	entries []Entry
	ids     []int64
	end     context.CancelFunc // rolls tx back unless committed, frees the slot and the connection
}

// stageTimeout bounds how long a staged batch may wait for its Save: a
// caller that forgot it leaves no transaction open for longer.
const stageTimeout = 10 * time.Minute

// StageBatch does the first part of SaveBatch(entries) — it begins the
// transaction and inserts the raw items — so that the caller can do it
// while the batch before commits on another connection, and finish with
// Save once that one has committed. Batches must be staged in the order
// they will be saved, and one whose earlier batch failed must be
// discarded, never saved: its checkpoint would pass the failed rows.
//
// A raw item of an earlier batch not yet committed makes the insert wait
// for that batch's end. So a caller stages a batch only while every
// earlier batch of its own has been staged (or has committed): an earlier
// one saved whole by SaveBatch after a later one was staged could wait on
// a key the later one holds, and the later one commits only after it.
//
// It waits for a slot — at most half the pool's connections hold staged
// batches, freed as they are saved or discarded — and returns nil, nil
// when staging is off: on SQLite (one writer) or a pool of one.
func (s *Store) StageBatch(ctx context.Context, entries []Entry) (*Staged, error) {
	if s.stageSlots == nil {
		return nil, nil
	}
	select {
	case s.stageSlots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("store: stage batch: %w", ctx.Err())
	}
	txCtx, end := context.WithTimeout(context.WithoutCancel(ctx), stageTimeout)
	context.AfterFunc(txCtx, func() { <-s.stageSlots })
	tx, err := s.beginConn(ctx, txCtx)
	if err != nil {
		end()
		return nil, fmt.Errorf("store: stage batch: begin: %w", err)
	}
	// The connection goes back to the pool once the transaction has
	// ended: saved, discarded, or rolled back at the stage timeout.
	context.AfterFunc(txCtx, func() { _ = tx.conn.Close() })
	ids, err := s.insertRaw(ctx, tx.Tx, entries, time.Now().UTC())
	if err != nil {
		end()
		return nil, err
	}
	return &Staged{s: s, tx: tx, entries: entries, ids: ids, end: end}, nil
}

// Save is SaveBatch of the staged entries: the rest of the transaction
// and its commit. Whatever it returns, the transaction has ended.
func (st *Staged) Save(ctx context.Context, cp *Checkpoint, opts BatchOptions) (SaveResult, error) {
	defer st.Discard()
	return st.s.saveRest(ctx, st.tx, st.entries, st.ids, cp, opts.withDefaults())
}

// Discard rolls a staged batch back; after Save it does nothing.
func (st *Staged) Discard() {
	_ = st.tx.Rollback()
	st.end()
}

// saveRest is SaveBatch after the raw items: tx holds them, ids are theirs
// (0: stored before).
func (s *Store) saveRest(ctx context.Context, tx *txConn, entries []Entry, ids []int64, cp *Checkpoint, opts BatchOptions) (SaveResult, error) {
	var res SaveResult
	now := opts.Now.UTC()
	res.Outcomes = make([]Outcome, len(entries))
	var fresh, dups []int // indexes of entries whose raw item is new and ok; stored before
	for i, e := range entries {
		switch {
		case ids[i] == 0:
			res.Duplicate++
			res.Outcomes[i].Kind = OutcomeDuplicate
			dups = append(dups, i)
		case e.Raw.Status == RawQuarantined:
			res.Quarantined++
			res.Outcomes[i] = Outcome{Kind: OutcomeQuarantined, Reason: e.Raw.Reason}
		case e.Raw.Status == RawIgnored:
			res.Ignored++
			res.Outcomes[i] = Outcome{Kind: OutcomeIgnored, Reason: e.Raw.Reason}
		case e.Record != nil:
			e.Record.RawItemID = ids[i]
			if e.SetStatus != "" {
				e.Record.Status = e.SetStatus // a ticket first seen closed
			}
			fresh = append(fresh, i)
		}
	}
	fresh, follow, err := s.threads(ctx, tx.Tx, entries, fresh)
	if err != nil {
		return res, err
	}
	if len(fresh) > 0 {
		recs := make([]*demand.Record, len(fresh))
		pres := make([]*Precomputed, len(fresh))
		for j, i := range fresh {
			recs[j], pres[j] = entries[i].Record, entries[i].Pre
		}
		codes, link, err := s.insertRecords(ctx, tx, recs, pres, opts)
		if err != nil {
			return res, err
		}
		res.Linked = link.linked
		res.New = len(recs) - link.linked
		res.Codes = codes
		linkedInBatch := map[string]bool{}
		for _, l := range link.inBatch {
			linkedInBatch[l[0]] = true
		}
		for _, i := range fresh {
			r := entries[i].Record
			res.Outcomes[i] = Outcome{Kind: OutcomeNew, Code: r.Code}
			if r.DuplicateOf != 0 || linkedInBatch[r.Code] {
				res.Outcomes[i].Kind = OutcomeLinked
			}
		}
	}
	if err := s.attachFollowUps(ctx, tx.Tx, entries, follow, now, res.Outcomes); err != nil {
		return res, err
	}
	if err := s.duplicateCodes(ctx, tx.Tx, entries, dups, res.Outcomes); err != nil {
		return res, err
	}
	res.FollowUp = len(follow)
	if cp != nil {
		if _, err := tx.ExecContext(ctx, s.q.putCheckpoint, cp.Key, cp.Value, now); err != nil {
			return res, fmt.Errorf("store: write checkpoint %s: %w", cp.Key, err)
		}
	}
	if opts.Fence != nil { // last, so that the lease row is locked only for the commit
		if err := s.checkFence(ctx, tx.Tx, opts.Fence); err != nil {
			return SaveResult{}, err
		}
	}
	if err := tx.Commit(); err != nil {
		return res, fmt.Errorf("store: save batch: commit: %w", err)
	}
	return res, nil
}

// insertRecords gives recs their codes and defaults, links duplicates and
// inserts them: the part of a save that SaveBatch and Resolve share.
// pres, parallel to recs, holds what was precomputed (nil: nothing).
func (s *Store) insertRecords(ctx context.Context, tx *txConn, recs []*demand.Record, pres []*Precomputed, opts BatchOptions) ([]string, links, error) {
	pres = append(make([]*Precomputed, 0, len(recs)), pres...)[:len(recs)]
	for j, p := range pres {
		if p == nil {
			pres[j] = Precompute(recs[j])
		}
	}
	now := opts.Now.UTC()
	codes, err := s.takeCodes(ctx, tx.Tx, len(recs), opts.CodePrefix, opts.Now.In(opts.Location))
	if err != nil {
		return nil, links{}, err
	}
	for j, r := range recs {
		r.Code = codes[j]
		r.CreatedAt, r.UpdatedAt = now, now
		if r.LastActivityAt.IsZero() {
			r.LastActivityAt = now
		}
		if r.Status == "" {
			r.Status = demand.StatusNew
		}
		if r.Occurrences == 0 {
			r.Occurrences = 1
		}
	}
	var near []nearRec
	cfg := opts.Dedupe
	if cfg.On() {
		near = make([]nearRec, len(recs))
		for j, r := range recs {
			near[j] = newNearRec(r, pres[j], cfg)
		}
		if err := s.lockBands(ctx, tx.Tx, near); err != nil {
			return nil, links{}, err
		}
	}
	link, err := s.linkDuplicates(ctx, tx.Tx, recs, now)
	if err != nil {
		return nil, links{}, err
	}
	var hist []historyByCode
	if cfg.On() {
		if hist, err = s.linkNear(ctx, tx.Tx, near, &link, cfg, now); err != nil {
			return nil, links{}, err
		}
	}
	if err := s.insertDemands(ctx, tx, recs, pres); err != nil {
		return nil, links{}, err
	}
	if err := s.linkInBatch(ctx, tx.Tx, link.inBatch); err != nil {
		return nil, links{}, err
	}
	if cfg.On() {
		if err := s.afterInsert(ctx, tx, near, link, hist, now); err != nil {
			return nil, links{}, err
		}
	}
	return codes, link, nil
}

// linkInBatch points duplicates at canonical records of the same batch,
// now that both are stored: on PostgreSQL in one statement, as a
// re-exported questionnaire can hold hundreds of them.
func (s *Store) linkInBatch(ctx context.Context, tx *sqlx.Tx, pairs [][2]string) error {
	if len(pairs) == 0 {
		return nil
	}
	if s.dialect == Postgres {
		dups, canons := make([]string, len(pairs)), make([]string, len(pairs))
		for i, p := range pairs {
			dups[i], canons[i] = p[0], p[1]
		}
		if _, err := tx.ExecContext(ctx, `UPDATE demands d SET duplicate_of = c.id
			FROM unnest($1::text[], $2::text[]) AS p(dup, canon) JOIN demands c ON c.code = p.canon
			WHERE d.code = p.dup`, pq.Array(dups), pq.Array(canons)); err != nil {
			return fmt.Errorf("store: link %d duplicates: %w", len(pairs), err)
		}
		return nil
	}
	for _, p := range pairs {
		if _, err := tx.ExecContext(ctx, s.q.linkByCode, p[1], p[0]); err != nil {
			return fmt.Errorf("store: link duplicate %s: %w", p[0], err)
		}
	}
	return nil
}

// takeCodes reserves n consecutive codes of t's month.
func (s *Store) takeCodes(ctx context.Context, tx *sqlx.Tx, n int, prefix string, t time.Time) ([]string, error) {
	period := prefix + demand.CodePeriod(t)
	var last int64
	if err := tx.GetContext(ctx, &last, s.q.takeCodes, period, n); err != nil {
		return nil, fmt.Errorf("store: take %d codes for %s: %w", n, period, err)
	}
	codes := make([]string, n)
	for i := range codes {
		codes[i] = demand.FormatCode(prefix, t, last-int64(n)+1+int64(i))
	}
	return codes, nil
}

type links struct {
	linked  int
	inBatch [][2]string // {duplicate code, canonical code}
}

// linkDuplicates points records whose fingerprint matches an earlier
// canonical record — stored before or earlier in this batch — at it, and
// raises the canonical record's occurrence count.
func (s *Store) linkDuplicates(ctx context.Context, tx *sqlx.Tx, recs []*demand.Record, now time.Time) (links, error) {
	var l links
	var fps []string
	for _, r := range recs {
		if r.Fingerprint != "" && r.DuplicateOf == 0 {
			fps = append(fps, r.Fingerprint)
		}
	}
	if len(fps) == 0 {
		return l, nil
	}
	existing := map[string]int64{}
	if err := queryIDs(ctx, s, tx, `SELECT fingerprint, MIN(id) FROM demands WHERE fingerprint IN (?) AND fingerprint <> '' AND duplicate_of IS NULL GROUP BY fingerprint`,
		fps, existing); err != nil {
		return l, fmt.Errorf("store: find duplicates: %w", err)
	}
	bump := map[int64]int{}
	firstInBatch := map[string]*demand.Record{}
	for _, r := range recs {
		if r.Fingerprint == "" || r.DuplicateOf != 0 {
			continue
		}
		if id, ok := existing[r.Fingerprint]; ok {
			r.DuplicateOf = id
			bump[id]++
			l.linked++
			continue
		}
		if c, ok := firstInBatch[r.Fingerprint]; ok {
			c.Occurrences++
			l.inBatch = append(l.inBatch, [2]string{r.Code, c.Code})
			l.linked++
			continue
		}
		firstInBatch[r.Fingerprint] = r
	}
	return l, s.bumpOccurrences(ctx, tx, bump, now)
}

var rawColumns = []string{"channel", "source", "external_key", "ref", "sha256", "content_type", "body", "body_codec",
	"origin", "status", "reason", "received_at", "created_at", "updated_at"}

func (s *Store) rawValues(r *RawItem, now time.Time) []any {
	body, codec := r.StoredBody, r.BodyCodec
	if body == nil {
		body, codec = encodeBody(r.Body)
	}
	if body == nil {
		body = []byte{} // an empty body, not NULL
	}
	return []any{clean(r.Channel), clean(r.Source), clean(r.ExternalKey), clean(r.Ref), r.SHA256, r.ContentType, body, codec,
		clean(r.Origin), string(r.Status), clean(r.Reason), r.ReceivedAt.UTC(), now, now}
}

// insertRaw inserts the raw items and returns, per entry, the new row's id
// or 0 when the item was stored before.
func (s *Store) insertRaw(ctx context.Context, tx *sqlx.Tx, entries []Entry, now time.Time) ([]int64, error) {
	ids := make([]int64, len(entries))
	switch {
	case len(entries) == 0: // a batch that only moves a checkpoint
		return ids, nil
	case s.dialect == Postgres:
		return ids, s.insertRawValues(ctx, tx, entries, now, ids)
	}
	stmt, err := tx.PreparexContext(ctx, s.q.insertRaw)
	if err != nil {
		return nil, fmt.Errorf("store: prepare raw insert: %w", err)
	}
	defer stmt.Close()
	for i := range entries {
		err := stmt.QueryRowContext(ctx, s.rawValues(&entries[i].Raw, now)...).Scan(&ids[i])
		if err == sql.ErrNoRows {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("store: insert raw item %s: %w", entries[i].Raw.ExternalKey, err)
		}
		entries[i].Raw.ID = ids[i]
	}
	return ids, nil
}

var demandColumns = []string{"code", "raw_item_id", "customer_name", "customer_industry", "contact_name",
	"contact_email", "contact_phone", "customer_tier", "title", "body", "scenario", "pain_point", "goal",
	"language", "attachments", "channel", "source_name", "origin", "external_ref", "received_at", "urgency",
	"type", "importance", "priority", "department", "due_at", "sla", "pain_score", "business_value", "tags",
	"reasons", "status", "response_plan", "feedback_result", "satisfaction", "duplicate_of", "occurrences",
	"fingerprint", "extra", "flags", "created_at", "updated_at", "last_activity_at"}

// demandValues are r's demandColumns, for SQLite's INSERT (PostgreSQL's
// COPY line is demandStaticLine and appendDemandDecided; the two are held
// to the same record by TestFieldsBackExactly).
func demandValues(r *demand.Record, p *Precomputed) []any {
	var rawID, dup, due any
	if r.RawItemID != 0 {
		rawID = r.RawItemID
	}
	if r.DuplicateOf != 0 {
		dup = r.DuplicateOf
	}
	if !r.DueAt.IsZero() {
		due = r.DueAt.UTC()
	}
	c, d, src := &r.Customer, &r.Description, &r.Source
	return []any{r.Code, rawID, clean(c.Name), clean(c.Industry), clean(c.Contact), clean(c.Email),
		clean(c.Phone), string(c.Tier), clean(d.Title), clean(d.Text), clean(d.Scenario), clean(d.PainPoint),
		clean(d.Goal), d.Language, p.docs[0], string(src.Channel), clean(src.Name),
		string(src.Origin), clean(src.ExternalRef), src.ReceivedAt.UTC(), string(r.Urgency), string(r.Type),
		string(r.Importance), string(r.Priority), clean(r.Department), due, clean(r.SLA), r.PainScore,
		r.BusinessValue, p.docs[1], p.docs[2], string(r.Status), clean(r.ResponsePlan),
		clean(r.FeedbackResult), r.Satisfaction, dup, r.Occurrences, r.Fingerprint, p.docs[3],
		p.docs[4], r.CreatedAt.UTC(), r.UpdatedAt.UTC(), r.LastActivityAt.UTC()}
}

func (s *Store) insertDemands(ctx context.Context, tx *txConn, recs []*demand.Record, pres []*Precomputed) error {
	if s.dialect == Postgres {
		if err := drawDemandIDs(ctx, tx.Tx, recs); err != nil {
			return err
		}
		var times timeText
		return tx.copyLines(ctx, "demands", demandCopyColumns, len(recs), func(buf []byte, j int) []byte {
			return appendDemandDecided(append(buf, pres[j].line...), recs[j], &times)
		})
	}
	stmt, err := tx.PreparexContext(ctx, s.q.insertDemand)
	if err != nil {
		return fmt.Errorf("store: prepare demand insert: %w", err)
	}
	defer stmt.Close()
	for j, r := range recs {
		if err := stmt.QueryRowContext(ctx, demandValues(r, pres[j])...).Scan(&r.ID); err != nil {
			return fmt.Errorf("store: insert demand %s: %w", r.Code, err)
		}
	}
	return nil
}

// drawDemandIDs gives recs their ids from the demands' sequence, in
// order, as the COPY's default would: the batch's history and SimHash
// rows then need no query for the ids of its new demands (on a
// 100,000-row import of near-duplicates, 228 ms of PostgreSQL's time
// against 32 ms for drawing them).
func drawDemandIDs(ctx context.Context, tx *sqlx.Tx, recs []*demand.Record) error {
	var ids pq.Int64Array
	if err := tx.QueryRowContext(ctx, `SELECT array_agg(nextval('demands_id_seq')) FROM generate_series(1, $1)`, len(recs)).Scan(&ids); err != nil {
		return fmt.Errorf("store: draw %d demand ids: %w", len(recs), err)
	}
	if len(ids) != len(recs) {
		return fmt.Errorf("store: draw %d demand ids: got %d", len(recs), len(ids))
	}
	slices.Sort(ids)
	for j, r := range recs {
		r.ID = ids[j]
	}
	return nil
}

// copyFrom is the COPY statement lib/pq streams rows into when prepared.
func copyFrom(table string, columns []string) string {
	return "COPY " + table + " (" + strings.Join(columns, ", ") + ") FROM STDIN"
}

// clean makes text storable everywhere: valid UTF-8 without NUL bytes,
// which PostgreSQL's text type refuses.
func clean(s string) string {
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}

func jsonText(v any) string {
	switch x := v.(type) { // the common empty lists, without reflection
	case []string:
		if len(x) == 0 {
			return "[]"
		}
	case []demand.Attachment:
		if len(x) == 0 {
			return "[]"
		}
	}
	b, ok := appendDoc(make([]byte, 0, 256), v)
	if !ok {
		var err error
		if b, err = json.Marshal(v); err != nil {
			return "[]"
		}
	}
	if string(b) == "null" {
		return "[]"
	}
	return clean(unsafe.String(unsafe.SliceData(b), len(b))) // b is not used again
}

// duplicateCodes finds the demand of each entry whose raw item was stored
// before, so that a redelivery is answered as the first delivery was.
func (s *Store) duplicateCodes(ctx context.Context, tx *sqlx.Tx, entries []Entry, dups []int, out []Outcome) error {
	byChannel := map[string][]string{}
	for _, i := range dups {
		r := entries[i].Raw
		byChannel[r.Channel] = append(byChannel[r.Channel], r.ExternalKey)
	}
	found := map[string]Outcome{} // channel + key → what the stored item is
	for channel, keys := range byChannel {
		for start := 0; start < len(keys); start += 500 {
			q, args, err := sqlx.In(`SELECT r.external_key, COALESCE(d.code, f.code, ''), r.status, r.reason FROM raw_items r
				LEFT JOIN demands d ON d.raw_item_id = r.id LEFT JOIN demands f ON f.id = r.demand_id
				WHERE r.channel = ? AND r.external_key IN (?)`, channel, keys[start:min(start+500, len(keys))])
			if err != nil {
				return fmt.Errorf("store: find stored items: %w", err)
			}
			rows, err := tx.QueryContext(ctx, tx.Rebind(q), args...)
			if err != nil {
				return fmt.Errorf("store: find stored items: %w", err)
			}
			for rows.Next() {
				var key string
				var o Outcome
				if err := rows.Scan(&key, &o.Code, &o.Stored, &o.Reason); err != nil {
					rows.Close()
					return fmt.Errorf("store: find stored items: %w", err)
				}
				found[channel+"\x00"+key] = o
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("store: find stored items: %w", err)
			}
		}
	}
	for _, i := range dups {
		r := entries[i].Raw
		o := found[r.Channel+"\x00"+r.ExternalKey]
		o.Kind = OutcomeDuplicate
		out[i] = o
	}
	return nil
}

// One INSERT of raw items holds at most rawChunkRows rows and, unless one
// body alone is bigger, rawChunkBytes of bodies: bounded memory for the
// statement, few round trips for a batch.
const (
	rawChunkRows  = 2000
	rawChunkBytes = 8 << 20
)

// insertRawValues inserts the raw items, a chunk at a time, each chunk's
// columns as binary arrays unnested by one INSERT (see pgArray),
// idempotent: an item stored before (or twice in the batch) gets id 0, the
// first of a repeated key in the batch the new id. It replaced a COPY into
// a staging table (lib/pq's COPY is text only, so bodies went as hex) and
// then a multi-row INSERT … VALUES (a parameter per cell to parse).
func (s *Store) insertRawValues(ctx context.Context, tx *sqlx.Tx, entries []Entry, now time.Time, ids []int64) error {
	first := make(map[string]int, len(entries))
	for i := len(entries) - 1; i >= 0; i-- {
		first[entries[i].Raw.Channel+"\x00"+entries[i].Raw.ExternalKey] = i
	}
	for start := 0; start < len(entries); {
		var rows [][]any
		size := 0
		end := start
		for ; end < len(entries) && len(rows) < rawChunkRows; end++ {
			row := s.rawValues(&entries[end].Raw, now)
			n := len(row[rawBodyColumn].([]byte))
			if len(rows) > 0 && size+n > rawChunkBytes {
				break
			}
			rows = append(rows, row)
			size += n
		}
		if err := s.insertRawChunk(ctx, tx, entries, rows, first, ids); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// rawBodyColumn is the index of body in rawColumns.
var rawBodyColumn = slices.Index(rawColumns, "body")

// rawReceivedColumn is the index of received_at in rawColumns; the two
// after it, created_at and updated_at, are the batch's one time.
var rawReceivedColumn = slices.Index(rawColumns, "received_at")

// rawArrayed are the raw columns sent as arrays, in the order of
// insertRawUnnest's parameters after the first (the batch's time, for
// created_at and updated_at): body last. lib/pq copies the parameters
// into a buffer it grows as it goes; with the bodies' array last, the
// buffer is allocated once at about the statement's size, where an array
// after it made lib/pq allocate and copy all of it again (0.5 GB in a
// 20,000-message first sync).
var rawArrayed = func() []int {
	var cols []int
	for c := range rawReceivedColumn + 1 {
		if c != rawBodyColumn {
			cols = append(cols, c)
		}
	}
	return append(cols, rawBodyColumn)
}()

// insertRawUnnest is the statement of insertRawChunk: a parameter per
// column, the rows as arrays.
var insertRawUnnest = func() string {
	names := make([]string, len(rawArrayed))
	params := make([]string, len(rawArrayed))
	for i, c := range rawArrayed {
		typ := "text[]"
		switch c {
		case rawBodyColumn:
			typ = "bytea[]"
		case rawReceivedColumn:
			typ = "timestamptz[]"
		}
		names[i] = rawColumns[c]
		params[i] = "$" + strconv.Itoa(i+2) + "::" + typ
	}
	return "INSERT INTO raw_items (" + strings.Join(names, ", ") + ", created_at, updated_at) SELECT u.*, $1::timestamptz, $1::timestamptz" +
		" FROM unnest(" + strings.Join(params, ", ") + ") AS u" +
		" ON CONFLICT (channel, external_key) DO NOTHING RETURNING id, channel, external_key"
}()

func (s *Store) insertRawChunk(ctx context.Context, tx *sqlx.Tx, entries []Entry, rows [][]any, first map[string]int, ids []int64) error {
	args := make([]any, 1+len(rawArrayed))
	args[0] = rows[0][rawReceivedColumn+1] // created_at: the batch's time
	for i, c := range rawArrayed {
		oid := uint32(oidText)
		switch c {
		case rawBodyColumn:
			oid = oidBytea
		case rawReceivedColumn:
			oid = oidTimestamptz
		}
		b, err := pgArray(oid, rows, c)
		if err != nil {
			return fmt.Errorf("store: insert raw items: %w", err)
		}
		args[1+i] = b
	}
	res, err := tx.QueryContext(ctx, insertRawUnnest, args...)
	if err != nil {
		return fmt.Errorf("store: insert raw items: %w", err)
	}
	defer res.Close()
	for res.Next() {
		var id int64
		var channel, key string
		if err := res.Scan(&id, &channel, &key); err != nil {
			return fmt.Errorf("store: insert raw items: %w", err)
		}
		if i, ok := first[channel+"\x00"+key]; ok {
			ids[i] = id
			entries[i].Raw.ID = id
		}
	}
	if err := res.Err(); err != nil {
		return fmt.Errorf("store: insert raw items: %w", err)
	}
	return nil
}
