package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/demandd/demandd/config"
	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/deploy"
	"github.com/demandd/demandd/export"
	"github.com/demandd/demandd/ingest"
	"github.com/demandd/demandd/ingest/folder"
	"github.com/demandd/demandd/ingest/imapsrc"
	"github.com/demandd/demandd/store"
)

func (c *cli) serve(ctx context.Context, args []string) error {
	fs, cfgPath := c.flags("serve")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	a, err := c.open(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer a.Close()

	var sources []ingest.Source
	for _, f := range a.cfg.Folders {
		origin, _ := demand.ParseOrigin(f.Origin) // validated with the config
		src, err := folder.New(folder.Config{Name: f.Name, Path: f.Path, ProcessedDir: f.ProcessedDir,
			FailedDir: f.FailedDir, StableFor: f.StableFor.Duration, Rescan: f.Rescan.Duration, Origin: origin,
			Location: a.cfg.Location(), Logger: a.log})
		if err != nil {
			return usageError{err}
		}
		sources = append(sources, src)
	}
	for _, e := range a.cfg.Emails {
		src, err := emailSource(e, a.log)
		if err != nil {
			return usageError{err}
		}
		sources = append(sources, src)
	}
	if len(sources) == 0 {
		a.log.Warn("no sources configured: add a [[folder]] or [[email]] block to the config; serving nothing")
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			a.log.Info("SIGHUP received: reloading the rules and the customer directory")
			_ = a.reloader.Reload() // a broken file is logged and the old rules stay
		}
	}()
	go func() {
		if err := a.reloader.Watch(ctx); err != nil {
			a.log.Warn("rules files are not watched; reload them with SIGHUP", "err", err)
		}
	}()
	go a.watchdog(ctx)

	a.log.Info("demandd serving", "version", version, "database", string(a.store.Dialect()), "sources", len(sources))
	_, _ = daemon.SdNotify(false, daemon.SdNotifyReady)
	a.engine.Run(ctx, sources)
	_, _ = daemon.SdNotify(false, daemon.SdNotifyStopping)
	a.log.Info("demandd stopped: intake stopped, in-flight batches committed")
	return nil
}

// emailSource builds an IMAP account source from its configuration.
func emailSource(e config.Email, log *slog.Logger) (*imapsrc.Source, error) {
	password, err := e.Secret()
	if err != nil {
		return nil, err
	}
	origin, _ := demand.ParseOrigin(e.Origin) // validated with the config
	var since time.Time
	if e.Since != "" {
		since, _ = time.Parse("2006-01-02", e.Since)
	}
	var token func(context.Context) (string, error)
	if e.Auth == "xoauth2" {
		token = e.Token
	}
	return imapsrc.New(imapsrc.Config{Name: e.Name, Addr: net.JoinHostPort(e.Host, strconv.Itoa(e.Port)), TLS: e.TLS,
		Username: e.Username, Password: password, Auth: e.Auth, Token: token, Mailboxes: e.Mailboxes, PollInterval: e.PollInterval.Duration,
		IDLE: *e.IDLE, After: e.After, Since: since, MaxMessageSize: e.MaxMessageSize, SenderLimit: e.SenderLimit,
		Origin: origin, Logger: log})
}

// watchdog pings systemd's watchdog while the database answers, so that a
// daemon that lost its database is restarted rather than silently idle.
func (a *app) watchdog(ctx context.Context) {
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil || interval == 0 {
		return
	}
	t := time.NewTicker(interval / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			pctx, cancel := context.WithTimeout(ctx, interval/4)
			err := a.store.Ping(pctx)
			cancel()
			if err != nil {
				a.log.Error("database does not answer; withholding the watchdog ping", "err", err)
				continue
			}
			_, _ = daemon.SdNotify(false, daemon.SdNotifyWatchdog)
		}
	}
}

