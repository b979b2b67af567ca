package config_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/demandd/demandd/config"
	"github.com/demandd/demandd/deploy"
	"github.com/demandd/demandd/internal/i18n"
)

func TestExampleIsValidAndComplete(t *testing.T) {
	c, err := config.Parse("demandd.example.toml", []byte(deploy.ExampleConfig))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Folders) != 1 || c.Folders[0].Path != "inbox" || c.DatabaseURL() != "sqlite:data/demandd.db" {
		t.Errorf("example: %+v, database %s", c.Folders, c.DatabaseURL())
	}
	if c.Location().String() != "Asia/Shanghai" {
		t.Errorf("zone %s", c.Location())
	}
	if c.Lang() != i18n.ZH || c.Folders[0].EmptyGrace.Duration != 10*time.Minute {
		t.Errorf("example: locale %s, empty_grace %s", c.Lang(), c.Folders[0].EmptyGrace)
	}
}

func TestDefaults(t *testing.T) {
	c, err := config.Parse("d.toml", []byte("[[folder]]\nname = \"in\"\npath = \"/srv/in\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	f := c.Folders[0]
	if f.StableFor.Duration != 2*time.Second || f.Rescan.Duration != 30*time.Second || f.EmptyGrace.Duration != 10*time.Minute || f.Origin != "raised" ||
		f.ProcessedDir != "/srv/in/processed" || f.FailedDir != "/srv/in/failed" {
		t.Errorf("folder defaults %+v", f)
	}
	if c.Timezone != "Asia/Shanghai" || c.CodePrefix != "DEM" || c.DataDir != "data" || c.Classify.SLA.P2 != 7 {
		t.Errorf("defaults %+v", c)
	}
}

func TestEmptyGrace(t *testing.T) {
	c, err := config.Parse("d.toml", []byte("[[folder]]\nname = \"in\"\npath = \"/srv/in\"\nempty_grace = \"30s\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if g := c.Folders[0].EmptyGrace.Duration; g != 30*time.Second {
		t.Errorf("empty_grace %s, want 30s", g)
	}
}

func TestErrorsNameKeyAndLine(t *testing.T) {
	tests := []struct {
		name, toml string
		want       []string
	}{
		{"unknown key", "data_dir = \"x\"\n[database]\nurl = \"\"\nurll = \"postgres://\"\n", []string{"c.toml:4", "urll", "unknown key"}},
		{"unknown key in folder", "[[folder]]\nname = \"a\"\npath = \"p\"\nstabel_for = \"2s\"\n", []string{"c.toml:4", "stabel_for"}},
		{"wrong type", "[[folder]]\nname = \"a\"\npath = \"p\"\nrescan = 30\n", []string{"c.toml:4", "rescan"}},
		{"bad duration", "[[folder]]\nname = \"a\"\npath = \"p\"\nstable_for = \"2 seconds\"\n", []string{"c.toml:4", "duration"}},
		{"bad origin", "[[folder]]\nname = \"a\"\npath = \"p\"\n\n[[folder]]\nname = \"b\"\npath = \"q\"\norigin = \"customer\"\n",
			[]string{"c.toml:8", "folder[1].origin", "raised"}},
		{"bad zone", "timezone = \"Beijing\"\n", []string{"c.toml:1", "timezone", "IANA"}},
		{"bad url", "[database]\nurl = \"mysql://u:pw@h/db\"\n", []string{"c.toml:2", "database.url", "u:xxxxx@"}},
		{"missing path", "[[folder]]\nname = \"a\"\n", []string{"c.toml:1", "folder[0].path"}},
		{"duplicate name", "[[folder]]\nname = \"a\"\npath = \"p\"\n[[folder]]\nname = \"a\"\npath = \"q\"\n", []string{"c.toml:5", "used twice"}},
		{"bad alias field", "[questionnaire.aliases]\ndescrption = [\"x\"]\n", []string{"c.toml:2", "descrption"}},
		{"negative empty_grace", "[[folder]]\nname = \"a\"\npath = \"p\"\nempty_grace = \"-1m\"\n", []string{"c.toml:4", "folder[0].empty_grace", "negative"}},
		{"bare empty_grace", "[[folder]]\nname = \"a\"\npath = \"p\"\nempty_grace = 600\n", []string{"c.toml:4", "folder[0].empty_grace", "duration in quotes"}},
		{"bad holiday", "[classify]\nholidays = [\"2026-13-01\"]\n", []string{"c.toml:2", "classify.holidays"}},
		{"syntax", "data_dir = \n", []string{"c.toml:1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse("c.toml", []byte(tt.toml))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), ":pw@") {
				t.Errorf("error leaks a password: %q", err)
			}
		})
	}
}

func TestEmailAccounts(t *testing.T) {
	c, err := config.Parse("c.toml", []byte("[[email]]\nname = \"support\"\nhost = \"imap.example.com\"\nusername = \"s@example.com\"\npassword_env = \"DEMANDD_TEST_PW\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	e := c.Emails[0]
	if e.Port != 993 || e.TLS != "implicit" || !*e.IDLE || e.After != "none" || e.Mailboxes[0] != "INBOX" || e.MaxMessageSize != 25<<20 {
		t.Errorf("defaults %+v", e)
	}
	t.Setenv("DEMANDD_TEST_PW", "s3cret")
	if pw, err := e.Secret(); err != nil || pw != "s3cret" {
		t.Errorf("secret %q %v", pw, err)
	}
	for toml, want := range map[string]string{
		"[[email]]\nname = \"a\"\nhost = \"imap.example.com\"\nusername = \"u\"\ntls = \"none\"\n":          "c.toml:5: email[0].tls",
		"[[email]]\nname = \"a\"\nhost = \"imap.example.com\"\nusername = \"u\"\nafter = \"delete\"\n":      "email[0].after",
		"[[email]]\nname = \"a\"\nhost = \"imap.example.com\"\nusername = \"u\"\npoll_interval = 60\n":      "email[0].poll_interval",
		"[[email]]\nname = \"a\"\nhost = \"h\"\nusername = \"u\"\npassword = \"x\"\npassword_env = \"Y\"\n": "give one of",
	} {
		if _, err := config.Parse("c.toml", []byte(toml)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", toml, err, want)
		}
	}
	if _, err := config.Parse("c.toml", []byte("[[email]]\nname = \"a\"\nhost = \"127.0.0.1\"\nusername = \"u\"\ntls = \"none\"\n")); err != nil {
		t.Errorf("plain IMAP to loopback: %v", err)
	}
}

func TestEmailToken(t *testing.T) {
	c, err := config.Parse("c.toml", []byte("[[email]]\nname = \"g\"\nhost = \"imap.gmail.com\"\nusername = \"u@x.com\"\nauth = \"xoauth2\"\ntoken_command = \"echo tok-123\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := c.Emails[0].Token(t.Context()); err != nil || tok != "tok-123" {
		t.Errorf("token %q %v", tok, err)
	}
	if _, err := config.Parse("c.toml", []byte("[[email]]\nname = \"g\"\nhost = \"h\"\nusername = \"u\"\nauth = \"xoauth2\"\n")); err == nil || !strings.Contains(err.Error(), "token_file") {
		t.Errorf("xoauth2 without a token source: %v", err)
	}
}

func TestMessagesInBothLanguages(t *testing.T) {
	// One file with a bad value for every check Validate makes.
	bad := `timezone = "Beijing"
data_dir = ""
[log]
level = "loud"
format = "xml"
[database]
url = "mysql://u:pw@h/db"
max_open_conns = -1
[classify]
taxonomy = "four"
default_type = "wish"
holidays = ["2026-13-01"]
[classify.departments]
wish = "x"
[classify.sla]
p2_working_days = -1
[questionnaire.aliases]
descrption = ["x"]
[[folder]]
origin = "customer"
stable_for = "-1s"
rescan = "10ms"
[[folder]]
name = "a"
path = "p"
[[folder]]
name = "a"
path = "q"
[[email]]
tls = "none"
host = "imap.example.com"
auth = "xoauth2"
after = "delete"
since = "yesterday"
poll_interval = "1ms"
origin = "customer"
password = "x"
password_env = "Y"
[[email]]
name = "b"
host = "h"
username = "u"
tls = "ssl"
auth = "cram"
`
	_, err := config.Parse("c.toml", []byte(bad))
	if err == nil {
		t.Fatal("no error")
	}
	en, zh := config.Messages(err, i18n.EN), config.Messages(err, i18n.ZH)
	if got := strings.Join(en, "\n"); got != err.Error() {
		t.Errorf("English messages differ from Error():\n%s\n%s", got, err)
	}
	if len(en) < 25 || len(zh) != len(en) {
		t.Fatalf("%d English and %d Chinese messages, want one per error:\n%s", len(en), len(zh), strings.Join(zh, "\n"))
	}
	for i := range zh {
		if zh[i] == en[i] || !strings.ContainsFunc(zh[i], func(r rune) bool { return r >= 0x4e00 && r <= 0x9fff }) {
			t.Errorf("not in Chinese: %q", zh[i])
		}
		if !strings.HasPrefix(zh[i], "c.toml:") {
			t.Errorf("no file and line: %q", zh[i])
		}
	}
	// Sorted top to bottom, so a person can work through the file.
	if !strings.HasPrefix(en[0], "c.toml:1: timezone") || !strings.HasPrefix(en[len(en)-1], "c.toml:44: email[1].auth") {
		t.Errorf("not in file order: %q … %q", en[0], en[len(en)-1])
	}
	if wrapped := config.Messages(fmt.Errorf("demandd: %w", err), i18n.ZH); len(wrapped) != len(zh) {
		t.Errorf("a wrapped joined error gave %d messages, want %d", len(wrapped), len(zh))
	}
	if got := config.Messages(errors.New("plain"), i18n.ZH); len(got) != 1 || got[0] != "plain" {
		t.Errorf("plain error: %q", got)
	}
}

func TestTypeErrorsInUsersWords(t *testing.T) {
	tests := []struct {
		name, toml, want, zh string
	}{
		{"enum", "\n\n[classify]\ntaxonomy = 5\n", `c.toml:4: classify.taxonomy: want a string ("five" or "three"), got an integer`,
			`c.toml:4: classify.taxonomy: 应为字符串（"five" 或 "three"），实际是整数`},
		{"integer in quotes", "[database]\nmax_open_conns = \"8\"\n", `c.toml:2: database.max_open_conns: want an integer, got a string ("8")`, "应为整数"},
		{"bare duration", "[classify.sla]\np1 = 24\n", `c.toml:2: classify.sla.p1: want a duration in quotes, such as "30s", "5m" or "24h", got an integer`, "加引号的时长"},
		{"bad duration", "[classify.sla]\np1 = \"1d\"\n", `c.toml:2: classify.sla.p1: want a duration such as "30s", "5m" or "24h", got "1d"`, "应为时长"},
		{"bool", "[[email]]\nname = \"a\"\nhost = \"h\"\nusername = \"u\"\nidle = \"yes\"\n", `c.toml:5: email[0].idle: want true or false, got a string ("yes")`, "应为 true 或 false"},
		{"date without quotes", "[[email]]\nname = \"a\"\nhost = \"h\"\nusername = \"u\"\nsince = 2026-01-01\n",
			`c.toml:5: email[0].since: want a string (a date in quotes such as "2026-01-01"), got a date without quotes`, "不带引号的日期"},
		{"array element", "[classify]\nholidays = [\"2026-10-01\", 2026-10-02]\n", `c.toml:2: classify.holidays[1]: want a string`, "应为字符串"},
		{"not an array", "[questionnaire.aliases]\ncustomer = \"公司\"\n", `c.toml:2: questionnaire.aliases.customer: want an array of strings, got a string ("公司")`, "字符串数组"},
		{"map value", "[classify.departments]\ninquiry = 3\n", `c.toml:2: classify.departments.inquiry: want a string, got an integer`, "应为字符串"},
		{"single brackets", "[folder]\nname = \"a\"\n", `c.toml:1: folder: want [[folder]] tables (double brackets), got a table`, "两层方括号"},
		{"table as value", "log = \"info\"\n", `c.toml:1: log: want a table [log], got a string ("info")`, "表 [log]"},
		{"inline table", "log = {level = 1}\n", `c.toml:1: log.level: want a string ("debug", "info", "warn" or "error"), got an integer`, "整数"},
		{"unknown key", "[[folder]]\nname = \"a\"\npath = \"p\"\nstabel_for = \"2s\"\n", `c.toml:4: folder[0].stabel_for: unknown key (did you mean stable_for?)`, "是不是 stable_for？"},
		{"unknown key, nothing close", "[log]\ncolour = true\n", "c.toml:2: log.colour: unknown key (`demandd config example` lists every key)", "列出了所有键"},
		{"case of a table", "[classify.SLA]\np1 = \"1h\"\n", `c.toml:1: classify.SLA: unknown table (did you mean [classify.sla]? names are case-sensitive)`, "区分大小写"},
		{"case of a key", "Timezone = \"UTC\"\n", `c.toml:1: Timezone: unknown key (did you mean timezone? names are case-sensitive)`, "是不是 timezone？"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse("c.toml", []byte(tt.toml))
			if err == nil {
				t.Fatal("no error")
			}
			if got := err.Error(); !strings.HasPrefix(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
			if zh := i18n.Message(err, i18n.ZH); !strings.Contains(zh, tt.zh) {
				t.Errorf("zh: %q does not contain %q", zh, tt.zh)
			}
			if strings.Contains(err.Error(), "cannot decode") || strings.Contains(err.Error(), "toml: ") {
				t.Errorf("Go's decoder text: %q", err)
			}
		})
	}
}

func TestEveryErrorAtOnce(t *testing.T) {
	bad := `data_dir = 5
timezone = "Beijing"
[classify]
taxonomy = 5
[classify.SLA]
p1 = "1h"
[[folder]]
name = 7
path = "in"
stabel_for = "2s"
origin = "customer"
`
	_, err := config.Parse("c.toml", []byte(bad))
	if err == nil {
		t.Fatal("no error")
	}
	got := config.Messages(err, i18n.EN)
	want := []string{"c.toml:1: data_dir:", "c.toml:2: timezone:", "c.toml:4: classify.taxonomy:", "c.toml:5: classify.SLA:",
		"c.toml:8: folder[0].name: want a string", "c.toml:10: folder[0].stabel_for:", "c.toml:11: folder[0].origin:"}
	if len(got) != len(want) {
		// folder[0].name is reported once: not also as missing after
		// the type error took it out.
		t.Fatalf("%d errors, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("error %d: %q, want %q…", i, got[i], want[i])
		}
	}
}

func TestLoadUnreadable(t *testing.T) {
	dir := t.TempDir()
	noRead := filepath.Join(dir, "secret.toml")
	os.WriteFile(noRead, []byte("data_dir = \"x\"\n"), 0o000)
	tests := []struct {
		name, path, en, zh string
		is                 error
	}{
		{"missing", filepath.Join(dir, "demandd.toml"),
			"cannot read " + filepath.Join(dir, "demandd.toml") + ": no such file; write one with `demandd config example > " + filepath.Join(dir, "demandd.toml") + "` or pass --config FILE",
			"文件不存在", fs.ErrNotExist},
		{"folder", dir, "cannot read " + dir + ": it is a folder, not a file; pass --config FILE", "这是文件夹", nil},
		{"permission", noRead, "cannot read " + noRead + ": permission denied", "没有权限", fs.ErrPermission},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.is == fs.ErrPermission && os.Geteuid() == 0 {
				t.Skip("root reads any file")
			}
			_, err := config.Load(tt.path)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.HasPrefix(err.Error(), tt.en) {
				t.Errorf("got  %q\nwant %q", err, tt.en)
			}
			if zh := i18n.Message(err, i18n.ZH); !strings.Contains(zh, tt.zh) {
				t.Errorf("zh: %q", zh)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("%v is not %v", err, tt.is)
			}
		})
	}
}

func TestFindNothing(t *testing.T) {
	t.Chdir(t.TempDir())
	if _, err := os.Stat("/etc/demandd/demandd.toml"); err == nil {
		t.Skip("/etc/demandd/demandd.toml exists here")
	}
	_, err := config.Find("")
	if !errors.Is(err, config.ErrNotFound) || !strings.Contains(err.Error(), "demandd config example > demandd.toml") {
		t.Errorf("Find: %v", err)
	}
	if zh := i18n.Message(err, i18n.ZH); !strings.Contains(zh, "找不到配置文件") {
		t.Errorf("zh: %q", zh)
	}
}

func TestLocale(t *testing.T) {
	tests := []struct {
		name, toml string
		want       i18n.Locale
	}{
		{"default", "", i18n.ZH},
		{"zh", "locale = \"zh\"\n", i18n.ZH},
		{"en", "locale = \"en\"\n", i18n.EN},
		{"en_US", "locale = \"en_US\"\n", i18n.EN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse("c.toml", []byte(tt.toml))
			if err != nil {
				t.Fatal(err)
			}
			if c.Lang() != tt.want {
				t.Errorf("Lang() = %q, want %q", c.Lang(), tt.want)
			}
		})
	}
	if _, err := config.Parse("c.toml", []byte("\nlocale = \"fr\"\n")); err == nil || !strings.Contains(err.Error(), `c.toml:2: locale: want "zh" or "en", got "fr"`) {
		t.Errorf("locale fr: %v", err)
	}
	if c := config.Default(); c.Lang() != i18n.ZH {
		t.Errorf("Default().Lang() = %q", c.Lang())
	}
}

func TestLangOfABrokenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "demandd.toml")
	os.WriteFile(path, []byte("locale = \"en\"\ntimezone = 8\n"), 0o644)
	_, err := config.Load(path)
	if err == nil {
		t.Fatal("no error")
	}
	if l := config.LangOf(path); l != i18n.EN {
		t.Errorf("LangOf = %q, want en", l)
	}
	if l := config.LangOf(filepath.Join(t.TempDir(), "missing.toml")); l != i18n.ZH {
		t.Errorf("LangOf(missing) = %q, want zh", l)
	}
}

