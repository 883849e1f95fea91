//go:build linux || freebsd

package netlink

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nlbus/netlink/compat"
	"github.com/nlbus/netlink/transport"
)

// socket is what the Linux and FreeBSD kernel transports share: the
// descriptor in the runtime poller, the port, and the socket options, whose
// numbers are the same on both systems (compat). The per-OS files add only
// the system calls that differ (bind, recvmsg, sendto) and override what
// one OS does differently.
type socket struct {
	fd   *transport.FD
	port uint32
}

// setInt sets an int socket option. Options the kernel does not have
// (ENOPROTOOPT, EOPNOTSUPP) give an error wrapping ErrNotSupported.
func (s *socket) setInt(level, opt, v int, what string) error {
	var serr error
	err := s.fd.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), level, opt, v)
	})
	if err != nil {
		return err
	}
	if serr != nil {
		if errors.Is(serr, unix.ENOPROTOOPT) || errors.Is(serr, unix.EOPNOTSUPP) {
			return fmt.Errorf("%s: %w (%w)", what, notSupported(what), serr)
		}
		return os.NewSyscallError("setsockopt "+what, serr)
	}
	return nil
}

// PortID implements transport.Transport.
func (s *socket) PortID() uint32 { return s.port }

// JoinGroup implements transport.Transport. Groups are always joined with
// NETLINK_ADD_MEMBERSHIP, which reaches every group number; bind's 32-bit
// mask cannot reach generic-netlink groups (FreeBSD numbers them from 48).
func (s *socket) JoinGroup(g uint32) error {
	if g == 0 {
		return errors.New("netlink: group 0 is not a multicast group")
	}
	return s.setInt(compat.SolNetlink, compat.NetlinkAddMembership, int(g), "join group")
}

// LeaveGroup implements transport.Transport.
func (s *socket) LeaveGroup(g uint32) error {
	return s.setInt(compat.SolNetlink, compat.NetlinkDropMembership, int(g), "leave group")
}

var socketOptions = [...]int{
	transport.OptionExtendedAck:    compat.NetlinkExtAck,
	transport.OptionStrictCheck:    compat.NetlinkGetStrictChk,
	transport.OptionCapAck:         compat.NetlinkCapAck,
	transport.OptionNoENOBUFS:      compat.NetlinkNoENOBUFS,
	transport.OptionBroadcastError: compat.NetlinkBroadcastError,
	transport.OptionListenAllNSID:  compat.NetlinkListenAllNSID,
	transport.OptionPacketInfo:     compat.NetlinkPktInfo,
}

// SetOption implements transport.Transport. FreeBSD refuses NO_ENOBUFS,
// BROADCAST_ERROR, LISTEN_ALL_NSID and PKTINFO with ENOPROTOOPT, which
// becomes an error wrapping ErrNotSupported.
func (s *socket) SetOption(opt transport.Option, on bool) error {
	if opt <= 0 || int(opt) >= len(socketOptions) {
		return notSupported("option " + opt.String())
	}
	v := 0
	if on {
		v = 1
	}
	return s.setInt(compat.SolNetlink, socketOptions[opt], v, opt.String())
}

// SetReadBuffer implements transport.Transport.
func (s *socket) SetReadBuffer(n int) error {
	return s.setInt(unix.SOL_SOCKET, unix.SO_RCVBUF, n, "receive buffer")
}

// SetWriteBuffer implements transport.Transport.
func (s *socket) SetWriteBuffer(n int) error {
	return s.setInt(unix.SOL_SOCKET, unix.SO_SNDBUF, n, "send buffer")
}

// SetReadDeadline implements transport.Transport.
func (s *socket) SetReadDeadline(t time.Time) error { return s.fd.SetReadDeadline(t) }

// SetWriteDeadline implements transport.Transport.
func (s *socket) SetWriteDeadline(t time.Time) error { return s.fd.SetWriteDeadline(t) }

// Close implements transport.Transport.
func (s *socket) Close() error { return s.fd.Close() }

// recvResult turns the errno of a receive into the transport's errors.
func recvResult(errno unix.Errno) error {
	switch errno {
	case 0:
		return nil
	case unix.ENOBUFS:
		return fmt.Errorf("%w: %w", transport.ErrOverrun, os.NewSyscallError("recvmsg", errno))
	}
	return os.NewSyscallError("recvmsg", errno)
}

// receive runs one receive with fn (blocking on the poller, or not when
// try is set) and returns whether it ran.
func (s *socket) receive(ctx context.Context, try bool, fn func(fd uintptr) bool) error {
	if !try {
		return s.fd.Read(ctx, fn)
	}
	done, err := s.fd.TryRead(fn)
	if err == nil && !done {
		err = transport.ErrWouldBlock
	}
	return err
}
