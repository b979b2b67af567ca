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
	"hash"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/flate"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/export"
	"github.com/demandd/demandd/internal/i18n"
	"github.com/demandd/demandd/store"
)

// Format names the bundle layout, in the manifest.
const Format = "demandd-archive/1"

// Names of the fixed entries.
const (
	ManifestName = "manifest.json"
	RecordsXLSX  = "records.xlsx"
	RecordsJSONL = "records.jsonl"
	rawDir       = "raw/"
)

// zipLevel is the deflate level of the entries. klauspost's level 5 keeps
// mail text about as small as zip -6 does at several times the speed, and
// gives up quickly on the already-compressed bytes of attachments.
const zipLevel = 5

// Manifest is manifest.json: what the bundle holds and every file's
// digest.
type Manifest struct {
	Format    string    `json:"format"`
	Period    string    `json:"period"`
	Since     time.Time `json:"since"`
	Until     time.Time `json:"until"`
	TimeZone  string    `json:"time_zone"`
	Generator string    `json:"generator"`
	CreatedAt time.Time `json:"created_at"`
	// Records is the number of records, one line each in records.jsonl.
	Records int       `json:"records"`
	Raw     RawCounts `json:"raw"`
	// Files lists every entry but the manifest, in the zip's order.
	Files []File `json:"files,omitempty"`
	// Items lists every raw item and where its bytes are.
	Items []Item `json:"items,omitempty"`
}

// RawCounts counts the period's raw items.
type RawCounts struct {
	Total    int            `json:"total"`
	Channels map[string]int `json:"channels"` // items per channel
	Statuses map[string]int `json:"statuses"` // items per status: ok, quarantined, ignored
	// Entries counts the files under raw/<channel>/ per channel: one per
	// email or webhook body, one per questionnaire file.
	Entries map[string]int `json:"entries"`
	// Purged counts items whose bytes had been purged from the register
	// before this bundle was made: no file holds them; their item names
	// the bundle that does.
	Purged int `json:"purged,omitempty"`
}

