//go:build linux

package nettest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// ThrowawayEnv names the environment variable that marks a throwaway machine
// (a CI runner, a VM made for the run): with NLBUS_THROWAWAY_MACHINE=1 the
// tests may load kernel modules, which creating a link of a kind whose driver
// is not loaded does by itself. Without it they never do: a test that would
// load a module skips and says which one.
const ThrowawayEnv = "NLBUS_THROWAWAY_MACHINE"

// Throwaway reports whether ThrowawayEnv is set to 1.
func Throwaway() bool { return os.Getenv(ThrowawayEnv) == "1" }

// RequireThrowaway skips t, saying what it would do, unless the machine is a
// throwaway one (see ThrowawayEnv).
func RequireThrowaway(t testing.TB, what string) {
	t.Helper()
	if !Throwaway() {
		t.Skipf("nettest: skipping: the test would %s, which only a throwaway machine allows (set %s=1)", what, ThrowawayEnv)
	}
}

// KernelVersion returns the running kernel's major and minor version, read
// from uname(2)'s release (6.14.0-foo gives 6, 14).
func KernelVersion() (major, minor int, err error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return 0, 0, os.NewSyscallError("uname", err)
	}
	return parseRelease(unix.ByteSliceToString(u.Release[:]))
}

func parseRelease(rel string) (major, minor int, err error) {
	// The release starts with MAJOR.MINOR; anything after them varies.
	fields := strings.SplitN(rel, ".", 3)
	if len(fields) < 2 {
		return 0, 0, fmt.Errorf("nettest: kernel release %q does not start with MAJOR.MINOR", rel)
	}
	major, err = strconv.Atoi(fields[0])
	if err != nil {
		return 0, 0, fmt.Errorf("nettest: kernel release %q: %w", rel, err)
	}
	digits := strings.IndexFunc(fields[1], func(r rune) bool { return r < '0' || r > '9' })
	if digits < 0 {
		digits = len(fields[1])
	}
	minor, err = strconv.Atoi(fields[1][:digits])
	if err != nil {
		return 0, 0, fmt.Errorf("nettest: kernel release %q: %w", rel, err)
	}
	return major, minor, nil
}

// RequireKernel skips t, naming the feature, when the running kernel is
// older than major.minor, the first release that has it. On that release or
// a later one the test goes on and must find the feature: its absence is then
// a failure, never a skip. Gate on the version instead of skipping on the
// error a missing feature would return, since the same error can come from a
// bug in the request.
func RequireKernel(t testing.TB, major, minor int, feature string) {
	t.Helper()
	kmaj, kmin, err := KernelVersion()
	if err != nil {
		t.Fatalf("%v", err)
		return
	}
	if !versionAtLeast(kmaj, kmin, major, minor) {
		t.Skipf("nettest: skipping: %s needs Linux %d.%d or later (running %d.%d)", feature, major, minor, kmaj, kmin)
	}
}

func versionAtLeast(kmaj, kmin, major, minor int) bool {
	return kmaj > major || kmaj == major && kmin >= minor
}

// moduleState is what the running kernel says about a driver.
type moduleState int

const (
	// stateUnknown: nothing tells; modules can be loaded.
	stateUnknown moduleState = iota
	// stateLoaded: the module is loaded (/sys/module/NAME).
	stateLoaded
	// stateBuiltin: compiled into the kernel.
	stateBuiltin
	// stateLoadable: a module that is not loaded; using the feature loads it.
	stateLoadable
	// stateAbsent: this kernel was built without it.
	stateAbsent
	// stateNoModules: the kernel cannot load modules at all, so using the
	// feature loads nothing; whether it is built in is not known.
	stateNoModules
)

// sysfs holds where the kernel's facts are read from; tests point it at a
// fake tree.
type sysfs struct {
	root    string // prefix of every path: "" for the real machine
	release string // uname -r
}

func (s sysfs) path(p string) string { return filepath.Join(s.root, p) }

func (s sysfs) exists(p string) bool {
	_, err := os.Stat(s.path(p))
	return err == nil
}

// config returns the value of symbol (CONFIG_FOO) in the kernel's
// configuration, "" when it is not set, and ok false when the configuration
// cannot be read (/proc/config.gz or /boot/config-RELEASE).
func (s sysfs) config(symbol string) (value string, ok bool) {
	var r io.Reader
	if f, err := os.Open(s.path("/proc/config.gz")); err == nil {
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			return "", false
		}
		r = zr
	} else if b, err := os.ReadFile(s.path("/boot/config-" + s.release)); err == nil {
		r = bytes.NewReader(b)
	} else {
		return "", false
	}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if v, found := strings.CutPrefix(sc.Text(), symbol+"="); found {
			return v, true
		}
	}
	if sc.Err() != nil {
		return "", false
	}
	return "", true
}

