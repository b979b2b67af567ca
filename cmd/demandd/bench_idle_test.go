package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/demandd/demandd/internal/fixture"
	"github.com/demandd/demandd/internal/testdb"
	"github.com/demandd/demandd/internal/testenv"
)

// Flags of BenchmarkIdleRSS (make bench-idle IDLE=10m).
var (
	idleFor  = flag.Duration("idle", time.Hour, "BenchmarkIdleRSS: how long serve runs idle")
	idlePoll = flag.Duration("idle.poll", 30*time.Second, "BenchmarkIdleRSS: the mailboxes' poll_interval")
	idleDB   = flag.String("idle.db", "sqlite", "BenchmarkIdleRSS: sqlite or postgres")
)

// vmRSS is a process's resident set now in kB (Linux), 0 if unknown.
func vmRSS(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb
		}
	}
	return 0
}

// BenchmarkIdleRSS runs `demandd serve` (the built binary) with three IMAP
// accounts polling an in-process server and two watched folders, each
// seeded once, then idle for -idle (default 1 h) while /metrics and
// /readyz are scraped every 15 s as Prometheus would. It samples the
// daemon's resident memory every 10 s and reports it each minute, the
// peak, and the slope over the second half (flat means no leak).
func BenchmarkIdleRSS(b *testing.B) {
	if b.N > 1 {
		b.Skip("run with -benchtime 1x")
	}
	const accounts, perBox, rows = 3, 20, 10
	mem := imapmemserver.New()
	for i := range accounts {
		u := imapmemserver.NewUser(fmt.Sprintf("box%d", i), "secret")
		u.Create("INBOX", nil)
		mem.AddUser(u)
	}
	srv := imapserver.New(&imapserver.Options{InsecureAuth: true, Caps: imap.CapSet{imap.CapIMAP4rev1: {}}, Logger: silent{},
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	for i := range accounts {
		c, err := imapclient.DialInsecure(ln.Addr().String(), nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Login(fmt.Sprintf("box%d", i), "secret").Wait(); err != nil {
			b.Fatal(err)
		}
		for j := range perBox {
			raw := fmt.Sprintf("From: c%d@example.com\r\nSubject: 需求 %d-%d\r\nMessage-ID: <idle-%d-%d@example.com>\r\n\r\n希望增加第%d个报表的导出功能\r\n", j, i, j, i, j, j)
			cmd := c.Append("INBOX", int64(len(raw)), nil)
			cmd.Write([]byte(raw))
			cmd.Close()
			if _, err := cmd.Wait(); err != nil {
				b.Fatal(err)
			}
		}
		c.Close()
	}

	dir := b.TempDir()
	url := "sqlite:" + filepath.Join(dir, "d.db")
	if *idleDB == "postgres" {
		url = testdb.Postgres(b)
	}
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	adminAddr := freeAddr(b)
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "data_dir = %q\n[log]\nlevel = \"warn\"\n[database]\nurl = %q\n[admin]\nlisten = %q\n", dir, url, adminAddr)
	for i := range accounts {
		fmt.Fprintf(&cfg, "[[email]]\nname = \"box%d\"\nhost = %q\nport = %s\ntls = \"none\"\nusername = \"box%d\"\npassword = \"secret\"\nidle = false\npoll_interval = %q\n",
			i, host, port, i, idlePoll.String())
	}
	for i := range 2 {
		folder := filepath.Join(dir, fmt.Sprintf("inbox%d", i))
		os.MkdirAll(folder, 0o755)
		if err := fixture.WriteWJX(filepath.Join(folder, "seed.xlsx"), rows); err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(&cfg, "[[folder]]\nname = \"inbox%d\"\npath = %q\n", i, folder)
	}
	cfgPath := filepath.Join(dir, "demandd.toml")
	os.WriteFile(cfgPath, []byte(cfg.String()), 0o644)

	bin := buildBinary(b)
	logPath := filepath.Join(dir, "serve.log")
	logs, err := os.Create(logPath)
	if err != nil {
		b.Fatal(err)
	}
	defer logs.Close()
	cmd := exec.Command(bin, "serve", "--config", cfgPath)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	pid := cmd.Process.Pid

	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + adminAddr + path)
		if err != nil {
			return 0, ""
		}
		defer resp.Body.Close()
		var sb strings.Builder
		buf := make([]byte, 32<<10)
		for {
			n, err := resp.Body.Read(buf)
			sb.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp.StatusCode, sb.String()
	}
	items := func() float64 {
		_, body := get("/metrics")
		sum := 0.0
		for _, line := range strings.Split(body, "\n") {
			if strings.HasPrefix(line, "demandd_items_total{") {
				v, _ := strconv.ParseFloat(line[strings.LastIndex(line, " ")+1:], 64)
				sum += v
			}
		}
		return sum
	}
	want := float64(accounts*perBox + 2*rows)
	testenv.Eventually(b, 2*time.Minute, func() bool { return items() >= want }, func() string {
		l, _ := os.ReadFile(logPath)
		return fmt.Sprintf("seed not ingested (%v of %v items); serve said:\n%s", items(), want, l)
	})
	b.Logf("seeded: %d messages in %d mailboxes and %d rows in 2 folders ingested; idle for %s (poll %s, %s), sampling RSS every 10 s",
		accounts*perBox, accounts, 2*rows, *idleFor, *idlePoll, *idleDB)

	b.ResetTimer()
	type sample struct {
		at  time.Duration
		rss float64 // MB
	}
	var samples []sample
	start := time.Now()
	sampleT, scrapeT := time.NewTicker(10*time.Second), time.NewTicker(15*time.Second)
	defer sampleT.Stop()
	defer scrapeT.Stop()
	end := time.NewTimer(*idleFor)
	defer end.Stop()
	samples = append(samples, sample{0, vmRSS(pid) / 1024})
	lastMinute := -1
loop:
	for {
		select {
		case <-end.C:
			break loop
		case <-scrapeT.C:
			get("/metrics")
			if code, body := get("/readyz"); code != http.StatusOK {
				b.Errorf("readyz %d while idle: %s", code, body)
			}
		case <-sampleT.C:
			s := sample{time.Since(start), vmRSS(pid) / 1024}
			if s.rss == 0 {
				l, _ := os.ReadFile(logPath)
				b.Fatalf("serve is gone:\n%s", l)
			}
			samples = append(samples, s)
			if m := int(s.at / time.Minute); m != lastMinute {
				lastMinute = m
				b.Logf("idle %3d min: RSS %.1f MB", m, s.rss)
			}
		}
	}
	b.StopTimer()
	samples = append(samples, sample{time.Since(start), vmRSS(pid) / 1024})

	peak := 0.0
	for _, s := range samples {
		peak = max(peak, s.rss)
	}
	// Least-squares slope over the second half, in MB per hour.
	half := samples[len(samples)/2:]
	var sx, sy, sxx, sxy float64
	for _, s := range half {
		x := s.at.Hours()
		sx, sy, sxx, sxy = sx+x, sy+s.rss, sxx+x*x, sxy+x*s.rss
	}
	n := float64(len(half))
	slope := 0.0
	if d := n*sxx - sx*sx; d > 0 {
		slope = (n*sxy - sx*sy) / d
	}
	last := samples[len(samples)-1].rss
	b.Logf("idle RSS: first %.1f MB, last %.1f MB, peak %.1f MB (VmHWM %.1f MB incl. the seed), slope over the second half %+.2f MB/h; %d samples",
		samples[0].rss, last, peak, vmHWM(pid)/1024, slope, len(samples))
	if got := items(); got != want {
		b.Errorf("items %v after idling, want %v: something was ingested twice or lost", got, want)
	}
	b.ReportMetric(last, "MB_rss_end")
	b.ReportMetric(peak, "MB_rss_peak")
	b.ReportMetric(slope, "MB/h_slope")
}