// File is one entry's size and digest.
type File struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Item is one raw item: the file holding its bytes (for a questionnaire
// row, the line of its file's .jsonl) and their SHA-256.
type Item struct {
	ID      int64  `json:"id"`
	Channel string `json:"channel"`
	Status  string `json:"status"`
	Code    string `json:"code,omitempty"`
	Path    string `json:"path,omitempty"`
	Line    int    `json:"line,omitempty"` // 1-based, in a questionnaire .jsonl
	Row     int    `json:"row,omitempty"`  // the row of the questionnaire file
	File    string `json:"file,omitempty"` // the questionnaire file's name as it came
	SHA256  string `json:"sha256"`
	// ArchivedIn names the bundle holding the bytes of an item purged
	// before this bundle was made.
	ArchivedIn string `json:"archived_in,omitempty"`
}

// Options tune Write.
type Options struct {
	// Location is the zone of the period and of records.xlsx (default
	// Asia/Shanghai).
	Location *time.Location
	// Generator is the demandd version, recorded in the manifest.
	Generator string
	// Now is the creation time (default time.Now()).
	Now time.Time
	// Locale is the language of records.xlsx.
	Locale i18n.Locale
	// FileMode is the bundle's mode (default 0640), set whatever the
	// umask: it holds customers' mail.
	FileMode os.FileMode
	// Progress, when set, is called after each raw item with the items
	// and bytes written so far.
	Progress func(items int, bytes int64)
}

// Result is what Write made.
type Result struct {
	Path           string
	ManifestSHA256 string
	Records        int
	Raw            RawCounts
	Bytes          int64 // raw bytes written, before compression
	Size           int64 // the bundle's size
}

// Write makes the bundle of period p at path: it streams the records and
// raw items from st into a zip beside path and renames it over path once
// complete and synced.
func Write(ctx context.Context, path string, st *store.Store, p Period, opts Options) (res Result, err error) {
	if opts.Location == nil {
		opts.Location = p.Since.Location()
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	mode := opts.FileMode.Perm()
	if mode == 0 {
		mode = 0o640
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return res, fmt.Errorf("archive: create %s: %w", path, err)
	}
	w := &writer{now: opts.Now, qnames: map[string]bool{}, opts: opts}
	defer func() {
		w.removeSpools()
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(mode); err != nil {
		return res, fmt.Errorf("archive: create %s: %w", path, err)
	}
	if w.files, err = newSpool(dir); err == nil {
		w.items, err = newSpool(dir)
	}
	if err != nil {
		return res, fmt.Errorf("archive: create %s: %w", path, err)
	}
	out := bufio.NewWriterSize(tmp, 1<<20)
	w.zw = zip.NewWriter(out)
	w.zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, zipLevel)
	})
	m := Manifest{Format: Format, Period: p.Name, Since: p.Since, Until: p.Until, TimeZone: opts.Location.String(),
		Generator: opts.Generator, CreatedAt: opts.Now.In(opts.Location),
		Raw: RawCounts{Channels: map[string]int{}, Statuses: map[string]int{}, Entries: map[string]int{}}}

	if err = w.records(ctx, st, p, &m); err != nil {
		return res, err
	}
	if err = w.raw(ctx, st, p, &m); err != nil {
		return res, err
	}
	sum, err := w.manifest(&m)
	if err != nil {
		return res, err
	}
	if err = w.zw.Close(); err == nil {
		err = out.Flush()
	}
	if err == nil {
		err = tmp.Sync()
	}
	var size int64
	if fi, serr := tmp.Stat(); serr == nil {
		size = fi.Size()
	}
	if err == nil {
		err = tmp.Close()
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return res, fmt.Errorf("archive: write %s: %w", path, err)
	}
	syncDir(dir)
	return Result{Path: path, ManifestSHA256: sum, Records: m.Records, Raw: m.Raw, Bytes: w.bytes, Size: size}, nil
}

// writer writes one bundle's entries, one open at a time.
type writer struct {
	zw    *zip.Writer
	opts  Options
	now   time.Time
	files *spool // File lines for the manifest
	items *spool // Item lines for the manifest
	cur   *entry
	// qnames are the questionnaire entries' names: files are few, and a
	// file whose rows come in two runs gets a second, distinct name.
	qnames map[string]bool
	nitems int
	bytes  int64
}

// entry is the open zip entry, hashed and counted as it is written.
type entry struct {
	path string
	w    io.Writer
	h    hash.Hash
	n    int64
	line int // lines written, for a questionnaire .jsonl
}

func (e *entry) Write(p []byte) (int, error) {
	n, err := e.w.Write(p)
	e.h.Write(p[:n])
	e.n += int64(n)
	return n, err
}

// open closes the open entry and starts name.
func (w *writer) open(name string, modified time.Time) (*entry, error) {
	if err := w.close(); err != nil {
		return nil, err
	}
	if err := CheckName(name); err != nil { // a bug, never a customer's name
		return nil, fmt.Errorf("archive: entry %q: %w", name, err)
	}
	zw, err := w.zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: modified})
	if err != nil {
		return nil, fmt.Errorf("archive: entry %s: %w", name, err)
	}
	w.cur = &entry{path: name, w: zw, h: sha256.New()}
	return w.cur, nil
}

// close records the open entry's size and digest.
func (w *writer) close() error {
	if w.cur == nil {
		return nil
	}
	e := w.cur
	w.cur = nil
	return w.files.add(File{Path: e.path, Size: e.n, SHA256: hex.EncodeToString(e.h.Sum(nil))})
}

