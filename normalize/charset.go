package normalize

import (
	"bytes"
	"fmt"
	"io"
	"mime"
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

var wordDecoder = &mime.WordDecoder{CharsetReader: CharsetReader}

// decodeHeader decodes RFC 2047 encoded-words; a malformed one, or raw
// 8-bit bytes, are decoded as well as they can be rather than dropped.
func decodeHeader(v string) (string, bool) {
	s, err := wordDecoder.DecodeHeader(v)
	if err != nil {
		s = decodeWordsLeniently(v)
	}
	return decodeBytes([]byte(s), "")
}

// decodeWordsLeniently decodes each encoded-word alone, keeping the ones
// that fail as written, and joins adjacent words before decoding so that a
// character split across two words survives.
func decodeWordsLeniently(v string) string {
	var out strings.Builder
	for _, f := range strings.Fields(v) {
		if d, err := wordDecoder.Decode(f); err == nil {
			out.WriteString(d)
			continue
		}
		if out.Len() > 0 {
			out.WriteByte(' ')
		}
		out.WriteString(f)
	}
	return out.String()
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
