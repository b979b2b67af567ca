package archive

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/internal/i18n"
	"github.com/demandd/demandd/internal/testdb"
	"github.com/demandd/demandd/internal/testenv"
	"github.com/demandd/demandd/store"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

var shanghai = testenv.Shanghai

// hostile are names a customer's file or a source may have.
var hostile = []string{"../../etc/passwd", `C:\x`, "nul\x00byte.xlsx", "new\nline.csv", strings.Repeat("长", 100) + ".xlsx"}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// seeded is what seed stored: raw bodies by id, and ids by role.
type seeded struct {
	bodies      map[int64][]byte
	email       int64 // made a record
	november    int64 // outside the period
	codes       []string
	questionIDs []int64
}

func seed(t *testing.T, st *store.Store) seeded {
	t.Helper()
	ctx := context.Background()
	oct := time.Date(2026, 10, 12, 9, 0, 0, 0, shanghai)
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 40<<10)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	eml := []byte("From: a@example.com\r\nSubject: 需要导出报表\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n" +
		"Content-Type: text/plain\r\n\r\n" + strings.Repeat("请增加导出报表的功能。", 100) + "\r\n--b\r\n" +
		"Content-Disposition: attachment; filename=\"../../etc/passwd\"\r\n\r\n" + string(random) + "\r\n--b--\r\n")
	rec := func(ch demand.Channel, title string, at time.Time) *demand.Record {
		return &demand.Record{Description: demand.Description{Title: title, Text: title},
			Source: demand.Source{Channel: ch, Name: hostile[0], Origin: demand.OriginRaised, ReceivedAt: at},
			Type:   demand.TypeFeature, Urgency: demand.UrgencyMedium, Importance: demand.ImportanceHigh, Priority: demand.P2}
	}
	raw := func(ch demand.Channel, key, source string, body []byte, status store.RawStatus, at time.Time) store.RawItem {
		return store.RawItem{Channel: string(ch), Source: source, ExternalKey: key, SHA256: digest(body), ContentType: "x",
			Body: body, Origin: "raised", Status: status, ReceivedAt: at}
	}
	entries := []store.Entry{
		{Raw: raw(demand.ChannelEmail, "<m1@x>", "support", eml, store.RawOK, oct), Record: rec(demand.ChannelEmail, "导出报表", oct)},
		{Raw: raw(demand.ChannelEmail, "<m2@x>", hostile[1], []byte("Subject: ???\r\n\r\n\x00\x01garbled"), store.RawQuarantined, oct)},
		{Raw: raw(demand.ChannelEmail, "<m3@x>", "support", []byte("Subject: Out of office\r\n\r\nauto"), store.RawIgnored, oct)},
		{Raw: raw(demand.ChannelWebhook, "gh/1", hostile[0], []byte(`{"action":"opened","issue":{"title":"`+strings.Repeat("x", 2000)+`"}}`), store.RawOK, oct.Add(time.Hour)),
			Record: rec(demand.ChannelWebhook, "webhook issue", oct.Add(time.Hour))},
		{Raw: raw(demand.ChannelEmail, "<nov@x>", "support", []byte("Subject: November\r\n\r\nlater"), store.RawOK, oct.AddDate(0, 1, 0))},
	}
	// Rows of two files with hostile names: rows out of order in the
	// batch, one row quarantined.
	for f, name := range []string{hostile[0], hostile[2] + hostile[3] + hostile[4]} {
		fileSHA := digest([]byte(name))
		for _, row := range []int{12, 2, 3} {
			body, _ := json.Marshal(map[string]any{"file": name, "sha256": fileSHA, "row": row, "cells": []string{"客户", strings.Repeat("需求", row)}})
			status := store.RawOK
			var r *demand.Record
			if f == 1 && row == 3 {
				status = store.RawQuarantined
			} else {
				r = rec(demand.ChannelQuestionnaire, "row", oct)
			}
			key := fileSHA + ":" + string(rune('0'+row/10)) + string(rune('0'+row%10))
			if row < 10 {
				key = fileSHA + ":" + string(rune('0'+row))
			}
			entries = append(entries, store.Entry{Raw: raw(demand.ChannelQuestionnaire, key, "folder", body, status, oct), Record: r})
		}
	}
	res, err := st.SaveBatch(ctx, entries, nil, store.BatchOptions{Location: shanghai, Now: oct})
	if err != nil {
		t.Fatal(err)
	}
	s := seeded{bodies: map[int64][]byte{}, codes: res.Codes}
	for i, e := range entries {
		s.bodies[e.Raw.ID] = e.Raw.Body
		if e.Raw.Channel == string(demand.ChannelQuestionnaire) {
			s.questionIDs = append(s.questionIDs, e.Raw.ID)
		}
		switch i {
		case 0:
			s.email = e.Raw.ID
		case 4:
			s.november = e.Raw.ID
		}
	}
	st2 := demand.StatusInProgress
	plan := "下周上线"
	if _, _, err := st.UpdateProgress(ctx, res.Codes[0], store.Progress{Status: &st2, Plan: &plan, By: "test"}); err != nil {
		t.Fatal(err)
	}
	return s
}

