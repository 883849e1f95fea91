//go:build !linux

package bus

import "golang.org/x/sys/unix"

// haveRecvTwo: FreeBSD's recvmmsg is a loop of recvmsg in its C library,
// so there is nothing to gain; fill reads one datagram at a time.
const haveRecvTwo = false

func recvTwo(fd int, b []byte, slot int, n, flags *[2]int) (int, error) {
	return 0, unix.ENOSYS
}
