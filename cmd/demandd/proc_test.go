package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/demandd/demandd/internal/testenv"
)

// serveProc is one `demandd serve` process of a test, its log in a file.
type serveProc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error // the exit, once done is closed
}

var daemonSeq atomic.Int64

// startServe starts `demandd serve --config cfg` with its log in dir.
func startServe(t testing.TB, bin, cfg, dir, name string) *serveProc {
	t.Helper()
	d := &serveProc{name: name, done: make(chan struct{}),
		log: filepath.Join(dir, fmt.Sprintf("%s-%d.log", name, daemonSeq.Add(1)))}
	f, err := os.Create(d.log)
	if err != nil {
		t.Fatal(err)
	}
	d.cmd = exec.Command(bin, "serve", "--config", cfg)
	tmp := filepath.Join(dir, "tmp") // a killed daemon leaves excelize's temp files
	os.MkdirAll(tmp, 0o755)
	d.cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	d.cmd.Stdout, d.cmd.Stderr = f, f
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		d.err = d.cmd.Wait()
		f.Close()
		close(d.done)
	}()
	t.Cleanup(func() { d.kill(syscall.SIGKILL) })
	return d
}

// kill sends sig and waits for the process to end.
func (d *serveProc) kill(sig syscall.Signal) {
	select {
	case <-d.done:
		return
	default:
	}
	d.cmd.Process.Signal(sig)
	<-d.done
}

// running reports whether the process has not ended.
func (d *serveProc) running() bool {
	select {
	case <-d.done:
		return false
	default:
		return true
	}
}

// logText is the daemon's log so far.
func (d *serveProc) logText() string {
	b, _ := os.ReadFile(d.log)
	return string(b)
}

// tail is the end of the daemon's log, for failure messages.
func (d *serveProc) tail() string {
	s := d.logText()
	if len(s) > 3000 {
		s = s[len(s)-3000:]
	}
	return d.name + "'s log ends:\n" + s
}

// waitLog waits until the log has n lines containing s.
func (d *serveProc) waitLog(t testing.TB, wait time.Duration, s string, n int) {
	t.Helper()
	testenv.Eventually(t, wait, func() bool { return strings.Count(d.logText(), s) >= n },
		func() string { return fmt.Sprintf("%q not logged %d times; %s", s, n, d.tail()) })
}
