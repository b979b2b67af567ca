// Package config reads demandd's one TOML file. Decoding is strict: an
// unknown key (names are case-sensitive), a value of the wrong type and a
// value that fails Validate are errors naming the file, the line and the
// key, all of a file's errors at once, in Chinese and English (*i18n.Error;
// see Messages). Defaults are filled in by Load; every component gets its
// own typed part of the result.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/demandd/demandd/admin"
	"github.com/demandd/demandd/api"
	"github.com/demandd/demandd/archive"
	"github.com/demandd/demandd/config/setting"
	"github.com/demandd/demandd/dedupe"
	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/ingest"
	"github.com/demandd/demandd/ingest/folder"
	"github.com/demandd/demandd/ingest/imapsrc"
	"github.com/demandd/demandd/ingest/webhook"
	"github.com/demandd/demandd/internal/i18n"
	"github.com/demandd/demandd/internal/redact"
	"github.com/demandd/demandd/internal/tomlpos"
	"github.com/demandd/demandd/report"
)

// Config is the whole configuration file. Load resolves relative paths
// (data_dir, a sqlite: database.url, folder path, processed_dir and
// failed_dir, classify rules and customers, email password_file and
// token_file) against the directory of the file, not the current
// directory, so that `demandd list --config /etc/demandd/demandd.toml`
// finds the same database from anywhere; Parse, with no file, keeps them.
type Config struct {
	// DataDir holds the SQLite database (when no URL is set) and other state.
	DataDir string `toml:"data_dir"`
	// Timezone is the IANA zone for dates in codes, reports and SLA times.
	Timezone string `toml:"timezone"`
	// CodePrefix starts every demand code (DEM202611001).
	CodePrefix string `toml:"code_prefix"`
	// Locale is the language of what people read (the CLI, NAME.error.txt,
	// reports): zh (default) or en. Logs stay in English.
	Locale string `toml:"locale"`
	// FileMode is the mode of the files demandd writes for people: exports
	// and NAME.error.txt (default 0640). It is set whatever the umask.
	FileMode      FileMode      `toml:"file_mode"`
	Log           Log           `toml:"log"`
	Database      Database      `toml:"database"`
	Classify      Classify      `toml:"classify"`
	Questionnaire Questionnaire `toml:"questionnaire"`
	Folders       []Folder      `toml:"folder"`
	Emails        []Email       `toml:"email"`
	// Webhook is the listener of [[webhook.source]] and the API.
	Webhook webhook.Config `toml:"webhook"`
	// API holds the tokens of the JSON API ([[api.token]]), served on the
	// webhook listener under /api/v1/.
	API API `toml:"api"`
	// Report schedules the daily report (需求日报) when the block is
	// present; SMTP is the server its mail goes through.
	Report report.Config     `toml:"report"`
	SMTP   report.SMTPConfig `toml:"smtp"`
	// Archive makes monthly archive bundles in serve, and purges raw bytes
	// that a verified bundle holds, when the block asks for it.
	Archive archive.Config `toml:"archive"`
	// Dedupe links reworded and near-identical demands (on by default).
	Dedupe dedupe.Config `toml:"dedupe"`
	// Tracking governs returned tracking tables (a worked export dropped
	// back or imported).
	Tracking Tracking `toml:"tracking"`
	// Serve holds the lease and shutdown settings of `serve`.
	Serve Serve `toml:"serve"`
	// Admin is the operations listener: health, readiness, Prometheus
	// metrics and the status page (on 127.0.0.1:9090 unless it says).
	Admin admin.Config `toml:"admin"`

	// File is the path the configuration was read from ("" for defaults).
	File string `toml:"-"`

	location *time.Location
	lang     i18n.Locale
	lines    map[string]int // key path → line, for errors
	broken   []string       // keys the schema check removed; Validate skips them
}

// Tracking is the [tracking] table.
type Tracking struct {
	// Departments, when set, is the closed list of 责任部门 a returned
	// tracking table may set: another department is rejected with the
	// list. Empty: any text.
	Departments []string `toml:"departments"`
}

// API is the [api] table.
type API struct {
	Tokens []api.TokenConfig `toml:"token"`
}

// Listens reports whether serve opens the webhook listener: when a webhook
// source or an API token is configured.
func (c *Config) Listens() bool { return len(c.Webhook.Sources) > 0 || len(c.API.Tokens) > 0 }

