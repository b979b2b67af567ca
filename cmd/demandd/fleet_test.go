package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	_ "github.com/lib/pq"

	"github.com/demandd/demandd/internal/fixture"
	"github.com/demandd/demandd/internal/testenv"
	"github.com/demandd/demandd/internal/testimap"
)

// A fleet is several `demandd serve` processes on one PostgreSQL, sharing
// one Dovecot mailbox, one watched folder and a webhook source (each
// process listening on its own port), fed continuously by the test: the
// harness of the replica, failover and chaos tests.

// fleetTTL is [serve] lease_ttl: 3s, or DEMANDD_FLEET_LEASE_TTL (`make
// bench-failover LEASE_TTL=15s` measures the default).
var fleetTTL = func() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("DEMANDD_FLEET_LEASE_TTL")); err == nil && d >= time.Second {
		return d
	}
	return 3 * time.Second
}()

const (
	fleetPoll = 1 * time.Second // [[email]] poll_interval
	// fleetRows is the rows of each questionnaire file dropped.
	fleetRows = 5
)

type fleet struct {
	t     testing.TB
	bin   string
	dir   string
	url   string
	dove  *testimap.Dovecot
	inbox string
	db    *sql.DB

	mu    sync.Mutex
	cfgs  []string
	addrs []string
	procs []*serveProc

	mails, files, posts atomic.Int64 // items fed and acknowledged by their channel
	stopFeed            func()
	fed                 sync.WaitGroup
}

// newFleet writes the configuration of n processes; start starts them.
func newFleet(t testing.TB, url string, dove *testimap.Dovecot, n int) *fleet {
	t.Helper()
	f := &fleet{t: t, bin: buildBinary(t), dir: t.TempDir(), url: url, dove: dove}
	f.inbox = filepath.Join(f.dir, "inbox")
	os.MkdirAll(f.inbox, 0o755)
	os.MkdirAll(filepath.Join(f.dir, "stage"), 0o755)
	host, port, _ := strings.Cut(dove.Addr, ":")
	for i := range n {
		addr := freeAddr(t)
		cfg := filepath.Join(f.dir, fmt.Sprintf("replica-%d.toml", i))
		body := fmt.Sprintf(`data_dir = %q
[database]
url = %q
[serve]
lease_ttl = %q
drain_timeout = "30s"
[admin]
listen = "127.0.0.1:0"
[[folder]]
name = "inbox"
path = %q
stable_for = "100ms"
rescan = "1s"
[[email]]
name = "support"
host = %q
port = %s
tls = "none"
username = "test"
password = "secret"
idle = false
poll_interval = %q
sender_limit = -1
[webhook]
listen = %q
[[webhook.source]]
name = "crm"
preset = "generic"
secret = "crm-secret"
[webhook.source.mapping]
event = "/event"
ticket = "/ticket/id"
title = "/ticket/title"
text = "/ticket/body"
customer = "/ticket/company"
email = "/ticket/email"
`, filepath.Join(f.dir, fmt.Sprintf("data-%d", i)), url, fleetTTL.String(), f.inbox, host, port, fleetPoll.String(), addr)
		if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		f.cfgs = append(f.cfgs, cfg)
		f.addrs = append(f.addrs, addr)
		f.procs = append(f.procs, nil)
	}
	db, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f.db = db
	return f
}

// start starts process i (again) and waits until it serves.
//
// The webhook port was free when newFleet picked it, and released: another
// process on the machine may bind it first. serve then exits saying so, and
// the replica is started again on another port.
func (f *fleet) start(i int) {
	f.t.Helper()
	for attempt := 1; ; attempt++ {
		p := startServe(f.t, f.bin, f.cfgs[i], f.dir, fmt.Sprintf("replica-%d", i))
		f.mu.Lock()
		f.procs[i] = p
		f.mu.Unlock()
		taken := false
		testenv.Eventually(f.t, 60*time.Second, func() bool {
			log := p.logText()
			taken = !p.running() && strings.Contains(log, "address already in use")
			return taken || strings.Contains(log, "demandd serving")
		}, func() string { return fmt.Sprintf("%q not logged; %s", "demandd serving", p.tail()) })
		if !taken {
			return
		}
		if attempt == 5 {
			f.t.Fatalf("replica %d: no free webhook port after %d tries; %s", i, attempt, p.tail())
		}
		f.moveWebhook(i)
	}
}

// moveWebhook gives replica i's webhook listener another free port.
func (f *fleet) moveWebhook(i int) {
	f.t.Helper()
	b, err := os.ReadFile(f.cfgs[i])
	if err != nil {
		f.t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	addr := freeAddr(f.t)
	b = []byte(strings.Replace(string(b), fmt.Sprintf("listen = %q", f.addrs[i]), fmt.Sprintf("listen = %q", addr), 1))
	if err := os.WriteFile(f.cfgs[i], b, 0o644); err != nil {
		f.t.Fatal(err)
	}
	f.addrs[i] = addr
}

// addr is a webhook address of a replica picked at random.
func (f *fleet) addr() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addrs[rand.IntN(len(f.addrs))]
}

