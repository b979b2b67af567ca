package imapsrc_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/demandd/demandd/ingest"
	"github.com/demandd/demandd/ingest/imapsrc"
	"github.com/demandd/demandd/internal/i18n"
	"github.com/demandd/demandd/internal/testdb"
	"github.com/demandd/demandd/internal/testenv"
	"github.com/demandd/demandd/store"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// server is go-imap's in-memory IMAP server on 127.0.0.1, behind a proxy
// whose connections a test can cut.
type server struct {
	addr  string // the proxy
	real  string
	user  *imapmemserver.User
	mu    sync.Mutex
	conns []net.Conn
}

func startServer(t *testing.T) *server { return startServerWith(t, nil) }

// startServerWith is startServer whose sessions are the user's own
// session, as session makes it, when session is set.
func startServerWith(t *testing.T, session func(*imapmemserver.User) imapserver.Session) *server {
	t.Helper()
	mem := imapmemserver.New()
	user := imapmemserver.NewUser("support", "secret")
	if err := user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(user)
	srv := imapserver.New(&imapserver.Options{
		InsecureAuth: true,
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			if session != nil {
				return session(user), nil, nil
			}
			return mem.NewSession(), nil, nil
		},
		Logger: quietLogger{},
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	s := &server{real: ln.Addr().String(), user: user}
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pl.Close() })
	s.addr = pl.Addr().String()
	go func() {
		for {
			in, err := pl.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", s.real)
			if err != nil {
				in.Close()
				continue
			}
			s.mu.Lock()
			s.conns = append(s.conns, in, out)
			s.mu.Unlock()
			go func() { io.Copy(out, in); out.Close() }()
			go func() { io.Copy(in, out); in.Close() }()
		}
	}()
	return s
}

type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}

// cut drops every connection through the proxy.
func (s *server) cut() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
	s.conns = nil
}

func (s *server) client(t *testing.T) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(s.real, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login("support", "secret").Wait(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (s *server) appendMsg(t *testing.T, mailbox, raw string) {
	t.Helper()
	c := s.client(t)
	cmd := c.Append(mailbox, int64(len(raw)), nil)
	if _, err := cmd.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
}

func message(n int, subject, body string) string {
	return fmt.Sprintf("From: Customer %d <c%d@huaxin.com>\r\nTo: support@example.com\r\nSubject: %s\r\nMessage-ID: <m%d-%s@huaxin.com>\r\nDate: Tue, 24 Nov 2026 10:%02d:00 +0800\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n",
		n, n, subject, n, strings.ReplaceAll(subject, " ", ""), n%60, body)
}

// run starts an account source over env until the test ends.
func run(t *testing.T, env *testenv.Env, cfg imapsrc.Config) *imapsrc.Source {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "support"
	}
	cfg.TLS = "none"
	if cfg.Username == "" {
		cfg.Username = "support"
	}
	if cfg.Password == "" {
		cfg.Password = "secret"
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 200 * time.Millisecond
	}
	src, err := imapsrc.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	env.Run(t, src)
	return src
}

func waitDemands(t *testing.T, env *testenv.Env, n int) {
	t.Helper()
	testenv.Eventually(t, 20*time.Second, func() bool { return env.Counts(t).Demands == n },
		func() string { return fmt.Sprintf("counts %+v, want %d demands", env.Counts(t), n) })
}

func TestFirstAndIncrementalSync(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(b.Name, func(t *testing.T) {
			srv := startServer(t)
			for i := 1; i <= 3; i++ {
				srv.appendMsg(t, "INBOX", message(i, fmt.Sprintf("需求 %d", i), "系统导出很慢，请尽快处理。\r\n\r\n谢谢！\r\n张伟\r\n华信科技有限公司"))
			}
			env := testenv.New(t, b.URL(t), nil)
			run(t, env, imapsrc.Config{Addr: srv.addr})
			waitDemands(t, env, 3)
			srv.appendMsg(t, "INBOX", message(4, "需求 4", "希望增加批量打印功能"))
			srv.appendMsg(t, "INBOX", message(5, "需求 5", "请安排培训"))
			waitDemands(t, env, 5)
			r := env.Records(t)[0]
			if r.Customer.Email != "c1@huaxin.com" || r.Customer.Name != "华信科技有限公司" || r.Description.Text != "系统导出很慢，请尽快处理。" ||
				r.Source.ExternalRef != "m1-需求1@huaxin.com" || r.Source.Name != "support/INBOX" || r.Urgency != "high" {
				t.Errorf("record %+v %+v %+v %s", r.Customer, r.Description, r.Source, r.Urgency)
			}
			// The mailbox was only read: no \Seen flags.
			c := srv.client(t)
			if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
				t.Fatal(err)
			}
			msgs, _ := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Flags: true}).Collect()
			if len(msgs) != 1 || len(msgs[0].Flags) != 0 {
				t.Errorf("read-only sync changed flags: %+v", msgs)
			}
		})
	}
}