// Log configures the daemon's log output.
type Log struct {
	Level  string `toml:"level"`  // debug, info, warn, error
	Format string `toml:"format"` // text or json
}

// Database says where the register lives.
type Database struct {
	// URL is postgres://… or sqlite:PATH; empty means DataDir/demandd.db.
	URL string `toml:"url"`
	// MaxOpenConns limits the pool (PostgreSQL).
	MaxOpenConns int `toml:"max_open_conns"`
}

// Classify holds the classification settings.
type Classify struct {
	// Rules is the keyword rules file; empty means the built-in rules
	// (`demandd rules example` prints them).
	Rules string `toml:"rules"`
	// Taxonomy is five (咨询/投诉/建议/功能/服务) or three (功能型/体验型/战略型).
	Taxonomy string `toml:"taxonomy"`
	// Customers is the customer directory (.csv or .xlsx): email address,
	// domain or name → customer name, industry, tier.
	Customers string `toml:"customers"`
	// DefaultType is the type of a demand nothing else classifies.
	DefaultType string `toml:"default_type"`
	// DefaultUrgency is the urgency of a demand nothing in it presses
	// (default low).
	DefaultUrgency string `toml:"default_urgency"`
	// UrgentFrom is the lowest urgency that counts as urgent in the
	// priority quadrant (default high); ImportantFrom the lowest
	// importance that counts as important (default medium: a stated
	// business impact, a 战略/重点 customer, or a rule's high importance).
	UrgentFrom    string `toml:"urgent_from"`
	ImportantFrom string `toml:"important_from"`
	// Departments maps a type to its responsible department (责任部门).
	Departments map[string]string `toml:"departments"`
	SLA         SLA               `toml:"sla"`
	// Holidays and Workdays adjust the Monday–Friday week (YYYY-MM-DD):
	// public holidays, and make-up workdays such as China's 调休.
	Holidays []string `toml:"holidays"`
	Workdays []string `toml:"workdays"`
}

// SLA holds the response targets per priority quadrant.
type SLA struct {
	P1 Duration `toml:"p1"`              // 紧急且重要: clock time
	P2 int      `toml:"p2_working_days"` // 重要不紧急
	P3 int      `toml:"p3_days"`         // 紧急不重要: next iteration
	P4 int      `toml:"p4_days"`         // 不紧急不重要: periodic review
}

// Questionnaire configures how spreadsheet columns map to record fields.
type Questionnaire struct {
	// Aliases adds header names per field, tried before the built-in ones;
	// fields: customer, industry, contact, email, phone, tier, title,
	// description, scenario, pain_point, goal, urgency, type, received_at, id.
	Aliases map[string][]string `toml:"aliases"`
}

// Folder is one [[folder]] block; the folder channel owns it.
type Folder = folder.Settings

// Email is one [[email]] block; the email channel owns it.
type Email = imapsrc.Settings

// Limits of [[folder]] max_file_size and max_cell.
const (
	MaxFileSizeLimit = folder.MaxFileSizeLimit
	MaxCellLimit     = folder.MaxCellLimit
)

// Duration is a time.Duration written as "2s", "1m30s", "24h".
type Duration = setting.Duration

// FileMode is a file's permission bits, written as an octal string: "0640".
type FileMode os.FileMode

// DefaultFileMode is the mode of an export or NAME.error.txt when
// file_mode is not set: the owner and its group read them, others do not
// (they hold customers' names, contacts and words).
const DefaultFileMode FileMode = 0o640

// UnmarshalText reads "0640", "640" or "0o640". The owner must be able to
// read and write: demandd reads NAME.error.txt back and replaces exports.
func (m *FileMode) UnmarshalText(b []byte) error {
	s := strings.TrimPrefix(strings.TrimPrefix(string(b), "0o"), "0O")
	v, err := strconv.ParseUint(s, 8, 32)
	switch {
	case err != nil:
		return i18n.Errorf(`应为八进制权限，例如 "0640"，实际是 %q`, `want an octal mode such as "0640", got %q`, b)
	case v > 0o777:
		return i18n.Errorf(`应为 0000 到 0777 之间的权限（不含 setuid、setgid 和 sticky 位），实际是 %q`,
			`want permission bits from 0000 to 0777 (no setuid, setgid or sticky bit), got %q`, b)
	case v&0o600 != 0o600:
		return i18n.Errorf(`%q 不让所有者读写；demandd 要读回和替换自己写的文件，至少应为 "0600"`,
			`%q does not let the owner read and write; demandd reads back and replaces the files it writes: use at least "0600"`, b)
	}
	*m = FileMode(v)
	return nil
}

