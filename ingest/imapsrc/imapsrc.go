// Package imapsrc is the email channel: it watches IMAP mailboxes and emits
// every message once.
//
// Each mailbox runs on a connection of its own. Mailboxes are opened
// read-only (EXAMINE) unless After needs to change them; nothing is ever
// deleted or expunged. New messages are found by UID above the mailbox's
// checkpoint (UIDVALIDITY + the highest committed UID) and fetched with
// BODY.PEEK[] in batches; a batch is emitted with the checkpoint that
// acknowledges it, so the cursor advances only with the commit. A
// UIDVALIDITY change re-reads the mailbox: items are keyed by Message-ID
// and content hash, so nothing is added twice. A message over
// MaxMessageSize is emitted from its headers with a Problem (quarantined);
// a message the server cannot deliver is emitted as a Problem too: neither
// stalls the mailbox.
//
// New mail is waited for with IDLE where the server has it (restarted well
// before the 29-minute limit), else by polling. A lost connection is
// redialled with exponential backoff and jitter; errors are logged once per
// change of state, and each mailbox's state is kept for health checks.
package imapsrc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/mail"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/ingest"
	"github.com/demandd/demandd/internal/i18n"
)

// Config configures one account.
type Config struct {
	Name string
	// Locale is the language of the reasons recorded for mail that is
	// quarantined or ignored (default Chinese).
	Locale   i18n.Locale
	Addr     string // host:port
	TLS      string // implicit, starttls or none
	Username string
	Password string
	// Auth is plain (SASL PLAIN, or LOGIN where the server lacks it),
	// login (the LOGIN command) or xoauth2 (Token gives the access token,
	// asked again at every connection, so an expired token is replaced).
	Auth  string
	Token func(ctx context.Context) (string, error)
	// Mailboxes to watch (default INBOX).
	Mailboxes    []string
	PollInterval time.Duration // default 60s
	IDLE         bool
	// After is what happens to a message once committed: none, seen or
	// move:FOLDER.
	After string
	// Since limits the first sync to messages received on or after it.
	Since          time.Time
	MaxMessageSize int64 // default 25 MB
	// SenderLimit is how many messages one sender may add per hour; more
	// are kept as ignored, so that a mail loop cannot flood the register.
	// 0 means the default (30); negative disables the limit.
	SenderLimit int
	Origin      demand.Origin
	BatchSize   int // messages per commit, default 200
	TLSConfig   *tls.Config
	Logger      *slog.Logger
}

// State is a mailbox's health, for health checks and metrics.
type State struct {
	Mailbox     string
	Connected   bool
	Idle        bool
	LastSuccess time.Time
	LastError   string
	// Lag is how far the newest committed message is behind now.
	Lag time.Duration
}

// Source watches one account.
type Source struct {
	cfg Config
	log *slog.Logger

	mu     sync.Mutex
	states map[string]*State
	sent   map[string][]time.Time // sender → arrival times in the last hour
}

var _ ingest.Source = (*Source)(nil)

// New checks cfg and builds the source.
func New(cfg Config) (*Source, error) {
	if cfg.Name == "" || cfg.Addr == "" {
		return nil, errors.New("imapsrc: an account needs a name and an address")
	}
	if len(cfg.Mailboxes) == 0 {
		cfg.Mailboxes = []string{"INBOX"}
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.MaxMessageSize <= 0 {
		cfg.MaxMessageSize = DefaultMaxMessageSize
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 200
	}
	if cfg.SenderLimit == 0 {
		cfg.SenderLimit = DefaultSenderLimit
	}
	if cfg.After == "" {
		cfg.After = "none"
	}
	if !ValidAfter(cfg.After) {
		return nil, fmt.Errorf("imapsrc: after = %q: want none, seen or move:FOLDER", cfg.After)
	}
	if cfg.Origin == "" {
		cfg.Origin = demand.OriginRaised
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Source{cfg: cfg, log: cfg.Logger.With("source", cfg.Name, "channel", "email"), states: map[string]*State{},
		sent: map[string][]time.Time{}}
	for _, m := range cfg.Mailboxes {
		s.states[m] = &State{Mailbox: m}
	}
	return s, nil
}

// Name implements ingest.Source.
func (s *Source) Name() string { return s.cfg.Name }

// States returns a copy of every mailbox's state.
func (s *Source) States() []State {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]State, 0, len(s.states))
	for _, m := range s.cfg.Mailboxes {
		out = append(out, *s.states[m])
	}
	return out
}

