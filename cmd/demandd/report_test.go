package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/internal/testenv"
	"github.com/demandd/demandd/store"
)

func TestReportCommand(t *testing.T) {
	dir := t.TempDir()
	url := "sqlite:" + filepath.Join(dir, "d.db")
	cfg := writeConfig(t, dir, url, "")
	// A register that does not exist is refused, and nothing is created.
	if code, _, errOut := demandd(t, "report", "--config", cfg, "--out", filepath.Join(dir, "r.xlsx")); code != exitUsage || !strings.Contains(errOut, "没有找到需求登记册") {
		t.Fatalf("no register: %d %q", code, errOut)
	}
	if code, _, errOut := demandd(t, "report", "--config", cfg, "--date", "24/11/2026"); code != exitUsage || !strings.Contains(errOut, "YYYY-MM-DD") {
		t.Errorf("bad date: %d %q", code, errOut)
	}

	env := testenv.New(t, url, nil)
	recv := time.Date(2026, 11, 24, 10, 0, 0, 0, testenv.Shanghai)
	rec := &demand.Record{Description: demand.Description{Text: "=1+1 报表打不开"}, Urgency: demand.UrgencyHigh, Type: demand.TypeComplaint,
		Importance: demand.ImportanceHigh, Priority: demand.P1, Status: demand.StatusNew, DueAt: recv.Add(time.Hour),
		Source: demand.Source{Channel: demand.ChannelEmail, Name: "support", Origin: demand.OriginRaised, ReceivedAt: recv}}
	_, err := env.Store.SaveBatch(context.Background(), []store.Entry{{Raw: store.RawItem{Channel: "email", Source: "support",
		ExternalKey: "<m1>", SHA256: "00", ContentType: "message/rfc822", Body: []byte("x"), Origin: "raised",
		Status: store.RawOK, ReceivedAt: recv}, Record: rec}}, nil, store.BatchOptions{Now: recv, Location: testenv.Shanghai})
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	if code, _, errOut := demandd(t, "report", "--config", cfg, "--send"); code != exitUsage || !strings.Contains(errOut, "[report.mail]") {
		t.Errorf("--send without mail settings: %d %q", code, errOut)
	}
	code, out, errOut := demandd(t, "report", "--config", cfg, "--date", "2026-11-24")
	if code != exitOK || !strings.Contains(out, "1 new, 1 open, 1 at risk") {
		t.Fatalf("report: %d %q %q", code, out, errOut)
	}
	path := filepath.Join(dir, "需求日报-2026-11-24.xlsx")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want the exports' 0640", fi.Mode().Perm())
	}
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if v, _ := f.GetCellValue("超期预警", "A4"); v != "已超期；紧急需求2小时无进展" {
		t.Errorf("warning %q", v)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*.tmp")); len(left) > 0 {
		t.Errorf("temporary files left: %q", left)
	}
}
