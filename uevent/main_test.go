package uevent_test

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"
)

// TestMain fails the run when the tests leak goroutines or file descriptors
// (sockets of Readers not closed).
func TestMain(m *testing.M) {
	warmUp()
	gs, fds := runtime.NumGoroutine(), countFDs()
	code := m.Run()
	if f := flag.Lookup("test.fuzz"); code == 0 && (f == nil || f.Value.String() == "") {
		deadline := time.Now().Add(2 * time.Second)
		for (runtime.NumGoroutine() > gs || countFDs() > fds) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n, nfd := runtime.NumGoroutine(), countFDs(); n > gs || nfd > fds {
			buf := make([]byte, 1<<16)
			os.Stderr.Write(buf[:runtime.Stack(buf, true)])
			fmt.Fprintf(os.Stderr, "uevent: leaked %d goroutines, %d file descriptors\n", n-gs, nfd-fds)
			code = 1
		}
	}
	os.Exit(code)
}

// countFDs counts the process's open descriptors (Linux; 0 elsewhere).
func countFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0
	}
	return len(ents)
}

// warmUp starts what the runtime keeps open for good once used (the network
// poller's descriptors), so that it does not count as a leak.
func warmUp() {
	r, w, err := os.Pipe()
	if err == nil {
		r.SetReadDeadline(time.Now())
		r.Close()
		w.Close()
	}
}
