//go:build linux || freebsd

package netlink

import (
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestSendLimit(t *testing.T) {
	tests := []struct {
		name  string
		limit int
		size  int
		fails bool
	}{
		{name: "unknown limit", limit: 0, size: 1 << 20},
		{name: "below", limit: 65536, size: 100},
		{name: "exactly the buffer", limit: 65536, size: 65536},
		{name: "one byte over", limit: 65536, size: 65537, fails: true},
		{name: "far over", limit: 65536, size: 1 << 20, fails: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l sendLimit
			l.set(tt.limit)
			err := l.check(tt.size)
			if !tt.fails {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, unix.EMSGSIZE)
			assert.Contains(t, err.Error(), "SO_SNDBUF")
			assert.Contains(t, err.Error(), "kern.ipc.maxsockbuf")
			assert.Contains(t, err.Error(), "Config.SocketSendBuffer")
		})
	}
}

func TestBufferSizeError(t *testing.T) {
	other := os.NewSyscallError("setsockopt", unix.EINVAL)
	tests := []struct {
		name  string
		rcv   bool
		err   error
		names []string // what the message must name; none: err unchanged
	}{
		{name: "receive, unprivileged", rcv: true, err: os.NewSyscallError("setsockopt receive buffer", unix.EPERM),
			names: []string{"SO_RCVBUF", "kern.ipc.maxsockbuf", "net.netlink.nl_maxsockbuf", "Config.SocketReceiveBuffer"}},
		{name: "receive, root", rcv: true, err: os.NewSyscallError("setsockopt receive buffer", unix.ENOBUFS),
			names: []string{"SO_RCVBUF", "net.netlink.nl_maxsockbuf", "Config.SocketReceiveBuffer"}},
		{name: "send", err: os.NewSyscallError("setsockopt send buffer", unix.ENOBUFS),
			names: []string{"SO_SNDBUF", "kern.ipc.maxsockbuf", "Config.SocketSendBuffer"}},
		{name: "other error", rcv: true, err: other},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := bufferSizeError(tt.rcv, 1<<30, tt.err)
			require.ErrorIs(t, err, tt.err)
			var se *os.SyscallError
			require.True(t, errors.As(err, &se), "the system call's error is kept")
			if len(tt.names) == 0 {
				assert.Equal(t, tt.err, err)
				return
			}
			assert.Contains(t, err.Error(), "1073741824 bytes")
			for _, n := range tt.names {
				assert.Contains(t, err.Error(), n)
			}
		})
	}
}
