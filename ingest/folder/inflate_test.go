package folder

import (
	"bytes"
	"errors"
	"io"
	"math/rand"
	"testing"
	"testing/iotest"
)

// closeCounter is a part being read, that counts its closes.
type closeCounter struct {
	io.Reader
	closed int
}

func (c *closeCounter) Close() error { c.closed++; return nil }

func TestInflateAheadReadsThePartWhole(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for _, n := range []int{0, 1, inflateChunk - 1, inflateChunk, inflateChunk + 1, 3*inflateChunk + 5} {
		part := make([]byte, n)
		rng.Read(part)
		// One byte per read from the part, odd sizes from the scanner.
		src := &closeCounter{Reader: iotest.OneByteReader(bytes.NewReader(part))}
		a := newInflateAhead(src)
		got, err := io.ReadAll(iotest.HalfReader(a))
		if err != nil || !bytes.Equal(got, part) {
			t.Errorf("%d bytes: read %d bytes (equal %v), %v", n, len(got), bytes.Equal(got, part), err)
		}
		if err := a.Close(); err != nil || src.closed != 1 {
			t.Errorf("%d bytes: close %v, part closed %d times", n, err, src.closed)
		}
	}
}

// A damaged part's error arrives as the part gave it, after its bytes:
// a cut deflate stream is io.ErrUnexpectedEOF, which the check reports as
// a damaged part, never the end of the sheet.
func TestInflateAheadKeepsTheError(t *testing.T) {
	part := bytes.Repeat([]byte("<row>"), inflateChunk/3)
	for _, want := range []error{io.ErrUnexpectedEOF, errors.New("zip: checksum error")} {
		src := &closeCounter{Reader: io.MultiReader(bytes.NewReader(part), iotest.ErrReader(want))}
		a := newInflateAhead(src)
		got, err := io.ReadAll(a)
		if !errors.Is(err, want) || !bytes.Equal(got, part) {
			t.Errorf("read %d of %d bytes, then %v; want %v", len(got), len(part), err, want)
		}
		a.Close()
	}
}

// Closing before the end stops the goroutine and closes the part once.
func TestInflateAheadClosesEarly(t *testing.T) {
	src := &closeCounter{Reader: bytes.NewReader(make([]byte, 10*inflateChunk))}
	a := newInflateAhead(src)
	if _, err := a.Read(make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil || src.closed != 1 {
		t.Errorf("close %v, part closed %d times", err, src.closed)
	}
}