func TestLoadResolvesRelativePaths(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "demandd.toml")
	os.WriteFile(path, []byte(`[database]
url = "sqlite:db/d.db"
[classify]
rules = "rules.toml"
customers = "/srv/customers.csv"
[[folder]]
name = "in"
path = "inbox"
[[folder]]
name = "abs"
path = "/srv/in"
failed_dir = "failed"
[[email]]
name = "m"
host = "h"
username = "u"
password_file = "pw"
auth = "xoauth2"
token_file = "../token"
`), 0o644)
	t.Chdir(t.TempDir()) // somewhere else
	c, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	f0, f1, e := c.Folders[0], c.Folders[1], c.Emails[0]
	for _, tt := range []struct{ name, got, want string }{
		{"data_dir", c.DataDir, filepath.Join(dir, "data")},
		{"database.url", c.DatabaseURL(), "sqlite:" + filepath.Join(dir, "db/d.db")},
		{"classify.rules", c.Classify.Rules, filepath.Join(dir, "rules.toml")},
		{"classify.customers", c.Classify.Customers, "/srv/customers.csv"},
		{"folder[0].path", f0.Path, filepath.Join(dir, "inbox")},
		{"folder[0].processed_dir", f0.ProcessedDir, filepath.Join(dir, "inbox", "processed")},
		{"folder[0].failed_dir", f0.FailedDir, filepath.Join(dir, "inbox", "failed")},
		{"folder[1].path", f1.Path, "/srv/in"},
		{"folder[1].processed_dir", f1.ProcessedDir, "/srv/in/processed"},
		{"folder[1].failed_dir", f1.FailedDir, filepath.Join(dir, "failed")},
		{"email[0].password_file", e.PasswordFile, filepath.Join(dir, "pw")},
		{"email[0].token_file", e.TokenFile, filepath.Join(filepath.Dir(dir), "token")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}

	// The default database follows data_dir; Parse, with no file, keeps
	// relative paths as they are.
	for _, tt := range []struct{ name, toml, want string }{
		{"default database", "", "sqlite:" + filepath.Join(dir, "data", "demandd.db")},
		{"in memory", "[database]\nurl = \"sqlite::memory:\"\n", "sqlite::memory:"},
		{"postgres", "[database]\nurl = \"postgres://h/db\"\n", "postgres://h/db"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			os.WriteFile(path, []byte(tt.toml), 0o644)
			c, err := config.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if c.DatabaseURL() != tt.want {
				t.Errorf("got %q, want %q", c.DatabaseURL(), tt.want)
			}
		})
	}
	c, err = config.Parse(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL() != "sqlite:data/demandd.db" {
		t.Errorf("Parse: %q, want the relative default", c.DatabaseURL())
	}
}