// MarshalText writes the mode back as four octal digits.
func (m FileMode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

func (m FileMode) String() string { return fmt.Sprintf("%04o", uint32(m)) }

// Perm is the mode for os.Chmod.
func (m FileMode) Perm() os.FileMode { return os.FileMode(m).Perm() }

// Location is the configured time zone (valid after Load or Validate).
func (c *Config) Location() *time.Location {
	if c.location == nil {
		return time.UTC
	}
	return c.location
}

// Lang is the configured locale (valid after Load or Validate); Chinese
// when unset or invalid.
func (c *Config) Lang() i18n.Locale {
	if c.lang != "" {
		return c.lang
	}
	if l, err := i18n.ParseLocale(c.Locale); err == nil {
		return l
	}
	return i18n.ZH
}

// LangOf is the locale the file at path asks for, even when the file has
// other errors, so that Load's errors can be shown in it; Chinese when the
// file cannot be read or parsed or names no valid locale.
func LangOf(path string) i18n.Locale {
	data, err := os.ReadFile(path)
	if err != nil {
		return i18n.ZH
	}
	tree, err := tomlpos.Tree(path, data)
	if err != nil {
		return i18n.ZH
	}
	s, _ := tree["locale"].(string)
	if l, err := i18n.ParseLocale(s); err == nil {
		return l
	}
	return i18n.ZH
}

// DatabaseURL is the effective database URL.
func (c *Config) DatabaseURL() string {
	if c.Database.URL != "" {
		return c.Database.URL
	}
	return "sqlite:" + filepath.Join(c.DataDir, "demandd.db")
}

// ErrNotFound is returned by Find when no configuration file exists.
var ErrNotFound = errors.New("config: no configuration file")

// Find returns path if set, else the first of ./demandd.toml and
// /etc/demandd/demandd.toml that exists.
func Find(path string) (string, error) {
	if path != "" {
		return path, nil
	}
	for _, p := range []string{"demandd.toml", "/etc/demandd/demandd.toml"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", i18n.Wrap(ErrNotFound, i18n.T(
		"找不到配置文件（查找了 ./demandd.toml 和 /etc/demandd/demandd.toml）；用 `demandd config example > demandd.toml` 写一个，或用 --config FILE 指定",
		"no configuration file: looked for ./demandd.toml and /etc/demandd/demandd.toml; write one with `demandd config example > demandd.toml` or pass --config FILE"))
}

// Load reads, decodes strictly, fills defaults, resolves relative paths
// against path's directory and validates path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, readError(path, err)
	}
	return parse(path, data, filepath.Dir(path))
}

// readError says why path cannot be read and what to do, keeping err for
// errors.Is (fs.ErrNotExist, fs.ErrPermission).
func readError(path string, err error) error {
	var t i18n.Text
	switch fi, statErr := os.Stat(path); {
	case errors.Is(err, fs.ErrNotExist):
		t = i18n.Tf("无法读取 %[1]s：文件不存在；用 `demandd config example > %[1]s` 写一个，或用 --config FILE 指定",
			"cannot read %[1]s: no such file; write one with `demandd config example > %[1]s` or pass --config FILE", path)
	case errors.Is(err, fs.ErrPermission):
		t = i18n.Tf("无法读取 %s：没有权限；请检查文件的所有者和权限（demandd 以运行它的用户读取）",
			"cannot read %s: permission denied; check the file's owner and mode (demandd reads it as the user it runs as)", path)
	case statErr == nil && fi.IsDir():
		t = i18n.Tf("无法读取 %s：这是文件夹，不是文件；请用 --config FILE 指定配置文件",
			"cannot read %s: it is a folder, not a file; pass --config FILE", path)
	default:
		t = i18n.Tf("无法读取 %s：%v", "cannot read %s: %v", path, cause(err))
	}
	return i18n.Wrap(err, t)
}

// Parse is Load on bytes; name is used in messages. Every error of the
// file is reported, joined (see Messages), each naming the file, the line
// and the key; a syntax error stops at its line and column.
func Parse(name string, data []byte) (*Config, error) { return parse(name, data, "") }

