package compat

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
)

// ErrInvalidSockaddr is wrapped by ParseSockaddr when the bytes are not a
// netlink socket address of the requested OS.
var ErrInvalidSockaddr = errors.New("invalid netlink socket address")

// RawSockaddrNetlinkBSD is FreeBSD's struct sockaddr_nl
// (sys/netlink/netlink.h): 12 bytes, host byte order. golang.org/x/sys/unix
// has no FreeBSD netlink sockaddr, so transports pass this to raw bind(2).
type RawSockaddrNetlinkBSD struct {
	// Len is nl_len and must be SockaddrNetlinkLen, else bind gives EINVAL.
	Len uint8
	// Family is nl_family, AFNetlinkFreeBSD (sa_family_t is 8 bits).
	Family uint8
	// Pad is nl_pad and must be zero.
	Pad uint16
	// Pid is nl_pid, the port id; 0 in bind asks the kernel to choose.
	Pid uint32
	// Groups is nl_groups, a bitmask of legacy multicast groups 1..32.
	Groups uint32
}

// PutSockaddrLinux encodes Linux's struct sockaddr_nl
// (include/uapi/linux/netlink.h: u16 nl_family=16, u16 nl_pad, u32 nl_pid,
// u32 nl_groups, host byte order) into b[:12]. It panics if len(b) < 12,
// like encoding/binary's Put functions.
func PutSockaddrLinux(b []byte, pid, groups uint32) {
	_ = b[SockaddrNetlinkLen-1] // bounds check hint
	binary.NativeEndian.PutUint16(b[0:2], AFNetlinkLinux)
	binary.NativeEndian.PutUint16(b[2:4], 0)
	binary.NativeEndian.PutUint32(b[4:8], pid)
	binary.NativeEndian.PutUint32(b[8:12], groups)
}

// PutSockaddrBSD encodes FreeBSD's struct sockaddr_nl (sys/netlink/netlink.h:
// u8 nl_len=12, u8 nl_family=38, u16 nl_pad, u32 nl_pid, u32 nl_groups, host
// byte order) into b[:12]. It panics if len(b) < 12, like encoding/binary's
// Put functions.
func PutSockaddrBSD(b []byte, pid, groups uint32) {
	_ = b[SockaddrNetlinkLen-1] // bounds check hint
	b[0] = SockaddrNetlinkLen
	b[1] = AFNetlinkFreeBSD
	binary.NativeEndian.PutUint16(b[2:4], 0)
	binary.NativeEndian.PutUint32(b[4:8], pid)
	binary.NativeEndian.PutUint32(b[8:12], groups)
}

// PutSockaddr encodes the sockaddr_nl of OS o into b[:12]. Unlike the
// per-OS functions it never panics: it returns an error for a short buffer,
// and one wrapping ErrNotSupported for Other.
func PutSockaddr(o OS, b []byte, pid, groups uint32) error {
	if len(b) < SockaddrNetlinkLen {
		return fmt.Errorf("netlink: sockaddr_nl: buffer of %d bytes, need %d: %w",
			len(b), SockaddrNetlinkLen, ErrInvalidSockaddr)
	}
	switch o {
	case Linux:
		PutSockaddrLinux(b, pid, groups)
	case FreeBSD:
		PutSockaddrBSD(b, pid, groups)
	default:
		return notSupported("sockaddr_nl", o)
	}
	return nil
}

// ParseSockaddr decodes a sockaddr_nl of OS o, for example one filled by
// getsockname(2) or recvfrom(2). It checks the length and the family (and
// nl_len on FreeBSD) and never panics. Extra trailing bytes are ignored. For
// Other it returns an error wrapping ErrNotSupported.
func ParseSockaddr(o OS, b []byte) (pid, groups uint32, err error) {
	if o != Linux && o != FreeBSD {
		return 0, 0, notSupported("sockaddr_nl", o)
	}
	if len(b) < SockaddrNetlinkLen {
		return 0, 0, fmt.Errorf("netlink: sockaddr_nl: %d bytes, want %d: %w",
			len(b), SockaddrNetlinkLen, ErrInvalidSockaddr)
	}
	switch o {
	case Linux:
		if fam := binary.NativeEndian.Uint16(b[0:2]); fam != AFNetlinkLinux {
			return 0, 0, fmt.Errorf("netlink: sockaddr_nl: family %d, want %d: %w",
				fam, AFNetlinkLinux, ErrInvalidSockaddr)
		}
	case FreeBSD:
		if b[0] != SockaddrNetlinkLen {
			return 0, 0, fmt.Errorf("netlink: sockaddr_nl: nl_len %d, want %d: %w",
				b[0], SockaddrNetlinkLen, ErrInvalidSockaddr)
		}
		if b[1] != AFNetlinkFreeBSD {
			return 0, 0, fmt.Errorf("netlink: sockaddr_nl: family %d, want %d: %w",
				b[1], AFNetlinkFreeBSD, ErrInvalidSockaddr)
		}
	}
	return binary.NativeEndian.Uint32(b[4:8]), binary.NativeEndian.Uint32(b[8:12]), nil
}

// notSupported returns an error wrapping ErrNotSupported that names what and
// the OS. For the host OS it names runtime.GOOS/GOARCH; otherwise the OS name
// and "any" architecture.
func notSupported(what string, o OS) error {
	goos, goarch := o.String(), "any"
	if o == Current() {
		goos, goarch = runtime.GOOS, runtime.GOARCH
	}
	return fmt.Errorf("netlink: %s on %s/%s: %w", what, goos, goarch, ErrNotSupported)
}