func (s *Source) update(mailbox string, f func(*State)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s.states[mailbox])
}

// Run implements ingest.Source: one goroutine per mailbox, until ctx ends.
func (s *Source) Run(ctx context.Context, sink ingest.Sink, state ingest.State) error {
	var wg sync.WaitGroup
	for _, m := range s.cfg.Mailboxes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.watch(ctx, m, sink, state)
		}()
	}
	wg.Wait()
	return nil
}

// watch keeps one mailbox synchronised, reconnecting with backoff.
func (s *Source) watch(ctx context.Context, mailbox string, sink ingest.Sink, state ingest.State) {
	log := s.log.With("mailbox", mailbox)
	wait := time.Second
	lastErr := ""
	for ctx.Err() == nil {
		start := time.Now()
		err := s.session(ctx, mailbox, sink, state, log)
		if ctx.Err() != nil {
			return
		}
		msg := "disconnected"
		if err != nil {
			msg = err.Error()
		}
		var wasOpen bool
		s.update(mailbox, func(st *State) {
			wasOpen = st.Connected
			st.Connected, st.Idle, st.LastError = false, false, msg
		})
		// Once per change of state, not once per retry: a mailbox that was
		// open and is lost again is a change even with the same error.
		if msg != lastErr || wasOpen {
			log.Error("mailbox unavailable; retrying with backoff", "err", msg)
			lastErr = msg
		}
		if time.Since(start) > 2*time.Minute {
			wait = time.Second // it worked for a while: start the backoff again
		}
		jittered := wait/2 + time.Duration(rand.Int64N(int64(wait)))
		t := time.NewTimer(jittered)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(wait*2, 5*time.Minute)
	}
}

// checkpoint is a mailbox's cursor.
type checkpoint struct {
	UIDValidity uint32 `json:"uidvalidity"`
	LastUID     uint32 `json:"last_uid"`
}

func (s *Source) checkpointKey(mailbox string) string { return "imap/" + s.cfg.Name + "/" + mailbox }

// handshakeTimeout bounds the TLS handshake and the STARTTLS exchange of
// a connection whose context has no deadline (the daemon's).
const handshakeTimeout = 30 * time.Second

// dial connects as cfg.TLS says: TCP, then TLS (implicit or STARTTLS)
// unless it is none. ctx bounds the dial and the handshake.
func (s *Source) dial(ctx context.Context) (*imapclient.Client, chan struct{}, error) {
	conn, err := s.connect(ctx)
	if err != nil {
		return nil, nil, err
	}
	c, newMail, err := s.handshake(ctx, conn)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	return c, newMail, nil
}

// connect opens the TCP connection.
func (s *Source) connect(ctx context.Context) (net.Conn, error) {
	conn, err := (&net.Dialer{Timeout: 30 * time.Second}).DialContext(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", s.cfg.Addr, err)
	}
	return conn, nil
}

