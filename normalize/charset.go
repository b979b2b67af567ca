package normalize

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	"golang.org/x/text/transform"
)

// charsetEncoding finds the decoder of a MIME charset label. GB2312 and GBK
// labels decode as GB18030, their superset: mail labelled GB2312 routinely
// carries GBK or GB18030 characters.
func charsetEncoding(label string) (encoding.Encoding, error) {
	l := strings.ToLower(strings.Trim(strings.TrimSpace(label), `"'`))
	switch l {
	case "gb2312", "gbk", "x-gbk", "cp936", "ms936", "windows-936", "gb_2312-80", "csgb2312", "euc-cn", "gb18030", "x-euc-cn":
		return simplifiedchinese.GB18030, nil
	case "big5", "big5-hkscs", "x-x-big5", "cp950":
		return traditionalchinese.Big5, nil
	}
	enc, err := htmlindex.Get(l)
	if err != nil {
		return nil, fmt.Errorf("unknown charset %q", label)
	}
	return enc, nil
}

// CharsetReader is a mime.WordDecoder / go-message charset reader with the
// GB18030 rule above; for IMAP envelope subjects too.
func CharsetReader(label string, input io.Reader) (io.Reader, error) {
	enc, err := charsetEncoding(label)
	if err != nil {
		return nil, err
	}
	return transform.NewReader(input, enc.NewDecoder()), nil
}

// decodeHeader decodes RFC 2047 encoded-words. Adjacent words in the same
// charset are joined before the charset conversion, so that a character
// split across two words (common with GBK subjects) survives; malformed
// words stay as written, and raw 8-bit bytes are decoded by detection.
func decodeHeader(v string) (string, bool) {
	if !strings.Contains(v, "=?") {
		return decodeBytes([]byte(v), "")
	}
	var out strings.Builder
	ok := true
	last := 0
	var runCharset string
	var run []byte
	flush := func() {
		if run == nil {
			return
		}
		text, good := decodeBytes(run, runCharset)
		ok = ok && good
		out.WriteString(text)
		run, runCharset = nil, ""
	}
	for _, m := range encodedWord.FindAllStringSubmatchIndex(v, -1) {
		between := v[last:m[0]]
		charset := strings.ToLower(v[m[2]:m[3]])
		if i := strings.IndexByte(charset, '*'); i >= 0 { // RFC 2231 language
			charset = charset[:i]
		}
		payload, err := wordPayload(v[m[4]:m[5]], v[m[6]:m[7]])
		if err != nil { // keep a broken word as written
			flush()
			out.WriteString(between + v[m[0]:m[1]])
			last = m[1]
			continue
		}
		// Whitespace between adjacent encoded-words is not part of the text.
		if run != nil && strings.TrimSpace(between) == "" && charset == runCharset {
			run = append(run, payload...)
		} else {
			adjacent := run != nil && strings.TrimSpace(between) == ""
			flush()
			if !adjacent {
				text, good := decodeBytes([]byte(between), "")
				ok = ok && good
				out.WriteString(text)
			}
			run, runCharset = payload, charset
		}
		last = m[1]
	}
	flush()
	text, good := decodeBytes([]byte(v[last:]), "")
	out.WriteString(text)
	return out.String(), ok && good
}

var encodedWord = regexp.MustCompile(`=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=`)

// wordPayload decodes the bytes of a B or Q encoded-word.
func wordPayload(enc, text string) ([]byte, error) {
	if enc == "B" || enc == "b" {
		if b, err := base64.StdEncoding.DecodeString(text); err == nil {
			return b, nil
		}
		return base64.RawStdEncoding.DecodeString(strings.TrimRight(text, "="))
	}
	var b []byte
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case c == '_':
			b = append(b, ' ')
		case c == '=' && i+2 < len(text):
			x, err := strconv.ParseUint(text[i+1:i+3], 16, 8)
			if err != nil {
				return nil, err
			}
			b = append(b, byte(x))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return b, nil
}

// decodeBytes turns body bytes into UTF-8: by the declared charset when it
// decodes cleanly, else by detection (UTF-8, GB18030, Big5), else as UTF-8
// with replacement characters — reported as damaged, never stored as if
// it were fine.
func decodeBytes(b []byte, declared string) (string, bool) {
	if declared != "" && !isUTF8Label(declared) {
		if enc, err := charsetEncoding(declared); err == nil {
			if s, err := enc.NewDecoder().Bytes(b); err == nil && !bytes.ContainsRune(s, utf8.RuneError) && plausible(string(s)) {
				return string(s), true
			}
		}
	}
	if utf8.Valid(b) {
		return string(b), true
	}
	for _, enc := range []encoding.Encoding{simplifiedchinese.GB18030, traditionalchinese.Big5} {
		if s, err := enc.NewDecoder().Bytes(b); err == nil && !bytes.ContainsRune(s, utf8.RuneError) && plausible(string(s)) {
			return string(s), true
		}
	}
	return strings.ToValidUTF8(string(b), "\uFFFD"), false
}

func isUTF8Label(l string) bool {
	switch strings.ToLower(strings.Trim(l, `"' `)) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return true
	}
	return false
}

// plausible rejects decodings that produce rare or private-use characters,
// the mark of a wrong charset guess.
func plausible(s string) bool {
	odd, total := 0, 0
	for _, r := range s {
		if r < 0x80 {
			continue
		}
		total++
		if unicode.Is(unicode.Co, r) || (r >= 0x80 && r < 0xA0) || (!unicode.IsPrint(r) && !unicode.IsSpace(r)) {
			odd++
		}
	}
	return total == 0 || odd*20 < total
}