func october(t *testing.T) Period {
	p, err := ParsePeriod("2026-10", shanghai)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// entriesOf reads every entry of the zip at path.
func entriesOf(t *testing.T, path string) map[string][]byte {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name] = b
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	for _, be := range testenv.Backends {
		t.Run(be.Name, func(t *testing.T) {
			ctx := context.Background()
			env := testenv.New(t, be.URL(t), nil)
			s := seed(t, env.Store)
			path := filepath.Join(t.TempDir(), october(t).FileName())
			res, err := Write(ctx, path, env.Store, october(t), Options{Location: shanghai, Generator: "demandd test"})
			if err != nil {
				t.Fatal(err)
			}
			if res.Records != 7 || res.Raw.Total != 10 || res.Raw.Statuses["quarantined"] != 2 || res.Raw.Statuses["ignored"] != 1 {
				t.Errorf("counts: %d records, %+v", res.Records, res.Raw)
			}
			if res.Raw.Entries["email"] != 3 || res.Raw.Entries["questionnaire"] != 2 || res.Raw.Entries["webhook"] != 1 {
				t.Errorf("entries: %+v", res.Raw.Entries)
			}
			rep, err := Verify(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.OK() {
				t.Fatalf("verify: %+v", rep.Problems)
			}
			files := entriesOf(t, path)
			if rep.ManifestSHA256 != res.ManifestSHA256 || digest(files[ManifestName]) != res.ManifestSHA256 {
				t.Errorf("manifest digest %s, reported %s", rep.ManifestSHA256, res.ManifestSHA256)
			}
			for name := range files {
				if err := CheckName(name); err != nil {
					t.Errorf("unsafe entry %q: %v", name, err)
				}
				ok := name == ManifestName || name == RecordsXLSX || name == RecordsJSONL
				for _, p := range []string{"raw/email/", "raw/webhook/", "raw/questionnaire/"} {
					ok = ok || strings.HasPrefix(name, p) && !strings.Contains(name[len(p):], "/")
				}
				if !ok {
					t.Errorf("entry %q outside the expected places", name)
				}
			}
			// Every original, bit for bit.
			m := rep.Manifest
			seen := map[int64]bool{}
			for _, it := range m.Items {
				want, ok := s.bodies[it.ID]
				if !ok || it.ID == s.november {
					t.Errorf("item %d is not of the period", it.ID)
					continue
				}
				seen[it.ID] = true
				got := files[it.Path]
				if it.Line > 0 {
					got = bytes.Split(got, []byte("\n"))[it.Line-1]
				}
				if digest(got) != digest(want) || it.SHA256 != digest(want) {
					t.Errorf("item %d (%s line %d): bytes differ", it.ID, it.Path, it.Line)
				}
			}
			if len(seen) != 10 {
				t.Errorf("%d items in the manifest, want 10", len(seen))
			}
			// Rows in row order within their file.
			for name, b := range files {
				if !strings.HasPrefix(name, "raw/questionnaire/") {
					continue
				}
				var rows []int
				for _, line := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
					var r questionnaireRow
					if err := json.Unmarshal(line, &r); err != nil {
						t.Fatal(err)
					}
					rows = append(rows, r.Row)
				}
				if len(rows) != 3 || rows[0] != 2 || rows[1] != 3 || rows[2] != 12 {
					t.Errorf("%s: rows %v, want [2 3 12]", name, rows)
				}
			}
			// records.jsonl: one record per line with its history.
			sc := bufio.NewScanner(bytes.NewReader(files[RecordsJSONL]))
			sc.Buffer(nil, 1<<20)
			lines, history := 0, 0
			for sc.Scan() {
				var l struct {
					Code    string               `json:"code"`
					Record  demand.Record        `json:"record"`
					History []store.HistoryEntry `json:"history"`
				}
				if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
					t.Fatal(err)
				}
				lines++
				if l.Code == s.codes[0] {
					history = len(l.History)
				}
			}
			if lines != 7 || history == 0 {
				t.Errorf("records.jsonl: %d lines, %d history entries of %s", lines, history, s.codes[0])
			}
			if !bytes.HasPrefix(files[RecordsXLSX], []byte("PK")) {
				t.Error("records.xlsx is not a workbook")
			}
		})
	}
}

