// Package testdb gives tests a real PostgreSQL, each test in a schema of
// its own. The server is found once per test binary:
//
//  1. DEMANDD_TEST_DATABASE_URL, if set (a postgres:// URL);
//  2. else a server on 127.0.0.1:5432, if one answers as user postgres
//     without a password;
//  3. else a throwaway cluster from initdb/pg_ctl (on PATH or under the
//     highest /usr/lib/postgresql/*/bin) in a temp dir, run as the postgres
//     OS user when the tests run as root, stopped when the test binary ends;
//  4. else the PostgreSQL tests skip with a message saying how to provide
//     one — except under CI=true, where they fail.
//
// Use Main in TestMain so that a throwaway cluster is stopped:
//
//	func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }
//
// Should the binary die without returning from Main (a panic, -timeout),
// a watchdog process stops the cluster and removes its directory.
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
	"syscall"
	"testing"
	"time"

	"github.com/lib/pq" // registers the "postgres" driver
)

const (
	envURL = "DEMANDD_TEST_DATABASE_URL"
	// localURL is tried when envURL is unset: trust auth, no TLS.
	localURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	// probeTimeout bounds each connection attempt while looking for a server.
	probeTimeout = 2 * time.Second
	// ddlTimeout bounds creating and dropping a test schema.
	ddlTimeout = 30 * time.Second
)

var (
	once      sync.Once
	serverURL string
	findErr   error

	clusterMu sync.Mutex
	cluster   *throwaway // started by find, stopped by Main
)