func TestCheckPaths(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "inbox"), 0o755)
	os.WriteFile(filepath.Join(dir, "rules.toml"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, "file"), nil, 0o644)
	path := filepath.Join(dir, "demandd.toml")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const email = "host = \"h\"\nusername = \"u\"\n"
	tests := []struct {
		name, toml string
		want       []string
	}{
		{"all there", "[classify]\nrules = \"rules.toml\"\n[[folder]]\nname = \"a\"\npath = \"inbox\"\n", nil},
		{"folder missing", "[[folder]]\nname = \"a\"\npath = \"inbx\"\n",
			[]string{"demandd.toml:3: folder[0].path: folder " + filepath.Join(dir, "inbx") + " does not exist"}},
		{"folder is a file", "[[folder]]\nname = \"a\"\npath = \"file\"\n", []string{"demandd.toml:3: folder[0].path: " + filepath.Join(dir, "file") + " is not a folder"}},
		{"processed parent missing", "[[folder]]\nname = \"a\"\npath = \"inbox\"\nprocessed_dir = \"done/inbox\"\nfailed_dir = \"inbox/bad\"\n",
			[]string{"demandd.toml:4: folder[0].processed_dir: its parent folder " + filepath.Join(dir, "done") + " does not exist"}},
		{"failed is a file", "[[folder]]\nname = \"a\"\npath = \"inbox\"\nfailed_dir = \"file\"\n", []string{"demandd.toml:4: folder[0].failed_dir: " + filepath.Join(dir, "file") + " is not a folder"}},
		{"rules missing", "[classify]\nrules = \"rulez.toml\"\n", []string{"demandd.toml:2: classify.rules: cannot read " + filepath.Join(dir, "rulez.toml") + ": no such file"}},
		{"customers a folder", "[classify]\ncustomers = \"inbox\"\n", []string{"demandd.toml:2: classify.customers: " + filepath.Join(dir, "inbox") + " is a folder, not a file"}},
		{"secrets missing", "[[email]]\nname = \"m\"\n" + email + "password_file = \"pw\"\n[[email]]\nname = \"n\"\n" + email + "auth = \"xoauth2\"\ntoken_file = \"/nonexistent/token\"\n",
			[]string{"demandd.toml:5: email[0].password_file: cannot read " + filepath.Join(dir, "pw") + ": no such file",
				"demandd.toml:11: email[1].token_file: cannot read /nonexistent/token: no such file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			write(tt.toml)
			c, err := config.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			errs := c.CheckPaths()
			if len(errs) != len(tt.want) {
				t.Fatalf("%d errors, want %d: %v", len(errs), len(tt.want), errs)
			}
			for i, w := range tt.want {
				if got := errs[i].Error(); !strings.HasPrefix(got, filepath.Join(dir, w)) {
					t.Errorf("got  %q\nwant %q", got, w)
				}
				if zh := i18n.Message(errs[i], i18n.ZH); zh == errs[i].Error() {
					t.Errorf("not in Chinese: %q", zh)
				}
			}
		})
	}
}

