package engine_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/demandd/demandd/classify"
	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/engine"
	"github.com/demandd/demandd/ingest"
	"github.com/demandd/demandd/internal/testenv"
	"github.com/demandd/demandd/normalize"
)

// recorder is an Observer that keeps what it is told.
type recorder struct {
	mu      sync.Mutex
	states  []string
	commits []engine.CommitInfo
	files   int
}

func (r *recorder) Committed(c engine.CommitInfo) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c.Items = append([]ingest.Item(nil), c.Items...) // the engine's slices are not to be kept
	c.Outcomes = append([]ingest.Outcome(nil), c.Outcomes...)
	r.commits = append(r.commits, c)
}

func (r *recorder) SourceState(source string, s engine.SourceState, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := source + ":" + string(s)
	if err != nil {
		st += ":" + err.Error()
	}
	r.states = append(r.states, st)
}

func (r *recorder) FileFailed(ingest.FailedFile) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.files++
}

func (r *recorder) snapshot() ([]string, []engine.CommitInfo) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.states...), append([]engine.CommitInfo(nil), r.commits...)
}

type syncLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func observed(t *testing.T, url string, obs engine.Observer, log *slog.Logger) *engine.Engine {
	t.Helper()
	env := testenv.New(t, url, nil)
	rules, _, err := classify.Load(classify.Sources{})
	if err != nil {
		t.Fatal(err)
	}
	cal, _ := classify.NewCalendar(testenv.Shanghai, nil, nil)
	cls, err := classify.NewEngine(classify.Options{DefaultType: demand.TypeInquiry, Calendar: cal,
		SLA: classify.SLA{P1: 24 * time.Hour, P2Workdays: 7, P3Days: 14, P4Days: 30}}, rules, nil)
	if err != nil {
		t.Fatal(err)
	}
	return engine.New(env.Store, normalize.New(normalize.Options{Location: testenv.Shanghai}), cls,
		engine.Options{Location: testenv.Shanghai, Observer: obs, Logger: log, RestartDelay: 10 * time.Millisecond})
}

// flaky fails its first runs with the same error, then runs until stopped.
type flaky struct {
	mu    sync.Mutex
	fails int
}

func (f *flaky) Name() string { return "flaky" }

func (f *flaky) Run(ctx context.Context, _ ingest.Sink, _ ingest.State) error {
	f.mu.Lock()
	fail := f.fails > 0
	if fail {
		f.fails--
	}
	f.mu.Unlock()
	if fail {
		return errors.New("folder /srv/in: permission denied")
	}
	<-ctx.Done()
	return nil
}

// The Observer hears every commit with its items and outcomes, and every
// change of a source's state; a source that keeps failing the same way is
// logged once.
func TestObserver(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(b.Name, func(t *testing.T) {
			rec := &recorder{}
			logs := &syncLog{}
			eng := observed(t, b.URL(t), rec, slog.New(slog.NewTextHandler(logs, nil)))
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				eng.Run(ctx, []ingest.Source{&flaky{fails: 3}})
			}()
			testenv.Eventually(t, 10*time.Second, func() bool {
				states, _ := rec.snapshot()
				return len(states) == 7 // three failures, four runs
			}, func() string { s, _ := rec.snapshot(); return strings.Join(s, "\n") })

			item := ingest.Item{Channel: demand.ChannelWebhook, Source: "crm", Key: "crm/1", ContentType: ingest.ContentTypeJSON,
				Body: []byte(`{"title":"希望增加批量导出功能","body":"每周要导出上千条记录"}`), ReceivedAt: time.Now()}
			bad := item
			bad.Key, bad.Problem = "crm/2", "no title"
			if _, err := eng.Emit(ctx, ingest.Batch{Items: []ingest.Item{item, bad}}); err != nil {
				t.Fatal(err)
			}
			cancel()
			<-done

			states, commits := rec.snapshot()
			want := []string{"flaky:running", "flaky:failed:folder /srv/in: permission denied", "flaky:running",
				"flaky:failed:folder /srv/in: permission denied", "flaky:running", "flaky:failed:folder /srv/in: permission denied",
				"flaky:running", "flaky:stopped"}
			if strings.Join(states, "\n") != strings.Join(want, "\n") {
				t.Errorf("states:\n%s\nwant:\n%s", strings.Join(states, "\n"), strings.Join(want, "\n"))
			}
			if len(commits) != 1 || len(commits[0].Items) != 2 || commits[0].Err != nil || commits[0].Duration <= 0 ||
				commits[0].Outcomes[0].Kind != "new" || commits[0].Outcomes[1].Kind != "quarantined" {
				t.Errorf("commits %+v", commits)
			}
			if n := strings.Count(logs.String(), "source failed"); n != 1 {
				t.Errorf("the same failure logged %d times:\n%s", n, logs.String())
			}
			if n := strings.Count(logs.String(), "source started"); n != 1 {
				t.Errorf("restarts after the same failure logged %d times:\n%s", n, logs.String())
			}
		})
	}
}
