//go:build linux

// Command rtnlpeak measures one library's typed IPv4 route listing in a
// process of its own: the rate and the process's peak resident memory
// (VmHWM; for ip-json, the ip process's maximum RSS).
//
//	go run ./cmd/rtnlpeak -lib rtnl -routes 100000
//	for l in rtnl vishvananda jsimonetti ip-json; do go run ./cmd/rtnlpeak -lib $l -netns NAME; done
//
// Without -netns it builds a namespace of -routes routes (as root) and
// deletes it at exit.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nlbus/netlink/bench/internal/rtnlbench"
	"github.com/nlbus/netlink/bench/internal/testns"
)

func main() {
	lib := flag.String("lib", "rtnl", "library: "+strings.Join(rtnlbench.RouteLibs, ", "))
	routes := flag.Int("routes", 100_000, "routes to create (with -netns: the count to expect)")
	nsName := flag.String("netns", "", "reuse this existing namespace instead of building one")
	header := flag.Bool("header", false, "print the table header first")
	flag.Parse()
	if err := run(*lib, *routes, *nsName, *header); err != nil {
		fmt.Fprintln(os.Stderr, "rtnlpeak:", err)
		os.Exit(1)
	}
}

func run(lib string, routes int, nsName string, header bool) error {
	if !testns.IsRoot() {
		return fmt.Errorf("needs root to use a network namespace")
	}
	var (
		ns  *testns.NS
		err error
	)
	if nsName != "" {
		ns, err = testns.Open(nsName)
	} else {
		ns, err = testns.Create(fmt.Sprintf("nlbench-rtnlpeak-%d", os.Getpid()), routes)
	}
	if err != nil {
		return err
	}
	defer ns.Close()
	name := ns.Name
	before, err := vmHWM()
	if err != nil {
		return err
	}
	var (
		n       int
		elapsed time.Duration
		peak    int
	)
	if lib == "ip-json" {
		start := time.Now()
		cmd := exec.Command("ip", "-n", name, "-j", "-4", "route", "show", "table", "all")
		out, err := cmd.Output()
		elapsed = time.Since(start)
		if err != nil {
			return err
		}
		n = strings.Count(string(out), `"dst":`)
		peak = int(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) // KiB
	} else {
		l, err := rtnlbench.Routes(lib, ns.Fd(), name)
		if err != nil {
			return err
		}
		start := time.Now()
		n, err = l.List()
		elapsed = time.Since(start)
		l.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", lib, err)
		}
		if peak, err = vmHWM(); err != nil {
			return err
		}
	}
	if n < routes || n > routes+16 {
		return fmt.Errorf("%s listed %d routes, want %d", lib, n, routes)
	}
	if header {
		fmt.Printf("%-12s %9s %12s %10s %14s\n", "lib", "routes", "routes/s", "listing", "peak RSS")
	}
	fmt.Printf("%-12s %9d %12.0f %10s %10.1f MiB   (%.1f MiB before)\n",
		lib, n, float64(n)/elapsed.Seconds(), elapsed.Round(time.Millisecond),
		float64(peak)/1024, float64(before)/1024)
	return nil
}

// vmHWM returns the process's peak resident set size in KiB.
func vmHWM() (int, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			return strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
		}
	}
	if err := s.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no VmHWM in /proc/self/status")
}