// Redacted and every error about database.url hide each credential form:
// user info, password= and sslpassword= parameters, percent-encoded
// passwords and a libpq key=value string.
func TestDatabaseURLRedacted(t *testing.T) {
	for _, c := range []struct {
		name, url, secret, want string
	}{
		{"user info", "postgres://u:Pw-1@db/d", "Pw-1", "postgres://u:xxxxx@db/d"},
		{"postgresql", "postgresql://u:Pw-2@db/d?sslmode=disable", "Pw-2", "postgresql://u:xxxxx@db/d?sslmode=disable"},
		{"password parameter", "postgres://u@db/d?sslmode=disable&password=Pw-3", "Pw-3", "postgres://u@db/d?sslmode=disable&password=xxxxx"},
		{"sslpassword parameter", "postgres://u@db/d?sslkey=/k.pem&sslpassword=Pw-4", "Pw-4", "postgres://u@db/d?sslkey=/k.pem&sslpassword=xxxxx"},
		{"percent-encoded", "postgres://u:Pw%2F5%40@db/d", "Pw%2F5", "postgres://u:xxxxx@db/d"},
		{"unencoded slash", "postgres://u:Pw/6@db/d", "Pw/6", "postgres://u:xxxxx@db/d"},
		{"key=value", "host=db user=u password='Pw 7'", "Pw 7", "host=db user=u password=xxxxx"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Database.URL = c.url
			if got := cfg.Redacted(); got != c.want {
				t.Errorf("Redacted() = %q, want %q", got, c.want)
			}
			// A URL of the wrong kind is quoted by Validate, and a URL
			// where the [database] table belongs by the schema check.
			for _, toml := range []string{
				fmt.Sprintf("[database]\nurl = %q\n", strings.Replace(c.url, "postgres", "mysql", 1)),
				fmt.Sprintf("database = %q\n", c.url),
			} {
				_, err := config.Parse("c.toml", []byte(toml))
				if err == nil {
					t.Fatalf("%q: no error", toml)
				}
				for _, l := range []i18n.Locale{i18n.ZH, i18n.EN} {
					if msg := strings.Join(config.Messages(err, l), "\n"); strings.Contains(msg, c.secret) || !strings.Contains(msg, "xxxxx") {
						t.Errorf("%q: %s", toml, msg)
					}
				}
			}
		})
	}
}