// records writes records.xlsx and records.jsonl.
func (w *writer) records(ctx context.Context, st *store.Store, p Period, m *Manifest) error {
	e, err := w.open(RecordsXLSX, w.now)
	if err != nil {
		return err
	}
	if _, err := export.WriteTable(ctx, e, st, demand.Filter{Since: p.Since, Until: p.Until},
		export.TableOptions{Location: w.opts.Location, Now: w.now, Locale: w.opts.Locale}); err != nil {
		return fmt.Errorf("archive: %s: %w", RecordsXLSX, err)
	}
	if e, err = w.open(RecordsJSONL, w.now); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(e, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	type line struct {
		Code    string               `json:"code"`
		Record  *demand.Record       `json:"record"`
		History []store.HistoryEntry `json:"history"`
	}
	err = st.EachRecordWithHistory(ctx, p.Since, p.Until, func(r *demand.Record, h []store.HistoryEntry) error {
		if h == nil {
			h = []store.HistoryEntry{}
		}
		m.Records++
		return enc.Encode(line{Code: r.Code, Record: r, History: h}) // one line: Encode adds the newline
	})
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return fmt.Errorf("archive: %s: %w", RecordsJSONL, err)
	}
	return nil
}

// questionnaireRow is what the writer reads of a row's body.
type questionnaireRow struct {
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
	Row    int    `json:"row"`
}

// raw writes every raw item of the period under raw/.
func (w *writer) raw(ctx context.Context, st *store.Store, p Period, m *Manifest) error {
	group := "" // the questionnaire file whose .jsonl is open
	err := st.EachRawItem(ctx, p.Since, p.Until, func(it *store.ArchiveRaw) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		m.Raw.Total++
		m.Raw.Channels[it.Channel]++
		m.Raw.Statuses[string(it.Status)]++
		item := Item{ID: it.ID, Channel: it.Channel, Status: string(it.Status), Code: it.Code, SHA256: it.SHA256}
		if item.Code == "" {
			item.Code = it.FollowUpOf
		}
		if it.Purged {
			// The bytes are in the earlier bundle: named, not copied.
			m.Raw.Purged++
			item.ArchivedIn = it.ArchivedIn
			group = ""
			return w.items.add(item)
		}
		sum := sha256.Sum256(it.Body)
		item.SHA256 = hex.EncodeToString(sum[:])
		var row questionnaireRow
		if it.Channel == string(demand.ChannelQuestionnaire) && bytes.IndexByte(it.Body, '\n') < 0 &&
			json.Unmarshal(it.Body, &row) == nil {
			key := row.SHA256
			if key == "" {
				key, _, _ = strings.Cut(it.ExternalKey, ":")
			}
			key += "\x00" + row.File
			if key != group || w.cur == nil {
				if _, err := w.open(w.questionnaireName(row, it.ExternalKey, it.ID), it.ReceivedAt); err != nil {
					return err
				}
				m.Raw.Entries[it.Channel]++
				group = key
			}
			if _, err := w.cur.Write(it.Body); err != nil {
				return fmt.Errorf("archive: raw item %d: %w", it.ID, err)
			}
			if _, err := w.cur.Write([]byte{'\n'}); err != nil {
				return fmt.Errorf("archive: raw item %d: %w", it.ID, err)
			}
			w.cur.line++
			item.Path, item.Line, item.Row, item.File = w.cur.path, w.cur.line, row.Row, row.File
		} else {
			group = ""
			e, err := w.open(itemName(it), it.ReceivedAt)
			if err != nil {
				return err
			}
			m.Raw.Entries[it.Channel]++
			if _, err := e.Write(it.Body); err != nil {
				return fmt.Errorf("archive: raw item %d: %w", it.ID, err)
			}
			item.Path = e.path
		}
		w.nitems++
		w.bytes += int64(len(it.Body))
		if w.opts.Progress != nil {
			w.opts.Progress(w.nitems, w.bytes)
		}
		return w.items.add(item)
	})
	if err != nil {
		return fmt.Errorf("archive: raw items: %w", err)
	}
	return w.close()
}

