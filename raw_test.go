package netlink_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/nltest"
	"github.com/nlbus/netlink/transport"
)

func TestReadDatagram(t *testing.T) {
	ctx := context.Background()
	c, mem := memConn(t, nil, nltest.MemConfig{}, nil)
	// Not netlink at all: a uevent's text, whose first bytes read as a
	// huge length.
	text := []byte("add@/devices/virtual/net/veth0\x00ACTION=add\x00")
	mem.Inject(nltest.Read{Data: text, Src: transport.Addr{Group: 1}})
	b := make([]byte, 4096)
	n, src, err := c.ReadDatagram(ctx, b)
	require.NoError(t, err)
	assert.Equal(t, text, b[:n])
	assert.Equal(t, netlink.Addr{Group: 1}, src)

	mem.Inject(nltest.Read{Data: text})
	n, _, err = c.ReadDatagram(ctx, b[:8])
	require.ErrorIs(t, err, netlink.ErrTruncated)
	assert.Equal(t, text[:8], b[:n])

	mem.Inject(nltest.Read{Overrun: true})
	_, _, err = c.ReadDatagram(ctx, b)
	require.ErrorIs(t, err, netlink.ErrOverrun)

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, _, err = c.ReadDatagram(cctx, b)
	require.ErrorIs(t, err, context.Canceled)
	var oe *netlink.OpError
	require.ErrorAs(t, err, &oe)

	require.NoError(t, c.Close())
	_, _, err = c.ReadDatagram(ctx, b)
	require.ErrorIs(t, err, netlink.ErrClosed)
}
