package nettest

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
)

// RunCheckingLeaks runs m and returns its exit code, turned into a failure
// when the tests left goroutines or file descriptors (Linux: /proc/self/fd)
// behind that were not there before them. Fuzzing runs are not checked: the
// fuzzing engine opens and closes descriptors on its own schedule. Use it
// from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(nettest.RunCheckingLeaks(m)) }
func RunCheckingLeaks(m *testing.M) int {
	// The runtime's poller descriptors stay open once used: open them now.
	if r, w, err := os.Pipe(); err == nil {
		r.SetReadDeadline(time.Now())
		r.Close()
		w.Close()
	}
	fds, gs := fdTargets(), goroutineStacks()
	code := m.Run()
	if code != 0 || isFuzzing() {
		return code
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		report := leakReport(fds, gs)
		if report == "" {
			return code
		}
		if time.Now().After(deadline) {
			fmt.Fprint(os.Stderr, report)
			return 1
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func isFuzzing() bool {
	f, w := flag.Lookup("test.fuzz"), flag.Lookup("test.fuzzworker")
	return (f != nil && f.Value.String() != "") || (w != nil && w.Value.String() == "true")
}

func leakReport(fds, gs map[string]string) string {
	var lines []string
	for id, stack := range goroutineStacks() {
		if _, ok := gs[id]; !ok && !runtimeGoroutine(stack) {
			lines = append(lines, "leaked goroutine "+stack+"\n")
		}
	}
	for fd, target := range fdTargets() {
		if old, ok := fds[fd]; !ok || old != target {
			lines = append(lines, "leaked file descriptor "+fd+" -> "+target+"\n")
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "")
}

// stackBuf is goroutineStacks' buffer; tests poll from one goroutine.
var stackBuf = make([]byte, 1<<20)

func runtimeGoroutine(stack string) bool {
	for _, s := range []string{"testing.(*M).", "testing.runFuzzing", "internal/fuzz.", "os/signal.", "runtime.ensureSigM"} {
		if strings.Contains(stack, s) {
			return true
		}
	}
	return false
}

// goroutineStacks returns every goroutine's stack but the caller's, by ID.
// It reuses one buffer, so that polling for leaks does not make garbage and
// run the collector, whose finalizers would close leaked *os.File values
// before they are seen.
func goroutineStacks() map[string]string {
	buf := stackBuf
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			stackBuf = buf
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := map[string]string{}
	for i, g := range strings.Split(string(buf), "\n\n") {
		if i == 0 {
			continue
		}
		id, _, _ := strings.Cut(strings.TrimPrefix(g, "goroutine "), " ")
		out[id] = g
	}
	return out
}

// fdTargets lists the open descriptors and what they refer to (Linux;
// elsewhere it returns nothing and no descriptor is checked).
func fdTargets() map[string]string {
	out := map[string]string{}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return out
	}
	for _, e := range ents {
		if t, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil {
			out[e.Name()] = t
		}
	}
	return out
}
