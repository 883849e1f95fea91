package netlink_test

import (
	"context"
	"encoding/binary"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/nltest"
	"github.com/nlbus/netlink/transport"
)

// TestPeerRequestIsNotAReply: on the bus a service's Conn receives
// requests from other ports while its own requests are in flight; a request
// with the same sequence number as one of ours never completes ours.
func TestPeerRequestIsNotAReply(t *testing.T) {
	ctx := testCtx(t)
	h := func(b []byte, dst transport.Addr) ([]nltest.Read, error) {
		req := request(b)
		// A peer's request with our sequence number, from port 42, arrives
		// first; then the real reply from where ours went.
		peer := netlink.Message{Header: netlink.Header{Type: typeGet, Flags: netlink.Request | netlink.Acknowledge, Sequence: req.Header.Sequence, PID: 42}, Data: []byte{0x42}}
		return []nltest.Read{
			{Data: datagram(peer), Src: transport.Addr{Port: 42}},
			{Data: datagram(reply(req, 0, 7), ackFor(req)), Src: dst},
		}, nil
	}
	c, _ := memConn(t, h, nltest.MemConfig{}, nil)
	// Our request goes to port 42 too: the peer's request, from the port
	// and with the number ours went with, is still not its reply.
	msgs, err := c.Execute(ctx, netlink.Message{Header: netlink.Header{Type: typeGet}, Addr: netlink.Addr{Port: 42}})
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	assert.Equal(t, []byte{7}, msgs[0].Data)

	got, err := c.Receive(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, got)
	assert.Equal(t, netlink.Request, got[0].Header.Flags&netlink.Request)
	assert.Equal(t, netlink.Addr{Port: 42}, got[0].Addr)
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestMalformedDatagramReported: a datagram that does not parse is not
// dropped silently: Receive reports it, in its place, and Stats counts it.
func TestMalformedDatagramReported(t *testing.T) {
	ctx := testCtx(t)
	c, mem := memConn(t, nil, nltest.MemConfig{}, nil)
	good := netlink.Message{Header: netlink.Header{Type: typeNew, Length: 20}, Data: []byte{1, 2, 3, 4}}
	mem.Inject(
		nltest.Read{Data: datagram(good), Src: transport.Addr{Group: 1}},
		nltest.Read{Data: []byte("add@/devices/virtual/net/veth0\x00ACTION=add\x00"), Src: transport.Addr{Group: 1}},
		nltest.Read{Data: datagram(good), Src: transport.Addr{Group: 1}},
	)
	msgs, err := c.Receive(ctx)
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	_, err = c.Receive(ctx)
	require.ErrorIs(t, err, netlink.ErrMalformed)
	var oe *netlink.OpError
	require.ErrorAs(t, err, &oe)
	assert.Contains(t, err.Error(), "group 1")
	msgs, err = c.Receive(ctx)
	require.NoError(t, err)
	require.Len(t, msgs, 1, "the Conn reads on")
	assert.Equal(t, uint64(1), c.Stats().Malformed)
}

// TestReplyAfterAck: audit answers some requests after their ACK; the
// quirks table makes Execute wait for the reply in either order, and only
// on the audit protocol.
func TestReplyAfterAck(t *testing.T) {
	const auditGet, auditListRules, auditSet = 1000, 1013, 1001
	tests := []struct {
		name     string
		typ      netlink.HeaderType
		ackFirst bool
		replies  int
	}{
		{"get-ack-first", auditGet, true, 1},
		{"get-reply-first", auditGet, false, 1},
		{"list-rules-ack-first", auditListRules, true, 3},
		{"list-rules-reply-first", auditListRules, false, 3},
		{"set-ack-only", auditSet, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			h := func(b []byte, dst transport.Addr) ([]nltest.Read, error) {
				req := request(b)
				var replies []netlink.Message
				for i := range tt.replies {
					m := reply(req, 0, byte(i))
					m.Header.Type = tt.typ
					if tt.typ == auditListRules {
						m.Header.Flags = netlink.Multi
					}
					replies = append(replies, m)
				}
				if tt.typ == auditListRules {
					replies = append(replies, doneFor(req, netlink.Multi, 0))
				}
				ack := nltest.Read{Data: datagram(ackFor(req)), Src: dst}
				var reads []nltest.Read
				if !tt.ackFirst {
					reads = append(reads, ack)
				}
				for _, r := range replies {
					reads = append(reads, nltest.Read{Data: datagram(r), Src: dst})
				}
				if tt.ackFirst {
					reads = append([]nltest.Read{ack}, reads...)
				}
				return reads, nil
			}
			c, mem := memConn(t, h, nltest.MemConfig{}, nil)
			netlink.SetKernelFacts(c, 9, true, false)
			msgs, err := c.Execute(ctx, netlink.Message{Header: netlink.Header{Type: tt.typ}})
			require.NoError(t, err)
			assert.Len(t, msgs, tt.replies)
			assert.Zero(t, mem.Pending(), "everything was read by the call")
			assert.Zero(t, c.Stats().Late)
		})
	}
}

