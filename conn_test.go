package netlink_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/nltest"
	"github.com/nlbus/netlink/transport"
)

// memConn returns a Conn over a nltest.Mem served by h.
func memConn(t *testing.T, h nltest.Handler, mcfg nltest.MemConfig, cfg *netlink.Config) (*netlink.Conn, *nltest.Mem) {
	t.Helper()
	mem := nltest.NewMem(h, mcfg)
	c, err := netlink.NewConn(mem, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c, mem
}

// datagram marshals msgs into one buffer.
func datagram(msgs ...netlink.Message) []byte {
	var b []byte
	for _, m := range msgs {
		var err error
		if b, err = netlink.AppendMessage(b, m); err != nil {
			panic(err)
		}
	}
	return b
}

// request parses the single request of a sent datagram.
func request(b []byte) netlink.Message {
	msgs, err := netlink.ParseMessages(b)
	if err != nil || len(msgs) != 1 {
		panic(fmt.Sprintf("bad request: %d messages, %v", len(msgs), err))
	}
	return msgs[0]
}

func reply(req netlink.Message, flags netlink.HeaderFlags, data ...byte) netlink.Message {
	return netlink.Message{Header: netlink.Header{Type: typeNew, Flags: flags, Sequence: req.Header.Sequence}, Data: data}
}

func ackFor(req netlink.Message) netlink.Message {
	m := nltest.Error(0, req, nil)
	m.Header.Sequence = req.Header.Sequence
	return m
}

func doneFor(req netlink.Message, flags netlink.HeaderFlags, code int32) netlink.Message {
	m := doneMsg(code, flags, nil)
	m.Header.Sequence = req.Header.Sequence
	return m
}

// dumpHandler answers every request with a dump of n messages in one datagram.
func dumpHandler(n int) nltest.Handler {
	return func(b []byte, dst transport.Addr) ([]nltest.Read, error) {
		req := request(b)
		var msgs []netlink.Message
		for i := range n {
			msgs = append(msgs, reply(req, netlink.Multi, byte(i)))
		}
		msgs = append(msgs, doneFor(req, netlink.Multi, 0))
		return []nltest.Read{{Data: datagram(msgs...), Src: dst}}, nil
	}
}

var dumpReq = netlink.Message{Header: netlink.Header{Type: typeGet, Flags: netlink.Dump}}

func TestConnReads(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		mcfg nltest.MemConfig
	}{
		{name: "one-read"},
		{name: "split", mcfg: nltest.MemConfig{Split: true}},
		{name: "coalesce", mcfg: nltest.MemConfig{Coalesce: true}},
		{name: "split-coalesce", mcfg: nltest.MemConfig{Split: true, Coalesce: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mem := memConn(t, dumpHandler(50), tt.mcfg, nil)
			for range 3 {
				msgs, err := c.Execute(ctx, dumpReq)
				require.NoError(t, err)
				require.Len(t, msgs, 50)
				for i, m := range msgs {
					assert.Equal(t, []byte{byte(i)}, m.Data)
				}
			}
			assert.Zero(t, mem.Pending())
		})
	}
}

func TestConnFreeBSDDump(t *testing.T) {
	ctx := context.Background()
	// Replies to several requests are queued before the first read, so a
	// coalescing read returns messages of several of them at once.
	var mem *nltest.Mem
	h := func(b []byte, dst transport.Addr) ([]nltest.Read, error) {
		req := request(b)
		if req.Header.Type == typeNew {
			return []nltest.Read{{Data: datagram(reply(req, 0, 1), ackFor(req))}}, nil
		}
		// A dump whose DONE carries a positive errno and no NLM_F_MULTI.
		return []nltest.Read{
			{Data: datagram(reply(req, netlink.Multi, 1))},
			{Data: datagram(reply(req, netlink.Multi, 2))},
			{Data: datagram(doneFor(req, 0, int32(unix.ENODEV)))},
		}, nil
	}
	c, mem := memConn(t, h, nltest.MemConfig{Coalesce: true}, nil)
	msgs, err := c.Execute(ctx, dumpReq)
	require.ErrorIs(t, err, unix.ENODEV)
	assert.Len(t, msgs, 2)
	msgs, err = c.Execute(ctx, netlink.Message{Header: netlink.Header{Type: typeNew}})
	require.NoError(t, err)
	assert.Len(t, msgs, 1)
	assert.Zero(t, mem.Pending())
}

