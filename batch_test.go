package netlink_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/nltest"
	"github.com/nlbus/netlink/transport"
)

// TestBatchOverMem: on a non-kernel transport every message asks for an
// ACK; datagrams are split by size, ACK count and destination; each result
// carries its message's replies and error.
func TestBatchOverMem(t *testing.T) {
	ctx := testCtx(t)
	var datagrams [][]netlink.Message
	h := func(b []byte, dst transport.Addr) ([]nltest.Read, error) {
		reqs, err := netlink.ParseMessages(b)
		require.NoError(t, err)
		datagrams = append(datagrams, reqs)
		var out []netlink.Message
		for _, r := range reqs {
			if r.Header.Flags&netlink.Acknowledge == 0 {
				t.Errorf("message %d without NLM_F_ACK", r.Header.Sequence)
			}
			if len(r.Data) > 0 && r.Data[0] == 0xee {
				e := nltest.Error(unix.EINVAL, r, &netlink.ExtAck{Message: "bad value"})
				e.Header.Sequence = r.Header.Sequence
				out = append(out, e)
				continue
			}
			out = append(out, reply(r, 0, r.Data...), ackFor(r))
		}
		return []nltest.Read{{Data: datagram(out...), Src: dst}}, nil
	}
	c, _ := memConn(t, h, nltest.MemConfig{}, nil)
	var msgs []netlink.Message
	for i := range 200 {
		m := netlink.Message{Header: netlink.Header{Type: typeNew}, Data: []byte{byte(i), 0, 0, 0}}
		if i == 150 {
			m.Data[0] = 0xee
		}
		if i >= 190 {
			m.Addr = netlink.Addr{Port: 9}
		}
		msgs = append(msgs, m)
	}
	res, err := c.Batch(ctx, msgs, nil)
	require.ErrorIs(t, err, unix.EINVAL)
	require.Len(t, res, 200)
	for i, r := range res {
		if i == 150 {
			var oe *netlink.OpError
			require.ErrorAs(t, r.Err, &oe)
			assert.Equal(t, "bad value", oe.Message)
			assert.Equal(t, r.Header.Sequence, oe.Sequence)
			continue
		}
		require.NoError(t, r.Err, i)
		assert.True(t, r.Ack.Received)
		require.Len(t, r.Replies, 1)
		assert.Equal(t, msgs[i].Data, r.Replies[0].Data)
	}
	// 64 ACKs per datagram at most, and a new datagram for port 9.
	require.Len(t, datagrams, 4)
	assert.Len(t, datagrams[0], 64)
	assert.Len(t, datagrams[2], 190-128)
	assert.Len(t, datagrams[3], 10)
	assert.Equal(t, uint64(4), c.Stats().Sends)
}
