package archive

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/demandd/demandd/internal/i18n"
)

// Problem is one thing wrong with a bundle: the entry it concerns ("" for
// the bundle as a whole) and what is wrong, in both languages.
type Problem struct {
	Path string
	Text i18n.Text
}

// Report is what Verify found.
type Report struct {
	Manifest       *Manifest // nil when manifest.json is missing or unreadable
	ManifestSHA256 string
	Files          int // entries checked against the manifest
	Problems       []Problem
}

// OK reports whether everything matched.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

func (r *Report) add(path, zh, en string, args ...any) {
	r.Problems = append(r.Problems, Problem{Path: path, Text: i18n.Tf(zh, en, args...)})
}

// Verify opens the bundle at path and checks it: every entry name is
// safe; every file the manifest lists is there with its size and SHA-256,
// and no other; every raw item's bytes have the digest the manifest gives
// (a questionnaire row, its line); records.jsonl has as many lines as
// records and raw/ as many files per channel as the manifest counts. The
// error is for a bundle that cannot be read at all; everything else is in
// the report.
func Verify(ctx context.Context, path string) (*Report, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, i18n.Wrap(fmt.Errorf("archive: verify %s: %w", path, err),
			i18n.Tf("无法读取归档包 %s：%v", "cannot read the bundle %s: %v", path, err))
	}
	defer zr.Close()
	r := &Report{}
	entries := map[string]*zip.File{}
	for _, f := range zr.File {
		if err := CheckName(f.Name); err != nil {
			r.add(f.Name, "条目名称不安全：%v", "unsafe entry name: %v", err)
		}
		if entries[f.Name] != nil {
			r.add(f.Name, "条目重复", "entry appears twice")
		}
		entries[f.Name] = f
	}
	mf := entries[ManifestName]
	if mf == nil {
		r.add(ManifestName, "缺少 manifest.json", "manifest.json is missing")
		return r, nil
	}
	m, sum, err := readManifest(mf)
	if err != nil {
		r.add(ManifestName, "manifest.json 无法读取：%v", "manifest.json cannot be read: %v", err)
		return r, nil
	}
	r.Manifest, r.ManifestSHA256 = m, sum
	if m.Format != Format {
		r.add(ManifestName, "未知的格式 %q（应为 %q）", "unknown format %q (want %q)", m.Format, Format)
	}

	// Per file, the digests its items expect: the whole file's, or a line's.
	lines := map[string]map[int]string{}
	whole := map[string]string{}
	channels, statuses := map[string]int{}, map[string]int{}
	for _, it := range m.Items {
		channels[it.Channel]++
		statuses[it.Status]++
		switch {
		case it.Path == "" && it.ArchivedIn == "":
			r.add("", "原始条目 %d 没有对应的文件", "raw item %d names no file", it.ID)
		case it.Path == "":
		case it.Line > 0:
			if lines[it.Path] == nil {
				lines[it.Path] = map[int]string{}
			}
			lines[it.Path][it.Line] = it.SHA256
		default:
			whole[it.Path] = it.SHA256
		}
	}

	listed := map[string]bool{ManifestName: true}
	rawFiles := map[string]int{}
	records := -1
	for _, f := range m.Files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if listed[f.Path] {
			r.add(f.Path, "清单中重复列出", "listed twice in the manifest")
			continue
		}
		listed[f.Path] = true
		if ch, _, ok := strings.Cut(strings.TrimPrefix(f.Path, rawDir), "/"); ok && strings.HasPrefix(f.Path, rawDir) {
			rawFiles[ch]++
		}
		zf := entries[f.Path]
		if zf == nil {
			r.add(f.Path, "文件缺失", "file is missing")
			continue
		}
		r.Files++
		got, err := check(zf, lines[f.Path])
		if err != nil {
			r.add(f.Path, "无法读取：%v", "cannot be read: %v", err)
			continue
		}
		if got.size != f.Size {
			r.add(f.Path, "大小不符：清单 %d 字节，实际 %d 字节", "size differs: manifest %d bytes, file %d bytes", f.Size, got.size)
		}
		if got.sha != f.SHA256 {
			r.add(f.Path, "SHA-256 不符：清单 %s，实际 %s", "SHA-256 differs: manifest %s, file %s", f.SHA256, got.sha)
		}
		if want, ok := whole[f.Path]; ok && want != got.sha {
			r.add(f.Path, "原始条目的 SHA-256 不符", "the raw item's SHA-256 differs from the manifest's item")
		}
		for _, n := range got.badLines {
			r.add(f.Path, "第 %d 行的 SHA-256 与清单不符", "line %d: SHA-256 differs from the manifest's item", n)
		}
		if n := len(lines[f.Path]); n > 0 && got.lines != n {
			r.add(f.Path, "行数不符：清单 %d 行，实际 %d 行", "line count differs: manifest %d lines, file %d", n, got.lines)
		}
		if f.Path == RecordsJSONL {
			records = got.lines
		}
	}
	var extra []string
	for name := range entries {
		if !listed[name] {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	for _, name := range extra {
		r.add(name, "清单中没有此文件（多余的文件）", "extra file: not in the manifest")
	}
	for p := range lines {
		if !listed[p] {
			r.add(p, "原始条目指向清单中没有的文件", "raw items point to a file the manifest does not list")
		}
	}
	for p := range whole {
		if !listed[p] {
			r.add(p, "原始条目指向清单中没有的文件", "a raw item points to a file the manifest does not list")
		}
	}

	// Counts.
	if records >= 0 && records != m.Records {
		r.add(RecordsJSONL, "记录数不符：清单 %d 条，文件 %d 行", "record count differs: manifest %d, file %d lines", m.Records, records)
	}
	if records < 0 {
		r.add(RecordsJSONL, "清单未列出 records.jsonl", "the manifest does not list records.jsonl")
	}
	if len(m.Items) != m.Raw.Total {
		r.add(ManifestName, "原始条目数不符：合计 %d，列出 %d", "raw item count differs: total %d, %d listed", m.Raw.Total, len(m.Items))
	}
	compare := func(zh, en string, want, got map[string]int) {
		keys := map[string]bool{}
		for k := range want {
			keys[k] = true
		}
		for k := range got {
			keys[k] = true
		}
		var ks []string
		for k := range keys {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		for _, k := range ks {
			if want[k] != got[k] {
				r.add(rawDir+k, zh+" %s 的数目不符：清单 %d，实际 %d", en+" %s: manifest counts %d, found %d", k, want[k], got[k])
			}
		}
	}
	compare("原始文件", "raw entries", m.Raw.Entries, rawFiles)
	compare("渠道", "raw items of channel", m.Raw.Channels, channels)
	compare("状态", "raw items of status", m.Raw.Statuses, statuses)
	return r, nil
}

// readManifest decodes manifest.json and digests it.
func readManifest(f *zip.File) (*Manifest, string, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, "", err
	}
	defer rc.Close()
	h := sha256.New()
	var m Manifest
	if err := json.NewDecoder(io.TeeReader(rc, h)).Decode(&m); err != nil {
		return nil, "", err
	}
	if _, err := io.Copy(h, rc); err != nil { // the rest, for the digest and the CRC
		return nil, "", err
	}
	return &m, hex.EncodeToString(h.Sum(nil)), nil
}

type checked struct {
	size     int64
	sha      string
	lines    int
	badLines []int
}

// check reads one entry, digests it and, when want lists line digests,
// each line too. Lines are also counted for records.jsonl.
func check(f *zip.File, want map[int]string) (checked, error) {
	var c checked
	rc, err := f.Open()
	if err != nil {
		return c, err
	}
	defer rc.Close()
	h := sha256.New()
	br := bufio.NewReaderSize(io.TeeReader(rc, h), 256<<10)
	lh := sha256.New()
	for {
		chunk, err := br.ReadSlice('\n')
		c.size += int64(len(chunk))
		if want != nil {
			lh.Write(bytes.TrimSuffix(chunk, []byte{'\n'}))
		}
		if len(chunk) > 0 && chunk[len(chunk)-1] == '\n' {
			c.lines++
			if want != nil {
				if d := hex.EncodeToString(lh.Sum(nil)); want[c.lines] != d {
					c.badLines = append(c.badLines, c.lines)
				}
				lh.Reset()
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return c, err // zip.ErrChecksum among them
		}
	}
	c.sha = hex.EncodeToString(h.Sum(nil))
	return c, nil
}
