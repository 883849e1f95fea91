//go:build freebsd

package netlink

import (
	"context"
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/nlbus/netlink/compat"
	"github.com/nlbus/netlink/internal/pollfd"
	"github.com/nlbus/netlink/transport"
)

// What the FreeBSD kernel socket does that changes reply matching (see
// kernelFacts and quirks.go): dumps are built during the request, so any
// number may run; every reply carries the requester's port, and
// notifications may carry another socket's request header.
const (
	kernelOneDump   = false
	kernelStampsPID = true
)

// bsdSocket is the kernel transport on FreeBSD 13.2+. golang.org/x/sys has no
// AF_NETLINK for FreeBSD and its sockaddr conversion fails with EAFNOSUPPORT
// after consuming the data, so bind, getsockname and recvmsg are raw system
// calls with the 12-byte BSD sockaddr_nl laid out by package compat. What
// FreeBSD does differently on the wire (positive errno, NLMSG_DONE without
// NLM_F_MULTI, several messages per read, the cookie without NLM_F_ACK_TLVS)
// is handled by the portable Conn and codec.
type bsdSocket struct {
	socket

	// limit is SO_SNDBUF, which every write must fit in.
	limit sendLimit

	// Receive state; one reader at a time (Transport contract).
	rmsg unix.Msghdr
	riov unix.Iovec
	rsa  [compat.SockaddrNetlinkLen]byte
}

func dialKernel(protocol int, cfg *Config) (transport.Transport, error) {
	if cfg.NetNS != 0 {
		return nil, notSupported("network namespaces (use a VNET jail)")
	}
	if err := compat.Check(compat.Current(), compat.Protocol(protocol)); err != nil {
		return nil, err
	}
	fd, err := unix.Socket(compat.AFNetlinkFreeBSD, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, protocol)
	if err != nil {
		if errors.Is(err, unix.EAFNOSUPPORT) || errors.Is(err, unix.EPROTONOSUPPORT) {
			// No netlink in this kernel (13.x without the module loaded):
			// kldload netlink.
			return nil, fmt.Errorf("protocol %d: %w (%w)", protocol, notSupported("kernel netlink (kldload netlink)"), err)
		}
		return nil, os.NewSyscallError("socket", err)
	}
	// FreeBSD does not bind on send, and an unbound socket has port 0: bind
	// explicitly and read the port back.
	var sa [compat.SockaddrNetlinkLen]byte
	compat.PutSockaddrBSD(sa[:], cfg.PID, 0)
	if _, _, errno := unix.Syscall(unix.SYS_BIND, uintptr(fd), uintptr(unsafe.Pointer(&sa[0])), uintptr(len(sa))); errno != 0 {
		unix.Close(fd)
		return nil, os.NewSyscallError("bind", errno)
	}
	var got [32]byte
	l := uint32(len(got))
	if _, _, errno := unix.Syscall(unix.SYS_GETSOCKNAME, uintptr(fd), uintptr(unsafe.Pointer(&got[0])), uintptr(unsafe.Pointer(&l))); errno != 0 {
		unix.Close(fd)
		return nil, os.NewSyscallError("getsockname", errno)
	}
	if int(l) > len(got) {
		l = uint32(len(got))
	}
	port, _, err := compat.ParseSockaddr(compat.FreeBSD, got[:l])
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("getsockname: %w", err)
	}
	sndbuf, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF)
	if err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("getsockopt SO_SNDBUF", err)
	}
	pfd, err := pollfd.New(fd, "netlink")
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	s := &bsdSocket{socket: socket{fd: pfd, port: port}}
	s.limit.set(sndbuf)
	s.recvFn, s.infoFn = s.recv, s.recvInfo
	return s, nil
}

func (s *bsdSocket) recv(fd uintptr) bool {
	s.riov.Base = &s.rbuf[0]
	s.riov.SetLen(len(s.rbuf))
	s.rmsg = unix.Msghdr{
		Name:    &s.rsa[0],
		Namelen: uint32(len(s.rsa)),
		Iov:     &s.riov,
	}
	s.rmsg.SetIovlen(1)
	for {
		n, _, errno := unix.Syscall(unix.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&s.rmsg)), 0)
		switch errno {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		s.rn, s.rerr = int(n), errno
		return true
	}
}

// recvInfo describes a read of n bytes into b. One read returns as many
// whole messages as fit; only a first message longer than b is truncated.
func (s *bsdSocket) recvInfo(n int, b []byte) transport.Info {
	// The source is always the kernel (port 0), and FreeBSD never reports
	// the group of a multicast message.
	info := transport.Info{N: min(n, len(b))}
	if s.rmsg.Flags&unix.MSG_TRUNC != 0 {
		info.Truncated = true
	}
	return info
}

// sendAddr is unused on FreeBSD, which sends everything to the kernel
// without an address.
type sendAddr struct{}

func sendTo(fd uintptr, b []byte, _ transport.Addr, _ *sendAddr) unix.Errno {
	for {
		_, _, errno := unix.Syscall6(unix.SYS_SENDTO, fd,
			uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), 0, 0, 0)
		if errno != unix.EINTR {
			return errno // EAGAIN included: see socket.write
		}
	}
}

// Send implements transport.Transport. FreeBSD netlink delivers every write
// to the kernel, so only the zero destination is accepted. A write larger
// than SO_SNDBUF fails at once with an error wrapping EMSGSIZE: some kernel
// revisions would answer it with EWOULDBLOCK forever (see sendLimit).
func (s *bsdSocket) Send(ctx context.Context, b []byte, dst transport.Addr) error {
	if dst != (transport.Addr{}) {
		return notSupported("sending to a port or group other than the kernel")
	}
	if err := s.limit.check(len(b)); err != nil {
		return err
	}
	err := s.write(ctx, b, dst)
	if errors.Is(err, unix.EMSGSIZE) {
		return fmt.Errorf("request of %d bytes exceeds the socket's send buffer (raise Config.SocketSendBuffer): %w", len(b), err)
	}
	return err
}

// SetReadBuffer implements transport.BufferSizer. FreeBSD refuses sizes
// above kern.ipc.maxsockbuf where Linux caps them; the error says so.
func (s *bsdSocket) SetReadBuffer(n int) error {
	if err := s.socket.SetReadBuffer(n); err != nil {
		return bufferSizeError(true, n, err)
	}
	return nil
}

// SetWriteBuffer implements transport.BufferSizer, and reads the new
// SO_SNDBUF back: it bounds every write.
func (s *bsdSocket) SetWriteBuffer(n int) error {
	if err := s.socket.SetWriteBuffer(n); err != nil {
		return bufferSizeError(false, n, err)
	}
	var (
		v    int
		gerr error
	)
	if err := s.fd.Control(func(fd uintptr) {
		v, gerr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF)
	}); err != nil {
		return err
	}
	if gerr != nil {
		s.limit.set(0) // unknown: leave it to the kernel
		return os.NewSyscallError("getsockopt SO_SNDBUF", gerr)
	}
	s.limit.set(v)
	return nil
}

// dupNetNS: FreeBSD has no Config.NetNS (dialKernel refuses it first).
func dupNetNS(int) (int, error) { return 0, notSupported("Config.NetNS") }
