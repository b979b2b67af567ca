package testdb

import (
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func open(t testing.TB, u string) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func schemaOf(t testing.TB, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	s := u.Query().Get("search_path")
	if s == "" {
		t.Fatalf("no search_path in %s", raw)
	}
	return s
}

func schemaExists(t testing.TB, db *sql.DB, schema string) bool {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = $1`, schema).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// TestSchemaPerTest: an unqualified CREATE TABLE lands in the test's
// schema, two tests get different schemas, and a schema is gone once its
// test has ended.
func TestSchemaPerTest(t *testing.T) {
	var first, second string
	t.Run("a", func(t *testing.T) {
		u := Postgres(t)
		first = schemaOf(t, u)
		db := open(t, u)
		if _, err := db.Exec(`CREATE TABLE probe (id int)`); err != nil {
			t.Fatal(err)
		}
		var schema string
		if err := db.QueryRow(`SELECT table_schema FROM information_schema.tables WHERE table_name = 'probe' AND table_schema = $1`, first).Scan(&schema); err != nil {
			t.Fatalf("table probe is not in schema %s: %v", first, err)
		}
		var cur string
		if err := db.QueryRow(`SELECT current_schema()`).Scan(&cur); err != nil || cur != first {
			t.Fatalf("current_schema() = %q (%v), want %q", cur, err, first)
		}
	})
	t.Run("b", func(t *testing.T) {
		u := Postgres(t)
		second = schemaOf(t, u)
		if second == first {
			t.Fatal("two tests share a schema")
		}
		db := open(t, u)
		if schemaExists(t, db, first) {
			t.Fatalf("schema %s not dropped after its test", first)
		}
		// The table of a lives in a's (dropped) schema, not here.
		if _, err := db.Exec(`CREATE TABLE probe (id int)`); err != nil {
			t.Fatal(err)
		}
	})
	if t.Skipped() || first == "" || second == "" {
		return
	}
	base, err := ServerURL()
	if err != nil {
		t.Fatal(err)
	}
	db := open(t, base)
	for _, s := range []string{first, second} {
		if schemaExists(t, db, s) {
			t.Errorf("schema %s still exists after its test", s)
		}
	}
}

// TestConcurrentPools: several pools on one URL, many connections each,
// all use the test's schema.
func TestConcurrentPools(t *testing.T) {
	u := Postgres(t)
	want := schemaOf(t, u)
	if _, err := open(t, u).Exec(`CREATE TABLE hits (pool int, n int)`); err != nil {
		t.Fatal(err)
	}
	const pools, workers, rows = 3, 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, pools*workers)
	for p := range pools {
		db := open(t, u)
		db.SetMaxOpenConns(workers)
		for range workers {
			wg.Go(func() {
				for n := range rows {
					var s string
					if err := db.QueryRow(`SELECT current_schema()`).Scan(&s); err != nil {
						errs <- err
						return
					} else if s != want {
						errs <- fmt.Errorf("pool %d: current_schema() = %q, want %q", p, s, want)
						return
					}
					if _, err := db.Exec(`INSERT INTO hits VALUES ($1, $2)`, p, n); err != nil {
						errs <- err
						return
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var n int
	if err := open(t, u).QueryRow(`SELECT COUNT(*) FROM hits`).Scan(&n); err != nil || n != pools*workers*rows {
		t.Fatalf("%d rows (%v), want %d", n, err, pools*workers*rows)
	}
}

func TestSchemaName(t *testing.T) {
	valid := regexp.MustCompile(`^t_[a-z0-9_]+_[0-9a-f]{10}$`)
	long := "TestSomething/with a very long subtest name: ÜNICODE, punctuation & more/" + strings.Repeat("x", 200) + "/tail"
	for _, name := range []string{"TestA", "TestA/sub#01", long, "", "/"} {
		s := schemaName(name)
		if len(s) > 63 || !valid.MatchString(s) {
			t.Errorf("schemaName(%q) = %q: invalid or longer than 63", name, s)
		}
		if schemaName(name) == s {
			t.Errorf("schemaName(%q) is not random", name)
		}
	}
	if s := schemaName(long); !strings.HasPrefix(s, "t_testsomething_with") || !strings.Contains(s, "_tail_") {
		t.Errorf("schemaName(long) = %q: lost the head or the tail", s)
	}
}

func TestURLParams(t *testing.T) {
	u, err := withParam(localURL, "search_path", "t_x_0123456789")
	if err != nil {
		t.Fatal(err)
	}
	q, _ := url.Parse(u)
	if q.Query().Get("sslmode") != "disable" || q.Query().Get("search_path") != "t_x_0123456789" {
		t.Errorf("withParam lost a parameter: %s", u)
	}
	if _, err := withParam("host=x user=y", "search_path", "s"); err == nil || !strings.HasPrefix(err.Error(), "testdb: ") {
		t.Errorf("key=value DSN accepted or error unprefixed: %v", err)
	}
	msg := unavailableMessage(fmt.Errorf("boom"))
	for _, want := range []string{"SKIPPED", envURL, "127.0.0.1:5432", "initdb", "boom"} {
		if !strings.Contains(msg, want) {
			t.Errorf("skip message lacks %q:\n%s", want, msg)
		}
	}
}

// needThrowaway starts a throwaway cluster, or skips (loudly) where initdb
// is not found.
func needThrowaway(t *testing.T) *throwaway {
	t.Helper()
	if _, _, err := findTools(); err != nil {
		t.Skipf("\n*** testdb: initdb/pg_ctl not found, the THROWAWAY-CLUSTER PATH IS NOT TESTED here: %v", err)
	}
	c, err := startThrowaway()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.stop() })
	return c
}

func notAnswering(t *testing.T, c *throwaway, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		_, statErr := os.Stat(c.dir)
		pingErr := ping(c.url)
		if os.IsNotExist(statErr) && pingErr != nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("throwaway cluster still there after %v: stat dir: %v, ping: %v", within, statErr, pingErr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestThrowawayCluster forces path 3: start a cluster, use it, stop it.
func TestThrowawayCluster(t *testing.T) {
	t.Parallel()
	c := needThrowaway(t)
	if c.port == 5432 {
		t.Fatalf("throwaway cluster on 5432")
	}
	if os.Geteuid() == 0 {
		fi, err := os.Stat(c.dir)
		if err != nil {
			t.Fatal(err)
		}
		pg, _ := user.Lookup("postgres")
		if pg == nil || strconv.Itoa(int(fi.Sys().(*syscall.Stat_t).Uid)) != pg.Uid {
			t.Errorf("%s is not owned by postgres", c.dir)
		}
	}
	var one int
	if err := open(t, c.url).QueryRow(`SELECT 1`).Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1 = %d, %v", one, err)
	}
	t.Run("schema", func(t *testing.T) {
		u, err := newSchema(t, c.url)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := open(t, u).Exec(`CREATE TABLE probe (id int)`); err != nil {
			t.Fatal(err)
		}
	})
	if err := c.stop(); err != nil {
		t.Fatal(err)
	}
	notAnswering(t, c, 0)
}

// TestThrowawayWatchdog: when the watched process dies without stopping
// the cluster, the watchdog stops it and removes its directory.
func TestThrowawayWatchdog(t *testing.T) {
	t.Parallel()
	c := needThrowaway(t)
	// Watch a stand-in for the test binary instead of ourselves.
	c.watchdog.Process.Kill()
	c.watchdog.Wait()
	standIn := exec.Command("sleep", "60")
	if err := standIn.Start(); err != nil {
		t.Fatal(err)
	}
	if err := c.startWatchdog(standIn.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if err := ping(c.url); err != nil {
		t.Fatal(err)
	}
	standIn.Process.Kill()
	standIn.Wait() // reap it: kill -0 succeeds on a zombie
	notAnswering(t, c, 10*time.Second)
}
