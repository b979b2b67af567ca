package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/demandd/demandd/admin"
	"github.com/demandd/demandd/classify"
	"github.com/demandd/demandd/config"
	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/engine"
	"github.com/demandd/demandd/ingest/webhook"
	"github.com/demandd/demandd/internal/i18n"
	"github.com/demandd/demandd/normalize"
	"github.com/demandd/demandd/store"
)

// Exit codes.
const (
	exitOK      = 0
	exitRuntime = 1
	exitUsage   = 2
)

// command is one entry of the command line: its synopsis and what it does,
// in both languages, for `demandd -h` and `demandd CMD -h`.
type command struct {
	name     string // "serve", "quarantine list"
	synopsis string // arguments after the name
	zh, en   string
}

// commands in the order `demandd -h` lists them.
var commands = []command{
	{"serve", "", "运行守护进程：监视所有已配置的来源", "run the daemon: watch every configured source"},
	{"import", "FILE…", "导入问卷导出文件一次（.xlsx、.csv、.xls）", "import questionnaire exports once (.xlsx, .csv, .xls)"},
	{"export", "--out FILE.xlsx|FILE.csv [filters]", "导出需求分析与响应跟踪表", "write the tracking table (需求分析与响应跟踪表)"},
	{"report", "[--date YYYY-MM-DD] [--out FILE.xlsx]", "生成需求日报（概览与图表、今日新增、未关闭、超期预警、重复、异常）", "write the daily report (需求日报): overview with charts, new, open, at risk, duplicates, exceptions"},
	{"list", "[--json] [--limit N] [filters]", "列出需求记录", "list demand records"},
	{"update", "CODE… [--status S] [--plan TEXT] [--feedback TEXT] [--department D]", "记录需求的处理进展（每次修改记入历史）", "record progress on demands (each change kept in history)"},
	{"quarantine", "list [--json]", "隔离区：无法识别的条目和放入 failed/ 的文件", "the quarantine: items and files that could not be read"},
	{"quarantine list", "[--json]", "列出隔离的条目和失败的文件及原因", "list quarantined items and failed files with their reasons"},
	{"reprocess", "ID…|F-ID…|--all", "用当前配置重新处理隔离的条目；失败的文件放回原文件夹", "retry quarantined items with the current config; put failed files back in their folder"},
	{"classify", "--explain --text \"…\" | --file F [--row N] | --replay [--apply]", "说明分类结果及依据，或用当前规则重跑已存需求", "show how a text or file is classified and why, or re-run the rules over stored demands"},
	{"dedupe", "--explain CODE | --replay [--since D] [--apply]", "重复需求：说明为何链接（指纹或 SimHash 距离与相似度），或用当前设置重跑链接", "duplicates: explain why a demand is linked (fingerprint, or SimHash distance and similarity), or re-run linking over stored demands"},
	{"link", "CODE CANONICAL", "手动把需求链接为另一条需求的重复（记入双方历史）", "link a demand as a duplicate of another by hand (kept in both histories)"},
	{"unlink", "CODE", "取消重复链接：主需求出现次数减一（记入双方历史）", "undo a duplicate link: the canonical counts one occurrence less (kept in both histories)"},
	{"rules", "example | check FILE | evaluate | suggest", "关键词规则：打印内置规则、检查规则文件、评估准确率、建议关键词", "keyword rules: print the built-in rules, check a rules file, measure their accuracy, suggest keywords"},
	{"rules example", "[--taxonomy five|three]", "打印内置关键词规则（可编辑）", "print the built-in keyword rules as an editable file"},
	{"rules check", "FILE", "检查规则文件", "validate a rules file"},
	{"rules evaluate", "[--since DATE] [--labels FILE] [--json]", "用确认的标签或标注文件评估当前规则：准确率、混淆矩阵、未命中", "measure the current rules against confirmed labels or a labelled file: accuracy, confusion matrix, misses"},
	{"rules suggest", "[--since DATE] [--labels FILE] [--min-count N] [--top K] [--json]", "从被纠正的需求中挖掘关键词，打印可粘贴的规则（不做修改）", "mine keywords from corrected demands and print rules to paste (changes nothing)"},
	{"archive", "--period YYYY-MM [--out FILE] | verify FILE", "归档包：一个期间的记录、原件和 SHA-256 清单打成一个 zip", "archive bundles: a period's records, originals and a SHA-256 manifest in one zip"},
	{"archive verify", "FILE", "校验归档包：重算每个文件的 SHA-256 并核对数目", "check a bundle: recompute every file's SHA-256 and the counts"},
	{"migrate", "", "执行数据库迁移", "apply database migrations"},
	{"doctor", "[--json] [--timeout D]", "检查安装：配置、数据库与迁移、邮箱、文件夹、SMTP、规则、时钟；每项一行 ✓/✗ 和建议", "check the installation: config, database and migrations, mailboxes, folders, SMTP, rules, clock; one line per check with ✓/✗ and a hint"},
	{"config", "example | check", "配置文件：打印示例或检查", "the configuration file: print an example or check one"},
	{"config example", "", "打印完整、带注释的示例配置", "print a complete, commented example config"},
	{"config check", "", "检查配置文件（含文件夹和文件是否存在）", "validate the config file, folders and files included"},
	{"version", "[--verbose]", "打印版本（--verbose：还有配置文件、数据库和时区）", "print the version (--verbose: also the config file, database and zone)"},
}