func TestRestartAddsNothing(t *testing.T) {
	srv := startServer(t)
	for i := 1; i <= 4; i++ {
		srv.appendMsg(t, "INBOX", message(i, fmt.Sprintf("s%d", i), "内容"))
	}
	env := testenv.New(t, testenv.Backends[0].URL(t), nil)
	ctx, cancel := context.WithCancel(context.Background())
	src, _ := imapsrc.New(imapsrc.Config{Name: "support", Addr: srv.addr, TLS: "none", Username: "support", Password: "secret", PollInterval: 100 * time.Millisecond})
	done := make(chan struct{})
	go func() { defer close(done); env.Engine.Run(ctx, []ingest.Source{src}) }()
	waitDemands(t, env, 4)
	cancel()
	<-done
	srv.appendMsg(t, "INBOX", message(5, "s5", "内容"))
	run(t, env, imapsrc.Config{Addr: srv.addr})
	waitDemands(t, env, 5)
	time.Sleep(500 * time.Millisecond)
	if c := env.Counts(t); c.Raw != 5 {
		t.Errorf("counts %+v after a restart, want 5 raw items", c)
	}
}

func TestIDLEPush(t *testing.T) {
	srv := startServer(t)
	env := testenv.New(t, testenv.Backends[0].URL(t), nil)
	src := run(t, env, imapsrc.Config{Addr: srv.addr, IDLE: true, PollInterval: time.Minute})
	testenv.Eventually(t, 10*time.Second, func() bool { return src.States()[0].Idle }, func() string { return fmt.Sprintf("%+v", src.States()) })
	start := time.Now()
	srv.appendMsg(t, "INBOX", message(1, "push", "宕机了"))
	waitDemands(t, env, 1)
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("took %s: the push was not used (the poll interval is a minute)", took)
	}
}

func TestUIDValidityChange(t *testing.T) {
	srv := startServer(t)
	srv.user.Create("Support", nil)
	msgs := []string{message(1, "a", "一"), message(2, "b", "二")}
	for _, m := range msgs {
		srv.appendMsg(t, "Support", m)
	}
	env := testenv.New(t, testenv.Backends[0].URL(t), nil)
	run(t, env, imapsrc.Config{Addr: srv.addr, Mailboxes: []string{"Support"}})
	waitDemands(t, env, 2)
	// The server rebuilds the mailbox: new UIDVALIDITY, the same messages
	// and one new one.
	srv.cut()
	if err := srv.user.Delete("Support"); err != nil {
		t.Fatal(err)
	}
	srv.user.Create("Support", nil)
	for _, m := range append(msgs, message(3, "c", "三")) {
		srv.appendMsg(t, "Support", m)
	}
	waitDemands(t, env, 3)
	time.Sleep(500 * time.Millisecond)
	if c := env.Counts(t); c.Raw != 3 || c.Demands != 3 {
		t.Errorf("counts %+v, want 3: re-read messages are recognised", c)
	}
}

