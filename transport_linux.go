//go:build linux

package netlink

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/nlbus/netlink/internal/pollfd"
	"github.com/nlbus/netlink/transport"
)

// What the Linux kernel socket does that changes reply matching (see
// kernelFacts and quirks.go): one dump per socket; replies are not
// required to carry the requester's port (audit's carry 0).
const (
	kernelOneDump   = true
	kernelStampsPID = false
)

// linuxSocket is the kernel transport on Linux: an AF_NETLINK socket in the
// runtime poller. Receives and sends use raw recvmsg/sendto with buffers and
// addresses kept in the struct, so a call allocates nothing.
type linuxSocket struct {
	socket

	// Receive state; one reader at a time (Transport contract).
	rmsg unix.Msghdr
	riov unix.Iovec
	rsa  unix.RawSockaddrNetlink
	roob [64]byte

	pktinfo atomic.Bool
}

func dialKernel(protocol int, cfg *Config) (transport.Transport, error) {
	var fd int
	if cfg.NetNS < 0 {
		// int(f.Fd()) of a nil *os.File: never the caller's own namespace.
		return nil, fmt.Errorf("Config.NetNS %d is not a descriptor: %w", cfg.NetNS, os.ErrInvalid)
	}
	err := inNetNS(cfg.NetNS, func() error {
		var err error
		fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, protocol)
		return os.NewSyscallError("socket", err)
	})
	if err != nil {
		if errors.Is(err, unix.EPROTONOSUPPORT) || errors.Is(err, unix.EAFNOSUPPORT) {
			return nil, fmt.Errorf("protocol %d: %w (%w)", protocol, ErrNotSupported, err)
		}
		return nil, err
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Pid: cfg.PID}); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("bind", err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("getsockname", err)
	}
	nsa, ok := sa.(*unix.SockaddrNetlink)
	if !ok {
		unix.Close(fd)
		return nil, fmt.Errorf("getsockname: unexpected address %T", sa)
	}
	pfd, err := pollfd.New(fd, "netlink")
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	s := &linuxSocket{socket: socket{fd: pfd, port: nsa.Pid}}
	s.recvFn, s.infoFn = s.recv, s.recvInfo
	return s, nil
}

// inNetNS runs fn on a thread switched into the network namespace nsfd
// (nothing to do when nsfd is 0). Sockets keep the namespace they were
// created in. The switch happens on a goroutine of its own with its thread
// locked: if the thread cannot be switched back, the goroutine exits without
// unlocking it and the runtime destroys the thread, so no other goroutine
// ever runs in the wrong namespace.
func inNetNS(nsfd int, fn func() error) error {
	if nsfd <= 0 {
		return fn()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- os.NewSyscallError("open", err)
			return
		}
		defer unix.Close(orig)
		if err := unix.Setns(nsfd, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- os.NewSyscallError("setns", err)
			return
		}
		ferr := fn()
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
			errc <- errors.Join(ferr, os.NewSyscallError("setns", err))
			return // the thread stays locked and dies with this goroutine
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

func (s *linuxSocket) recv(fd uintptr) bool {
	s.riov.Base = &s.rbuf[0]
	s.riov.SetLen(len(s.rbuf))
	s.rmsg = unix.Msghdr{
		Name:    (*byte)(unsafe.Pointer(&s.rsa)),
		Namelen: unix.SizeofSockaddrNetlink,
		Iov:     &s.riov,
	}
	s.rmsg.Iovlen = 1
	if s.pktinfo.Load() {
		s.rmsg.Control = &s.roob[0]
		s.rmsg.SetControllen(len(s.roob))
	}
	einval := 0
	for {
		// Raw: the socket is non-blocking, so the call never waits, and
		// the runtime's bookkeeping around a system call that may was
		// about 3% of a one-reply request (GetLinkPaired; sends are raw
		// too, in pollfd).
		n, _, errno := unix.RawSyscall(unix.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&s.rmsg)), unix.MSG_TRUNC)
		switch errno {
		case unix.EINTR:
			continue
		case unix.EINVAL:
			// Not a bad call (the flags and buffers are always valid) but
			// the socket error a kernel race leaves: netlink_recvmsg
			// checks cb_running without the dump mutex, and when a dump
			// started or finished by a concurrent sendmsg ends under it,
			// netlink_dump fails with EINVAL, which is stored in sk_err
			// and reported by this read. Nothing was lost; read again,
			// a bounded number of times.
			if einval++; einval <= 3 {
				continue
			}
		case unix.EAGAIN:
			return false
		}
		s.rn, s.rerr = int(n), errno
		return true
	}
}