func (c *cli) importFiles(ctx context.Context, args []string) error {
	fs, cfgPath := c.flags("import")
	source := fs.String("source", "import", "source name recorded on the demands")
	originFlag := fs.String("origin", "raised", "raised (主动提出) or discovered (挖掘发现)")
	files, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usagef("name at least one file: demandd import FILE…")
	}
	origin, err := demand.ParseOrigin(*originFlag)
	if err != nil {
		return usagef("--origin: %v", err)
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	a, err := c.open(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer a.Close()

	var total ingest.Result
	failed := 0
	tty := isTerminal(c.stderr)
	for i, path := range files {
		name := filepath.Base(path)
		start := time.Now()
		progress := func(rows int) {
			if tty {
				rate := float64(rows) / max(time.Since(start).Seconds(), 0.001)
				fmt.Fprintf(c.stderr, "\r[%d/%d] %s  %s %d rows  %.0f rows/s ", i+1, len(files), name, bar(rows), rows, rate)
			}
		}
		res, err := folder.ImportFile(ctx, path, *source, origin, a.engine, a.store, progress)
		if tty {
			fmt.Fprintln(c.stderr)
		}
		total = total.Add(res)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("interrupted after %s; run the same import again to finish it (nothing is added twice)", summary(total))
			}
			failed++
			if reason, ok := folder.Reason(err); ok {
				fmt.Fprintf(c.stderr, "%s: %s\n", path, reason.In(a.lang()))
			} else {
				fmt.Fprintf(c.stderr, "%s: %v\n", path, err)
			}
			continue
		}
		if res.New == 0 && res.Quarantined == 0 && res.Duplicate > 0 {
			fmt.Fprintf(c.stderr, "%s: nothing new: its rows were imported before\n", path)
		}
	}
	fmt.Fprintln(c.stdout, summary(total))
	if failed > 0 {
		return fmt.Errorf("%d of %d files could not be imported", failed, len(files))
	}
	return nil
}

// bar is an indeterminate progress bar: the row count does not tell the
// total of a streamed workbook, so it moves rather than fills.
func bar(rows int) string {
	const width = 20
	pos := (rows / 500) % width
	return "[" + strings.Repeat("=", pos) + ">" + strings.Repeat(" ", width-pos) + "]"
}

func summary(r ingest.Result) string {
	s := fmt.Sprintf("%d new, %d duplicate, %d quarantined", r.New, r.Duplicate, r.Quarantined)
	if r.Ignored > 0 {
		s += fmt.Sprintf(", %d ignored", r.Ignored)
	}
	if r.FollowUp > 0 {
		s += fmt.Sprintf(", %d follow-ups", r.FollowUp)
	}
	return s
}

func (c *cli) export(ctx context.Context, args []string) error {
	fs, cfgPath := c.flags("export")
	out := fs.String("out", "", "the .xlsx file to write (required)")
	filter := filterFlags(fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usagef("--out FILE.xlsx is required")
	}
	a, f, err := c.openFiltered(ctx, *cfgPath, filter)
	if err != nil {
		return err
	}
	defer a.Close()
	// Write beside the target and rename, so that a reader never sees half
	// a workbook and a failed export leaves the old file.
	tmp, err := os.CreateTemp(filepath.Dir(*out), "."+filepath.Base(*out)+".*.tmp")
	if err != nil {
		return fmt.Errorf("create %s: %w", *out, err)
	}
	defer os.Remove(tmp.Name())
	n, err := export.WriteTable(ctx, tmp, a.store, f, export.TableOptions{Location: a.cfg.Location()})
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), *out); err != nil {
		return fmt.Errorf("write %s: %w", *out, err)
	}
	fmt.Fprintf(c.stdout, "wrote %d demands to %s\n", n, *out)
	return nil
}

// openFiltered opens the app and reads the --since/--until/--status flags,
// whose dates are in the configured zone.
func (c *cli) openFiltered(ctx context.Context, cfgPath string, filter func(*time.Location) (demand.Filter, error)) (*app, demand.Filter, error) {
	a, err := c.open(ctx, cfgPath)
	if err != nil {
		return nil, demand.Filter{}, err
	}
	f, err := filter(a.cfg.Location())
	if err != nil {
		a.Close()
		return nil, demand.Filter{}, err
	}
	return a, f, nil
}

