package export

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"testing"
)

// sheetLike is n bytes that compress as a sheet does, with random runs
// that do not.
func sheetLike(n int, rng *rand.Rand) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, `<row r="%d"><c r="A%d" s="3" t="inlineStr"><is><t>需求 %d</t></is></c></row>`, i, i, rng.Intn(1000))
		if i%50 == 0 {
			junk := make([]byte, rng.Intn(3000))
			rng.Read(junk)
			b.Write(junk)
		}
	}
	return b.Bytes()[:n]
}

// The chunks joined are one deflate stream that the standard library's
// inflater reads back whole, whatever the writes' sizes.
func TestChunkDeflaterRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for _, n := range []int{0, 1, deflateChunk - 1, deflateChunk, deflateChunk + 1, 5*deflateChunk + 7} {
		data := sheetLike(n, rng)
		var out bytes.Buffer
		d := newChunkDeflater(&out)
		// Odd sizes, as io.Copy and excelize's writes are.
		for rest := data; len(rest) > 0; {
			k := min(len(rest), 1+rng.Intn(70000))
			if w, err := d.Write(rest[:k]); err != nil || w != k {
				t.Fatalf("%d bytes: write %d: %d, %v", n, k, w, err)
			}
			rest = rest[k:]
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(flate.NewReader(bytes.NewReader(out.Bytes())))
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%d bytes: read back %d bytes (equal %v), %v", n, len(got), bytes.Equal(got, data), err)
		}
		// One stream: nothing follows its final block.
		r := bytes.NewReader(out.Bytes())
		if _, err := io.Copy(io.Discard, flate.NewReader(r)); err != nil || r.Len() != 0 {
			t.Errorf("%d bytes: %d bytes after the final block, %v", n, r.Len(), err)
		}
		if n > 1000 && out.Len() > n/2 {
			t.Errorf("%d bytes compressed to %d", n, out.Len())
		}
	}
}

// As a zip's compressor: entries of every size read back through
// archive/zip, which checks each one's CRC-32.
func TestChunkDeflaterInZip(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) { return newChunkDeflater(w), nil })
	entries := map[string][]byte{}
	for i, n := range []int{10, 3*deflateChunk + 99, 0, 70000} {
		name := fmt.Sprintf("xl/part%d.xml", i)
		entries[name] = sheetLike(n, rng)
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(entries[name]); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		if err != nil || !bytes.Equal(got, entries[f.Name]) {
			t.Errorf("%s: %d bytes (equal %v), %v", f.Name, len(got), bytes.Equal(got, entries[f.Name]), err)
		}
	}
}

// A write that fails underneath fails the entry: Close says so.
func TestChunkDeflaterFails(t *testing.T) {
	broken := errors.New("disk full")
	d := newChunkDeflater(errWriter{broken})
	data := sheetLike(4*deflateChunk, rand.New(rand.NewSource(3)))
	_, werr := d.Write(data)
	if err := d.Close(); !errors.Is(err, broken) && !errors.Is(werr, broken) {
		t.Errorf("write %v, close %v; want %v", werr, err, broken)
	}
}

type errWriter struct{ err error }

func (w errWriter) Write([]byte) (int, error) { return 0, w.err }
