package compat

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"syscall"
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
	// NETLINK_GET_STRICT_CHK, NETLINK_NO_ENOBUFS, NETLINK_BROADCAST_ERROR
	// and NETLINK_MSG_INFO (FreeBSD only, and not in every release), in
	// that order.
	Options []Result
	// Ctrl holds one Result per nlctrl command probed with a request on a
	// NETLINK_GENERIC socket: CTRL_CMD_GETPOLICY, which FreeBSD's nlctrl
	// lacks even though it flags GETFAMILY as having a policy
	// (GENL_CMD_CAP_HASPOL). Linux has had it since 5.10.
	Ctrl []Result
}

// Lookup returns the result for c, and false if c was not probed.
func (r Report) Lookup(c Capability) (Result, bool) {
	for _, rs := range [][]Result{r.Protocols, r.Options, r.Ctrl} {
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
	for _, rs := range [][]Result{r.Protocols, r.Options, r.Ctrl} {
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

// Probe checks, on the running kernel, which netlink protocols, boolean
// socket options and nlctrl commands are available. It only opens sockets,
// sets options on them, asks nlctrl for its own policy and closes them
// again, so it changes nothing on the host and needs no privileges. Where
// the static tables (Supports) cannot know the answer because it changes
// between releases (NETLINK_MSG_INFO, CTRL_CMD_GETPOLICY on FreeBSD), the
// probe is the authority. Each call opens fresh sockets; it is safe for concurrent use.
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
	// request writes req to fd and returns the first datagram read back,
	// waiting a bounded time for it.
	request(fd int, req []byte) ([]byte, error)
}

// probedProtocols and probedOptions are the probe order.
func probedProtocols() []int {
	return []int{NetlinkRoute, NetlinkGeneric, NetlinkUsersock}
}

func probedOptions() []int {
	return []int{NetlinkExtAck, NetlinkCapAck, NetlinkGetStrictChk, NetlinkNoENOBUFS, NetlinkBroadcastError, NetlinkMsgInfo}
}

// ctrlGetPolicy is CTRL_CMD_GETPOLICY (Linux include/uapi/linux/genetlink.h;
// FreeBSD sys/netlink/netlink_generic.h defines it without handling it).
const ctrlGetPolicy = 10

// releaseDependent reports the capabilities whose presence on o changes
// between releases, so that the static table gives the newest release's
// answer and only Probe knows the running kernel's: NETLINK_MSG_INFO came
// to FreeBSD after 13.2 (src: sys/netlink/netlink.h "newer revision"), and
// a later FreeBSD may implement CTRL_CMD_GETPOLICY.
func releaseDependent(o OS, c Capability) bool {
	return o == FreeBSD && (c == SockOpt(NetlinkMsgInfo) || c == CtrlCmd(ctrlGetPolicy))
}

// getPolicyRequest is a CTRL_CMD_GETPOLICY dump request for nlctrl's own
// policy: nlmsghdr, genlmsghdr, CTRL_ATTR_FAMILY_NAME "nlctrl".
func getPolicyRequest() []byte {
	const (
		genlIDCtrl     = 16 // GENL_ID_CTRL
		nlmFRequest    = 0x1
		nlmFDump       = 0x300 // NLM_F_ROOT|NLM_F_MATCH
		ctrlAttrFamily = 2     // CTRL_ATTR_FAMILY_NAME
	)
	b := make([]byte, 32)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], uint32(len(b)))
	ne.PutUint16(b[4:], genlIDCtrl)
	ne.PutUint16(b[6:], nlmFRequest|nlmFDump)
	ne.PutUint32(b[8:], 1) // sequence
	b[16], b[17] = ctrlGetPolicy, 1
	ne.PutUint16(b[20:], uint16(4+len("nlctrl")+1))
	ne.PutUint16(b[22:], ctrlAttrFamily)
	copy(b[24:], "nlctrl")
	return b
}

// errShortReply reports a probe reply too short to be a netlink message.
var errShortReply = errors.New("reply shorter than a netlink message")

// replyErrno reads the first message of a reply: nil for a data message (a
// policy) or a success code, else the errno of an NLMSG_ERROR or NLMSG_DONE,
// whatever its sign (Linux sends it negative, FreeBSD positive).
func replyErrno(b []byte) error {
	const (
		nlmsgError = 2
		nlmsgDone  = 3
	)
	ne := binary.NativeEndian
	if len(b) < 16 {
		return errShortReply
	}
	l := ne.Uint32(b)
	if l < 16 || int(l) > len(b) {
		return errShortReply
	}
	switch ne.Uint16(b[4:]) {
	case nlmsgError, nlmsgDone:
		if l < 20 {
			return nil // a bare DONE: an empty, successful dump
		}
		code := int32(ne.Uint32(b[16:]))
		if code < 0 {
			code = -code
		}
		if code != 0 {
			return syscall.Errno(code)
		}
	}
	return nil
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
			if p == NetlinkGeneric {
				cc := CtrlCmd(ctrlGetPolicy)
				r.Ctrl = append(r.Ctrl, Result{Capability: cc,
					Err: wrap(cc, fmt.Errorf("no %s socket: %w", c, err))})
			}
			continue
		}
		if p == NetlinkRoute {
			for _, opt := range probedOptions() {
				oc := SockOpt(opt)
				r.Options = append(r.Options, Result{Capability: oc, Err: wrap(oc, ops.setBool(fd, opt))})
			}
		}
		if p == NetlinkGeneric {
			cc := CtrlCmd(ctrlGetPolicy)
			reply, err := ops.request(fd, getPolicyRequest())
			if err == nil {
				err = replyErrno(reply)
			}
			r.Ctrl = append(r.Ctrl, Result{Capability: cc, Err: wrap(cc, err)})
		}
		_ = ops.close(fd) // a fresh socket; nothing to report on failure
	}
	return r
}

// hostProbe runs runProbe for the host with ops.
func hostProbe(ops probeOps) Report {
	return runProbe(Current(), runtime.GOOS, runtime.GOARCH, ops)
}
