package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/demandd/demandd/dedupe"
	"github.com/demandd/demandd/demand"
)

// CustomerKey is whose demand a record is, for near-duplicate linking:
// the company's email domain (not a public mail provider's), else the
// address, else the organisation name, else the contact; the phone number
// when there is nothing else; "" for an anonymous record, which is never
// linked as a near-duplicate unless cross_customer is set. Two colleagues
// writing from one company's domain are one customer.
func CustomerKey(r *demand.Record) string {
	c := r.Customer
	if k := dedupe.RecordCustomer(c.Name, c.Contact, c.Email).Key(); k != "" {
		return k
	}
	if k := strings.TrimSpace(c.Phone); k != "" {
		return "t:" + k
	}
	return ""
}

// LinkReason is why a demand is a duplicate, as kept in its history (kind
// "dedupe").
type LinkReason struct {
	Action     string  `json:"action"`          // "link", "unlink", "urgency"
	Canonical  string  `json:"canonical"`       // the canonical demand's code
	Duplicate  string  `json:"duplicate"`       // the duplicate's code
	Match      string  `json:"match,omitempty"` // "fingerprint", "simhash", "manual", "replay"
	Distance   int     `json:"distance,omitempty"`
	Similarity float64 `json:"similarity,omitempty"`
	// Urgency is, for action "urgency", the canonical's old and new urgency.
	Urgency []string `json:"urgency,omitempty"`
}

// nearRec is a record's dedupe view, computed once per save.
type nearRec struct {
	rec     *demand.Record
	cleaned string
	text    *dedupe.Text
	hash    uint64 // the stored and banded hash; 0 for a short text
	key     string
	long    bool // cleaned text long enough for near-duplicate linking
}

// newNearRec prepares r for linking; p is Precompute(r), or nil.
func newNearRec(r *demand.Record, p *Precomputed, cfg *dedupe.Config) nearRec {
	if p == nil {
		p = &Precomputed{}
		p.setText(r)
	}
	n := nearRec{rec: r, cleaned: p.cleaned, text: p.text, key: CustomerKey(r)}
	if n.text.Runes >= cfg.MinLength && (n.key != "" || cfg.CrossCustomer) {
		n.long = true
		n.hash = n.text.Hash
	}
	return n
}

// candidate is a stored canonical demand a record may duplicate.
type candidate struct {
	ID         int64     `db:"demand_id"`
	Code       string    `db:"code"`
	Urgency    string    `db:"urgency"`
	Hash       int64     `db:"simhash"`
	Cleaned    string    `db:"cleaned"`
	ReceivedAt time.Time `db:"received_at"`
	distance   int
	similarity float64
}

// textCache holds the prepared text of each stored candidate read for a
// batch: one customer's recent demands are candidates of every record of
// that customer in the batch, and are cut and hashed once.
type textCache map[int64]*dedupe.Text

func (tc textCache) of(c *candidate) *dedupe.Text {
	t := tc[c.ID]
	if t == nil {
		t = dedupe.NewTextHash(c.Cleaned, uint64(c.Hash))
		tc[c.ID] = t
	}
	return t
}

// better orders candidates: higher similarity, then lower distance, then
// earlier received, then lower id.
func (c *candidate) better(o *candidate) bool {
	switch {
	case c.similarity != o.similarity:
		return c.similarity > o.similarity
	case c.distance != o.distance:
		return c.distance < o.distance
	case !c.ReceivedAt.Equal(o.ReceivedAt):
		return c.ReceivedAt.Before(o.ReceivedAt)
	}
	return c.ID < o.ID
}

func urgencyRank(u demand.Urgency) int {
	switch u {
	case demand.UrgencyHigh:
		return 3
	case demand.UrgencyMedium:
		return 2
	case demand.UrgencyLow:
		return 1
	}
	return 0
}

// advisoryNamespace is the first key of demandd's advisory locks on bands.
const advisoryNamespace = 0x64656475 // "dedu"

