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
	"github.com/nlbus/netlink/internal/pollfd"
	"github.com/nlbus/netlink/transport"
)

// socket is what the Linux and FreeBSD kernel transports share: the
// descriptor in the runtime poller, the port, and the socket options, whose
// numbers are the same on both systems (compat). The per-OS files add only
// the system calls that differ (bind, recvmsg, sendto) and override what
// one OS does differently.
type socket struct {
	fd   *pollfd.FD
	port uint32

	// Receive state; one reader at a time (the Transport contract). The
	// per-OS recvmsg (recvFn, built once) reads into rbuf and sets rn, rerr.
	rbuf   []byte
	rn     int
	rerr   unix.Errno
	recvFn func(fd uintptr) bool
	// infoFn describes a read of n bytes into b (source, group, truncation).
	infoFn func(n int, b []byte) transport.Info

	// sends pools the state of a send (*sendOp), so that any number of
	// goroutines send at once, without allocating: Linux does the
	// kernel's work for a request inside sendmsg.
	sends cache1[sendOp]
}

// sendOp is one send in progress.
type sendOp struct {
	b   []byte
	dst transport.Addr
	sa  sendAddr
	err unix.Errno
	fn  func(fd uintptr) // op.run, built once
}

// run sends with the per-OS sendTo (which retries EINTR), through op's
// own address, so that concurrent sends share nothing.
func (op *sendOp) run(fd uintptr) { op.err = sendTo(fd, op.b, op.dst, &op.sa) }

func (s *socket) getSendOp() *sendOp {
	if op := s.sends.get(); op != nil {
		return op
	}
	op := &sendOp{}
	op.fn = op.run
	return op
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

// Recv implements transport.Transport. While the descriptor is outside the
// poller (a Conn that only makes requests: the kernel has queued the reply
// by the time the request's send returns), the read is made here at once;
// otherwise, or when it would block, through the poller.
func (s *socket) Recv(ctx context.Context, b []byte) (transport.Info, error) {
	if len(b) > 0 && ctx.Err() == nil {
		if fd, ok := s.fd.Enter(); ok {
			s.rbuf = b
			done := s.recvFn(uintptr(fd))
			s.fd.Leave()
			s.rbuf = nil
			if done {
				n, err := s.readResult()
				if err != nil {
					return transport.Info{}, err
				}
				return s.infoFn(n, b), nil
			}
		}
	}
	return s.recvInto(ctx, false, b)
}

// TryRecv implements transport.TryReceiver.
func (s *socket) TryRecv(b []byte) (transport.Info, error) {
	return s.recvInto(context.Background(), true, b)
}

func (s *socket) recvInto(ctx context.Context, try bool, b []byte) (transport.Info, error) {
	n, err := s.read(ctx, try, b)
	if err != nil {
		return transport.Info{}, err
	}
	return s.infoFn(n, b), nil
}

// read receives into b with recvFn, waiting in the poller or, with try,
// returning transport.ErrWouldBlock instead. It returns the length the
// kernel reported, which exceeds len(b) for a truncated datagram on Linux.
func (s *socket) read(ctx context.Context, try bool, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, errors.New("netlink: empty receive buffer")
	}
	s.rbuf = b
	var err error
	if try {
		var done bool
		done, err = s.fd.TryRead(s.recvFn)
		if err == nil && !done {
			err = transport.ErrWouldBlock
		}
	} else {
		err = s.fd.Read(ctx, s.recvFn)
	}
	s.rbuf = nil
	if err != nil {
		return 0, err
	}
	return s.readResult()
}

// readResult is the outcome of a completed recvFn.
func (s *socket) readResult() (int, error) {
	switch s.rerr {
	case 0:
		return s.rn, nil
	case unix.ENOBUFS:
		return 0, fmt.Errorf("%w: %w", transport.ErrOverrun, os.NewSyscallError("recvmsg", s.rerr))
	}
	return 0, os.NewSyscallError("recvmsg", s.rerr)
}

