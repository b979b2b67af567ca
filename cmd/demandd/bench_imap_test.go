package main

import (
	"bytes"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-message/mail"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/demandd/demandd/internal/testdb"
	"github.com/demandd/demandd/internal/testimap"
)

// BenchmarkIMAP ingests 20,000 mixed messages from a local Dovecot into
// PostgreSQL with `demandd serve`, beside mbsync pulling the same mailbox
// into a Maildir and a bare go-imap fetch + go-message parse; then measures
// IDLE latency from APPEND to committed record.
//
//	make bench-imap   (go test -run '^$' -bench '^BenchmarkIMAP$' -benchtime 1x -count 3 ./cmd/demandd/)
//
// followed by the ratios of internal/benchgate (imap/mbsync,
// imap/bare-fetch-parse), medians of the runs.
func BenchmarkIMAP(b *testing.B) {
	n := 20000
	if v, err := strconv.Atoi(os.Getenv("DEMANDD_BENCH_MESSAGES")); err == nil && v > 0 {
		n = v
	}
	addr, maildir := testimap.StartDovecot(b)
	// Log in once so that Dovecot creates the Maildir, then deliver.
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Login("test", "secret").Wait(); err != nil {
		b.Fatal(err)
	}
	c.Select("INBOX", nil).Wait()
	c.Close()
	r := rand.New(rand.NewSource(1))
	var total int64
	for i := 1; i <= n; i++ {
		m := benchMessage(r, i)
		total += int64(len(m))
		testimap.Deliver(b, maildir, m)
	}
	testimap.ChownNobody(b, maildir)
	b.Logf("%d messages, %.0f MB in the mailbox", n, float64(total)/(1<<20))
	// Let Dovecot index the mailbox before anything is timed.
	c, _ = imapclient.DialInsecure(addr, nil)
	c.Login("test", "secret").Wait()
	if sel, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil || int(sel.NumMessages) != n {
		b.Fatalf("select: %v (%v messages)", err, sel)
	}
	c.Close()

	b.Run("mbsync", func(b *testing.B) {
		if _, err := exec.LookPath("mbsync"); err != nil {
			b.Skip("mbsync not installed (Debian isync)")
		}
		dir := b.TempDir()
		host, port, _ := strings.Cut(addr, ":")
		conf := filepath.Join(dir, "mbsyncrc")
		// FSync yes (mbsync's default, spelt out): each message durable in
		// the Maildir, the promise demandd makes by committing.
		os.WriteFile(conf, []byte(fmt.Sprintf("FSync yes\n\nIMAPAccount dc\nHost %s\nPort %s\nUser test\nPass secret\nSSLType None\nAuthMechs LOGIN\n\n"+
			"IMAPStore remote\nAccount dc\n\nMaildirStore local\nPath %s/\nInbox %s/INBOX\n\nChannel c\nFar :remote:\nNear :local:\nPatterns INBOX\nCreate Near\nSync Pull\nSyncState *\n",
			host, port, dir, dir)), 0o600)
		took, rss := measure(b, exec.Command("mbsync", "-q", "-c", conf, "-a"))
		reportMsgs(b, n, took, rss)
	})

	b.Run("bare-fetch-parse", func(b *testing.B) {
		start := time.Now()
		c, _ := imapclient.DialInsecure(addr, nil)
		defer c.Close()
		c.Login("test", "secret").Wait()
		c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait()
		parsed := 0
		section := &imap.FetchItemBodySection{Peek: true}
		for lo := 1; lo <= n; lo += 500 {
			hi := min(lo+499, n)
			var set imap.SeqSet
			set.AddRange(uint32(lo), uint32(hi))
			cmd := c.Fetch(set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}})
			for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
				buf, err := msg.Collect()
				if err != nil {
					b.Fatal(err)
				}
				mr, err := mail.CreateReader(bytes.NewReader(buf.FindBodySection(section)))
				if err == nil {
					for {
						p, err := mr.NextPart()
						if err != nil {
							break
						}
						io.Copy(io.Discard, p.Body)
					}
				}
				parsed++
			}
			if err := cmd.Close(); err != nil {
				b.Fatal(err)
			}
		}
		if parsed != n {
			b.Fatalf("parsed %d of %d", parsed, n)
		}
		reportMsgs(b, n, time.Since(start), 0)
	})

	b.Run("demandd", func(b *testing.B) {
		bin := buildBinary(b)
		url := testdb.Postgres(b)
		dir := b.TempDir()
		host, port, _ := strings.Cut(addr, ":")
		cfg := filepath.Join(dir, "demandd.toml")
		// DEMANDD_BENCH_LOG=debug logs each batch's fetch, prepare and
		// commit times (in the serve log named below).
		level := os.Getenv("DEMANDD_BENCH_LOG")
		if level == "" {
			level = "warn"
		}
		os.WriteFile(cfg, []byte(fmt.Sprintf("data_dir = %q\n[log]\nlevel = %q\n[database]\nurl = %q\n[[email]]\nname = \"bench\"\nhost = %q\nport = %s\ntls = \"none\"\nusername = \"test\"\npassword = \"secret\"\nsender_limit = -1\n[admin]\nlisten = \"off\"\n",
			dir, level, url, host, port)), 0o600)
		db, err := sql.Open("postgres", url)
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		count := func() int {
			var k int
			if err := db.QueryRow(`SELECT COUNT(*) FROM raw_items`).Scan(&k); err != nil {
				return -1
			}
			return k
		}
		// With -count, this runs again on the same mailbox, which holds the
		// probes of the runs before: sync all of it, tell this run's apart.
		total, lastUID := n, uint32(n)
		if c, err := imapclient.DialInsecure(addr, nil); err == nil {
			c.Login("test", "secret").Wait()
			if sel, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err == nil {
				total, lastUID = int(sel.NumMessages), uint32(sel.UIDNext)-1
			}
			c.Close()
		}
		// The sync is done when the mailbox's checkpoint reaches its last
		// UID: one row read by key every 20 ms. (A COUNT(*) over raw_items
		// that often cost PostgreSQL 1.4 s of CPU in a 10 s run, taken
		// from demandd on a 2-core machine.) The count is checked after.
		synced := func() bool {
			var v string
			if err := db.QueryRow(`SELECT value FROM checkpoints WHERE source_key = 'imap/bench/INBOX'`).Scan(&v); err != nil {
				return false
			}
			var cp struct {
				LastUID uint32 `json:"last_uid"`
			}
			return json.Unmarshal([]byte(v), &cp) == nil && cp.LastUID >= lastUID
		}
		run := time.Now().UnixNano()
		walStart := walLSN(b, db)
		rssFile := filepath.Join(dir, "rss")
		cmd := exec.Command("/usr/bin/time", "-f", "%M", "-o", rssFile, bin, "serve", "--config", cfg)
		logs, err := os.Create(filepath.Join(os.TempDir(), "demandd-bench-imap-serve.log"))
		if err != nil {
			b.Fatal(err)
		}
		defer logs.Close()
		cmd.Stderr = logs
		start := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		for !synced() {
			select {
			case err := <-exited:
				b.Fatalf("demandd serve exited: %v (log: %s)", err, logs.Name())
			default:
			}
			if time.Since(start) > time.Duration(n/100+60)*time.Second {
				b.Fatalf("gave up at %d messages (log: %s)", count(), logs.Name())
			}
			time.Sleep(20 * time.Millisecond)
		}
		took := time.Since(start)
		if got := count(); got != total {
			b.Fatalf("%d raw items for %d messages (log: %s)", got, total, logs.Name())
		}
		wal := walSince(b, db, walStart)
		n := total

		// IDLE latency: APPEND one message at a time, then read when each
		// was committed.
		const probes = 100
		sent := map[string]time.Time{}
		c, _ := imapclient.DialInsecure(addr, nil)
		c.Login("test", "secret").Wait()
		for i := 0; i < probes; i++ {
			id := fmt.Sprintf("probe-%d-%d@bench", run, i)
			raw := fmt.Sprintf("From: probe%d@example.com\r\nSubject: probe %d\r\nMessage-ID: <%s>\r\n\r\n请处理 %d\r\n", i, i, id, i)
			sent[id] = time.Now()
			ac := c.Append("INBOX", int64(len(raw)), nil)
			ac.Write([]byte(raw))
			ac.Close()
			ac.Wait()
			time.Sleep(50 * time.Millisecond)
		}
		c.Close()
		deadline := time.Now().Add(time.Minute)
		for count() < total+probes && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		var lat []time.Duration
		rows, err := db.Query(`SELECT ref, created_at FROM raw_items WHERE ref LIKE $1`, fmt.Sprintf("probe-%d-%%", run))
		if err != nil {
			b.Fatal(err)
		}
		for rows.Next() {
			var ref string
			var at time.Time
			rows.Scan(&ref, &at)
			lat = append(lat, at.Sub(sent[ref]))
		}
		rows.Close()
		stopChildren(cmd.Process.Pid) // demandd, under GNU time
		<-exited
		if len(lat) != probes {
			b.Fatalf("%d of %d probes committed", len(lat), probes)
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		kb, _ := os.ReadFile(rssFile)
		rss, _ := strconv.ParseFloat(strings.TrimSpace(string(kb)), 64)
		reportMsgs(b, total, took, rss/1024)
		b.ReportMetric(float64(lat[len(lat)*99/100-1].Milliseconds()), "idle-p99-ms")
		b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "idle-p50-ms")
		b.ReportMetric(float64(wal)/float64(n)/1024, "WAL-KB/msg")
	})
}

