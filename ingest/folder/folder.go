// Package folder is the watched-folder channel: questionnaire exports
// (.xlsx, .csv, legacy .xls) dropped into a folder become one item per row.
//
// The folder is watched with fsnotify and rescanned periodically, because
// events are lost on some file systems (network shares, some container
// mounts). A file is read once its size and mtime have not changed for
// StableFor. Hidden files, Office lock files (~$*) and partial downloads
// (*.tmp, *.part, *.crdownload) are left alone.
//
// A file's identity is its SHA-256; a row's is that plus its row number.
// Rows are emitted in batches, each with the file's checkpoint (rows done),
// so a restart resumes where the last commit stood, and the same file
// dropped again under any name adds nothing. Only after the last batch has
// committed does the file move to processed/YYYY-MM-DD/. A file that cannot
// be read moves to failed/ with NAME.error.txt saying, in one line, what is
// wrong and what to do.
package folder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/ingest"
	"github.com/demandd/demandd/internal/i18n"
)

// Config configures one watched folder.
type Config struct {
	Name         string
	Path         string
	ProcessedDir string
	FailedDir    string
	StableFor    time.Duration
	// EmptyGrace is how long a file may stay at 0 bytes before it is
	// called empty: a copy over a slow share or a browser download often
	// creates the file long before its first byte (default 10 minutes).
	EmptyGrace time.Duration
	Rescan     time.Duration
	Origin     demand.Origin
	// BatchSize is the number of rows committed together (default 1000).
	BatchSize int
	// Concurrency is how many files are read at once (default 2).
	Concurrency int
	// UnreadableRetries is how many times a file demandd may not read
	// (permissions) is tried before it is set aside (default 3).
	UnreadableRetries int
	// MaxFileSize is the largest file read, in bytes (default 200 MB); an
	// .xlsx may unpack to ten times as much.
	MaxFileSize int64
	// MaxRows is the most rows a file may have (default 1,000,000).
	MaxRows int
	// MaxCell is the most bytes of one cell kept on a record (default
	// 64 KB); the raw row keeps the cell whole.
	MaxCell int
	// Location dates the processed/YYYY-MM-DD folders.
	Location *time.Location
	// Locale is the language of NAME.error.txt and of the reason recorded
	// in the register (default Chinese).
	Locale i18n.Locale
	Logger *slog.Logger
	// FileMode is the mode of NAME.error.txt (default 0640), set whatever
	// the umask.
	FileMode os.FileMode
}

// Source watches one folder.
type Source struct {
	cfg Config
	log *slog.Logger
	// recorded are the files in failed/ known to be in the register;
	// workers add to it while the scan reads it.
	recordedMu sync.Mutex
	recorded   map[string]bool
}

func (s *Source) isRecorded(path string) bool {
	s.recordedMu.Lock()
	defer s.recordedMu.Unlock()
	return s.recorded[path]
}

func (s *Source) markRecorded(path string) {
	s.recordedMu.Lock()
	defer s.recordedMu.Unlock()
	s.recorded[path] = true
}

var _ ingest.Source = (*Source)(nil)

