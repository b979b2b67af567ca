package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/demandd/demandd/classify"
	"github.com/demandd/demandd/config"
	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/internal/i18n"
	"github.com/demandd/demandd/normalize"
	"github.com/demandd/demandd/store"
	dsync "github.com/demandd/demandd/sync"
)

// Exit codes.
const (
	exitOK      = 0
	exitRuntime = 1
	exitUsage   = 2
)

const usage = `demandd — customer demands (客户需求) from every channel into one register

Usage: demandd COMMAND [--config FILE] [options]

Commands:
  serve                      run the daemon: watch every configured source
  import FILE…               import questionnaire exports once (.xlsx, .csv, .xls)
  export --out FILE.xlsx     write the tracking table (需求分析与响应跟踪表)
         [--since DATE] [--until DATE] [--status S,…]
  list [--json]              list demand records (--json: JSON Lines)
  quarantine list [--json]   list quarantined raw items with their reasons
  reprocess ID…|--all        retry quarantined items with the current config
  classify --explain --text "…" | --file F [--row N] [--json]
                             classify a text or a file and show why
  classify --replay [--since DATE] [--apply]
                             re-run the rules over stored demands (--apply writes)
  rules example [--taxonomy five|three]
                             print the built-in keyword rules as an editable file
  rules check FILE           validate a rules file
  migrate                    apply database migrations
  config example             print a complete, commented example config
  config check               validate the config file
  version                    print the version

--config FILE defaults to ./demandd.toml, then /etc/demandd/demandd.toml.
Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.
`

// cli carries the streams of one invocation.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// usageError is a mistake in the command line or the configuration.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	cmds := map[string]func(context.Context, []string) error{
		"serve":      c.serve,
		"import":     c.importFiles,
		"export":     c.export,
		"list":       c.list,
		"quarantine": c.quarantine,
		"reprocess":  c.reprocess,
		"migrate":    c.migrate,
		"config":     c.config,
		"rules":      c.rules,
		"classify":   c.classifyCmd,
		"version":    c.version,
	}
	name := args[0]
	switch name {
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	cmd, ok := cmds[name]
	if !ok {
		fmt.Fprintf(stderr, "demandd: unknown command %q\n\n%s", name, usage)
		return exitUsage
	}
	err := cmd(ctx, args[1:])
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "demandd %s: %v\n", name, err)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "demandd %s: %v\n", name, err)
		return exitRuntime
	}
}

// flags makes a subcommand's flag set with --config.
func (c *cli) flags(name string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("demandd "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	path := fs.String("config", "", "configuration file (default ./demandd.toml, then /etc/demandd/demandd.toml)")
	return fs, path
}

// parse parses flags anywhere among the arguments and returns the others.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err}
		}
		args = fs.Args()
		if len(args) == 0 {
			return rest, nil
		}
		if args[0] == "--" {
			return append(rest, args[1:]...), nil
		}
		rest = append(rest, args[0])
		args = args[1:]
	}
}

