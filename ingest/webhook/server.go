package webhook

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/ingest"
)

// retryAfter is what a sender is told to wait while the register is
// unavailable.
const retryAfter = "5"

// Options are what the server gets besides its block.
type Options struct {
	Env ingest.Env
	// API, when set, is served under /api/v1/ on the same listener.
	API http.Handler
	// Now is the clock of signature timestamps (default time.Now).
	Now func() time.Time
	// Observe, when set, is told of every answered request (metrics):
	// its endpoint (EndpointHook, EndpointAPI or EndpointOther), the
	// configured source it was for ("" unless a hook), the HTTP status and
	// how long the answer took.
	Observe func(endpoint, source string, status int, d time.Duration)
}

// Server is the webhook channel: one listener for every configured
// source (and the API). It is an ingest.Source named "webhook".
type Server struct {
	cfg     Config
	sources map[string]*source
	opts    Options
	log     *slog.Logger

	mu sync.Mutex
	ln net.Listener // bound by Listen, used by the next Run
}

type source struct {
	cfg    SourceConfig
	preset Preset
	origin demand.Origin
}

var _ ingest.Source = (*Server)(nil)

// New reads every source's secrets and builds its preset; cfg is valid.
func New(cfg Config, opts Options) (*Server, error) {
	cfg.SetDefaults()
	if opts.Env.Logger == nil {
		opts.Env.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{cfg: cfg, sources: map[string]*source{}, opts: opts, log: opts.Env.Logger.With("channel", "webhook")}
	for _, sc := range cfg.Sources {
		secret, err := sc.SecretSetting().Read(fmt.Sprintf("webhook source %s: secret", sc.Name))
		if err != nil {
			return nil, err
		}
		p, err := NewPreset(sc, secret)
		if err != nil {
			return nil, err
		}
		origin, _ := demand.ParseOrigin(sc.Origin) // validated
		s.sources[sc.Name] = &source{cfg: sc, preset: p, origin: origin}
	}
	return s, nil
}

// Name implements ingest.Source.
func (s *Server) Name() string { return "webhook" }

// Listen binds the listener now, so that a port in use stops serve at
// start rather than in a restart loop; Run serves on it.
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("webhook: listen on %s: %w", s.cfg.Listen, err)
	}
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	return nil
}

// Addr is the bound address, after Listen.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Run implements ingest.Source: it serves until ctx ends, then stops
// taking requests, answers those under way once their group commits, and
// returns.
func (s *Server) Run(ctx context.Context, sink ingest.Sink, _ ingest.State) error {
	s.mu.Lock()
	ln := s.ln
	s.ln = nil
	s.mu.Unlock()
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.cfg.Listen); err != nil {
			return fmt.Errorf("webhook: listen on %s: %w", s.cfg.Listen, err)
		}
	}
	// Committers outlive ctx until every handler has its answer.
	commitCtx, stopCommits := context.WithCancel(context.WithoutCancel(ctx))
	defer stopCommits()
	srv := &http.Server{Handler: s.Handler(commitCtx, sink), ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: time.Minute, WriteTimeout: time.Minute, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() {
		if s.cfg.TLSCert != "" {
			srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
			errc <- srv.ServeTLS(ln, s.cfg.TLSCert, s.cfg.TLSKey)
			return
		}
		errc <- srv.Serve(ln)
	}()
	s.log.Info("webhook listener serving", "addr", ln.Addr().String(), "sources", len(s.sources), "tls", s.cfg.TLSCert != "")
	select {
	case err := <-errc:
		return fmt.Errorf("webhook: serve: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		s.log.Warn("webhook listener did not drain in time", "err", err)
	}
	return nil
}

// Handler is the listener's handler: /hooks/{source} and, when set, the
// API. Its group committers run until ctx ends; after that it answers 503.
func (s *Server) Handler(ctx context.Context, sink ingest.Sink) http.Handler {
	g := newGrouper(ctx, sink, s.cfg.GroupSize, s.cfg.GroupWait.Duration, s.log)
	mux := http.NewServeMux()
	mux.HandleFunc("/hooks/{source}", func(w http.ResponseWriter, r *http.Request) { s.hook(w, r, sink, g) })
	if s.opts.API != nil {
		mux.Handle("/api/v1/", s.opts.API)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such path: POST webhooks to /hooks/{source}")
	})
	return s.observe(mux)
}

