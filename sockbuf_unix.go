//go:build linux || freebsd

package netlink

import (
	"errors"
	"fmt"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// What FreeBSD's socket buffers need from the library. The logic is
// portable so that it is tested on Linux; only the FreeBSD transport uses it.

// sendLimit is the size of the largest single write a FreeBSD netlink socket
// takes: its SO_SNDBUF, read at dial time and after every SetWriteBuffer.
// Some FreeBSD revisions answer a larger write with EMSGSIZE, but the nl_buf
// nl_sosend (sys/netlink/netlink_domain.c, read at freebsd-src 0295edec)
// queues a write only when sb_hiwat - sb_ccc covers it and otherwise returns
// EWOULDBLOCK to a non-blocking socket: for ever, for a write larger than
// sb_hiwat. So the library compares first.
type sendLimit struct{ n atomic.Int64 }

// set records the socket's SO_SNDBUF; n <= 0 means unknown (no check).
func (l *sendLimit) set(n int) { l.n.Store(int64(n)) }

// check returns an error wrapping EMSGSIZE when a write of size bytes cannot
// fit in the send buffer.
func (l *sendLimit) check(size int) error {
	limit := l.n.Load()
	if limit <= 0 || int64(size) <= limit {
		return nil
	}
	return fmt.Errorf("request of %d bytes exceeds the socket's send buffer of %d bytes (SO_SNDBUF), "+
		"which a FreeBSD netlink write must fit in; raise Config.SocketSendBuffer "+
		"(at most sysctl kern.ipc.maxsockbuf) or send less at a time: %w", size, limit, unix.EMSGSIZE)
}

// bufferSizeError explains why FreeBSD refused a socket buffer size of n
// bytes (rcv: SO_RCVBUF, else SO_SNDBUF). Linux caps sizes above
// net.core.rmem_max/wmem_max silently; FreeBSD fails instead
// (sys/netlink/netlink_domain.c nl_setsbopt, sys/kern/uipc_sockbuf.c
// sbsetopt): SO_RCVBUF above kern.ipc.maxsockbuf (less mbuf overhead)
// gives EPERM unless the process has PRIV_NET_ROUTE (root), which may go up
// to net.netlink.nl_maxsockbuf and gets ENOBUFS above it; SO_SNDBUF above
// kern.ipc.maxsockbuf gives ENOBUFS even for root. The result wraps err, so
// errors.Is(err, unix.EPERM) still holds; other errors are returned as they
// are.
func bufferSizeError(rcv bool, n int, err error) error {
	opt, field := "SO_SNDBUF", "SocketSendBuffer"
	if rcv {
		opt, field = "SO_RCVBUF", "SocketReceiveBuffer"
	}
	switch {
	case rcv && errors.Is(err, unix.EPERM):
		return fmt.Errorf("%s of %d bytes is above sysctl kern.ipc.maxsockbuf, which only root "+
			"(PRIV_NET_ROUTE) may exceed on FreeBSD (up to sysctl net.netlink.nl_maxsockbuf); "+
			"raise kern.ipc.maxsockbuf or lower Config.%s: %w", opt, n, field, err)
	case rcv && errors.Is(err, unix.ENOBUFS):
		return fmt.Errorf("%s of %d bytes is above sysctl net.netlink.nl_maxsockbuf (for root) or "+
			"kern.ipc.maxsockbuf, or the process's sbsize limit; FreeBSD refuses what Linux "+
			"would cap: lower Config.%s or raise the sysctl: %w", opt, n, field, err)
	case errors.Is(err, unix.ENOBUFS):
		return fmt.Errorf("%s of %d bytes is above sysctl kern.ipc.maxsockbuf (less mbuf overhead) "+
			"or the process's sbsize limit; FreeBSD refuses what Linux would cap, even for root: "+
			"lower Config.%s or raise kern.ipc.maxsockbuf: %w", opt, n, field, err)
	}
	return err
}
