package archive

import (
	"fmt"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxNameLen is the most bytes of an entry name inside a bundle: well
// within every unzip tool's and file system's limits once extracted under
// a directory.
const MaxNameLen = 120

// maxFileName is the most bytes of the part of a questionnaire entry's
// name taken from the file's name.
const maxFileName = 60

// CheckName reports why name is not a safe entry name, or nil: a relative
// slash-separated path of valid UTF-8 without control characters, NUL,
// backslashes, colons (drive letters), empty, "." or ".." segments, at most
// MaxNameLen bytes. Extracting a bundle whose names pass can write nowhere
// but below the directory it is extracted into.
func CheckName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty name")
	case len(name) > MaxNameLen:
		return fmt.Errorf("longer than %d bytes", MaxNameLen)
	case !utf8.ValidString(name):
		return fmt.Errorf("not valid UTF-8")
	case strings.HasPrefix(name, "/"):
		return fmt.Errorf("absolute path")
	case strings.ContainsAny(name, "\\:"):
		return fmt.Errorf("backslash or colon (a Windows path or drive letter)")
	}
	for _, r := range name {
		if unicode.IsControl(r) || r == utf8.RuneError || unicode.Is(unicode.Cf, r) {
			return fmt.Errorf("control or format character %U", r)
		}
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("empty, . or .. segment")
		}
	}
	if path.Clean(name) != name {
		return fmt.Errorf("not a clean path")
	}
	return nil
}

// safeComponent makes s one safe path segment of at most max bytes:
// letters (any script), digits, '.', '-' and '_' are kept, every other run
// of characters becomes one '_', leading dots are dropped (no "..", no
// hidden files), and the result is cut on a rune boundary. Empty becomes
// "_".
func safeComponent(s string, max int) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToValidUTF8(s, "_") {
		ok := r == '.' || r == '-' || r == '_' ||
			(unicode.IsLetter(r) || unicode.IsDigit(r)) && !unicode.Is(unicode.Cf, r)
		if !ok {
			if !under {
				b.WriteByte('_')
				under = true
			}
			continue
		}
		under = r == '_'
		b.WriteRune(r)
	}
	out := strings.TrimLeft(b.String(), ".")
	out = cut(out, max)
	out = strings.TrimRight(out, ".") // "name." reads as "name" on Windows
	if out == "" {
		return "_"
	}
	return out
}

// cut shortens s to at most max bytes on a rune boundary.
func cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	for max > 0 && !utf8.RuneStart(s[max]) {
		max--
	}
	return s[:max]
}

// codeName is a demand code as a name: ASCII letters, digits and '-' only,
// so that the '_' the writer adds ("<code>_<id>", "raw_<id>") keeps every
// name unique.
func codeName(code string) string {
	b := []byte(cut(code, 40))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			b[i] = '-'
		}
	}
	return string(b)
}
