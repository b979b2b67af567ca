package store

import (
	"strconv"
	"unicode/utf8"

	"github.com/demandd/demandd/demand"
)

// The demand documents are encoded by hand into the bytes json.Marshal
// gives (FuzzDocJSON compares them): reflection over the reasons and
// extra columns of every record was a tenth of preparing a questionnaire
// row (issue 15).

// appendDoc appends v's JSON when v is one of the document types and
// reports whether it was.
func appendDoc(b []byte, v any) ([]byte, bool) {
	switch x := v.(type) {
	case []string:
		return appendList(b, x, appendJSONString), true
	case []demand.Reason:
		return appendList(b, x, appendReason), true
	case []demand.Attr:
		return appendList(b, x, appendAttr), true
	case []demand.Attachment:
		return appendList(b, x, appendAttachment), true
	}
	return b, false
}

// appendList appends a list as json.Marshal does a slice: null when nil.
func appendList[T any](b []byte, xs []T, each func([]byte, T) []byte) []byte {
	if xs == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, x := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = each(b, x)
	}
	return append(b, ']')
}

func appendReason(b []byte, r demand.Reason) []byte {
	b = append(b, `{"rule":`...)
	b = appendJSONString(b, r.Rule)
	b = append(b, `,"attribute":`...)
	b = appendJSONString(b, r.Attribute)
	b = append(b, `,"value":`...)
	b = appendJSONString(b, r.Value)
	if len(r.Matched) > 0 {
		b = append(b, `,"matched":`...)
		b = appendList(b, r.Matched, appendJSONString)
	}
	return append(b, '}')
}

func appendAttr(b []byte, a demand.Attr) []byte {
	b = append(b, `{"name":`...)
	b = appendJSONString(b, a.Name)
	b = append(b, `,"value":`...)
	b = appendJSONString(b, a.Value)
	return append(b, '}')
}

func appendAttachment(b []byte, a demand.Attachment) []byte {
	b = append(b, `{"name":`...)
	b = appendJSONString(b, a.Name)
	if a.ContentType != "" {
		b = append(b, `,"content_type":`...)
		b = appendJSONString(b, a.ContentType)
	}
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, a.Size, 10)
	if a.SHA256 != "" {
		b = append(b, `,"sha256":`...)
		b = appendJSONString(b, a.SHA256)
	}
	return append(b, '}')
}

// appendJSONString appends s quoted as encoding/json quotes a string: HTML
// characters, U+2028 and U+2029 escaped, invalid UTF-8 as U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= ' ' && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