// parse is Parse resolving relative paths against dir unless it is "".
func parse(name string, data []byte, dir string) (*Config, error) {
	tree, err := tomlpos.Tree(name, data)
	if err != nil {
		return nil, err
	}
	c := &Config{File: name}
	c.lines, _ = tomlpos.KeyLines(data)
	errs := c.checkSchema(tree)
	// What is left fits Config; it is decoded from the tree, so that the
	// keys reported above do not stop the decoder before the rest.
	fit, err := toml.Marshal(tree)
	if err == nil {
		dec := toml.NewDecoder(bytes.NewReader(fit))
		dec.DisallowUnknownFields()
		err = dec.Decode(c)
	}
	if err != nil {
		return nil, fmt.Errorf("config: %s: decode after the schema check: %w", name, err)
	}
	c.SetDefaults()
	if dir != "" {
		// After the defaults, which derive processed_dir and failed_dir
		// from path and give data_dir: every path is resolved once.
		c.resolve(dir)
	}
	errs = append(errs, c.validate()...)
	if len(errs) > 0 {
		return nil, joinSorted(errs)
	}
	return c, nil
}

// resolve joins every relative path to dir, after expanding a leading
// $CREDENTIALS_DIRECTORY (see credentialsPath).
func (c *Config) resolve(dir string) {
	abs := func(p *string) {
		*p = credentialsPath(*p)
		if *p != "" && !filepath.IsAbs(*p) && !strings.HasPrefix(*p, "$") {
			*p = filepath.Join(dir, *p)
		}
	}
	abs(&c.DataDir)
	if rest, ok := strings.CutPrefix(c.Database.URL, "sqlite:"); ok {
		// store.Open reads sqlite://PATH as sqlite:PATH; ":memory:" is
		// not a file.
		p := strings.TrimPrefix(rest, "//")
		if p != "" && !strings.HasPrefix(p, ":") && !filepath.IsAbs(p) {
			c.Database.URL = "sqlite:" + filepath.Join(dir, p)
		}
	}
	abs(&c.Classify.Rules)
	abs(&c.Classify.Customers)
	for _, ch := range c.Channels() {
		ch.Resolve(abs)
	}
	c.Webhook.Resolve(abs)
	for i := range c.API.Tokens {
		abs(&c.API.Tokens[i].TokenFile)
	}
	c.Report.Resolve(abs)
	c.SMTP.Resolve(abs)
	c.Archive.Resolve(abs)
}

// credentialsPath expands a leading ${CREDENTIALS_DIRECTORY} or
// $CREDENTIALS_DIRECTORY in a path: the folder where systemd puts the
// unit's LoadCredential= secrets, so that password_file =
// "${CREDENTIALS_DIRECTORY}/imap-password" works whatever the unit is
// called. Outside such a unit the path is left as written, and reading it
// fails naming it.
func credentialsPath(p string) string {
	for _, v := range []string{"${CREDENTIALS_DIRECTORY}", "$CREDENTIALS_DIRECTORY"} {
		if rest, ok := strings.CutPrefix(p, v); ok {
			if dir := os.Getenv("CREDENTIALS_DIRECTORY"); dir != "" {
				return dir + rest
			}
		}
	}
	return p
}

// Default is the configuration used when a file leaves everything out.
func Default() *Config {
	c := &Config{}
	c.SetDefaults()
	return c
}