func TestConnDumpInterrupted(t *testing.T) {
	ctx := context.Background()
	newConn := func(interrupts int) *netlink.Conn {
		c := nltest.Dial(func([]netlink.Message) ([]netlink.Message, error) {
			return []netlink.Message{{Header: netlink.Header{Type: typeNew}}, {Header: netlink.Header{Type: typeNew}}}, nil
		}, nltest.InterruptDumps(interrupts), nltest.Split())
		t.Cleanup(func() { c.Close() })
		return c
	}
	t.Run("execute", func(t *testing.T) {
		c := newConn(1)
		msgs, err := c.Execute(ctx, dumpReq)
		require.ErrorIs(t, err, netlink.ErrDumpInterrupted)
		var oe *netlink.OpError
		require.ErrorAs(t, err, &oe)
		assert.Equal(t, "dump", oe.Op)
		assert.Len(t, msgs, 2)
		msgs, err = c.Execute(ctx, dumpReq)
		require.NoError(t, err)
		assert.Len(t, msgs, 2)
	})
	t.Run("dump-iterator", func(t *testing.T) {
		c := newConn(1)
		var n int
		var errs []error
		for _, err := range c.Dump(ctx, dumpReq) {
			if err != nil {
				errs = append(errs, err)
				continue
			}
			require.Empty(t, errs, "the error comes last")
			n++
		}
		assert.Equal(t, 2, n)
		require.Len(t, errs, 1)
		require.ErrorIs(t, errs[0], netlink.ErrDumpInterrupted)
	})
	t.Run("retry-clears", func(t *testing.T) {
		c := newConn(3)
		calls := 0
		msgs, err := netlink.Retry(ctx, 5, func(ctx context.Context) ([]netlink.Message, error) {
			calls++
			return c.Execute(ctx, dumpReq)
		})
		require.NoError(t, err)
		assert.Equal(t, 4, calls)
		assert.Len(t, msgs, 2)
	})
	t.Run("retry-bounded", func(t *testing.T) {
		c := newConn(-1)
		calls := 0
		msgs, err := netlink.Retry(ctx, 3, func(ctx context.Context) ([]netlink.Message, error) {
			calls++
			return c.Execute(ctx, dumpReq)
		})
		require.ErrorIs(t, err, netlink.ErrDumpInterrupted)
		assert.Equal(t, 3, calls)
		assert.Len(t, msgs, 2)
	})
}

func TestConnOverrun(t *testing.T) {
	ctx := context.Background()
	c, mem := memConn(t, nil, nltest.MemConfig{}, &netlink.Config{Groups: []uint32{1}})
	assert.Equal(t, []uint32{1}, mem.Groups())
	note := func(b byte) nltest.Read {
		return nltest.Read{Data: datagram(netlink.Message{Header: netlink.Header{Type: typeNew}, Data: []byte{b}}), Src: transport.Addr{Group: 1}}
	}
	mem.Inject(note(1), nltest.Read{Overrun: true}, note(2), note(3))

	got, err := c.Receive(ctx)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, []byte{1}, got[0].Data)

	_, err = c.Receive(ctx)
	require.ErrorIs(t, err, netlink.ErrOverrun)
	var oe *netlink.OpError
	require.ErrorAs(t, err, &oe)

	// The messages after the overrun are still delivered, in order (the
	// Conn drains the socket after an overrun, so they may come at once).
	var after []byte
	for len(after) < 2 {
		got, err = c.Receive(ctx)
		require.NoError(t, err, "the Conn keeps working after an overrun")
		for _, m := range got {
			assert.Equal(t, uint32(1), m.Addr.Group)
			after = append(after, m.Data...)
		}
	}
	assert.Equal(t, []byte{2, 3}, after)
	assert.Zero(t, mem.Pending())
}

// A kernel socket reports ENOBUFS at the start of a read, ahead of the
// messages queued before the loss, and keeps dropping silently until its
// queue is read empty: the Conn drains it and reports the overrun after
// what the drain read, with the transport's error, so that a caller who
// rebuilds its view on an overrun never applies an older message on top.
func TestConnOverrunAfterDrainedMessages(t *testing.T) {
	ctx := context.Background()
	c, mem := memConn(t, nil, nltest.MemConfig{}, &netlink.Config{Groups: []uint32{1}})
	note := func(b byte) nltest.Read {
		return nltest.Read{Data: datagram(netlink.Message{Header: netlink.Header{Type: typeNew}, Data: []byte{b}}), Src: transport.Addr{Group: 1}}
	}
	enobufs := nltest.Read{Err: fmt.Errorf("%w: %w", transport.ErrOverrun, unix.ENOBUFS)}
	mem.Inject(note(1), enobufs, note(2), note(3))

	var before []byte
	var err error
	for err == nil {
		var got []netlink.Message
		got, err = c.Receive(ctx)
		for _, m := range got {
			before = append(before, m.Data...)
		}
	}
	require.ErrorIs(t, err, netlink.ErrOverrun)
	require.ErrorIs(t, err, unix.ENOBUFS, "the transport's error is kept")
	var oe *netlink.OpError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, []byte{1, 2, 3}, before, "the messages read in the drain come before the overrun")
	assert.Zero(t, mem.Pending())

	// A second loss is reported again, after the first was.
	mem.Inject(enobufs, note(4))
	got, err := c.Receive(ctx)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, []byte{4}, got[0].Data)
	_, err = c.Receive(ctx)
	require.ErrorIs(t, err, unix.ENOBUFS)
}