// lockBands takes a transaction-scoped advisory lock per band value of the
// records, in sorted order so that two batches never wait on each other
// crosswise. Two near-duplicates share a band value, so their batches
// serialise from here to commit and the second sees the first's rows.
func (s *Store) lockBands(ctx context.Context, tx *sqlx.Tx, near []nearRec) error {
	if s.dialect != Postgres {
		return nil // SQLite has one writer at a time already
	}
	set := map[int64]bool{}
	for _, n := range near {
		h := n.text.Hash // a short text's too: exact matches of short texts race as well
		for i, b := range dedupe.Bands(h) {
			set[int64(i)<<16|int64(b)] = true
		}
		// A customer's recent demands are candidates whatever their bands:
		// the customer is locked too, so that two reworded demands of one
		// customer saved at once do not both become canonical.
		if n.key != "" {
			f := fnv.New32a()
			f.Write([]byte(n.key))
			set[1<<20+int64(f.Sum32()%(1<<30))] = true
		}
	}
	if len(set) == 0 {
		return nil
	}
	keys := make([]int64, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	if _, err := tx.ExecContext(ctx, `SELECT COUNT(pg_advisory_xact_lock($1, k::int))
		FROM (SELECT k FROM unnest($2::bigint[]) AS k ORDER BY k) AS sorted`, advisoryNamespace, pq.Array(keys)); err != nil {
		return fmt.Errorf("store: lock dedupe bands: %w", err)
	}
	return nil
}

const candidateColumns = `s.demand_id, d.code, d.urgency, s.simhash, s.cleaned, s.received_at`

// recentPerCustomer bounds how many of a customer's latest canonical
// demands in the window are compared besides the band matches.
const recentPerCustomer = 200

// candidatesQuery finds stored canonical demands sharing a band with a
// hash, one index range per band; with sameCustomer the customer key
// narrows each range too, and the customer's latest demands in the window
// are candidates as well: a short reworded demand often differs from its
// twin in more bits than a band reaches (one word changed in a 30-character
// text moves 5 to 14 bits), and a customer sends few demands a month, so
// reading the latest of them stays one bounded index range.
func (s *Store) candidatesQuery(sameCustomer bool) string {
	var parts []string
	for i := range 4 {
		q := fmt.Sprintf(`SELECT %s FROM demand_simhash s JOIN demands d ON d.id = s.demand_id
			WHERE s.band%d = ? AND s.received_at >= ? AND s.received_at <= ? AND d.duplicate_of IS NULL`, candidateColumns, i)
		if sameCustomer {
			q += ` AND s.customer_key = ?`
		}
		parts = append(parts, q)
	}
	if sameCustomer {
		parts = append(parts, fmt.Sprintf(`SELECT * FROM (SELECT %s FROM demand_simhash s JOIN demands d ON d.id = s.demand_id
			WHERE s.customer_key = ? AND s.received_at >= ? AND s.received_at <= ? AND d.duplicate_of IS NULL
			ORDER BY s.received_at DESC LIMIT %d) recent`, candidateColumns, recentPerCustomer))
	}
	return s.db.Rebind(strings.Join(parts, " UNION "))
}

// nearDecision says whether a record and a candidate are one demand. For
// the same customer the texts decide (dedupe.Thresholds.Match); across
// customers the SimHash distance must be within the band reach as well.
func nearDecision(a, b *dedupe.Text, sameCustomer bool, cfg *dedupe.Config) (int, float64, bool) {
	th := dedupe.Thresholds{MinSimilarity: cfg.MinSimilarity, MinLength: cfg.MinLength}
	if !sameCustomer {
		th.MaxDistance = cfg.MaxDistance
	}
	return th.MatchTexts(a, b)
}

// findCanonical returns the best stored canonical demand n near-duplicates,
// or nil; exclude are ids not to link to (the record itself on replay,
// demands already relinked).
func (s *Store) findCanonical(ctx context.Context, stmt *sqlx.Stmt, n nearRec, cfg *dedupe.Config, exclude func(int64) bool) (*candidate, error) {
	at := n.rec.Source.ReceivedAt.UTC()
	lo, hi := at.Add(-cfg.Window.Duration), at.Add(cfg.Window.Duration)
	var args []any
	for _, b := range dedupe.Bands(n.hash) {
		args = append(args, int(b), lo, hi)
		if !cfg.CrossCustomer {
			args = append(args, n.key)
		}
	}
	if !cfg.CrossCustomer {
		args = append(args, n.key, lo, hi)
	}
	var cands []candidate
	if err := stmt.SelectContext(ctx, &cands, args...); err != nil {
		return nil, fmt.Errorf("store: find near duplicates: %w", err)
	}
	return bestCandidate(n, cands, cfg, exclude, textCache{}), nil
}

// prefetchCandidates reads, on PostgreSQL, the stored candidates of every
// record of a batch in two statements at most, instead of a thousand
// lookups: the result is by index into near; nil on SQLite, whose lookups
// stay per record (findCanonical).
//
// demand_simhash holds canonical demands only (a link deletes the
// duplicate's row, an unlink puts it back), so candidates are read from it
// alone; the few chosen ones get their code and urgency afterwards
// (linkNear).
//
// For the same customer, the customer's latest demands in the window are
// the candidates, read once per customer and day of the batch rather than
// once per record: a company that fills a questionnaire a thousand times
// would otherwise make the batch read its latest demands a thousand times.
// The day's range is the union of its records' windows (a day wider than
// one record's), and each record keeps the rows within its own window.
// Only when a customer has more than recentPerCustomer demands in the
// range are the band indexes read too, for that customer's records: a
// band match is otherwise among the latest already. Across customers the
// bands are the lookup.
func (s *Store) prefetchCandidates(ctx context.Context, tx *sqlx.Tx, near []nearRec, skip func(int) bool, cfg *dedupe.Config) (map[int][]candidate, error) {
	if s.dialect != Postgres {
		return nil, nil
	}
	out := map[int][]candidate{}
	var todo []int
	for i := range near {
		if !skip(i) {
			todo = append(todo, i)
		}
	}
	if len(todo) == 0 {
		return out, nil
	}
	if cfg.CrossCustomer {
		return out, s.bandCandidates(ctx, tx, near, todo, cfg, out)
	}
	type group struct {
		key string
		day int64
	}
	groupOf := map[int]int{} // index into near → index into the groups
	groupIdx := map[group]int{}
	var gKeys []string
	var gLos, gHis []time.Time
	for _, i := range todo {
		at := near[i].rec.Source.ReceivedAt.UTC()
		lo, hi := at.Add(-cfg.Window.Duration), at.Add(cfg.Window.Duration)
		g := group{near[i].key, at.Unix() / 86400}
		gi, ok := groupIdx[g]
		if !ok {
			gi = len(gKeys)
			groupIdx[g] = gi
			gKeys, gLos, gHis = append(gKeys, g.key), append(gLos, lo), append(gHis, hi)
		}
		if lo.Before(gLos[gi]) {
			gLos[gi] = lo
		}
		if hi.After(gHis[gi]) {
			gHis[gi] = hi
		}
		groupOf[i] = gi
	}
	rows, err := tx.QueryxContext(ctx, fmt.Sprintf(`SELECT g.ord, r.* FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[])
		WITH ORDINALITY AS g(key, lo, hi, ord) CROSS JOIN LATERAL (SELECT %s FROM demand_simhash s
			WHERE s.customer_key = g.key AND s.received_at >= g.lo AND s.received_at <= g.hi
			ORDER BY s.received_at DESC LIMIT %d) r`, simhashCandidateColumns, recentPerCustomer),
		pq.Array(gKeys), pq.Array(gLos), pq.Array(gHis))
	if err != nil {
		return nil, fmt.Errorf("store: find near duplicates: %w", err)
	}
	recent := make([][]candidate, len(gKeys))
	err = scanCandidates(rows, func(ord int, c candidate) { recent[ord-1] = append(recent[ord-1], c) })
	if err != nil {
		return nil, err
	}
	var full []int
	for _, i := range todo {
		gi := groupOf[i]
		at := near[i].rec.Source.ReceivedAt.UTC()
		lo, hi := at.Add(-cfg.Window.Duration), at.Add(cfg.Window.Duration)
		out[i] = inWindow(recent[gi], lo, hi)
		if len(recent[gi]) == recentPerCustomer {
			full = append(full, i)
		}
	}
	if len(full) > 0 {
		return out, s.bandCandidates(ctx, tx, near, full, cfg, out)
	}
	return out, nil
}

// inWindow is the candidates received within [lo, hi]: cands itself when
// all are, as for most records of a group, shared read-only (its capacity
// cut, so that an append copies) rather than copied per record.
func inWindow(cands []candidate, lo, hi time.Time) []candidate {
	in := func(c *candidate) bool { return !c.ReceivedAt.Before(lo) && !c.ReceivedAt.After(hi) }
	all := true
	for i := range cands {
		if !in(&cands[i]) {
			all = false
			break
		}
	}
	if all {
		return cands[:len(cands):len(cands)]
	}
	var out []candidate
	for i := range cands {
		if in(&cands[i]) {
			out = append(out, cands[i])
		}
	}
	return out
}

// simhashCandidateColumns are a candidate's columns in demand_simhash.
const simhashCandidateColumns = `s.demand_id, s.simhash, s.cleaned, s.received_at`

// bandCandidates adds to out, for the records near[i] of idx, the stored
// canonical demands sharing a band with them (of the same customer unless
// cross_customer), in one statement.
func (s *Store) bandCandidates(ctx context.Context, tx *sqlx.Tx, near []nearRec, idx []int, cfg *dedupe.Config, out map[int][]candidate) error {
	var ords []int64
	var keys []string
	var los, his []time.Time
	var bands [4][]int64
	for _, i := range idx {
		n := near[i]
		at := n.rec.Source.ReceivedAt.UTC()
		ords = append(ords, int64(i))
		keys = append(keys, n.key)
		los, his = append(los, at.Add(-cfg.Window.Duration)), append(his, at.Add(cfg.Window.Duration))
		for b, v := range dedupe.Bands(n.hash) {
			bands[b] = append(bands[b], int64(v))
		}
	}
	var parts []string
	for b := range 4 {
		q := fmt.Sprintf(`SELECT q.ord, %s FROM q JOIN demand_simhash s ON s.band%d = q.band%d
			AND s.received_at >= q.lo AND s.received_at <= q.hi`, simhashCandidateColumns, b, b)
		if !cfg.CrossCustomer {
			q += ` AND s.customer_key = q.key`
		}
		parts = append(parts, q)
	}
	rows, err := tx.QueryxContext(ctx, `WITH q AS (SELECT * FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::timestamptz[],
		$5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[]) AS q(ord, key, lo, hi, band0, band1, band2, band3))
		`+strings.Join(parts, " UNION "), pq.Array(ords), pq.Array(keys), pq.Array(los), pq.Array(his),
		pq.Array(bands[0]), pq.Array(bands[1]), pq.Array(bands[2]), pq.Array(bands[3]))
	if err != nil {
		return fmt.Errorf("store: find near duplicates: %w", err)
	}
	seen := map[[2]int64]bool{}
	for i, cs := range out {
		for _, c := range cs {
			seen[[2]int64{int64(i), c.ID}] = true
		}
	}
	return scanCandidates(rows, func(ord int, c candidate) {
		if k := [2]int64{int64(ord), c.ID}; !seen[k] {
			seen[k] = true
			out[ord] = append(out[ord], c)
		}
	})
}

// scanCandidates reads rows of (ord, simhashCandidateColumns) and closes
// them.
func scanCandidates(rows *sqlx.Rows, add func(ord int, c candidate)) error {
	defer rows.Close()
	for rows.Next() {
		var c candidate
		var ord int
		if err := rows.Scan(&ord, &c.ID, &c.Hash, &c.Cleaned, &c.ReceivedAt); err != nil {
			return fmt.Errorf("store: find near duplicates: %w", err)
		}
		add(ord, c)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: find near duplicates: %w", err)
	}
	return nil
}

// bestCandidate is the candidate n near-duplicates best, or nil. It
// returns a copy: one customer's candidates are shared by the batch's
// records.
func bestCandidate(n nearRec, cands []candidate, cfg *dedupe.Config, exclude func(int64) bool, texts textCache) *candidate {
	var best candidate // one copy returned, not one allocated per candidate
	found := false
	for i := range cands {
		c := cands[i]
		if exclude != nil && exclude(c.ID) {
			continue
		}
		var dup bool
		c.distance, c.similarity, dup = nearDecision(n.text, texts.of(&c), !cfg.CrossCustomer, cfg)
		if !dup {
			continue
		}
		if !found || c.better(&best) {
			best, found = c, true
		}
	}
	if !found {
		return nil
	}
	return &best
}

// nearMatch checks a record against an earlier one in the same batch.
func nearMatch(n, c *nearRec, cfg *dedupe.Config) (int, float64, bool) {
	if !c.long || (!cfg.CrossCustomer && n.key != c.key) {
		return 0, 0, false
	}
	d := n.rec.Source.ReceivedAt.Sub(c.rec.Source.ReceivedAt)
	if d > cfg.Window.Duration || -d > cfg.Window.Duration {
		return 0, 0, false
	}
	return nearDecision(n.text, c.text, n.key != "" && n.key == c.key, cfg)
}

type historyByCode struct {
	code   string
	reason LinkReason
}

// linkNear links records the exact pass left canonical to near-duplicate
// canonical demands, stored or earlier in the batch, and returns the
// history to write once the records have ids: every link's reason (exact
// ones too) and raised urgencies.
func (s *Store) linkNear(ctx context.Context, tx *sqlx.Tx, near []nearRec, l *links, cfg *dedupe.Config, now time.Time) ([]historyByCode, error) {
	linkedInBatch := map[string]bool{}
	canonOf := map[string]string{}
	for _, p := range l.inBatch {
		linkedInBatch[p[0]] = true
		canonOf[p[0]] = p[1]
	}
	var hist []historyByCode
	byCode := map[string]*nearRec{}
	for i := range near {
		byCode[near[i].rec.Code] = &near[i]
	}
	var stored []int64
	for _, n := range near {
		if n.rec.DuplicateOf != 0 {
			stored = append(stored, n.rec.DuplicateOf)
		}
	}
	heads, err := s.heads(ctx, tx, stored)
	if err != nil {
		return nil, err
	}
	// Exact links of this batch: their reason, and the canonical's urgency.
	for i := range near {
		r := near[i].rec
		switch {
		case r.DuplicateOf != 0:
			c := heads[r.DuplicateOf]
			hist = append(hist, historyByCode{r.Code, LinkReason{Action: "link", Canonical: c.Code, Duplicate: r.Code, Match: "fingerprint"}})
			if urgencyRank(r.Urgency) > urgencyRank(demand.Urgency(c.Urgency)) {
				if err := s.raiseUrgency(ctx, tx, c.ID, c.Code, demand.Urgency(c.Urgency), r, now); err != nil {
					return nil, err
				}
				c.Urgency = string(r.Urgency)
				heads[c.ID] = c
			}
		case linkedInBatch[r.Code]:
			c := byCode[canonOf[r.Code]].rec
			hist = append(hist, historyByCode{r.Code, LinkReason{Action: "link", Canonical: c.Code, Duplicate: r.Code, Match: "fingerprint"}})
			hist = append(hist, raiseInBatch(c, r)...)
		}
	}
	stmt, err := tx.PreparexContext(ctx, s.candidatesQuery(!cfg.CrossCustomer))
	if err != nil {
		return nil, fmt.Errorf("store: find near duplicates: %w", err)
	}
	defer stmt.Close()
	prefetched, err := s.prefetchCandidates(ctx, tx, near, func(i int) bool {
		n := near[i]
		return n.rec.DuplicateOf != 0 || linkedInBatch[n.rec.Code] || !n.long
	}, cfg)
	if err != nil {
		return nil, err
	}
	texts := textCache{}
	// urgency is the current urgency of the stored canonical demands this
	// batch links to: one raised by an earlier record is not lowered by a
	// later one.
	urgency := map[int64]demand.Urgency{}
	for id, c := range heads {
		urgency[id] = demand.Urgency(c.Urgency)
	}
	var chosen map[int]*candidate
	if prefetched != nil {
		// Prefetched candidates come without code and urgency: read them
		// for the chosen ones only.
		chosen = map[int]*candidate{}
		var ids []int64
		for i, cands := range prefetched {
			if best := bestCandidate(near[i], cands, cfg, nil, texts); best != nil {
				chosen[i] = best
				ids = append(ids, best.ID)
			}
		}
		hs, err := s.heads(ctx, tx, ids)
		if err != nil {
			return nil, err
		}
		for _, c := range chosen {
			c.Code, c.Urgency = hs[c.ID].Code, hs[c.ID].Urgency
		}
	}
	bands := [4]map[uint16][]*nearRec{{}, {}, {}, {}} // canonical records of this batch by band
	bump := map[int64]int{}
	for i := range near {
		n := &near[i]
		r := n.rec
		if r.DuplicateOf != 0 || linkedInBatch[r.Code] || !n.long {
			continue
		}
		var best *candidate
		if chosen != nil {
			best = chosen[i]
		} else if best, err = s.findCanonical(ctx, stmt, *n, cfg, nil); err != nil {
			return nil, err
		}
		if best != nil {
			r.DuplicateOf = best.ID
			bump[best.ID]++
			l.linked++
			hist = append(hist, historyByCode{r.Code, LinkReason{Action: "link", Canonical: best.Code, Duplicate: r.Code,
				Match: "simhash", Distance: best.distance, Similarity: best.similarity}})
			cur, ok := urgency[best.ID]
			if !ok {
				cur = demand.Urgency(best.Urgency)
			}
			if urgencyRank(r.Urgency) > urgencyRank(cur) {
				if err := s.raiseUrgency(ctx, tx, best.ID, best.Code, cur, r, now); err != nil {
					return nil, err
				}
				cur = r.Urgency
			}
			urgency[best.ID] = cur
			continue
		}
		// An earlier canonical record of this batch, found by its bands.
		var inBatch *nearRec
		var dist int
		var sim float64
		seen := map[*nearRec]bool{}
		for b, v := range dedupe.Bands(n.hash) {
			for _, c := range bands[b][v] {
				if seen[c] {
					continue
				}
				seen[c] = true
				if d, sm, ok := nearMatch(n, c, cfg); ok && (inBatch == nil || d < dist) {
					inBatch, dist, sim = c, d, sm
				}
			}
		}
		if inBatch != nil {
			inBatch.rec.Occurrences++
			l.inBatch = append(l.inBatch, [2]string{r.Code, inBatch.rec.Code})
			l.linked++
			hist = append(hist, historyByCode{r.Code, LinkReason{Action: "link", Canonical: inBatch.rec.Code, Duplicate: r.Code,
				Match: "simhash", Distance: dist, Similarity: sim}})
			hist = append(hist, raiseInBatch(inBatch.rec, r)...)
			continue
		}
		for b, v := range dedupe.Bands(n.hash) {
			bands[b][v] = append(bands[b][v], n)
		}
	}
	if err := s.bumpOccurrences(ctx, tx, bump, now); err != nil {
		return nil, err
	}
	return hist, nil
}

// raiseInBatch gives a canonical record of the batch its duplicate's
// urgency when that is higher: a group is as urgent as its most urgent ask.
func raiseInBatch(c, dup *demand.Record) []historyByCode {
	if urgencyRank(dup.Urgency) <= urgencyRank(c.Urgency) {
		return nil
	}
	old := c.Urgency
	c.Urgency = dup.Urgency
	return []historyByCode{{c.Code, LinkReason{Action: "urgency", Canonical: c.Code, Duplicate: dup.Code,
		Urgency: []string{string(old), string(dup.Urgency)}}}}
}

// raiseUrgency raises a stored canonical demand's urgency to its new
// duplicate's, recomputing nothing else; the history says why.
func (s *Store) raiseUrgency(ctx context.Context, tx *sqlx.Tx, id int64, code string, old demand.Urgency, dup *demand.Record, now time.Time) error {
	if _, err := tx.ExecContext(ctx, s.db.Rebind(`UPDATE demands SET urgency = ?, updated_at = ? WHERE id = ?`),
		string(dup.Urgency), now, id); err != nil {
		return fmt.Errorf("store: raise urgency of %s: %w", code, err)
	}
	return s.addHistory(ctx, tx, id, now, LinkReason{Action: "urgency", Canonical: code, Duplicate: dup.Code,
		Urgency: []string{string(old), string(dup.Urgency)}})
}

func (s *Store) addHistory(ctx context.Context, tx *sqlx.Tx, id int64, now time.Time, why LinkReason) error {
	b, err := json.Marshal(why)
	if err != nil {
		return fmt.Errorf("store: dedupe history: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.db.Rebind(`INSERT INTO demand_history (demand_id, at, kind, detail) VALUES (?, ?, 'dedupe', ?)`),
		id, now, clean(string(b))); err != nil {
		return fmt.Errorf("store: dedupe history of demand %d: %w", id, err)
	}
	return nil
}

// afterInsert writes, once the batch's demands have ids, the dedupe
// history and the simhash rows of the batch's canonical records.
func (s *Store) afterInsert(ctx context.Context, tx *txConn, near []nearRec, l links, hist []historyByCode, now time.Time) error {
	ids, err := s.idsByCode(ctx, tx.Tx, near)
	if err != nil {
		return err
	}
	var hrows [][]any
	for _, h := range hist {
		b, err := json.Marshal(h.reason)
		if err != nil {
			return fmt.Errorf("store: dedupe history: %w", err)
		}
		hrows = append(hrows, []any{ids[h.code], now, "dedupe", clean(string(b))})
	}
	insert := s.insertRows
	if s.dialect == Postgres && len(hrows) > 64 {
		// A re-exported questionnaire links most of its rows: COPY spares
		// the server planning statements of thousands of parameters.
		insert = func(ctx context.Context, _ *sqlx.Tx, table string, columns []string, rows [][]any, _ string) error {
			return tx.copyRows(ctx, table, columns, rows)
		}
	}
	if err := insert(ctx, tx.Tx, "demand_history", historyColumns, hrows, ""); err != nil {
		return fmt.Errorf("store: dedupe history: %w", err)
	}
	dup := map[string]bool{}
	for _, p := range l.inBatch {
		dup[p[0]] = true
	}
	var rows [][]any
	for _, n := range near {
		if !n.long || n.rec.DuplicateOf != 0 || dup[n.rec.Code] || ids[n.rec.Code] == 0 {
			continue
		}
		rows = append(rows, simhashValues(ids[n.rec.Code], n))
	}
	if s.dialect == Postgres {
		// The batch's own new demands: no row can conflict, so COPY.
		return tx.copyRows(ctx, "demand_simhash", simhashColumns, rows)
	}
	return s.insertSimhash(ctx, tx.Tx, rows)
}

// copyRows streams rows into table with COPY (PostgreSQL).
func (t *txConn) copyRows(ctx context.Context, table string, columns []string, rows [][]any) error {
	return t.copyLines(ctx, table, columns, len(rows), func(buf []byte, i int) []byte {
		for j, v := range rows[i] {
			if j > 0 {
				buf = append(buf, '\t')
			}
			buf = appendCopyValue(buf, v)
		}
		return buf
	})
}

var simhashColumns = []string{"demand_id", "customer_key", "received_at", "simhash", "band0", "band1", "band2", "band3", "cleaned"}

func simhashValues(id int64, n nearRec) []any {
	b := dedupe.Bands(n.hash)
	return []any{id, n.key, n.rec.Source.ReceivedAt.UTC(), int64(n.hash), int(b[0]), int(b[1]), int(b[2]), int(b[3]), clean(n.cleaned)}
}

var historyColumns = []string{"demand_id", "at", "kind", "detail"}

func (s *Store) insertSimhash(ctx context.Context, tx *sqlx.Tx, rows [][]any) error {
	if err := s.insertRows(ctx, tx, "demand_simhash", simhashColumns, rows, " ON CONFLICT (demand_id) DO NOTHING"); err != nil {
		return fmt.Errorf("store: insert simhash rows: %w", err)
	}
	return nil
}

// insertRows inserts rows of values for columns, a few hundred to a
// statement: one round trip per chunk instead of one per row.
func (s *Store) insertRows(ctx context.Context, tx *sqlx.Tx, table string, columns []string, rows [][]any, suffix string) error {
	const chunkRows = 500
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(columns)), ", ") + ")"
	for start := 0; start < len(rows); start += chunkRows {
		chunk := rows[start:min(start+chunkRows, len(rows))]
		q := "INSERT INTO " + table + " (" + strings.Join(columns, ", ") + ") VALUES " +
			strings.TrimSuffix(strings.Repeat(one+", ", len(chunk)), ", ") + suffix
		args := make([]any, 0, len(chunk)*len(columns))
		for _, r := range chunk {
			args = append(args, r...)
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
			return err
		}
	}
	return nil
}