// SetDefaults fills every unset value.
func (c *Config) SetDefaults() {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&c.DataDir, "data")
	def(&c.Timezone, "Asia/Shanghai")
	def(&c.CodePrefix, "DEM")
	def(&c.Locale, string(i18n.ZH))
	def(&c.Log.Level, "info")
	def(&c.Log.Format, "text")
	if c.FileMode == 0 {
		c.FileMode = DefaultFileMode
	}
	if c.Database.MaxOpenConns == 0 {
		c.Database.MaxOpenConns = 8
	}
	def(&c.Classify.Taxonomy, "five")
	if c.Classify.Taxonomy == "three" {
		def(&c.Classify.DefaultType, string(demand.TypeFunctional))
	}
	def(&c.Classify.DefaultType, string(demand.TypeInquiry))
	def(&c.Classify.DefaultUrgency, string(demand.UrgencyLow))
	def(&c.Classify.UrgentFrom, string(demand.UrgencyHigh))
	def(&c.Classify.ImportantFrom, string(demand.ImportanceMedium))
	if c.Classify.Departments == nil {
		c.Classify.Departments = map[string]string{}
	}
	for t, d := range map[demand.Type]string{
		demand.TypeInquiry:    "客服部",
		demand.TypeComplaint:  "客服部",
		demand.TypeSuggestion: "产品部",
		demand.TypeFeature:    "产品部",
		demand.TypeService:    "交付部",
		demand.TypeFunctional: "产品部",
		demand.TypeExperience: "产品部",
		demand.TypeStrategic:  "产品部",
	} {
		if _, ok := c.Classify.Departments[string(t)]; !ok {
			c.Classify.Departments[string(t)] = d
		}
	}
	if c.Classify.SLA.P1.Duration == 0 {
		c.Classify.SLA.P1.Duration = 24 * time.Hour
	}
	if c.Classify.SLA.P2 == 0 {
		c.Classify.SLA.P2 = 7
	}
	if c.Classify.SLA.P3 == 0 {
		c.Classify.SLA.P3 = 14
	}
	if c.Classify.SLA.P4 == 0 {
		c.Classify.SLA.P4 = 30
	}
	for _, ch := range c.Channels() {
		ch.SetDefaults()
	}
	c.Webhook.SetDefaults()
	for i := range c.API.Tokens {
		c.API.Tokens[i].SetDefaults()
	}
	// Blocks that are absent stay empty: their defaults would switch on
	// what nobody asked for.
	if c.has("report") {
		c.Report.SetDefaults()
	}
	if c.has("smtp") {
		c.SMTP.SetDefaults()
	}
	c.Archive.SetDefaults() // only a directory; nothing runs unless monthly = true
	c.Dedupe.SetDefaults()
	c.Serve.SetDefaults()
	// An empty listen written in the file turns the listener off; only an
	// absent one takes the default.
	if c.Admin.Listen == "" && !c.has("admin.listen") {
		c.Admin.Listen = admin.DefaultListen
	}
}

// has reports whether the file has the table key or a key inside it.
func (c *Config) has(key string) bool {
	for k := range c.lines {
		if k == key || strings.HasPrefix(k, key+".") {
			return true
		}
	}
	return false
}

// ReportOn reports whether serve writes the daily report: a [report]
// block that is not switched off.
func (c *Config) ReportOn() bool { return c.has("report") && c.Report.On() }

// QuestionnaireFields are the field names accepted in [questionnaire.aliases].
var QuestionnaireFields = []string{"customer", "industry", "contact", "email", "phone", "tier",
	"title", "description", "scenario", "pain_point", "goal", "urgency", "type", "received_at", "id"}

// Validate checks every value and names each bad key with its line; the
// errors are *i18n.Error joined with errors.Join (see Messages).
func (c *Config) Validate() error {
	return joinSorted(c.validate())
}

// lineError is an error with the line it is about, for sorting.
type lineError struct {
	line int
	err  error
}

// joinSorted joins errs in the order of their lines.
func joinSorted(errs []lineError) error { return errors.Join(sortByLine(errs)...) }

// sortByLine orders errs by their lines, so that a person reads them top
// to bottom; errors without a line come last.
func sortByLine(errs []lineError) []error {
	slices.SortStableFunc(errs, func(a, b lineError) int {
		switch {
		case a.line == b.line:
			return 0
		case a.line == 0:
			return 1
		case b.line == 0:
			return -1
		}
		return a.line - b.line
	})
	var out []error
	for _, e := range errs {
		out = append(out, e.err)
	}
	return out
}

// typeNames lists the demand types for messages.
var typeNames = strings.Join([]string{string(demand.TypeInquiry), string(demand.TypeComplaint), string(demand.TypeSuggestion),
	string(demand.TypeFeature), string(demand.TypeService), string(demand.TypeFunctional), string(demand.TypeExperience),
	string(demand.TypeStrategic)}, ", ")