// A transport that reports each loss in its stream with a count (the bus
// daemon) gets every report in its place, the ones the Conn reads while it
// drains after the first included: none is dropped, none folded into
// another.
func TestConnOverrunReportsInPlaceDuringDrain(t *testing.T) {
	ctx := context.Background()
	c, mem := memConn(t, nil, nltest.MemConfig{}, &netlink.Config{Groups: []uint32{1}})
	note := func(b byte) nltest.Read {
		return nltest.Read{Data: datagram(netlink.Message{Header: netlink.Header{Type: typeNew}, Data: []byte{b}}), Src: transport.Addr{Group: 1}}
	}
	lost := func(n int) nltest.Read {
		return nltest.Read{Err: fmt.Errorf("%w: %d lost", transport.ErrOverrun, n)}
	}
	mem.Inject(note(1), lost(5), note(2), lost(7), lost(9), note(3))

	var got []string
	for range 20 {
		msgs, err := c.Receive(ctx)
		if err != nil {
			require.ErrorIs(t, err, netlink.ErrOverrun)
			got = append(got, err.Error()[len(err.Error())-7:])
			continue
		}
		for _, m := range msgs {
			got = append(got, fmt.Sprint(m.Data[0]))
		}
		if len(got) > 0 && got[len(got)-1] == "3" {
			break
		}
	}
	assert.Equal(t, []string{"1", " 5 lost", "2", " 7 lost", " 9 lost", "3"}, got)
	assert.Equal(t, uint64(3), c.Stats().Overruns)
}

func TestConnOverrunDuringExecute(t *testing.T) {
	ctx := context.Background()
	// An overrun read while a request waits does not fail the request;
	// Receive reports it.
	c := nltest.Dial(func([]netlink.Message) ([]netlink.Message, error) {
		return []netlink.Message{{Header: netlink.Header{Type: typeNew}}}, nil
	}, nltest.Overruns(2))
	defer c.Close()
	for range 2 {
		msgs, err := c.Execute(ctx, netlink.Message{Header: netlink.Header{Type: typeGet}})
		require.NoError(t, err)
		assert.Len(t, msgs, 1)
	}
	// Each loss the transport reported in its stream is reported: two
	// reports with nothing between them are two (a bus daemon's carry
	// what each lost); a kernel's ENOBUFS twice in a row would be one.
	for range 2 {
		_, err := c.Receive(ctx)
		require.ErrorIs(t, err, netlink.ErrOverrun)
	}
	require.NoError(t, nltest.Multicast(c, 2, netlink.Message{Header: netlink.Header{Type: typeNew}}))
	got, err := c.Receive(ctx)
	require.NoError(t, err)
	assert.Len(t, got, 1)
}

func TestConnOverrunLosesReply(t *testing.T) {
	ctx := context.Background()
	lose := true
	h := func(b []byte, dst transport.Addr) ([]nltest.Read, error) {
		req := request(b)
		if lose {
			// The socket overflowed and the reply was dropped with the rest.
			lose = false
			return []nltest.Read{{Overrun: true}}, nil
		}
		return []nltest.Read{{Data: datagram(reply(req, 0, 1), ackFor(req)), Src: dst}}, nil
	}
	c, _ := memConn(t, h, nltest.MemConfig{}, nil)
	req := netlink.Message{Header: netlink.Header{Type: typeGet}}
	_, err := c.Execute(ctx, req)
	require.ErrorIs(t, err, netlink.ErrOverrun, "a request whose reply was lost fails instead of waiting")
	msgs, err := c.Execute(ctx, req)
	require.NoError(t, err)
	assert.Len(t, msgs, 1)
}

