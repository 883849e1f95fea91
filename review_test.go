package netlink_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/nltest"
	"github.com/nlbus/netlink/transport"
)

// A finished request's sequence number must only drop late messages from
// the port the request went to: a bus peer numbers its own messages from 1
// too, and its message with the same number is not a late reply.
func TestConnRecentSequenceIsPerPort(t *testing.T) {
	ctx := context.Background()
	h := func(b []byte, dst transport.Addr) ([]nltest.Read, error) {
		req := request(b)
		return []nltest.Read{{Data: datagram(ackFor(req)), Src: dst}}, nil
	}
	c, mem := memConn(t, h, nltest.MemConfig{}, nil)
	for _, port := range []uint32{0, 4000} {
		t.Run("", func(t *testing.T) {
			req := netlink.Message{Header: netlink.Header{Type: typeGet}, Addr: netlink.Addr{Port: port}}
			_, err := c.Execute(ctx, req)
			require.NoError(t, err)
			seq := request(mem.Sent()[len(mem.Sent())-1]).Header.Sequence

			// A peer on another port sends a message that happens to carry
			// the same sequence number.
			peer := netlink.Message{Header: netlink.Header{Type: typeNew, Sequence: seq}, Data: []byte{0xcc}}
			mem.Inject(nltest.Read{Data: datagram(peer), Src: transport.Addr{Port: port + 7}})

			rctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			got, err := c.Receive(rctx)
			require.NoError(t, err, "the peer's message was dropped as a late reply")
			require.Len(t, got, 1)
			assert.Equal(t, port+7, got[0].Addr.Port)
			assert.Equal(t, []byte{0xcc}, got[0].Data)
		})
	}
}

// A transport failure met by Receive itself is reported once, like one met
// by another reader.
func TestConnReceiveTransientErrorOnce(t *testing.T) {
	ctx := context.Background()
	errBoom := errors.New("boom")
	note := datagram(netlink.Message{Header: netlink.Header{Type: typeNew}, Data: []byte{1}})
	c, mem := memConn(t, nil, nltest.MemConfig{}, nil)
	mem.Inject(nltest.Read{Err: errBoom}, nltest.Read{Data: note, Src: transport.Addr{Group: 1}})

	_, err := c.Receive(ctx)
	require.ErrorIs(t, err, errBoom)
	var oe *netlink.OpError
	require.ErrorAs(t, err, &oe)

	rctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	got, err := c.Receive(rctx)
	require.NoError(t, err, "the same failure was reported twice")
	require.Len(t, got, 1)
	assert.Equal(t, []byte{1}, got[0].Data)
}

// A transport failure queued for Receive behind an overrun is reported
// after it, not lost.
func TestConnReceiveErrorAfterOverrun(t *testing.T) {
	ctx := context.Background()
	errBoom := errors.New("boom")
	// The first request's reply is lost in the overrun.
	var sent atomic.Int32
	h := func(b []byte, dst transport.Addr) ([]nltest.Read, error) {
		if sent.Add(1) == 1 {
			return nil, nil
		}
		return []nltest.Read{{Data: datagram(ackFor(request(b))), Src: dst}}, nil
	}
	c, mem := memConn(t, h, nltest.MemConfig{}, nil)
	req := netlink.Message{Header: netlink.Header{Type: typeGet}}

	mem.Inject(nltest.Read{Overrun: true})
	_, err := c.Execute(ctx, req)
	require.ErrorIs(t, err, netlink.ErrOverrun)
	mem.Inject(nltest.Read{Err: errBoom})
	_, err = c.Execute(ctx, req)
	require.ErrorIs(t, err, errBoom)

	_, err = c.Receive(ctx)
	require.ErrorIs(t, err, netlink.ErrOverrun)
	rctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_, err = c.Receive(rctx)
	require.ErrorIs(t, err, errBoom, "the failure was lost")
}
