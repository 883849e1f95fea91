package compat

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRawSockaddrNetlinkBSDLayout pins the hand-laid struct to FreeBSD's
// struct sockaddr_nl (sys/netlink/netlink.h).
func TestRawSockaddrNetlinkBSDLayout(t *testing.T) {
	var sa RawSockaddrNetlinkBSD
	require.Equal(t, uintptr(SockaddrNetlinkLen), unsafe.Sizeof(sa))

	tests := []struct {
		name   string
		offset uintptr
		size   uintptr
		want   uintptr
		wantSz uintptr
	}{
		{"Len", unsafe.Offsetof(sa.Len), unsafe.Sizeof(sa.Len), 0, 1},
		{"Family", unsafe.Offsetof(sa.Family), unsafe.Sizeof(sa.Family), 1, 1},
		{"Pad", unsafe.Offsetof(sa.Pad), unsafe.Sizeof(sa.Pad), 2, 2},
		{"Pid", unsafe.Offsetof(sa.Pid), unsafe.Sizeof(sa.Pid), 4, 4},
		{"Groups", unsafe.Offsetof(sa.Groups), unsafe.Sizeof(sa.Groups), 8, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.offset, "offset")
			assert.Equal(t, tt.wantSz, tt.size, "size")
		})
	}
}

// TestRawSockaddrNetlinkBSDMatchesEncoder checks that the struct's memory and
// PutSockaddrBSD agree byte for byte in host byte order.
func TestRawSockaddrNetlinkBSDMatchesEncoder(t *testing.T) {
	sa := RawSockaddrNetlinkBSD{
		Len:    SockaddrNetlinkLen,
		Family: AFNetlinkFreeBSD,
		Pid:    0x01020304,
		Groups: 0xA0B0C0D0,
	}
	raw := unsafe.Slice((*byte)(unsafe.Pointer(&sa)), unsafe.Sizeof(sa))

	var b [SockaddrNetlinkLen]byte
	PutSockaddrBSD(b[:], sa.Pid, sa.Groups)
	assert.Equal(t, raw, b[:])
}
