package webhook

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// pointer resolves an RFC 6901 JSON Pointer in a decoded document (as
// decoded with UseNumber). "" is the whole document; ok is false when a
// token names nothing.
func pointer(doc any, ptr string) (v any, ok bool) {
	if ptr == "" {
		return doc, true
	}
	if !strings.HasPrefix(ptr, "/") {
		return nil, false
	}
	v = doc
	for _, tok := range strings.Split(ptr[1:], "/") {
		// ~1 before ~0: "~01" is "~1", not "/".
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch n := v.(type) {
		case map[string]any:
			if v, ok = n[tok]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(tok)
			// RFC 6901: decimal digits, no leading zeros, no sign.
			if err != nil || i < 0 || i >= len(n) || (len(tok) > 1 && tok[0] == '0') || tok[0] == '+' {
				return nil, false
			}
			v = n[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// pointerText is the value at ptr as text: strings as they are, numbers
// and booleans as written, "" for null, absent, objects and arrays.
func pointerText(doc any, ptr string) string {
	if ptr == "" {
		return "" // an unmapped field, not the whole document
	}
	v, ok := pointer(doc, ptr)
	if !ok {
		return ""
	}
	switch t := v.(type) {
	case string:
		return t
	case json.Number:
		return t.String()
	case bool:
		return strconv.FormatBool(t)
	}
	return ""
}

// decodeDoc decodes a payload for pointers, keeping numbers as written.
func decodeDoc(payload []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(payload))
	d.UseNumber()
	var doc any
	if err := d.Decode(&doc); err != nil {
		return nil, err
	}
	return doc, nil
}