func TestConnTruncated(t *testing.T) {
	ctx := context.Background()
	for _, coalesce := range []bool{false, true} {
		t.Run(fmt.Sprintf("coalesce=%v", coalesce), func(t *testing.T) {
			h := func(b []byte, dst transport.Addr) ([]nltest.Read, error) {
				req := request(b)
				big := reply(req, 0, make([]byte, 40<<10)...)
				return []nltest.Read{{Data: datagram(big, ackFor(req)), Src: dst}}, nil
			}
			c, mem := memConn(t, h, nltest.MemConfig{Coalesce: coalesce}, &netlink.Config{MessageBufferSize: 1024})
			req := netlink.Message{Header: netlink.Header{Type: typeGet}}
			_, err := c.Execute(ctx, req)
			require.ErrorIs(t, err, netlink.ErrTruncated)
			var oe *netlink.OpError
			require.ErrorAs(t, err, &oe)

			msgs, err := c.Execute(ctx, req)
			require.NoError(t, err, "the buffer grew")
			require.Len(t, msgs, 1)
			assert.Len(t, msgs[0].Data, 40<<10)
			assert.Zero(t, mem.Pending())

			// Receive learns that messages were lost.
			_, err = c.Receive(ctx)
			require.ErrorIs(t, err, netlink.ErrOverrun)
		})
	}
	t.Run("receive", func(t *testing.T) {
		c, mem := memConn(t, nil, nltest.MemConfig{}, nil)
		big := datagram(netlink.Message{Header: netlink.Header{Type: typeNew}, Data: make([]byte, 100<<10)})
		mem.Inject(nltest.Read{Data: big, Src: transport.Addr{Group: 1}}, nltest.Read{Data: big, Src: transport.Addr{Group: 1}})
		_, err := c.Receive(ctx)
		require.ErrorIs(t, err, netlink.ErrTruncated)
		// The loss is reported once: the next call gets the next datagram,
		// read whole with the grown buffer.
		got, err := c.Receive(ctx)
		require.NoError(t, err)
		require.Len(t, got, 1)
		assert.Len(t, got[0].Data, 100<<10)
	})
}

func TestConnStaleAcks(t *testing.T) {
	ctx := context.Background()
	var (
		mu      sync.Mutex
		mute    bool
		history []netlink.Message
	)
	h := func(b []byte, dst transport.Addr) ([]nltest.Read, error) {
		req := request(b)
		mu.Lock()
		defer mu.Unlock()
		history = append(history, req)
		if mute {
			return nil, nil
		}
		return []nltest.Read{{Data: datagram(reply(req, 0, 0x01), ackFor(req)), Src: dst}}, nil
	}
	c, mem := memConn(t, h, nltest.MemConfig{}, nil)
	req := netlink.Message{Header: netlink.Header{Type: typeGet}}

	// A request that finished: its ACK arrives again.
	_, err := c.Execute(ctx, req)
	require.NoError(t, err)
	first := history[0]
	mem.Inject(nltest.Read{Data: datagram(ackFor(first), reply(first, 0, 0xee))})

	// A request cancelled before its reply.
	mu.Lock()
	mute = true
	mu.Unlock()
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	_, err = c.Execute(cctx, req)
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded)
	mu.Lock()
	mute = false
	cancelled := history[1]
	mu.Unlock()
	mem.Inject(nltest.Read{Data: datagram(reply(cancelled, 0, 0xee), ackFor(cancelled))})

	for range 3 {
		msgs, err := c.Execute(ctx, req)
		require.NoError(t, err)
		require.Len(t, msgs, 1)
		assert.NotEqual(t, byte(0xee), msgs[0].Data[0], "a late reply surfaced")
	}
	assert.Zero(t, mem.Pending())

	// The finished request's repeated ACK is absorbed, its late reply is
	// handed to Receive (nothing is dropped without a trace); the cancelled
	// request's reply and ACK are discarded as an abandoned request's.
	got, err := c.Receive(ctx)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, first.Header.Sequence, got[0].Header.Sequence)
	assert.Equal(t, []byte{0xee}, got[0].Data)
	st := c.Stats()
	assert.Equal(t, uint64(1), st.Late)
	assert.Equal(t, uint64(1), st.Absorbed)
	assert.Equal(t, uint64(2), st.Discarded)

	rctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	got, err = c.Receive(rctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Empty(t, got)
}

func TestConnWrongPort(t *testing.T) {
	ctx := context.Background()
	h := func(b []byte, dst transport.Addr) ([]nltest.Read, error) {
		req := request(b)
		// Another port answers first with a matching sequence number.
		spoof := nltest.Read{Data: datagram(reply(req, 0, 0xbb), ackFor(req)), Src: transport.Addr{Port: dst.Port + 100}}
		real := nltest.Read{Data: datagram(reply(req, 0, 0xaa), ackFor(req)), Src: dst}
		return []nltest.Read{spoof, real}, nil
	}
	c, _ := memConn(t, h, nltest.MemConfig{}, nil)
	for _, port := range []uint32{0, 4000} {
		msgs, err := c.Execute(ctx, netlink.Message{Header: netlink.Header{Type: typeGet}, Addr: netlink.Addr{Port: port}})
		require.NoError(t, err)
		require.Len(t, msgs, 1)
		assert.Equal(t, []byte{0xaa}, msgs[0].Data)
		assert.Equal(t, port, msgs[0].Addr.Port)

		got, err := c.Receive(ctx)
		require.NoError(t, err)
		require.Len(t, got, 2, "the impostor's messages go to Receive")
		assert.Equal(t, port+100, got[0].Addr.Port)
	}
}