// Main runs the tests and then stops the throwaway cluster, if one was
// started. Use it in TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }
func Main(m *testing.M) int {
	code := m.Run()
	clusterMu.Lock()
	c := cluster
	cluster = nil
	clusterMu.Unlock()
	if c != nil {
		if err := c.stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	return code
}

// ServerURL returns the base URL of the PostgreSQL server found (without a
// test schema), or "" and the reason no server was found. The search runs
// once per process; its outcome is cached.
func ServerURL() (string, error) {
	once.Do(func() { serverURL, findErr = find() })
	return serverURL, findErr
}

// Postgres returns a postgres:// URL whose search_path is a fresh schema
// created for this test and dropped (CASCADE) when the test ends, so that
// unqualified names land in it. The URL may be opened by several pools at
// once. Without a server it skips the test, or fails it under CI=true.
func Postgres(t testing.TB) string {
	t.Helper()
	base, err := ServerURL()
	if err != nil {
		msg := unavailableMessage(err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	u, err := newSchema(t, base)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// unavailableMessage says loudly why the PostgreSQL tests do not run and
// how to make them run.
func unavailableMessage(err error) string {
	return fmt.Sprintf("\n"+
		"*** testdb: NO POSTGRESQL, PostgreSQL tests are SKIPPED (they fail under CI=true).\n"+
		"*** reason: %v\n"+
		"*** to run them, do one of:\n"+
		"***   export %s='postgres://USER:PASSWORD@HOST:PORT/DB?sslmode=disable'\n"+
		"***   run a server on 127.0.0.1:5432 that lets user postgres in without a password (trust)\n"+
		"***   install PostgreSQL server binaries (initdb, pg_ctl on PATH or in /usr/lib/postgresql/*/bin,\n"+
		"***   e.g. apt-get install postgresql) so that a throwaway cluster is started",
		err, envURL)
}

// newSchema creates a schema for t on base and returns base with
// search_path set to it; the schema is dropped in t.Cleanup.
func newSchema(t testing.TB, base string) (string, error) {
	t.Helper()
	schema := schemaName(t.Name())
	u, err := withParam(base, "search_path", schema)
	if err != nil {
		return "", err
	}
	if err := execOnce(base, `CREATE SCHEMA `+pq.QuoteIdentifier(schema)); err != nil {
		return "", fmt.Errorf("testdb: create schema %s: %w", schema, err)
	}
	t.Cleanup(func() {
		if err := execOnce(base, `DROP SCHEMA IF EXISTS `+pq.QuoteIdentifier(schema)+` CASCADE`); err != nil {
			t.Errorf("testdb: drop schema %s (does a connection still hold a transaction open?): %v", schema, err)
		}
	})
	return u, nil
}

// execOnce runs one statement on a short-lived connection to u.
func execOnce(u, stmt string) error {
	db, err := sql.Open("postgres", u)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), ddlTimeout)
	defer cancel()
	_, err = db.ExecContext(ctx, stmt)
	return err
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9]+`)

// schemaName makes a schema name from a test name: "t_", the name in
// lower case with runs of other characters turned into "_", "_" and 10
// random hex digits; at most 63 bytes, PostgreSQL's limit.
func schemaName(test string) string {
	const maxName = 63 - len("t_") - len("_") - 10
	s := strings.Trim(unsafeChars.ReplaceAllString(strings.ToLower(test), "_"), "_")
	if s == "" {
		s = "test"
	}
	if len(s) > maxName { // keep the test's head and the subtest's tail
		head := maxName / 2
		s = s[:head] + "_" + s[len(s)-(maxName-head-1):]
	}
	b := make([]byte, 5)
	rand.Read(b) // never fails (crypto/rand, Go ≥ 1.24)
	return "t_" + s + "_" + hex.EncodeToString(b)
}

// withParam sets the query parameter key of the postgres:// URL raw.
func withParam(raw, key, value string) (string, error) {
	u, err := parseURL(raw)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func parseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("testdb: parse database URL: %w", err)
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return nil, fmt.Errorf("testdb: database URL %s: want a postgres:// or postgresql:// URL", u.Redacted())
	}
	return u, nil
}

// find looks for a server as the package documentation describes.
func find() (string, error) {
	if raw := os.Getenv(envURL); raw != "" {
		u, err := parseURL(raw)
		if err != nil {
			return "", fmt.Errorf("testdb: %s: %w", envURL, err)
		}
		if err := ping(raw); err != nil {
			return "", fmt.Errorf("testdb: %s=%s does not answer: %w", envURL, u.Redacted(), err)
		}
		return raw, nil
	}
	localErr := ping(localURL)
	if localErr == nil {
		return localURL, nil
	}
	c, err := startThrowaway()
	if err != nil {
		return "", fmt.Errorf("testdb: %s is not set, no server on 127.0.0.1:5432 (%v), and no throwaway cluster: %w",
			envURL, localErr, err)
	}
	clusterMu.Lock()
	cluster = c
	clusterMu.Unlock()
	return c.url, nil
}

// ping connects to u within probeTimeout.
func ping(u string) error {
	probe, err := withParam(u, "connect_timeout", strconv.Itoa(int(probeTimeout/time.Second)))
	if err != nil {
		return err
	}
	db, err := sql.Open("postgres", probe)
	if err != nil {
		return fmt.Errorf("testdb: %w", err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout+time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		return fmt.Errorf("testdb: ping: %w", err)
	}
	return nil
}

// throwaway is a cluster started for this test binary.
type throwaway struct {
	dir           string // holds data/, pg.log and the Unix socket
	initdb, pgctl string
	asUser        string // run initdb/pg_ctl as this OS user via runuser; "" = as ourselves
	port          int
	url           string

	watchdog *exec.Cmd
	stopOnce sync.Once
	stopErr  error
}

// findTools finds initdb and pg_ctl on PATH, else in the highest-versioned
// /usr/lib/postgresql/*/bin that has both.
func findTools() (initdb, pgctl string, err error) {
	initdb, err1 := exec.LookPath("initdb")
	pgctl, err2 := exec.LookPath("pg_ctl")
	if err1 == nil && err2 == nil {
		return initdb, pgctl, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.SliceStable(dirs, func(i, j int) bool { return versionLess(dirs[j], dirs[i]) })
	for _, d := range dirs {
		i, p := filepath.Join(d, "initdb"), filepath.Join(d, "pg_ctl")
		if isExecutable(i) && isExecutable(p) {
			return i, p, nil
		}
	}
	return "", "", errors.New("testdb: initdb and pg_ctl are neither on PATH nor under /usr/lib/postgresql/*/bin")
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// versionLess compares /usr/lib/postgresql/<version>/bin paths by version
// ("9.6" < "15").
func versionLess(a, b string) bool {
	va := strings.Split(filepath.Base(filepath.Dir(a)), ".")
	vb := strings.Split(filepath.Base(filepath.Dir(b)), ".")
	for i := 0; i < len(va) || i < len(vb); i++ {
		var x, y int
		if i < len(va) {
			x, _ = strconv.Atoi(va[i])
		}
		if i < len(vb) {
			y, _ = strconv.Atoi(vb[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

// startThrowaway initialises and starts a cluster in a new temp dir, and a
// watchdog that stops it should this process die first. Call stop when done.
func startThrowaway() (*throwaway, error) {
	initdb, pgctl, err := findTools()
	if err != nil {
		return nil, err
	}
	c := &throwaway{initdb: initdb, pgctl: pgctl}
	uid, gid := -1, -1
	if os.Geteuid() == 0 { // initdb refuses to run as root
		if _, err := exec.LookPath("runuser"); err != nil {
			return nil, fmt.Errorf("testdb: running as root and runuser is missing, so initdb cannot run as postgres: %w", err)
		}
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("testdb: running as root and there is no postgres OS user to run initdb as: %w", err)
		}
		if uid, err = strconv.Atoi(u.Uid); err != nil {
			return nil, fmt.Errorf("testdb: uid of postgres: %w", err)
		}
		if gid, err = strconv.Atoi(u.Gid); err != nil {
			return nil, fmt.Errorf("testdb: gid of postgres: %w", err)
		}
		c.asUser = "postgres"
	}
	if c.dir, err = os.MkdirTemp(tempBase(c.asUser != ""), "demandd-pg-"); err != nil {
		return nil, fmt.Errorf("testdb: %w", err)
	}
	if uid >= 0 {
		if err := os.Chown(c.dir, uid, gid); err != nil {
			os.RemoveAll(c.dir)
			return nil, fmt.Errorf("testdb: chown %s to postgres: %w", c.dir, err)
		}
	}
	if err := c.init(); err != nil {
		os.RemoveAll(c.dir)
		return nil, err
	}
	if err := c.start(); err != nil {
		c.stop()
		return nil, err
	}
	if err := c.startWatchdog(os.Getpid()); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// tempBase is the directory for the cluster's temp dir: os.TempDir(),
// unless the Unix socket path would be too long there or (when running
// initdb as another user) that user cannot reach it; then /tmp.
func tempBase(otherUser bool) string {
	base := os.TempDir()
	const socketRoom = len("/demandd-pg-1234567890/.s.PGSQL.65535")
	if len(base)+socketRoom > 100 { // sun_path is 108 bytes
		return "/tmp"
	}
	if otherUser {
		for d := base; ; d = filepath.Dir(d) {
			fi, err := os.Stat(d)
			if err != nil || fi.Mode().Perm()&0o001 == 0 {
				return "/tmp"
			}
			if d == filepath.Dir(d) {
				break
			}
		}
	}
	return base
}

func (c *throwaway) data() string { return filepath.Join(c.dir, "data") }

func (c *throwaway) init() error {
	args := []string{"-D", c.data(), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"}
	out, err := c.run(c.initdb, append(args, "--locale=C.UTF-8")...)
	if err != nil && strings.Contains(string(out), "locale") {
		// No C.UTF-8 locale here (older systems); C will do for tests.
		// initdb removed the data directory it made, so try again.
		out, err = c.run(c.initdb, append(args, "--locale=C")...)
	}
	if err != nil {
		return fmt.Errorf("testdb: initdb: %w\n%s", err, out)
	}
	return nil
}

// start starts the server on a free port, retrying should another process
// take the port between picking and binding it.
func (c *throwaway) start() error {
	logFile := filepath.Join(c.dir, "pg.log")
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if c.port, err = freePort(); err != nil {
			return err
		}
		opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", c.port, c.dir)
		var out []byte
		out, err = c.run(c.pgctl, "-D", c.data(), "-l", logFile, "-w", "-o", opts, "start")
		if err == nil {
			c.url = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
			if err = ping(c.url); err != nil {
				return fmt.Errorf("testdb: throwaway cluster started but does not answer: %w", err)
			}
			return nil
		}
		log, _ := os.ReadFile(logFile)
		err = fmt.Errorf("testdb: pg_ctl start: %w\n%s\n%s", err, out, lastLines(string(log), 20))
		if !strings.Contains(string(log), "could not bind") && !strings.Contains(string(log), "Address already in use") {
			break
		}
	}
	return err
}

// startWatchdog starts a process, in a session of its own, that stops the
// cluster and removes its directory once process pid is gone. stop ends it.
func (c *throwaway) startWatchdog(pid int) error {
	const script = `while kill -0 "$1" 2>/dev/null; do sleep 1; done
if [ -n "$5" ]; then runuser -u "$5" -- "$2" -D "$3" -m immediate stop; else "$2" -D "$3" -m immediate stop; fi
rm -rf "$4"`
	cmd := exec.Command("/bin/sh", "-c", script, "testdb-watchdog", strconv.Itoa(pid), c.pgctl, c.data(), c.dir, c.asUser)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // outlive Ctrl-C of the test binary
	// Stdin, Stdout, Stderr stay nil (/dev/null): go test must not wait on it.
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("testdb: start watchdog: %w", err)
	}
	c.watchdog = cmd
	return nil
}

func (c *throwaway) run(tool string, args ...string) ([]byte, error) {
	var cmd *exec.Cmd
	if c.asUser != "" {
		cmd = exec.Command("runuser", append([]string{"-u", c.asUser, "--", tool}, args...)...)
	} else {
		cmd = exec.Command(tool, args...)
	}
	cmd.Dir = c.dir
	return cmd.CombinedOutput()
}

// stop stops the cluster (immediate mode), removes its directory and ends
// the watchdog. Only the first call does anything.
func (c *throwaway) stop() error {
	c.stopOnce.Do(func() {
		if _, err := os.Stat(filepath.Join(c.data(), "postmaster.pid")); err == nil {
			if out, err := c.run(c.pgctl, "-D", c.data(), "-m", "immediate", "stop"); err != nil {
				c.stopErr = fmt.Errorf("testdb: pg_ctl stop: %w\n%s", err, out)
			}
		}
		if err := os.RemoveAll(c.dir); err != nil && c.stopErr == nil {
			c.stopErr = fmt.Errorf("testdb: remove %s: %w", c.dir, err)
		}
		if c.watchdog != nil {
			c.watchdog.Process.Kill()
			c.watchdog.Wait()
		}
	})
	return c.stopErr
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("testdb: pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
