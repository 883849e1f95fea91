//go:build !linux && !freebsd

package bus

import "golang.org/x/sys/unix"

func recvmsg(fd int, b []byte) (n, flags int, err error) {
	n, _, flags, _, err = unix.Recvmsg(fd, b, nil, unix.MSG_DONTWAIT)
	return n, flags, err
}

func sendmsg(fd int, b []byte) error {
	_, err := unix.SendmsgN(fd, b, nil, nil, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
	return err
}