func lookupCommand(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// usage is the overview `demandd -h` prints.
func usage(l i18n.Locale) string {
	var b strings.Builder
	b.WriteString(i18n.T("demandd — 把各渠道的客户需求汇入一个登记册\n\n用法：demandd 命令 [--config 文件] [选项]\n\n命令：\n",
		"demandd — customer demands (客户需求) from every channel into one register\n\nUsage: demandd COMMAND [--config FILE] [options]\n\nCommands:\n").In(l))
	for _, c := range commands {
		if strings.Contains(c.name, " ") {
			continue
		}
		fmt.Fprintf(&b, "  %-11s %s\n", c.name, i18n.T(c.zh, c.en).In(l))
	}
	b.WriteString(i18n.T("\n`demandd 命令 -h` 显示该命令的选项。\n--config 文件 默认为 ./demandd.toml，其次 /etc/demandd/demandd.toml。\n退出码：0 成功，1 运行失败，2 用法或配置错误。\n",
		"\n`demandd COMMAND -h` shows the command's options.\n--config FILE defaults to ./demandd.toml, then /etc/demandd/demandd.toml.\nExit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.\n").In(l))
	return b.String()
}

// cli carries the streams of one invocation.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// lang is the language of messages: from the environment until the
	// configuration is read, then the configured locale.
	lang i18n.Locale
	// progress shows the import's progress bar on stderr: when it is a
	// terminal (tests set it to see the bar).
	progress bool
	runOptions
}

// runOptions are what main decides for a command besides its arguments.
type runOptions struct {
	// prepareWorkers is engine.Options.PrepareWorkers.
	prepareWorkers int
}

// usageError is a mistake in the command line or the configuration.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usagef is a usage error in both languages.
func usagef(zh, en string, args ...any) error { return usageError{i18n.Errorf(zh, en, args...)} }

// envLocale is the language before a configuration is read: English when
// DEMANDD_LOCALE or the system locale says so, Chinese otherwise.
func envLocale() i18n.Locale {
	for _, k := range []string{"DEMANDD_LOCALE", "LC_ALL", "LC_MESSAGES", "LANG"} {
		if v := os.Getenv(k); v != "" {
			if strings.HasPrefix(v, "en") {
				return i18n.EN
			}
			return i18n.ZH
		}
	}
	return i18n.ZH
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runWith(ctx, runOptions{}, args, stdin, stdout, stderr)
}

// runWith is run with main's options.
func runWith(ctx context.Context, opts runOptions, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr, lang: envLocale(), progress: isTerminal(stderr), runOptions: opts}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage(c.lang))
		return exitUsage
	}
	cmds := map[string]func(context.Context, []string) error{
		"serve":      c.serve,
		"import":     c.importFiles,
		"export":     c.export,
		"report":     c.report,
		"list":       c.list,
		"update":     c.update,
		"quarantine": c.quarantine,
		"reprocess":  c.reprocess,
		"migrate":    c.migrate,
		"archive":    c.archiveCmd,
		"config":     c.config,
		"rules":      c.rules,
		"classify":   c.classifyCmd,
		"dedupe":     c.dedupeCmd,
		"link":       c.linkCmd,
		"unlink":     c.unlinkCmd,
		"version":    c.version,
		"doctor":     c.doctor,
	}
	name := args[0]
	switch name {
	case "help", "-h", "--help", "-help":
		if len(args) > 1 && cmds[args[1]] != nil { // demandd help CMD
			return run(ctx, []string{args[1], "-h"}, stdin, stdout, stderr)
		}
		fmt.Fprint(stdout, usage(c.lang))
		return exitOK
	case "--version", "-version", "-V":
		name, args = "version", append([]string{"version"}, args[1:]...)
	}
	cmd, ok := cmds[name]
	if !ok {
		fmt.Fprintf(stderr, "demandd: %s\n\n%s", i18n.Tf("未知命令 %q", "unknown command %q", name).In(c.lang), usage(c.lang))
		return exitUsage
	}
	err := cmd(ctx, args[1:])
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.Is(err, syscall.EPIPE):
		// The reader went away (`demandd list | head`): not a failure.
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "demandd %s: %s\n", name, c.message(err))
		return exitUsage
	default:
		fmt.Fprintf(stderr, "demandd %s: %s\n", name, c.message(err))
		return exitRuntime
	}
}

