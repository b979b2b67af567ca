// Package licenses lists the licences of the code linked into a Go
// binary: every non-standard package `go list -deps` names, the licence
// files nearest to it in the module cache (its own folder, else the
// closest parent up to the module's root), each classified by its text
// with github.com/google/licensecheck.
//
// A file is Allowed when every licence found in it is on the Allowed list
// and it is mostly licence text; Forbidden when any is GPL, AGPL or LGPL
// (demandd is Apache-2.0 and ships one static binary); Unknown otherwise,
// until someone reads it and adds it to Reviewed with the reason. The
// test in this package fails on anything not Allowed; `make licenses`
// prints the table.
package licenses

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/google/licensecheck"
)

// Allowed are the licences demandd may link: permissive ones, and MPL-2.0,
// whose file-level copyleft a binary meets by pointing at the unchanged
// source.
var Allowed = []string{"Apache-2.0", "MIT", "BSD-2-Clause", "BSD-2-Clause-Views", "BSD-3-Clause", "ISC", "MPL-2.0",
	"Zlib", "0BSD", "Unlicense", "CC0-1.0", "BSL-1.0"}

// forbidden matches the licence IDs that must not be linked.
var forbidden = regexp.MustCompile(`^(A|L)?GPL`)

// Reviewed are licence files that licensecheck cannot classify and a
// person has read: "module path sha256" (the first 16 hex digits of the
// file's SHA-256, so that a changed file is read again) → what it is. A
// reviewed file is allowed whatever licensecheck finds in it. Add one only
// after reading the file; the test's message gives the key.
var Reviewed = map[string]string{
	// SQLite's author disclaims copyright: the public-domain blessing.
	"modernc.org/sqlite LICENSE-SQLITE 8438c9c89b849131": "public domain (SQLite's blessing)",
	// An inventory of third-party code: what is linked is MIT,
	// BSD-3-Clause and SQLite's public domain; MPL-2.0 (hashicorp's LRU)
	// and Apache-2.0 (pprof) only in its module graph and its tests.
	"modernc.org/sqlite LICENSE-3RD-PARTY.md f4a00ade8f4057ab": "notices: MIT, BSD-3-Clause, public domain",
	// Notices for the Go code (BSD-3-Clause), musl, go-netdb and
	// nixpkgs (MIT) that libc carries.
	"modernc.org/libc LICENSE-3RD-PARTY.md f597097efe3d9702": "notices: BSD-3-Clause, MIT",
	// Only the address of the logo's source on Wikimedia Commons: the
	// logo is not linked.
	"modernc.org/memory LICENSE-LOGO 5ae5bee3072a8413": "logo attribution (not code)",
}

// Verdict is how a licence file is judged.
type Verdict string

const (
	Ok        Verdict = "allowed"
	Forbidden Verdict = "FORBIDDEN"
	Unknown   Verdict = "UNKNOWN"
)

// File is one licence file of a linked module.
type File struct {
	Module  string // module path
	Version string // "" for the main module
	Path    string // relative to the module's root: "LICENSE", "zstd/internal/xxhash/LICENSE.txt"
	Abs     string
	IDs     []string // licences found in the text, SPDX identifiers
	Percent float64  // of the text that is licence text
	Verdict Verdict
	Note    string // why, when not plainly allowed
	// Key is the file's key in Reviewed.
	Key string
}

// Module is a linked module without any licence file.
type Module struct{ Path, Version string }

// licenceName matches the names of licence files: LICENSE, LICENCE.md,
// COPYING, LICENSE-MIT, LICENSE-3RD-PARTY.md, UNLICENSE … — not NOTICE or
// PATENTS, which go with a licence rather than being one.
var licenceName = regexp.MustCompile(`(?i)^(un)?(licen[cs]e|copying)([-._].*)?$`)

