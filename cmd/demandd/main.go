// Command demandd collects customer demands from every channel into one
// classified register. `demandd help` lists the subcommands.
package main

import (
	"context"
	"os"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
