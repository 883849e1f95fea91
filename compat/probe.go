package compat

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
)

// Result is the outcome of probing one capability on the running kernel.
type Result struct {
	// Capability is what was probed.
	Capability Capability
	// Err is nil when the kernel accepted the operation. When the kernel
	// reported the feature as missing (EAFNOSUPPORT, EPROTONOSUPPORT,
	// ENOPROTOOPT, EOPNOTSUPP) or the OS has no netlink, Err wraps
	// ErrNotSupported and the system-call error. Other failures (for
	// example EMFILE or a sandbox's EPERM) wrap only the system-call error.
	Err error
}

// Supported reports whether the probe succeeded.
func (r Result) Supported() bool { return r.Err == nil }

// Report is the outcome of Probe. It is a snapshot; nothing in it refers to
// live sockets.
type Report struct {
	// OS is the dialect that was probed (Current()).
	OS OS
	// GOOS and GOARCH are runtime.GOOS and runtime.GOARCH.
	GOOS, GOARCH string
	// Protocols holds one Result per probed protocol: NETLINK_ROUTE,
	// NETLINK_GENERIC and NETLINK_USERSOCK, in that order.
	Protocols []Result
	// Options holds one Result per boolean socket option probed on a
	// NETLINK_ROUTE socket: NETLINK_EXT_ACK, NETLINK_CAP_ACK,
	// NETLINK_GET_STRICT_CHK, NETLINK_NO_ENOBUFS and
	// NETLINK_BROADCAST_ERROR, in that order.
	Options []Result
}

// Lookup returns the result for c, and false if c was not probed.
func (r Report) Lookup(c Capability) (Result, bool) {
	for _, rs := range [][]Result{r.Protocols, r.Options} {
		for _, res := range rs {
			if res.Capability == c {
				return res, true
			}
		}
	}
	return Result{}, false
}

// String renders the report, one capability per line.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "netlink probe %s/%s (%s):\n", r.GOOS, r.GOARCH, r.OS)
	for _, rs := range [][]Result{r.Protocols, r.Options} {
		for _, res := range rs {
			switch {
			case res.Err == nil:
				fmt.Fprintf(&b, "  %s: supported\n", res.Capability)
			case errors.Is(res.Err, ErrNotSupported):
				fmt.Fprintf(&b, "  %s: not supported (%v)\n", res.Capability, res.Err)
			default:
				fmt.Fprintf(&b, "  %s: error (%v)\n", res.Capability, res.Err)
			}
		}
	}
	return b.String()
}

// Probe checks, on the running kernel, which netlink protocols and boolean
// socket options are available. It only opens sockets, sets options on them
// and closes them again, so it changes nothing on the host and needs no
// privileges. Each call opens fresh sockets; it is safe for concurrent use.
// On OSes without netlink every Result wraps ErrNotSupported.
func Probe() Report {
	return probe()
}

// probeOps is the system-call seam of runProbe; each OS file provides one.
type probeOps interface {
	// open creates a netlink socket of protocol proto.
	open(proto int) (fd int, err error)
	// setBool sets option opt at level SolNetlink to 1.
	setBool(fd, opt int) error
	// close closes fd.
	close(fd int) error
	// unsupported reports whether err means "the kernel lacks this".
	unsupported(err error) bool
}

// probedProtocols and probedOptions are the probe order.
func probedProtocols() []int {
	return []int{NetlinkRoute, NetlinkGeneric, NetlinkUsersock}
}

func probedOptions() []int {
	return []int{NetlinkExtAck, NetlinkCapAck, NetlinkGetStrictChk, NetlinkNoENOBUFS, NetlinkBroadcastError}
}

func runProbe(o OS, goos, goarch string, ops probeOps) Report {
	r := Report{OS: o, GOOS: goos, GOARCH: goarch}
	wrap := func(c Capability, err error) error {
		if err == nil {
			return nil
		}
		if errors.Is(err, ErrNotSupported) {
			return fmt.Errorf("netlink: probe %s on %s/%s: %w", c, goos, goarch, err)
		}
		if ops.unsupported(err) {
			return fmt.Errorf("netlink: probe %s on %s/%s: %w: %w", c, goos, goarch, ErrNotSupported, err)
		}
		return fmt.Errorf("netlink: probe %s on %s/%s: %w", c, goos, goarch, err)
	}

	for _, p := range probedProtocols() {
		c := Protocol(p)
		fd, err := ops.open(p)
		r.Protocols = append(r.Protocols, Result{Capability: c, Err: wrap(c, err)})
		if err != nil {
			if p == NetlinkRoute {
				for _, opt := range probedOptions() {
					oc := SockOpt(opt)
					r.Options = append(r.Options, Result{Capability: oc,
						Err: wrap(oc, fmt.Errorf("no %s socket: %w", c, err))})
				}
			}
			continue
		}
		if p == NetlinkRoute {
			for _, opt := range probedOptions() {
				oc := SockOpt(opt)
				r.Options = append(r.Options, Result{Capability: oc, Err: wrap(oc, ops.setBool(fd, opt))})
			}
		}
		_ = ops.close(fd) // a fresh socket; nothing to report on failure
	}
	return r
}

// hostProbe runs runProbe for the host with ops.
func hostProbe(ops probeOps) Report {
	return runProbe(Current(), runtime.GOOS, runtime.GOARCH, ops)
}
