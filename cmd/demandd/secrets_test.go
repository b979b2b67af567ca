package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// No command prints a database password, whichever way the URL carries it:
// not config check, not version --verbose, not a failed connection (a
// closed port) and not a URL lib/pq cannot parse.
func TestDatabasePasswordNeverPrinted(t *testing.T) {
	for _, c := range []struct {
		name, url string
		secrets   []string // none may appear
		valid     bool     // config check accepts the URL
	}{
		{"user info", "postgres://demandd:Pw-userinfo-7f3@127.0.0.1:1/demandd?sslmode=disable", []string{"Pw-userinfo-7f3"}, true},
		{"postgresql scheme", "postgresql://demandd:Pw-scheme-7f3@127.0.0.1:1/demandd?sslmode=disable", []string{"Pw-scheme-7f3"}, true},
		{"password parameter", "postgres://demandd@127.0.0.1:1/demandd?sslmode=disable&password=Pw-param-7f3", []string{"Pw-param-7f3"}, true},
		{"sslpassword parameter", "postgres://demandd@127.0.0.1:1/demandd?sslmode=require&sslkey=/nonexistent/k.pem&sslpassword=Pw-ssl-7f3",
			[]string{"Pw-ssl-7f3"}, true},
		{"percent-encoded", "postgres://demandd:P%40ss%2Fw0rd-7f3@127.0.0.1:1/demandd?sslmode=disable",
			[]string{"P%40ss%2Fw0rd-7f3", "P@ss/w0rd-7f3", "w0rd-7f3"}, true},
		{"encoded parameter", "postgres://demandd@127.0.0.1:1/demandd?sslmode=disable&password=Pw+Qx%26-7f3",
			[]string{"Pw+Qx%26-7f3", "Pw Qx&-7f3", "Qx"}, true},
		{"malformed port", "postgres://demandd:Pw-port-7f3@127.0.0.1:notaport/demandd", []string{"Pw-port-7f3"}, true},
		{"malformed escape", "postgres://demandd:Pw%zz-escape-7f3@127.0.0.1:1/demandd", []string{"Pw%zz-escape-7f3", "%zz"}, true},
		{"unencoded slash", "postgres://demandd:Ab9/Cd+Ef-7f3@127.0.0.1:1/demandd", []string{"Ab9/Cd+Ef-7f3", "Ab9", "Cd+Ef"}, true},
		{"key=value quoted", "host=127.0.0.1 port=1 user=demandd password='Pw kv 7f3' dbname=demandd", []string{"Pw kv 7f3", "kv 7f3"}, false},
		{"key=value bare", "host=127.0.0.1 port=1 password=Pw-kv-7f3 user=demandd", []string{"Pw-kv-7f3"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.Mkdir(filepath.Join(dir, "inbox"), 0o755); err != nil {
				t.Fatal(err)
			}
			cfg := writeConfig(t, dir, c.url, "")
			runs := []struct {
				args []string
				want int
			}{
				{[]string{"config", "check"}, exitOK},
				{[]string{"version", "--verbose"}, exitOK},
				{[]string{"migrate"}, exitRuntime},
			}
			for _, r := range runs {
				want := r.want
				if !c.valid && r.args[0] != "version" {
					want = exitUsage
				}
				for _, locale := range []string{"zh", "en"} {
					t.Setenv("DEMANDD_LOCALE", locale)
					code, out, errOut := demandd(t, append(r.args, "--config", cfg)...)
					if code != want {
						t.Errorf("%s (%s): exit %d, want %d\n%s%s", r.args, locale, code, want, out, errOut)
					}
					for _, s := range c.secrets {
						if strings.Contains(out, s) || strings.Contains(errOut, s) {
							t.Errorf("%s (%s) prints %q:\n%s%s", r.args, locale, s, out, errOut)
						}
					}
					if !strings.Contains(out+errOut, "127.0.0.1") {
						t.Errorf("%s (%s) does not say which database:\n%s%s", r.args, locale, out, errOut)
					}
				}
			}
		})
	}
}
