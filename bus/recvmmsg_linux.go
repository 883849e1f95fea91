//go:build linux

package bus

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// haveRecvTwo: recvTwo reads two datagrams in one system call here.
const haveRecvTwo = true

// mmsghdr is struct mmsghdr of recvmmsg(2).
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
}

// recvTwo reads up to two datagrams, without waiting, into b[:slot] and
// b[slot:2*slot], in one recvmmsg(2), and stores their lengths and message
// flags in n and flags. got is how many it read; fewer than two with a nil
// error means the socket had no more, which spares the read that would
// only have said so. Its errors are recvmsg's (EAGAIN when there was
// nothing).
func recvTwo(fd int, b []byte, slot int, n, flags *[2]int) (got int, err error) {
	var iov [2]unix.Iovec
	var mm [2]mmsghdr
	for i := range mm {
		iov[i].Base = &b[i*slot]
		iov[i].SetLen(slot)
		mm[i].hdr.Iov = &iov[i]
		mm[i].hdr.SetIovlen(1)
	}
	r, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&mm[0])), 2, unix.MSG_DONTWAIT, 0, 0)
	if e != 0 {
		return 0, e
	}
	got = int(r)
	for i := range got {
		n[i], flags[i] = int(mm[i].len), int(mm[i].hdr.Flags)
	}
	return got, nil
}
