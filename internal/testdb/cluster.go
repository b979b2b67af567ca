package testdb

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Cluster is a PostgreSQL server of one test's own, which the test may
// restart or stop (fault tests): a throwaway cluster from initdb/pg_ctl
// as Main's, never the shared server.
type Cluster struct {
	// URL is the cluster's postgres database.
	URL string
	c   *throwaway
}

// StartCluster starts a cluster for t, stopped and removed when t ends.
// Without initdb and pg_ctl it skips t, or fails it under CI=true.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	c, err := startThrowaway()
	if err != nil {
		msg := fmt.Sprintf("testdb: NO THROWAWAY POSTGRESQL CLUSTER, the test is skipped: %v (install the PostgreSQL server binaries)", err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	t.Cleanup(func() {
		if err := c.stop(); err != nil {
			t.Error(err)
		}
	})
	return &Cluster{URL: c.url, c: c}
}

// Restart stops the server at once, as a crash would (immediate mode:
// connections cut, crash recovery at the start), and starts it again on
// the same port.
func (c *Cluster) Restart() error {
	// -l: without a log file the new server would write to, and hold open,
	// the pipe run reads to its end.
	out, err := c.c.run(c.c.pgctl, "-D", c.c.data(), "-l", filepath.Join(c.c.dir, "pg.log"), "-m", "immediate", "-w", "restart")
	if err != nil {
		return fmt.Errorf("testdb: pg_ctl restart: %w\n%s", err, out)
	}
	return ping(c.URL)
}
