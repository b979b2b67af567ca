package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/demandd/demandd/ingest/folder/biff/bifftest"
	"github.com/demandd/demandd/internal/fixture"
)

// hostileCase is one odd or hostile input for the watched folder: how to
// make it in dir (the staging dir; outside is a folder beside the inbox)
// and its name in the inbox.
type hostileCase struct {
	name string
	make func(b *testing.B, stage, outside string) // writes stage/name
}

func hostileCases() []hostileCase {
	text := func(name, body string) hostileCase {
		return hostileCase{name, func(b *testing.B, stage, _ string) {
			os.WriteFile(filepath.Join(stage, name), []byte(body), 0o644)
		}}
	}
	bomb := func(name string, part fixture.BombPart) hostileCase {
		return hostileCase{name, func(b *testing.B, stage, _ string) {
			if err := fixture.WriteXLSXBomb(filepath.Join(stage, name), part, 1100<<20); err != nil {
				b.Fatal(err)
			}
		}}
	}
	const header = "姓名,需求描述\n"
	return []hostileCase{
		bomb("bomb-one-string.xlsx", fixture.BombOneString),
		bomb("bomb-many-strings.xlsx", fixture.BombManyStrings),
		bomb("bomb-custom-props.xlsx", fixture.BombCustomProps),
		text("cr-only.csv", strings.ReplaceAll(header+"张伟,报表导出太慢\n李娜,希望增加批量导出\n王芳,发票没有处理\n", "\n", "\r")),
		text("mixed-endings.csv", "姓名,需求描述\r\n张伟,报表导出太慢\r李娜,希望增加批量导出\n王芳,发票没有处理\r\n"),
		text("utf8-one-bad-byte.csv", header+"张伟,报表导出太慢\n李娜,希望增加\xff批量导出\n王芳,发票没有处理\n"),
		text("header-only.csv", header),
		{"symlink.csv", func(b *testing.B, stage, outside string) {
			secret := filepath.Join(outside, "secret.csv")
			os.WriteFile(secret, []byte(header+"TOPSECRET,TOPSECRET\n"), 0o600)
			os.Symlink(secret, filepath.Join(stage, "symlink.csv"))
		}},
		{"hardlink.csv", func(b *testing.B, stage, outside string) {
			target := filepath.Join(outside, "other.csv")
			os.WriteFile(target, []byte(header+"OTHER,OTHER\n"), 0o600)
			os.Link(target, filepath.Join(stage, "hardlink.csv"))
		}},
		xls("truncated.xls", func(x []byte) []byte { return bifftest.Truncate(x, len(x)/2) }),
		xls("cyclic-fat.xls", bifftest.LoopFAT),
		xls("huge-sst-count.xls", func(x []byte) []byte { return bifftest.SSTCount(x, 1<<31) }),
		xls("huge-string.xls", bifftest.LongString),
	}
}

// xls is a hostile .xls made from a real 问卷星 export by bifftest.
func xls(name string, change func([]byte) []byte) hostileCase {
	return hostileCase{name, func(b *testing.B, stage, _ string) {
		x, err := os.ReadFile(filepath.Join("..", "..", "ingest", "folder", "testdata", "wjx_800_800_0.xls"))
		if err != nil {
			b.Fatal(err)
		}
		os.WriteFile(filepath.Join(stage, name), change(x), 0o644)
	}}
}

// BenchmarkHostile runs `demandd serve` over each hostile input and
// reports where the file ended, its message, the daemon's peak RSS and
// the rows stored: `make bench-hostile`.
func BenchmarkHostile(b *testing.B) {
	bin := buildBinary(b)
	for _, hc := range hostileCases() {
		b.Run(hc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				dir := b.TempDir()
				inbox, stage, outside := filepath.Join(dir, "inbox"), filepath.Join(dir, "stage"), filepath.Join(dir, "outside")
				for _, d := range []string{inbox, stage, outside} {
					os.MkdirAll(d, 0o755)
				}
				hc.make(b, stage, outside)
				cfg := writeConfig(b, dir, "sqlite:"+filepath.Join(dir, "d.db"), "")
				cmd := exec.Command(bin, "serve", "--config", cfg)
				var logs strings.Builder
				cmd.Stdout, cmd.Stderr = &logs, &logs
				if err := cmd.Start(); err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				if err := os.Rename(filepath.Join(stage, hc.name), filepath.Join(inbox, hc.name)); err != nil {
					b.Fatal(err)
				}
				where := ""
				poll := time.NewTicker(100 * time.Millisecond)
				for deadline := time.Now().Add(10 * time.Minute); where == "" && time.Now().Before(deadline); <-poll.C {
					if _, err := os.Lstat(filepath.Join(inbox, "failed", hc.name+".error.txt")); err == nil {
						where = "failed/"
					} else if m, _ := filepath.Glob(filepath.Join(inbox, "processed", "*", hc.name)); len(m) > 0 {
						where = "processed/"
					}
				}
				poll.Stop()
				took := time.Since(start)
				// The daemon's own high-water mark, read before it stops.
				rssKB := vmHWM(cmd.Process.Pid)
				cmd.Process.Signal(syscall.SIGTERM)
				cmd.Wait()
				if where == "" {
					where = "still in the folder after 10 minutes"
				}
				msg, _ := os.ReadFile(filepath.Join(inbox, "failed", hc.name+".error.txt"))
				_, out, _ := demandd(b, "quarantine", "list", "--json", "--config", cfg)
				quarantined := strings.Count(out, `"kind":"item"`)
				_, out, _ = demandd(b, "list", "--json", "--config", cfg)
				demands := 0
				for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
					var r struct{ Code string }
					if json.Unmarshal([]byte(line), &r) == nil && r.Code != "" {
						demands++
					}
				}
				b.ReportMetric(rssKB/1024, "peak-RSS-MB")
				b.ReportMetric(float64(demands), "demands")
				b.ReportMetric(float64(quarantined), "quarantined")
				b.ReportMetric(took.Seconds(), "s")
				b.ReportMetric(0, "ns/op")
				b.Logf("%s → %s %q", hc.name, where, firstLine(string(msg)))
				if strings.Contains(logs.String(), "TOPSECRET") || strings.Contains(string(msg), "TOPSECRET") {
					b.Errorf("%s: a link target's content reached the log or the reason", hc.name)
				}
			}
		})
	}
}

// vmHWM is a process's peak resident set in kB (Linux), 0 if unknown.
func vmHWM(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb
		}
	}
	return 0
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