// List runs `go list -deps` on pkg from dir and classifies the licence
// files of every module it links. Modules without any licence file are
// returned apart: they are not allowed either.
func List(ctx context.Context, dir, pkg string) ([]File, []Module, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-deps", "-f",
		`{{if not .Standard}}{{.Dir}}{{"\t"}}{{with .Module}}{{.Path}}{{"\t"}}{{.Version}}{{"\t"}}{{.Dir}}{{with .Replace}}{{"\t"}}{{.Path}}{{"\t"}}{{.Version}}{{"\t"}}{{.Dir}}{{end}}{{end}}{{end}}`, pkg)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, nil, fmt.Errorf("licenses: go list -deps %s: %w: %s", pkg, err, stderr.Bytes())
	}
	seen := map[string]bool{}
	var files []File
	found := map[string]bool{} // module path → has a licence file
	mods := map[string]Module{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) < 4 {
			continue // a package outside any module: none in a module build
		}
		pkgDir, modPath, modVersion, modDir := f[0], f[1], f[2], f[3]
		if len(f) == 7 { // replaced: the code linked is the replacement's
			modPath, modVersion, modDir = f[4], f[5], f[6]
		}
		mods[modPath] = Module{modPath, modVersion}
		for _, abs := range nearest(pkgDir, modDir) {
			found[modPath] = true
			if seen[abs] {
				continue
			}
			seen[abs] = true
			rel, _ := filepath.Rel(modDir, abs)
			text, err := os.ReadFile(abs)
			if err != nil {
				return nil, nil, fmt.Errorf("licenses: %w", err)
			}
			files = append(files, classify(File{Module: modPath, Version: modVersion, Path: filepath.ToSlash(rel), Abs: abs}, text))
		}
	}
	var missing []Module
	for p, m := range mods {
		if !found[p] {
			missing = append(missing, m)
		}
	}
	sort.Slice(files, func(i, j int) bool {
		if files[i].Module != files[j].Module {
			return files[i].Module < files[j].Module
		}
		return files[i].Path < files[j].Path
	})
	sort.Slice(missing, func(i, j int) bool { return missing[i].Path < missing[j].Path })
	return files, missing, nil
}

// nearest are the licence files of the closest folder that has any, from
// dir up to root.
func nearest(dir, root string) []string {
	for {
		entries, _ := os.ReadDir(dir)
		var out []string
		for _, e := range entries {
			if e.Type().IsRegular() && licenceName.MatchString(e.Name()) {
				out = append(out, filepath.Join(dir, e.Name()))
			}
		}
		if len(out) > 0 {
			return out
		}
		if rel, err := filepath.Rel(root, dir); err != nil || rel == "." || strings.HasPrefix(rel, "..") {
			return nil
		}
		dir = filepath.Dir(dir)
	}
}

// minPercent is how much of a file must be licence text for its verdict
// to stand: below it, the file says more than the licences found (a list
// of third-party terms, a changed licence) and a person must read it.
const minPercent = 75

// classify judges one licence file by its text.
func classify(f File, text []byte) File {
	sum := sha256.Sum256(text)
	f.Key = f.Module + " " + f.Path + " " + hex.EncodeToString(sum[:8])
	if what, ok := Reviewed[f.Key]; ok {
		f.IDs, f.Percent, f.Verdict, f.Note = []string{what}, 100, Ok, "reviewed"
		return f
	}
	cov := licensecheck.Scan(text)
	f.Percent = cov.Percent
	for _, m := range cov.Match {
		if !slices.Contains(f.IDs, m.ID) {
			f.IDs = append(f.IDs, m.ID)
		}
	}
	var bad, other []string
	for _, id := range f.IDs {
		switch {
		case forbidden.MatchString(id):
			bad = append(bad, id)
		case !slices.Contains(Allowed, id):
			other = append(other, id)
		}
	}
	switch {
	case len(bad) > 0:
		f.Verdict, f.Note = Forbidden, strings.Join(bad, ", ")+" must not be linked into demandd"
	case len(f.IDs) == 0:
		f.Verdict, f.Note = Unknown, "no licence recognised"
	case len(other) > 0:
		f.Verdict, f.Note = Unknown, strings.Join(other, ", ")+" is not on the allowed list"
	case cov.Percent < minPercent:
		f.Verdict, f.Note = Unknown, fmt.Sprintf("only %.0f%% of the text is licence text", cov.Percent)
	default:
		f.Verdict = Ok
	}
	return f
}

// Table writes the licences as a table, one file a line.
func Table(files []File, missing []Module) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-58s %-36s %-9s %s\n", "MODULE", "FILE", "VERDICT", "LICENCE")
	for _, f := range files {
		mod := f.Module
		if f.Version != "" {
			mod += "@" + f.Version
		}
		ids := strings.Join(f.IDs, " + ")
		if f.Note != "" {
			ids += " (" + f.Note + ")"
		}
		fmt.Fprintf(&b, "%-58s %-36s %-9s %s\n", mod, f.Path, f.Verdict, ids)
	}
	for _, m := range missing {
		fmt.Fprintf(&b, "%-58s %-36s %-9s %s\n", m.Path+"@"+m.Version, "-", Unknown, "no licence file")
	}
	return b.String()
}
