package i18n

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"
)

func TestMessage(t *testing.T) {
	base := Errorf("文件是空的（%d 字节）", "the file is empty (%d bytes)", 0)
	wrapped := fmt.Errorf("folder inbox: %w", base)
	if got, want := Message(wrapped, ZH), "文件是空的（0 字节）"; got != want {
		t.Errorf("zh: got %q, want %q", got, want)
	}
	if got, want := Message(wrapped, EN), "the file is empty (0 bytes)"; got != want {
		t.Errorf("en: got %q, want %q", got, want)
	}
	if got, want := wrapped.Error(), "folder inbox: the file is empty (0 bytes)"; got != want {
		t.Errorf("Error(): got %q, want %q", got, want)
	}
	plain := errors.New("plain")
	if got := Message(plain, ZH); got != "plain" {
		t.Errorf("plain error: got %q", got)
	}
	cause := Wrap(fs.ErrNotExist, T("找不到", "not found"))
	if !errors.Is(fmt.Errorf("x: %w", cause), fs.ErrNotExist) {
		t.Error("Wrap lost its cause")
	}
}

func TestParseLocale(t *testing.T) {
	for in, want := range map[string]Locale{"": ZH, "zh": ZH, "zh-CN": ZH, "en": EN, "en_US": EN} {
		got, err := ParseLocale(in)
		if err != nil || got != want {
			t.Errorf("ParseLocale(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseLocale("fr"); err == nil {
		t.Error("ParseLocale(fr): want an error")
	}
}
