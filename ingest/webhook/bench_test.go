package webhook_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/demandd/demandd/ingest"
	"github.com/demandd/demandd/ingest/webhook"
	"github.com/demandd/demandd/internal/testdb"
	"github.com/demandd/demandd/internal/testenv"
)

// BenchmarkIntake measures durable intake into PostgreSQL: a listener over
// the real engine and register, loaded from a second process (this test
// binary run as TestLoadGenerator) over loopback, 32 connections, each
// delivery a distinct signed GitHub issue. b.N is the number of
// deliveries; run it with -benchtime=20000x (make bench-webhook).
func BenchmarkIntake(b *testing.B) {
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.DiscardHandler))
	if os.Getenv("GOGC") == "" { // as serve sets it
		defer debug.SetGCPercent(debug.SetGCPercent(200))
	}
	env := testenv.New(b, testdb.Postgres(b), nil)
	cfg := webhook.Config{Listen: "127.0.0.1:0", Sources: []webhook.SourceConfig{{Name: "gh", Preset: "github", Secret: ghSecret}}}
	cfg.SetDefaults()
	srv, err := webhook.New(cfg, webhook.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		b.Fatal(err)
	}
	addr := srv.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		env.Engine.Run(ctx, []ingest.Source{srv})
	}()
	defer func() { cancel(); <-done }()

	b.ResetTimer()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLoadGenerator$", "-test.count=1")
	cmd.Env = append(os.Environ(), "DEMANDD_LOADGEN_URL=http://"+addr+"/hooks/gh", fmt.Sprintf("DEMANDD_LOADGEN_N=%d", b.N),
		"DEMANDD_LOADGEN_CONC="+benchConc())
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	b.StopTimer()
	if err != nil {
		b.Fatalf("load generator: %v\n%s", err, out)
	}
	var res loadResult
	line := out[bytes.Index(out, []byte("LOADGEN ")):]
	line = line[len("LOADGEN "):]
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	if err := json.Unmarshal(line, &res); err != nil {
		b.Fatalf("load generator said %q: %v", out, err)
	}
	if res.Accepted != b.N {
		b.Fatalf("%d of %d deliveries accepted (%d other answers)", res.Accepted, b.N, res.Other)
	}
	if c := env.Counts(b); c.Demands < b.N {
		b.Fatalf("%d accepted but %d demands stored", res.Accepted, c.Demands)
	}
	b.ReportMetric(float64(b.N)/res.Seconds, "deliveries/s")
	b.ReportMetric(res.P50, "p50_ms")
	b.ReportMetric(res.P99, "p99_ms")
	b.ReportMetric(0, "ns/op")
}

type loadResult struct {
	Accepted, Other int
	Seconds         float64
	P50, P99        float64
}

// TestLoadGenerator is the load side of BenchmarkIntake, run in a process
// of its own; it does nothing unless the benchmark starts it.
func TestLoadGenerator(t *testing.T) {
	target := os.Getenv("DEMANDD_LOADGEN_URL")
	if target == "" {
		t.Skip("run by BenchmarkIntake")
	}
	n, _ := strconv.Atoi(os.Getenv("DEMANDD_LOADGEN_N"))
	conc, _ := strconv.Atoi(os.Getenv("DEMANDD_LOADGEN_CONC"))
	raw, err := os.ReadFile("testdata/github-issues.opened.json")
	if err != nil {
		t.Fatal(err)
	}
	// Distinct issues from the real payload: the number, URL and title
	// change; bodies are built and signed before the clock starts.
	tmpl := string(raw)
	bodies := make([][]byte, n)
	sigs := make([]string, n)
	for i := range bodies {
		s := strings.Replace(tmpl, `"number": 1,`, fmt.Sprintf(`"number": %d,`, i+1), 1)
		s = strings.Replace(s, `"title": "Spelling error in the README file"`, fmt.Sprintf(`"title": "第 %d 号：导出报表时报错，请尽快处理"`, i), 1)
		bodies[i] = []byte(s)
		m := hmac.New(sha256.New, []byte(ghSecret))
		m.Write(bodies[i])
		sigs[i] = "sha256=" + hex.EncodeToString(m.Sum(nil))
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc}}
	lat := make([]time.Duration, n)
	var next, accepted, other atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				req, _ := http.NewRequest(http.MethodPost, target, bytes.NewReader(bodies[i]))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-GitHub-Event", "issues")
				req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("bench-%d-%d", start.UnixNano(), i))
				req.Header.Set("X-Hub-Signature-256", sigs[i])
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					other.Add(1)
					continue
				}
				_, _ = bytes.NewBuffer(nil).ReadFrom(resp.Body)
				resp.Body.Close()
				lat[i] = time.Since(t0)
				if resp.StatusCode == http.StatusAccepted {
					accepted.Add(1)
				} else {
					other.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	ms := func(q float64) float64 { return float64(lat[int(q*float64(n-1))]) / float64(time.Millisecond) }
	out, _ := json.Marshal(loadResult{Accepted: int(accepted.Load()), Other: int(other.Load()), Seconds: elapsed.Seconds(),
		P50: ms(0.50), P99: ms(0.99)})
	fmt.Printf("LOADGEN %s\n", out)
}

// benchConc is the load generator's connections: DEMANDD_BENCH_CONC, else 32.
func benchConc() string {
	if c := os.Getenv("DEMANDD_BENCH_CONC"); c != "" {
		return c
	}
	return "32"
}