// handshake starts the IMAP client on conn: TLS first (implicit), after
// the greeting (starttls), or not at all (none). The probe calls connect
// and handshake apart to tell a closed port from a TLS mismatch.
func (s *Source) handshake(ctx context.Context, conn net.Conn) (*imapclient.Client, chan struct{}, error) {
	newMail := make(chan struct{}, 1)
	opts := &imapclient.Options{
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					select {
					case newMail <- struct{}{}:
					default:
					}
				}
			},
		},
	}
	tlsConfig := &tls.Config{}
	if s.cfg.TLSConfig != nil {
		tlsConfig = s.cfg.TLSConfig.Clone()
	}
	if tlsConfig.ServerName == "" {
		tlsConfig.ServerName, _, _ = net.SplitHostPort(s.cfg.Addr)
	}
	if s.cfg.TLS != "none" {
		// Neither a handshake nor a greeting may hang: the connection's
		// deadline bounds them, and is lifted once the session stands.
		deadline := time.Now().Add(handshakeTimeout)
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		_ = conn.SetDeadline(deadline)
		defer conn.SetDeadline(time.Time{})
	}
	switch s.cfg.TLS {
	case "implicit", "":
		if tlsConfig.NextProtos == nil {
			tlsConfig.NextProtos = []string{"imap"}
		}
		tc := tls.Client(conn, tlsConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, nil, fmt.Errorf("tls with %s: %w", s.cfg.Addr, err)
		}
		return imapclient.New(tc, opts), newMail, nil
	case "starttls":
		opts.TLSConfig = tlsConfig
		c, err := imapclient.NewStartTLS(conn, opts)
		if err != nil {
			return nil, nil, fmt.Errorf("starttls with %s: %w", s.cfg.Addr, err)
		}
		return c, newMail, nil
	case "none":
		return imapclient.New(conn, opts), newMail, nil
	}
	return nil, nil, fmt.Errorf("imapsrc: tls = %q: want implicit, starttls or none", s.cfg.TLS)
}

// session is one connection's life: log in, select, sync, wait, sync…
func (s *Source) session(ctx context.Context, mailbox string, sink ingest.Sink, state ingest.State, log *slog.Logger) error {
	c, newMail, err := s.dial(ctx)
	if err != nil {
		return err
	}
	// The client has no context: closing the connection ends any command.
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	defer c.Close()
	if err := s.authenticate(ctx, c); err != nil {
		return fmt.Errorf("log in as %s: %w", s.cfg.Username, err)
	}
	sel, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: s.cfg.After == "none"}).Wait()
	if err != nil {
		return fmt.Errorf("open mailbox %s: %w", mailbox, err)
	}
	var cp checkpoint
	if v, ok, err := state.Checkpoint(ctx, s.checkpointKey(mailbox)); err != nil {
		return err
	} else if ok {
		if err := json.Unmarshal([]byte(v), &cp); err != nil {
			return fmt.Errorf("checkpoint of %s: %w", mailbox, err)
		}
	}
	if cp.UIDValidity != 0 && cp.UIDValidity != sel.UIDValidity {
		log.Warn("UIDVALIDITY changed: reading the mailbox again; messages already stored are recognised and skipped",
			"old", cp.UIDValidity, "new", sel.UIDValidity)
		cp.LastUID = 0
	}
	cp.UIDValidity = sel.UIDValidity
	s.update(mailbox, func(st *State) { st.Connected, st.LastError = true, "" })
	log.Info("mailbox opened", "uidvalidity", sel.UIDValidity, "messages", sel.NumMessages, "last_uid", cp.LastUID)

	idle := s.cfg.IDLE && c.Caps().Has(imap.CapIdle)
	for {
		if err := s.sync(ctx, c, mailbox, &cp, sink); err != nil {
			return err
		}
		s.update(mailbox, func(st *State) { st.LastSuccess = time.Now() })
		if err := s.waitForMail(ctx, c, mailbox, newMail, idle); err != nil {
			return err
		}
	}
}

func (s *Source) authenticate(ctx context.Context, c *imapclient.Client) error {
	switch s.cfg.Auth {
	case "xoauth2":
		if s.cfg.Token == nil {
			return errors.New("xoauth2 needs a token source")
		}
		token, err := s.cfg.Token(ctx)
		if err != nil {
			return fmt.Errorf("get the OAuth2 token: %w", err)
		}
		return c.Authenticate(&xoauth2{user: s.cfg.Username, token: token})
	case "plain", "":
		if c.Caps().Has(imap.AuthCap(sasl.Plain)) {
			return c.Authenticate(sasl.NewPlainClient("", s.cfg.Username, s.cfg.Password))
		}
	}
	return c.Login(s.cfg.Username, s.cfg.Password).Wait()
}

