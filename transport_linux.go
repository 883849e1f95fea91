//go:build linux

package netlink

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/nlbus/netlink/transport"
)

// linuxSocket is the kernel transport on Linux: an AF_NETLINK socket in the
// runtime poller. Receives and sends use raw recvmsg/sendto with buffers and
// addresses kept in the struct, so a call allocates nothing.
type linuxSocket struct {
	fd   *transport.FD
	port uint32

	// Receive state; one reader at a time (Transport contract).
	rmsg   unix.Msghdr
	riov   unix.Iovec
	rsa    unix.RawSockaddrNetlink
	roob   [64]byte
	rbuf   []byte
	rn     int
	rerr   unix.Errno
	recvFn func(fd uintptr) bool

	// Send state, under smu.
	smu    sync.Mutex
	ssa    unix.RawSockaddrNetlink
	sbuf   []byte
	serr   unix.Errno
	sendFn func(fd uintptr) bool

	pktinfo atomic.Bool
}

func dialKernel(protocol int, cfg *Config) (transport.Transport, error) {
	var fd int
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
	pfd, err := transport.NewFD(fd, "netlink")
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	s := &linuxSocket{fd: pfd, port: nsa.Pid}
	s.ssa.Family = unix.AF_NETLINK
	s.recvFn = s.recv
	s.sendFn = s.send
	return s, nil
}

// inNetNS runs fn on a thread switched into the network namespace nsfd
// (nothing to do when nsfd is 0). Sockets keep the namespace they were
// created in. If the thread cannot be switched back it stays locked, so the
// runtime discards it with the goroutine.
func inNetNS(nsfd int, fn func() error) error {
	if nsfd <= 0 {
		return fn()
	}
	runtime.LockOSThread()
	orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return os.NewSyscallError("open", err)
	}
	defer unix.Close(orig)
	if err := unix.Setns(nsfd, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return os.NewSyscallError("setns", err)
	}
	ferr := fn()
	if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
		return errors.Join(ferr, os.NewSyscallError("setns", err))
	}
	runtime.UnlockOSThread()
	return ferr
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
	for {
		n, _, errno := unix.Syscall(unix.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&s.rmsg)), unix.MSG_TRUNC)
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

// Recv implements transport.Transport.
func (s *linuxSocket) Recv(ctx context.Context, b []byte) (transport.Info, error) {
	if len(b) == 0 {
		return transport.Info{}, errors.New("netlink: empty receive buffer")
	}
	s.rbuf = b
	err := s.fd.Read(ctx, s.recvFn)
	s.rbuf = nil
	if err != nil {
		return transport.Info{}, err
	}
	return s.result(b)
}

// TryRecv implements transport.TryReceiver.
func (s *linuxSocket) TryRecv(b []byte) (transport.Info, error) {
	if len(b) == 0 {
		return transport.Info{}, errors.New("netlink: empty receive buffer")
	}
	s.rbuf = b
	done, err := s.fd.TryRead(s.recvFn)
	s.rbuf = nil
	if err != nil {
		return transport.Info{}, err
	}
	if !done {
		return transport.Info{}, transport.ErrWouldBlock
	}
	return s.result(b)
}