func TestFileMode(t *testing.T) {
	c, err := config.Parse("c.toml", nil)
	if err != nil || c.FileMode != config.DefaultFileMode || c.FileMode.Perm() != 0o640 {
		t.Fatalf("default file_mode %v, %v; want 0640", c.FileMode, err)
	}
	for _, tt := range []struct {
		value string
		want  os.FileMode
	}{{`"0640"`, 0o640}, {`"644"`, 0o644}, {`"0o600"`, 0o600}, {`"0660"`, 0o660}, {`"0777"`, 0o777}} {
		t.Run(tt.value, func(t *testing.T) {
			c, err := config.Parse("c.toml", []byte("file_mode = "+tt.value+"\n"))
			if err != nil || c.FileMode.Perm() != tt.want {
				t.Errorf("file_mode = %s: %v, %v; want %v", tt.value, c.FileMode, err, tt.want)
			}
		})
	}
	for _, tt := range []struct{ value, want string }{
		{`"rw-r-----"`, `want an octal mode such as "0640"`},
		{`"0680"`, "octal"},
		{`""`, "octal"},
		{`"-0640"`, "octal"},
		{`"04750"`, "no setuid"},
		{`"0440"`, "owner read and write"},
		{`"0040"`, "owner read and write"},
		{`0o640`, `an octal mode in quotes, such as "0640"`},
		{`640`, "got an integer"},
	} {
		t.Run(tt.value, func(t *testing.T) {
			_, err := config.Parse("c.toml", []byte("\nfile_mode = "+tt.value+"\n"))
			if err == nil || !strings.Contains(err.Error(), "c.toml:2: file_mode") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("file_mode = %s: %v, want %q", tt.value, err, tt.want)
			}
			if zh := config.Messages(err, i18n.ZH); len(zh) != 1 || !strings.Contains(zh[0], "应为") && !strings.Contains(zh[0], "所有者") {
				t.Errorf("file_mode = %s in Chinese: %q", tt.value, zh)
			}
		})
	}
}