// xoauth2 is the SASL XOAUTH2 mechanism (Gmail, Outlook, 腾讯企业邮 with OAuth).
type xoauth2 struct{ user, token string }

func (x *xoauth2) Start() (string, []byte, error) {
	return "XOAUTH2", []byte("user=" + x.user + "\x01auth=Bearer " + x.token + "\x01\x01"), nil
}

// Next answers the server's error challenge with an empty response, as
// the mechanism requires; the server then fails the command with its reason.
func (x *xoauth2) Next([]byte) ([]byte, error) { return []byte{}, nil }

// waitForMail returns when new mail may have arrived: IDLE push, or the
// poll interval.
func (s *Source) waitForMail(ctx context.Context, c *imapclient.Client, mailbox string, newMail chan struct{}, idle bool) error {
	if !idle {
		t := time.NewTimer(s.cfg.PollInterval)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-newMail:
		case <-t.C:
		}
		return c.Noop().Wait()
	}
	cmd, err := c.Idle()
	if err != nil {
		return fmt.Errorf("idle: %w", err)
	}
	s.update(mailbox, func(st *State) { st.Idle = true })
	defer s.update(mailbox, func(st *State) { st.Idle = false })
	// Restart IDLE well before servers drop it (RFC 9051: 29 minutes), and
	// look again at least every poll interval in case a push was lost.
	t := time.NewTimer(min(s.cfg.PollInterval*5, 25*time.Minute))
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-newMail:
	case <-t.C:
	case <-c.Closed():
	}
	if err := cmd.Close(); err != nil {
		return fmt.Errorf("idle: %w", err)
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("idle: %w", err)
	}
	return ctx.Err()
}

// sync fetches every message above the checkpoint and emits them in
// batches; after each commit it applies After.
func (s *Source) sync(ctx context.Context, c *imapclient.Client, mailbox string, cp *checkpoint, sink ingest.Sink) error {
	criteria := &imap.SearchCriteria{UID: []imap.UIDSet{{imap.UIDRange{Start: imap.UID(cp.LastUID + 1), Stop: 0}}}}
	if cp.LastUID == 0 && !s.cfg.Since.IsZero() {
		criteria.Since = s.cfg.Since
	}
	data, err := c.UIDSearch(criteria, nil).Wait()
	if err != nil {
		return fmt.Errorf("search %s: %w", mailbox, err)
	}
	var uids []imap.UID
	for _, u := range data.AllUIDs() {
		if uint32(u) > cp.LastUID { // "N:*" always includes the highest UID
			uids = append(uids, u)
		}
	}
	sort.Slice(uids, func(i, j int) bool { return uids[i] < uids[j] })

	// Fetch, prepare and stage batch N+1 while batch N commits; stages and
	// commits stay in order, and After runs once its batch has committed.
	type inFlight struct {
		batch  []imap.UID
		next   checkpoint
		newest time.Time
		done   chan error
		took   time.Duration // the commit's, for the stage timings below
	}
	var pending *inFlight
	settle := func() error {
		if pending == nil {
			return nil
		}
		p := pending
		pending = nil
		waited := time.Now()
		err := <-p.done
		// Which stage bounds the first sync: fetch + prepare of the next
		// batch, or the commit of this one (waited > 0 means the commit).
		s.log.Debug("batch committed", "mailbox", mailbox, "messages", len(p.batch), "commit", p.took.Round(time.Millisecond),
			"waited", time.Since(waited).Round(time.Millisecond))
		if err != nil {
			return fmt.Errorf("store messages of %s: %w", mailbox, err)
		}
		*cp = p.next
		s.update(mailbox, func(st *State) { st.Lag = time.Since(p.newest).Round(time.Second) })
		return s.after(c, p.batch)
	}
	defer settle() // never leave a commit behind unwaited
	nextBatch, stop := s.batches(ctx, c, mailbox, cp.UIDValidity, uids)
	defer stop()
	next := *cp
	var lastStage *stageStep
	for {
		f, ok := nextBatch()
		if !ok {
			break
		}
		if f.err != nil {
			return f.err
		}
		batch := f.uids
		next.LastUID = uint32(batch[len(batch)-1])
		v, _ := json.Marshal(next)
		prepStart := time.Now()
		prepared, err := sink.Prepare(ctx, ingest.Batch{Items: f.items,
			Checkpoint: &ingest.Checkpoint{Key: s.checkpointKey(mailbox), Value: string(v)}})
		if err != nil {
			return fmt.Errorf("prepare messages of %s: %w", mailbox, err)
		}
		s.log.Debug("batch prepared", "mailbox", mailbox, "messages", len(batch), "fetch", f.took.Round(time.Millisecond),
			"prepare", time.Since(prepStart).Round(time.Millisecond))
		// Its raw messages are stored (staged) on a goroutine of their own
		// while batch N commits and batch N+2 is prepared, once batch N's
		// are, and only while every batch before it was staged: see
		// ingest.Stager.
		st := &stageStep{done: make(chan struct{})}
		go func(prev *stageStep) {
			defer close(st.done)
			if prev != nil {
				<-prev.done
				if !prev.ok {
					return
				}
			}
			st.ok = ingest.Stage(ctx, sink, prepared)
		}(lastStage)
		lastStage = st
		if err := settle(); err != nil {
			<-st.done
			ingest.Discard(sink, prepared) // never committed after a failed batch
			return err
		}
		p := &inFlight{batch: batch, next: next, newest: f.newest, done: make(chan error, 1)}
		go func() {
			<-st.done
			start := time.Now()
			_, err := sink.Commit(ctx, prepared)
			p.took = time.Since(start)
			p.done <- err
		}()
		pending = p
	}
	return settle()
}