// listed reports whether file (modules.builtin or modules.dep under
// /lib/modules/RELEASE) names module, and whether the file could be read.
func (s sysfs) listed(file, module string) (found, ok bool) {
	b, err := os.ReadFile(s.path(filepath.Join("/lib/modules", s.release, file)))
	if err != nil {
		return false, false
	}
	// Lines are paths such as kernel/drivers/net/veth.ko(.xz): modules.dep
	// adds ": deps". Module file names use - and _ interchangeably.
	want := strings.ReplaceAll(module, "-", "_") + ".ko"
	for line := range strings.Lines(string(b)) {
		p, _, _ := strings.Cut(strings.TrimSpace(line), ":")
		base := strings.ReplaceAll(filepath.Base(p), "-", "_")
		if base == want || strings.HasPrefix(base, want+".") {
			return true, true
		}
	}
	return false, true
}

// state works out, without loading anything, whether module (whose Kconfig
// symbol is symbol) is loaded, built in, loadable or absent.
func (s sysfs) state(module, symbol string) moduleState {
	if s.exists("/sys/module/" + strings.ReplaceAll(module, "-", "_")) {
		return stateLoaded
	}
	if v, ok := s.config(symbol); ok {
		switch v {
		case "y":
			return stateBuiltin
		case "m":
			return stateLoadable
		default:
			return stateAbsent
		}
	}
	if found, ok := s.listed("modules.builtin", module); ok && found {
		return stateBuiltin
	}
	if found, ok := s.listed("modules.dep", module); ok && found {
		return stateLoadable
	}
	if !s.exists("/proc/modules") {
		return stateNoModules
	}
	return stateUnknown
}

// usable says whether a test may use the feature of a module in state st and,
// when it may not, why.
func usable(st moduleState, module, symbol string, throwaway bool) (ok bool, why string) {
	switch st {
	case stateLoaded, stateBuiltin, stateNoModules:
		return true, ""
	case stateAbsent:
		return false, fmt.Sprintf("this kernel is built without %s (module %s)", symbol, module)
	case stateLoadable:
		if throwaway {
			return true, ""
		}
		return false, fmt.Sprintf("module %s is not loaded and tests load no modules unless %s=1", module, ThrowawayEnv)
	default:
		if throwaway {
			return true, ""
		}
		return false, fmt.Sprintf("cannot tell whether module %s is loaded or built in (no /sys/module/%s, no kernel config, no modules.builtin), and tests load no modules unless %s=1",
			module, module, ThrowawayEnv)
	}
}

func realSysfs() sysfs {
	var u unix.Utsname
	_ = unix.Uname(&u)
	return sysfs{release: unix.ByteSliceToString(u.Release[:])}
}

// RequireModule skips t, and says why, unless the feature of the kernel
// module named module (Kconfig symbol symbol, such as CONFIG_NF_TABLES) can be
// used without loading a module: it is loaded, built in, or the kernel cannot
// load modules at all. On a throwaway machine (see ThrowawayEnv) a module
// that is not loaded is allowed too: using its feature loads it. A kernel
// built without the module skips everywhere. Nothing is loaded to find out:
// the answer comes from /sys/module, the kernel's configuration and
// /lib/modules, never from the answer to the request under test.
func RequireModule(t testing.TB, module, symbol string) {
	t.Helper()
	if ok, why := usable(realSysfs().state(module, symbol), module, symbol, Throwaway()); !ok {
		t.Skipf("nettest: skipping: %s", why)
	}
}

// linkKindModule returns the module and Kconfig symbol of the driver of
// links of kind: by rule the kind and CONFIG_KIND, with the exceptions named.
func linkKindModule(kind string) (module, symbol string) {
	switch kind {
	case "bond":
		return "bonding", "CONFIG_BONDING"
	case "vrf":
		return "vrf", "CONFIG_NET_VRF"
	case "team":
		return "team", "CONFIG_NET_TEAM"
	case "vxcan":
		return "vxcan", "CONFIG_CAN_VXCAN"
	}
	return kind, "CONFIG_" + strings.ToUpper(strings.ReplaceAll(kind, "-", "_"))
}

// RequireLinkKind is RequireModule for the driver of links of kind (veth,
// dummy, ifb, ...): creating such a link autoloads its module.
func RequireLinkKind(t testing.TB, kind string) {
	t.Helper()
	module, symbol := linkKindModule(kind)
	RequireModule(t, module, symbol)
}

// errNoKind is the failure of pickDummyKind when no kind can be used.
var errNoKind = errors.New("no dummy link kind can be used")

// dummyKinds returns, in order of preference, the link kinds AddDummy may
// try, or an error saying why each kind is refused.
func dummyKinds(s sysfs, throwaway bool) ([]string, error) {
	var kinds []string
	var whys []string
	for _, kind := range [...]string{"dummy", "ifb"} {
		module, symbol := linkKindModule(kind)
		ok, why := usable(s.state(module, symbol), module, symbol, throwaway)
		if ok {
			kinds = append(kinds, kind)
			continue
		}
		whys = append(whys, why)
	}
	if len(kinds) == 0 {
		return nil, fmt.Errorf("%w: %s", errNoKind, strings.Join(whys, "; "))
	}
	return kinds, nil
}