// rewrite copies the zip at src to dst through change, which may alter
// an entry's bytes or drop it (nil), then appends extra.
func rewrite(t *testing.T, src, dst string, change func(name string, b []byte) []byte, extra map[string][]byte) {
	t.Helper()
	f, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	for name, b := range entriesOf(t, src) {
		if b = change(name, b); b == nil {
			continue
		}
		w, _ := zw.Create(name)
		w.Write(b)
	}
	for name, b := range extra {
		w, _ := zw.Create(name)
		w.Write(b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
}

func problemsAt(r *Report) map[string]string {
	out := map[string]string{}
	for _, p := range r.Problems {
		out[p.Path] += p.Text.EN + "; "
		if p.Text.Missing() {
			panic("a problem in one language")
		}
	}
	return out
}

func TestVerifyFindsDamage(t *testing.T) {
	ctx := context.Background()
	env := testenv.New(t, testenv.Backends[0].URL(t), nil)
	seed(t, env.Store)
	dir := t.TempDir()
	path := filepath.Join(dir, "a.zip")
	if _, err := Write(ctx, path, env.Store, october(t), Options{Location: shanghai}); err != nil {
		t.Fatal(err)
	}
	var email, row string
	for name := range entriesOf(t, path) {
		switch {
		case strings.HasPrefix(name, "raw/email/") && email == "":
			email = name
		case strings.HasPrefix(name, "raw/questionnaire/") && row == "":
			row = name
		}
	}
	cases := []struct {
		name   string
		change func(string, []byte) []byte
		extra  map[string][]byte
		want   []string
	}{
		{"one byte", func(n string, b []byte) []byte {
			if n == email {
				b = bytes.Clone(b)
				b[len(b)/2] ^= 1
			}
			return b
		}, nil, []string{email}},
		{"one byte of a row", func(n string, b []byte) []byte {
			if n == row {
				b = bytes.Clone(b)
				b[3] ^= 1
			}
			return b
		}, nil, []string{row}},
		{"missing", func(n string, b []byte) []byte {
			if n == email {
				return nil
			}
			return b
		}, nil, []string{email}},
		{"extra", func(_ string, b []byte) []byte { return b }, map[string][]byte{"raw/email/extra.eml": []byte("x")}, []string{"raw/email/extra.eml"}},
		{"unsafe", func(_ string, b []byte) []byte { return b }, map[string][]byte{"../../etc/passwd": []byte("x")}, []string{"../../etc/passwd"}},
		{"records line", func(n string, b []byte) []byte {
			if n == RecordsJSONL {
				return append(bytes.Clone(b), "{}\n"...)
			}
			return b
		}, nil, []string{RecordsJSONL}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bad := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".zip")
			rewrite(t, path, bad, c.change, c.extra)
			rep, err := Verify(ctx, bad)
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK() {
				t.Fatal("verified")
			}
			at := problemsAt(rep)
			for _, w := range c.want {
				if at[w] == "" {
					t.Errorf("no problem named %s; got %v", w, at)
				}
			}
		})
	}
	if _, err := Verify(ctx, filepath.Join(dir, "nothing.zip")); err == nil {
		t.Error("a missing bundle verified")
	}
}

