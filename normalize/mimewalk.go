package normalize

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"sync"

	"github.com/emersion/go-message"
	gomail "github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
)

// A message's attachments are kept as digest and size only, yet reading
// them is most of what a first sync of mail with attachments does:
// go-message decodes base64 through two filtering readers a byte at a
// time, a third of the CPU of preparing such mail (issue 15's profiles).
// partWalker walks the parts as go-message's mail.Reader does, but keeps
// each leaf part's body as it is in the message too, so that a base64
// attachment can be decoded a block at a time (base64Digest). Whatever
// the fast decoding does not take as plain base64 makes Email read the
// whole message again the way it always did (errSlowPath): what a broken
// part yields stays go-message's.

// errSlowPath says the fast path met something it leaves to go-message.
var errSlowPath = errors.New("normalize: not plain base64")

// walkedPart is a leaf part: what mail.Reader's NextPart gives, and the
// part's body as it is in the message with its transfer encoding (nil
// for a message that is not multipart, whose body is given decoded only).
type walkedPart struct {
	*gomail.Part
	raw io.Reader
	enc string
}

// partWalker is mail.Reader's walk over textproto's multipart readers.
type partWalker struct {
	root    *message.Entity
	readers []*textproto.MultipartReader
}

func newPartWalker(e *message.Entity) *partWalker {
	w := &partWalker{}
	if mt, params, _ := e.Header.ContentType(); strings.HasPrefix(mt, "multipart/") {
		// message.New leaves a multipart body undecoded: it is raw here.
		w.readers = append(w.readers, textproto.NewMultipartReader(e.Body, params["boundary"]))
	} else {
		w.root = e // mail.Reader makes it the one part of a multipart of its own
	}
	return w
}

// next is mail.Reader.NextPart: io.EOF after the last part, and an error
// that message.IsUnknownCharset accepts with a part that can be read.
func (w *partWalker) next() (*walkedPart, error) {
	if e := w.root; e != nil {
		w.root = nil
		return leaf(e, nil), nil
	}
	for len(w.readers) > 0 {
		mr := w.readers[len(w.readers)-1]
		p, err := mr.NextPart()
		if err == io.EOF {
			w.readers = w.readers[:len(w.readers)-1]
			continue
		}
		if err != nil {
			return nil, err
		}
		e, err := message.New(message.Header{Header: p.Header}, p)
		if err != nil && !message.IsUnknownCharset(err) {
			return nil, err
		}
		if mt, params, _ := e.Header.ContentType(); strings.HasPrefix(mt, "multipart/") {
			w.readers = append(w.readers, textproto.NewMultipartReader(e.Body, params["boundary"]))
			continue
		}
		return leaf(e, p), err
	}
	return nil, io.EOF
}

// leaf is e as mail.Reader returns a part: inline or attachment by the
// same rule.
func leaf(e *message.Entity, raw io.Reader) *walkedPart {
	mp := &gomail.Part{Body: e.Body}
	t, _, _ := e.Header.ContentType()
	disp, _, _ := e.Header.ContentDisposition()
	if disp == "inline" || (disp != "attachment" && strings.HasPrefix(t, "text/")) {
		mp.Header = &gomail.InlineHeader{Header: e.Header}
	} else {
		mp.Header = &gomail.AttachmentHeader{Header: e.Header}
	}
	wp := &walkedPart{Part: mp}
	if raw != nil {
		wp.raw, wp.enc = raw, e.Header.Get("Content-Transfer-Encoding")
	}
	return wp
}

// base64Digest is the SHA-256 and size of what base64 text r decodes to,
// up to limit bytes, as go-message's decoder gives it: spaces, tabs and
// line breaks skipped. It returns errSlowPath for anything else — a
// character outside the alphabet, data after padding, a length that is
// not whole quanta, a read that fails — before limit bytes are decoded.
func base64Digest(r io.Reader, limit int64) (int64, []byte, error) {
	bufs := base64Bufs.Get().(*base64Buffers)
	defer base64Bufs.Put(bufs)
	in, text, out := bufs.in[:], bufs.text[:0], bufs.out[:]
	d := sha256.New()
	var size int64
	padded := false
	for {
		n, err := io.ReadFull(r, in)
		end := err == io.EOF || err == io.ErrUnexpectedEOF
		if err != nil && !end {
			return 0, nil, errSlowPath
		}
		text = appendBase64Text(text, in[:n])
		whole := len(text) / 4 * 4
		if end { // what is left must be whole quanta
			whole = len(text)
		}
		if whole > 0 {
			if padded {
				return 0, nil, errSlowPath
			}
			m, err := base64.StdEncoding.Decode(out, text[:whole])
			if err != nil && size+int64(m) < limit { // what is past the limit is never read
				return 0, nil, errSlowPath
			}
			padded = text[whole-1] == '='
			if size+int64(m) >= limit {
				d.Write(out[:limit-size])
				return limit, d.Sum(nil), nil
			}
			d.Write(out[:m])
			size += int64(m)
			text = append(text[:0], text[whole:]...)
		}
		if end {
			return size, d.Sum(nil), nil
		}
	}
}

// base64Buffers are base64Digest's, pooled: a first sync decodes an
// attachment or more per message.
type base64Buffers struct {
	in   [32 << 10]byte
	text [32<<10 + 4]byte // the input without whitespace, and a partial quantum before it
	out  [(32<<10 + 4) / 4 * 3]byte
}

var base64Bufs = sync.Pool{New: func() any { return new(base64Buffers) }}

// appendBase64Text appends b to text without the whitespace go-message's
// decoder skips (space, tab, CR, LF). Other bytes below '!' are kept, for
// the decoding to refuse.
func appendBase64Text(text, b []byte) []byte {
	for len(b) > 0 {
		i := indexLow(b)
		text = append(text, b[:i]...)
		if i == len(b) {
			break
		}
		if c := b[i]; c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			text = append(text, c)
		}
		b = b[i+1:]
	}
	return text
}

// indexLow is the index of the first byte of b at or below ' ', or len(b):
// eight bytes at a time, as base64 lines run 76 characters between breaks
// (a word has a byte below 0x21 when (x - 0x21…) & ^x & 0x80… is not 0).
func indexLow(b []byte) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		if (x-0x2121212121212121)&^x&0x8080808080808080 != 0 {
			break
		}
	}
	for ; i < len(b); i++ {
		if b[i] <= ' ' {
			return i
		}
	}
	return len(b)
}
