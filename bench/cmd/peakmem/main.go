//go:build linux

// Command peakmem measures one library's IPv4 route dump in a process of its
// own: the dump's rate and the process's peak resident memory (VmHWM).
//
//	go run ./cmd/peakmem -lib nlbus -routes 100000
//	go run ./cmd/peakmem -lib raw -netns nlbench-100k   # reuse a namespace
//
// Without -netns it builds a namespace of -routes routes (as root) and
// deletes it at exit; the routes are streamed to `ip -batch`, so building
// them costs this process no memory. peakmem.sh runs every library.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	mdnl "github.com/mdlayher/netlink"
	vnl "github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/bench/internal/dumps"
	"github.com/nlbus/netlink/bench/internal/testns"
)

func main() {
	lib := flag.String("lib", "nlbus", "library: "+strings.Join(dumps.Libs, ", "))
	routes := flag.Int("routes", 100_000, "routes to create (ignored with -netns, except for the check)")
	nsName := flag.String("netns", "", "reuse this existing namespace instead of building one")
	header := flag.Bool("header", false, "print the table header first")
	flag.Parse()
	if err := run(*lib, *routes, *nsName, *header); err != nil {
		fmt.Fprintln(os.Stderr, "peakmem:", err)
		os.Exit(1)
	}
}

func run(lib string, routes int, nsName string, header bool) error {
	if !testns.IsRoot() {
		return fmt.Errorf("needs root to use a network namespace")
	}
	var ns *testns.NS
	var err error
	if nsName != "" {
		ns, err = testns.Open(nsName)
	} else {
		ns, err = testns.Create(fmt.Sprintf("nlbench-peak-%d", os.Getpid()), routes)
	}
	if err != nil {
		return err
	}
	defer ns.Close()
	before, err := vmHWM()
	if err != nil {
		return err
	}

	dump, closeFn, err := open(lib, ns.Fd())
	if err != nil {
		return err
	}
	start := time.Now()
	n, err := dump()
	elapsed := time.Since(start)
	closeFn()
	if err != nil {
		return fmt.Errorf("%s: %w", lib, err)
	}
	if err := dumps.Check(lib, n, routes); err != nil {
		return err
	}
	peak, err := vmHWM()
	if err != nil {
		return err
	}
	if header {
		fmt.Printf("%-12s %9s %12s %10s %14s\n", "lib", "routes", "routes/s", "dump", "peak RSS")
	}
	fmt.Printf("%-12s %9d %12.0f %10s %10.1f MiB   (%.1f MiB before the dump)\n",
		lib, n, float64(n)/elapsed.Seconds(), elapsed.Round(time.Millisecond),
		float64(peak)/1024, float64(before)/1024)
	return nil
}

// open returns lib's dump on a socket in the namespace nsfd.
func open(lib string, nsfd int) (func() (int, error), func(), error) {
	switch lib {
	case "nlbus":
		c, err := netlink.Dial(netlink.Route, &netlink.Config{NetNS: nsfd})
		if err != nil {
			return nil, nil, err
		}
		ctx := context.Background()
		return func() (int, error) { return dumps.Nlbus(ctx, c) }, func() { c.Close() }, nil
	case "mdlayher":
		c, err := mdnl.Dial(unix.NETLINK_ROUTE, &mdnl.Config{NetNS: nsfd})
		if err != nil {
			return nil, nil, err
		}
		return func() (int, error) { return dumps.Mdlayher(c) }, func() { c.Close() }, nil
	case "vishvananda":
		h, err := vnl.NewHandleAt(netns.NsHandle(nsfd), unix.NETLINK_ROUTE)
		if err != nil {
			return nil, nil, err
		}
		return func() (int, error) { return dumps.Vishvananda(h) }, h.Close, nil
	case "raw":
		r, err := dumps.DialRaw(unix.NETLINK_ROUTE, nsfd)
		if err != nil {
			return nil, nil, err
		}
		return func() (int, error) { return dumps.RawDump(r) }, func() { r.Close() }, nil
	}
	return nil, nil, fmt.Errorf("unknown library %q (want one of %s)", lib, strings.Join(dumps.Libs, ", "))
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
