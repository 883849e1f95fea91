package bus_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/bus"
	"github.com/nlbus/netlink/bus/bustest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// A subscriber that does not read loses messages and is told, with the
// count; one that keeps up loses nothing.
func TestSlowSubscriberToldOfLoss(t *testing.T) {
	ctx := testCtx(t)
	srv := bustest.NewServer(t, &bus.Server{QueueBytes: 16 << 10, QueueFrames: 64})
	pub := srv.Dial(t, nil)
	fast := srv.Dial(t, &netlink.Config{Groups: []uint32{200}})
	slowT, err := bus.DialTransport(ctx, srv.Path, 0)
	require.NoError(t, err)
	require.NoError(t, slowT.SetReadBuffer(4096)) // make the socket itself fill up soon
	slow, err := netlink.NewConn(slowT, &netlink.Config{Groups: []uint32{200}})
	require.NoError(t, err)
	defer slow.Close()

	const total, burst = 3000, 50
	payload := make([]byte, 64)
	got := 0
	for sent := 0; sent < total; {
		for range burst {
			payload[0], payload[1] = byte(sent), byte(sent>>8)
			_, err := pub.Send(ctx, netlink.Message{Header: netlink.Header{Type: 0x30}, Data: payload, Addr: netlink.Addr{Group: 200}})
			require.NoError(t, err)
			sent++
		}
		for got < sent {
			msgs, err := fast.Receive(ctx)
			require.NoError(t, err, "the fast subscriber lost messages")
			for _, m := range msgs {
				require.Equal(t, got, int(m.Data[0])|int(m.Data[1])<<8, "out of order or lost")
				got++
			}
		}
	}
	assert.Equal(t, total, got)

	// The slow one now reads: some messages, then an overrun with a count,
	// and the counts add up.
	received, lost := 0, uint64(0)
	sawOverrun := false
	for received+int(lost) < total {
		msgs, err := slow.Receive(ctx)
		if err != nil {
			require.ErrorIs(t, err, netlink.ErrOverrun)
			var oe *bus.OverrunError
			if errors.As(err, &oe) {
				lost += uint64(oe.Lost)
				assert.Equal(t, lost, oe.Total)
			}
			sawOverrun = true
			continue
		}
		received += len(msgs)
	}
	assert.True(t, sawOverrun)
	assert.Greater(t, lost, uint64(0))
	assert.Equal(t, total, received+int(lost))

	ports, err := bus.Ports(ctx, pub)
	require.NoError(t, err)
	for _, p := range ports {
		switch p.Port {
		case slow.PortID():
			assert.Equal(t, lost, p.Dropped)
		case fast.PortID():
			assert.Zero(t, p.Dropped)
		}
	}
}

// A unicast to a port whose queue is full is refused to its sender.
func TestUnicastToFullQueueRefused(t *testing.T) {
	ctx := testCtx(t)
	srv := bustest.NewServer(t, &bus.Server{QueueBytes: 8 << 10, QueueFrames: 16})
	a := srv.Dial(t, nil)
	sinkT, err := bus.DialTransport(ctx, srv.Path, 0)
	require.NoError(t, err)
	require.NoError(t, sinkT.SetReadBuffer(2048))
	defer sinkT.Close()
	var refused error
	for i := 0; i < 5000 && refused == nil; i++ {
		short, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := a.Send(short, netlink.Message{Header: netlink.Header{Type: 0x30, Flags: netlink.Request}, Data: make([]byte, 64), Addr: netlink.Addr{Port: sinkT.PortID()}})
		cancel()
		require.NoError(t, err)
		short, cancel = context.WithTimeout(ctx, time.Millisecond)
		msgs, err := a.Receive(short)
		cancel()
		if err == nil {
			for _, m := range msgs {
				if m.Header.Type == netlink.Error {
					errno, ext, _ := netlink.ParseError(m)
					refused = fmt.Errorf("%w: %s", errno, ext.Message)
				}
			}
		}
	}
	require.Error(t, refused, "no unicast was refused")
	assert.ErrorIs(t, refused, unix.EAGAIN)
	assert.Contains(t, refused.Error(), "receive queue of port")
}

