package folder

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/engine"
	"github.com/demandd/demandd/ingest"
	"github.com/demandd/demandd/internal/fixture"
	"github.com/demandd/demandd/internal/testdb"
	"github.com/demandd/demandd/internal/testenv"
)

// refusingCommit is the engine with one commit refused — once the batch
// after it has been staged, so that a staged batch waits behind the
// failure — ending that batch's transaction as the engine's own failed
// commit does.
type refusingCommit struct {
	*engine.Engine
	refuse, commits, staged int
	aheadStaged             chan struct{} // closed when batch refuse+1 is staged
}

var errRefused = errors.New("commit refused")

func (r *refusingCommit) Stage(ctx context.Context, p *ingest.Prepared) bool {
	ok := r.Engine.Stage(ctx, p)
	if r.staged++; ok && r.staged == r.refuse+1 {
		close(r.aheadStaged)
	}
	return ok
}

func (r *refusingCommit) Commit(ctx context.Context, p *ingest.Prepared) (ingest.Result, error) {
	if r.commits++; r.commits == r.refuse {
		select {
		case <-r.aheadStaged:
		case <-time.After(30 * time.Second):
			return ingest.Result{}, errors.New("the batch after the refused one was never staged")
		}
		r.Discard(p)
		return ingest.Result{}, errRefused
	}
	return r.Engine.Commit(ctx, p)
}

// TestStagedBatchesDiscardedAfterFailedCommit: on PostgreSQL batches are
// staged while the one before commits; when a commit fails, the file's
// import stops with that error, the batches staged behind it are rolled
// back — none committed past the failed rows — and a second import
// resumes from the last committed batch and stores every row once. A
// staged transaction left open would hold its rows' keys and make that
// second import wait on them.
func TestStagedBatchesDiscardedAfterFailedCommit(t *testing.T) {
	env := testenv.New(t, testdb.Postgres(t), nil)
	path := filepath.Join(t.TempDir(), "问卷星_1_12_0.xlsx")
	if err := fixture.WriteWJX(path, 12); err != nil {
		t.Fatal(err)
	}
	opts := defaultReadOptions()
	opts.batchSize = 2
	sink := &refusingCommit{Engine: env.Engine, refuse: 2, aheadStaged: make(chan struct{})}
	ctx := context.Background()
	if _, err := importAny(ctx, path, "import", demand.OriginDiscovered, opts, sink, env.Store, nil, nil); !errors.Is(err, errRefused) {
		t.Fatalf("import: %v, want the refused commit", err)
	}
	if c := env.Counts(t); c.Raw != 2 || c.Demands != 2 {
		t.Fatalf("after the refused second batch: %+v, want the first batch's 2 rows only", c)
	}
	again, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res, err := importAny(again, path, "import", demand.OriginDiscovered, opts, env.Engine, env.Store, nil, nil)
	if err != nil {
		t.Fatalf("import again: %v", err)
	}
	if c := env.Counts(t); c.Raw != 12 || c.Demands != 12 || res.New+res.Duplicate != 10 {
		t.Errorf("after the second import: %+v, result %+v; want 12 rows once, 10 of them by this import", c, res)
	}
}
