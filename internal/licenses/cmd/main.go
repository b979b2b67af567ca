// Command licenses prints the licence of every module linked into a
// package (default ./cmd/demandd) and exits 1 if any is not allowed:
// `make licenses`.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/demandd/demandd/internal/licenses"
)

func main() {
	pkg := "./cmd/demandd"
	if len(os.Args) > 1 {
		pkg = os.Args[1]
	}
	files, missing, err := licenses.List(context.Background(), ".", pkg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Print(licenses.Table(files, missing))
	bad := len(missing)
	for _, f := range files {
		if f.Verdict != licenses.Ok {
			bad++
		}
	}
	if bad > 0 {
		fmt.Fprintf(os.Stderr, "\n%d licence files not allowed: read each, then drop the dependency or add the file to licenses.Reviewed with what it is\n", bad)
		os.Exit(1)
	}
}
