package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/demandd/demandd/internal/testdb"
	"github.com/demandd/demandd/store"
)

// BenchmarkArchive50k archives a month of 50,000 raw emails of about 20 KB
// (~1 GB: text, and a base64 attachment of random bytes) from PostgreSQL
// with `demandd archive`, run under /usr/bin/time for its peak RSS, beside
// `zip -r` of the same bodies written out as files. DEMANDD_BENCH_ITEMS
// sets another count.
//
//	make bench-archive   (go test -run '^$' -bench Archive50k -benchtime 1x ./cmd/demandd/)
func BenchmarkArchive50k(b *testing.B) {
	n := 50000
	if v, err := strconv.Atoi(os.Getenv("DEMANDD_BENCH_ITEMS")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	url := testdb.Postgres(b)
	st, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	files := filepath.Join(dir, "files")
	os.MkdirAll(files, 0o755)
	loc, _ := time.LoadLocation("Asia/Shanghai")
	start := time.Date(2026, 10, 1, 0, 0, 0, 0, loc)
	rng := rand.New(rand.NewPCG(7, 8))
	words := strings.Fields("您好 报表 导出 太慢 请 尽快 处理 客户 需求 系统 登录 失败 订单 发票 the report export is slow please fix our invoices order login failed since yesterday")
	var total int64
	batch := make([]store.Entry, 0, 500)
	flush := func() {
		if _, err := st.SaveBatch(ctx, batch, nil, store.BatchOptions{Location: loc, Now: start}); err != nil {
			b.Fatal(err)
		}
		batch = batch[:0]
	}
	attachment := make([]byte, 9000)
	for i := 0; i < n; i++ {
		var sb strings.Builder
		fmt.Fprintf(&sb, "From: c%d@example.com\r\nSubject: 需求 %d\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n", i%977, i)
		for sb.Len() < 8000 {
			sb.WriteString(words[rng.IntN(len(words))])
			sb.WriteByte(' ')
		}
		for j := range attachment {
			attachment[j] = byte(rng.Uint32())
		}
		sb.WriteString("\r\n--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n")
		enc := base64.StdEncoding.EncodeToString(attachment)
		for len(enc) > 76 {
			sb.WriteString(enc[:76] + "\r\n")
			enc = enc[76:]
		}
		sb.WriteString(enc + "\r\n--b--\r\n")
		body := []byte(sb.String())
		total += int64(len(body))
		sum := sha256.Sum256(body)
		batch = append(batch, store.Entry{Raw: store.RawItem{Channel: "email", Source: "bench", ExternalKey: fmt.Sprintf("<%d@bench>", i),
			SHA256: hex.EncodeToString(sum[:]), ContentType: "message/rfc822", Body: body, Origin: "raised", Status: store.RawOK,
			ReceivedAt: start.Add(time.Duration(i) * (30 * 24 * time.Hour / time.Duration(n)))}}) // divided first: i × 30 days overflows
		if err := os.WriteFile(filepath.Join(files, fmt.Sprintf("raw_%d.eml", i)), body, 0o644); err != nil {
			b.Fatal(err)
		}
		if len(batch) == cap(batch) {
			flush()
		}
	}
	if len(batch) > 0 {
		flush()
	}
	mb := float64(total) / 1e6
	b.Logf("%d raw items, %.0f MB seeded", n, mb)
	b.ResetTimer()

	b.Run("zip", func(b *testing.B) {
		if _, err := exec.LookPath("zip"); err != nil {
			b.Skip("zip not installed (apt-get install zip)")
		}
		cmd := exec.Command("zip", "-r", "-q", filepath.Join(dir, "ref.zip"), "files")
		cmd.Dir = dir
		took, rss := measure(b, cmd)
		reportMB(b, mb, took, rss, filepath.Join(dir, "ref.zip"))
	})
	b.Run("demandd", func(b *testing.B) {
		bin := buildBinary(b)
		cfg := writeConfig(b, b.TempDir(), url, "[log]\nlevel = \"warn\"\n")
		out := filepath.Join(dir, "bundle.zip")
		took, rss := measure(b, exec.Command(bin, "archive", "--period", "2026-10", "--out", out, "--config", cfg))
		reportMB(b, mb, took, rss, out)
		vt, vrss := measure(b, exec.Command(bin, "archive", "verify", out))
		b.Logf("verify: %.1f s (%.0f MB/s), peak RSS %.0f MB", vt.Seconds(), mb/vt.Seconds(), vrss)
		if out, err := exec.Command(bin, "archive", "verify", out).Output(); err != nil || !strings.Contains(string(out), fmt.Sprintf(" %d raw items", n)) {
			b.Fatalf("the bundle does not hold the %d items: %v %s", n, err, out)
		}
	})
}

func reportMB(b *testing.B, mb float64, took time.Duration, rss float64, zip string) {
	var size int64
	if fi, err := os.Stat(zip); err == nil {
		size = fi.Size()
	}
	b.Logf("→ %.1f s, %.0f MB/s, peak RSS %.0f MB, zip %.0f MB", took.Seconds(), mb/took.Seconds(), rss, float64(size)/1e6)
	b.ReportMetric(mb/took.Seconds(), "MB/s")
	b.ReportMetric(rss, "peak-RSS-MB")
	b.ReportMetric(0, "ns/op")
}