func TestConnMulticastNotTakenAsReply(t *testing.T) {
	ctx := context.Background()
	h := func(b []byte, dst transport.Addr) ([]nltest.Read, error) {
		req := request(b)
		note := reply(req, 0, 0xbb) // same sequence number, but multicast
		return []nltest.Read{
			{Data: datagram(note), Src: transport.Addr{Group: 3}},
			{Data: datagram(reply(req, 0, 0xaa), ackFor(req)), Src: dst},
		}, nil
	}
	c, _ := memConn(t, h, nltest.MemConfig{}, nil)
	msgs, err := c.Execute(ctx, netlink.Message{Header: netlink.Header{Type: typeGet}})
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	assert.Equal(t, []byte{0xaa}, msgs[0].Data)

	got, err := c.Receive(ctx)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, []byte{0xbb}, got[0].Data)
	assert.Equal(t, uint32(3), got[0].Addr.Group)
}

func TestConnQueueLimit(t *testing.T) {
	ctx := context.Background()
	const limit = 1000
	h := func(b []byte, dst transport.Addr) ([]nltest.Read, error) {
		req := request(b)
		reads := []nltest.Read{}
		for i := range 10 {
			reads = append(reads, nltest.Read{Data: datagram(netlink.Message{Header: netlink.Header{Type: typeNew}, Data: make([]byte, 200-netlink.HeaderLen)}), Src: transport.Addr{Group: uint32(i + 1)}})
		}
		return append(reads, nltest.Read{Data: datagram(ackFor(req)), Src: dst}), nil
	}
	c, _ := memConn(t, h, nltest.MemConfig{}, &netlink.Config{QueueLimit: limit})
	_, err := c.Execute(ctx, netlink.Message{Header: netlink.Header{Type: typeGet}})
	require.NoError(t, err)

	var got []netlink.Message
	for {
		msgs, err := c.Receive(ctx)
		if err != nil {
			require.ErrorIs(t, err, netlink.ErrOverrun)
			break
		}
		got = append(got, msgs...)
	}
	assert.Len(t, got, limit/200)
	for i, m := range got {
		assert.Equal(t, uint32(i+1), m.Addr.Group, "the oldest are kept")
	}
	// The queue is usable again.
	_, err = c.Execute(ctx, netlink.Message{Header: netlink.Header{Type: typeGet}})
	require.NoError(t, err)
	got, err = c.Receive(ctx)
	require.NoError(t, err)
	assert.Len(t, got, limit/200)
}

func TestConnSetOptionUnsupported(t *testing.T) {
	c, mem := memConn(t, nil, nltest.MemConfig{Unsupported: []transport.Option{transport.OptionNoENOBUFS}}, nil)
	err := c.SetOption(transport.OptionNoENOBUFS, true)
	require.ErrorIs(t, err, netlink.ErrNotSupported)
	var oe *netlink.OpError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, "set-option", oe.Op)

	require.NoError(t, c.SetOption(transport.OptionCapAck, true))
	assert.True(t, mem.Option(transport.OptionCapAck))
	assert.True(t, mem.Option(transport.OptionExtendedAck), "extended acks are on by default")

	_, err = netlink.NewConn(nltest.NewMem(nil, nltest.MemConfig{Unsupported: []transport.Option{transport.OptionStrictCheck}}), &netlink.Config{Strict: true})
	require.ErrorIs(t, err, netlink.ErrNotSupported)
	// Extended acks are best effort.
	c2, err := netlink.NewConn(nltest.NewMem(nil, nltest.MemConfig{Unsupported: []transport.Option{transport.OptionExtendedAck}}), nil)
	require.NoError(t, err)
	require.NoError(t, c2.Close())
}

