package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/demandd/demandd/classify"
	"github.com/demandd/demandd/config"
	"github.com/demandd/demandd/ingest"
	"github.com/demandd/demandd/ingest/webhook"
	"github.com/demandd/demandd/internal/i18n"
	"github.com/demandd/demandd/internal/probe"
	"github.com/demandd/demandd/store"
)

// Defaults of `demandd doctor`.
const (
	// doctorTimeout bounds each group of checks (the database, one
	// account, the SMTP server): doctor never hangs on a silent server.
	doctorTimeout = 10 * time.Second
	// clockTolerance is the most the database's clock may differ from
	// this machine's: due times and leases are compared across machines.
	clockTolerance = 5 * time.Second
)

// check is a group of checks that runs on its own; its results come in
// the order they are listed.
type check struct {
	id   string    // of the line shown when the group does not end in time
	name i18n.Text // likewise
	run  func(ctx context.Context) []probe.Result
}

func (c *cli) doctor(ctx context.Context, args []string) error {
	fs, cfgPath := c.flags("doctor")
	asJSON := fs.Bool("json", false, i18n.T("输出 JSON：每项检查的 id、名称、状态、详情和建议", "print JSON: each check's id, name, status, detail and hint").In(c.lang))
	timeout := fs.Duration("timeout", doctorTimeout, i18n.T("每组检查（数据库、一个邮箱账户、SMTP……）的时限", "the time each group of checks (the database, one email account, SMTP …) may take").In(c.lang))
	if _, err := c.parse(fs, args); err != nil {
		return err
	}
	if *timeout <= 0 {
		return usagef("--timeout 必须是正数", "--timeout must be positive")
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	var results []probe.Result
	show := func(rs []probe.Result) {
		results = append(results, rs...)
		if !*asJSON {
			for _, r := range rs {
				fmt.Fprintln(c.stdout, c.doctorLine(r))
			}
		}
	}
	cfg, err := c.loadConfig(*cfgPath)
	if err != nil {
		show([]probe.Result{configFailed(err),
			probe.Skipped("rest", i18n.T("其余检查", "every other check"), i18n.T("未检查：配置无法读取", "not checked: the configuration did not load"))})
	} else {
		show([]probe.Result{probe.Pass("config", i18n.T("配置", "config"), i18n.Tf(
			"%s：数据库 %s，%d 个文件夹，%d 个邮箱账户，%d 个 webhook 来源", "%s: database %s, %d folders, %d email accounts, %d webhook sources",
			absPath(cfg.File), databaseName(cfg), len(cfg.Folders), len(cfg.Emails), len(cfg.Webhook.Sources)))})
		checks := doctorChecks(cfg, c.lang)
		// Every group starts at once; each is printed in its turn as soon
		// as it and those before it are done.
		done := make([]chan []probe.Result, len(checks))
		for i, ch := range checks {
			done[i] = make(chan []probe.Result, 1)
			go func() {
				gctx, cancel := context.WithTimeout(ctx, *timeout)
				defer cancel()
				done[i] <- ch.run(gctx)
			}()
		}
		// A check that ignores its context is given up on a little after
		// it; all started together, so one deadline serves them all.
		giveUp := time.Now().Add(*timeout + 2*time.Second)
		for i, ch := range checks {
			t := time.NewTimer(time.Until(giveUp))
			select {
			case rs := <-done[i]:
				show(rs)
			case <-t.C:
				show([]probe.Result{probe.Failed(ch.id, ch.name, i18n.Tf("%s 内没有完成", "did not finish within %s", *timeout),
					i18n.T("服务器没有应答：检查网络和防火墙", "a server does not answer: check the network and firewalls"), context.DeadlineExceeded)})
			}
			t.Stop()
		}
	}
	failed := probe.Failures(results)
	if *asJSON {
		if err := c.doctorJSON(results); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(c.stdout, c.doctorSummary(results))
	}
	if failed > 0 {
		return i18n.Errorf("%d 项检查未通过；按每行的建议处理后再运行 demandd doctor", "%d checks failed; follow each line's hint, then run demandd doctor again", failed)
	}
	return nil
}

// doctorLine is one check as a person reads it.
func (c *cli) doctorLine(r probe.Result) string {
	mark := map[probe.Status]string{probe.OK: "✓", probe.Warn: "!", probe.Fail: "✗", probe.Skip: "-"}[r.Status]
	line := mark + " " + r.Name.In(c.lang)
	if d := r.Detail.In(c.lang); d != "" {
		line += " — " + d
	}
	if h := r.Hint.In(c.lang); h != "" && (r.Status == probe.Fail || r.Status == probe.Warn) {
		line += i18n.T("；建议：", "; hint: ").In(c.lang) + h
	}
	return line
}

func (c *cli) doctorSummary(rs []probe.Result) string {
	n := map[probe.Status]int{}
	for _, r := range rs {
		n[r.Status]++
	}
	return "\n" + i18n.Tf("%d 项通过，%d 项警告，%d 项失败，%d 项未检查", "%d ok, %d warnings, %d failed, %d skipped",
		n[probe.OK], n[probe.Warn], n[probe.Fail], n[probe.Skip]).In(c.lang)
}

func (c *cli) doctorJSON(rs []probe.Result) error {
	type line struct {
		ID     string `json:"id"`
		Name   string `json:"name"`
		Status string `json:"status"`
		Detail string `json:"detail,omitempty"`
		Hint   string `json:"hint,omitempty"`
	}
	out := struct {
		OK     bool   `json:"ok"`
		Checks []line `json:"checks"`
	}{OK: probe.Failures(rs) == 0, Checks: []line{}}
	for _, r := range rs {
		l := line{ID: r.ID, Name: r.Name.In(c.lang), Status: string(r.Status), Detail: r.Detail.In(c.lang)}
		if r.Status == probe.Fail || r.Status == probe.Warn {
			l.Hint = r.Hint.In(c.lang)
		}
		out.Checks = append(out.Checks, l)
	}
	enc := json.NewEncoder(c.stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// configFailed is the config check when the file does not load: each of
// its errors on a line of its own.
func configFailed(err error) probe.Result {
	detail := i18n.T(strings.Join(config.Messages(err, i18n.ZH), "\n    "), strings.Join(config.Messages(err, i18n.EN), "\n    "))
	return probe.Failed("config", i18n.T("配置", "config"), detail,
		i18n.T("按上面指出的文件、行号和键修改配置；`demandd config example` 打印完整的示例",
			"fix the file, line and key named above; `demandd config example` prints a complete example"), err)
}

// both is err's message in both languages.
func both(err error) i18n.Text { return i18n.T(i18n.Message(err, i18n.ZH), i18n.Message(err, i18n.EN)) }

// doctorChecks are the groups after the configuration, in the order they
// are shown.
func doctorChecks(cfg *config.Config, l i18n.Locale) []check {
	env := ingest.Env{Location: cfg.Location(), Locale: l, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), FileMode: cfg.FileMode.Perm()}
	checks := []check{
		{"clock", i18n.T("时钟与时区", "clock and time zone"), func(context.Context) []probe.Result { return clockChecks(cfg) }},
		{"database", i18n.T("数据库", "database"), func(ctx context.Context) []probe.Result { return databaseChecks(ctx, cfg) }},
		{"rules", i18n.T("规则与客户名录", "rules and customers"), func(context.Context) []probe.Result { return classifyChecks(cfg) }},
	}
	for i := range cfg.Folders {
		f := &cfg.Folders[i]
		checks = append(checks, check{"folder." + f.Name, i18n.Tf("文件夹 %s", "folder %s", f.Name),
			func(context.Context) []probe.Result { return f.Probe() }})
	}
	for i := range cfg.Emails {
		e := &cfg.Emails[i]
		checks = append(checks, check{"email." + e.Name, i18n.Tf("邮箱 %s", "email %s", e.Name),
			func(ctx context.Context) []probe.Result { return e.Probe(ctx, env) }})
	}
	if cfg.Listens() {
		checks = append(checks, check{"webhook", i18n.T("webhook 与 API", "webhook and API"),
			func(context.Context) []probe.Result { return []probe.Result{webhookCheck(cfg)} }})
	}
	smtpName := i18n.T("SMTP 发信", "SMTP")
	checks = append(checks, check{"smtp", smtpName, func(ctx context.Context) []probe.Result {
		if cfg.SMTP.Host == "" {
			return []probe.Result{probe.Skipped("smtp", smtpName, i18n.T("未配置（没有 [smtp]）", "not configured (no [smtp])"))}
		}
		return cfg.SMTP.Probe(ctx)
	}})
	return checks
}

// clockChecks: the configured zone and where its data comes from, and
// whether this machine's clock is kept in time.
func clockChecks(cfg *config.Config) []probe.Result {
	loc := cfg.Location()
	now := time.Now().In(loc)
	name := i18n.T("时区", "time zone")
	from := i18n.T("Go 自带的副本", "Go's own copy")
	dir := os.Getenv("ZONEINFO")
	if _, err := os.Stat("/usr/share/zoneinfo"); dir == "" && err == nil {
		dir = "/usr/share/zoneinfo"
	}
	if dir != "" {
		from = i18n.Text{ZH: dir, EN: dir}
	}
	zone := probe.Pass("clock.zone", name, i18n.T(
		fmt.Sprintf("%s（%s），现在 %s；时区数据来自 %s", loc, now.Format("UTC-07:00"), now.Format(time.DateTime), from.ZH),
		fmt.Sprintf("%s (%s), now %s; zone data from %s", loc, now.Format("UTC-07:00"), now.Format(time.DateTime), from.EN)))
	// A configured UTC loads without any zone data: say so before someone
	// names another zone.
	if _, err := time.LoadLocation("Asia/Shanghai"); err != nil {
		zone = probe.Warning("clock.zone", name, i18n.Tf("%s；本机没有时区数据库，只能用 UTC", "%s; this machine has no time zone database: only UTC works", loc),
			i18n.T("安装 tzdata（apt-get install tzdata）", "install tzdata (apt-get install tzdata)"))
	}
	return []probe.Result{zone, localClock()}
}

// databaseChecks: it answers, its schema is this binary's, its clock is
// this machine's. Nothing is created or migrated.
func databaseChecks(ctx context.Context, cfg *config.Config) []probe.Result {
	conn := i18n.T("数据库：连接", "database: connect")
	schema := i18n.T("数据库：结构版本", "database: schema")
	clock := i18n.T("数据库：时钟", "database: clock")
	skipRest := func(why i18n.Text) []probe.Result {
		return []probe.Result{probe.Skipped("database.schema", schema, why), probe.Skipped("database.clock", clock, why)}
	}
	notConnected := i18n.T("未检查：无法连接数据库", "not checked: the database did not connect")
	url := cfg.DatabaseURL()
	if p := store.SQLitePath(url); p != "" {
		if _, err := os.Stat(p); err != nil {
			return append([]probe.Result{probe.Failed("database.connect", conn, i18n.Tf("%s 不存在：还没有需求登记册", "%s does not exist: there is no register yet", absPath(p)),
				i18n.T("运行 `demandd migrate` 创建它（serve 和 import 也会创建），或检查 data_dir / database.url",
					"run `demandd migrate` to create it (serve and import do too), or check data_dir / database.url"), err)}, skipRest(notConnected)...)
		}
	}
	st, err := store.Open(ctx, url, store.Options{MaxOpenConns: 2})
	if err != nil {
		return append([]probe.Result{probe.Failed("database.connect", conn, i18n.Tf("无法连接 %s：%v", "cannot connect to %s: %v", cfg.Redacted(), err),
			i18n.T("检查 [database] url（主机、端口、用户、密码、库名）、PostgreSQL 是否在运行，以及 pg_hba.conf 是否允许本机",
				"check [database] url (host, port, user, password, database), that PostgreSQL runs, and that pg_hba.conf lets this machine in"), err)},
			skipRest(notConnected)...)
	}
	defer st.Close()
	out := []probe.Result{probe.Pass("database.connect", conn, i18n.Tf("%s（%s）", "%s (%s)", databaseName(cfg), st.Dialect()))}
	db, bin, err := st.SchemaVersion(ctx)
	switch {
	case err != nil:
		out = append(out, probe.Failed("database.schema", schema, i18n.Tf("无法读取结构版本：%v", "cannot read the schema version: %v", err),
			i18n.T("检查数据库用户是否有读取权限", "check that the database user may read it"), err))
	case db == bin:
		out = append(out, probe.Pass("database.schema", schema, i18n.Tf("版本 %d，与本程序一致", "version %d, as this binary expects", db)))
	case db == 0:
		out = append(out, probe.Failed("database.schema", schema, i18n.T("数据库是空的：没有 demandd 的表", "the database is empty: no demandd tables"),
			i18n.T("运行 `demandd migrate`（serve 启动时也会迁移）", "run `demandd migrate` (serve migrates when it starts, too)"), errors.New("schema version 0")))
	case db < bin:
		out = append(out, probe.Failed("database.schema", schema, i18n.Tf("落后：版本 %d，本程序需要 %d", "behind: version %d, this binary expects %d", db, bin),
			i18n.T("先备份，再运行 `demandd migrate`（serve 启动时也会迁移）", "back it up, then run `demandd migrate` (serve migrates when it starts, too)"),
			fmt.Errorf("schema version %d of %d", db, bin)))
	default:
		out = append(out, probe.Failed("database.schema", schema, i18n.Tf("超前：版本 %d，比本程序（%d）新，是更新版本的 demandd 迁移的", "ahead: version %d, newer than this binary (%d): a newer demandd migrated it", db, bin),
			i18n.T("运行那个更新版本的 demandd；旧程序不能用于更新过的数据库", "run that newer demandd; an older binary must not use a newer database"),
			fmt.Errorf("%w: version %d of %d", store.ErrSchemaNewer, db, bin)))
	}
	if st.Dialect() != store.Postgres {
		return append(out, probe.Pass("database.clock", clock, i18n.T("SQLite 用本机时钟", "SQLite uses this machine's clock")))
	}
	skew, rtt, err := st.Clock(ctx)
	if err != nil {
		return append(out, probe.Failed("database.clock", clock, i18n.Tf("无法读取数据库时钟：%v", "cannot read the database clock: %v", err),
			i18n.T("检查数据库连接", "check the database connection"), err))
	}
	return append(out, clockResult(skew, rtt, clockTolerance))
}

// clockResult judges the database clock's skew against this machine's,
// knowing it to within half the round trip.
func clockResult(skew, rtt, tolerance time.Duration) probe.Result {
	name := i18n.T("数据库：时钟", "database: clock")
	abs := skew.Abs()
	off := skew.Round(time.Millisecond)
	if abs <= tolerance+rtt/2 {
		return probe.Pass("database.clock", name, i18n.Tf("与本机相差 %s（往返 %s，容差 %s）", "%s from this machine's (round trip %s, tolerance %s)",
			off, rtt.Round(time.Microsecond), tolerance))
	}
	way := i18n.T("快", "ahead of")
	if skew < 0 {
		way = i18n.T("慢", "behind")
	}
	return probe.Failed("database.clock", name, i18n.T(
		fmt.Sprintf("数据库时钟比本机%s %s（容差 %s）：截止时间和租约会错", way.ZH, abs.Round(time.Millisecond), tolerance),
		fmt.Sprintf("the database clock is %s %s this machine's (tolerance %s): due times and leases go wrong", abs.Round(time.Millisecond), way.EN, tolerance)),
		i18n.T("用 NTP（chrony 或 systemd-timesyncd）同步数据库服务器和本机的时钟", "keep the database server's and this machine's clocks in time with NTP (chrony or systemd-timesyncd)"),
		fmt.Errorf("clock skew %s", off))
}

// classifyChecks: the rules and the customer directory load.
func classifyChecks(cfg *config.Config) []probe.Result {
	name := i18n.T("规则", "rules")
	var out []probe.Result
	src := classifySources(cfg)
	dirPath := src.DirectoryPath
	src.DirectoryPath = ""
	rules, _, err := classify.Load(src)
	if err != nil {
		out = append(out, probe.Failed("rules", name, both(err),
			i18n.T("改正上面指出的行；`demandd rules check 文件` 做同样的检查；运行中的 serve 在改好前继续用旧规则",
				"fix the line named above; `demandd rules check FILE` checks the same; a running serve keeps its old rules until then"), err))
	} else {
		where := rules.Source
		if cfg.Classify.Rules == "" {
			where = i18n.T("内置规则", "built-in rules").In(cfg.Lang())
		}
		out = append(out, probe.Pass("rules", name, i18n.Tf("%s：分类法 %s，%d 条规则，%d 个关键词", "%s: %s-way taxonomy, %d rules, %d keywords",
			where, rules.Taxonomy, rules.Len(), rules.Keywords())))
	}
	cname := i18n.T("客户名录", "customers")
	if dirPath == "" {
		return append(out, probe.Skipped("customers", cname, i18n.T("未配置（没有 classify.customers）", "not configured (no classify.customers)")))
	}
	dir, err := classify.LoadDirectory(dirPath)
	if err != nil {
		return append(out, probe.Failed("customers", cname, both(err),
			i18n.T("改正客户名录文件（.csv 或 .xlsx：邮箱、域名或名称 → 客户名、行业、级别）", "fix the customer directory (.csv or .xlsx: email, domain or name → customer, industry, tier)"), err))
	}
	return append(out, probe.Pass("customers", cname, i18n.Tf("%s：%d 个查找键", "%s: %d lookup keys", dirPath, dir.Len())))
}

// webhookCheck: every source's secret, every API token and the TLS
// certificate can be read.
func webhookCheck(cfg *config.Config) probe.Result {
	name := i18n.T("webhook 与 API", "webhook and API")
	fail := func(err error) probe.Result {
		return probe.Failed("webhook", name, both(err),
			i18n.T("检查所指的文件是否存在且可读，或环境变量是否已设置", "check that the file named exists and is readable, or that the environment variable is set"), err)
	}
	if _, err := webhook.New(cfg.Webhook, webhook.Options{}); err != nil {
		return fail(err)
	}
	for i := range cfg.API.Tokens {
		if _, err := cfg.API.Tokens[i].Resolve(); err != nil {
			return fail(err)
		}
	}
	scheme := "http"
	if cfg.Webhook.TLSCert != "" {
		pair, err := tls.LoadX509KeyPair(cfg.Webhook.TLSCert, cfg.Webhook.TLSKey)
		if err != nil {
			return fail(fmt.Errorf("webhook: tls_cert and tls_key: %w", err))
		}
		scheme = "https"
		if left := time.Until(pair.Leaf.NotAfter); left < 14*24*time.Hour {
			return probe.Warning("webhook", name, i18n.Tf("证书 %s 于 %s 到期", "the certificate %s expires on %s", cfg.Webhook.TLSCert, pair.Leaf.NotAfter.Format(time.DateOnly)),
				i18n.T("更新证书；serve 启动时读取它", "renew the certificate; serve reads it when it starts"))
		}
	}
	return probe.Pass("webhook", name, i18n.Tf("%s://%s：%d 个来源、%d 个 API 令牌的密钥可读", "%s://%s: the secrets of %d sources and %d API tokens read",
		scheme, cfg.Webhook.Listen, len(cfg.Webhook.Sources), len(cfg.API.Tokens)))
}

// absPath is p made absolute, or p when it cannot be.
func absPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}