func TestConnectionDroppedMidSync(t *testing.T) {
	srv := startServer(t)
	const n = 150
	for i := 1; i <= n; i++ {
		srv.appendMsg(t, "INBOX", message(i, fmt.Sprintf("m%d", i), "内容"))
	}
	env := testenv.New(t, testenv.Backends[0].URL(t), nil)
	run(t, env, imapsrc.Config{Addr: srv.addr, BatchSize: 5})
	testenv.Eventually(t, 20*time.Second, func() bool { return env.Counts(t).Raw >= 5 }, func() string { return "no first batch" })
	srv.cut()
	waitDemands(t, env, n)
	time.Sleep(300 * time.Millisecond)
	if c := env.Counts(t); c.Raw != n {
		t.Errorf("counts %+v, want every message exactly once", c)
	}
}

func TestWrongPassword(t *testing.T) {
	srv := startServer(t)
	srv.appendMsg(t, "INBOX", message(1, "x", "y"))
	env := testenv.New(t, testenv.Backends[0].URL(t), nil)
	src := run(t, env, imapsrc.Config{Addr: srv.addr, Password: "wrong"})
	testenv.Eventually(t, 10*time.Second, func() bool { return strings.Contains(src.States()[0].LastError, "log in") },
		func() string { return fmt.Sprintf("%+v", src.States()) })
	if c := env.Counts(t); c.Raw != 0 || src.States()[0].Connected {
		t.Errorf("counts %+v, state %+v", c, src.States()[0])
	}
}

func TestPoisonMessageAndNoise(t *testing.T) {
	srv := startServer(t)
	srv.appendMsg(t, "INBOX", message(1, "good one", "请增加导出功能"))
	srv.appendMsg(t, "INBOX", "// Not an RFC 5322 message\r\n\r\n")
	srv.appendMsg(t, "INBOX", "From: a@b.cn\r\nSubject: 自动回复: 休假中\r\nAuto-Submitted: auto-replied\r\nMessage-ID: <ar@b.cn>\r\n\r\n我正在休假")
	srv.appendMsg(t, "INBOX", message(4, "big one", strings.Repeat("附件内容 ", 4000)))
	srv.appendMsg(t, "INBOX", message(5, "good two", "请安排培训"))
	env := testenv.New(t, testenv.Backends[0].URL(t), nil)
	run(t, env, imapsrc.Config{Addr: srv.addr, MaxMessageSize: 20000})
	testenv.Eventually(t, 20*time.Second, func() bool { return env.Counts(t).Raw == 5 }, func() string { return fmt.Sprintf("%+v", env.Counts(t)) })
	c := env.Counts(t)
	if c.Demands != 2 || c.Quarantined != 2 || c.Ignored != 1 {
		t.Errorf("counts %+v, want 2 demands, 2 quarantined (broken, too big), 1 ignored", c)
	}
	q, _ := env.Store.RawItems(context.Background(), store.RawQuarantined, 0)
	reasons := ""
	for _, it := range q {
		reasons += it.Reason + "\n"
	}
	if !strings.Contains(reasons, "max_message_size") {
		t.Errorf("reasons %q", reasons)
	}
}

// refusingSession is a mailbox whose server will not deliver one
// message's body: a FETCH of its body, alone or in a batch, fails.
type refusingSession struct {
	*imapmemserver.UserSession
	refuse imap.UID
}

func (s *refusingSession) Login(username, password string) error {
	if username != "support" || password != "secret" {
		return imapserver.ErrAuthFailed
	}
	return nil
}

func (s *refusingSession) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error {
	if uids, ok := numSet.(imap.UIDSet); ok && uids.Contains(s.refuse) && len(options.BodySection) > 0 {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Text: "cannot read message"}
	}
	return s.UserSession.Fetch(w, numSet, options)
}

