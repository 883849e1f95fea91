//go:build linux || freebsd

package bus

import "golang.org/x/sys/unix"

// seqpacketSocket opens a non-blocking, close-on-exec unix SOCK_SEQPACKET
// socket in one system call.
func seqpacketSocket() (int, error) {
	return unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
}
