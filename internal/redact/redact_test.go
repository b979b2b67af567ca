package redact

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"syscall"
	"testing"

	_ "github.com/lib/pq"
)

func TestDSN(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"postgres://demandd:pw@db:5432/demandd?sslmode=disable", "postgres://demandd:xxxxx@db:5432/demandd?sslmode=disable"},
		{"postgresql://demandd:pw@db/demandd", "postgresql://demandd:xxxxx@db/demandd"},
		{"postgres://demandd@db/demandd?sslmode=disable", "postgres://demandd@db/demandd?sslmode=disable"},
		{"postgres://demandd:@db/d", "postgres://demandd:@db/d"},
		{"postgres://:pw@db/d", "postgres://:xxxxx@db/d"},
		{"postgres://db/d?password=pw&sslmode=disable", "postgres://db/d?password=xxxxx&sslmode=disable"},
		{"postgres://db/d?sslmode=require&sslpassword=k%26y&sslkey=/etc/k.pem&passfile=/p", "postgres://db/d?sslmode=require&sslpassword=xxxxx&sslkey=/etc/k.pem&passfile=/p"},
		{"postgres://db/d?PASSWORD=pw", "postgres://db/d?PASSWORD=xxxxx"},
		{"postgres://db/d?pass%77ord=pw", "postgres://db/d?pass%77ord=xxxxx"},
		{"postgres://db/d?sslinline=true&sslkey=-----BEGIN%20PRIVATE%20KEY-----abc", "postgres://db/d?sslinline=true&sslkey=xxxxx"},
		{"postgres://u:p%40ss%2Fw@db/d", "postgres://u:xxxxx@db/d"},
		// Unencoded '@', '/', ':' and '?' in a password: hidden whole.
		{"postgres://u:p@ss/w:rd@db/d", "postgres://u:xxxxx@db/d"},
		{"postgres://u:p?ss@db/d?sslmode=disable", "postgres://u:xxxxx@db/d?sslmode=disable"},
		{"postgres://u:pw@db/d?application_name=a@b", "postgres://u:xxxxx@db/d?application_name=a@b"},
		{"postgres://u:pw@db:notaport/d", "postgres://u:xxxxx@db:notaport/d"},
		{"postgres://u:pw@db/d#password=x", "postgres://u:xxxxx@db/d#password=x"},
		// libpq key=value.
		{"host=db user=u password=pw dbname=d", "host=db user=u password=xxxxx dbname=d"},
		{"host=db password='a b\\' c' user=u", "host=db password=xxxxx user=u"},
		{"password = 'unterminated rest", "password = xxxxx"},
		{"sslpassword=k user=u", "sslpassword=xxxxx user=u"},
		{"sslkey=/etc/k.pem passfile=/p", "sslkey=/etc/k.pem passfile=/p"},
		{"user=password", "user=password"},
		// Nothing to hide.
		{"sqlite:/var/lib/demandd/demandd.db", "sqlite:/var/lib/demandd/demandd.db"},
		{"five", "five"},
		{"", ""},
	} {
		t.Run(c.in, func(t *testing.T) {
			if got := DSN(c.in); got != c.want {
				t.Errorf("DSN(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func TestMessage(t *testing.T) {
	for _, c := range []struct {
		name, dsn, msg string
		gone           []string
		kept           []string
	}{
		{"the URL as it is", "postgres://u:Secret1@db/d", "cannot open postgres://u:Secret1@db/d: refused",
			[]string{"Secret1"}, []string{"postgres://u:xxxxx@db/d: refused"}},
		{"the URL quoted by net/url", `postgres://u:Sec"ret\1@db:x/d`, fmt.Sprintf("parse %q: invalid port", `postgres://u:Sec"ret\1@db:x/d`),
			[]string{`Sec\"ret`, `Sec"ret`, `ret\\1`}, []string{"xxxxx@db:x/d"}},
		{"decoded password elsewhere", "postgres://u:p%40ssw0rd@db/d", `pq: user "u" with password "p@ssw0rd" refused`,
			[]string{"p@ssw0rd"}, []string{`user "u"`}},
		{"a fragment net/url quotes", "postgres://u:Pw%zzLong@db/d", `parse "postgres://u:Pw%zzLong@db/d": invalid URL escape "%zz"`,
			[]string{"%zz", "Pw%zzLong"}, []string{`invalid URL escape "xxxxx"`}},
		{"a port that is a password", "postgres://u:Ab9/Cd@db/d", `parse "postgres://u:Ab9/Cd@db/d": invalid port ":Ab9" after host`,
			[]string{"Ab9", "Cd@"}, []string{"invalid port"}},
		{"a parameter decoded", "postgres://db/d?password=a+b%26cdef", "password a b&cdef refused",
			[]string{"a b&cdef"}, []string{"refused"}},
		{"key=value", "host=db password='two words'", `missing "=" after "words" in connection info string; password two words`,
			[]string{"two words"}, []string{"missing"}},
		{"a short password is not hunted", "postgres://u:1@127.0.0.1:1/d", "dial tcp 127.0.0.1:1: connect: connection refused",
			nil, []string{"dial tcp 127.0.0.1:1: connect"}},
		{"quoted text that is not secret", "postgres://u:Secret1@db/d", `pq: database "d" does not exist`,
			nil, []string{`database "d" does not exist`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := Message(c.msg, c.dsn)
			for _, s := range c.gone {
				if strings.Contains(got, s) {
					t.Errorf("Message(%q) = %q: still has %q", c.msg, got, s)
				}
			}
			for _, s := range c.kept {
				if !strings.Contains(got, s) {
					t.Errorf("Message(%q) = %q: lost %q", c.msg, got, s)
				}
			}
		})
	}
}

// The errors lib/pq and net/url really return, for each credential form:
// a closed port and URLs net/url refuses.
func TestErrorOfDriver(t *testing.T) {
	for _, c := range []struct {
		dsn     string
		secrets []string
		refused bool // connection refused: errors.Is must still see it
	}{
		{"postgres://u:Pw-info-9q@127.0.0.1:1/d?sslmode=disable", []string{"Pw-info-9q"}, true},
		{"postgres://u@127.0.0.1:1/d?sslmode=disable&password=Pw-param-9q", []string{"Pw-param-9q"}, true},
		{"postgres://u@127.0.0.1:1/d?sslmode=disable&sslpassword=Pw-ssl-9q", []string{"Pw-ssl-9q"}, true},
		{"postgres://u:Pw-port-9q@127.0.0.1:port/d", []string{"Pw-port-9q"}, false},
		{"postgres://u:Pw%zz-esc-9q@127.0.0.1:1/d", []string{"Pw%zz-esc-9q", "%zz"}, false},
		{"postgres://u:Pw 9q-space@127.0.0.1:1/d", []string{"Pw 9q-space"}, false},
		{"postgres://u:Qq9/Pw-slash@127.0.0.1:1/d", []string{"Qq9/Pw-slash", "Qq9"}, false},
	} {
		t.Run(c.dsn, func(t *testing.T) {
			db, err := sql.Open("postgres", c.dsn)
			if err == nil {
				err = db.PingContext(context.Background())
				db.Close()
			}
			if err == nil {
				t.Fatal("connected")
			}
			orig := fmt.Errorf("store: connect to postgres: %w", err)
			red := Error(orig, c.dsn)
			for _, s := range c.secrets {
				if strings.Contains(red.Error(), s) {
					t.Errorf("%q has %q", red, s)
				}
			}
			if c.refused && !errors.Is(red, syscall.ECONNREFUSED) {
				t.Errorf("%q: errors.Is(ECONNREFUSED) lost", red)
			}
			var ue *url.Error
			if !c.refused && !errors.As(red, &ue) {
				t.Errorf("%q: errors.As(*url.Error) lost", red)
			}
			if red != orig && errors.Unwrap(red) != nil {
				t.Errorf("%q: the unredacted cause is reachable through Unwrap", red)
			}
		})
	}
	if err := errors.New("plain"); Error(err, "postgres://u:pw@db/d") != err {
		t.Error("an error without credentials is not returned as it is")
	}
	if Error(nil, "x") != nil {
		t.Error("Error(nil) is not nil")
	}
}