// TestUndeliverableMessage: a message the server refuses to deliver is
// recorded by its UID as a problem, and the messages fetched in the same
// batch arrive, one by one, whole.
func TestUndeliverableMessage(t *testing.T) {
	srv := startServerWith(t, func(u *imapmemserver.User) imapserver.Session {
		return &refusingSession{UserSession: imapmemserver.NewUserSession(u), refuse: 2}
	})
	for i := 1; i <= 3; i++ {
		srv.appendMsg(t, "INBOX", message(i, fmt.Sprintf("需求 %d", i), fmt.Sprintf("请增加第 %d 个报表", i)))
	}
	env := testenv.New(t, testenv.Backends[0].URL(t), nil)
	run(t, env, imapsrc.Config{Addr: srv.addr, Locale: i18n.EN})
	testenv.Eventually(t, 20*time.Second, func() bool { return env.Counts(t).Raw == 3 }, func() string { return fmt.Sprintf("%+v", env.Counts(t)) })
	if c := env.Counts(t); c.Demands != 2 || c.Quarantined != 1 {
		t.Fatalf("counts %+v, want 2 demands and the refused message quarantined", c)
	}
	q, _ := env.Store.RawItems(context.Background(), store.RawQuarantined, 0)
	if len(q) != 1 || !strings.Contains(q[0].Reason, "did not deliver") || !strings.Contains(q[0].Ref, "UID 2") {
		t.Fatalf("quarantined %+v, want UID 2, not delivered", q)
	}
	for _, r := range env.Records(t) {
		if !strings.Contains(r.Description.Text, "报表") {
			t.Errorf("record %q without its body", r.Description.Title)
		}
	}
}

func TestAfterSeenAndMove(t *testing.T) {
	for _, after := range []string{"seen", "move:Done"} {
		t.Run(after, func(t *testing.T) {
			srv := startServer(t)
			srv.user.Create("Done", nil)
			// Five messages in batches of two: After runs between batches
			// that are fetched one at a time (no FETCH beside a MOVE).
			const n = 5
			for i := 1; i <= n; i++ {
				srv.appendMsg(t, "INBOX", message(i, fmt.Sprintf("m%d", i), fmt.Sprintf("请安排第%d次培训", i)))
			}
			env := testenv.New(t, testenv.Backends[0].URL(t), nil)
			run(t, env, imapsrc.Config{Addr: srv.addr, After: after, BatchSize: 2})
			waitDemands(t, env, n)
			c := srv.client(t)
			check := func() string {
				sel, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait()
				if err != nil {
					return err.Error()
				}
				if after == "seen" {
					msgs, _ := c.Fetch(imap.SeqSetNum(1, 2, 3, 4, 5), &imap.FetchOptions{Flags: true}).Collect()
					if len(msgs) != n {
						return fmt.Sprintf("%d messages in INBOX", len(msgs))
					}
					for _, m := range msgs {
						if len(m.Flags) == 0 || m.Flags[0] != imap.FlagSeen {
							return fmt.Sprintf("flags %v", m.Flags)
						}
					}
					return ""
				}
				done, _ := c.Status("Done", &imap.StatusOptions{NumMessages: true}).Wait()
				if sel.NumMessages != 0 || done == nil || *done.NumMessages != n {
					return fmt.Sprintf("INBOX has %d", sel.NumMessages)
				}
				return ""
			}
			testenv.Eventually(t, 10*time.Second, func() bool { return check() == "" }, check)
		})
	}
}