// TestFreeBSDNotificationWithOurSequence: FreeBSD route notifications reuse
// the triggering request's header, and the group is not reported; one
// caused by another socket's request with our sequence number carries that
// socket's port and must not complete our request.
func TestFreeBSDNotificationWithOurSequence(t *testing.T) {
	ctx := testCtx(t)
	const ourPort = 77
	h := func(b []byte, dst transport.Addr) ([]nltest.Read, error) {
		req := request(b)
		notif := reply(req, 0, 0xbb)
		notif.Header.PID = 1234 // the other socket's port
		ours := reply(req, 0, 0xaa)
		ours.Header.PID = ourPort
		ack := ackFor(req)
		ack.Header.PID = ourPort
		return []nltest.Read{{Data: datagram(notif)}, {Data: datagram(ours, ack)}}, nil
	}
	c, _ := memConn(t, h, nltest.MemConfig{Port: ourPort, Coalesce: true}, nil)
	netlink.SetKernelFacts(c, 0, false, true)
	msgs, err := c.Execute(ctx, netlink.Message{Header: netlink.Header{Type: typeGet}})
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	assert.Equal(t, []byte{0xaa}, msgs[0].Data)
	got, err := c.Receive(ctx)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, []byte{0xbb}, got[0].Data, "the notification went to Receive")
}

// TestReceiveErrorsAreOpErrors: every error of Receive is an *OpError, with
// errors.Is unchanged.
func TestReceiveErrorsAreOpErrors(t *testing.T) {
	c, _ := memConn(t, nil, nltest.MemConfig{}, nil)
	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	var oe *netlink.OpError
	_, err := c.Receive(cctx)
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, "receive", oe.Op)

	require.NoError(t, c.Close())
	_, err = c.Receive(context.Background())
	require.ErrorIs(t, err, netlink.ErrClosed)
	require.ErrorAs(t, err, &oe)
}