func TestNames(t *testing.T) {
	for _, s := range append(hostile, "", ".", "..", "...", "a/b", "\u202egnp.exe", "x\x7f", "é\xff") {
		got := safeComponent(s, maxFileName)
		name := "raw/questionnaire/0123456789abcdef-" + got + ".jsonl"
		if err := CheckName(name); err != nil || strings.Contains(got, "/") || len(got) > maxFileName {
			t.Errorf("safeComponent(%q) = %q: %v", s, got, err)
		}
	}
	if got := safeComponent("报表 2026.xlsx", 60); got != "报表_2026.xlsx" {
		t.Errorf("a plain Chinese name became %q", got)
	}
	if got := safeComponent(strings.Repeat("长", 100), 60); len(got) != 60 {
		t.Errorf("cut to %d bytes, want 60 on a rune boundary", len(got))
	}
	for _, bad := range []string{"/etc/passwd", "../x", "a/../b", `a\b`, "C:x", "a\x00b", "a\nb", "a//b", "a/", strings.Repeat("a", 121)} {
		if CheckName(bad) == nil {
			t.Errorf("CheckName(%q) passed", bad)
		}
	}
}

func TestConfig(t *testing.T) {
	var c Config
	c.SetDefaults()
	if c.Dir != DefaultDir || len(c.Validate()) != 0 {
		t.Errorf("defaults: %+v %v", c, c.Validate())
	}
	if err := c.PurgeRawAfter.UnmarshalText([]byte("400d")); err != nil || c.PurgeRawAfter.Duration != 400*24*time.Hour {
		t.Errorf("400d: %v %v", c.PurgeRawAfter, err)
	}
	if p := c.Validate(); len(p) != 1 || p[0].Key != "purge_raw_after" || p[0].Text.Missing() {
		t.Errorf("purge without monthly: %v", p)
	}
	if err := c.PurgeRawAfter.UnmarshalText([]byte("soon")); err == nil || i18n.Message(err, i18n.ZH) == err.Error() {
		t.Errorf("bad age: %v", err)
	}
	c.Dir = "rel"
	c.Resolve(func(s *string) { *s = "/abs/" + *s })
	if c.Dir != "/abs/rel" {
		t.Errorf("resolve: %s", c.Dir)
	}
}