// answer is the JSON body of a webhook answer.
type answer struct {
	Code     string `json:"code,omitempty"`
	Outcome  string `json:"outcome,omitempty"`
	Delivery string `json:"delivery,omitempty"`
	Ignored  string `json:"ignored,omitempty"`
	Error    string `json:"error,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, answer{Error: msg})
}

// hook takes one delivery: checks, authenticates and maps it, prepares its
// item (normalise and classify, here in the request's goroutine), and
// answers once its group has committed.
func (s *Server) hook(w http.ResponseWriter, r *http.Request, sink ingest.Sink, g *grouper) {
	name := r.PathValue("source")
	src, ok := s.sources[name]
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no webhook source %q is configured", name))
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "use POST")
		return
	}
	if !isJSON(r.Header.Get("Content-Type")) {
		writeError(w, http.StatusUnsupportedMediaType,
			fmt.Sprintf("content type %q is not JSON: set the webhook to send application/json", r.Header.Get("Content-Type")))
		return
	}
	limit := s.cfg.MaxBody
	if r.ContentLength > limit {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body of %d bytes is over the limit of %d (webhook.max_body)", r.ContentLength, limit))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "cannot read the body: "+err.Error())
		return
	}
	if int64(len(body)) > limit {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body is over the limit of %d bytes (webhook.max_body)", limit))
		return
	}
	log := s.log.With("source", name, "request_id", RequestID(r.Context()))
	payload, err := src.preset.Authenticate(r.Header, body, s.opts.Now())
	var challenge *Challenge
	var authErr *AuthError
	var payloadErr *PayloadError
	switch {
	case errors.As(err, &challenge):
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write(challenge.Body)
		return
	case errors.As(err, &authErr):
		log.Warn("webhook refused", "reason", authErr.Reason, "remote", r.RemoteAddr)
		writeError(w, http.StatusUnauthorized, authErr.Reason)
		return
	case errors.As(err, &payloadErr):
		writeError(w, http.StatusBadRequest, payloadErr.Reason)
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	delivery := src.preset.DeliveryID(r.Header, payload)
	if delivery == "" {
		sum := sha256.Sum256(payload)
		delivery = "sha256:" + hex.EncodeToString(sum[:])
	}
	item := ingest.Item{Channel: demand.ChannelWebhook, Source: name, Key: name + "/" + delivery,
		ContentType: ingest.ContentTypeJSON, Body: payload, ReceivedAt: time.Now(), Origin: src.origin}
	ev, err := src.preset.Map(r.Header, payload)
	var ig *IgnoreError
	switch {
	case errors.As(err, &ig):
		item.Ignore = ig.Reason
	case errors.As(err, &payloadErr):
		// Kept quarantined, so that a fixed mapping and `reprocess` can
		// still make it a demand; the sender learns what is wrong.
		item.Problem = payloadErr.Reason
	case err != nil:
		item.Problem = err.Error()
	default:
		item.Ref = name + ":" + ev.Ticket
		rec := ev.Record
		// Every event of a ticket names it, so that the store links them
		// to the ticket's one demand (stored refs carry the source).
		rec.ReplyTo = []string{item.Ref}
		if rec.Source.ExternalRef == "" {
			rec.Source.ExternalRef = first(ev.URL, ev.Ticket)
		}
		if ev.Comment != nil && rec.Description.Text == "" {
			rec.Description.Text = ev.Comment.Text
		}
		item.Mapped = &rec
	}
	p, err := sink.Prepare(r.Context(), ingest.Batch{Items: []ingest.Item{item}})
	if err != nil {
		if rej, ok := ingest.IsReject(err); ok {
			writeError(w, http.StatusBadRequest, rej.Reason)
			return
		}
		log.Error("webhook: prepare", "err", err)
		writeError(w, http.StatusInternalServerError, "internal error while preparing the delivery")
		return
	}
	if item.Mapped != nil {
		p.Items[0].SetStatus = ev.Status
		p.Items[0].Event = first(ev.Name, string(ev.Kind))
	}
	shardKey := item.Ref
	if shardKey == "" {
		shardKey = item.Key
	}
	out, err := g.commit(r.Context(), shardKey, p)
	if err != nil {
		if r.Context().Err() == nil {
			log.Warn("webhook delivery not committed; answering 503", "err", err)
		}
		w.Header().Set("Retry-After", retryAfter)
		writeError(w, http.StatusServiceUnavailable, "the register is unavailable; retry later")
		return
	}
	switch {
	case out.Kind == "quarantined" || (out.Kind == "duplicate" && out.Stored == "quarantined"):
		writeJSON(w, http.StatusBadRequest, answer{Error: first(out.Reason, item.Problem), Delivery: delivery})
	case out.Kind == "ignored" || (out.Kind == "duplicate" && out.Stored == "ignored"):
		writeJSON(w, http.StatusOK, answer{Ignored: first(out.Reason, item.Ignore), Delivery: delivery})
	default:
		writeJSON(w, http.StatusAccepted, answer{Code: out.Code, Outcome: out.Kind, Delivery: delivery})
	}
}

// isJSON reports whether a Content-Type is JSON: application/json or a
// +json type.
func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// grouper commits prepared deliveries in groups: a committer takes what is
// queued, waits up to wait for more (at most size), commits them in one
// transaction and answers each. Deliveries of one ticket always go to the
// same committer, so their order holds; two committers let one group
// gather while the other commits.
type grouper struct {
	shards []chan *pending
	size   int
	wait   time.Duration
	sink   ingest.Sink
	ctx    context.Context
	log    *slog.Logger
}

type pending struct {
	p    *ingest.Prepared
	done chan result
}

type result struct {
	out ingest.Outcome
	err error
}

const committers = 2

func newGrouper(ctx context.Context, sink ingest.Sink, size int, wait time.Duration, log *slog.Logger) *grouper {
	g := &grouper{size: max(size, 1), wait: wait, sink: sink, ctx: ctx, log: log}
	for range committers {
		ch := make(chan *pending, g.size*4)
		g.shards = append(g.shards, ch)
		go g.run(ch)
	}
	return g
}

// errStopped answers deliveries that arrive after the committers stopped.
var errStopped = errors.New("webhook: shutting down")

// commit queues p and waits for its group's commit.
func (g *grouper) commit(ctx context.Context, key string, p *ingest.Prepared) (ingest.Outcome, error) {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	pd := &pending{p: p, done: make(chan result, 1)}
	select {
	case g.shards[h.Sum32()%uint32(len(g.shards))] <- pd:
	case <-g.ctx.Done():
		return ingest.Outcome{}, errStopped
	case <-ctx.Done():
		return ingest.Outcome{}, ctx.Err()
	}
	// Once queued, the answer is awaited even if the client went away: it
	// will be committed, and must not be reported as anything else.
	r := <-pd.done
	return r.out, r.err
}

func (g *grouper) run(ch chan *pending) {
	for {
		var first *pending
		select {
		case first = <-ch:
		case <-g.ctx.Done():
			g.drain(ch)
			return
		}
		group := []*pending{first}
		timer := time.NewTimer(g.wait)
	gather:
		for len(group) < g.size {
			select {
			case pd := <-ch:
				group = append(group, pd)
			case <-timer.C:
				break gather
			}
		}
		timer.Stop()
		g.commitGroup(group)
	}
}

// drain answers what is still queued after the committers stopped.
func (g *grouper) drain(ch chan *pending) {
	for {
		select {
		case pd := <-ch:
			pd.done <- result{err: errStopped}
		default:
			return
		}
	}
}

func (g *grouper) commitGroup(group []*pending) {
	ps := make([]*ingest.Prepared, len(group))
	for i, pd := range group {
		ps[i] = pd.p
	}
	res, err := g.sink.Commit(g.ctx, ingest.Merge(ps))
	if err == nil && len(res.Outcomes) != len(group) {
		err = fmt.Errorf("webhook: commit answered %d outcomes for %d deliveries", len(res.Outcomes), len(group))
	}
	for i, pd := range group {
		if err != nil {
			pd.done <- result{err: err}
			continue
		}
		pd.done <- result{out: res.Outcomes[i]}
	}
}
