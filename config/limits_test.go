package config_test

import (
	"strings"
	"testing"

	"github.com/demandd/demandd/config"
)

// The limits of a watched folder are bytes and rows, as integers.
func TestFolderLimits(t *testing.T) {
	c, err := config.Parse("d.toml", []byte("[[folder]]\nname = \"in\"\npath = \"/srv/in\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if f := c.Folders[0]; f.MaxFileSize != 200<<20 || f.MaxRows != 1_000_000 || f.MaxCell != 64<<10 {
		t.Errorf("defaults: max_file_size %d, max_rows %d, max_cell %d", f.MaxFileSize, f.MaxRows, f.MaxCell)
	}
	c, err = config.Parse("d.toml", []byte("[[folder]]\nname = \"in\"\npath = \"/srv/in\"\nmax_file_size = 1048576\nmax_rows = 500\nmax_cell = 4096\n"))
	if err != nil {
		t.Fatal(err)
	}
	if f := c.Folders[0]; f.MaxFileSize != 1<<20 || f.MaxRows != 500 || f.MaxCell != 4096 {
		t.Errorf("set: max_file_size %d, max_rows %d, max_cell %d", f.MaxFileSize, f.MaxRows, f.MaxCell)
	}
	for _, tt := range []struct{ line, want string }{
		{`max_file_size = "200MB"`, `want an integer (bytes, such as 209715200 for 200 MB), got a string ("200MB")`},
		{`max_file_size = -1`, "want a number of bytes from 1 to 1099511627776"},
		{`max_file_size = 2000000000000`, "want a number of bytes from 1 to 1099511627776"},
		{`max_rows = -5`, "max_rows: must be positive, got -5"},
		{`max_rows = 1.5`, "want an integer"},
		{`max_cell = 5000000`, "from 1 to 4194304 (4 MB, the most a row may hold), got 5000000"},
		{`max_cell = "64KB"`, "want an integer (bytes, such as 65536 for 64 KB)"},
	} {
		_, err := config.Parse("c.toml", []byte("[[folder]]\nname = \"a\"\npath = \"p\"\n"+tt.line+"\n"))
		if err == nil || !strings.Contains(err.Error(), "c.toml:4") || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want line 4 and %q", tt.line, err, tt.want)
		}
	}
}