// itemName is the entry of an email, webhook body or other raw item:
// named by its demand's code, "<code>_<id>" for a follow-up, "raw_<id>"
// when it made no demand (quarantined, ignored). Codes keep only
// [A-Za-z0-9-], so the '_' keeps names unique whatever the codes are.
func itemName(it *store.ArchiveRaw) string {
	id := strconv.FormatInt(it.ID, 10)
	name := "raw_" + id
	switch {
	case it.Code != "":
		name = codeName(it.Code)
	case it.FollowUpOf != "":
		name = codeName(it.FollowUpOf) + "_" + id
	}
	switch it.Channel {
	case string(demand.ChannelEmail):
		return rawDir + "email/" + name + ".eml"
	case string(demand.ChannelWebhook):
		return rawDir + "webhook/" + name + ".json"
	case string(demand.ChannelQuestionnaire): // a row body that is not one JSON line
		return rawDir + "questionnaire/" + name + ".bin"
	}
	return rawDir + safeComponent(it.Channel, 20) + "/" + name + ".bin"
}

// questionnaireName is a questionnaire file's entry: the start of its
// SHA-256 and its name made safe, unique in the bundle.
func (w *writer) questionnaireName(row questionnaireRow, key string, id int64) string {
	sha := row.SHA256
	if sha == "" {
		sha, _, _ = strings.Cut(key, ":")
	}
	name := rawDir + "questionnaire/" + safeComponent(cut(sha, 16), 16) + "-" + safeComponent(row.File, maxFileName)
	if w.qnames[name] {
		name += "_" + strconv.FormatInt(id, 10)
	}
	w.qnames[name] = true
	return name + ".jsonl"
}

// manifest writes manifest.json, last, and returns its SHA-256. Its lists
// come from the spools, so they are never all in memory.
func (w *writer) manifest(m *Manifest) (string, error) {
	if err := w.close(); err != nil {
		return "", err
	}
	e, err := w.open(ManifestName, w.now)
	if err != nil {
		return "", err
	}
	head, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return "", fmt.Errorf("archive: manifest: %w", err)
	}
	bw := bufio.NewWriter(e)
	bw.Write(bytes.TrimSuffix(head, []byte("\n}")))
	bw.WriteString(",\n  \"files\": [")
	if err := w.files.copyTo(bw); err != nil {
		return "", err
	}
	bw.WriteString("\n  ],\n  \"items\": [")
	if err := w.items.copyTo(bw); err != nil {
		return "", err
	}
	bw.WriteString("\n  ]\n}\n")
	if err := bw.Flush(); err != nil {
		return "", fmt.Errorf("archive: manifest: %w", err)
	}
	sum := hex.EncodeToString(e.h.Sum(nil))
	w.cur = nil // not listed in itself
	return sum, nil
}

// spool keeps the manifest's lists in a temporary file while the bundle
// is written.
type spool struct {
	f *os.File
	b *bufio.Writer
	n int
}

func newSpool(dir string) (*spool, error) {
	f, err := os.CreateTemp(dir, ".demandd-archive-*.spool")
	if err != nil {
		return nil, err
	}
	return &spool{f: f, b: bufio.NewWriter(f)}, nil
}

func (s *spool) add(v any) error {
	j, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("archive: manifest: %w", err)
	}
	if s.n > 0 {
		s.b.WriteByte(',')
	}
	s.n++
	s.b.WriteString("\n    ")
	if _, err := s.b.Write(j); err != nil {
		return fmt.Errorf("archive: manifest spool: %w", err)
	}
	return nil
}

func (s *spool) copyTo(w io.Writer) error {
	if err := s.b.Flush(); err != nil {
		return fmt.Errorf("archive: manifest spool: %w", err)
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("archive: manifest spool: %w", err)
	}
	if _, err := io.Copy(w, s.f); err != nil {
		return fmt.Errorf("archive: manifest spool: %w", err)
	}
	return nil
}

func (w *writer) removeSpools() {
	for _, s := range []*spool{w.files, w.items} {
		if s != nil {
			s.f.Close()
			os.Remove(s.f.Name())
		}
	}
}

// syncDir makes a rename in dir durable; best effort.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}
