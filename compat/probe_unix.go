//go:build linux || freebsd

package compat

import (
	"errors"
	"fmt"
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

// probeTimeout bounds, in milliseconds, the wait for a probe's reply. The
// kernel answers a controller request at once (FreeBSD from its per-socket
// task queue, a little later).
const probeTimeout = 2000

// request writes req and reads the first datagram back with read(2) (on
// FreeBSD, x/sys's recvfrom fails on the netlink source address).
func (sysProbeOps) request(fd int, req []byte) ([]byte, error) {
	if _, err := unix.Write(fd, req); err != nil {
		return nil, os.NewSyscallError("write", err)
	}
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(pfd, probeTimeout)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, os.NewSyscallError("poll", err)
		}
		if n == 0 {
			return nil, fmt.Errorf("no reply within %d ms", probeTimeout)
		}
		break
	}
	buf := make([]byte, 64<<10)
	n, err := unix.Read(fd, buf)
	if err != nil {
		return nil, os.NewSyscallError("read", err)
	}
	return buf[:n], nil
}