// idsByCode maps the batch's codes to their new ids: COPY returns none.
func (s *Store) idsByCode(ctx context.Context, tx *sqlx.Tx, near []nearRec) (map[string]int64, error) {
	ids := map[string]int64{}
	var codes []string
	for _, n := range near {
		if n.rec.ID != 0 {
			ids[n.rec.Code] = n.rec.ID
		} else {
			codes = append(codes, n.rec.Code)
		}
	}
	if err := queryIDs(ctx, s, tx, `SELECT code, id FROM demands WHERE code IN (?)`, codes, ids); err != nil {
		return nil, fmt.Errorf("store: ids of new demands: %w", err)
	}
	return ids, nil
}

// heads reads stored demands' codes and urgencies.
func (s *Store) heads(ctx context.Context, tx *sqlx.Tx, ids []int64) (map[int64]candidate, error) {
	out := map[int64]candidate{}
	err := queryIn(ctx, s, tx, `SELECT id, code, urgency FROM demands WHERE id IN (?)`, ids, func(rows *sql.Rows) error {
		var c candidate
		err := rows.Scan(&c.ID, &c.Code, &c.Urgency)
		out[c.ID] = c
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: canonical demands: %w", err)
	}
	return out, nil
}

// Errors of Link and Unlink.
var (
	ErrSelfLink        = errors.New("a demand cannot be its own duplicate")
	ErrLinkToDuplicate = errors.New("the canonical demand is itself a duplicate")
	ErrNotDuplicate    = errors.New("the demand is not a duplicate")
	ErrAlreadyLinked   = errors.New("the demand is already a duplicate")
)

// dedupeRow is what linking reads of a stored demand.
type dedupeRow struct {
	ID          int64         `db:"id"`
	Code        string        `db:"code"`
	Name        string        `db:"customer_name"`
	Contact     string        `db:"contact_name"`
	Email       string        `db:"contact_email"`
	Phone       string        `db:"contact_phone"`
	Title       string        `db:"title"`
	Body        string        `db:"body"`
	Urgency     string        `db:"urgency"`
	ReceivedAt  time.Time     `db:"received_at"`
	Occurrences int           `db:"occurrences"`
	DuplicateOf sql.NullInt64 `db:"duplicate_of"`
}

const dedupeRowColumns = `id, code, customer_name, contact_name, contact_email, contact_phone, title, body, urgency,
	received_at, occurrences, duplicate_of`

func (r *dedupeRow) record() *demand.Record {
	return &demand.Record{ID: r.ID, Code: r.Code, Urgency: demand.Urgency(r.Urgency), Occurrences: r.Occurrences,
		Customer:    demand.Customer{Name: r.Name, Contact: r.Contact, Email: r.Email, Phone: r.Phone},
		Description: demand.Description{Title: r.Title, Text: r.Body}, Source: demand.Source{ReceivedAt: r.ReceivedAt}}
}

func (s *Store) dedupeRow(ctx context.Context, q sqlx.QueryerContext, where string, arg any) (*dedupeRow, error) {
	var r dedupeRow
	err := sqlx.GetContext(ctx, q, &r, s.db.Rebind(`SELECT `+dedupeRowColumns+` FROM demands WHERE `+where+` = ?`), arg)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: demand %v: %w", arg, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: demand %v: %w", arg, err)
	}
	return &r, nil
}