func TestReportBlocks(t *testing.T) {
	c, err := config.Parse("none.toml", []byte(""))
	if err != nil || c.ReportOn() || c.Report.DailyAt != "" {
		t.Fatalf("no [report]: on %v, daily_at %q, %v", c.ReportOn(), c.Report.DailyAt, err)
	}
	c, err = config.Parse("report.toml", []byte("[report]\n"))
	if err != nil || !c.ReportOn() || c.Report.DailyAt != "08:00" || c.Report.KeepDays != 90 {
		t.Fatalf("[report]: on %v, %+v, %v", c.ReportOn(), c.Report, err)
	}
	_, err = config.Parse("mail.toml", []byte("[report.mail]\nenabled = true\nto = [\"a@example.com\"]\nfrom = \"d@example.com\"\n"))
	if msgs := config.Messages(err, i18n.EN); len(msgs) == 0 || !strings.Contains(strings.Join(msgs, "\n"), "needs an [smtp] block") {
		t.Errorf("mail without [smtp]: %v", msgs)
	}
	_, err = config.Parse("smtp.toml", []byte("[smtp]\nhost = \"smtp.example.com\"\ntls = \"none\"\n"))
	if msgs := config.Messages(err, i18n.EN); len(msgs) == 0 || !strings.Contains(strings.Join(msgs, "\n"), "smtp.tls") {
		t.Errorf("clear-text smtp to a remote host: %v", msgs)
	}
}