// message renders err for a person: each error of a joined list on its
// own line, in the current language.
func (c *cli) message(err error) string {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var lines []string
		for _, e := range j.Unwrap() {
			lines = append(lines, c.message(e))
		}
		return strings.Join(lines, "\n")
	}
	var ue usageError
	if errors.As(err, &ue) && ue.err != err {
		return c.message(ue.err)
	}
	return i18n.Message(err, c.lang)
}

// flags makes a subcommand's flag set with --config; -h prints the
// command's synopsis, what it does and every flag with its meaning.
func (c *cli) flags(name string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("demandd "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // parse errors are reported once, by run
	fs.Usage = func() {}
	path := fs.String("config", "", i18n.T("配置文件（默认 ./demandd.toml，其次 /etc/demandd/demandd.toml）",
		"configuration file (default ./demandd.toml, then /etc/demandd/demandd.toml)").In(c.lang))
	return fs, path
}

// help prints a command's usage and flags to stdout.
func (c *cli) help(fs *flag.FlagSet) {
	name := strings.TrimPrefix(fs.Name(), "demandd ")
	cmd, _ := lookupCommand(name)
	fmt.Fprintf(c.stdout, "%s demandd %s %s\n\n%s\n", i18n.T("用法：", "Usage:").In(c.lang), name, cmd.synopsis, i18n.T(cmd.zh, cmd.en).In(c.lang))
	var sub []string
	for _, s := range commands {
		if strings.HasPrefix(s.name, name+" ") {
			sub = append(sub, fmt.Sprintf("  %-18s %s", strings.TrimPrefix(s.name, name+" "), i18n.T(s.zh, s.en).In(c.lang)))
		}
	}
	if len(sub) > 0 {
		fmt.Fprintf(c.stdout, "\n%s\n%s\n", i18n.T("子命令：", "Subcommands:").In(c.lang), strings.Join(sub, "\n"))
	}
	fmt.Fprintf(c.stdout, "\n%s\n", i18n.T("选项：", "Options:").In(c.lang))
	fs.SetOutput(c.stdout)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// group handles a command with subcommands: -h or nothing prints its
// usage; otherwise it returns the subcommand's name.
func (c *cli) group(name string, args []string) (string, error) {
	fs, _ := c.flags(name)
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		if _, ok := lookupCommand(name + " " + args[0]); ok {
			return args[0], nil
		}
		return "", usagef("未知的 %s 子命令 %q；见 `demandd %s -h`", "unknown %s command %q; see `demandd %s -h`", name, args[0], name)
	}
	c.help(fs)
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		return "", flag.ErrHelp
	}
	return "", usagef("缺少子命令", "missing subcommand")
}

// parse parses flags anywhere among the arguments and returns the others.
func (c *cli) parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				c.help(fs)
				return nil, err
			}
			return nil, usageError{i18n.Wrap(err, i18n.Tf("%v；见 `%s -h`", "%v; see `%s -h`", err, fs.Name()))}
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

// loadConfig finds and reads the configuration; its errors are usage
// errors. From here on, messages are in the configured language.
func (c *cli) loadConfig(path string) (*config.Config, error) {
	p, err := config.Find(path)
	if err != nil {
		return nil, usageError{err}
	}
	c.lang = config.LangOf(p) // so that the file's own errors are in its language
	cfg, err := config.Load(p)
	if err != nil {
		return nil, usageError{err}
	}
	c.lang = localeOf(cfg)
	return cfg, nil
}