func TestRepliesBecomeFollowUps(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(b.Name, func(t *testing.T) {
			srv := startServer(t)
			orig := message(1, "Invoice", "发票抬头开错了，麻烦重开")
			srv.appendMsg(t, "INBOX", orig)
			// A reply in the same batch as its original.
			srv.appendMsg(t, "INBOX", "From: c1@huaxin.com\r\nSubject: Re: Invoice\r\nMessage-ID: <r1@huaxin.com>\r\nIn-Reply-To: <m1-Invoice@huaxin.com>\r\n\r\n补充：税号是 123\r\n")
			env := testenv.New(t, b.URL(t), nil)
			run(t, env, imapsrc.Config{Addr: srv.addr})
			testenv.Eventually(t, 20*time.Second, func() bool { return env.Counts(t).Raw == 2 }, func() string { return fmt.Sprintf("%+v", env.Counts(t)) })
			code := env.Records(t)[0].Code
			// A reply to the reply (References only), and a message naming the code.
			srv.appendMsg(t, "INBOX", "From: c1@huaxin.com\r\nSubject: Re: Re: Invoice\r\nMessage-ID: <r2@huaxin.com>\r\nReferences: <m1-Invoice@huaxin.com> <r1@huaxin.com>\r\n\r\n还有问题吗？\r\n")
			srv.appendMsg(t, "INBOX", "From: other@huaxin.com\r\nSubject: 关于 ["+code+"] 的进展\r\nMessage-ID: <x1@huaxin.com>\r\n\r\n请问处理到哪一步了\r\n")
			srv.appendMsg(t, "INBOX", message(9, "New topic", "希望增加导出功能"))
			testenv.Eventually(t, 20*time.Second, func() bool { return env.Counts(t).Raw == 5 }, func() string { return fmt.Sprintf("%+v", env.Counts(t)) })
			if c := env.Counts(t); c.Demands != 2 {
				t.Fatalf("counts %+v, want 2 demands (the original and the new topic)", c)
			}
			first := env.Records(t)[0]
			h, err := env.Store.History(context.Background(), first.ID)
			if err != nil {
				t.Fatal(err)
			}
			follow := 0
			for _, e := range h {
				if e.Kind == "follow_up" {
					follow++
				}
			}
			if follow != 3 || !first.LastActivityAt.After(first.CreatedAt.Add(-time.Hour)) {
				t.Errorf("%d follow-ups in the history, want 3: %+v", follow, h)
			}
		})
	}
}

func TestSenderRateLimit(t *testing.T) {
	srv := startServer(t)
	for i := 1; i <= 6; i++ {
		srv.appendMsg(t, "INBOX", fmt.Sprintf("From: loop@robot.example\r\nSubject: ticket %d\r\nMessage-ID: <loop%d@robot.example>\r\nDate: Tue, 24 Nov 2026 10:00:%02d +0800\r\n\r\n请处理 %d\r\n", i, i, i, i))
	}
	env := testenv.New(t, testenv.Backends[0].URL(t), nil)
	run(t, env, imapsrc.Config{Addr: srv.addr, SenderLimit: 4})
	testenv.Eventually(t, 20*time.Second, func() bool { return env.Counts(t).Raw == 6 }, func() string { return fmt.Sprintf("%+v", env.Counts(t)) })
	if c := env.Counts(t); c.Demands != 4 || c.Ignored != 2 {
		t.Errorf("counts %+v, want 4 demands and 2 ignored over the limit", c)
	}
}

// TestSameMessageAcrossBatches: one message in a mailbox several times
// (copied, or delivered twice), in consecutive batches of one, is one
// demand. On PostgreSQL batch N+1 is staged while batch N commits, so its
// raw insert waits on the key batch N holds uncommitted and then finds it
// stored; the sync runs to its end — the last message, after the copies,
// stored too — and the checkpoint reaches the last UID.
func TestSameMessageAcrossBatches(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(b.Name, func(t *testing.T) {
			srv := startServer(t)
			same := message(1, "导出失败", "导出报表时系统报错，请尽快处理。")
			for range 4 {
				srv.appendMsg(t, "INBOX", same)
			}
			srv.appendMsg(t, "INBOX", message(2, "培训", "请安排一次培训"))
			srv.appendMsg(t, "INBOX", same)
			env := testenv.New(t, b.URL(t), nil)
			run(t, env, imapsrc.Config{Addr: srv.addr, BatchSize: 1})
			testenv.Eventually(t, 20*time.Second, func() bool {
				v, ok, _ := env.Store.Checkpoint(context.Background(), "imap/support/INBOX")
				return ok && strings.Contains(v, `"last_uid":6`)
			}, func() string { return fmt.Sprintf("counts %+v", env.Counts(t)) })
			if c := env.Counts(t); c.Demands != 2 || c.Raw != 2 {
				t.Errorf("counts %+v, want 2 demands from 2 raw items", c)
			}
		})
	}
}
