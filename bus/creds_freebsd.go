package bus

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// xucredVersion is XUCRED_VERSION (sys/ucred.h).
const xucredVersion = 0

// peerCreds reads the credentials of the process at the other end of the
// connected socket fd (LOCAL_PEERCRED, level 0, sys/un.h), taken when it
// connected. FreeBSD 13+ stores the peer's PID in the union that ends
// struct xucred (cr_pid, where x/sys/unix has an unnamed pointer).
func peerCreds(fd int) (creds, error) {
	x, err := unix.GetsockoptXucred(fd, 0, unix.LOCAL_PEERCRED)
	if err != nil {
		return creds{}, err
	}
	c := creds{UID: x.Uid}
	if x.Ngroups > 0 {
		c.GID = x.Groups[0]
	}
	if x.Version == xucredVersion {
		off := unsafe.Sizeof(*x) - unsafe.Sizeof(uintptr(0))
		c.PID = *(*int32)(unsafe.Add(unsafe.Pointer(x), off))
	}
	return c, nil
}
