// Command benchgate prints issue 15's throughput ratios from saved
// `go test -bench` output (make bench writes bench.out, make bench-imap
// bench-imap.out); with -check it exits 1 when a ratio is below its target,
// a ceiling is passed, or a gate has no figures (make bench-check).
//
//	go run ./internal/benchgate/cmd [-check] bench.out bench-imap.out
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/demandd/demandd/internal/benchgate"
)

func main() {
	check := flag.Bool("check", false, "exit 1 unless every gate with figures, in every file, meets its target")
	flag.Parse()
	failed := false
	for _, path := range flag.Args() {
		f, err := os.Open(path)
		if err != nil {
			fmt.Fprintf(os.Stderr, "benchgate: %v (run the make target that writes it first)\n", err)
			failed = true
			continue
		}
		res, err := benchgate.Parse(f)
		f.Close()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			failed = true
			continue
		}
		outs := benchgate.Evaluate(res, benchgate.Targets)
		if len(outs) == 0 {
			fmt.Printf("%s: no gated benchmark in it\n", path)
			failed = true
		}
		for _, o := range outs {
			fmt.Println(o)
			if !o.Met() {
				failed = true
			}
		}
	}
	if *check && failed {
		fmt.Fprintln(os.Stderr, "bench-check: FAILED (a line above is MISSED or MISSING)")
		os.Exit(1)
	}
}
