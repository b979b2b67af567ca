package store

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// Each codec is chosen where it pays and reads back bit for bit: S2 for
// text, Huffman-only deflate for base64 of compressed data (a mail's attachment), none
// for random bytes or small bodies.
func TestEncodeBodyChoosesCodec(t *testing.T) {
	random := make([]byte, 60<<10)
	_, _ = rand.Read(random)
	mail := "Content-Transfer-Encoding: base64\r\n\r\n" + base64.StdEncoding.EncodeToString(random)
	for _, c := range []struct {
		name  string
		body  []byte
		codec string
	}{
		{"text", []byte(strings.Repeat("请尽快处理导出报表的问题。", 200)), codecS2},
		{"attachment", []byte(mail), codecHuffman},
		{"random", random, codecNone},
		{"small", []byte("需求"), codecNone},
	} {
		stored, codec := encodeBody(c.body)
		if codec != c.codec {
			t.Errorf("%s: codec %q, want %q", c.name, codec, c.codec)
		}
		back, err := decodeBody(stored, codec)
		if err != nil || !bytes.Equal(back, c.body) {
			t.Errorf("%s: %d bytes back of %d, %v", c.name, len(back), len(c.body), err)
		}
		if codec == codecHuffman && len(stored) > len(c.body)*80/100 {
			t.Errorf("%s: huffman kept %d of %d bytes", c.name, len(stored), len(c.body))
		}
	}
}

// TestCodecBuffersReused: the pooled Huffman writers and S2 buffers,
// reused for body after body on goroutines at once, leave nothing of one
// body in the next.
func TestCodecBuffersReused(t *testing.T) {
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var kept [][3][]byte // body, stored, codec
			for i := range 25 {
				raw := make([]byte, 4000+(g*25+i)*517) // over minHuffman as base64
				_, _ = rand.Read(raw)
				body := []byte(base64.StdEncoding.EncodeToString(raw))
				text := []byte(strings.Repeat(fmt.Sprintf("第 %d 个需求：请尽快处理。", g*25+i), 20+i*3))
				for _, b := range [][]byte{body, text} {
					stored, codec := encodeBody(b)
					kept = append(kept, [3][]byte{b, stored, []byte(codec)})
				}
			}
			for i, k := range kept { // read back once all are encoded: each is its own
				want := codecHuffman
				if i%2 == 1 {
					want = codecS2
				}
				if back, err := decodeBody(k[1], string(k[2])); string(k[2]) != want || err != nil || !bytes.Equal(back, k[0]) {
					t.Errorf("goroutine %d body %d (%s): %d bytes back of %d, %v", g, i, k[2], len(back), len(k[0]), err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