// New checks cfg and builds the source.
func New(cfg Config) (*Source, error) {
	if cfg.Name == "" || cfg.Path == "" {
		return nil, errors.New("folder: a folder source needs a name and a path")
	}
	if cfg.ProcessedDir == "" {
		cfg.ProcessedDir = filepath.Join(cfg.Path, "processed")
	}
	if cfg.FailedDir == "" {
		cfg.FailedDir = filepath.Join(cfg.Path, "failed")
	}
	if cfg.StableFor <= 0 {
		cfg.StableFor = DefaultStableFor
	}
	if cfg.Rescan <= 0 {
		cfg.Rescan = DefaultRescan
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.UnreadableRetries <= 0 {
		cfg.UnreadableRetries = DefaultUnreadableRetries
	}
	if cfg.EmptyGrace <= 0 {
		cfg.EmptyGrace = DefaultEmptyGrace
	}
	if cfg.Locale == "" {
		cfg.Locale = i18n.ZH
	}
	if cfg.Origin == "" {
		cfg.Origin = demand.OriginRaised
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 1000
	}
	if cfg.MaxFileSize <= 0 {
		cfg.MaxFileSize = DefaultMaxFileSize
	}
	if cfg.MaxRows <= 0 {
		cfg.MaxRows = DefaultMaxRows
	}
	if cfg.MaxCell <= 0 {
		cfg.MaxCell = DefaultMaxCell
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Source{cfg: cfg, log: cfg.Logger.With("source", cfg.Name, "channel", "questionnaire"), recorded: map[string]bool{}}, nil
}

// Name implements ingest.Source.
func (s *Source) Name() string { return s.cfg.Name }

// candidate is a file seen in the folder and not yet handled.
type candidate struct {
	size    int64
	mtime   time.Time
	since   time.Time // when size and mtime were last seen to change
	retryAt time.Time // after a transient failure
	fails   int
	name    string
	waited  bool // "still empty" logged
	link    bool // a symbolic link: set aside at once, never read
	busy    bool // a worker is reading it
}

// stable reports whether c has stood still long enough to be read. A
// 0-byte file is not yet stable: it is given EmptyGrace to get its bytes.
func (s *Source) stable(c *candidate, now time.Time) bool {
	quiet := now.Sub(c.since)
	if c.size > 0 {
		return quiet >= s.cfg.StableFor
	}
	if quiet >= max(s.cfg.EmptyGrace, s.cfg.StableFor) {
		return true
	}
	if quiet >= s.cfg.StableFor && !c.waited {
		c.waited = true
		s.log.Debug("file is still empty; waiting for its content", "file", c.name, "grace", s.cfg.EmptyGrace)
	}
	return false
}

// Run implements ingest.Source.
func (s *Source) Run(ctx context.Context, sink ingest.Sink, state ingest.State) error {
	for _, d := range []string{s.cfg.Path, s.cfg.ProcessedDir, s.cfg.FailedDir} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return fmt.Errorf("folder %s: create %s: %w", s.cfg.Name, d, err)
		}
	}
	events, errs := s.watch(ctx)
	pending := map[string]*candidate{}
	now := time.Now()
	see := func(path string) {
		if ignored(filepath.Base(path)) {
			return
		}
		if c := pending[path]; c != nil && c.busy {
			return // being read: its worker decides
		}
		// Lstat: a link is seen as a link, never as what it points to.
		fi, err := os.Lstat(path)
		if err != nil || !(fi.Mode().IsRegular() || fi.Mode()&fs.ModeSymlink != 0) {
			delete(pending, path)
			return
		}
		c, ok := pending[path]
		if !ok {
			pending[path] = &candidate{size: fi.Size(), mtime: fi.ModTime(), since: now, name: filepath.Base(path),
				link: fi.Mode()&fs.ModeSymlink != 0}
			return
		}
		if c.size != fi.Size() || !c.mtime.Equal(fi.ModTime()) {
			c.size, c.mtime, c.since = fi.Size(), fi.ModTime(), now
		}
	}
	listErr := "" // logged once per change, not at every rescan
	scan := func() {
		s.recordFailedFolder(ctx, sink)
		entries, err := os.ReadDir(s.cfg.Path)
		if err != nil {
			if err.Error() != listErr {
				s.log.Error("cannot list the folder; looking again at every rescan", "path", s.cfg.Path, "err", err)
				listErr = err.Error()
			}
			return
		}
		if listErr != "" {
			s.log.Info("folder can be listed again", "path", s.cfg.Path)
			listErr = ""
		}
		for _, e := range entries {
			if !e.IsDir() {
				see(filepath.Join(s.cfg.Path, e.Name()))
			}
		}
	}

	// Files are read by a few workers at once, smallest first, so that a
	// large or failing file never holds up the others.
	type outcome struct {
		path string
		err  error
	}
	done := make(chan outcome, s.cfg.Concurrency)
	busy := 0
	var workers sync.WaitGroup
	defer workers.Wait() // in-flight commits finish before Run returns
	start := func() {
		var ready []string
		for path, c := range pending {
			if c.busy {
				continue
			}
			see(path)
			if pending[path] == nil || now.Before(c.retryAt) || !(c.link || s.stable(c, now)) {
				continue
			}
			ready = append(ready, path)
		}
		sort.Slice(ready, func(i, j int) bool { return pending[ready[i]].size < pending[ready[j]].size })
		for _, path := range ready {
			if busy >= s.cfg.Concurrency {
				return
			}
			c := pending[path]
			c.busy = true
			busy++
			workers.Add(1)
			go func() {
				defer workers.Done()
				done <- outcome{path, s.handle(ctx, path, c, sink, state)}
			}()
		}
	}

	scan()
	check := time.NewTicker(min(max(s.cfg.StableFor/4, 50*time.Millisecond), time.Second))
	defer check.Stop()
	rescan := time.NewTicker(s.cfg.Rescan)
	defer rescan.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-events:
			now = time.Now()
			if filepath.Dir(ev.Name) == filepath.Clean(s.cfg.Path) {
				see(ev.Name)
			}
		case err := <-errs:
			s.log.Warn("file system events lost; the periodic rescan will catch up", "err", err)
		case <-rescan.C:
			now = time.Now()
			scan()
		case <-check.C:
			now = time.Now()
			start()
		case o := <-done:
			busy--
			now = time.Now()
			c := pending[o.path]
			c.busy = false
			if ctx.Err() != nil {
				continue
			}
			s.settle(o.path, c, o.err, pending, now)
			start()
		}
	}
}