func defaultConfig(cfg *dedupe.Config) *dedupe.Config {
	if cfg != nil {
		return cfg
	}
	c := &dedupe.Config{}
	c.SetDefaults()
	return c
}

// link makes dup a duplicate of canon inside tx: dup's own duplicates move
// with it, canon counts them all and takes dup's urgency when higher, and
// both histories keep why.
func (s *Store) link(ctx context.Context, tx *sqlx.Tx, dup, canon *dedupeRow, why LinkReason, now time.Time) error {
	why.Action, why.Canonical, why.Duplicate = "link", canon.Code, dup.Code
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`UPDATE demands SET duplicate_of = ? WHERE duplicate_of = ?`, []any{canon.ID, dup.ID}},
		{`UPDATE demands SET duplicate_of = ?, updated_at = ? WHERE id = ?`, []any{canon.ID, now, dup.ID}},
		{`UPDATE demands SET occurrences = occurrences + ?, last_activity_at = ?, updated_at = ? WHERE id = ?`, []any{max(dup.Occurrences, 1), now, now, canon.ID}},
		{`DELETE FROM demand_simhash WHERE demand_id = ?`, []any{dup.ID}},
	} {
		if _, err := tx.ExecContext(ctx, s.db.Rebind(q.sql), q.args...); err != nil {
			return fmt.Errorf("store: link %s to %s: %w", dup.Code, canon.Code, err)
		}
	}
	for _, id := range []int64{dup.ID, canon.ID} {
		if err := s.addHistory(ctx, tx, id, now, why); err != nil {
			return err
		}
	}
	if urgencyRank(demand.Urgency(dup.Urgency)) > urgencyRank(demand.Urgency(canon.Urgency)) {
		if err := s.raiseUrgency(ctx, tx, canon.ID, canon.Code, demand.Urgency(canon.Urgency), &demand.Record{Code: dup.Code, Urgency: demand.Urgency(dup.Urgency)}, now); err != nil {
			return err
		}
		canon.Urgency = dup.Urgency
	}
	canon.Occurrences += max(dup.Occurrences, 1)
	return nil
}