// [admin]: on at 127.0.0.1:9090 unless the file says; "off" or an empty
// listen turns it off; a bad address and pprof on a public address are
// named with their line.
func TestAdminBlock(t *testing.T) {
	for _, c := range []struct {
		name, file string
		listen     string
		on         bool
	}{
		{"absent", "", "127.0.0.1:9090", true},
		{"block without listen", "[admin]\npprof = true\n", "127.0.0.1:9090", true},
		{"port", "[admin]\nlisten = \"127.0.0.1:19090\"\n", "127.0.0.1:19090", true},
		{"off", "[admin]\nlisten = \"off\"\n", "off", false},
		{"empty", "[admin]\nlisten = \"\"\n", "", false},
	} {
		cfg, err := config.Parse("d.toml", []byte(c.file))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if cfg.Admin.Listen != c.listen || cfg.Admin.On() != c.on {
			t.Errorf("%s: listen %q on %v, want %q %v", c.name, cfg.Admin.Listen, cfg.Admin.On(), c.listen, c.on)
		}
	}
	if def := config.Default(); def.Admin.Listen != "127.0.0.1:9090" {
		t.Errorf("Default(): listen %q", def.Admin.Listen)
	}
	for _, c := range []struct{ file, want string }{
		{"data_dir = \"d\"\n[admin]\nlisten = \"9090\"\n", "d.toml:3: admin.listen"},
		{"[admin]\nlisten = \"127.0.0.1:99999\"\n", "d.toml:2: admin.listen"},
		{"[admin]\nlisten = \"0.0.0.0:9090\"\npprof = true\n", "d.toml:3: admin.pprof"},
	} {
		_, err := config.Parse("d.toml", []byte(c.file))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %s", c.file, err, c.want)
		}
	}
}

