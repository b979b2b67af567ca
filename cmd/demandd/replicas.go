package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/demandd/demandd/config"
	"github.com/demandd/demandd/internal/i18n"
	"github.com/demandd/demandd/store"
)

// Several `serve` processes and their signals.
//
// PostgreSQL: any number of `serve` processes may share the register; the
// engine runs each polled source in one of them at a time under a lease
// ([serve] lease_ttl) and webhooks in all of them.
//
// SQLite: one `serve` per database. serve takes an exclusive lock
// (flock(2), released by the kernel when the process dies, however it
// dies) on DATABASE.lock beside the database file, and a second serve on
// the same file refuses to start, naming the process that holds it. Once
// it holds the lock, serve ends the leases a killed predecessor left, which
// would otherwise hold its sources back for up to lease_ttl.
//
// SIGTERM (and SIGINT) stop intake; the batches being committed finish
// within [serve] drain_timeout and serve exits 0. Should intake not have
// stopped a few seconds after that, serve exits 1 anyway: what was not
// committed is read again at the next start.
//
// SIGHUP reloads the rules file, the customer directory and [log] level,
// and names the blocks whose changes only a restart applies.

// drainGrace is how long past drain_timeout serve waits for intake to stop.
const drainGrace = 5 * time.Second

// exclusive takes the SQLite lock when the register is SQLite; release
// gives it back. On PostgreSQL it does nothing.
func (a *app) exclusive(ctx context.Context) (release func(), err error) {
	path := store.SQLitePath(a.cfg.DatabaseURL())
	if path == "" || strings.HasPrefix(path, ":") {
		return func() {}, nil
	}
	release, err = lockFile(path + ".lock")
	if err != nil {
		return nil, err
	}
	if err := a.store.ClearLeases(ctx); err != nil {
		release()
		return nil, err
	}
	return release, nil
}

// errLocked is what lockFile returns when another process holds the lock.
var errLocked = errors.New("locked by another process")

// lockedError says that another serve runs on the SQLite database.
func lockedError(lock, holder string) error {
	if holder == "" {
		holder = "?"
	}
	return i18n.Wrap(errLocked, i18n.Tf(
		"另一个 demandd serve（%[2]s）正在使用这个 SQLite 数据库（锁文件 %[1]s）：一个 SQLite 数据库只能运行一个 serve。请先停止另一个；要运行多个副本，请改用 PostgreSQL（[database] url = \"postgres://…\"）",
		"another demandd serve (%[2]s) is running on this SQLite database (lock file %[1]s): only one serve may run on a SQLite database. Stop the other one first; to run several replicas, use PostgreSQL ([database] url = \"postgres://…\")",
		lock, holder))
}

// waitDrained returns once intake has stopped (done is closed). After ctx
// ends it waits at most drain_timeout and drainGrace for that.
func (a *app) waitDrained(ctx context.Context, done <-chan struct{}) error {
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	limit := a.cfg.Serve.DrainTimeout.Duration + drainGrace
	a.log.Info("stopping: intake stopped, waiting for the batches being committed", "drain_timeout", a.cfg.Serve.DrainTimeout.Duration)
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-t.C:
		return i18n.Errorf("%v 内未能停止接收；未提交的内容将在下次启动时重新读取",
			"intake did not stop within %v; what was not committed is read again at the next start", limit)
	}
}

// hangups handles SIGHUP until ctx ends.
func (a *app) hangups(ctx context.Context, sigs <-chan os.Signal) {
	applied := *a.cfg // the settings in force; Log.Level follows reloads
	for {
		select {
		case <-ctx.Done():
			return
		case <-sigs:
		}
		a.log.Info("SIGHUP received: reloading the rules, the customer directory and the log level")
		_ = a.reloader.Reload() // a broken file is logged and the old rules stay
		a.reloadConfig(&applied)
	}
}

// reloadConfig reads the configuration file again, applies the log level,
// and logs which changed blocks need a restart.
func (a *app) reloadConfig(applied *config.Config) {
	next, err := config.Load(applied.File)
	if err != nil {
		a.log.Error("configuration not reloaded: the file has errors; the settings in force stay",
			"file", applied.File, "err", strings.Join(config.Messages(err, i18n.EN), "; "))
		return
	}
	if next.Log.Level != applied.Log.Level {
		var l slog.Level
		if err := l.UnmarshalText([]byte(next.Log.Level)); err == nil {
			a.level.Set(l)
			a.log.Info("log level changed", "from", applied.Log.Level, "to", next.Log.Level)
			applied.Log.Level = next.Log.Level
		}
	}
	if blocks := restartNeeded(applied, next); len(blocks) > 0 {
		a.log.Warn("configuration changed where only a restart applies it; restart demandd to apply", "blocks", strings.Join(blocks, ", "))
	}
}

// restartNeeded names the top-level keys and blocks of the configuration
// that differ between old and next, but for what SIGHUP applies: [log]
// level (the rules and customer files are re-read whatever the file says).
func restartNeeded(old, next *config.Config) []string {
	var out []string
	ov, nv := reflect.ValueOf(old).Elem(), reflect.ValueOf(next).Elem()
	for i, f := range reflect.VisibleFields(ov.Type()) {
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		a, b := ov.Field(i).Interface(), nv.Field(i).Interface()
		if name == "log" {
			a, b = old.Log.Format, next.Log.Format
		}
		if !reflect.DeepEqual(a, b) {
			out = append(out, name)
		}
	}
	return out
}

// holderOf is what the lock file says about the process holding it.
func holderOf(lock string) string {
	b, err := os.ReadFile(lock)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// lockNote is written into the lock file: who holds it.
func lockNote() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("pid %d on %s since %s", os.Getpid(), host, time.Now().Format(time.RFC3339))
}