// Link makes the demand code a duplicate of canonical by hand. A demand
// cannot be linked to itself nor to a duplicate (link to its canonical
// instead), and a duplicate must be unlinked before it is linked again.
func (s *Store) Link(ctx context.Context, code, canonical string) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: link %s: %w", code, err)
	}
	defer tx.Rollback()
	dup, err := s.dedupeRow(ctx, tx, "code", code)
	if err != nil {
		return err
	}
	canon, err := s.dedupeRow(ctx, tx, "code", canonical)
	if err != nil {
		return err
	}
	switch {
	case dup.ID == canon.ID:
		return fmt.Errorf("store: link %s: %w", code, ErrSelfLink)
	case canon.DuplicateOf.Valid:
		c, err := s.dedupeRow(ctx, tx, "id", canon.DuplicateOf.Int64)
		if err != nil {
			return err
		}
		return fmt.Errorf("store: link %s to %s: %w (link to %s)", code, canonical, ErrLinkToDuplicate, c.Code)
	case dup.DuplicateOf.Valid:
		return fmt.Errorf("store: link %s: %w", code, ErrAlreadyLinked)
	}
	if err := s.link(ctx, tx, dup, canon, LinkReason{Match: "manual"}, time.Now().UTC()); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: link %s: commit: %w", code, err)
	}
	return nil
}