// When a port goes away, the requests relayed to it fail at once for their
// callers and GroupPorts hears of it.
func TestPortCloseFailsRequestsAndNotifies(t *testing.T) {
	ctx := testCtx(t)
	srv := bustest.NewServer(t, nil)
	watcher := srv.Dial(t, &netlink.Config{Groups: []uint32{bus.GroupPorts}})
	caller := srv.Dial(t, nil)
	svcT, err := bus.DialTransport(ctx, srv.Path, 8000)
	require.NoError(t, err)

	done := make(chan error, 1)
	go func() {
		_, err := caller.Execute(ctx, netlink.Message{Header: netlink.Header{Type: 0x30}, Addr: netlink.Addr{Port: 8000}})
		done <- err
	}()
	// The service receives the request and never answers.
	buf := make([]byte, 64<<10)
	info, err := svcT.Recv(ctx, buf)
	require.NoError(t, err)
	require.Equal(t, caller.PortID(), info.Src.Port)
	start := time.Now()
	require.NoError(t, svcT.Close())

	select {
	case err := <-done:
		require.ErrorIs(t, err, unix.ECONNRESET)
		var oe *netlink.OpError
		require.ErrorAs(t, err, &oe)
		assert.Contains(t, oe.Message, "port 8000 closed before replying")
		assert.Less(t, time.Since(start), 5*time.Second)
	case <-ctx.Done():
		t.Fatal("the caller's request did not fail")
	}
	// The first notice is of the automatic port the service left for 8000.
	var rel bus.PortReleased
	for rel.Port != 8000 {
		m := recvOne(t, ctx, watcher)
		assert.Equal(t, netlink.Addr{Port: 0, Group: bus.GroupPorts}, m.Addr)
		rel, err = bus.ParsePortReleased(m.Data)
		require.NoError(t, err)
	}
	assert.Equal(t, int32(unix.Getpid()), rel.PID)

	// The port is free again.
	again, err := bus.DialTransport(ctx, srv.Path, 8000)
	require.NoError(t, err)
	again.Close()
}

// Closing the server gives clients a clear error at once.
func TestServerCloseGivesClearError(t *testing.T) {
	ctx := testCtx(t)
	srv := bustest.NewServer(t, nil)
	a := srv.Dial(t, nil)
	b := srv.Dial(t, &netlink.Config{PID: 9000})
	_ = b
	done := make(chan error, 1)
	go func() {
		_, err := a.Execute(ctx, netlink.Message{Header: netlink.Header{Type: 0x30}, Addr: netlink.Addr{Port: 9000}})
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	require.NoError(t, srv.Shutdown(sctx))
	select {
	case err := <-done:
		require.ErrorIs(t, err, bus.ErrDaemonGone)
	case <-time.After(3 * time.Second):
		t.Fatal("the request hangs after the daemon went away")
	}
	_, err := bus.Dial(&bus.Config{Socket: srv.Path})
	require.Error(t, err)
	assert.Contains(t, err.Error(), srv.Path)
}

// Once Shutdown begins nothing more is read: while it waits for a queue
// that does not drain (a member that stopped reading), a unicast sent
// meanwhile is not relayed, and the clients see the end when it gives up.
func TestShutdownStopsReading(t *testing.T) {
	ctx := testCtx(t)
	srv := bustest.NewServer(t, &bus.Server{QueueBytes: 8 << 10})
	stuck, err := bus.DialTransport(ctx, srv.Path, 0) // never reads
	require.NoError(t, err)
	defer stuck.Close()
	require.NoError(t, stuck.JoinGroup(100))
	a, err := bus.DialTransport(ctx, srv.Path, 0)
	require.NoError(t, err)
	defer a.Close()
	c, err := bus.DialTransport(ctx, srv.Path, 0)
	require.NoError(t, err)
	defer c.Close()
	msg, err := netlink.AppendMessage(nil, netlink.Message{Header: netlink.Header{Type: 0x30}, Data: make([]byte, 48)})
	require.NoError(t, err)
	for range 2000 { // past the queue and the socket buffer: drops begin
		require.NoError(t, a.Send(ctx, msg, netlink.Addr{Group: 100}))
	}
	waitStats(t, ctx, srv, "drops for the stuck member", func(st bus.Stats) bool { return st.Dropped > 0 })

	sctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(sctx) }()
	time.Sleep(100 * time.Millisecond)
	require.NoError(t, a.Send(ctx, msg, netlink.Addr{Port: c.PortID()}))
	buf := make([]byte, 1<<16)
	_, err = c.Recv(ctx, buf)
	require.ErrorIs(t, err, bus.ErrDaemonGone, "c got a message sent after Shutdown began, or no end")
	require.ErrorIs(t, <-shut, context.DeadlineExceeded, "the stuck member's queue drained?")
}

func TestMonitorSeesTraffic(t *testing.T) {
	ctx := testCtx(t)
	srv := bustest.NewServer(t, nil)
	mon, err := bus.DialTransport(ctx, srv.Path, 0)
	require.NoError(t, err)
	defer mon.Close()
	require.NoError(t, mon.JoinGroup(bus.GroupMonitor))
	a := srv.Dial(t, nil)
	b := srv.Dial(t, nil)
	_, err = a.Send(ctx, netlink.Message{Header: netlink.Header{Type: 0x31}, Data: []byte("peek"), Addr: netlink.Addr{Port: b.PortID()}})
	require.NoError(t, err)
	for {
		e, payload, err := mon.RecvFrame(ctx)
		require.NoError(t, err)
		require.NotZero(t, e.Flags&bus.FlagMonitor)
		if e.Src == a.PortID() && e.Dst == b.PortID() {
			msgs, err := netlink.ParseMessages(payload)
			require.NoError(t, err)
			assert.Equal(t, "peek", string(msgs[0].Data))
			return
		}
	}
}