// loadConfig finds and reads the configuration; its errors are usage errors.
func loadConfig(path string) (*config.Config, error) {
	p, err := config.Find(path)
	if err != nil {
		return nil, usageError{err}
	}
	cfg, err := config.Load(p)
	if err != nil {
		return nil, usageError{err}
	}
	return cfg, nil
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// app is the wired-up daemon: configuration, database, engine.
type app struct {
	cfg      *config.Config
	log      *slog.Logger
	store    *store.Store
	engine   *dsync.Engine
	classify *classify.Engine
	reloader *classify.Reloader
}

// open loads the configuration, opens and migrates the database and builds
// the engine.
func (c *cli) open(ctx context.Context, path string) (*app, error) {
	cfg, err := loadConfig(path)
	if err != nil {
		return nil, err
	}
	log := newLogger(cfg, c.stderr)
	st, err := store.Open(ctx, cfg.DatabaseURL(), store.Options{MaxOpenConns: cfg.Database.MaxOpenConns})
	if err != nil {
		return nil, fmt.Errorf("%w (database %s; check [database] url in %s)", err, cfg.Redacted(), cfg.File)
	}
	n, err := st.Migrate(ctx)
	if err != nil {
		st.Close()
		return nil, err
	}
	if n > 0 {
		log.Info("database migrated", "applied", n, "database", string(st.Dialect()))
	}
	cls, err := newClassifier(cfg)
	if err != nil {
		st.Close()
		return nil, usageError{err}
	}
	norm := normalize.New(normalize.Options{Aliases: cfg.Questionnaire.Aliases, Location: cfg.Location()})
	eng := dsync.New(st, norm, cls, dsync.Options{CodePrefix: cfg.CodePrefix, Location: cfg.Location(), Logger: log})
	return &app{cfg: cfg, log: log, store: st, engine: eng, classify: cls,
		reloader: classify.NewReloader(cls, classifySources(cfg), log)}, nil
}

func (a *app) Close() error { return a.store.Close() }

// lang is the locale of what people read.
func (a *app) lang() i18n.Locale { return i18n.ZH }

func classifySources(cfg *config.Config) classify.Sources {
	return classify.Sources{RulesPath: cfg.Classify.Rules, Taxonomy: cfg.Classify.Taxonomy, DirectoryPath: cfg.Classify.Customers}
}

// newClassifier loads the rules and the customer directory named by cfg.
func newClassifier(cfg *config.Config) (*classify.Engine, error) {
	cal, err := classify.NewCalendar(cfg.Location(), cfg.Classify.Holidays, cfg.Classify.Workdays)
	if err != nil {
		return nil, err
	}
	rules, dir, err := classify.Load(classifySources(cfg))
	if err != nil {
		return nil, err
	}
	deps := map[demand.Type]string{}
	for t, d := range cfg.Classify.Departments {
		typ, err := demand.ParseType(t)
		if err != nil {
			return nil, err
		}
		deps[typ] = d
	}
	def, err := demand.ParseType(cfg.Classify.DefaultType)
	if err != nil {
		return nil, err
	}
	s := cfg.Classify.SLA
	return classify.NewEngine(classify.Options{DefaultType: def, Departments: deps, Calendar: cal,
		SLA: classify.SLA{P1: s.P1.Duration, P2Workdays: s.P2, P3Days: s.P3, P4Days: s.P4}}, rules, dir)
}

// dateRange reads --since/--until (YYYY-MM-DD, inclusive) in loc.
func dateRange(since, until string, loc *time.Location) (demand.Filter, error) {
	var f demand.Filter
	if since != "" {
		t, err := time.ParseInLocation("2006-01-02", since, loc)
		if err != nil {
			return f, usagef("--since %q: want a date as YYYY-MM-DD", since)
		}
		f.Since = t
	}
	if until != "" {
		t, err := time.ParseInLocation("2006-01-02", until, loc)
		if err != nil {
			return f, usagef("--until %q: want a date as YYYY-MM-DD", until)
		}
		f.Until = t.AddDate(0, 0, 1) // the whole day
	}
	return f, nil
}

func parseStatuses(s string) ([]demand.Status, error) {
	if s == "" {
		return nil, nil
	}
	var out []demand.Status
	for _, part := range strings.Split(s, ",") {
		st, err := demand.ParseStatus(part)
		if err != nil {
			return nil, usagef("--status: %v", err)
		}
		out = append(out, st)
	}
	return out, nil
}

// filterFlags adds --since, --until and --status to fs.
func filterFlags(fs *flag.FlagSet) func(loc *time.Location) (demand.Filter, error) {
	since := fs.String("since", "", "only demands received on or after this date (YYYY-MM-DD)")
	until := fs.String("until", "", "only demands received on or before this date (YYYY-MM-DD)")
	status := fs.String("status", "", "only these statuses, comma-separated (new, in_progress, delivered, accepted, closed, rejected or 待处理…)")
	return func(loc *time.Location) (demand.Filter, error) {
		f, err := dateRange(*since, *until, loc)
		if err != nil {
			return f, err
		}
		f.Status, err = parseStatuses(*status)
		return f, err
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
