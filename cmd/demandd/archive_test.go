package main

import (
	"archive/zip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/demandd/demandd/internal/fixture"
	"github.com/demandd/demandd/internal/testenv"
)

func TestArchiveCommand(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(b.Name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := writeConfig(t, dir, b.URL(t), "")
			if code, _, errOut := demandd(t, "archive", "--period", "2026-11", "--config", cfg); code != exitUsage || !strings.Contains(errOut, "register") && !strings.Contains(errOut, "登记册") {
				t.Fatalf("no register: %d %s", code, errOut)
			}
			file := filepath.Join(dir, "../../etc/passwd 问卷.xlsx")
			file = filepath.Join(dir, filepath.Base(file))
			row := func(n int) []string {
				return []string{"2026/11/23 10:00:00", "张伟", "报表导出太慢，第" + string(rune('0'+n%10)) + "次"}
			}
			if err := fixture.WriteXLSX(file, []string{"提交答卷时间", "1、您的姓名：", "3、问题描述"}, 4, row); err != nil {
				t.Fatal(err)
			}
			if code, out, errOut := demandd(t, "import", file, "--config", cfg); code != exitOK {
				t.Fatalf("import: %s %s", out, errOut)
			}
			if code, _, _ := demandd(t, "archive", "--config", cfg); code != exitUsage {
				t.Errorf("no --period: exit %d", code)
			}
			if code, _, _ := demandd(t, "archive", "--period", "11/2026", "--config", cfg); code != exitUsage {
				t.Errorf("bad --period: exit %d", code)
			}
			bundle := filepath.Join(dir, "nov.zip")
			code, out, errOut := demandd(t, "archive", "--period", "2026-11", "--out", bundle, "--config", cfg)
			if code != exitOK || !strings.Contains(out, "manifest.json SHA-256: ") || !strings.Contains(out, bundle) {
				t.Fatalf("archive: %d %s %s", code, out, errOut)
			}
			code, out, _ = demandd(t, "archive", "verify", bundle)
			if code != exitOK || !strings.Contains(out, "manifest.json SHA-256: ") {
				t.Fatalf("verify: %d %s", code, out)
			}
			// One byte of the questionnaire's rows changed.
			zr, err := zip.OpenReader(bundle)
			if err != nil {
				t.Fatal(err)
			}
			bad := filepath.Join(dir, "bad.zip")
			f, _ := os.Create(bad)
			zw := zip.NewWriter(f)
			var changed string
			for _, e := range zr.File {
				rc, _ := e.Open()
				data, _ := io.ReadAll(rc)
				rc.Close()
				if strings.HasPrefix(e.Name, "raw/questionnaire/") {
					changed = e.Name
					data[10] ^= 1
				}
				w, _ := zw.Create(e.Name)
				w.Write(data)
			}
			zr.Close()
			zw.Close()
			f.Close()
			if changed == "" || strings.Contains(changed, "..") {
				t.Fatalf("questionnaire entry %q", changed)
			}
			code, out, errOut = demandd(t, "archive", "verify", bad)
			if code != exitRuntime || !strings.Contains(out, changed+": ") || errOut == "" {
				t.Errorf("damaged: %d %s %s", code, out, errOut)
			}
			if code, _, _ := demandd(t, "archive", "verify"); code != exitUsage {
				t.Errorf("verify without a file: exit %d", code)
			}
		})
	}
}
