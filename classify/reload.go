package classify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Sources says where the rules and the customer directory come from.
type Sources struct {
	RulesPath     string // "" = the built-in rules of Taxonomy
	Taxonomy      string // for the built-in rules: five (default) or three
	DirectoryPath string // "" = no directory
}

// Load reads and compiles rules and directory.
func Load(src Sources) (*Rules, *Directory, error) {
	var (
		rules *Rules
		err   error
	)
	if src.RulesPath == "" {
		rules, err = ParseRules("built-in rules", []byte(DefaultRules(src.Taxonomy)))
	} else {
		rules, err = LoadRules(src.RulesPath)
	}
	if err != nil {
		return nil, nil, err
	}
	if src.Taxonomy != "" && rules.Taxonomy != src.Taxonomy {
		return nil, nil, fmt.Errorf("classify: %s is written for the %s-way taxonomy, the configuration asks for %s",
			rules.Source, rules.Taxonomy, src.Taxonomy)
	}
	var dir *Directory
	if src.DirectoryPath != "" {
		if dir, err = LoadDirectory(src.DirectoryPath); err != nil {
			return nil, nil, err
		}
	}
	return rules, dir, nil
}

// Reloader puts changed rules and directory files in force. A file that
// does not load is refused with its file, line and rule; the rules in force
// stay, and the error is kept for health checks until a load succeeds.
type Reloader struct {
	eng *Engine
	src Sources
	log *slog.Logger

	mu      sync.Mutex
	lastErr error
	at      time.Time

	watching     chan struct{} // closed once Watch sees changes
	watchingOnce sync.Once
}

// NewReloader watches src for eng.
func NewReloader(eng *Engine, src Sources, log *slog.Logger) *Reloader {
	if log == nil {
		log = slog.Default()
	}
	return &Reloader{eng: eng, src: src, log: log, at: time.Now(), watching: make(chan struct{})}
}

// Watching is closed once Watch is in place: a change made after it is
// seen. Tests wait on it instead of guessing how long the start takes.
func (r *Reloader) Watching() <-chan struct{} { return r.watching }

// Reload loads the files again and swaps them in, or keeps the old ones.
func (r *Reloader) Reload() error {
	rules, dir, err := Load(r.src)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.at = time.Now()
	if err != nil {
		r.lastErr = err
		r.log.Error("rules not reloaded; the previous rules stay in force", "err", err)
		return err
	}
	r.lastErr = nil
	r.eng.Swap(rules, dir)
	r.log.Info("rules reloaded", "rules", rules.Source, "count", rules.Len(), "keywords", rules.Keywords())
	return nil
}

// Status is the outcome of the last reload: nil when the files in force
// are the files on disk.
func (r *Reloader) Status() (time.Time, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.at, r.lastErr
}

// Watch reloads when a watched file changes, until ctx ends. Editors
// replace files by renaming, so the directories are watched, not the files.
func (r *Reloader) Watch(ctx context.Context) error {
	files := map[string]bool{}
	for _, p := range []string{r.src.RulesPath, r.src.DirectoryPath} {
		if p != "" {
			abs, err := filepath.Abs(p)
			if err != nil {
				return err
			}
			files[abs] = true
		}
	}
	ready := func() { r.watchingOnce.Do(func() { close(r.watching) }) }
	if len(files) == 0 {
		ready()
		<-ctx.Done()
		return nil
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("classify: watch rules: %w", err)
	}
	defer w.Close()
	for f := range files {
		if err := w.Add(filepath.Dir(f)); err != nil {
			return fmt.Errorf("classify: watch %s: %w", filepath.Dir(f), err)
		}
	}
	ready()
	var debounce <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return errors.New("classify: rules watcher closed")
			}
			if files[filepath.Clean(ev.Name)] {
				debounce = time.After(200 * time.Millisecond) // editors write in several steps
			}
		case err := <-w.Errors:
			r.log.Warn("rules watcher", "err", err)
		case <-debounce:
			debounce = nil
			_ = r.Reload()
		}
	}
}