func (c *Config) validate() []lineError {
	var errs []lineError
	badText := func(key string, t i18n.Text) {
		if c.isBroken(key) {
			return // reported already, and its value is the default now
		}
		errs = append(errs, lineError{c.lineOf(key), c.keyError(key, t)})
	}
	bad := func(key, zh, en string, args ...any) { badText(key, i18n.Tf(zh, en, args...)) }
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		bad("timezone", "未知的时区 %q（应为 IANA 名称，例如 Asia/Shanghai）", "unknown time zone %q (want an IANA name such as Asia/Shanghai)", c.Timezone)
	} else {
		c.location = loc
	}
	if l, err := i18n.ParseLocale(c.Locale); err != nil {
		bad("locale", `应为 "zh" 或 "en"，实际是 %q`, `want "zh" or "en", got %q`, c.Locale)
	} else {
		c.lang = l
	}
	if c.DataDir == "" {
		bad("data_dir", "不能为空", "must not be empty")
	}
	if u := c.Database.URL; u != "" && !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") && !strings.HasPrefix(u, "sqlite:") {
		bad("database.url", "应为 postgres://… 或 sqlite:路径，实际是 %q", "want postgres://… or sqlite:PATH, got %q", redact.DSN(u))
	}
	if c.Database.MaxOpenConns < 0 {
		bad("database.max_open_conns", "必须是正数", "must be positive")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "应为 debug、info、warn 或 error，实际是 %q", "want debug, info, warn or error, got %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format", "应为 text 或 json，实际是 %q", "want text or json, got %q", c.Log.Format)
	}
	if c.Classify.Taxonomy != "five" && c.Classify.Taxonomy != "three" {
		bad("classify.taxonomy", "应为 five 或 three，实际是 %q", "want five or three, got %q", c.Classify.Taxonomy)
	}
	if _, err := demand.ParseType(c.Classify.DefaultType); err != nil {
		bad("classify.default_type", "未知的类型 %q（可用：%s）", "unknown type %q (want one of %s)", c.Classify.DefaultType, typeNames)
	}
	for key, v := range map[string]string{"classify.default_urgency": c.Classify.DefaultUrgency, "classify.urgent_from": c.Classify.UrgentFrom} {
		if _, err := demand.ParseUrgency(v); err != nil {
			bad(key, "应为 high、medium 或 low，实际是 %q", "want high, medium or low, got %q", v)
		}
	}
	if _, err := demand.ParseImportance(c.Classify.ImportantFrom); err != nil {
		bad("classify.important_from", "应为 high、medium 或 low，实际是 %q", "want high, medium or low, got %q", c.Classify.ImportantFrom)
	}
	for t := range c.Classify.Departments {
		if _, err := demand.ParseType(t); err != nil {
			bad("classify.departments."+t, "未知的类型 %q（可用：%s）", "unknown type %q (want one of %s)", t, typeNames)
		}
	}
	if c.Classify.SLA.P1.Duration < 0 || c.Classify.SLA.P2 < 0 || c.Classify.SLA.P3 < 0 || c.Classify.SLA.P4 < 0 {
		bad("classify.sla", "时限必须是正数", "targets must be positive")
	}
	for i, list := range [][]string{c.Classify.Holidays, c.Classify.Workdays} {
		key := []string{"classify.holidays", "classify.workdays"}[i]
		for _, d := range list {
			if _, err := time.Parse("2006-01-02", d); err != nil {
				bad(key, "日期应写成 YYYY-MM-DD，实际是 %q", "want dates as YYYY-MM-DD, got %q", d)
			}
		}
	}
	for field := range c.Questionnaire.Aliases {
		if !slices.Contains(QuestionnaireFields, field) {
			bad("questionnaire.aliases."+field, "未知的字段 %q（可用：%s）", "unknown field %q (want one of %s)", field, strings.Join(QuestionnaireFields, ", "))
		}
	}
	names := map[string]bool{}
	for _, ch := range c.channelBlocks() {
		for _, p := range ch.Validate() {
			badText(ch.key+"."+p.Key, p.Text)
		}
		switch name := ch.SourceName(); {
		case name == "":
		case names[name]:
			bad(ch.key+".name", "名称 %q 用了两次", "name %q is used twice", name)
		default:
			names[name] = true
		}
	}
	for _, p := range c.Webhook.Validate() {
		badText("webhook."+p.Key, p.Text)
	}
	if c.has("report") {
		for _, p := range c.Report.Validate() {
			badText("report."+p.Key, p.Text)
		}
	}
	if c.has("smtp") {
		for _, p := range c.SMTP.Validate() {
			badText("smtp."+p.Key, p.Text)
		}
	} else if c.has("report") && c.Report.Mail.Enabled {
		bad("report.mail.enabled", "邮寄日报需要 [smtp] 配置块（host、port、tls、username、password_file …）",
			"mailing the report needs an [smtp] block (host, port, tls, username, password_file …)")
	}
	for _, p := range c.Archive.Validate() {
		badText("archive."+p.Key, p.Text)
	}
	for _, p := range c.Dedupe.Validate() {
		badText("dedupe."+p.Key, p.Text)
	}
	seenDept := map[string]bool{}
	for _, d := range c.Tracking.Departments {
		switch {
		case strings.TrimSpace(d) == "":
			bad("tracking.departments", "部门名称不能为空", "a department name must not be empty")
		case seenDept[d]:
			bad("tracking.departments", "部门 %q 写了两次", "department %q is listed twice", d)
		}
		seenDept[d] = true
	}
	for _, p := range c.Serve.Validate() {
		badText("serve."+p.Key, p.Text)
	}
	for _, p := range c.Admin.Validate() {
		badText("admin."+p.Key, p.Text)
	}
	for i := range c.API.Tokens {
		for _, p := range c.API.Tokens[i].Validate() {
			badText(fmt.Sprintf("api.token[%d].%s", i, p.Key), p.Text)
		}
	}
	for i, s := range c.Webhook.Sources {
		if s.Name != "" && names[s.Name] {
			bad(fmt.Sprintf("webhook.source[%d].name", i), "名称 %q 用了两次", "name %q is used twice", s.Name)
		}
		names[s.Name] = true
	}
	return errs
}

