//go:build linux

// Package testns builds the network namespaces the benchmarks run in: one
// link (dummy, or a veth pair where the kernel has no dummy driver) and a
// number of /32 routes through it, added with `ip -batch` fed as a stream
// so that building 100,000 routes costs the calling process no memory.
package testns

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// LinkName is the interface the routes go through.
const LinkName = "nlb0"

// NS is a named network namespace held open by a file descriptor.
type NS struct {
	Name    string
	File    *os.File
	Routes  int
	created bool
}

// Fd returns the namespace's descriptor (for Config.NetNS, setns and
// netns.NsHandle).
func (ns *NS) Fd() int { return int(ns.File.Fd()) }

// IsRoot reports whether the process can create namespaces.
func IsRoot() bool { return os.Geteuid() == 0 }

// Create makes the namespace name with routes /32 routes in 10.0.0.0/8 via
// LinkName. A namespace of that name left by an earlier run is replaced.
func Create(name string, routes int) (*NS, error) {
	if routes < 0 || routes > 1<<24 {
		return nil, fmt.Errorf("testns: %d routes out of range", routes)
	}
	_ = exec.Command("ip", "netns", "del", name).Run()
	if err := ip("netns", "add", name); err != nil {
		return nil, err
	}
	ns := &NS{Name: name, Routes: routes, created: true}
	if err := ns.build(); err != nil {
		ns.Close()
		return nil, err
	}
	return ns, nil
}

// Open opens an existing namespace; Close leaves it in place.
func Open(name string) (*NS, error) {
	f, err := os.Open("/run/netns/" + name)
	if err != nil {
		return nil, err
	}
	return &NS{Name: name, File: f, Routes: -1}, nil
}

func (ns *NS) build() error {
	n := ns.Name
	if err := ip("-n", n, "link", "set", "lo", "up"); err != nil {
		return err
	}
	if err := ip("-n", n, "link", "add", LinkName, "type", "dummy"); err != nil {
		// Some kernels are built without the dummy driver: a veth pair
		// gives the routes an interface just as well.
		if err2 := ip("-n", n, "link", "add", LinkName, "type", "veth", "peer", "name", LinkName+"p"); err2 != nil {
			return errors.Join(err, err2)
		}
		if err := ip("-n", n, "link", "set", LinkName+"p", "up"); err != nil {
			return err
		}
	}
	if err := ip("-n", n, "link", "set", LinkName, "up"); err != nil {
		return err
	}
	if err := ns.addRoutes(); err != nil {
		return err
	}
	f, err := os.Open("/run/netns/" + n)
	if err != nil {
		return err
	}
	ns.File = f
	return nil
}

func (ns *NS) addRoutes() error {
	if ns.Routes == 0 {
		return nil
	}
	cmd := exec.Command("ip", "-n", ns.Name, "-batch", "-")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	w := bufio.NewWriterSize(in, 16<<10)
	for i := 0; i < ns.Routes; i++ {
		a := 10<<24 | uint32(i)
		fmt.Fprintf(w, "route add %d.%d.%d.%d/32 dev %s\n", a>>24, a>>16&255, a>>8&255, a&255, LinkName)
	}
	werr := w.Flush()
	in.Close()
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("ip -batch: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return werr
}

// Close closes the descriptor and, if Create made the namespace, deletes it.
func (ns *NS) Close() error {
	var err error
	if ns.File != nil {
		err = ns.File.Close()
	}
	if ns.created {
		err = errors.Join(err, ip("netns", "del", ns.Name))
	}
	return err
}

// In runs fn on an OS thread switched into the namespace nsfd, then switches
// the thread back. Sockets created by fn stay in nsfd.
func In(nsfd int, fn func() error) error {
	runtime.LockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer orig.Close()
	if err := unix.Setns(nsfd, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("setns: %w", err)
	}
	ferr := fn()
	if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
		// Leave the thread locked: the runtime discards it with the goroutine.
		return errors.Join(ferr, fmt.Errorf("setns back: %w", err))
	}
	runtime.UnlockOSThread()
	return ferr
}

func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