// newLogger logs in the configured format, with times in the configured
// zone (a log line in UTC beside a report in Beijing time misleads), at
// the configured level, set in level so that SIGHUP can change it.
func newLogger(cfg *config.Config, w io.Writer, level *slog.LevelVar) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(cfg.Log.Level))
	level.Set(l)
	loc := cfg.Location()
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey && len(groups) == 0 && a.Value.Kind() == slog.KindTime {
			a.Value = slog.TimeValue(a.Value.Time().In(loc))
		}
		return a
	}}
	if cfg.Log.Format == "json" {
		return slog.New(requestIDs{slog.NewJSONHandler(w, opts)})
	}
	return slog.New(requestIDs{slog.NewTextHandler(w, opts)})
}

// app is the wired-up daemon: configuration, database, engine.
type app struct {
	cfg      *config.Config
	log      *slog.Logger
	store    *store.Store
	engine   *engine.Engine
	classify *classify.Engine
	reloader *classify.Reloader
	level    *slog.LevelVar // the log level, which SIGHUP may change
	// metrics counts what the engine does, for the admin listener.
	metrics *admin.Metrics
}

// How a command opens the register.
const (
	createRegister = false // serve, import, migrate: a new register is made
	existingOnly   = true  // commands that read or change what is there
)

// errNoRegister says a command that reads the register found none.
func errNoRegister(where, cfgFile string) error {
	return usageError{i18n.Errorf(
		"没有找到需求登记册：%s 不存在（配置 %s）。请先运行 `demandd serve` 或 `demandd import 文件`，或检查配置中的 data_dir / database.url",
		"no demand register at %s (config %s): nothing was imported with this configuration yet. Run `demandd serve` or `demandd import FILE` first, or check data_dir / database.url in the config",
		where, cfgFile)}
}

// open loads the configuration, opens and migrates the database and builds
// the engine. With existingOnly, a register that does not exist is an
// error naming where it was looked for, and nothing is created.
func (c *cli) open(ctx context.Context, path string, mustExist bool) (*app, error) {
	cfg, err := c.loadConfig(path)
	if err != nil {
		return nil, err
	}
	level := new(slog.LevelVar)
	log := newLogger(cfg, c.stderr, level)
	url := cfg.DatabaseURL()
	if p := store.SQLitePath(url); p != "" && mustExist {
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			abs, _ := filepath.Abs(p)
			return nil, errNoRegister(abs, cfg.File)
		}
	}
	st, err := store.Open(ctx, url, store.Options{MaxOpenConns: cfg.Database.MaxOpenConns})
	if err != nil {
		return nil, i18n.Wrap(err, i18n.Tf("无法打开数据库 %s（%v）；请检查 %s 中的 [database] url",
			"cannot open the database %s (%v); check [database] url in %s", cfg.Redacted(), err, cfg.File))
	}
	log.Debug("database opened", "database", databaseName(cfg), "config", cfg.File)
	if mustExist {
		v, _, err := st.SchemaVersion(ctx)
		if err == nil && v == 0 {
			err = errNoRegister(cfg.Redacted(), cfg.File)
		}
		if err != nil {
			st.Close()
			return nil, err
		}
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
	mappers := map[string]normalize.JSONMapper{}
	for name, m := range webhook.Mappers(cfg.Webhook) {
		mappers[name] = m
	}
	norm := normalize.New(normalize.Options{Aliases: cfg.Questionnaire.Aliases, Location: cfg.Location(), JSONMappers: mappers})
	metrics := admin.NewMetrics(buildVersion())
	eng := engine.New(st, norm, cls, engine.Options{CodePrefix: cfg.CodePrefix, Location: cfg.Location(), Logger: log, Locale: c.lang,
		Dedupe: &cfg.Dedupe, Tracking: engine.Tracking{Departments: cfg.Tracking.Departments},
		DrainTimeout: cfg.Serve.DrainTimeout.Duration, LeaseTTL: cfg.Serve.LeaseTTL.Duration,
		Observer: metrics, OnLease: metrics.SetLease, PrepareWorkers: c.prepareWorkers})
	return &app{cfg: cfg, log: log, store: st, engine: eng, classify: cls,
		reloader: classify.NewReloader(cls, classifySources(cfg), log), level: level, metrics: metrics}, nil
}

// databaseName is the database as a person looks for it: the absolute
// path of a SQLite file, else the URL without its password.
func databaseName(cfg *config.Config) string {
	if p := store.SQLitePath(cfg.DatabaseURL()); p != "" {
		if abs, err := filepath.Abs(p); err == nil {
			return abs
		}
		return p
	}
	return cfg.Redacted()
}