// stageStep is a batch's staging: ok, read once done is closed, says
// whether it was staged.
type stageStep struct {
	done chan struct{}
	ok   bool
}

// fetched is one batch of a mailbox as fetched.
type fetched struct {
	uids   []imap.UID
	items  []ingest.Item
	newest time.Time
	took   time.Duration
	err    error
}

// batches returns a function that gives the next batch of uids fetched
// (false after the last, or after an error), and one that stops. When
// After leaves the mailbox alone, batches are fetched on a goroutine of
// their own one ahead of the caller, so that the next batch crosses the
// network while this one is prepared; else each is fetched when asked
// for, so that no FETCH is interleaved with the STORE or MOVE of After.
func (s *Source) batches(ctx context.Context, c *imapclient.Client, mailbox string, uidValidity uint32, uids []imap.UID) (func() (fetched, bool), func()) {
	start := 0
	fetchNext := func() (fetched, bool) {
		if start >= len(uids) {
			return fetched{}, false
		}
		batch := uids[start:min(start+s.cfg.BatchSize, len(uids))]
		start += len(batch)
		began := time.Now()
		items, newest, err := s.fetch(c, mailbox, uidValidity, batch)
		if err != nil {
			start = len(uids)
		}
		return fetched{uids: batch, items: items, newest: newest, took: time.Since(began), err: err}, true
	}
	if s.cfg.After != "none" {
		return fetchNext, func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	out := make(chan fetched, 1)
	go func() {
		defer close(out)
		for {
			f, ok := fetchNext()
			if !ok {
				return
			}
			select {
			case out <- f:
			case <-ctx.Done(): // the caller stopped; its session closes the connection
				return
			}
		}
	}()
	return func() (fetched, bool) {
		f, ok := <-out
		return f, ok
	}, cancel
}

// after marks or moves committed messages, as configured.
func (s *Source) after(c *imapclient.Client, uids []imap.UID) error {
	set := imap.UIDSetNum(uids...)
	switch {
	case s.cfg.After == "seen":
		if err := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close(); err != nil {
			return fmt.Errorf("mark messages seen: %w", err)
		}
	case strings.HasPrefix(s.cfg.After, "move:"):
		if _, err := c.Move(set, strings.TrimPrefix(s.cfg.After, "move:")).Wait(); err != nil {
			return fmt.Errorf("move messages to %s: %w", strings.TrimPrefix(s.cfg.After, "move:"), err)
		}
	}
	return nil
}

// fetch gets a batch: sizes first, then whole messages within the size
// limit and headers of those over it. A message the server fails to
// deliver becomes a Problem item instead of failing the batch.
func (s *Source) fetch(c *imapclient.Client, mailbox string, uidValidity uint32, uids []imap.UID) ([]ingest.Item, time.Time, error) {
	sizes, err := c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, RFC822Size: true, InternalDate: true}).Collect()
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("fetch sizes: %w", err)
	}
	type meta struct {
		size int64
		date time.Time
	}
	metas := map[imap.UID]meta{}
	for _, m := range sizes {
		metas[m.UID] = meta{m.RFC822Size, m.InternalDate}
	}
	var whole, heads []imap.UID
	for _, u := range uids {
		if metas[u].size > s.cfg.MaxMessageSize {
			heads = append(heads, u)
		} else {
			whole = append(whole, u)
		}
	}
	bodies := map[imap.UID][]byte{}
	full := &imap.FetchItemBodySection{Peek: true}
	header := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true}
	for _, part := range []struct {
		uids    []imap.UID
		section *imap.FetchItemBodySection
	}{{whole, full}, {heads, header}} {
		if len(part.uids) == 0 {
			continue
		}
		opts := &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{part.section}}
		if err := s.collectBodies(c.Fetch(imap.UIDSetNum(part.uids...), opts), bodies); err != nil {
			if c.State() == imap.ConnStateLogout || isNetErr(err) {
				return nil, time.Time{}, fmt.Errorf("fetch: %w", err)
			}
			// The server refused the batch: fetch one by one below.
		}
		for _, u := range part.uids {
			if _, ok := bodies[u]; ok {
				continue
			}
			if err := s.collectBodies(c.Fetch(imap.UIDSetNum(u), opts), bodies); err != nil && isNetErr(err) {
				return nil, time.Time{}, fmt.Errorf("fetch: %w", err)
			}
		}
	}
	var items []ingest.Item
	var newest time.Time
	for _, u := range uids {
		m := metas[u]
		if m.date.After(newest) {
			newest = m.date
		}
		body, ok := bodies[u]
		it := ingest.Item{Channel: demand.ChannelEmail, Source: s.cfg.Name + "/" + mailbox, ContentType: ingest.ContentTypeEmail,
			Body: body, ReceivedAt: m.date, Origin: s.cfg.Origin}
		switch {
		case !ok || body == nil:
			it.Key = fmt.Sprintf("imap-unfetchable:%s/%s/%d/%d", s.cfg.Name, mailbox, uidValidity, u)
			it.Ref = fmt.Sprintf("%s/%s UID %d", s.cfg.Name, mailbox, u)
			it.Problem = i18n.T("服务器没有返回这封邮件；已按 UID 记录——请在邮箱中查看", "the server did not deliver this message; it is recorded by its UID — check it in the mailbox").In(s.cfg.Locale)
		case m.size > s.cfg.MaxMessageSize:
			it.Key, it.SHA256 = messageKey(body, fmt.Sprintf("%s/%s/%d/%d", s.cfg.Name, mailbox, uidValidity, u))
			it.Ref = messageID(body)
			it.Problem = i18n.Tf("邮件大小 %.1f MB，超过 max_message_size（%.1f MB）；已按邮件头记录——要导入这类邮件请调大 max_message_size",
				"the message is %.1f MB, over max_message_size (%.1f MB); it is recorded from its headers — raise max_message_size to import such mail",
				float64(m.size)/(1<<20), float64(s.cfg.MaxMessageSize)/(1<<20)).In(s.cfg.Locale)
		default:
			it.Key, it.SHA256 = messageKey(body, "")
			it.Ref = messageID(body)
			if from := sender(body); !s.allow(from, m.date) {
				it.Ignore = i18n.Tf("%[2]s 一小时内发来超过 %[1]d 封邮件：可能是邮件循环？已保留，不作为需求",
					"more than %d messages in an hour from %s: a mail loop? kept, not a demand", s.cfg.SenderLimit, from).In(s.cfg.Locale)
			}
		}
		if it.ReceivedAt.IsZero() {
			it.ReceivedAt = time.Now()
		}
		items = append(items, it)
	}
	return items, newest, nil
}

