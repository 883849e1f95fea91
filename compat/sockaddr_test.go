package compat

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPutSockaddrLinux(t *testing.T) {
	var b [SockaddrNetlinkLen]byte
	PutSockaddrLinux(b[:], 0x11223344, 0x55667788)
	assert.Equal(t, uint16(AFNetlinkLinux), binary.NativeEndian.Uint16(b[0:2]))
	assert.Equal(t, uint16(0), binary.NativeEndian.Uint16(b[2:4]))
	assert.Equal(t, uint32(0x11223344), binary.NativeEndian.Uint32(b[4:8]))
	assert.Equal(t, uint32(0x55667788), binary.NativeEndian.Uint32(b[8:12]))
	assert.Panics(t, func() { PutSockaddrLinux(make([]byte, 11), 1, 2) })
}

func TestPutSockaddrBSD(t *testing.T) {
	b := make([]byte, 16)
	for i := range b {
		b[i] = 0xEE // the pad must be cleared; bytes past 12 untouched
	}
	PutSockaddrBSD(b, 0x11223344, 0x55667788)
	assert.Equal(t, byte(12), b[0])
	assert.Equal(t, byte(38), b[1])
	assert.Equal(t, uint16(0), binary.NativeEndian.Uint16(b[2:4]))
	assert.Equal(t, uint32(0x11223344), binary.NativeEndian.Uint32(b[4:8]))
	assert.Equal(t, uint32(0x55667788), binary.NativeEndian.Uint32(b[8:12]))
	assert.Equal(t, []byte{0xEE, 0xEE, 0xEE, 0xEE}, b[12:])
	assert.Panics(t, func() { PutSockaddrBSD(nil, 1, 2) })
}

func TestPutSockaddr(t *testing.T) {
	tests := []struct {
		name    string
		os      OS
		n       int
		wantErr error
	}{
		{"linux", Linux, 12, nil},
		{"freebsd", FreeBSD, 12, nil},
		{"short", Linux, 11, ErrInvalidSockaddr},
		{"nil", FreeBSD, 0, ErrInvalidSockaddr},
		{"other", Other, 12, ErrNotSupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := make([]byte, tt.n)
			err := PutSockaddr(tt.os, b, 7, 9)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			pid, groups, err := ParseSockaddr(tt.os, b)
			require.NoError(t, err)
			assert.Equal(t, uint32(7), pid)
			assert.Equal(t, uint32(9), groups)
		})
	}
}

func TestParseSockaddr(t *testing.T) {
	linux := make([]byte, 12)
	PutSockaddrLinux(linux, 100, 0x10)
	bsd := make([]byte, 12)
	PutSockaddrBSD(bsd, 200, 0x20)

	withByte := func(b []byte, i int, v byte) []byte {
		c := append([]byte(nil), b...)
		c[i] = v
		return c
	}

	tests := []struct {
		name       string
		os         OS
		b          []byte
		wantPid    uint32
		wantGroups uint32
		wantErr    error
	}{
		{"linux", Linux, linux, 100, 0x10, nil},
		{"linux trailing bytes", Linux, append(append([]byte(nil), linux...), 0, 0), 100, 0x10, nil},
		{"freebsd", FreeBSD, bsd, 200, 0x20, nil},
		{"freebsd bytes as linux", Linux, bsd, 0, 0, ErrInvalidSockaddr},
		{"linux bytes as freebsd", FreeBSD, linux, 0, 0, ErrInvalidSockaddr},
		{"freebsd bad nl_len", FreeBSD, withByte(bsd, 0, 16), 0, 0, ErrInvalidSockaddr},
		{"freebsd bad family", FreeBSD, withByte(bsd, 1, 16), 0, 0, ErrInvalidSockaddr},
		{"linux short", Linux, linux[:11], 0, 0, ErrInvalidSockaddr},
		{"freebsd short", FreeBSD, bsd[:2], 0, 0, ErrInvalidSockaddr},
		{"nil", Linux, nil, 0, 0, ErrInvalidSockaddr},
		{"other", Other, linux, 0, 0, ErrNotSupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pid, groups, err := ParseSockaddr(tt.os, tt.b)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				assert.Zero(t, pid)
				assert.Zero(t, groups)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantPid, pid)
			assert.Equal(t, tt.wantGroups, groups)
		})
	}
}

// FuzzParseSockaddr checks that ParseSockaddr never panics and that every
// address it accepts re-encodes to the same first 12 bytes.
func FuzzParseSockaddr(f *testing.F) {
	linux := make([]byte, 12)
	PutSockaddrLinux(linux, 1234, 1)
	bsd := make([]byte, 12)
	PutSockaddrBSD(bsd, 262144, 0)
	f.Add(uint8(Linux), linux)
	f.Add(uint8(FreeBSD), bsd)
	f.Add(uint8(FreeBSD), []byte{12, 38})
	f.Add(uint8(Other), []byte{})

	f.Fuzz(func(t *testing.T, o uint8, b []byte) {
		os := OS(o % 3)
		pid, groups, err := ParseSockaddr(os, b)
		if err != nil {
			return
		}
		out := make([]byte, SockaddrNetlinkLen)
		require.NoError(t, PutSockaddr(os, out, pid, groups))
		// The pad is not checked on input, so compare all but the pad.
		assert.Equal(t, b[:2], out[:2])
		assert.Equal(t, b[4:12], out[4:12])
	})
}
