package netlink_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestMain fails the run when the tests leak goroutines or file descriptors.
func TestMain(m *testing.M) {
	warmUp()
	fds := openFDs()
	gs := goroutines()
	code := m.Run()
	if code == 0 && !fuzzing() {
		if report := leaks(fds, gs); report != "" {
			fmt.Fprint(os.Stderr, report)
			code = 1
		}
	}
	os.Exit(code)
}

// fuzzing reports a fuzzing run, whose engine (coordinator and workers)
// opens and closes pipes and shared memory on its own schedule.
func fuzzing() bool {
	f := flag.Lookup("test.fuzz")
	w := flag.Lookup("test.fuzzworker")
	return (f != nil && f.Value.String() != "") || (w != nil && w.Value.String() == "true")
}

// warmUp opens what the runtime keeps open for good once used (the network
// poller's descriptors), so that it does not count as a leak.
func warmUp() {
	r, w, err := os.Pipe()
	if err == nil {
		r.SetReadDeadline(time.Now())
		r.Close()
		w.Close()
	}
}

// leaks waits a short grace period for goroutines and descriptors to go
// away, then describes those still there that were not there before.
func leaks(fdsBefore map[string]string, gsBefore map[string]string) string {
	var report string
	deadline := time.Now().Add(3 * time.Second)
	for {
		report = ""
		for id, stack := range goroutines() {
			if _, ok := gsBefore[id]; !ok && !ignoredGoroutine(stack) {
				report += "leaked goroutine " + stack + "\n\n"
			}
		}
		var fds []string
		for fd, target := range openFDs() {
			if old, ok := fdsBefore[fd]; !ok || old != target {
				fds = append(fds, "leaked file descriptor "+fd+" -> "+target+"\n")
			}
		}
		sort.Strings(fds)
		report += strings.Join(fds, "")
		if report == "" || time.Now().After(deadline) {
			return report
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ignoredGoroutine recognises goroutines the runtime and the testing
// package start for good.
func ignoredGoroutine(stack string) bool {
	for _, s := range []string{
		"testing.(*M).",
		"testing.runFuzzing",
		"internal/fuzz.",
		"os/signal.",
		"runtime.ensureSigM",
	} {
		if strings.Contains(stack, s) {
			return true
		}
	}
	return false
}

var stackBuf = make([]byte, 1<<20)

// goroutines returns the stacks of all goroutines but the caller's, by ID.
// It reuses one buffer so that polling for leaks does not trigger the
// garbage collector, whose finalizers would close leaked *os.File values
// before they are seen.
func goroutines() map[string]string {
	buf := stackBuf
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
		stackBuf = buf
	}
	out := make(map[string]string)
	for i, g := range bytes.Split(buf, []byte("\n\n")) {
		if i == 0 {
			continue // the caller
		}
		s := string(g)
		id, _, _ := strings.Cut(strings.TrimPrefix(s, "goroutine "), " ")
		out[id] = s
	}
	return out
}

// openFDs lists the process's descriptors and what they refer to (Linux;
// elsewhere nothing is checked).
func openFDs() map[string]string {
	out := make(map[string]string)
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return out
	}
	for _, e := range ents {
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil {
			continue // the directory's own descriptor, closed by now
		}
		out[e.Name()] = target
	}
	return out
}
