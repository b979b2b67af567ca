package engine

import (
	"time"

	"github.com/demandd/demandd/ingest"
)

// Observer learns what the engine does, for metrics and health pages. Its
// methods are called from many goroutines, on the path of every commit:
// they must be safe for concurrent use and return at once.
type Observer interface {
	// Committed is called after every commit attempt. Items are the
	// batch's items in order; Outcomes, when Err is nil, say what became
	// of each (ingest.Outcome.Kind). A failed commit (Err set) stored
	// nothing: its items come again.
	Committed(c CommitInfo)
	// SourceState is called when a source starts running, fails (err set)
	// or stops.
	SourceState(source string, state SourceState, err error)
	// FileFailed is called when a channel sets a whole file aside.
	FileFailed(f ingest.FailedFile)
}

// CommitInfo describes one commit attempt; its slices belong to the
// engine and must not be kept.
type CommitInfo struct {
	Items    []ingest.Item
	Outcomes []ingest.Outcome
	Duration time.Duration
	Err      error
}

// SourceState is where a source is in its life.
type SourceState string

// Source states reported to the Observer.
const (
	SourceRunning SourceState = "running" // Run was called
	SourceFailed  SourceState = "failed"  // Run returned an error; it restarts after RestartDelay
	SourceStopped SourceState = "stopped" // the engine is shutting down
)

// nopObserver is the Observer when none is set.
type nopObserver struct{}

func (nopObserver) Committed(CommitInfo)                   {}
func (nopObserver) SourceState(string, SourceState, error) {}
func (nopObserver) FileFailed(ingest.FailedFile)           {}
