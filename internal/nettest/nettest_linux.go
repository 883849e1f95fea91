//go:build linux

package nettest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// NamePrefix starts the name of every namespace NewNS creates, so that
// leftovers of a killed test run are easy to find (ip netns list).
const NamePrefix = "nlt-"

// netnsDir is where ip(8) keeps the bind mounts of named namespaces.
const netnsDir = "/run/netns"

// RequireRoot skips t, with the reason, unless the test runs as root (uid 0),
// which creating namespaces and interfaces needs. It skips for no other
// reason: as root, a missing tool or kernel feature fails the test.
func RequireRoot(t testing.TB) {
	t.Helper()
	requireRoot(t, os.Geteuid())
}

func requireRoot(t testing.TB, euid int) {
	t.Helper()
	if euid != 0 {
		t.Skipf("nettest: skipping: the test needs root to create network namespaces (running as euid %d)", euid)
		return
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatalf("nettest: running as root but iproute2's ip(8) is missing: %v", err)
	}
}

// NS is a network namespace created for one test. Its methods fail the test
// they are given on any error; they are safe for use from one goroutine at a
// time (tests call them from the test goroutine).
type NS struct {
	// Name is the namespace's name, as ip netns list shows it.
	Name string

	fd        int
	dummyKind string // link kind AddDummy uses, once known
}

// NewNS creates a network namespace named NamePrefix plus a random suffix,
// brings its loopback interface up and opens it. A t.Cleanup closes the file
// descriptor and deletes the namespace. NewNS calls RequireRoot first.
func NewNS(t testing.TB) *NS {
	t.Helper()
	RequireRoot(t)
	var rnd [4]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		t.Fatalf("nettest: random namespace name: %v", err)
	}
	ns := &NS{Name: NamePrefix + hex.EncodeToString(rnd[:]), fd: -1}
	run(t, nil, "ip", "netns", "add", ns.Name)
	t.Cleanup(func() { ns.remove(t) })

	fd, err := unix.Open(filepath.Join(netnsDir, ns.Name), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("nettest: open namespace %s: %v", ns.Name, os.NewSyscallError("open", err))
	}
	ns.fd = fd
	ns.Run(t, "link", "set", "lo", "up")
	return ns
}

func (ns *NS) remove(t testing.TB) {
	t.Helper()
	if ns.fd >= 0 {
		if err := unix.Close(ns.fd); err != nil {
			t.Errorf("nettest: close namespace %s: %v", ns.Name, err)
		}
		ns.fd = -1
	}
	if out, err := exec.Command("ip", "netns", "del", ns.Name).CombinedOutput(); err != nil {
		t.Errorf("nettest: ip netns del %s: %v: %s", ns.Name, err, bytes.TrimSpace(out))
	}
}

// FD returns an open file descriptor of the namespace (for
// netlink.Config.NetNS or setns(2)). It stays valid until the test ends.
func (ns *NS) FD() int { return ns.fd }

// Path returns the namespace's bind mount, /run/netns/NAME.
func (ns *NS) Path() string { return filepath.Join(netnsDir, ns.Name) }

// Run runs ip -n NAME args... and fails t if it fails.
func (ns *NS) Run(t testing.TB, args ...string) {
	t.Helper()
	run(t, nil, "ip", ns.ipArgs(args)...)
}

// Output runs ip -n NAME args... and returns its standard output; it fails t
// if the command fails.
func (ns *NS) Output(t testing.TB, args ...string) []byte {
	t.Helper()
	return run(t, nil, "ip", ns.ipArgs(args)...)
}

// JSON runs ip -j -n NAME args... and decodes its output into v.
func (ns *NS) JSON(t testing.TB, v any, args ...string) {
	t.Helper()
	out := run(t, nil, "ip", append([]string{"-j"}, ns.ipArgs(args)...)...)
	if len(bytes.TrimSpace(out)) == 0 {
		out = []byte("[]") // some ip versions print nothing for an empty list
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("nettest: decode output of ip -j %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// Exec runs the command name args... inside the namespace (ip netns exec)
// and returns its standard output; it fails t if the command fails.
func (ns *NS) Exec(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	return run(t, nil, "ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
}

// Batch feeds lines, one ip command each without the leading "ip" (for
// example "route add 10.1.2.0/24 dev d0"), to ip -n NAME -batch -. It stops
// at the first failing line and fails t.
func (ns *NS) Batch(t testing.TB, lines []string) {
	t.Helper()
	var in bytes.Buffer
	for _, l := range lines {
		in.WriteString(l)
		in.WriteByte('\n')
	}
	run(t, &in, "ip", "-n", ns.Name, "-batch", "-")
}

// AddDummy creates a link named name that goes nowhere: of kind dummy, or ifb
// when the kernel has no dummy driver (CONFIG_DUMMY is often left out of
// small VM kernels; ifb behaves the same for tests: an Ethernet-like link
// with no peer that can be brought up and carry addresses and routes). It
// returns the kind it used. The link is down, as created.
//
// Creating a link loads its driver's module when it is not loaded, so
// AddDummy only uses a kind that is loaded or built in, unless the machine is
// a throwaway one (see ThrowawayEnv); when neither kind can be used it skips
// t and says why.
func (ns *NS) AddDummy(t testing.TB, name string) string {
	t.Helper()
	if ns.dummyKind != "" {
		ns.Run(t, "link", "add", name, "type", ns.dummyKind)
		return ns.dummyKind
	}
	kinds, err := dummyKinds(realSysfs(), Throwaway())
	if err != nil {
		t.Skipf("nettest: skipping: %v", err)
		return ""
	}
	var errs []error
	for _, kind := range kinds {
		_, err := output(nil, "ip", ns.ipArgs([]string{"link", "add", name, "type", kind})...)
		if err == nil {
			ns.dummyKind = kind
			return kind
		}
		errs = append(errs, err)
		if !strings.Contains(err.Error(), "Unknown device type") {
			break
		}
	}
	t.Fatalf("nettest: cannot create a dummy link (kernel needs CONFIG_DUMMY or CONFIG_IFB): %v", errors.Join(errs...))
	return ""
}

// Link is an interface as ip -j link show reports it.
type Link struct {
	Index int      `json:"ifindex"`
	Name  string   `json:"ifname"`
	MTU   int      `json:"mtu"`
	Flags []string `json:"flags"`
}

// Links returns the namespace's interfaces (ip -j link show).
func (ns *NS) Links(t testing.TB) []Link {
	t.Helper()
	var links []Link
	ns.JSON(t, &links, "link", "show")
	return links
}

func (ns *NS) ipArgs(args []string) []string {
	return append([]string{"-n", ns.Name}, args...)
}

// run runs a command and returns its standard output, failing t with the
// command line and its standard error when it fails.
func run(t testing.TB, stdin *bytes.Buffer, name string, args ...string) []byte {
	t.Helper()
	out, err := output(stdin, name, args...)
	if err != nil {
		t.Fatalf("nettest: %v", err)
	}
	return out
}

func output(stdin *bytes.Buffer, name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	if stdin != nil {
		cmd.Stdin = stdin
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), &cmdError{cmd: name + " " + strings.Join(args, " "), err: err, stderr: strings.TrimSpace(stderr.String())}
	}
	return stdout.Bytes(), nil
}

type cmdError struct {
	cmd    string
	err    error
	stderr string
}

func (e *cmdError) Error() string {
	s := e.cmd + ": " + e.err.Error()
	if e.stderr != "" {
		s += ": " + e.stderr
	}
	return s
}

func (e *cmdError) Unwrap() error { return e.err }