// A secret file under ${CREDENTIALS_DIRECTORY} is where systemd's
// LoadCredential= put it; outside such a unit the path stays as written.
func TestCredentialsDirectory(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "demandd.toml")
	os.WriteFile(file, []byte(`[[email]]
name = "support"
host = "imap.example.com"
username = "support@example.com"
password_file = "${CREDENTIALS_DIRECTORY}/imap-password"
[smtp]
host = "smtp.example.com"
username = "u"
password_file = "$CREDENTIALS_DIRECTORY/smtp"
`), 0o644)
	t.Setenv("CREDENTIALS_DIRECTORY", "/run/credentials/demandd.service")
	c, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Emails[0].PasswordFile; got != "/run/credentials/demandd.service/imap-password" {
		t.Errorf("email password_file %q", got)
	}
	if got := c.SMTP.PasswordFile; got != "/run/credentials/demandd.service/smtp" {
		t.Errorf("smtp password_file %q", got)
	}
	t.Setenv("CREDENTIALS_DIRECTORY", "")
	if c, err = config.Load(file); err != nil {
		t.Fatal(err)
	}
	if got := c.Emails[0].PasswordFile; got != "${CREDENTIALS_DIRECTORY}/imap-password" {
		t.Errorf("outside systemd: %q", got)
	}
}
