package bus_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
)

// nlbusBin is the nlbus binary TestMain builds for the integration tests.
var nlbusBin string

// TestMain runs a helper process when asked (see helper_test.go), builds
// the nlbus binary, and fails the run when the tests leak goroutines or
// file descriptors.
func TestMain(m *testing.M) {
	if h := os.Getenv(helperEnv); h != "" {
		os.Exit(runHelper(h))
	}
	flag.Parse()
	dir, err := os.MkdirTemp("", "nlbus-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Chmod(dir, 0o755) // an unprivileged child runs it too
	nlbusBin = filepath.Join(dir, "nlbus")
	if !testing.Short() {
		out, err := exec.Command("go", "build", "-o", nlbusBin, "../cmd/nlbus").CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "building nlbus: %v\n%s", err, out)
			os.Exit(1)
		}
	}
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
	os.RemoveAll(dir)
	os.Exit(code)
}

func fuzzing() bool {
	f := flag.Lookup("test.fuzz")
	w := flag.Lookup("test.fuzzworker")
	return (f != nil && f.Value.String() != "") || (w != nil && w.Value.String() == "true")
}

func warmUp() {
	r, w, err := os.Pipe()
	if err == nil {
		r.SetReadDeadline(time.Now())
		r.Close()
		w.Close()
	}
}

func leaks(fdsBefore, gsBefore map[string]string) string {
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

func ignoredGoroutine(stack string) bool {
	for _, s := range []string{"testing.(*M).", "testing.runFuzzing", "internal/fuzz.", "os/signal.", "runtime.ensureSigM"} {
		if strings.Contains(stack, s) {
			return true
		}
	}
	return false
}

func goroutines() map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := make(map[string]string)
	for i, g := range bytes.Split(buf, []byte("\n\n")) {
		if i == 0 {
			continue
		}
		s := string(g)
		id, _, _ := strings.Cut(strings.TrimPrefix(s, "goroutine "), " ")
		out[id] = s
	}
	return out
}

func openFDs() map[string]string {
	out := make(map[string]string)
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return out
	}
	for _, e := range ents {
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil {
			continue
		}
		out[e.Name()] = target
	}
	return out
}