// TestConnDumpBreakThenDump: a dump left early is abandoned; the next dump
// on the Conn waits for its end (reading it meanwhile) and succeeds at its
// first try, as the Linux kernel would otherwise refuse it with EBUSY.
func TestConnDumpBreakThenDump(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	busy := false // a dump is in progress until its DONE is read
	var mem *nltest.Mem
	h := func(b []byte, dst transport.Addr) ([]nltest.Read, error) {
		req := request(b)
		mu.Lock()
		defer mu.Unlock()
		if busy && mem.Pending() > 0 {
			// The kernel refuses a second dump on a socket whose dump has
			// not been read to its end.
			m := nltest.Error(unix.EBUSY, req, nil)
			m.Header.Sequence = req.Header.Sequence
			return []nltest.Read{{Data: datagram(m), Src: dst}}, nil
		}
		busy = true
		var msgs []netlink.Message
		for i := range 20 {
			msgs = append(msgs, reply(req, netlink.Multi, byte(i)))
		}
		return []nltest.Read{{Data: datagram(append(msgs, doneFor(req, netlink.Multi, 0))...), Src: dst}}, nil
	}
	c, mem := memConn(t, h, nltest.MemConfig{Split: true}, nil)
	netlink.SetKernelFacts(c, 0, true, false)
	for i := range 3 {
		n := 0
		for m, err := range c.Dump(ctx, dumpReq) {
			require.NoError(t, err)
			assert.Equal(t, []byte{byte(n)}, m.Data)
			n++
			if n == 3 {
				break
			}
		}
		assert.Equal(t, 3, n)
		if i == 0 {
			assert.NotZero(t, mem.Pending(), "the rest is left for later reads")
		}
	}
	msgs, err := c.Execute(ctx, dumpReq)
	require.NoError(t, err)
	assert.Len(t, msgs, 20)
	assert.Zero(t, mem.Pending())
	// Three abandoned dumps: 17 data messages and a DONE each.
	assert.Equal(t, uint64(3*18), c.Stats().Discarded)
}

// A dump read whole from one datagram of 40 messages is handed out in
// order across the reader's batches, and left at any point (before, on and
// after a batch's edge) it counts exactly what it did not hand out.
func TestConnDumpLeftAcrossBatches(t *testing.T) {
	ctx := context.Background()
	h := func(b []byte, dst transport.Addr) ([]nltest.Read, error) {
		req := request(b)
		var msgs []netlink.Message
		for i := range 40 {
			msgs = append(msgs, reply(req, netlink.Multi, byte(i)))
		}
		return []nltest.Read{{Data: datagram(append(msgs, doneFor(req, netlink.Multi, 0))...), Src: dst}}, nil
	}
	c, _ := memConn(t, h, nltest.MemConfig{}, nil)
	var discarded uint64
	for _, stop := range []int{1, 15, 16, 17, 32, 33, 40, 41} {
		n := 0
		for m, err := range c.Dump(ctx, dumpReq) {
			require.NoError(t, err)
			require.Equal(t, []byte{byte(n)}, m.Data, "message %d", n)
			n++
			if n == stop {
				break
			}
		}
		assert.Equal(t, min(stop, 40), n)
		if stop <= 40 {
			discarded += uint64(40 - stop + 1) // the rest and the DONE
		}
		assert.Equal(t, discarded, c.Stats().Discarded, "stopped at %d", stop)
	}
}

