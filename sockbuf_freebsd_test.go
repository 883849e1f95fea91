//go:build freebsd

package netlink_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/nlbus/netlink"
)

// A request larger than SO_SNDBUF fails at once with an explained EMSGSIZE:
// some FreeBSD revisions would answer EWOULDBLOCK forever. After
// SetWriteBuffer the new size is the bound.
func TestKernelFreeBSDOversizedWrite(t *testing.T) {
	c := dialFreeBSD(t, nil)
	tests := []struct {
		name    string
		setBuf  int // SetWriteBuffer first, when non-zero
		size    int
		refused bool
	}{
		{name: "twice the default buffer", size: 128 << 10, refused: true},
		{name: "fits after raising the buffer", setBuf: 256 << 10, size: 128 << 10},
		{name: "above the raised buffer", size: 512 << 10, refused: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setBuf != 0 {
				require.NoError(t, c.SetWriteBuffer(tt.setBuf))
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			// RTM_GETLINK padded with zeros (the kernel may refuse what follows
			// the header; only the write's fate matters here).
			data := make([]byte, tt.size)
			start := time.Now()
			_, err := c.Execute(ctx, netlink.Message{Header: netlink.Header{Type: bsdRTMGetLink}, Data: data})
			took := time.Since(start)
			if tt.refused {
				require.ErrorIs(t, err, unix.EMSGSIZE)
				assert.Contains(t, err.Error(), "SO_SNDBUF")
				assert.Less(t, took, time.Second, "refused at once, not after waiting")
				return
			}
			assert.NotErrorIs(t, err, unix.EMSGSIZE)
			assert.NotErrorIs(t, err, context.DeadlineExceeded, "the kernel took the write")
		})
	}
}

// Socket buffer sizes above kern.ipc.maxsockbuf fail on FreeBSD (Linux caps
// them); the error names the sysctl.
func TestKernelFreeBSDBufferAboveMaxsockbuf(t *testing.T) {
	max, err := unix.SysctlUint64("kern.ipc.maxsockbuf")
	require.NoError(t, err)
	over := int(2 * max)
	c := dialFreeBSD(t, nil)

	err = c.SetWriteBuffer(over)
	require.ErrorIs(t, err, unix.ENOBUFS)
	assert.Contains(t, err.Error(), "kern.ipc.maxsockbuf")

	err = c.SetReadBuffer(over)
	if os.Geteuid() == 0 {
		// Root may go beyond kern.ipc.maxsockbuf, up to net.netlink.nl_maxsockbuf.
		t.Logf("SO_RCVBUF of %d bytes as root: %v", over, err)
	} else {
		require.ErrorIs(t, err, unix.EPERM)
		assert.Contains(t, err.Error(), "kern.ipc.maxsockbuf")
	}

	_, err = netlink.Dial(netlink.Route, &netlink.Config{SocketSendBuffer: over})
	require.ErrorIs(t, err, unix.ENOBUFS)
	assert.Contains(t, err.Error(), "kern.ipc.maxsockbuf")
}
