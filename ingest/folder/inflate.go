package folder

import (
	"io"
	"sync"
)

// inflateAhead reads rc on a goroutine of its own, a chunk ahead of its
// reader: a part's decompression then runs beside its scan. The check of
// a sheet runs alone before any row is read, on one core while the other
// idles; inflating was a fifth of it.
type inflateAhead struct {
	rc     io.ReadCloser
	chunks chan inflated
	free   chan []byte
	stop   chan struct{}
	done   sync.WaitGroup
	cur    inflated
	off    int
}

// inflated is a chunk read, or the error that ended the reading.
type inflated struct {
	b   []byte
	err error
}

const (
	inflateChunk  = 256 << 10
	inflateChunks = 3 // one being read, one being scanned, one between
)

func newInflateAhead(rc io.ReadCloser) *inflateAhead {
	a := &inflateAhead{rc: rc, chunks: make(chan inflated, inflateChunks-1), free: make(chan []byte, inflateChunks), stop: make(chan struct{})}
	for i := 0; i < inflateChunks; i++ {
		a.free <- make([]byte, inflateChunk)
	}
	a.done.Add(1)
	go a.fill()
	return a
}

func (a *inflateAhead) fill() {
	defer a.done.Done()
	for {
		var buf []byte
		select {
		case buf = <-a.free:
		case <-a.stop:
			return
		}
		n, err := 0, error(nil)
		for n < len(buf) && err == nil { // not io.ReadFull: the reader's own errors stay as they are
			var m int
			m, err = a.rc.Read(buf[n:])
			n += m
		}
		select {
		case a.chunks <- inflated{b: buf[:n], err: err}:
		case <-a.stop:
			return
		}
		if err != nil {
			return
		}
	}
}

func (a *inflateAhead) Read(p []byte) (int, error) {
	for a.off == len(a.cur.b) {
		if a.cur.err != nil {
			return 0, a.cur.err
		}
		if a.cur.b != nil {
			a.free <- a.cur.b[:cap(a.cur.b)]
		}
		a.cur, a.off = <-a.chunks, 0
	}
	n := copy(p, a.cur.b[a.off:])
	a.off += n
	return n, nil
}

// Close stops the reading and closes rc once the goroutine has left it.
func (a *inflateAhead) Close() error {
	close(a.stop)
	a.done.Wait()
	return a.rc.Close()
}
