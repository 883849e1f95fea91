// Package compat is the one place that owns operating-system facts about
// netlink: constants that golang.org/x/sys/unix lacks or that differ between
// Linux and FreeBSD, the sockaddr_nl wire layouts, per-OS capability tables
// and a runtime probe. Every constant cites the header it comes from (Linux
// include/uapi/linux/*.h, FreeBSD sys/netlink/*.h).
//
// Higher layers never hard-code a value that differs between the OSes.
// They ask Facts instead, and gate optional features with Check so that a
// missing feature becomes an error wrapping ErrNotSupported that names the
// feature and GOOS/GOARCH:
//
//	f := compat.Host()
//	fd, err := unix.Socket(f.AFNetlink, unix.SOCK_RAW|unix.SOCK_CLOEXEC, compat.NetlinkRoute)
//	...
//	if err := compat.Check(compat.Current(), compat.SockOpt(compat.NetlinkNoENOBUFS)); err != nil {
//		return err // e.g. "netlink: socket option NETLINK_NO_ENOBUFS on freebsd/amd64: not supported"
//	}
//	if f.LinkTypeOf(ifi.Type) == compat.LinkLoopback { ... }
//
// The static tables (Supports, Check, LimitsFor) describe what each OS
// implements. Probe asks the running kernel, which may lack a module, and
// only opens and closes sockets.
//
// All functions are pure or open only their own sockets; the package has no
// mutable state and is safe for concurrent use. NLMSG_* types and NLM_F_*
// flags live in the root package, not here.
package compat
