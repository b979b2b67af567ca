package export

import (
	"bytes"
	"io"
	"sync"

	"github.com/klauspost/compress/flate"
)

// chunkDeflater compresses a zip entry in chunks on goroutines of their
// own and writes them in order, as pigz does: each chunk is deflated alone
// and ends byte-aligned with a sync flush, the last one with the final
// block, so the chunks joined are one deflate stream. The workbook is
// zipped after its last row is written, on the one goroutine that wrote
// the rows while the other core has nothing left to do; compressing the
// sheet was a tenth of a 100,000-row export. Chunks of a MB lose nothing
// to the 32 KB window.
type chunkDeflater struct {
	w       io.Writer
	cur     *deflateJob   // the chunk being filled
	pending []*deflateJob // being compressed, in order
	free    []*deflateJob // written out, their buffers to reuse
	err     error
}

// deflateJob is one chunk and its compressed form.
type deflateJob struct {
	chunk []byte
	out   bytes.Buffer
	err   error
	done  chan struct{}
}

const (
	deflateChunk = 1 << 20
	// deflateAhead is how many chunks are compressed at once: the
	// machine's cores are few, and each chunk holds its buffers until it
	// is written.
	deflateAhead = 2
)

var deflaters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, zipLevel) // a valid level: no error
	return w
}}

func newChunkDeflater(w io.Writer) *chunkDeflater {
	return &chunkDeflater{w: w}
}

func (d *chunkDeflater) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && d.err == nil {
		if d.cur == nil {
			d.cur = d.job()
		}
		c := d.cur.chunk
		k := copy(c[len(c):cap(c)], p)
		d.cur.chunk, p = c[:len(c)+k], p[k:]
		if len(d.cur.chunk) == cap(d.cur.chunk) {
			d.start(d.cur, false)
			d.cur = nil
		}
	}
	if d.err != nil {
		return 0, d.err
	}
	return n, nil
}

// job is an empty chunk, reusing one written out if there is one.
func (d *chunkDeflater) job() *deflateJob {
	if n := len(d.free); n > 0 {
		job := d.free[n-1]
		d.free = d.free[:n-1]
		job.chunk = job.chunk[:0]
		job.out.Reset()
		return job
	}
	return &deflateJob{chunk: make([]byte, 0, deflateChunk)}
}

// start compresses job's chunk on a goroutine, after writing out the
// oldest chunk when deflateAhead are under way.
func (d *chunkDeflater) start(job *deflateJob, last bool) {
	if len(d.pending) == deflateAhead {
		d.writeOldest()
	}
	job.err, job.done = nil, make(chan struct{})
	d.pending = append(d.pending, job)
	go func() {
		defer close(job.done)
		fw := deflaters.Get().(*flate.Writer)
		defer deflaters.Put(fw)
		fw.Reset(&job.out)
		if _, err := fw.Write(job.chunk); err != nil {
			job.err = err
			return
		}
		if last {
			job.err = fw.Close()
		} else {
			job.err = fw.Flush()
		}
	}()
}

func (d *chunkDeflater) writeOldest() {
	job := d.pending[0]
	d.pending = d.pending[1:]
	<-job.done
	d.free = append(d.free, job)
	switch {
	case d.err != nil:
	case job.err != nil:
		d.err = job.err
	default:
		_, d.err = d.w.Write(job.out.Bytes())
	}
}

// Close compresses what is left as the final chunk and writes every chunk
// out; it does not close the writer underneath.
func (d *chunkDeflater) Close() error {
	if d.cur == nil {
		d.cur = d.job() // empty: the final block is still written
	}
	d.start(d.cur, true)
	d.cur = nil
	for len(d.pending) > 0 {
		d.writeOldest()
	}
	return d.err
}
