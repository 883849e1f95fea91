//go:build linux

package dumps

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/nlbus/netlink/bench/internal/testns"
)

// Raw is the floor: a blocking netlink socket driven with plain
// golang.org/x/sys calls (socket and bind once; per request one sendto and
// recvmsg into a reused 32 KiB buffer until the request is over). It checks
// only what a careful hand-written loop must: lengths, sequence numbers,
// MSG_TRUNC, and error codes.
//
// With DialRawPoll the socket is non-blocking and driven through the Go
// runtime's network poller (os.File and syscall.RawConn), as any library that
// honours deadlines and Close must do; the difference between the two is the
// poller's cost, not a library's.
type Raw struct {
	fd   int
	seq  uint32
	port uint32
	sbuf []byte
	rbuf []byte
	to   unix.SockaddrNetlink

	// Poller mode only.
	file           *os.File
	rc             syscall.RawConn
	sendFn, recvFn func(fd uintptr) bool
	n, rflags      int
	err            error
}

// RecvBufSize is the receive buffer of the raw loop.
const RecvBufSize = 32 << 10

// DialRaw opens a raw socket of protocol proto, in the namespace nsfd when it
// is above 0.
func DialRaw(proto, nsfd int) (*Raw, error) {
	var fd int
	open := func() error {
		var err error
		fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto)
		return err
	}
	var err error
	if nsfd > 0 {
		err = testns.In(nsfd, open)
	} else {
		err = open()
	}
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("bind", err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("getsockname", err)
	}
	return &Raw{
		fd:   fd,
		port: sa.(*unix.SockaddrNetlink).Pid,
		sbuf: make([]byte, 0, 256),
		rbuf: make([]byte, RecvBufSize),
		to:   unix.SockaddrNetlink{Family: unix.AF_NETLINK},
	}, nil
}

// DialRawPoll is DialRaw with the socket in the runtime poller.
func DialRawPoll(proto, nsfd int) (*Raw, error) {
	r, err := DialRaw(proto, nsfd)
	if err != nil {
		return nil, err
	}
	if err := unix.SetNonblock(r.fd, true); err != nil {
		unix.Close(r.fd)
		return nil, err
	}
	r.file = os.NewFile(uintptr(r.fd), "netlink")
	if r.rc, err = r.file.SyscallConn(); err != nil {
		r.file.Close()
		return nil, err
	}
	r.sendFn = func(fd uintptr) bool {
		r.err = unix.Sendto(int(fd), r.sbuf, 0, &r.to)
		return r.err != unix.EAGAIN
	}
	r.recvFn = func(fd uintptr) bool {
		r.n, _, r.rflags, _, r.err = unix.Recvmsg(int(fd), r.rbuf, nil, unix.MSG_TRUNC)
		return r.err != unix.EAGAIN
	}
	return r, nil
}

// Close closes the socket.
func (r *Raw) Close() error {
	if r.file != nil {
		return r.file.Close()
	}
	return unix.Close(r.fd)
}

func (r *Raw) sendto(b []byte) error {
	if r.rc == nil {
		return unix.Sendto(r.fd, b, 0, &r.to)
	}
	if err := r.rc.Write(r.sendFn); err != nil {
		return err
	}
	return r.err
}

func (r *Raw) recvmsg() (n, rflags int, err error) {
	if r.rc == nil {
		n, _, rflags, _, err = unix.Recvmsg(r.fd, r.rbuf, nil, unix.MSG_TRUNC)
		return n, rflags, err
	}
	if err := r.rc.Read(r.recvFn); err != nil {
		return 0, 0, err
	}
	return r.n, r.rflags, r.err
}

var ne = binary.NativeEndian

// Send sends one request with NLM_F_REQUEST|flags and returns its sequence
// number.
func (r *Raw) Send(typ, flags uint16, payload []byte) (uint32, error) {
	r.seq++
	l := unix.NLMSG_HDRLEN + len(payload)
	b := r.sbuf[:unix.NLMSG_HDRLEN]
	ne.PutUint32(b[0:], uint32(l))
	ne.PutUint16(b[4:], typ)
	ne.PutUint16(b[6:], unix.NLM_F_REQUEST|flags)
	ne.PutUint32(b[8:], r.seq)
	ne.PutUint32(b[12:], 0)
	b = append(b, payload...)
	r.sbuf = b
	if err := r.sendto(b); err != nil {
		return 0, os.NewSyscallError("sendto", err)
	}
	return r.seq, nil
}

// Do sends a request and reads its replies, calling fn with each data
// message's type and payload (borrowed from the receive buffer). A dump
// (flags with NLM_F_DUMP) ends at NLMSG_DONE; a request with NLM_F_ACK ends
// at the acknowledgement; any other request ends at its first reply that
// is not NLM_F_MULTI.
func (r *Raw) Do(typ, flags uint16, payload []byte, fn func(typ uint16, data []byte)) error {
	seq, err := r.Send(typ, flags, payload)
	if err != nil {
		return err
	}
	for {
		n, rflags, err := r.recvmsg()
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			return os.NewSyscallError("recvmsg", err)
		}
		if n > len(r.rbuf) || rflags&unix.MSG_TRUNC != 0 {
			return fmt.Errorf("raw: datagram of %d bytes truncated", n)
		}
		b := r.rbuf[:n]
		for len(b) >= unix.NLMSG_HDRLEN {
			l := int(ne.Uint32(b))
			if l < unix.NLMSG_HDRLEN || l > len(b) {
				return errors.New("raw: bad message length")
			}
			mtyp := ne.Uint16(b[4:])
			mflags := ne.Uint16(b[6:])
			mseq := ne.Uint32(b[8:])
			data := b[unix.NLMSG_HDRLEN:l]
			if a := (l + 3) &^ 3; a < len(b) {
				b = b[a:]
			} else {
				b = b[len(b):]
			}
			if mseq != seq {
				continue
			}
			switch mtyp {
			case unix.NLMSG_ERROR, unix.NLMSG_DONE:
				if len(data) >= 4 {
					if code := int32(ne.Uint32(data)); code != 0 {
						if code < 0 {
							code = -code
						}
						return syscall.Errno(code)
					}
				}
				return nil
			case unix.NLMSG_NOOP, unix.NLMSG_OVERRUN:
				continue
			}
			fn(mtyp, data)
			if flags&(unix.NLM_F_DUMP|unix.NLM_F_ACK) == 0 && mflags&unix.NLM_F_MULTI == 0 {
				return nil
			}
		}
	}
}
