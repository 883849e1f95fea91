package netlink_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/transport"
)

// bare is a transport with only the required methods: it must be usable as
// it is, and everything optional must be refused, never faked.
type bare struct{ closed bool }

func (b *bare) Send(context.Context, []byte, transport.Addr) error { return nil }
func (b *bare) Recv(ctx context.Context, _ []byte) (transport.Info, error) {
	<-ctx.Done()
	return transport.Info{}, ctx.Err()
}
func (b *bare) PortID() uint32          { return 7 }
func (b *bare) JoinGroup(uint32) error  { return nil }
func (b *bare) LeaveGroup(uint32) error { return nil }
func (b *bare) Close() error            { b.closed = true; return nil }

func TestNewConnRefusesWhatTheTransportCannotDo(t *testing.T) {
	tests := []struct {
		name string
		cfg  netlink.Config
	}{
		{"netns", netlink.Config{NetNS: 3}},
		{"pid", netlink.Config{PID: 9}},
		{"request-sockets", netlink.Config{RequestSockets: 2}},
		{"strict", netlink.Config{Strict: true}},
		{"socket-receive-buffer", netlink.Config{SocketReceiveBuffer: 1 << 20}},
		{"socket-send-buffer", netlink.Config{SocketSendBuffer: 1 << 20}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := &bare{}
			_, err := netlink.NewConn(tr, &tt.cfg)
			require.ErrorIs(t, err, netlink.ErrNotSupported)
			var oe *netlink.OpError
			require.ErrorAs(t, err, &oe)
			assert.True(t, tr.closed, "NewConn closes the transport it fails on")
		})
	}
}

func TestOptionalInterfacesRefusedOnBareTransport(t *testing.T) {
	c, err := netlink.NewConn(&bare{}, nil) // extended ack is a default, not a demand
	require.NoError(t, err)
	defer c.Close()
	assert.Equal(t, uint32(7), c.PortID())
	require.ErrorIs(t, c.SetOption(netlink.OptionNoENOBUFS, true), netlink.ErrNotSupported)
	require.ErrorIs(t, c.SetReadBuffer(1<<20), netlink.ErrNotSupported)
	require.ErrorIs(t, c.SetWriteBuffer(1<<20), netlink.ErrNotSupported)
	require.ErrorIs(t, c.SetDeadline(time.Now()), netlink.ErrNotSupported)
	require.NoError(t, c.JoinGroup(3))
	// Contexts still bound calls without a Deadliner.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = c.Receive(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}