// settle decides what becomes of a file after its worker returned.
func (s *Source) settle(path string, c *candidate, err error, pending map[string]*candidate, now time.Time) {
	name := filepath.Base(path)
	switch {
	case err == nil:
		delete(pending, path)
	case errors.Is(err, errGone):
		s.log.Warn("file deleted or moved away while it was read; the rows read so far are kept", "file", name)
		delete(pending, path)
	case errors.Is(err, errChanged):
		s.log.Warn("file changed while it was read; nothing of it is marked done, it is read again once it is stable", "file", name)
		c.since, c.size, c.mtime = now, -1, time.Time{} // stable again only after a fresh look
	case errors.Is(err, errSetAside):
		// Could not be moved: the reason is beside it; look again hourly.
		c.fails++
		c.retryAt = now.Add(time.Hour)
	default:
		c.fails++
		c.retryAt = now.Add(backoff(c.fails))
		s.log.Error("import failed; will retry", "file", name, "err", err, "retry_in", backoff(c.fails))
	}
}

func backoff(fails int) time.Duration {
	d := time.Second << min(fails, 8)
	return min(d, 5*time.Minute)
}

// watch starts fsnotify; without it the rescan alone finds files.
func (s *Source) watch(ctx context.Context) (<-chan fsnotify.Event, <-chan error) {
	w, err := fsnotify.NewWatcher()
	if err == nil {
		err = w.Add(s.cfg.Path)
	}
	if err != nil {
		s.log.Warn("file system events unavailable; relying on the periodic rescan", "err", err, "rescan", s.cfg.Rescan)
		if w != nil {
			w.Close()
		}
		return nil, nil
	}
	context.AfterFunc(ctx, func() { w.Close() })
	return w.Events, w.Errors
}

// ignored reports names that are never questionnaire exports in progress
// or at rest: hidden files, Office lock files, partial downloads.
func ignored(name string) bool {
	lower := strings.ToLower(name)
	switch {
	case strings.HasPrefix(name, "."), strings.HasPrefix(name, "~$"),
		strings.HasSuffix(lower, ".tmp"), strings.HasSuffix(lower, ".part"),
		strings.HasSuffix(lower, ".crdownload"), strings.HasSuffix(lower, ".error.txt"),
		lower == "thumbs.db", lower == "desktop.ini":
		return true
	}
	return false
}

// handle imports one stable file and moves it, or sets it aside. It
// returns an error for what may pass (the database away, a file changed
// while read): the file stays and is looked at again.
func (s *Source) handle(ctx context.Context, path string, c *candidate, sink ingest.Sink, state ingest.State) error {
	name := filepath.Base(path)
	start := time.Now()
	table := &tableImport{locale: s.cfg.Locale}
	defer table.receipt.close()
	sum, err := importAny(ctx, path, s.cfg.Name, s.cfg.Origin, s.readOptions(), sink, state, nil, table)
	if reason, ok := Reason(err); ok {
		return s.fail(ctx, sink, path, reason)
	}
	if errors.Is(err, fs.ErrPermission) && c.fails+1 >= s.cfg.UnreadableRetries {
		// Retrying will not give demandd the right to read it.
		return s.fail(ctx, sink, path, i18n.Tf("demandd 没有读取这个文件的权限（已试 %d 次）：请让运行 demandd 的用户可以读取它（chmod / chown），然后重新放入",
			"demandd may not read this file (tried %d times): let the user demandd runs as read it (chmod / chown), then drop it in again", c.fails+1))
	}
	if err != nil {
		return err
	}
	dir := filepath.Join(s.cfg.ProcessedDir, time.Now().In(s.cfg.Location).Format("2006-01-02"))
	dst, err := moveInto(path, dir)
	if err != nil {
		return fmt.Errorf("folder %s: move %s to %s: %w", s.cfg.Name, name, dir, err)
	}
	if table.found {
		s.tableReturned(ctx, sink, table, dst, time.Since(start))
		return nil
	}
	s.log.Info("file imported", "file", name, "new", sum.New, "duplicate", sum.Duplicate,
		"quarantined", sum.Quarantined, "rows", sum.Total(), "took", time.Since(start).Round(time.Millisecond), "moved_to", dst)
	return nil
}