// collectBodies reads the messages of a FETCH of one body section into
// bodies by UID, as FetchCommand.Collect would, and closes the command. A
// literal is read into a buffer of the size the server announced (up to
// twice max_message_size): Collect's io.ReadAll grew one for each message
// by doubling, copying and zeroing a 150 KB message's bytes several times.
func (s *Source) collectBodies(cmd *imapclient.FetchCommand, bodies map[imap.UID][]byte) error {
	defer cmd.Close()
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		var uid imap.UID
		var body []byte
		found := false
		for item := msg.Next(); item != nil; item = msg.Next() {
			switch item := item.(type) {
			case imapclient.FetchItemDataUID:
				uid = item.UID
			case imapclient.FetchItemDataBodySection:
				found = true
				if item.Literal == nil {
					continue
				}
				var err error
				if body, err = readLiteral(item.Literal, 2*s.cfg.MaxMessageSize); err != nil {
					return err
				}
			}
		}
		if uid != 0 && found {
			bodies[uid] = body
		}
	}
	return cmd.Close()
}

// readLiteral reads lit whole, into a buffer of its announced size when
// that is at most limit.
func readLiteral(lit imap.LiteralReader, limit int64) ([]byte, error) {
	n := lit.Size()
	if n < 0 || n > limit {
		return io.ReadAll(lit)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(lit, b); err != nil {
		return nil, err
	}
	return b, nil
}

// allow counts a message from sender at t against the hourly limit.
func (s *Source) allow(sender string, t time.Time) bool {
	if s.cfg.SenderLimit < 0 || sender == "" {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	recent := s.sent[sender][:0]
	for _, at := range s.sent[sender] {
		if t.Sub(at) < time.Hour && at.Sub(t) < time.Hour {
			recent = append(recent, at)
		}
	}
	recent = append(recent, t)
	s.sent[sender] = recent
	return len(recent) <= s.cfg.SenderLimit
}

// sender is the address in the From header, lower-cased.
func sender(body []byte) string {
	msg, err := mail.ReadMessage(bytes.NewReader(body))
	if err != nil {
		return ""
	}
	a, err := mail.ParseAddress(msg.Header.Get("From"))
	if err != nil {
		return strings.ToLower(strings.TrimSpace(msg.Header.Get("From")))
	}
	return strings.ToLower(a.Address)
}

func isNetErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "use of closed") ||
		strings.Contains(err.Error(), "EOF") || strings.Contains(err.Error(), "connection reset")
}

// messageKey identifies a message by its Message-ID and content hash: the
// same message seen again — after a UIDVALIDITY change, in two mailboxes —
// is one item. extra distinguishes header-only items.
// The body's digest (hex) is returned too.
func messageKey(body []byte, extra string) (key, digest string) {
	sum := sha256.Sum256(body)
	digest = hex.EncodeToString(sum[:])
	key = "sha256:" + digest
	if id := messageID(body); id != "" {
		key = "mid:" + id + "|" + key
	}
	if extra != "" {
		key += "|headers:" + extra
	}
	return key, digest
}

// messageID finds the Message-ID in the header section.
func messageID(body []byte) string {
	end := bytes.Index(body, []byte("\r\n\r\n"))
	if end < 0 {
		end = bytes.Index(body, []byte("\n\n"))
	}
	if end < 0 {
		end = len(body)
	}
	for _, line := range bytes.Split(body[:end], []byte("\n")) {
		if len(line) > 11 && bytes.EqualFold(line[:11], []byte("message-id:")) {
			return strings.Trim(strings.TrimSpace(string(line[11:])), "<>")
		}
	}
	return ""
}