// recvInfo describes a read of n bytes into b: the source from the
// sockaddr, the group from NETLINK_PKTINFO, truncation from MSG_TRUNC.
func (s *linuxSocket) recvInfo(n int, b []byte) transport.Info {
	info := transport.Info{N: n, Src: transport.Addr{Port: s.rsa.Pid}}
	if n > len(b) || s.rmsg.Flags&unix.MSG_TRUNC != 0 {
		info.Truncated, info.Size, info.N = true, n, len(b)
	}
	if g, ok := pktinfoGroup(s.roob[:min(int(s.rmsg.Controllen), len(s.roob))]); ok {
		info.Src.Group = g
	} else if s.rsa.Groups != 0 {
		info.Src.Group = lowestGroup(s.rsa.Groups)
	}
	return info
}

// pktinfoGroup finds the NETLINK_PKTINFO control message (struct
// nl_pktinfo { __u32 group; }) without allocating.
func pktinfoGroup(oob []byte) (uint32, bool) {
	for len(oob) >= unix.SizeofCmsghdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < unix.SizeofCmsghdr || l > len(oob) {
			return 0, false
		}
		if h.Level == unix.SOL_NETLINK && h.Type == unix.NETLINK_PKTINFO && l >= unix.CmsgLen(4) {
			return ne.Uint32(oob[unix.CmsgLen(0):]), true
		}
		next := unix.CmsgSpace(l - unix.SizeofCmsghdr)
		if next > len(oob) {
			return 0, false
		}
		oob = oob[next:]
	}
	return 0, false
}

func lowestGroup(mask uint32) uint32 {
	for i := uint32(0); i < 32; i++ {
		if mask&(1<<i) != 0 {
			return i + 1
		}
	}
	return 0
}

// sendAddr is the destination address of one send.
type sendAddr = unix.RawSockaddrNetlink

func sendTo(fd uintptr, b []byte, dst transport.Addr, sa *sendAddr) unix.Errno {
	*sa = unix.RawSockaddrNetlink{Family: unix.AF_NETLINK, Pid: dst.Port}
	if dst.Group != 0 {
		sa.Groups = 1 << (dst.Group - 1)
	}
	for {
		_, _, errno := unix.Syscall6(unix.SYS_SENDTO, fd,
			uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), 0,
			uintptr(unsafe.Pointer(sa)), unix.SizeofSockaddrNetlink)
		if errno != unix.EINTR {
			return errno // EAGAIN included: see socket.write
		}
	}
}

// Send implements transport.Transport. Linux addresses groups with a 32-bit
// mask, so only groups 1 to 32 can be sent to.
func (s *linuxSocket) Send(ctx context.Context, b []byte, dst transport.Addr) error {
	if dst.Group > 32 {
		return fmt.Errorf("sending to group %d: %w", dst.Group, notSupported("multicast send above group 32"))
	}
	err := s.write(ctx, b, dst)
	if err != nil && dst.Group != 0 && dst.Port == 0 && errors.Is(err, unix.ECONNREFUSED) {
		// The kernel broadcast the message to the group, then also
		// unicast it to port 0, where no kernel socket listens on
		// NETLINK_USERSOCK: the members got it (quirks.go).
		return nil
	}
	return err
}

// JoinGroup implements transport.Transport. The first join turns on
// NETLINK_PKTINFO so that every multicast message reports its group, above
// 32 included.
func (s *linuxSocket) JoinGroup(g uint32) error {
	if err := s.socket.JoinGroup(g); err != nil {
		return err
	}
	if !s.pktinfo.Load() {
		if err := s.socket.SetOption(transport.OptionPacketInfo, true); err == nil {
			s.pktinfo.Store(true)
		}
	}
	return nil
}

// SetOption implements transport.Transport.
func (s *linuxSocket) SetOption(opt transport.Option, on bool) error {
	if err := s.socket.SetOption(opt, on); err != nil {
		return err
	}
	if opt == transport.OptionPacketInfo {
		s.pktinfo.Store(on)
	}
	return nil
}

// SetReadBuffer implements transport.Transport; as root it passes rmem_max
// with SO_RCVBUFFORCE.
func (s *linuxSocket) SetReadBuffer(n int) error {
	if err := s.setInt(unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, n, "receive buffer"); err == nil {
		return nil
	}
	return s.socket.SetReadBuffer(n)
}

// SetWriteBuffer implements transport.Transport.
func (s *linuxSocket) SetWriteBuffer(n int) error {
	if err := s.setInt(unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, n, "send buffer"); err == nil {
		return nil
	}
	return s.socket.SetWriteBuffer(n)
}

// dupNetNS returns a close-on-exec copy of the namespace descriptor fd.
func dupNetNS(fd int) (int, error) {
	nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return 0, os.NewSyscallError("fcntl F_DUPFD_CLOEXEC (Config.NetNS)", err)
	}
	return nfd, nil
}