// Reason reports whether err says a file can never be read as it is, and
// why, in both languages.
func Reason(err error) (i18n.Text, bool) {
	var fe *FileError
	if errors.As(err, &fe) {
		return fe.Text, true
	}
	if rej, ok := ingest.IsReject(err); ok {
		var ie *i18n.Error
		if errors.As(err, &ie) {
			return ie.Text, true
		}
		return i18n.T(rej.Reason, rej.Reason), true
	}
	return i18n.Text{}, false
}

// fail moves the file to the failed folder, writes NAME.error.txt and
// records it in the register.
func (s *Source) fail(ctx context.Context, sink ingest.Sink, path string, reason i18n.Text) error {
	name := filepath.Base(path)
	var size int64
	if fi, err := os.Lstat(path); err == nil {
		size = fi.Size()
	}
	sha, _ := fileSHA256(path) // "" if unreadable or a link: the record still says where the file is
	msg := reason.In(s.cfg.Locale)
	dst, err := moveInto(path, s.cfg.FailedDir)
	setAside := err != nil
	if setAside {
		// It cannot be moved (a folder demandd may not write to): the
		// reason goes beside it, and it is looked at again hourly.
		s.log.Error("file cannot be imported nor moved to the failed folder; the reason is written beside it",
			"file", name, "reason", reason.EN, "err", err)
		dst = path
	} else {
		s.log.Error("file cannot be imported; moved to the failed folder", "file", name, "reason", reason.EN, "moved_to", dst)
	}
	// Written aside and renamed, so that nobody reads half a message. The
	// first line says what is wrong; advice such as the config lines to
	// add may follow on lines of their own, ready to copy.
	line := strings.TrimRight(msg, "\n") + "\n"
	tmp := dst + ".error.txt.part"
	if err := writeFile(tmp, []byte(line), s.cfg.FileMode); err != nil {
		s.log.Error("cannot write the reason beside the failed file", "file", dst, "err", err)
	} else if err := os.Rename(tmp, dst+".error.txt"); err != nil {
		s.log.Error("cannot write the reason beside the failed file", "file", dst, "err", err)
	}
	// The file is safe in failed/ whatever happens next; a register that
	// does not answer now learns of it at the next rescan.
	err = sink.FileFailed(ctx, ingest.FailedFile{Channel: demand.ChannelQuestionnaire, Source: s.cfg.Name, Name: name,
		SHA256: sha, Size: size, Reason: msg, OriginalPath: path, MovedTo: dst, FailedAt: time.Now()})
	if err != nil {
		s.log.Warn("failed file not yet recorded in the register; retried at the next rescan", "file", dst, "err", err)
	} else if !setAside {
		s.markRecorded(dst)
	}
	if setAside {
		return errSetAside
	}
	return nil
}

// errSetAside: the file could not be moved to failed/; its reason stands
// beside it in the folder.
var errSetAside = errors.New("the file cannot be read nor moved to the failed folder; its reason is written beside it")

// recordFailedFolder records files in failed/ that the register does not
// know yet: set aside by an older demandd, or while the database was down.
func (s *Source) recordFailedFolder(ctx context.Context, sink ingest.Sink) {
	entries, err := os.ReadDir(s.cfg.FailedDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		path := filepath.Join(s.cfg.FailedDir, e.Name())
		if e.IsDir() || s.isRecorded(path) || strings.HasSuffix(e.Name(), ".error.txt") || strings.HasSuffix(e.Name(), ".part") {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		sha, _ := fileSHA256(path)
		reason := i18n.T("在失败文件夹中发现；原因未记录", "found in the failed folder; no reason was recorded").In(s.cfg.Locale)
		if b, err := os.ReadFile(path + ".error.txt"); err == nil {
			reason = strings.TrimSpace(string(b))
		}
		err = sink.FileFailed(ctx, ingest.FailedFile{Channel: demand.ChannelQuestionnaire, Source: s.cfg.Name, Name: e.Name(),
			SHA256: sha, Size: fi.Size(), Reason: reason, OriginalPath: filepath.Join(s.cfg.Path, e.Name()), MovedTo: path,
			FailedAt: fi.ModTime(), Found: true})
		if err != nil {
			s.log.Warn("failed file not yet recorded in the register; retried at the next rescan", "file", path, "err", err)
			return
		}
		s.markRecorded(path)
	}
}

// moveInto moves path into dir, keeping the name unless one is taken there.
func moveInto(path, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", err
	}
	base := filepath.Base(path)
	ext := filepath.Ext(base)
	dst := filepath.Join(dir, base)
	for i := 1; ; i++ {
		if _, err := os.Lstat(dst); errors.Is(err, os.ErrNotExist) {
			break
		}
		dst = filepath.Join(dir, fmt.Sprintf("%s-%d%s", strings.TrimSuffix(base, ext), i, ext))
	}
	if err := os.Rename(path, dst); err != nil {
		// Across file systems. A link is moved as a link: copying would
		// copy what it points to, which demandd never reads.
		if fi, lerr := os.Lstat(path); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(path)
			if err != nil {
				return "", err
			}
			if err := os.Symlink(target, dst); err != nil {
				return "", err
			}
		} else if err := copyFile(path, dst); err != nil {
			return "", err
		}
		return dst, os.Remove(path)
	}
	return dst, nil
}

