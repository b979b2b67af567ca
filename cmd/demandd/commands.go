package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/demandd/demandd/api"
	"github.com/demandd/demandd/archive"
	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/deploy"
	"github.com/demandd/demandd/export"
	"github.com/demandd/demandd/ingest"
	"github.com/demandd/demandd/ingest/folder"
	"github.com/demandd/demandd/ingest/webhook"
	"github.com/demandd/demandd/internal/i18n"
	daily "github.com/demandd/demandd/report"
	"github.com/demandd/demandd/store"
)

func (c *cli) serve(ctx context.Context, args []string) error {
	fs, cfgPath := c.flags("serve")
	if _, err := c.parse(fs, args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	a, err := c.open(ctx, *cfgPath, createRegister)
	if err != nil {
		return err
	}
	defer a.Close()
	release, err := a.exclusive(ctx) // one serve per SQLite database
	if err != nil {
		return err
	}
	defer release()
	if os.Getenv("GOGC") == "" {
		// The daemon's heap is small and short-lived (a batch's rows, a
		// delivery's payload): collecting at twice the live heap rather
		// than at once more costs a few MB and gave webhook intake 12 %
		// (make bench-webhook). GOGC in the environment wins.
		debug.SetGCPercent(200)
	}

	var sources []ingest.Source
	env := ingest.Env{Location: a.cfg.Location(), Locale: a.lang(), Logger: a.log, FileMode: a.cfg.FileMode.Perm()}
	for _, ch := range a.cfg.Channels() {
		src, err := ch.Source(env)
		if err != nil {
			return usageError{err}
		}
		sources = append(sources, src)
	}
	if a.cfg.Listens() {
		opts := webhook.Options{Env: env, Observe: a.metrics.WebhookRequest}
		if len(a.cfg.API.Tokens) > 0 {
			var tokens []api.Token
			for i := range a.cfg.API.Tokens {
				tok, err := a.cfg.API.Tokens[i].Resolve()
				if err != nil {
					return usageError{err}
				}
				tokens = append(tokens, tok)
			}
			h, err := api.New(a.store, api.Options{Tokens: tokens, Location: a.cfg.Location(), Logger: a.log})
			if err != nil {
				return usageError{err}
			}
			opts.API = h
		}
		srv, err := webhook.New(a.cfg.Webhook, opts)
		if err != nil {
			return usageError{err}
		}
		if err := srv.Listen(); err != nil {
			return usageError{i18n.Wrap(err, i18n.Tf("无法监听 %s（%v）；端口是否已被占用？请修改 [webhook] listen",
				"cannot listen on %s (%v); is the port in use? change [webhook] listen", a.cfg.Webhook.Listen, err))}
		}
		sources = append(sources, srv)
	}
	adminDone, err := a.startAdmin(ctx, sources)
	if err != nil {
		return err
	}
	schedDone, err := a.startReports(ctx)
	if err != nil {
		return err
	}
	archDone := a.startMonthlyArchive(ctx)
	if len(sources) == 0 {
		a.log.Warn("no sources configured: add a [[folder]], [[email]] or [[webhook.source]] block to the config; serving nothing")
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go a.hangups(ctx, hup) // rules, customer directory, log level

	go func() {
		if err := a.reloader.Watch(ctx); err != nil {
			a.log.Warn("rules files are not watched; reload them with SIGHUP", "err", err)
		}
	}()
	go a.watchdog(ctx)

	a.log.Info("demandd serving", "version", buildVersion(), "database", string(a.store.Dialect()), "sources", len(sources),
		"owner", a.engine.Owner())
	_, _ = daemon.SdNotify(false, daemon.SdNotifyReady+"\nSTATUS=serving")
	// systemd hears of the stop when it begins: the drain that follows is
	// bounded by TimeoutStopSec, not by the watchdog.
	notified := make(chan struct{})
	context.AfterFunc(ctx, func() {
		defer close(notified)
		_, _ = daemon.SdNotify(false, daemon.SdNotifyStopping+"\nSTATUS=stopping: draining in-flight batches")
	})
	intake := make(chan struct{})
	go func() {
		defer close(intake)
		a.engine.Run(ctx, sources)
	}()
	if err := a.waitDrained(ctx, intake); err != nil {
		return err
	}
	<-schedDone
	<-archDone
	<-adminDone
	<-notified
	a.log.Info("demandd stopped: intake stopped, in-flight batches committed")
	return nil
}

func (c *cli) importFiles(ctx context.Context, args []string) error {
	fs, cfgPath := c.flags("import")
	source := fs.String("source", "import", i18n.T("记录在需求上的来源名称", "source name recorded on the demands").In(c.lang))
	originFlag := fs.String("origin", "raised", i18n.T("raised（主动提出）或 discovered（挖掘发现）", "raised (主动提出) or discovered (挖掘发现)").In(c.lang))
	files, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usagef("请至少给出一个文件：demandd import 文件…", "name at least one file: demandd import FILE…")
	}
	origin, err := demand.ParseOrigin(*originFlag)
	if err != nil {
		return usagef("--origin：%v", "--origin: %v", err)
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	a, err := c.open(ctx, *cfgPath, createRegister)
	if err != nil {
		return err
	}
	defer a.Close()

	var total ingest.Result
	var tables ingest.ReturnedResult // returned tracking tables
	nTables := 0
	failed := 0
	tty := c.progress
	for i, path := range files {
		name := filepath.Base(path)
		start := time.Now()
		show := func(rows int, done bool) {
			rate := float64(rows) / max(time.Since(start).Seconds(), 0.001)
			fmt.Fprintf(c.stderr, "\r[%d/%d] %s  %s %d rows  %.0f rows/s ", i+1, len(files), name, bar(rows, done), rows, rate)
		}
		var progress func(int)
		if tty {
			progress = func(rows int) { show(rows, false) }
		}
		// A link named on the command line is the user's own choice (the
		// watched folder never follows one): read the file it points to.
		real, err := filepath.EvalSymlinks(path)
		if err != nil {
			real = path // ImportFile says what is wrong with it
		}
		res, err := folder.ImportFile(ctx, real, *source, origin, a.lang(), a.engine, a.store, progress)
		if tty {
			if err == nil {
				show(importedRows(res), true) // the bar ends full
			}
			fmt.Fprintln(c.stderr)
		}
		total = total.Add(res)
		if t := res.Table; t != nil {
			nTables++
			tables = tables.Add(ingest.ReturnedResult{Rows: t.Rows, Updated: t.Updated, Unchanged: t.Unchanged,
				Conflicts: t.Conflicts, Rejected: t.Rejected})
			if err == nil {
				fmt.Fprintf(c.stdout, "%s: %s; %s\n", path, t.Summary().In(a.lang()), i18n.Tf("回执 %s", "receipt %s", t.Receipt).In(a.lang()))
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return i18n.Errorf("已中断（%s）；再次运行同一条 import 命令即可完成（不会重复导入）",
					"interrupted after %s; run the same import again to finish it (nothing is added twice)", summary(total))
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
			fmt.Fprintf(c.stderr, "%s: %s\n", path, i18n.T("没有新内容：这些行以前已导入", "nothing new: its rows were imported before").In(a.lang()))
		}
	}
	if nTables < len(files) {
		fmt.Fprintln(c.stdout, summary(total))
	}
	if nTables > 1 {
		fmt.Fprintln(c.stdout, tables.Summary().In(a.lang()))
	}
	if failed > 0 {
		return i18n.Errorf("%d 个文件（共 %d 个）无法导入；原因见上", "%d of %d files could not be imported", failed, len(files))
	}
	return nil
}

// importedRows is what the progress bar counts of a file: its items, or a
// returned tracking table's rows.
func importedRows(r ingest.Result) int {
	if r.Table != nil {
		return r.Table.Rows
	}
	return r.Total()
}

// bar is the progress bar: the row count does not tell the total of a
// streamed workbook, so it moves while reading and is full when done.
func bar(rows int, done bool) string {
	const width = 20
	if done {
		return "[" + strings.Repeat("=", width) + "]"
	}
	pos := (rows / 500) % width
	return "[" + strings.Repeat("=", pos) + ">" + strings.Repeat(" ", width-pos-1) + "]"
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
	out := fs.String("out", "", i18n.T("要写入的文件：.xlsx 或 .csv（必填）", "the file to write: .xlsx or .csv (required)").In(c.lang))
	filter := c.filterFlags(fs)
	if _, err := c.parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usagef("必须给出 --out 文件.xlsx", "--out FILE.xlsx is required")
	}
	// The name is checked before anything is opened.
	if _, err := export.FormatFor(*out); err != nil {
		return usageError{fmt.Errorf("--out %w", err)}
	}
	a, f, err := c.openFiltered(ctx, *cfgPath, filter)
	if err != nil {
		return err
	}
	defer a.Close()
	// .xlsx or .csv by the name; the title row describes the filter.
	n, err := export.WriteFile(ctx, *out, a.store, f, export.TableOptions{Location: a.cfg.Location(), Locale: a.lang(), FileMode: a.cfg.FileMode.Perm()})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "wrote %d demands to %s\n", n, *out)
	return nil
}

// openFiltered opens the existing register and reads the filter flags,
// whose dates are in the configured zone.
func (c *cli) openFiltered(ctx context.Context, cfgPath string, filter filterFunc) (*app, demand.Filter, error) {
	a, err := c.open(ctx, cfgPath, existingOnly)
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

// labeled is an enumeration of package demand.
type labeled interface {
	Label() string
	English() string
}

// label is v's name as a person reads it in l.
func label(l i18n.Locale, v labeled) string {
	if l == i18n.EN {
		return v.English()
	}
	return v.Label()
}

func (c *cli) list(ctx context.Context, args []string) error {
	fs, cfgPath := c.flags("list")
	asJSON := fs.Bool("json", false, i18n.T("JSON Lines：每条记录一行 JSON", "JSON Lines: one object per record per line").In(c.lang))
	limit := fs.Int("limit", 0, i18n.T("最多列出 N 条（0：全部）", "list at most N records (0: all)").In(c.lang))
	filter := c.filterFlags(fs)
	if _, err := c.parse(fs, args); err != nil {
		return err
	}
	if *limit < 0 {
		return usagef("--limit 不能为负数", "--limit must not be negative")
	}
	a, f, err := c.openFiltered(ctx, *cfgPath, filter)
	if err != nil {
		return err
	}
	defer a.Close()
	f.Limit = *limit
	if *asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetEscapeHTML(false)
		return a.store.EachDemand(ctx, f, func(r *demand.Record) error { return enc.Encode(r) })
	}
	f.Summary = true
	l, loc := a.lang(), a.cfg.Location()
	tab := newTable(c.stdout, l, column{"需求编号", "CODE", 14}, column{"接收时间", "RECEIVED", 16}, column{"类型", "TYPE", 10},
		column{"紧急程度", "URGENCY", 8}, column{"优先级", "PRIORITY", 8}, column{"状态", "STATUS", 11},
		column{"截止时间", "DUE", 16}, column{"客户", "CUSTOMER", 24}, column{"需求描述", "DESCRIPTION", 50})
	n := 0
	err = a.store.EachDemand(ctx, f, func(r *demand.Record) error {
		n++
		due := ""
		if !r.DueAt.IsZero() {
			due = r.DueAt.In(loc).Format("2006-01-02 15:04")
		}
		return tab.row(r.Code, r.Source.ReceivedAt.In(loc).Format("2006-01-02 15:04"), label(l, r.Type),
			label(l, r.Urgency), string(r.Priority), label(l, r.Status),
			due, r.Customer.Summary(), r.Description.Summary())
	})
	if err != nil {
		return err
	}
	if n == 0 {
		_, err = fmt.Fprintln(c.stdout, i18n.T("（没有符合条件的需求）", "(no demands match)").In(l))
	}
	return err
}

func (c *cli) quarantine(ctx context.Context, args []string) error {
	if _, err := c.group("quarantine", args); err != nil {
		return err
	}
	fs, cfgPath := c.flags("quarantine list")
	asJSON := fs.Bool("json", false, i18n.T("JSON Lines 输出", "JSON Lines output").In(c.lang))
	if _, err := c.parse(fs, args[1:]); err != nil {
		return err
	}
	a, err := c.open(ctx, *cfgPath, existingOnly)
	if err != nil {
		return err
	}
	defer a.Close()
	items, err := a.store.RawItems(ctx, store.RawQuarantined, 0)
	if err != nil {
		return err
	}
	files, err := a.store.FailedFiles(ctx, store.FileFailed)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetEscapeHTML(false)
		for _, it := range items {
			if err := enc.Encode(struct {
				Kind string `json:"kind"`
				store.RawItem
			}{"item", it}); err != nil {
				return err
			}
		}
		for _, f := range files {
			if err := enc.Encode(struct {
				Kind string `json:"kind"`
				store.FailedFile
			}{"file", f}); err != nil {
				return err
			}
		}
		return nil
	}
	l := a.lang()
	if len(items) == 0 && len(files) == 0 {
		_, err := fmt.Fprintln(c.stdout, i18n.T("隔离区是空的：没有隔离的条目，也没有失败的文件", "nothing is quarantined: no items, no failed files").In(l))
		return err
	}
	loc := a.cfg.Location()
	// The location comes last and is never cut: people copy it.
	tab := newTable(c.stdout, l, column{"编号", "ID", 7}, column{"渠道", "CHANNEL", 13}, column{"来源", "SOURCE", 12},
		column{"时间", "WHEN", 16}, column{"次数", "TRIES", 5}, column{"原因", "REASON", 60}, column{"位置", "WHERE", 0})
	for _, it := range items {
		if err := tab.row(strconv.FormatInt(it.ID, 10), label(l, demand.Channel(it.Channel)), it.Source,
			it.ReceivedAt.In(loc).Format("2006-01-02 15:04"), strconv.Itoa(it.Attempts), it.Reason, it.Ref); err != nil {
			return err
		}
	}
	for _, f := range files {
		if err := tab.row(fmt.Sprintf("F%d", f.ID), i18n.T("文件", "file").In(l), f.Source,
			f.FailedAt.In(loc).Format("2006-01-02 15:04"), strconv.Itoa(f.Attempts), f.Reason, f.MovedTo); err != nil {
			return err
		}
	}
	_, err = fmt.Fprintf(c.stdout, "\n%s\n", i18n.Tf("%d 个隔离条目，%d 个失败文件（完整原因：--json，或文件旁的 .error.txt）。排除原因（通常是配置）后运行：demandd reprocess 编号… 或 --all",
		"%d quarantined, %d failed files (full reasons: --json, or the .error.txt beside each file); fix the cause (often the config), then: demandd reprocess ID… or --all",
		len(items), len(files)).In(l))
	return err
}