func (s *linuxSocket) result(b []byte) (transport.Info, error) {
	switch s.rerr {
	case 0:
	case unix.ENOBUFS:
		return transport.Info{}, fmt.Errorf("%w: %w", transport.ErrOverrun, os.NewSyscallError("recvmsg", s.rerr))
	default:
		return transport.Info{}, os.NewSyscallError("recvmsg", s.rerr)
	}
	info := transport.Info{N: s.rn, Src: transport.Addr{Port: s.rsa.Pid}}
	if s.rn > len(b) || s.rmsg.Flags&unix.MSG_TRUNC != 0 {
		info.Truncated, info.Size, info.N = true, s.rn, len(b)
	}
	if g, ok := pktinfoGroup(s.roob[:s.rmsg.Controllen]); ok {
		info.Src.Group = g
	} else if s.rsa.Groups != 0 {
		info.Src.Group = lowestGroup(s.rsa.Groups)
	}
	return info, nil
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

func (s *linuxSocket) send(fd uintptr) bool {
	for {
		_, _, errno := unix.Syscall6(unix.SYS_SENDTO, fd,
			uintptr(unsafe.Pointer(&s.sbuf[0])), uintptr(len(s.sbuf)), 0,
			uintptr(unsafe.Pointer(&s.ssa)), unix.SizeofSockaddrNetlink)
		switch errno {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		s.serr = errno
		return true
	}
}

// Send implements transport.Transport. Linux addresses groups with a 32-bit
// mask, so only groups 1 to 32 can be sent to.
func (s *linuxSocket) Send(ctx context.Context, b []byte, dst transport.Addr) error {
	if len(b) == 0 {
		return errors.New("netlink: empty message")
	}
	var groups uint32
	if dst.Group != 0 {
		if dst.Group > 32 {
			return fmt.Errorf("sending to group %d: %w", dst.Group, notSupported("multicast send above group 32"))
		}
		groups = 1 << (dst.Group - 1)
	}
	s.smu.Lock()
	defer s.smu.Unlock()
	s.ssa.Pid, s.ssa.Groups = dst.Port, groups
	s.sbuf = b
	err := s.fd.Write(ctx, s.sendFn)
	s.sbuf = nil
	if err != nil {
		return err
	}
	if s.serr != 0 {
		return os.NewSyscallError("sendto", s.serr)
	}
	return nil
}

// PortID implements transport.Transport.
func (s *linuxSocket) PortID() uint32 { return s.port }

func (s *linuxSocket) setInt(level, opt, v int, what string) error {
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

// JoinGroup implements transport.Transport. The first join turns on
// NETLINK_PKTINFO so that every multicast message reports its group, above
// 32 included.
func (s *linuxSocket) JoinGroup(g uint32) error {
	if g == 0 {
		return errors.New("netlink: group 0 is not a multicast group")
	}
	if err := s.setInt(unix.SOL_NETLINK, unix.NETLINK_ADD_MEMBERSHIP, int(g), "join group"); err != nil {
		return err
	}
	if !s.pktinfo.Load() {
		if err := s.setInt(unix.SOL_NETLINK, unix.NETLINK_PKTINFO, 1, "packet info"); err == nil {
			s.pktinfo.Store(true)
		}
	}
	return nil
}

// LeaveGroup implements transport.Transport.
func (s *linuxSocket) LeaveGroup(g uint32) error {
	return s.setInt(unix.SOL_NETLINK, unix.NETLINK_DROP_MEMBERSHIP, int(g), "leave group")
}

var linuxOptions = [...]int{
	transport.OptionExtendedAck:    unix.NETLINK_EXT_ACK,
	transport.OptionStrictCheck:    unix.NETLINK_GET_STRICT_CHK,
	transport.OptionCapAck:         unix.NETLINK_CAP_ACK,
	transport.OptionNoENOBUFS:      unix.NETLINK_NO_ENOBUFS,
	transport.OptionBroadcastError: unix.NETLINK_BROADCAST_ERROR,
	transport.OptionListenAllNSID:  unix.NETLINK_LISTEN_ALL_NSID,
	transport.OptionPacketInfo:     unix.NETLINK_PKTINFO,
}

// SetOption implements transport.Transport.
func (s *linuxSocket) SetOption(opt transport.Option, on bool) error {
	if opt <= 0 || int(opt) >= len(linuxOptions) {
		return notSupported("option " + opt.String())
	}
	v := 0
	if on {
		v = 1
	}
	if err := s.setInt(unix.SOL_NETLINK, linuxOptions[opt], v, opt.String()); err != nil {
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
	return s.setInt(unix.SOL_SOCKET, unix.SO_RCVBUF, n, "receive buffer")
}

// SetWriteBuffer implements transport.Transport.
func (s *linuxSocket) SetWriteBuffer(n int) error {
	if err := s.setInt(unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, n, "send buffer"); err == nil {
		return nil
	}
	return s.setInt(unix.SOL_SOCKET, unix.SO_SNDBUF, n, "send buffer")
}

// SetReadDeadline implements transport.Transport.
func (s *linuxSocket) SetReadDeadline(t time.Time) error { return s.fd.SetReadDeadline(t) }

// SetWriteDeadline implements transport.Transport.
func (s *linuxSocket) SetWriteDeadline(t time.Time) error { return s.fd.SetWriteDeadline(t) }

// Close implements transport.Transport.
func (s *linuxSocket) Close() error { return s.fd.Close() }