// A dump served by another client: its parts arrive, and when the service
// dies in the middle the caller's dump ends with ECONNRESET at once.
func TestDumpBetweenClientsAndServiceDeath(t *testing.T) {
	ctx := testCtx(t)
	srv := bustest.NewServer(t, nil)
	caller := srv.Dial(t, nil)
	svcT, err := bus.DialTransport(ctx, srv.Path, 8200)
	require.NoError(t, err)
	defer svcT.Close()

	type result struct {
		parts []string
		err   error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		for m, err := range caller.Dump(ctx, netlink.Message{Header: netlink.Header{Type: 0x30}, Addr: netlink.Addr{Port: 8200}}) {
			if err != nil {
				r.err = err
				break
			}
			r.parts = append(r.parts, string(m.Data))
		}
		done <- r
	}()
	buf := make([]byte, 64<<10)
	info, err := svcT.Recv(ctx, buf)
	require.NoError(t, err)
	req, err := netlink.ParseHeader(buf[:info.N])
	require.NoError(t, err)
	require.NotZero(t, req.Flags&netlink.Dump)
	var out []byte
	for _, s := range []string{"one", "two"} {
		out, err = netlink.AppendMessage(out, netlink.Message{Header: netlink.Header{Type: 0x30, Flags: netlink.Multi, Sequence: req.Sequence}, Data: []byte(s)})
		require.NoError(t, err)
	}
	require.NoError(t, svcT.Send(ctx, out, info.Src))
	// The service dies before NLMSG_DONE.
	require.NoError(t, svcT.Close())
	select {
	case r := <-done:
		assert.Equal(t, []string{"one", "two"}, r.parts)
		require.ErrorIs(t, r.err, unix.ECONNRESET)
	case <-time.After(5 * time.Second):
		t.Fatal("the dump hangs after the service died")
	}
}

// Clients come and go while traffic flows and ports are listed: no
// deadlock, no race, the daemon stays consistent.
func TestChurn(t *testing.T) {
	ctx := testCtx(t)
	srv := bustest.NewServer(t, &bus.Server{QueueBytes: 32 << 10})
	pub := srv.Dial(t, nil)
	stop := make(chan struct{})
	pubDone := make(chan struct{})
	go func() {
		defer close(pubDone)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			pub.Send(ctx, netlink.Message{Header: netlink.Header{Type: 0x30}, Data: make([]byte, 64), Addr: netlink.Addr{Group: 900}})
			if i%64 == 0 {
				bus.Ports(ctx, pub)
			}
		}
	}()
	errs := make(chan error, 20)
	for w := range 20 {
		go func() {
			for i := range 15 {
				c, err := bus.Dial(&bus.Config{Socket: srv.Path, Netlink: &netlink.Config{Groups: []uint32{900, uint32(1000 + w)}}})
				if err != nil {
					errs <- err
					return
				}
				if i%2 == 0 {
					rctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
					c.Receive(rctx)
					cancel()
				}
				// pub never answers: the request stays in flight until its
				// caller gives up, and then the connection closes under it.
				ectx, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
				c.Execute(ectx, netlink.Message{Header: netlink.Header{Type: 0x30}, Addr: netlink.Addr{Port: pub.PortID()}, Data: []byte("x")})
				cancel()
				c.Close()
			}
			errs <- nil
		}()
		_ = w
	}
	for range 20 {
		select {
		case err := <-errs:
			require.NoError(t, err)
		case <-ctx.Done():
			t.Fatal("churn did not finish")
		}
	}
	close(stop)
	<-pubDone
	// The daemon notices each close on its own schedule: wait for it.
	var st bus.Stats
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		var err error
		st, err = bus.GetStats(ctx, pub)
		require.NoError(t, err)
		if st.Ports == 1 {
			break
		}
	}
	assert.Equal(t, uint32(1), st.Ports, "ports left behind: %+v", st)
}

// The table of requests in flight to a port that never answers stays
// bounded, and makes room by forgetting callers that are gone.
func TestInflightTableBounded(t *testing.T) {
	ctx := testCtx(t)
	srv := bustest.NewServer(t, &bus.Server{MaxInflight: 4})
	svc := srv.Dial(t, &netlink.Config{PID: 8300})
	delivered := func() {
		t.Helper()
		msgs, err := svc.Receive(ctx)
		require.NoError(t, err)
		require.NotEmpty(t, msgs)
	}
	// Gone callers fill the table...
	for range 4 {
		c, err := bus.Dial(&bus.Config{Socket: srv.Path})
		require.NoError(t, err)
		_, err = c.Send(ctx, netlink.Message{Header: netlink.Header{Type: 0x30, Flags: netlink.Request | netlink.Acknowledge}, Addr: netlink.Addr{Port: 8300}})
		require.NoError(t, err)
		delivered()
		c.Close()
	}
	// ...and a live caller's request is still tracked: it fails at once
	// when the service goes.
	caller := srv.Dial(t, nil)
	done := make(chan error, 1)
	go func() {
		_, err := caller.Execute(ctx, netlink.Message{Header: netlink.Header{Type: 0x30}, Addr: netlink.Addr{Port: 8300}})
		done <- err
	}()
	delivered()
	require.NoError(t, svc.Close())
	select {
	case err := <-done:
		require.ErrorIs(t, err, unix.ECONNRESET)
	case <-time.After(5 * time.Second):
		t.Fatal("the live caller's request was not tracked")
	}
}
