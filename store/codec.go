package store

import (
	"bytes"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/s2"
)

// Raw bodies are kept compressed when that saves a tenth or more: JSON
// payloads, mail and rows shrink three to five times, which cuts what the
// database writes (and, with lib/pq's text COPY, what it parses as hex).
// Small bodies and ones that do not shrink (already compressed
// attachments) are kept as they are. RawItem reads them back bit for bit.
//
// S2 (a faster Snappy) first: on a 7 KB GitHub payload it compresses 4.7
// times in 13 µs, zstd's fastest level 6 times in 47 µs. S2 has no entropy
// coding, so base64 of compressed data — the attachments of most mail:
// PDFs, images, Office files — does not shrink with it. Neither does it
// with zstd's fastest level nor deflate's level 1, which give up on data
// without repeats (measured: 820 KB of such base64 kept whole by both);
// deflate's Huffman-only mode stores it in three quarters (6 bits a
// character) at ~290 MB/s. So a body S2 cannot shrink, of minHuffman or
// more, is tried with that. The batch's preparing does this, in parallel,
// off the commit's path.
const (
	codecNone    = ""
	codecS2      = "s2"
	codecHuffman = "huffman" // deflate, Huffman-only blocks
	// minCompress is the smallest body worth compressing.
	minCompress = 512
	// minHuffman is the smallest body tried Huffman-only after S2.
	minHuffman = 4 << 10
)

// encodeBody returns the body as stored and its codec.
func encodeBody(body []byte) ([]byte, string) {
	if len(body) < minCompress {
		return body, codecNone
	}
	if z, ok := s2Encode(body); ok {
		return z, codecS2
	}
	if len(body) >= minHuffman {
		if h, ok := huffman(body); ok {
			return h, codecHuffman
		}
	}
	return body, codecNone
}

// EncodeBody is the body as the register stores it and its codec, for
// RawItem.StoredBody: callers that prepare batches in parallel encode
// before the commit.
func (s *Store) EncodeBody(body []byte) ([]byte, string) {
	b, codec := encodeBody(body)
	if b == nil {
		b = []byte{}
	}
	return b, codec
}

// decodeBody returns the body as it came.
func decodeBody(stored []byte, codec string) ([]byte, error) {
	switch codec {
	case codecNone:
		return stored, nil
	case codecS2:
		b, err := s2.Decode(nil, stored)
		if err != nil {
			return nil, fmt.Errorf("store: decompress raw body: %w", err)
		}
		return b, nil
	case codecHuffman:
		b, err := io.ReadAll(flate.NewReader(bytes.NewReader(stored)))
		if err != nil {
			return nil, fmt.Errorf("store: decompress raw body: %w", err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("store: raw body stored with unknown codec %q (written by a newer demandd?)", codec)
}

// s2Buffers are s2Encode's output buffers, reused for bodies up to
// maxPooled: S2 gives up on a body without repeats (an attachment's
// base64) in 7 µs for 150 KB, and allocating and zeroing the buffer took
// 60.
var s2Buffers sync.Pool

// maxPooled bounds what the codecs' pools keep.
const maxPooled = 1 << 20

// s2Encode is body S2-compressed, when that saves a tenth or more.
func s2Encode(body []byte) ([]byte, bool) {
	n := s2.MaxEncodedLen(len(body))
	switch {
	case n < 0: // over S2's 4 GB
		return nil, false
	case n > maxPooled:
		z := s2.Encode(make([]byte, n), body)
		return z, len(z) <= len(body)-len(body)/10
	}
	bp, _ := s2Buffers.Get().(*[]byte)
	if bp == nil || cap(*bp) < n {
		bp = new([]byte)
		*bp = make([]byte, maxPooled)
	}
	defer s2Buffers.Put(bp)
	z := s2.Encode((*bp)[:n], body)
	if len(z) > len(body)-len(body)/10 {
		return nil, false
	}
	return bytes.Clone(z), true
}

// huffmanWriters are huffman's, reused: a new writer allocated and zeroed
// 320 KB of state, a quarter of the time of a 150 KB attachment's body.
// Its output goes to a buffer reused up to maxPooled, and is copied out
// at its size only when kept: a buffer grown as it was written took two
// or three allocations a body.
var (
	huffmanWriters = sync.Pool{New: func() any {
		w, _ := flate.NewWriter(nil, flate.HuffmanOnly)
		return w
	}}
	huffmanBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}
)

// huffman is body deflated in Huffman-only blocks, when that saves a
// tenth or more.
func huffman(body []byte) ([]byte, bool) {
	b := huffmanBuffers.Get().(*bytes.Buffer)
	b.Reset()
	w := huffmanWriters.Get().(*flate.Writer)
	defer func() {
		if b.Cap() <= maxPooled { // the writer keeps b until its next Reset
			huffmanBuffers.Put(b)
			huffmanWriters.Put(w)
		}
	}()
	w.Reset(b)
	_, _ = w.Write(body) // a bytes.Buffer does not fail
	_ = w.Close()
	if b.Len() > len(body)-len(body)/10 {
		return nil, false
	}
	return bytes.Clone(b.Bytes()), true
}
