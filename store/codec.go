package store

import (
	"fmt"

	"github.com/klauspost/compress/zstd"
)

// Raw bodies are kept compressed when that saves a tenth or more: JSON
// payloads, mail and rows shrink three to five times, which cuts what the
// database writes (and, with lib/pq's text COPY, what it parses as hex).
// Small bodies and ones that do not shrink (already compressed
// attachments) are kept as they are. RawItem reads them back bit for bit.
const (
	codecNone = ""
	codecZstd = "zstd"
	// minCompress is the smallest body worth compressing.
	minCompress = 512
)

// bodyCodec compresses and decompresses raw bodies; EncodeAll and
// DecodeAll are safe for concurrent use.
type bodyCodec struct {
	enc *zstd.Encoder
	dec *zstd.Decoder
}

func newBodyCodec() (*bodyCodec, error) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, fmt.Errorf("store: zstd encoder: %w", err)
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(1<<30))
	if err != nil {
		return nil, fmt.Errorf("store: zstd decoder: %w", err)
	}
	return &bodyCodec{enc: enc, dec: dec}, nil
}

// encode returns the body as stored and its codec.
func (c *bodyCodec) encode(body []byte) ([]byte, string) {
	if len(body) < minCompress {
		return body, codecNone
	}
	z := c.enc.EncodeAll(body, make([]byte, 0, len(body)/3))
	if len(z) > len(body)-len(body)/10 {
		return body, codecNone
	}
	return z, codecZstd
}

// decode returns the body as it came.
func (c *bodyCodec) decode(stored []byte, codec string) ([]byte, error) {
	switch codec {
	case codecNone:
		return stored, nil
	case codecZstd:
		b, err := c.dec.DecodeAll(stored, nil)
		if err != nil {
			return nil, fmt.Errorf("store: decompress raw body: %w", err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("store: raw body stored with unknown codec %q (written by a newer demandd?)", codec)
}