func (c *cli) list(ctx context.Context, args []string) error {
	fs, cfgPath := c.flags("list")
	asJSON := fs.Bool("json", false, "JSON Lines: one object per record per line")
	filter := filterFlags(fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	a, f, err := c.openFiltered(ctx, *cfgPath, filter)
	if err != nil {
		return err
	}
	defer a.Close()
	if *asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetEscapeHTML(false)
		return a.store.EachDemand(ctx, f, func(r *demand.Record) error { return enc.Encode(r) })
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CODE\tRECEIVED\tTYPE\tURGENCY\tPRIORITY\tSTATUS\tCUSTOMER\tDESCRIPTION")
	loc := a.cfg.Location()
	err = a.store.EachDemand(ctx, f, func(r *demand.Record) error {
		_, err := fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Code, r.Source.ReceivedAt.In(loc).Format("2006-01-02 15:04"),
			r.Type.Label(), r.Urgency.Label(), r.Priority, r.Status.Label(), cut(r.Customer.Summary(), 30), cut(r.Description.Summary(), 50))
		return err
	})
	if err != nil {
		return err
	}
	return tw.Flush()
}

// cut shortens s to n runes on one line.
func cut(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

func (c *cli) quarantine(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "list" {
		return usagef("usage: demandd quarantine list [--json]")
	}
	fs, cfgPath := c.flags("quarantine list")
	asJSON := fs.Bool("json", false, "JSON Lines output")
	if _, err := parse(fs, args[1:]); err != nil {
		return err
	}
	a, err := c.open(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer a.Close()
	items, err := a.store.RawItems(ctx, store.RawQuarantined, 0)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetEscapeHTML(false)
		for _, it := range items {
			if err := enc.Encode(it); err != nil {
				return err
			}
		}
		return nil
	}
	if len(items) == 0 {
		fmt.Fprintln(c.stdout, "nothing is quarantined")
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCHANNEL\tSOURCE\tREFERENCE\tRECEIVED\tATTEMPTS\tREASON")
	for _, it := range items {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\n", it.ID, it.Channel, it.Source, it.Ref,
			it.ReceivedAt.In(a.cfg.Location()).Format("2006-01-02 15:04"), it.Attempts, it.Reason)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "\n%d quarantined; fix the cause (often the config), then: demandd reprocess ID… or --all\n", len(items))
	return nil
}

func (c *cli) reprocess(ctx context.Context, args []string) error {
	fs, cfgPath := c.flags("reprocess")
	all := fs.Bool("all", false, "retry every quarantined item")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	var ids []int64
	for _, s := range rest {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return usagef("%q is not an item ID; see `demandd quarantine list`", s)
		}
		ids = append(ids, id)
	}
	if *all == (len(ids) > 0) {
		return usagef("give item IDs or --all (one of them)")
	}
	a, err := c.open(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer a.Close()
	res, err := a.engine.Reprocess(ctx, ids)
	for _, code := range res.Resolved {
		fmt.Fprintf(c.stdout, "created %s\n", code)
	}
	fmt.Fprintf(c.stdout, "%d resolved, %d still quarantined\n", len(res.Resolved), res.Still)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return usageError{err}
		}
		return err
	}
	return nil
}

func (c *cli) migrate(ctx context.Context, args []string) error {
	fs, cfgPath := c.flags("migrate")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	a, err := c.open(ctx, *cfgPath) // open migrates
	if err != nil {
		return err
	}
	defer a.Close()
	db, bin, err := a.store.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "database schema at version %d of %d (%s)\n", db, bin, a.store.Dialect())
	return nil
}

func (c *cli) config(_ context.Context, args []string) error {
	if len(args) == 0 {
		return usagef("usage: demandd config example | demandd config check [--config FILE]")
	}
	switch args[0] {
	case "example":
		fmt.Fprint(c.stdout, deploy.ExampleConfig)
		return nil
	case "check":
		fs, cfgPath := c.flags("config check")
		if _, err := parse(fs, args[1:]); err != nil {
			return err
		}
		cfg, err := loadConfig(*cfgPath)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%s: ok (database %s, %d folder sources)\n", cfg.File, cfg.Redacted(), len(cfg.Folders))
		return nil
	default:
		return usagef("unknown config command %q: want example or check", args[0])
	}
}

func (c *cli) version(_ context.Context, _ []string) error {
	fmt.Fprintf(c.stdout, "demandd %s\n", version)
	return nil
}