// Unlink makes a duplicate canonical again: its canonical counts one
// occurrence less, both histories keep it, and the demand becomes a
// candidate for near-duplicates under cfg (nil: the defaults).
func (s *Store) Unlink(ctx context.Context, code string, cfg *dedupe.Config) error {
	cfg = defaultConfig(cfg)
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: unlink %s: %w", code, err)
	}
	defer tx.Rollback()
	dup, err := s.dedupeRow(ctx, tx, "code", code)
	if err != nil {
		return err
	}
	if !dup.DuplicateOf.Valid {
		return fmt.Errorf("store: unlink %s: %w", code, ErrNotDuplicate)
	}
	canon, err := s.dedupeRow(ctx, tx, "id", dup.DuplicateOf.Int64)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	if _, err := tx.ExecContext(ctx, s.db.Rebind(`UPDATE demands SET duplicate_of = NULL, updated_at = ? WHERE id = ?`), now, dup.ID); err != nil {
		return fmt.Errorf("store: unlink %s: %w", code, err)
	}
	if _, err := tx.ExecContext(ctx, s.db.Rebind(`UPDATE demands SET occurrences = occurrences - 1, updated_at = ? WHERE id = ? AND occurrences > 1`), now, canon.ID); err != nil {
		return fmt.Errorf("store: unlink %s: %w", code, err)
	}
	why := LinkReason{Action: "unlink", Canonical: canon.Code, Duplicate: dup.Code, Match: "manual"}
	for _, id := range []int64{dup.ID, canon.ID} {
		if err := s.addHistory(ctx, tx, id, now, why); err != nil {
			return err
		}
	}
	if n := newNearRec(dup.record(), nil, cfg); n.long {
		if err := s.insertSimhash(ctx, tx, [][]any{simhashValues(dup.ID, n)}); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: unlink %s: commit: %w", code, err)
	}
	return nil
}