func (a *app) Close() error { return a.store.Close() }

// lang is the locale of what people read.
func (a *app) lang() i18n.Locale { return a.cfg.Lang() }

// localeOf is the configured locale.
func localeOf(cfg *config.Config) i18n.Locale { return cfg.Lang() }

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
	// Validated with the config; an empty value takes the engine's default.
	defUrgency, _ := demand.ParseUrgency(cfg.Classify.DefaultUrgency)
	urgentFrom, _ := demand.ParseUrgency(cfg.Classify.UrgentFrom)
	importantFrom, _ := demand.ParseImportance(cfg.Classify.ImportantFrom)
	return classify.NewEngine(classify.Options{DefaultType: def, DefaultUrgency: defUrgency, UrgentFrom: urgentFrom,
		ImportantFrom: importantFrom, Departments: deps, Calendar: cal,
		SLA: classify.SLA{P1: s.P1.Duration, P2Workdays: s.P2, P3Days: s.P3, P4Days: s.P4}}, rules, dir)
}

// dateRange reads --since/--until (YYYY-MM-DD, inclusive) in loc.
func dateRange(since, until string, loc *time.Location) (demand.Filter, error) {
	var f demand.Filter
	if since != "" {
		t, err := time.ParseInLocation("2006-01-02", since, loc)
		if err != nil {
			return f, usagef("--since %q：日期格式应为 YYYY-MM-DD", "--since %q: want a date as YYYY-MM-DD", since)
		}
		f.Since = t
	}
	if until != "" {
		t, err := time.ParseInLocation("2006-01-02", until, loc)
		if err != nil {
			return f, usagef("--until %q：日期格式应为 YYYY-MM-DD", "--until %q: want a date as YYYY-MM-DD", until)
		}
		f.Until = t.AddDate(0, 0, 1) // the whole day
	}
	return f, nil
}

// filterFunc reads the filter flags once parsed.
type filterFunc func(loc *time.Location) (demand.Filter, error)

// filterFlags adds --since, --until, --status, --type, --priority and
// --overdue to fs.
func (c *cli) filterFlags(fs *flag.FlagSet) filterFunc {
	since := fs.String("since", "", i18n.T("只要此日期及之后收到的需求（YYYY-MM-DD）", "only demands received on or after this date (YYYY-MM-DD)").In(c.lang))
	until := fs.String("until", "", i18n.T("只要此日期及之前收到的需求（YYYY-MM-DD）", "only demands received on or before this date (YYYY-MM-DD)").In(c.lang))
	status := fs.String("status", "", i18n.T("只要这些状态，逗号分隔（待处理、处理中、已交付、已验收、已关闭、已拒绝，或 new、in_progress…）",
		"only these statuses, comma-separated (new, in_progress, delivered, accepted, closed, rejected, or 待处理, 处理中…)").In(c.lang))
	typ := fs.String("type", "", i18n.T("只要这些类型，逗号分隔（咨询、投诉、建议、功能、服务，或 inquiry…）",
		"only these types, comma-separated (inquiry, complaint, suggestion, feature, service, or 咨询…)").In(c.lang))
	priority := fs.String("priority", "", i18n.T("只要这些优先级，逗号分隔（P1、P2、P3、P4）", "only these priorities, comma-separated (P1, P2, P3, P4)").In(c.lang))
	overdue := fs.Bool("overdue", false, i18n.T("只要已超期且未关闭的需求", "only open demands past their due time").In(c.lang))
	return func(loc *time.Location) (demand.Filter, error) {
		f, err := dateRange(*since, *until, loc)
		if err != nil {
			return f, err
		}
		if f.Status, err = parseList("--status", *status, demand.ParseStatus); err != nil {
			return f, err
		}
		if f.Types, err = parseList("--type", *typ, demand.ParseType); err != nil {
			return f, err
		}
		if f.Priority, err = parseList("--priority", *priority, demand.ParsePriority); err != nil {
			return f, err
		}
		if *overdue {
			f.OverdueAt = time.Now()
		}
		return f, nil
	}
}

// parseList reads a comma-separated flag of enum values.
func parseList[T any](name, s string, parse func(string) (T, error)) ([]T, error) {
	if s == "" {
		return nil, nil
	}
	var out []T
	for _, part := range strings.Split(s, ",") {
		v, err := parse(part)
		if err != nil {
			return nil, usagef("%s：%v", "%s: %v", name, err)
		}
		out = append(out, v)
	}
	return out, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
