//go:build !linux && !freebsd

package bus

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// seqpacketSocket opens a non-blocking, close-on-exec unix SOCK_SEQPACKET
// socket where socket(2) lacks the type flags.
func seqpacketSocket() (int, error) {
	syscall.ForkLock.RLock()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET, 0)
	if err == nil {
		unix.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return -1, err
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}