func TestMonthlyAndPurge(t *testing.T) {
	for _, be := range testenv.Backends {
		t.Run(be.Name, func(t *testing.T) {
			ctx := context.Background()
			env := testenv.New(t, be.URL(t), nil)
			s := seed(t, env.Store)
			dir := t.TempDir()
			now := time.Date(2026, 11, 3, 2, 0, 0, 0, shanghai)
			// Two processes at once: one makes the bundle.
			var made [2]bool
			var wg sync.WaitGroup
			for i := range made {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := &Runner{Store: env.Store, Config: Config{Dir: dir, Monthly: true}, Location: shanghai, Instance: "p" + string(rune('0'+i))}
					var err error
					if made[i], err = r.MaybeMonthly(ctx, now); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			if made[0] == made[1] {
				t.Fatalf("made by both or neither: %v", made)
			}
			bundle := filepath.Join(dir, "demandd-archive-2026-10.zip")
			good, err := os.ReadFile(bundle)
			if err != nil {
				t.Fatal(err)
			}
			runs, err := env.Store.ArchiveRuns(ctx)
			if err != nil || len(runs) != 1 || runs[0].Bundle != filepath.Base(bundle) || !runs[0].FinishedAt.Valid {
				t.Fatalf("runs: %+v %v", runs, err)
			}

			// A damaged bundle: nothing is purged.
			rewrite(t, bundle, bundle+".bad", func(n string, b []byte) []byte {
				if strings.HasPrefix(n, "raw/email/") {
					return append(bytes.Clone(b), '!')
				}
				return b
			}, nil)
			if err := os.Rename(bundle+".bad", bundle); err != nil {
				t.Fatal(err)
			}
			purger := &Runner{Store: env.Store, Config: Config{Dir: dir, Monthly: true, PurgeRawAfter: Age{24 * time.Hour}}, Location: shanghai}
			if made, err := purger.MaybeMonthly(ctx, now); err != nil || made {
				t.Fatalf("second run: made %v, %v", made, err)
			}
			if it, err := env.Store.RawItem(ctx, s.email); err != nil || !bytes.Equal(it.Body, s.bodies[s.email]) {
				t.Fatalf("purged from a bundle that does not verify: %v", err)
			}

			// The bundle verifies again: the period's bytes go, November's stay.
			if err := os.WriteFile(bundle, good, 0o640); err != nil {
				t.Fatal(err)
			}
			if _, err := purger.MaybeMonthly(ctx, now); err != nil {
				t.Fatal(err)
			}
			for id, body := range s.bodies {
				it, err := env.Store.RawItem(ctx, id)
				if id == s.november {
					if err != nil || !bytes.Equal(it.Body, body) {
						t.Errorf("November's item: %v", err)
					}
					continue
				}
				var pe *store.PurgedError
				if !errors.Is(err, store.ErrPurged) || !errors.As(err, &pe) || pe.Bundle != filepath.Base(bundle) || pe.SHA256 != digest(body) {
					t.Errorf("raw item %d after purge: %v", id, err)
					continue
				}
				if msg := i18n.Message(err, i18n.ZH); !strings.Contains(msg, filepath.Base(bundle)) || !strings.Contains(msg, "归档包") {
					t.Errorf("message: %s", msg)
				}
			}

			// Archiving the period again names the bundle holding the bytes.
			again := filepath.Join(t.TempDir(), "again.zip")
			res, err := Write(ctx, again, env.Store, october(t), Options{Location: shanghai})
			if err != nil {
				t.Fatal(err)
			}
			rep, err := Verify(ctx, again)
			if err != nil || !rep.OK() || res.Raw.Purged != 10 {
				t.Fatalf("again: %d purged, %v %+v", res.Raw.Purged, err, rep)
			}
			for _, it := range rep.Manifest.Items {
				if it.ArchivedIn != filepath.Base(bundle) {
					t.Errorf("item %d: archived in %q", it.ID, it.ArchivedIn)
				}
			}
		})
	}
}

func TestParsePeriod(t *testing.T) {
	p, err := ParsePeriod("2026-10-31", shanghai)
	if err != nil || p.Until.Sub(p.Since) != 24*time.Hour || p.FileName() != "demandd-archive-2026-10-31.zip" {
		t.Errorf("day: %+v %v", p, err)
	}
	m := MonthOf(time.Date(2026, 1, 1, 0, 30, 0, 0, shanghai).AddDate(0, 0, -1), shanghai)
	if m.Name != "2025-12" {
		t.Errorf("month: %s", m.Name)
	}
	for _, bad := range []string{"2026", "2026-13", "10/2026", "2026-10-32"} {
		if _, err := ParsePeriod(bad, shanghai); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