func reportMsgs(b *testing.B, n int, took time.Duration, rssMB float64) {
	b.ReportMetric(float64(n)/took.Seconds(), "msgs/s")
	if rssMB > 0 {
		b.ReportMetric(rssMB, "peak-RSS-MB")
	}
	b.ReportMetric(0, "ns/op")
}

var benchTexts = []string{
	"您好，我们的收银系统从今天上午开始很慢，结账要等很久，麻烦尽快安排技术人员看一下。",
	"希望报表可以按部门导出Excel，并且支持自定义字段，现在每个月都要手工整理两天。",
	"上周提交的发票申请到现在还没有处理，打客服电话也没人接，非常不满意。",
	"请问你们的接口是否支持和金蝶ERP对接？需要提供哪些资料？",
	"需要安排一次新员工的系统使用培训，大约二十人，最好在下周。",
}

// benchMessage is the i-th message of the mix: 70% Chinese UTF-8, 15% GBK,
// 10% with a 20–200 KB attachment, 5% HTML-only.
func benchMessage(r *rand.Rand, i int) []byte {
	text := strings.Repeat(benchTexts[i%len(benchTexts)]+"\r\n", 3+i%5)
	head := fmt.Sprintf("From: 客户%d <c%d@example.com>\r\nTo: support@example.com\r\nSubject: =?UTF-8?B?%s?=\r\nMessage-ID: <bench-%d@example.com>\r\nDate: Tue, 24 Nov 2026 10:%02d:00 +0800\r\nMIME-Version: 1.0\r\n",
		i, i, base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("需求 %d", i))), i, i%60)
	switch k := i % 20; {
	case k < 14:
		return []byte(head + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" + wrap64([]byte(text)))
	case k < 17:
		gbk, _ := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(text))
		return []byte(head + "Content-Type: text/plain; charset=gbk\r\nContent-Transfer-Encoding: base64\r\n\r\n" + wrap64(gbk))
	case k < 19:
		att := make([]byte, 20<<10+r.Intn(180<<10))
		r.Read(att)
		return []byte(head + "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + text +
			"\r\n--b1\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"report.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
			wrap64(att) + "--b1--\r\n")
	default:
		return []byte(head + "Content-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>" + strings.ReplaceAll(text, "\r\n", "</p><p>") + "</p></body></html>\r\n")
	}
}

func wrap64(b []byte) string {
	s := base64.StdEncoding.EncodeToString(b)
	var out strings.Builder
	for len(s) > 76 {
		out.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	out.WriteString(s + "\r\n")
	return out.String()
}

// stopChildren sends SIGTERM to the children of pid (demandd under GNU
// time, which must live on to write the peak RSS).
func stopChildren(pid int) {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	for _, f := range strings.Fields(string(b)) {
		if child, err := strconv.Atoi(f); err == nil {
			syscall.Kill(child, syscall.SIGTERM)
		}
	}
}
