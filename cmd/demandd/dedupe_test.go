package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// A person links, explains, unlinks and replays duplicates from the command
// line; every answer names the demands.
func TestDedupeCommands(t *testing.T) {
	dir := t.TempDir()
	url := "sqlite:" + filepath.Join(dir, "d.db")
	codes := seedRegister(t, url, []seeded{
		{"报表导出很慢，每次要等十分钟以上，影响月底结账", "", ""},
		{"客服电话总是打不通，希望增加在线客服入口", "", ""},
		{"报表导出很慢，每次都要等十分钟以上，影响月底结账", "", ""},
	})
	cfg := writeConfig(t, dir, url, "")
	run := func(want int, args ...string) string {
		t.Helper()
		code, out, errOut := demandd(t, append(args, "--config", cfg)...)
		if code != want {
			t.Fatalf("%v: exit %d, want %d: %s%s", args, code, want, out, errOut)
		}
		return out + errOut
	}
	// Seeded through SaveBatch without near-duplicate linking: a replay
	// finds the reworded third demand, a dry run first.
	if out := run(exitOK, "dedupe", "--replay"); !strings.Contains(out, codes[2]+" → "+codes[0]) || !strings.Contains(out, "--apply") {
		t.Errorf("replay dry run: %q", out)
	}
	if out := run(exitOK, "dedupe", "--explain", codes[2]); strings.Contains(out, "重复：") && strings.Contains(out, codes[0]) {
		t.Errorf("a dry run wrote a link: %q", out)
	}
	run(exitOK, "dedupe", "--replay", "--apply")
	if out := run(exitOK, "dedupe", "--explain", codes[2]); !strings.Contains(out, codes[0]) || !strings.Contains(out, "相似度") {
		t.Errorf("explain: %q", out)
	}
	if out := run(exitOK, "unlink", codes[2]); !strings.Contains(out, codes[2]) {
		t.Errorf("unlink: %q", out)
	}
	if out := run(exitOK, "dedupe", "--explain", codes[0]); !strings.Contains(out, "主需求") {
		t.Errorf("explain after unlink: %q", out)
	}
	if out := run(exitOK, "link", codes[1], codes[0]); !strings.Contains(out, codes[1]+" 已链接到 "+codes[0]) {
		t.Errorf("link: %q", out)
	}
	run(exitUsage, "link", codes[0], codes[0])
	run(exitUsage, "dedupe", "--explain", "DEM000000000")
	if out := run(exitOK, "list", "--json"); !strings.Contains(out, `"duplicate_of_code":"`+codes[0]+`"`) {
		t.Errorf("list does not name the canonical demand: %.500s", out)
	}
}