// write sends b to dst with sendFn.
//
// A netlink send never waits for its own socket: EAGAIN means the
// receiving socket's queue is full (a NETLINK_USERSOCK peer), and nothing
// will make the sender's socket "writable" when it drains, so waiting in
// the poller would block until Close. write retries instead, with a growing
// pause, while ctx and the write deadline allow (at most fullPeerWait when
// neither sets a limit), then fails with an error wrapping ErrPeerFull and
// EAGAIN.
func (s *socket) write(ctx context.Context, b []byte, dst transport.Addr) error {
	if len(b) == 0 {
		return errors.New("netlink: empty message")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var errno unix.Errno
	if fd, ok := s.fd.Enter(); ok {
		// Outside the poller: the send made here, its address on the
		// stack.
		var sa sendAddr
		errno = sendTo(uintptr(fd), b, dst, &sa)
		s.fd.Leave()
	} else {
		var err error
		if errno, err = s.sendControl(b, dst); err != nil {
			return err
		}
	}
	if errno == 0 {
		return nil
	}
	return s.writeFailed(ctx, b, dst, errno)
}

// sendControl sends b to dst through Control: a netlink send never blocks
// on its own socket, so it needs no poller, and Control runs it at once,
// safely against Close.
func (s *socket) sendControl(b []byte, dst transport.Addr) (unix.Errno, error) {
	op := s.getSendOp()
	op.b, op.dst = b, dst
	err := s.fd.Control(op.fn)
	errno := op.err
	op.b = nil
	s.sends.put(op)
	return errno, err
}

// writeFailed handles a send whose sendto failed with errno: EAGAIN is
// retried as write says, anything else returned. Apart from write, so
// that write's usual path has no deferred call.
func (s *socket) writeFailed(ctx context.Context, b []byte, dst transport.Addr, errno unix.Errno) error {
	var (
		giveUp time.Time
		pause  = 50 * time.Microsecond
		timer  *time.Timer
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		if errno == 0 {
			return nil
		}
		if errno != unix.EAGAIN {
			return os.NewSyscallError("sendto", errno)
		}
		now := time.Now()
		if giveUp.IsZero() {
			giveUp = retryLimit(ctx, s.fd.WriteDeadline(), now)
		}
		wait := min(pause, giveUp.Sub(now))
		if wait <= 0 {
			if d, ok := ctx.Deadline(); ok && !now.Before(d) {
				// The context's deadline ended the retries: say so, as a
				// cancellation does.
				return fmt.Errorf("%w: destination port %d: %w (%w)", ErrPeerFull, dst.Port, context.DeadlineExceeded, os.NewSyscallError("sendto", unix.EAGAIN))
			}
			return fmt.Errorf("%w: destination port %d (%w)", ErrPeerFull, dst.Port, os.NewSyscallError("sendto", unix.EAGAIN))
		}
		if timer == nil {
			timer = time.NewTimer(wait)
		} else {
			timer.Reset(wait)
		}
		select {
		case <-timer.C:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w: destination port %d: %w (%w)", ErrPeerFull, dst.Port, ctx.Err(), unix.EAGAIN)
		}
		pause = min(2*pause, 10*time.Millisecond)
		var err error
		if errno, err = s.sendControl(b, dst); err != nil {
			return err
		}
	}
}

// retryLimit is when the retries of a send to a full peer end: at ctx's
// deadline, or never for a context that can be cancelled but has no
// deadline (it decides), or fullPeerWait from now for one that can do
// neither; a write deadline before that wins.
func retryLimit(ctx context.Context, writeDL, now time.Time) time.Time {
	limit := now.Add(fullPeerWait)
	if d, ok := ctx.Deadline(); ok {
		limit = d
	} else if ctx.Done() != nil {
		limit = now.Add(1<<63 - 1)
	}
	if !writeDL.IsZero() && writeDL.Before(limit) {
		limit = writeDL
	}
	return limit
}

// fullPeerWait bounds the retries of a send to a full peer when neither the
// context nor a write deadline does.
const fullPeerWait = time.Second

// closeFD closes a descriptor the package owns (a Config.NetNS copy).
func closeFD(fd int) { unix.Close(fd) }