func (c *cli) reprocess(ctx context.Context, args []string) error {
	fs, cfgPath := c.flags("reprocess")
	all := fs.Bool("all", false, i18n.T("重试所有隔离条目和失败文件", "retry every quarantined item and failed file").In(c.lang))
	rest, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	var ids, fileIDs []int64
	for _, s := range rest {
		file := strings.HasPrefix(s, "F") || strings.HasPrefix(s, "f")
		id, err := strconv.ParseInt(strings.TrimLeft(s, "Ff"), 10, 64)
		if err != nil || id <= 0 {
			return usagef("%q 不是条目编号；见 `demandd quarantine list`", "%q is not an item ID; see `demandd quarantine list`", s)
		}
		if file {
			fileIDs = append(fileIDs, id)
		} else {
			ids = append(ids, id)
		}
	}
	if *all == (len(ids)+len(fileIDs) > 0) {
		return usagef("请给出条目编号或 --all（二选一）", "give item IDs or --all (one of them)")
	}
	a, err := c.open(ctx, *cfgPath, existingOnly)
	if err != nil {
		return err
	}
	defer a.Close()
	var files []store.FailedFile
	if *all {
		if files, err = a.store.FailedFiles(ctx, store.FileFailed); err != nil {
			return err
		}
	}
	for _, id := range fileIDs {
		f, err := a.store.FailedFileByID(ctx, id)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return usagef("没有失败文件 F%d；见 `demandd quarantine list`", "no failed file F%d; see `demandd quarantine list`", id)
			}
			return err
		}
		files = append(files, *f)
	}
	for _, f := range files {
		if f.Status != store.FileFailed {
			fmt.Fprintf(c.stdout, "F%d %s: %s\n", f.ID, f.Name, i18n.Tf("已处理过（%s）", "already %s", f.Status).In(a.lang()))
			continue
		}
		dst, err := folder.PutBack(f.MovedTo, f.OriginalPath)
		if err != nil {
			return i18n.Wrap(err, i18n.Tf("无法把 %s 放回 %s：%v", "cannot put %s back into %s: %v", f.MovedTo, filepath.Dir(f.OriginalPath), err))
		}
		if err := a.store.MarkFailedFileRetried(ctx, f.ID); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "F%d %s\n", f.ID, i18n.Tf("已放回 %s；运行中的 demandd serve 会重新导入它",
			"moved back to %s; a running demandd serve imports it again", dst).In(a.lang()))
	}
	if !*all && len(ids) == 0 {
		return nil
	}
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