// TestQuery: a request without an ACK ends at its first reply.
func TestQuery(t *testing.T) {
	ctx := testCtx(t)
	var acked []bool
	h := func(b []byte, dst transport.Addr) ([]nltest.Read, error) {
		req := request(b)
		acked = append(acked, req.Header.Flags&netlink.Acknowledge != 0)
		if req.Header.Type == typeNew {
			return []nltest.Read{{Data: datagram(nltest.Error(2 /*ENOENT*/, req, nil)), Src: dst}}, nil
		}
		return []nltest.Read{{Data: datagram(reply(req, 0, 9)), Src: dst}}, nil
	}
	c, mem := memConn(t, h, nltest.MemConfig{}, nil)
	var got []byte
	err := c.Query(ctx, netlink.Message{Header: netlink.Header{Type: typeGet, Flags: netlink.Acknowledge}}, func(m netlink.Message) error {
		got = append(got, m.Data...)
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, []byte{9}, got)
	assert.Equal(t, []bool{false}, acked, "Query asks for no ACK")
	err = c.Query(ctx, netlink.Message{Header: netlink.Header{Type: typeNew}}, func(netlink.Message) error { return nil })
	var oe *netlink.OpError
	require.ErrorAs(t, err, &oe)
	assert.Zero(t, mem.Pending())
}

// TestReceiveBorrowedAllocs: a service loop reading borrowed messages
// costs no allocation per message.
func TestReceiveBorrowedAllocs(t *testing.T) {
	ctx := context.Background()
	c, mem := memConn(t, nil, nltest.MemConfig{}, nil)
	var msgs []netlink.Message
	for i := range 16 {
		msgs = append(msgs, netlink.Message{Header: netlink.Header{Type: typeNew, Flags: netlink.Request, Sequence: uint32(i + 1)}, Data: []byte{byte(i), 0, 0, 0}})
	}
	d := datagram(msgs...)
	read := nltest.Read{Data: d, Src: transport.Addr{Port: 5}}
	n := 0
	fn := func(m netlink.Message) { n += len(m.Data) }
	for range 3 { // warm the buffers
		mem.Inject(read)
		require.NoError(t, c.ReceiveBorrowed(ctx, fn))
	}
	allocs := testing.AllocsPerRun(100, func() {
		mem.Inject(read)
		if err := c.ReceiveBorrowed(ctx, fn); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("allocs per 16-message batch: %v", allocs)
	// Inject itself allocates (a queue slot); nothing per message.
	assert.LessOrEqual(t, allocs, 2.0)
	assert.Positive(t, n)
}

// TestSequenceStartsRandom: two Conns do not start at the same number.
func TestSequenceStartsRandom(t *testing.T) {
	seqs := map[uint32]bool{}
	for range 4 {
		c, _ := memConn(t, nil, nltest.MemConfig{}, nil)
		h, err := c.Send(context.Background(), netlink.Message{Header: netlink.Header{Type: typeNew}})
		require.NoError(t, err)
		seqs[h.Sequence] = true
	}
	assert.Len(t, seqs, 4)
}

// Receive's queue holding many messages with loss reports among them: each
// Receive returns the messages up to the next report, or the report, in
// order, and draining it copies nothing again (a report once made every
// Receive copy the whole rest of the queue back: 80,000 messages with 800
// reports took seconds).
func TestReceiveQueueWithManyMarks(t *testing.T) {
	c := nltest.Dial(func(req []netlink.Message) ([]netlink.Message, error) { return nil, nil })
	defer c.Close()
	mem, err := nltest.MemOf(c)
	require.NoError(t, err)
	const dgs, every = 2000, 10 // 20,000 messages, a malformed datagram after every 10th datagram
	var want []int              // the messages' numbers, -1 for a report
	seq := 0
	for i := range dgs {
		var dg []byte
		for range 10 {
			var err error
			dg, err = netlink.AppendMessage(dg, netlink.Message{Header: netlink.Header{Type: 0x20}, Data: binary.NativeEndian.AppendUint32(nil, uint32(seq))})
			require.NoError(t, err)
			want = append(want, seq)
			seq++
		}
		mem.Inject(nltest.Read{Data: dg, Src: netlink.Addr{Group: 1}})
		if i%every == every-1 {
			mem.Inject(nltest.Read{Data: []byte{1, 2, 3}}) // malformed: reported in its place
			want = append(want, -1)
		}
	}
	ctx := testCtx(t)
	// A request's reader reads everything injected before its reply and
	// queues it for Receive.
	_, err = c.Execute(ctx, netlink.Message{Header: netlink.Header{Type: 0x20}})
	require.NoError(t, err)

	var got []int
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for len(got) < len(want) {
		err := c.ReceiveBorrowed(ctx, func(m netlink.Message) {
			got = append(got, int(binary.NativeEndian.Uint32(m.Data)))
		})
		if err != nil {
			require.ErrorIs(t, err, netlink.ErrMalformed)
			got = append(got, -1)
		}
	}
	runtime.ReadMemStats(&after)
	require.Equal(t, want, got)
	// got's growth and one error per report; a copy of the rest of the
	// queue per report would be over 2,000,000 allocations.
	assert.Less(t, after.Mallocs-before.Mallocs, uint64(5000), "allocations while draining")
}

// Reports of malformed datagrams count against Config.QueueLimit like
// messages: a flood of garbage (anyone in the namespace may send to a
// USERSOCK port) queues at most QueueLimit bytes of reports and then one
// overrun, not a report per datagram.
func TestMalformedFloodBounded(t *testing.T) {
	const limit = 4096
	c := nltest.Dial(func(req []netlink.Message) ([]netlink.Message, error) { return nil, nil }, nltest.WithConfig(&netlink.Config{QueueLimit: limit}))
	defer c.Close()
	mem, err := nltest.MemOf(c)
	require.NoError(t, err)
	const flood = 10000
	for range flood {
		mem.Inject(nltest.Read{Data: []byte{1, 2, 3}})
	}
	ctx := testCtx(t)
	_, err = c.Execute(ctx, netlink.Message{Header: netlink.Header{Type: 0x20}}) // reads the flood first
	require.NoError(t, err)
	st := c.Stats()
	assert.Equal(t, uint64(flood), st.Malformed, "every datagram counted")
	assert.Positive(t, st.Overruns, "the reports past the limit became an overrun")

	malformed, overruns := 0, 0
	for {
		rctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		err := c.ReceiveBorrowed(rctx, func(netlink.Message) { t.Fatal("a message from garbage") })
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			break
		}
		switch {
		case errors.Is(err, netlink.ErrMalformed):
			malformed++
		case errors.Is(err, netlink.ErrOverrun):
			overruns++
		default:
			t.Fatalf("unexpected %v", err)
		}
	}
	t.Logf("%d reports, %d overruns queued for %d malformed datagrams", malformed, overruns, flood)
	assert.Less(t, malformed, limit/16, "reports beyond the queue's bound")
	assert.Positive(t, malformed)
	assert.Equal(t, 1, overruns)
}
