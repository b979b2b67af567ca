// Command demandd collects customer demands from every channel into one
// classified register. `demandd help` lists the subcommands.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime"
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
	workers := spareP()
	os.Exit(profiled(func() int {
		return runWith(context.Background(), runOptions{prepareWorkers: workers}, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	}))
}

// spareP gives the runtime one P more than the cores it would use, and
// returns how many goroutines are to prepare batches: one fewer than the
// cores, at least one. The goroutine committing batches is the import's
// slowest stage and waits on PostgreSQL between short bursts; with every
// P busy preparing, each of its round trips also waited for the network
// poller and then for a P (issue 15's traces). With a P to spare it is
// woken at once and the OS shares the cores. On 2 cores a 100,000-row
// import took about a tenth less time. A GOMAXPROCS in the environment
// is left as it is, and every P prepares.
func spareP() (prepareWorkers int) {
	if os.Getenv("GOMAXPROCS") != "" {
		return 0
	}
	cores := runtime.GOMAXPROCS(0)
	runtime.GOMAXPROCS(cores + 1)
	return max(1, cores-1)
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
