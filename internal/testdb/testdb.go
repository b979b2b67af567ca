// Package testdb gives tests a real PostgreSQL, each test in a schema of
// its own. The server is found once per test binary:
//
//  1. DEMANDD_TEST_DATABASE_URL, if set;
//  2. else a server on 127.0.0.1:5432, if one answers (user postgres);
//  3. else a throwaway cluster from initdb/pg_ctl (on PATH or under
//     /usr/lib/postgresql/*/bin) in a temp dir, run as the postgres user
//     when the tests run as root, stopped when the test binary ends;
//  4. else the PostgreSQL tests skip with a message saying how to provide
//     one — except under CI=true, where they fail.
//
// Use Main in TestMain so that a throwaway cluster is stopped.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/lib/pq" // registers "postgres"
)

const envURL = "DEMANDD_TEST_DATABASE_URL"

var (
	once      sync.Once
	serverURL string
	findErr   error
	cluster   *throwaway
)

// Main runs the tests and stops a throwaway cluster afterwards:
//
//	func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }
func Main(m *testing.M) int {
	code := m.Run()
	if cluster != nil {
		cluster.stop()
	}
	return code
}

// ServerURL returns the base URL of the server found, or the reason none
// was found.
func ServerURL() (string, error) {
	once.Do(func() { serverURL, findErr = find() })
	return serverURL, findErr
}

// Postgres returns a URL whose search_path is a fresh schema for this
// test, dropped when the test ends. Without a server it skips the test,
// or fails it under CI=true.
func Postgres(t testing.TB) string {
	t.Helper()
	base, err := ServerURL()
	if err != nil {
		msg := fmt.Sprintf("testdb: NO POSTGRESQL — PostgreSQL tests are not run: %v. "+
			"Set %s=postgres://user@host:port/db?sslmode=disable, run a server on 127.0.0.1:5432, "+
			"or install PostgreSQL (initdb, pg_ctl) so that a throwaway cluster can be started", err, envURL)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	schema := schemaName(t.Name())
	db, err := sql.Open("postgres", base)
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("testdb: create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("postgres", base)
		if err != nil {
			return
		}
		defer db.Close()
		if _, err := db.Exec(`DROP SCHEMA IF EXISTS ` + schema + ` CASCADE`); err != nil {
			t.Logf("testdb: drop schema %s: %v", schema, err)
		}
	})
	return withParam(base, "search_path", schema)
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9_]+`)

// schemaName makes a valid, unique schema name from a test name.
func schemaName(test string) string {
	s := unsafeChars.ReplaceAllString(strings.ToLower(test), "_")
	s = strings.Trim(s, "_")
	if len(s) > 40 {
		s = s[len(s)-40:]
	}
	b := make([]byte, 5)
	rand.Read(b)
	return "t_" + s + "_" + hex.EncodeToString(b)
}

func withParam(raw, key, value string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

func find() (string, error) {
	if u := os.Getenv(envURL); u != "" {
		if err := ping(u); err != nil {
			return "", fmt.Errorf("%s is set but does not answer: %w", envURL, err)
		}
		return u, nil
	}
	local := "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable&connect_timeout=2"
	if err := ping(local); err == nil {
		return local, nil
	}
	c, err := startThrowaway()
	if err != nil {
		return "", fmt.Errorf("no server on 127.0.0.1:5432 and no throwaway cluster: %w", err)
	}
	cluster = c
	return c.url, nil
}

func ping(u string) error {
	db, err := sql.Open("postgres", u)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return db.PingContext(ctx)
}

// throwaway is a cluster started for this test binary.
type throwaway struct {
	dir, bin string
	asUser   string // run commands as this user ("" = as ourselves)
	url      string
}

func binDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("pg_ctl"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("initdb and pg_ctl are not on PATH nor under /usr/lib/postgresql/*/bin")
}

func version(dir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return v
}

func startThrowaway() (*throwaway, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "demandd-pg-")
	if err != nil {
		return nil, err
	}
	c := &throwaway{dir: dir, bin: bin}
	if os.Geteuid() == 0 { // initdb refuses to run as root
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root and there is no postgres user to run initdb as: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		c.asUser = "postgres"
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if out, err := c.run("initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", port, dir)
	if out, err := c.run("pg_ctl", "-D", data, "-l", filepath.Join(dir, "pg.log"), "-w", "-o", opts, "start"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pg_ctl start: %w\n%s", err, out)
	}
	c.url = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	if err := ping(c.url); err != nil {
		c.stop()
		return nil, fmt.Errorf("throwaway cluster does not answer: %w", err)
	}
	return c, nil
}

func (c *throwaway) run(tool string, args ...string) ([]byte, error) {
	path := filepath.Join(c.bin, tool)
	var cmd *exec.Cmd
	if c.asUser != "" {
		cmd = exec.Command("runuser", append([]string{"-u", c.asUser, "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = c.dir
	return cmd.CombinedOutput()
}

func (c *throwaway) stop() {
	c.run("pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", "immediate", "stop")
	os.RemoveAll(c.dir)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