// isBroken reports whether the schema check removed key or a table or
// array holding it.
func (c *Config) isBroken(key string) bool {
	for _, b := range c.broken {
		if key == b || strings.HasPrefix(key, b+".") || strings.HasPrefix(key, b+"[") {
			return true
		}
	}
	return false
}

// lineOf is the line of key or of its closest parent, 0 if unknown.
func (c *Config) lineOf(key string) int { return tomlpos.LineOf(c.lines, key) }

// keyError is the *i18n.Error "FILE:LINE: key: message".
func (c *Config) keyError(key string, msg i18n.Text) error {
	where := c.File
	if where == "" {
		where = "config"
	}
	if line := c.lineOf(key); line > 0 {
		where = fmt.Sprintf("%s:%d", where, line)
	}
	return &i18n.Error{Text: i18n.Text{
		ZH: fmt.Sprintf("%s: %s: %s", where, key, msg.ZH),
		EN: fmt.Sprintf("%s: %s: %s", where, key, msg.EN),
	}}
}

// Messages renders every error in err for a person in l, one string per
// error: Load and Validate join many (errors.Join), and i18n.Message alone
// would show only the first.
func Messages(err error, l i18n.Locale) []string {
	if err == nil {
		return nil
	}
	switch e := err.(type) {
	case *i18n.Error:
		return []string{e.Text.In(l)}
	case interface{ Unwrap() []error }:
		var out []string
		for _, e := range e.Unwrap() {
			out = append(out, Messages(e, l)...)
		}
		return out
	case interface{ Unwrap() error }:
		// A prefix added on the way up is English only; the localized
		// text below it is what a person should read.
		var ie *i18n.Error
		if inner := e.Unwrap(); inner != nil && errors.As(inner, &ie) {
			return Messages(inner, l)
		}
	}
	return []string{err.Error()}
}

// Redacted is the database URL safe for logs and messages: every
// credential (a password in the user info, a password= or sslpassword=
// parameter, a key=value password) replaced by redact.Mask.
func (c *Config) Redacted() string { return redact.DSN(c.DatabaseURL()) }

// Channels are the configured sources' blocks, folders then accounts:
// serve builds a source from each.
func (c *Config) Channels() []ingest.Settings {
	var out []ingest.Settings
	for _, b := range c.channelBlocks() {
		out = append(out, b.Settings)
	}
	return out
}

// channelBlock is a channel block with its place in the file.
type channelBlock struct {
	ingest.Settings
	key string // "folder[0]"
}

func (c *Config) channelBlocks() []channelBlock {
	var out []channelBlock
	for i := range c.Folders {
		out = append(out, channelBlock{&c.Folders[i], fmt.Sprintf("folder[%d]", i)})
	}
	for i := range c.Emails {
		out = append(out, channelBlock{&c.Emails[i], fmt.Sprintf("email[%d]", i)})
	}
	return out
}
