//go:build linux || freebsd

package bus

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// recvmsg reads one datagram into b without waiting and without asking for
// the peer's address (unix.Recvmsg allocates one on every read), and
// returns its length and the message flags (MSG_TRUNC).
func recvmsg(fd int, b []byte) (n, flags int, err error) {
	if len(b) == 0 {
		return 0, 0, unix.EINVAL
	}
	var iov unix.Iovec
	iov.Base = &b[0]
	iov.SetLen(len(b))
	var msg unix.Msghdr
	msg.Iov = &iov
	msg.SetIovlen(1)
	// Raw: with MSG_DONTWAIT the call never waits, so the runtime's
	// bookkeeping around a system call that may is not needed.
	r, _, e := unix.RawSyscall(unix.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), unix.MSG_DONTWAIT)
	if e != 0 {
		return 0, 0, e
	}
	return int(r), int(msg.Flags), nil
}

// sendmsg writes b as one datagram without waiting (MSG_DONTWAIT, so the
// call is raw, as in recvmsg) and without SIGPIPE.
func sendmsg(fd int, b []byte) error {
	var iov unix.Iovec
	if len(b) > 0 {
		iov.Base = &b[0]
	}
	iov.SetLen(len(b))
	var msg unix.Msghdr
	msg.Iov = &iov
	msg.SetIovlen(1)
	_, _, e := unix.RawSyscall(unix.SYS_SENDMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
	if e != 0 {
		return e
	}
	return nil
}
