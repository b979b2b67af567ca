package testdb

import (
	"database/sql"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func TestSchemaPerTest(t *testing.T) {
	var first string
	t.Run("a", func(t *testing.T) {
		u := Postgres(t)
		first = schemaOf(u)
		db, err := sql.Open("postgres", u)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec(`CREATE TABLE probe (id int)`); err != nil {
			t.Fatal(err)
		}
		var schema string
		if err := db.QueryRow(`SELECT table_schema FROM information_schema.tables WHERE table_name = 'probe'`).Scan(&schema); err != nil || schema != first {
			t.Fatalf("table landed in %q (%v), want %q", schema, err, first)
		}
	})
	t.Run("b", func(t *testing.T) {
		u := Postgres(t)
		if schemaOf(u) == first {
			t.Fatal("two tests share a schema")
		}
		db, _ := sql.Open("postgres", u)
		defer db.Close()
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = $1`, first).Scan(&n); err != nil || n != 0 {
			t.Fatalf("schema %s not dropped after its test (%d, %v)", first, n, err)
		}
	})
}

func schemaOf(u string) string {
	i := strings.Index(u, "search_path=")
	rest := u[i+len("search_path="):]
	if j := strings.IndexByte(rest, '&'); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

func TestThrowawayCluster(t *testing.T) {
	if _, err := binDir(); err != nil {
		t.Skipf("NO initdb: the throwaway-cluster path is not exercised here: %v", err)
	}
	if os.Geteuid() == 0 {
		if _, err := exec.LookPath("runuser"); err != nil {
			t.Skip("root without runuser")
		}
	}
	c, err := startThrowaway()
	if err != nil {
		t.Fatal(err)
	}
	defer c.stop()
	if err := ping(c.url); err != nil {
		t.Fatal(err)
	}
}