// proc is process i as last started.
func (f *fleet) proc(i int) *serveProc {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.procs[i]
}

// holder is the index of the running process that holds source's lease,
// -1 when none does.
func (f *fleet) holder(source string) int {
	var owner string
	err := f.db.QueryRow(`SELECT owner FROM leases WHERE source_key = $1 AND expires_at > now()`, "source/"+source).Scan(&owner)
	if err != nil {
		return -1
	}
	parts := strings.Split(owner, ":")
	if len(parts) < 3 {
		return -1
	}
	pid, _ := strconv.Atoi(parts[len(parts)-2])
	for i := range f.procs {
		if p := f.proc(i); p != nil && p.running() && p.cmd.Process.Pid == pid {
			return i
		}
	}
	return -1
}

// feed feeds mail, files and webhook deliveries until stopFeed is called.
func (f *fleet) feed() {
	ctx, cancel := context.WithCancel(context.Background())
	f.stopFeed = func() { cancel(); f.fed.Wait() }
	f.fed.Add(3)
	go f.feedLoop(ctx, 100*time.Millisecond, &f.mails, f.mailer())
	go f.feedLoop(ctx, 700*time.Millisecond, &f.files, f.dropFile)
	go f.feedLoop(ctx, 150*time.Millisecond, &f.posts, f.poster())
}

// feedLoop delivers item 1, 2, 3… every so often until ctx ends, counting
// in n those acknowledged. An item whose delivery failed (its server
// killed or restarting) is delivered again, as senders retry — even after
// ctx ended, so that no item is left landed but uncounted. Should the
// first try have landed, the channel has it twice and demandd must store
// it once.
func (f *fleet) feedLoop(ctx context.Context, every time.Duration, n *atomic.Int64, deliver func(int64) bool) {
	defer f.fed.Done()
	for i := n.Load() + 1; pause(ctx, every); i++ {
		for start := time.Now(); !deliver(i); {
			if time.Since(start) > time.Minute {
				f.t.Errorf("item %d could not be delivered for a minute", i)
				return
			}
			time.Sleep(100 * time.Millisecond) // a retry's pause, not a wait for a result
		}
		n.Store(i)
	}
}

func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// mailer APPENDs message i to the mailbox over one connection, dialled
// again after a failure.
func (f *fleet) mailer() func(int64) bool {
	var c *imapclient.Client
	return func(i int64) bool {
		if c == nil {
			var err error
			if c, err = imapclient.DialInsecure(f.dove.Addr, nil); err != nil {
				c = nil
				return false
			}
			if err := c.Login("test", "secret").Wait(); err != nil {
				c.Close()
				c = nil
				return false
			}
		}
		raw := fleetMail(i)
		cmd := c.Append("INBOX", int64(len(raw)), nil)
		cmd.Write([]byte(raw))
		cmd.Close()
		if _, err := cmd.Wait(); err != nil {
			c.Close()
			c = nil
			return false
		}
		return true
	}
}

func fleetMail(n int64) string {
	return fmt.Sprintf("From: 客户%d <c%d@client%d.example.com>\r\nSubject: 需求 %d：报表导出\r\nMessage-ID: <fleet-%d@example.com>\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\n\r\n第%d号需求：希望报表支持按月导出，并增加第%d个字段。\r\n", n, n, n%97, n, n, n, n)
}

// dropFile drops questionnaire export i, of fleetRows rows unlike any
// other file's, into the folder.
func (f *fleet) dropFile(i int64) bool {
	name := fmt.Sprintf("survey-%04d.csv", i)
	stage := filepath.Join(f.dir, "stage", name)
	row := func(r int) []string { return fixture.WJXRow(int(i)*1000 + r) }
	if err := fixture.WriteCSV(stage, fixture.WJXHeader, fleetRows, row, false, false); err != nil {
		f.t.Error(err)
		return false
	}
	if err := os.Rename(stage, filepath.Join(f.inbox, name)); err != nil {
		f.t.Error(err)
		return false
	}
	return true
}

