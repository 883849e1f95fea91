//go:build linux || freebsd

package compat

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// sysProbeOps probes with real sockets of address family family. It is
// shared by Linux and FreeBSD, whose socket calls differ only in AF_NETLINK.
type sysProbeOps struct {
	family int
}

func (s sysProbeOps) open(proto int) (int, error) {
	fd, err := unix.Socket(s.family, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	return fd, nil
}

func (sysProbeOps) setBool(fd, opt int) error {
	return os.NewSyscallError("setsockopt", unix.SetsockoptInt(fd, SolNetlink, opt, 1))
}

func (sysProbeOps) close(fd int) error {
	return unix.Close(fd)
}

func (sysProbeOps) unsupported(err error) bool {
	return errors.Is(err, unix.EAFNOSUPPORT) ||
		errors.Is(err, unix.EPROTONOSUPPORT) ||
		errors.Is(err, unix.ENOPROTOOPT) ||
		errors.Is(err, unix.EOPNOTSUPP)
}