// copyFile copies src to a new dst with src's mode, whatever the umask, as
// a rename within one file system keeps it: where processed/ lives must not
// decide who may read the file.
func copyFile(src, dst string) error {
	in, err := openNoFollow(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if err := out.Chmod(fi.Mode().Perm()); err != nil {
		out.Close()
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// writeFile writes a file for people to read with mode (0640 if 0),
// whatever the umask, which would narrow a wider mode asked for.
func writeFile(path string, b []byte, mode os.FileMode) error {
	if mode == 0 {
		mode = 0o640
	}
	if err := os.WriteFile(path, b, mode); err != nil {
		return err
	}
	return os.Chmod(path, mode) // also when path was left over with another mode
}

// ImportFile reads one file through the folder channel's path, once, for
// `demandd import`: it does not move the file. A returned tracking table
// (returned.go) is applied when sink takes them, its receipt written
// beside the file, and its counts are in Result.Table. progress, if set, is called
// with the rows handled so far. The default limits apply; locale is the
// language of the reasons stored with quarantined rows.
func ImportFile(ctx context.Context, path, source string, origin demand.Origin, locale i18n.Locale, sink ingest.Sink, state ingest.State, progress func(rows int)) (ingest.Result, error) {
	opts := defaultReadOptions()
	opts.locale = locale
	table := &tableImport{locale: locale}
	defer table.receipt.close()
	res, err := importAny(ctx, path, source, origin, opts, sink, state, progress, table)
	if err != nil || !table.found {
		return res, err
	}
	// A returned tracking table: its receipt beside it.
	_, err = table.finish(ctx, sink, path, 0)
	res.Table = &table.result
	return res, err
}

// fileCheckpoint is the cursor of one file, keyed by its SHA-256.
type fileCheckpoint struct {
	Rows  int  `json:"rows"`  // last row number committed
	Items int  `json:"items"` // items committed (rows that were not blank)
	Done  bool `json:"done"`
}

func checkpointKey(sha string) string { return "questionnaire-file/" + sha }

func importFile(ctx context.Context, path, source string, origin demand.Origin, opts readOptions, sink ingest.Sink, state ingest.State, progress func(int)) (ingest.Result, error) {
	return importAny(ctx, path, source, origin, opts, sink, state, progress, nil)
}

// importAny is importFile that, given table, reads a returned tracking
// table into it instead (returned.go): table.found then says so.
func importAny(ctx context.Context, path, source string, origin demand.Origin, opts readOptions, sink ingest.Sink, state ingest.State, progress func(int), table *tableImport) (_ ingest.Result, err error) {
	var total ingest.Result
	id, err := fileIdentity(path)
	if err != nil {
		return total, err
	}
	if !Supported(path) {
		return total, fileErrorf("%q 不是问卷导出文件：demandd 读取 .xlsx、.csv 和 .xls 文件",
			"%q is not a questionnaire export; demandd reads .xlsx, .csv and .xls files", filepath.Base(path))
	}
	if id.size == 0 {
		return total, fileErrorf("文件是空的（empty）：请重新导出问卷结果", "the file is empty; export the survey results again")
	}
	if id.size > opts.fileSize {
		return total, fileErrorf("文件有 %s，超过 max_file_size（%s）：请分批导出问卷结果（例如按日期），或在配置的 [[folder]] 中调大 max_file_size",
			"the file is %s, more than max_file_size (%s); export the survey results in parts (by date, for example) or raise max_file_size in the [[folder]] config",
			byteSize(id.size), byteSize(opts.fileSize))
	}
	sha, validUTF8, err := hashFile(path)
	if err != nil {
		return total, fmt.Errorf("folder: read %s: %w", filepath.Base(path), err)
	}
	// A read that fails because the file changed under it is not the
	// file's fault: it is read again, never set aside as corrupt.
	defer func() {
		if err != nil && ctx.Err() == nil && !errors.Is(err, errChanged) && !errors.Is(err, errGone) {
			if again := id.recheck(path, sha); again != nil {
				err = again
			}
		}
	}()
	var cp fileCheckpoint
	if v, ok, err := state.Checkpoint(ctx, checkpointKey(sha)); err != nil {
		return total, err
	} else if ok {
		if err := json.Unmarshal([]byte(v), &cp); err != nil {
			return total, fmt.Errorf("folder: checkpoint of %s: %w", filepath.Base(path), err)
		}
	}
	if cp.Done { // the same content was imported before, under some name
		total.Duplicate = cp.Items
		return total, sink.FileImported(ctx, demand.ChannelQuestionnaire, sha)
	}
	rr, err := openRows(path, validUTF8, opts.limits)
	if err != nil {
		return total, err
	}
	defer func() {
		if rr != nil {
			rr.Close()
		}
	}()
	rd := &rowBatcher{rows: rr, file: filepath.Base(path), sha: sha, source: source, origin: origin,
		received: id.mtime, after: cp.Rows, items: cp.Items, size: opts.batchSize, limits: opts.limits, locale: opts.locale,
		verify: func() error { return id.recheck(path, sha) }}
	if err := rd.readHeader(); err != nil {
		return total, err
	}
	if ret, ok := isTable(sink, rd); table != nil && ok {
		rr.Close() // read again with raw values
		rr = nil
		return total, table.run(ctx, path, id, sha, validUTF8, opts, ret, progress)
	}
	if n := rowBytes(rd.header) + rowBytes(rd.labels) + rowBytes(rd.importIDs); n > maxHeaderBytes {
		return total, fileErrorf("表头有 %s，超过上限 %s：这不是问卷导出文件；请从问卷平台重新导出",
			"the header rows hold %s, more than the %s limit: not a survey export; export the results again from the survey platform",
			byteSize(int64(n)), byteSize(maxHeaderBytes))
	}

	// Read and prepare ahead while the previous batch commits; commit in
	// order on this goroutine.
	readCtx, stop := context.WithCancel(ctx)
	defer stop()
	batches := make(chan batchOrErr, 1)
	go rd.produce(readCtx, sink, batches)
	defer func() { // before the rows are closed: the reader may be in them
		stop()
		for b := range batches {
			ingest.Discard(sink, b.prepared)
		}
	}()
	for b := range batches {
		if b.err != nil {
			return total, b.err
		}
		res, err := sink.Commit(ctx, b.prepared)
		if err != nil {
			return total, err
		}
		total = total.Add(res)
		if progress != nil {
			progress(b.rows)
		}
	}
	if err := ctx.Err(); err != nil {
		return total, err
	}
	// Earlier failures of these bytes (a file set aside before the alias
	// that reads it was configured) are settled now.
	return total, sink.FileImported(ctx, demand.ChannelQuestionnaire, sha)
}

// hashFile returns the SHA-256 and what the bytes say of their text
// encoding, in one pass with bounded memory. Only a .csv is read as text
// (openRows): the encoding is not gathered for other files, where it cost
// as much as the hash on a workbook's compressed bytes.
func hashFile(path string) (string, textEvidence, error) {
	var text textEvidence
	var also io.Writer
	if strings.EqualFold(filepath.Ext(path), ".csv") {
		also = &text
	}
	sha, err := digestFile(path, also)
	text.close()
	return sha, text, err
}

// fileSHA256 is the SHA-256 alone, for callers that do not read the file.
func fileSHA256(path string) (string, error) { return digestFile(path, nil) }

// digestFile hashes the file at path, writing its bytes to also if set.
func digestFile(path string, also io.Writer) (string, error) {
	f, err := openNoFollow(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	var w io.Writer = h
	if also != nil {
		w = io.MultiWriter(h, also)
	}
	if _, err := io.CopyBuffer(w, f, make([]byte, 256<<10)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

type batchOrErr struct {
	prepared *ingest.Prepared
	rows     int // rows handled up to and including this batch
	err      error
}

// rowBatcher turns a sheet's rows into item batches.
type rowBatcher struct {
	rows     rowReader
	file     string
	sha      string
	source   string
	origin   demand.Origin
	received time.Time
	after    int // rows up to this number are committed already
	items    int // items emitted, including those committed before
	size     int
	limits
	locale i18n.Locale // of the reasons of rows quarantined as read (default Chinese)
	// The header rows (see header.go) and what the answers tell of the
	// columns, carried by every row.
	// verify, when set, checks before the last batch that the file is
	// still the one that was hashed.
	verify func() error

	header, labels, importIDs []string
	headerEnd                 int // number of the last header row
	freeText                  []int
	ahead                     []aheadRow // rows read with the header, not yet returned by next
	json                      rowJSON
}

// produce reads the rows into batches on one goroutine and prepares and
// stages them on another, so that reading a batch overlaps preparing the
// one before (and the caller's commit of the one before that); out is
// closed once both have stopped, so the caller may then close the rows.
// The caller discards what it will not commit (ingest.Stager).
func (r *rowBatcher) produce(ctx context.Context, sink ingest.Sink, out chan<- batchOrErr) {
	defer close(out)
	readCtx, stop := context.WithCancel(ctx)
	read := make(chan readBatch, 1)
	go r.read(readCtx, read)
	defer func() {
		stop()
		for range read { // until the reader has stopped
		}
	}()
	staging := true // until a batch is not staged: the rest are committed whole (ingest.Stager)
	for b := range read {
		res := batchOrErr{rows: b.rows, err: b.err}
		if b.err == nil {
			res.prepared, res.err = sink.Prepare(ctx, b.batch)
		}
		if res.err == nil && staging { // its raw items stored while the batch before commits
			staging = ingest.Stage(ctx, sink, res.prepared)
		}
		select {
		case out <- res:
		case <-ctx.Done():
			ingest.Discard(sink, res.prepared)
			return
		}
		if res.err != nil {
			return
		}
	}
}

// readBatch is a batch of items as read, not yet prepared.
type readBatch struct {
	batch ingest.Batch
	rows  int // rows handled up to and including this batch
	err   error
}

// read reads the rows into item batches; it closes out when it stops.
func (r *rowBatcher) read(ctx context.Context, out chan<- readBatch) {
	defer close(out)
	fail := func(err error) {
		select {
		case out <- readBatch{err: err}:
		case <-ctx.Done():
		}
	}
	emit := func(items []ingest.Item, last int, done bool, handled int) bool {
		v, _ := json.Marshal(fileCheckpoint{Rows: last, Items: r.items, Done: done})
		b := ingest.Batch{Items: items, Checkpoint: &ingest.Checkpoint{Key: checkpointKey(r.sha), Value: string(v)}}
		select {
		case out <- readBatch{batch: b, rows: handled}:
			return true
		case <-ctx.Done():
			return false
		}
	}
	items := make([]ingest.Item, 0, r.size)
	handled, last := 0, r.after
	batchBytes := 0
	for {
		cells, num, err := r.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fail(err)
			return
		}
		handled++
		cells = trimRow(cells)
		if num > r.limits.rows && len(cells) > 0 {
			// An .xlsx over max_rows failed before its first commit; a CSV
			// is not counted ahead: its rows up to the limit are committed
			// and stay, and the same file dropped again adds nothing twice.
			if len(items) > 0 && !emit(items, last, false, handled) {
				return
			}
			fail(fileErrorf("文件超过 max_rows（%[1]d 行）：前 %[1]d 行已导入，其余未导入；请把其余答卷另行导出，或在配置的 [[folder]] 中调大 max_rows 后重新放入文件（已导入的行不会重复）",
				"the file has more than max_rows (%[1]d) rows: rows up to %[1]d were imported, the rest were not; export the remaining answers as a file of their own, or raise max_rows in the [[folder]] config and drop the file again (rows imported already are not added twice)",
				r.limits.rows))
			return
		}
		if num <= r.after {
			continue
		}
		last = num
		if len(cells) == 0 || qualtricsMeta(cells) {
			continue
		}
		row := r.row(num, cells)
		row.MaxCell = r.limits.cell
		var body []byte
		problem, size := "", rowBytes(cells)
		if size <= maxRowBytes {
			if body, err = r.json.encode(row); err != nil {
				fail(fmt.Errorf("folder: encode row %d: %w", num, err))
				return
			}
		}
		if len(body) == 0 || len(body) > 2*maxRowBytes { // too big, or made so by escaping
			// The database takes the row cut, quarantined; the file
			// holds it whole.
			problem = i18n.Tf("第 %[1]d 行共 %[2]s，超过每行上限 %[3]s：已隔离，保存时每个单元格截断为 %[4]s；完整内容见原文件",
				"row %[1]d holds %[2]s, more than the %[3]s a row may hold: kept quarantined with each cell cut to %[4]s; the whole row is in the original file",
				num, byteSize(int64(size)), byteSize(maxRowBytes), byteSize(int64(r.limits.cell))).In(r.locale)
			row = cutRow(row, r.limits.cell)
			if body, err = json.Marshal(row); err != nil {
				fail(fmt.Errorf("folder: encode row %d: %w", num, err))
				return
			}
		}
		r.items++
		items = append(items, ingest.Item{Channel: demand.ChannelQuestionnaire, Source: r.source,
			Key: fmt.Sprintf("%s:%d", r.sha, num), ContentType: ingest.ContentTypeRow, Body: body,
			ReceivedAt: r.received, Origin: r.origin, Ref: fmt.Sprintf("%s 第%d行", r.file, num), Row: row, Problem: firstOf(r.problem(num), problem)})
		if batchBytes += len(body) + size; len(items) == r.size || batchBytes >= maxBatchBytes {
			if !emit(items, last, false, handled) {
				return
			}
			items, batchBytes = make([]ingest.Item, 0, r.size), 0
		}
	}
	// Done is committed only for the file that was hashed, read whole.
	if r.verify != nil {
		if err := r.verify(); err != nil {
			fail(err)
			return
		}
	}
	if r.items == 0 {
		fail(fileErrorf("表头下面没有任何数据行：请确认导出的是答卷数据（不是空问卷），然后重新导出",
			"the file has no data rows below its header: make sure the export holds the answers (not an empty survey), then export it again"))
		return
	}
	emit(items, last, true, handled)
}

// trimRow drops trailing empty cells; a row of empty cells becomes empty.
func trimRow(cells []string) []string {
	n := len(cells)
	for n > 0 && strings.TrimSpace(cells[n-1]) == "" {
		n--
	}
	return cells[:n]
}

// ReadRow reads row number (1-based, as Excel shows it) of a questionnaire
// export as the item the folder would emit for it; for `demandd classify
// --explain --row`.
func ReadRow(path string, number int) (ingest.Item, error) {
	sha, validUTF8, err := hashFile(path)
	if err != nil {
		return ingest.Item{}, fmt.Errorf("folder: read %s: %w", path, err)
	}
	lim := defaultReadOptions().limits
	rr, err := openRows(path, validUTF8, lim)
	if err != nil {
		return ingest.Item{}, err
	}
	defer rr.Close()
	rd := &rowBatcher{rows: rr, file: filepath.Base(path), sha: sha, limits: lim}
	if err := rd.readHeader(); err != nil {
		return ingest.Item{}, err
	}
	if number <= rd.headerEnd {
		return ingest.Item{}, fmt.Errorf("folder: row %d of %s is a header row, not an answer", number, rd.file)
	}
	for {
		cells, num, err := rd.next()
		if err == io.EOF {
			return ingest.Item{}, fmt.Errorf("folder: %s has no row %d", filepath.Base(path), number)
		}
		if err != nil {
			return ingest.Item{}, err
		}
		if num != number {
			continue
		}
		row := rd.row(num, trimRow(cells))
		row.MaxCell = lim.cell
		body, err := json.Marshal(row)
		if err != nil {
			return ingest.Item{}, err
		}
		return ingest.Item{Channel: demand.ChannelQuestionnaire, Source: "explain", Key: fmt.Sprintf("%s:%d", sha, num),
			ContentType: ingest.ContentTypeRow, Body: body, ReceivedAt: time.Now(), Origin: demand.OriginRaised,
			Ref: fmt.Sprintf("%s 第%d行", rd.file, num), Row: row}, nil
	}
}

// PutBack moves a file set aside in failed/ back to where it was found,
// keeping its name unless one is taken there, and removes the reason
// written beside it; for `demandd reprocess`. It returns the new path.
func PutBack(movedTo, originalPath string) (string, error) {
	dst, err := moveInto(movedTo, filepath.Dir(originalPath))
	if err != nil {
		return "", fmt.Errorf("folder: put %s back: %w", movedTo, err)
	}
	if err := os.Remove(movedTo + ".error.txt"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return dst, fmt.Errorf("folder: remove %s.error.txt: %w", movedTo, err)
	}
	return dst, nil
}

// firstOf is the first non-empty reason.
func firstOf(reasons ...string) string {
	for _, r := range reasons {
		if r != "" {
			return r
		}
	}
	return ""
}
