// Package i18n holds demandd's user-facing messages in both of its
// languages. A message that tells a person what is wrong or what to do is
// written once, in Chinese and English side by side, and rendered at the
// boundary that shows it (the CLI, NAME.error.txt, a report) in the
// configured locale. Logs stay in English: they are for operators and
// tools, and Error() returns English for them.
package i18n

import (
	"errors"
	"fmt"
)

// Locale is the language of user-facing text.
type Locale string

// The locales demandd writes.
const (
	ZH Locale = "zh" // the default: the teams demandd serves work in Chinese
	EN Locale = "en"
)

// ParseLocale reads a configured locale.
func ParseLocale(s string) (Locale, error) {
	switch s {
	case "", "zh", "zh-CN", "zh_CN":
		return ZH, nil
	case "en", "en-US", "en_US", "en-GB":
		return EN, nil
	}
	return "", fmt.Errorf("unknown locale %q: want zh or en", s)
}

// Text is one message in both languages.
type Text struct {
	ZH, EN string
}

// T is a message in both languages. Both are required: an empty half is a
// programming error that TestMessagesHaveBothLanguages-style tests catch
// through Missing.
func T(zh, en string) Text { return Text{ZH: zh, EN: en} }

// Tf formats both halves with the same arguments.
func Tf(zh, en string, args ...any) Text {
	return Text{ZH: fmt.Sprintf(zh, args...), EN: fmt.Sprintf(en, args...)}
}

// In renders the text in l; English when l is EN, Chinese otherwise.
func (t Text) In(l Locale) string {
	if l == EN || t.ZH == "" {
		return t.EN
	}
	return t.ZH
}

// String is the English text, for logs.
func (t Text) String() string { return t.EN }

// Missing reports whether one of the languages is empty.
func (t Text) Missing() bool { return t.ZH == "" || t.EN == "" }

// Error is an error whose message a person reads: what is wrong and what
// to do, in both languages.
type Error struct {
	Text Text
	Err  error // the cause, if any
}

// Errorf is an Error with both halves formatted with the same arguments.
// A %w verb is not supported; use Wrap to keep a cause.
func Errorf(zh, en string, args ...any) *Error { return &Error{Text: Tf(zh, en, args...)} }

// Wrap is an Error with a cause that errors.Is and errors.As see.
func Wrap(err error, t Text) *Error { return &Error{Text: t, Err: err} }

func (e *Error) Error() string { return e.Text.EN }
func (e *Error) Unwrap() error { return e.Err }

// Message renders err for a person in l: the localized text of the first
// *Error in its chain, else err.Error().
func Message(err error, l Locale) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Text.In(l)
	}
	return err.Error()
}