func TestConnDoCallback(t *testing.T) {
	ctx := context.Background()
	c := nltest.Dial(func(req []netlink.Message) ([]netlink.Message, error) {
		return []netlink.Message{{Header: netlink.Header{Type: typeNew}, Data: req[0].Data}, {Header: netlink.Header{Type: typeNew}, Data: req[0].Data}}, nil
	}, nltest.Split())
	defer c.Close()

	t.Run("reentrant", func(t *testing.T) {
		n := 0
		_, err := c.Do(ctx, netlink.Message{Header: netlink.Header{Type: typeGet, Flags: netlink.Dump}, Data: []byte{1}}, func(m netlink.Message) error {
			// The callback may use the Conn.
			inner, err := c.Execute(ctx, netlink.Message{Header: netlink.Header{Type: typeGet}, Data: []byte{2}})
			require.NoError(t, err)
			require.Len(t, inner, 2)
			assert.Equal(t, []byte{2}, inner[0].Data)
			assert.Equal(t, []byte{1}, m.Data)
			n++
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, 2, n)
	})
	t.Run("error-stops-callbacks", func(t *testing.T) {
		stop := errors.New("stop")
		n := 0
		_, err := c.Do(ctx, netlink.Message{Header: netlink.Header{Type: typeGet, Flags: netlink.Dump}}, func(netlink.Message) error {
			n++
			return stop
		})
		require.ErrorIs(t, err, stop)
		assert.Equal(t, 1, n)
		msgs, err := c.Execute(ctx, dumpReq)
		require.NoError(t, err)
		assert.Len(t, msgs, 2)
	})
}

func TestConnUnblock(t *testing.T) {
	ctx := context.Background()
	silent := func([]byte, transport.Addr) ([]nltest.Read, error) { return nil, nil }
	req := netlink.Message{Header: netlink.Header{Type: typeGet}}
	tests := []struct {
		name string
		run  func(c *netlink.Conn) error
		wake func(c *netlink.Conn)
		want error
	}{
		{name: "execute-context", want: context.Canceled, run: func(c *netlink.Conn) error {
			ctx, cancel := context.WithCancel(ctx)
			time.AfterFunc(20*time.Millisecond, cancel)
			_, err := c.Execute(ctx, req)
			return err
		}},
		{name: "receive-context", want: context.DeadlineExceeded, run: func(c *netlink.Conn) error {
			ctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
			defer cancel()
			_, err := c.Receive(ctx)
			return err
		}},
		{name: "execute-deadline", want: os.ErrDeadlineExceeded, run: func(c *netlink.Conn) error {
			require.NoError(t, c.SetReadDeadline(time.Now().Add(20*time.Millisecond)))
			_, err := c.Execute(ctx, req)
			return err
		}},
		{name: "receive-deadline", want: os.ErrDeadlineExceeded, run: func(c *netlink.Conn) error {
			require.NoError(t, c.SetDeadline(time.Now().Add(20*time.Millisecond)))
			_, err := c.Receive(ctx)
			return err
		}},
		{name: "receive-close", want: netlink.ErrClosed, wake: func(c *netlink.Conn) { c.Close() }, run: func(c *netlink.Conn) error {
			_, err := c.Receive(ctx)
			return err
		}},
		{name: "execute-close", want: netlink.ErrClosed, wake: func(c *netlink.Conn) { c.Close() }, run: func(c *netlink.Conn) error {
			_, err := c.Execute(ctx, req)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := memConn(t, silent, nltest.MemConfig{}, nil)
			if tt.wake != nil {
				time.AfterFunc(20*time.Millisecond, func() { tt.wake(c) })
			}
			errc := make(chan error, 1)
			go func() { errc <- tt.run(c) }()
			select {
			case err := <-errc:
				require.ErrorIs(t, err, tt.want)
				var oe *netlink.OpError
				if tt.want == os.ErrDeadlineExceeded {
					require.ErrorAs(t, err, &oe)
					assert.True(t, oe.Timeout())
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the call stayed blocked")
			}
		})
	}
	t.Run("after-close", func(t *testing.T) {
		c, _ := memConn(t, silent, nltest.MemConfig{}, nil)
		require.NoError(t, c.Close())
		require.NoError(t, c.Close(), "Close is idempotent")
		_, err := c.Execute(ctx, req)
		require.ErrorIs(t, err, netlink.ErrClosed)
		_, err = c.Receive(ctx)
		require.ErrorIs(t, err, netlink.ErrClosed)
		_, err = c.Send(ctx, req)
		require.ErrorIs(t, err, netlink.ErrClosed)
		require.ErrorIs(t, c.JoinGroup(1), netlink.ErrClosed)
		require.ErrorIs(t, c.LeaveGroup(1), netlink.ErrClosed)
		// Whether or not the transport has them (the in-memory one has no
		// options nor buffer sizes).
		require.ErrorIs(t, c.SetOption(netlink.OptionExtendedAck, true), netlink.ErrClosed)
		require.ErrorIs(t, c.SetReadBuffer(1<<20), netlink.ErrClosed)
		require.ErrorIs(t, c.SetWriteBuffer(1<<20), netlink.ErrClosed)
		require.ErrorIs(t, c.SetDeadline(time.Now()), netlink.ErrClosed)
	})
	t.Run("deadline-cleared", func(t *testing.T) {
		c := nltest.Dial(func([]netlink.Message) ([]netlink.Message, error) { return nil, nil })
		defer c.Close()
		require.NoError(t, c.SetReadDeadline(time.Now().Add(-time.Second)))
		_, err := c.Receive(ctx)
		require.ErrorIs(t, err, os.ErrDeadlineExceeded)
		require.NoError(t, c.SetReadDeadline(time.Time{}))
		_, err = c.Execute(ctx, req)
		require.NoError(t, err)
	})
}

// A request made while another goroutine is blocked reading for Receive gets
// its reply through that reader.
func TestConnExecuteWhileReceiving(t *testing.T) {
	ctx := context.Background()
	c := nltest.Dial(func(req []netlink.Message) ([]netlink.Message, error) {
		return []netlink.Message{{Header: netlink.Header{Type: typeNew}, Data: req[0].Data}}, nil
	})
	defer c.Close()
	recv := make(chan []netlink.Message, 1)
	go func() {
		msgs, _ := c.Receive(ctx)
		recv <- msgs
	}()
	time.Sleep(10 * time.Millisecond) // let Receive take the read token
	for i := range 10 {
		msgs, err := c.Execute(ctx, netlink.Message{Header: netlink.Header{Type: typeGet}, Data: []byte{byte(i)}})
		require.NoError(t, err)
		require.Len(t, msgs, 1)
		assert.Equal(t, []byte{byte(i)}, msgs[0].Data)
	}
	require.NoError(t, nltest.Multicast(c, 1, netlink.Message{Header: netlink.Header{Type: typeNew}, Data: []byte{0xcc}}))
	select {
	case msgs := <-recv:
		require.Len(t, msgs, 1)
		assert.Equal(t, []byte{0xcc}, msgs[0].Data)
	case <-time.After(5 * time.Second):
		t.Fatal("Receive did not return the notification")
	}
}

func TestConnSendReceive(t *testing.T) {
	ctx := context.Background()
	c := nltest.Dial(func(req []netlink.Message) ([]netlink.Message, error) {
		return []netlink.Message{{Header: netlink.Header{Type: typeNew}, Data: []byte("pong")}}, nil
	}, nltest.Port(1234))
	defer c.Close()
	assert.Equal(t, uint32(1234), c.PortID())
	h, err := c.Send(ctx, netlink.Message{Header: netlink.Header{Type: typeGet, Flags: netlink.Request | netlink.Acknowledge}, Data: []byte("ping")})
	require.NoError(t, err)
	assert.NotZero(t, h.Sequence)
	assert.Equal(t, uint32(netlink.HeaderLen+4), h.Length)
	msgs, err := c.Receive(ctx)
	require.NoError(t, err)
	require.Len(t, msgs, 2, "replies to Send go to Receive")
	assert.Equal(t, h.Sequence, msgs[0].Header.Sequence)
	assert.Equal(t, uint32(1234), msgs[0].Header.PID)
	assert.Equal(t, netlink.Error, msgs[1].Header.Type)

	require.NoError(t, c.JoinGroup(5))
	require.NoError(t, c.LeaveGroup(5))
	require.NoError(t, c.SetWriteDeadline(time.Time{}))
}

// TestConnConcurrent runs many requests at once on one Conn while the fake
// kernel answers them in batches, out of order, several requests' replies in
// one datagram, so that every reader hands out replies to others.
func TestConnConcurrent(t *testing.T) {
	const (
		goroutines = 16
		requests   = 200
	)
	ctx := context.Background()
	var (
		mu      sync.Mutex
		pending []netlink.Message
		mem     *nltest.Mem
	)
	flush := func() {
		mu.Lock()
		batch := pending
		pending = nil
		mu.Unlock()
		if len(batch) == 0 {
			return
		}
		slices.Reverse(batch)
		var msgs []netlink.Message
		for _, req := range batch {
			if req.Header.Flags&netlink.Dump == netlink.Dump {
				msgs = append(msgs, reply(req, netlink.Multi, req.Data...), reply(req, netlink.Multi, req.Data...), doneFor(req, netlink.Multi, 0))
			} else {
				msgs = append(msgs, reply(req, 0, req.Data...), ackFor(req))
			}
		}
		mem.Inject(nltest.Read{Data: datagram(msgs...)})
	}
	h := func(b []byte, dst transport.Addr) ([]nltest.Read, error) {
		req := request(b)
		mu.Lock()
		pending = append(pending, req)
		n := len(pending)
		mu.Unlock()
		if n >= 5 {
			flush()
		}
		return nil, nil
	}
	c, mem := memConn(t, h, nltest.MemConfig{}, nil)
	stop := make(chan struct{})
	flusherDone := make(chan struct{})
	go func() {
		defer close(flusherDone)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				flush()
			}
		}
	}()
	defer func() { close(stop); <-flusherDone }()

	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range requests {
				data := binary.BigEndian.AppendUint32([]byte{byte(g)}, uint32(i))
				req := netlink.Message{Header: netlink.Header{Type: typeGet}, Data: data}
				want := 1
				if (g+i)%2 == 1 {
					req.Header.Flags = netlink.Dump
					want = 2
				}
				msgs, err := c.Execute(ctx, req)
				if err == nil && len(msgs) != want {
					err = fmt.Errorf("goroutine %d request %d: %d replies, want %d", g, i, len(msgs), want)
				}
				for _, m := range msgs {
					if err == nil && string(m.Data) != string(data) {
						err = fmt.Errorf("goroutine %d request %d: got reply %x", g, i, m.Data)
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	assert.Zero(t, mem.Pending())
}

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
		t.Run(fmt.Sprintf("port %d", port), func(t *testing.T) {
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
	var (
		mu   sync.Mutex
		sent int
	)
	h := func(b []byte, dst transport.Addr) ([]nltest.Read, error) {
		mu.Lock()
		sent++
		first := sent == 1
		mu.Unlock()
		if first {
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