// poster POSTs ticket i to a process picked at random.
func (f *fleet) poster() func(int64) bool {
	client := &http.Client{Timeout: 20 * time.Second}
	return func(i int64) bool {
		body := fmt.Sprintf(`{"event":"created","ticket":{"id":"T-%d","title":"工单 %d：接口超时","body":"第%d号工单：订单接口偶尔超时，请排查。","company":"客户%d","email":"ops%d@t%d.example.com"}}`,
			i, i, i, i%89, i, i%89)
		req, _ := http.NewRequest(http.MethodPost, "http://"+f.addr()+"/hooks/crm", bytes.NewReader([]byte(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer crm-secret")
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode/100 == 2
	}
}

// fed is what the feeders had acknowledged, per channel, as stored.
type fedCounts struct{ email, questionnaire, webhook int }

func (f *fleet) sent() fedCounts {
	return fedCounts{int(f.mails.Load()), int(f.files.Load()) * fleetRows, int(f.posts.Load())}
}

// stored counts raw items per channel.
func (f *fleet) stored() fedCounts {
	var c fedCounts
	rows, err := f.db.Query(`SELECT channel, COUNT(*) FROM raw_items GROUP BY channel`)
	if err != nil {
		return c
	}
	defer rows.Close()
	for rows.Next() {
		var ch string
		var n int
		rows.Scan(&ch, &n)
		switch ch {
		case "email":
			c.email = n
		case "questionnaire":
			c.questionnaire = n
		case "webhook":
			c.webhook = n
		}
	}
	return c
}

// lastCommit is when the latest raw item of channel was committed.
func (f *fleet) lastCommit(channel string) time.Time {
	var at sql.NullTime
	f.db.QueryRow(`SELECT MAX(created_at) FROM raw_items WHERE channel = $1`, channel).Scan(&at)
	return at.Time
}

// failover kills the holder of source's lease with SIGKILL and returns the
// time from the kill to the first item of channel committed by another
// process, and the index of the killed process.
func (f *fleet) failover(source, channel string) (time.Duration, int) {
	f.t.Helper()
	var h int
	testenv.Eventually(f.t, 30*time.Second, func() bool { h = f.holder(source); return h >= 0 },
		func() string { return "nobody holds " + source })
	killed := time.Now()
	f.proc(h).kill(syscall.SIGKILL)
	var took time.Duration
	testenv.Eventually(f.t, 60*time.Second, func() bool {
		next := f.holder(source)
		if next < 0 || next == h {
			return false
		}
		var first sql.NullTime
		f.db.QueryRow(`SELECT MIN(created_at) FROM raw_items WHERE channel = $1 AND created_at > $2`, channel, killed).Scan(&first)
		if !first.Valid {
			return false
		}
		took = first.Time.Sub(killed)
		return true
	}, func() string { return fmt.Sprintf("no other process took %s over and committed", source) })
	return took, h
}

// settle stops the feed and waits until everything fed is stored.
func (f *fleet) settle(wait time.Duration) fedCounts {
	f.t.Helper()
	f.stopFeed()
	want := f.sent()
	var got fedCounts
	testenv.Eventually(f.t, wait, func() bool { got = f.stored(); return got == want },
		func() string { return fmt.Sprintf("stored %+v of %+v; %s", got, want, f.tails()) })
	return want
}

// exactlyOnce checks that every item fed is stored once: one raw item per
// mail (by Message-ID), file row and ticket, and one demand per raw item.
// It returns the number of items stored more than once (0 when it passes).
func (f *fleet) exactlyOnce() (dupes int) {
	f.t.Helper()
	rows, err := f.db.Query(`SELECT channel, COUNT(*), COUNT(DISTINCT ref), COUNT(*) FILTER (WHERE status <> 'ok') FROM raw_items GROUP BY channel`)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var ch string
		var n, refs, notOK int
		rows.Scan(&ch, &n, &refs, &notOK)
		if n != refs || notOK != 0 {
			f.t.Errorf("%s: %d raw items, %d distinct references, %d not ok", ch, n, refs, notOK)
		}
		dupes += n - refs
	}
	var demands, raws, distinct int
	f.db.QueryRow(`SELECT (SELECT COUNT(*) FROM demands), (SELECT COUNT(*) FROM raw_items), (SELECT COUNT(DISTINCT raw_item_id) FROM demands)`).
		Scan(&demands, &raws, &distinct)
	if demands != raws || distinct != raws {
		f.t.Errorf("%d demands from %d distinct raw items, of %d raw items", demands, distinct, raws)
	}
	return dupes + demands - distinct
}

// stopAll stops every running process with SIGTERM; each must exit 0.
func (f *fleet) stopAll() {
	f.t.Helper()
	for i := range f.procs {
		p := f.proc(i)
		if p == nil || !p.running() {
			continue
		}
		p.kill(syscall.SIGTERM)
		if p.err != nil {
			f.t.Errorf("replica %d: SIGTERM: %v, want exit 0; %s", i, p.err, p.tail())
		}
	}
}

// tails is the end of every process's log.
func (f *fleet) tails() string {
	var b strings.Builder
	for i := range f.procs {
		if p := f.proc(i); p != nil {
			b.WriteString(p.tail())
			b.WriteString("\n")
		}
	}
	return b.String()
}

// median and maximum of durations.
func medianMax(ds []time.Duration) (time.Duration, time.Duration) {
	if len(ds) == 0 {
		return 0, 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return m, s[len(s)-1]
}
