package biff_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/demandd/demandd/ingest/folder/biff"
	"github.com/demandd/demandd/ingest/folder/biff/bifftest"
	"github.com/demandd/demandd/internal/i18n"
)

// Allocation cap of one input: what reading it may allocate in all, a
// fixed part (the record and read buffers, mscfb's directory) and a part in
// proportion to the file (its strings held as UTF-8, its rows).
const (
	fuzzAllocBase    = 8 << 20
	fuzzAllocPerByte = 24
)

// FuzzBIFF reads mutations of the real exports (and of the damaged files
// made from them) to their end: no panic, an error only of the file's
// fault (an *i18n.Error: the input is in memory, so no read can fail
// otherwise), and no more allocated than the cap. To fuzz:
//
//	go test -run '^$' -fuzz FuzzBIFF -fuzztime 10m ./ingest/folder/biff/
func FuzzBIFF(f *testing.F) {
	names, err := filepath.Glob(filepath.Join(testdata, "*.xls"))
	if err != nil || len(names) < 7 {
		f.Fatalf("seeds: %v %v", names, err)
	}
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	good, err := os.ReadFile(filepath.Join(testdata, "All_Data_Original.xls"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(bifftest.LoopFAT(good))
	f.Add(bifftest.SSTCount(good, 1<<31))
	f.Add(bifftest.LongString(good))
	f.Add(bifftest.Truncate(good, len(good)/2))
	lim := biff.Limits{MaxStream: 16 << 20, MaxStrings: 100_000, MaxMemory: 16 << 20}
	f.Fuzz(func(t *testing.T, b []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		err := drain(b, lim)
		runtime.ReadMemStats(&after)
		var e *i18n.Error
		if err != nil && !errors.As(err, &e) {
			t.Fatalf("error %v (%T) is not the file's fault", err, err)
		}
		if err != nil && (e.Text.Missing() || e.Text.ZH == e.Text.EN) {
			t.Fatalf("error %q / %q is not in both languages", e.Text.ZH, e.Text.EN)
		}
		if n, limit := after.TotalAlloc-before.TotalAlloc, uint64(fuzzAllocBase+fuzzAllocPerByte*len(b)); n > limit {
			t.Fatalf("reading %d bytes allocated %d bytes, more than the cap of %d", len(b), n, limit)
		}
	})
}

// drain reads every worksheet of b to its end, keeping nothing: what it
// allocates is the reader's.
func drain(b []byte, lim biff.Limits) error {
	wb, err := biff.Open(bytes.NewReader(b), int64(len(b)), lim)
	if err != nil {
		return err
	}
	for i, s := range wb.Sheets {
		if !s.Worksheet {
			continue
		}
		rows, err := wb.Rows(i)
		if err != nil {
			return err
		}
		for {
			_, _, err := rows.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// The seeds' allocations, to see how far they are from the cap.
func TestSeedAllocations(t *testing.T) {
	names, _ := filepath.Glob(filepath.Join(testdata, "*.xls"))
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if err := drain(b, biff.DefaultLimits()); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		n := after.TotalAlloc - before.TotalAlloc
		t.Logf("%s: %d bytes, allocated %d (%.1f per byte)", filepath.Base(name), len(b), n, float64(n)/float64(len(b)))
		if limit := uint64(fuzzAllocBase + fuzzAllocPerByte*len(b)); n > limit {
			t.Errorf("%s: allocated %d, more than the fuzz cap %d", name, n, limit)
		}
	}
}
