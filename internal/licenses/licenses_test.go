package licenses

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Every licence linked into demandd is allowed: nothing GPL, AGPL or
// LGPL, nothing unread. A new dependency, or a new version whose licence
// files changed, fails here until it is classified or reviewed.
func TestLinkedLicences(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	files, missing, err := List(ctx, ".", "github.com/demandd/demandd/cmd/demandd")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		switch f.Verdict {
		case Ok:
		case Forbidden:
			t.Errorf("%s@%s %s is %s: demandd must not link it; drop the dependency or find another", f.Module, f.Version, f.Path, f.Note)
		default:
			t.Errorf("%s@%s %s: %s (%v, %.0f%% licence text). Read %s; if it allows linking into an Apache-2.0 binary, "+
				"add %q: \"what it is\" to Reviewed in licenses.go, else drop the dependency",
				f.Module, f.Version, f.Path, f.Note, f.IDs, f.Percent, f.Abs, f.Key)
		}
	}
	for _, m := range missing {
		t.Errorf("%s@%s has no licence file: without one nobody may redistribute it; drop it or ask its authors", m.Path, m.Version)
	}
	// demandd's own licence is found and read as Apache-2.0.
	own := slices.IndexFunc(files, func(f File) bool { return f.Module == "github.com/demandd/demandd" && f.Path == "LICENSE" })
	if own < 0 || !slices.Equal(files[own].IDs, []string{"Apache-2.0"}) || files[own].Percent < 99 {
		t.Errorf("demandd's LICENSE: %+v", files)
	}
	if len(files) < 20 {
		t.Errorf("only %d licence files: is go list seeing the dependencies?", len(files))
	}
	if testing.Verbose() {
		t.Log("\n" + Table(files, missing))
	}
}

// The classification on real licence texts: Debian's copies in
// /usr/share/common-licenses.
func TestClassify(t *testing.T) {
	const dir = "/usr/share/common-licenses"
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s: %v (Debian's base-files has it)", dir, err)
		}
		t.Skipf("no %s to read licence texts from", dir)
	}
	for _, tc := range []struct {
		file    string
		verdict Verdict
		id      string
	}{
		{"Apache-2.0", Ok, "Apache-2.0"},
		{"MPL-2.0", Ok, "MPL-2.0"},
		{"CC0-1.0", Ok, "CC0-1.0"},
		{"GPL-2", Forbidden, "GPL-2.0"},
		{"GPL-3", Forbidden, "GPL-3.0"},
		{"LGPL-2.1", Forbidden, "LGPL-2.1"},
		{"LGPL-3", Forbidden, "LGPL-3.0"},
		{"Artistic", Unknown, ""},
	} {
		text, err := os.ReadFile(filepath.Join(dir, tc.file))
		if err != nil {
			t.Errorf("%s: %v", tc.file, err)
			continue
		}
		f := classify(File{Module: "example.com/m", Path: "LICENSE"}, text)
		if f.Verdict != tc.verdict || (tc.id != "" && !slices.Contains(f.IDs, tc.id)) {
			t.Errorf("%s: %s %v (%s), want %s %s", tc.file, f.Verdict, f.IDs, f.Note, tc.verdict, tc.id)
		}
	}
	// A text that is no licence at all, and a licence that is mostly
	// something else.
	if f := classify(File{}, []byte("Copyright 2026 Someone. All rights reserved. Do not copy.\n")); f.Verdict != Unknown {
		t.Errorf("no licence: %+v", f)
	}
	apache, err := os.ReadFile(filepath.Join("..", "..", "LICENSE"))
	if err != nil {
		t.Fatal(err)
	}
	extra := strings.Repeat("Additional terms: the rest of this file says what licensecheck does not know, "+
		"so a person must read it before it is trusted; it could restrict anything, even who may run the program.\n", 60)
	if f := classify(File{}, append(apache, extra...)); f.Verdict != Unknown || !strings.Contains(f.Note, "licence text") {
		t.Errorf("licence with much else: %s %.0f%% %s", f.Verdict, f.Percent, f.Note)
	}
}