// Explanation is why a demand is a duplicate, or canonical.
type Explanation struct {
	Record    *demand.Record
	Canonical *demand.Record // nil when the demand is canonical
	// Duplicates are, for a canonical demand, its duplicates' codes.
	Duplicates []string
	// Cleaned texts compared, their SimHash distance and similarity.
	Cleaned, CanonicalCleaned string
	Distance                  int
	Similarity                float64
	// History is the demand's dedupe history, oldest first.
	History []LinkReason
}

// Explain says why the demand code is linked, or canonical.
func (s *Store) Explain(ctx context.Context, code string) (*Explanation, error) {
	r, err := s.Demand(ctx, code)
	if err != nil {
		return nil, err
	}
	e := &Explanation{Record: r, Cleaned: dedupe.Clean(r.Description.Title, r.Description.Text)}
	hist, err := s.History(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	for _, h := range hist {
		if h.Kind != "dedupe" {
			continue
		}
		var why LinkReason
		if err := json.Unmarshal(h.Detail, &why); err != nil {
			return nil, fmt.Errorf("store: explain %s: %w", code, err)
		}
		e.History = append(e.History, why)
	}
	if r.DuplicateOf != 0 {
		var c string
		if err := s.db.GetContext(ctx, &c, s.db.Rebind(`SELECT code FROM demands WHERE id = ?`), r.DuplicateOf); err != nil {
			return nil, fmt.Errorf("store: explain %s: %w", code, err)
		}
		if e.Canonical, err = s.Demand(ctx, c); err != nil {
			return nil, err
		}
		e.CanonicalCleaned = dedupe.Clean(e.Canonical.Description.Title, e.Canonical.Description.Text)
		a, b := dedupe.NewText(e.Cleaned), dedupe.NewText(e.CanonicalCleaned)
		e.Distance = dedupe.Distance(a.Hash, b.Hash)
		e.Similarity = dedupe.Similarity(e.Cleaned, e.CanonicalCleaned)
		return e, nil
	}
	if err := s.db.SelectContext(ctx, &e.Duplicates, s.db.Rebind(`SELECT code FROM demands WHERE duplicate_of = ? ORDER BY id`), r.ID); err != nil {
		return nil, fmt.Errorf("store: explain %s: %w", code, err)
	}
	return e, nil
}

// ReplayDedupe re-runs near-duplicate linking over the canonical demands
// received since (zero: all), oldest first, each against earlier canonical
// demands: it fills demand_simhash for demands stored before it existed
// and returns the links it made. Without apply the transaction is rolled
// back, so the dry run sees exactly what an apply would do.
func (s *Store) ReplayDedupe(ctx context.Context, cfg *dedupe.Config, since time.Time, apply bool) ([]LinkReason, error) {
	cfg = defaultConfig(cfg)
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("store: replay dedupe: %w", err)
	}
	defer tx.Rollback()
	var rows []dedupeRow
	if err := tx.SelectContext(ctx, &rows, s.db.Rebind(`SELECT `+dedupeRowColumns+` FROM demands
		WHERE duplicate_of IS NULL AND received_at >= ? ORDER BY received_at, id`), since.UTC()); err != nil {
		return nil, fmt.Errorf("store: replay dedupe: %w", err)
	}
	near := make([]nearRec, len(rows))
	var fill [][]any
	for i := range rows {
		near[i] = newNearRec(rows[i].record(), nil, cfg)
		if near[i].long {
			fill = append(fill, simhashValues(rows[i].ID, near[i]))
		}
	}
	if err := s.insertSimhash(ctx, tx, fill); err != nil {
		return nil, err
	}
	stmt, err := tx.PreparexContext(ctx, s.candidatesQuery(!cfg.CrossCustomer))
	if err != nil {
		return nil, fmt.Errorf("store: replay dedupe: %w", err)
	}
	defer stmt.Close()
	byID := map[int64]*dedupeRow{}
	for i := range rows {
		byID[rows[i].ID] = &rows[i]
	}
	now := time.Now().UTC()
	var out []LinkReason
	for i := range rows {
		r, n := &rows[i], near[i]
		if !n.long {
			continue
		}
		// Only earlier demands are canonical for a later one.
		later := func(id int64) bool {
			c, ok := byID[id]
			return id == r.ID || (ok && (c.ReceivedAt.After(r.ReceivedAt) || (c.ReceivedAt.Equal(r.ReceivedAt) && c.ID > r.ID)))
		}
		best, err := s.findCanonical(ctx, stmt, n, cfg, later)
		if err != nil {
			return nil, err
		}
		if best == nil {
			continue
		}
		canon := byID[best.ID]
		if canon == nil {
			if canon, err = s.dedupeRow(ctx, tx, "id", best.ID); err != nil {
				return nil, err
			}
		}
		why := LinkReason{Match: "replay", Distance: best.distance, Similarity: best.similarity}
		if err := s.link(ctx, tx, r, canon, why, now); err != nil {
			return nil, err
		}
		why.Action, why.Canonical, why.Duplicate = "link", canon.Code, r.Code
		out = append(out, why)
	}
	if apply {
		if err := tx.Commit(); err != nil {
			return nil, fmt.Errorf("store: replay dedupe: commit: %w", err)
		}
	}
	return out, nil
}