func (c *cli) update(ctx context.Context, args []string) error {
	fs, cfgPath := c.flags("update")
	status := fs.String("status", "", i18n.T("新状态：待处理、处理中、已交付、已验收、已关闭、已拒绝（或 new、in_progress…）",
		"new status: new, in_progress, delivered, accepted, closed, rejected (or 待处理, 处理中…)").In(c.lang))
	plan := fs.String("plan", "", i18n.T("响应方案", "response plan (响应方案)").In(c.lang))
	feedback := fs.String("feedback", "", i18n.T("反馈结果", "feedback result (反馈结果)").In(c.lang))
	department := fs.String("department", "", i18n.T("责任部门", "responsible department (责任部门)").In(c.lang))
	codes, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(codes) == 0 {
		return usagef("请给出需求编号：demandd update DEM… --status 处理中", "name the demands: demandd update DEM… --status in_progress")
	}
	p := store.Progress{By: "cli"}
	if u := os.Getenv("USER"); u != "" {
		p.By = "cli:" + u
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["status"] {
		st, err := demand.ParseStatus(*status)
		if err != nil {
			return usagef("--status：%v", "--status: %v", err)
		}
		p.Status = &st
	}
	if set["plan"] {
		p.Plan = plan
	}
	if set["feedback"] {
		p.Feedback = feedback
	}
	if set["department"] {
		p.Department = department
	}
	if p == (store.Progress{By: p.By}) {
		return usagef("没有要修改的内容：请给出 --status、--plan、--feedback 或 --department",
			"nothing to change: give --status, --plan, --feedback or --department")
	}
	a, err := c.open(ctx, *cfgPath, existingOnly)
	if err != nil {
		return err
	}
	defer a.Close()
	l := a.lang()
	var missing []string
	for _, code := range codes {
		before, err := a.store.Demand(ctx, code)
		if errors.Is(err, store.ErrNotFound) {
			missing = append(missing, code)
			continue
		}
		if err != nil {
			return err
		}
		after, changed, err := a.store.UpdateProgress(ctx, code, p)
		if err != nil {
			return err
		}
		if !changed {
			fmt.Fprintf(c.stdout, "%s: %s\n", code, i18n.T("无变化", "unchanged").In(l))
			continue
		}
		var parts []string
		diff := func(zh, en, old, new string) {
			if old != new {
				parts = append(parts, fmt.Sprintf("%s %q→%q", i18n.T(zh, en).In(l), old, new))
			}
		}
		diff("状态", "status", label(l, before.Status), label(l, after.Status))
		diff("响应方案", "plan", before.ResponsePlan, after.ResponsePlan)
		diff("反馈结果", "feedback", before.FeedbackResult, after.FeedbackResult)
		diff("责任部门", "department", before.Department, after.Department)
		fmt.Fprintf(c.stdout, "%s: %s\n", code, strings.Join(parts, ", "))
	}
	if len(missing) > 0 {
		return i18n.Errorf("没有这些需求：%s；见 `demandd list`", "no such demands: %s; see `demandd list`", strings.Join(missing, ", "))
	}
	return nil
}

func (c *cli) migrate(ctx context.Context, args []string) error {
	fs, cfgPath := c.flags("migrate")
	if _, err := c.parse(fs, args); err != nil {
		return err
	}
	a, err := c.open(ctx, *cfgPath, createRegister) // open migrates
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
	sub, err := c.group("config", args)
	if err != nil {
		return err
	}
	switch sub {
	case "example":
		fs, _ := c.flags("config example")
		if _, err := c.parse(fs, args[1:]); err != nil {
			return err
		}
		fmt.Fprint(c.stdout, deploy.ExampleConfig)
		return nil
	default: // check
		fs, cfgPath := c.flags("config check")
		if _, err := c.parse(fs, args[1:]); err != nil {
			return err
		}
		cfg, err := c.loadConfig(*cfgPath)
		if err != nil {
			return err
		}
		if err := errors.Join(cfg.CheckPaths()...); err != nil {
			return usageError{err}
		}
		fmt.Fprintf(c.stdout, "%s: ok (database %s, %d folder sources, %d email accounts, %d webhook sources, %d API tokens)\n",
			cfg.File, databaseName(cfg), len(cfg.Folders), len(cfg.Emails), len(cfg.Webhook.Sources), len(cfg.API.Tokens))
		return nil
	}
}

func (c *cli) version(ctx context.Context, args []string) error {
	fs, cfgPath := c.flags("version")
	verbose := fs.Bool("verbose", false, i18n.T("同时打印配置文件、数据库和时区", "also print the config file, database and zone").In(c.lang))
	if _, err := c.parse(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "demandd %s\n", buildVersion())
	if !*verbose {
		return nil
	}
	fmt.Fprintf(c.stdout, "go:        %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	cfg, err := c.loadConfig(*cfgPath)
	if err != nil {
		fmt.Fprintf(c.stdout, "config:    %s\n", c.message(err))
		return nil
	}
	abs, _ := filepath.Abs(cfg.File)
	fmt.Fprintf(c.stdout, "config:    %s\ndatabase:  %s\n", abs, databaseName(cfg))
	// Only looked at, never created.
	if p := store.SQLitePath(cfg.DatabaseURL()); p != "" {
		if _, err := os.Stat(p); err != nil {
			fmt.Fprintf(c.stdout, "           %s\n", i18n.T("（尚不存在：serve 或 import 时创建）", "(does not exist yet: serve or import creates it)").In(c.lang))
			return nil
		}
	}
	if st, err := store.Open(ctx, cfg.DatabaseURL(), store.Options{MaxOpenConns: 1}); err != nil {
		fmt.Fprintf(c.stdout, "           %v\n", err)
	} else {
		db, bin, err := st.SchemaVersion(ctx)
		st.Close()
		if err == nil {
			fmt.Fprintf(c.stdout, "schema:    %d of %d\n", db, bin)
		}
	}
	fmt.Fprintf(c.stdout, "timezone:  %s\nlocale:    %s\n", cfg.Location(), c.lang)
	return nil
}

// buildVersion is the version stamped by `make build`, else the module
// version of `go install …@vX`, else the commit `go build` recorded.
func buildVersion() string {
	if version != "dev" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return version
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if rev != "" {
		return "dev-" + rev[:min(12, len(rev))] + dirty
	}
	return version
}

// startReports runs the daily report's scheduler when [report] asks for it;
// the channel closes when it has stopped (at once when there is none).
func (a *app) startReports(ctx context.Context) (<-chan struct{}, error) {
	done := make(chan struct{})
	if !a.cfg.ReportOn() {
		close(done)
		return done, nil
	}
	deps := daily.Deps{Store: a.store, Render: a.renderReport, Summarize: a.reportSummary, Location: a.cfg.Location(),
		Logger: a.log, Locale: a.lang(), FileMode: a.cfg.FileMode.Perm()}
	if a.cfg.Report.Mail.Enabled {
		m, err := a.reportMailer()
		if err != nil {
			return nil, err
		}
		deps.Mailer = m
	}
	sched, err := daily.New(a.cfg.Report, deps)
	if err != nil {
		return nil, usageError{err}
	}
	go func() {
		defer close(done)
		if err := sched.Run(ctx); err != nil {
			a.log.Error("daily report scheduler stopped", "err", err)
		}
	}()
	return done, nil
}

// startMonthlyArchive makes the previous month's archive bundle once a
// month when [archive] monthly = true: it looks at start and then every
// hour (all but one look a month only read a row). The channel closes when
// it has stopped.
func (a *app) startMonthlyArchive(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	if !a.cfg.Archive.Monthly {
		close(done)
		return done
	}
	r := &archive.Runner{Store: a.store, Config: a.cfg.Archive, Location: a.cfg.Location(), Generator: "demandd " + buildVersion(),
		Locale: a.lang(), FileMode: a.cfg.FileMode.Perm(), Logger: a.log}
	go func() {
		defer close(done)
		t := time.NewTicker(time.Hour)
		defer t.Stop()
		for {
			if made, err := r.MaybeMonthly(ctx, time.Now()); err != nil && ctx.Err() == nil {
				a.log.Error("monthly archive bundle failed; trying again in an hour", "err", err)
			} else if made {
				a.log.Info("monthly archive bundle made")
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return done
}
