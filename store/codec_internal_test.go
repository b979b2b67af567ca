package store

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
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

// TestHuffmanWritersReused: the pooled writers, reset for each body, on
// goroutines at once, leave nothing of one body in the next.
func TestHuffmanWritersReused(t *testing.T) {
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				raw := make([]byte, 1000+(g*25+i)*517)
				_, _ = rand.Read(raw)
				body := []byte(base64.StdEncoding.EncodeToString(raw))
				back, err := decodeBody(huffman(body), codecHuffman)
				if err != nil || !bytes.Equal(back, body) {
					t.Errorf("goroutine %d body %d: %d bytes back of %d, %v", g, i, len(back), len(body), err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
