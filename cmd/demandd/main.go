// Command demandd collects customer demands from every channel into one
// classified register. `demandd help` lists the subcommands.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"runtime/trace"
	"syscall"
	// The time zone database inside the binary (about 450 KB): a minimal
	// host or container without tzdata would otherwise fail to load
	// Asia/Shanghai with a misleading "unknown time zone".
	_ "time/tzdata"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// softMemoryLimit keeps the heap near what demandd needs rather than
// letting it grow without bound between collections: import and export
// stream, so their live heap is small whatever the file size, and the
// limit is what keeps their RSS flat. GOMEMLIMIT overrides.
const softMemoryLimit = 96 << 20

// gcPercent is the collector's pace under that limit: a 100,000-row import
// spent a fifth of its CPU collecting at Go's default of 100 under a 64 MB
// limit; at 300 under 96 MB it took 20 % less CPU and peaked at 106 MB
// (issue 15's profiles). GOGC overrides; serve sets its own.
const gcPercent = 300

func main() {
	// A reader that goes away (`demandd list | head`) makes writes fail
	// with EPIPE, which run treats as the end of output, instead of the
	// runtime killing the process with "signal: broken pipe".
	signal.Ignore(syscall.SIGPIPE)
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(softMemoryLimit)
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	os.Exit(profiled(func() int { return run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr) }))
}

// profiled runs f under a CPU profile written to $DEMANDD_CPUPROFILE and an
// execution trace written to $DEMANDD_TRACE, and writes the allocations
// made to $DEMANDD_MEMPROFILE, when set: how the throughput
// work (make bench…) profiles a command run as its own process. The trace
// shows which stage waits on which (go tool trace).
func profiled(f func() int) int {
	if path := os.Getenv("DEMANDD_TRACE"); path != "" {
		if out, err := os.Create(path); err == nil {
			defer out.Close()
			if err := trace.Start(out); err == nil {
				defer trace.Stop()
			}
		}
	}
	if path := os.Getenv("DEMANDD_MEMPROFILE"); path != "" {
		defer func() {
			if out, err := os.Create(path); err == nil {
				_ = pprof.Lookup("allocs").WriteTo(out, 0)
				out.Close()
			}
		}()
	}
	path := os.Getenv("DEMANDD_CPUPROFILE")
	if path == "" {
		return f()
	}
	out, err := os.Create(path)
	if err != nil {
		return f()
	}
	defer out.Close()
	if err := pprof.StartCPUProfile(out); err != nil {
		return f()
	}
	defer pprof.StopCPUProfile()
	return f()
}
