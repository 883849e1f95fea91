package bus_test

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/bus"
	"github.com/nlbus/netlink/bus/bustest"
	"github.com/nlbus/netlink/genl"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// serveRig is a family served by ServeWith, with what the reader's hooks
// saw.
type serveRig struct {
	srv   *bustest.Server
	conn  *netlink.Conn // the service's
	fam   genl.Family
	stats bus.ServeStats

	mu       sync.Mutex
	queued   map[uint32]int // requests queued, by port
	released map[uint32]int // releases applied, by port

	readerDone atomic.Bool
	cancel     context.CancelFunc
	done       chan error // ServeWith's result
}

// startServe registers the kv family name on srv and serves it with
// handlers and opts (nil: the defaults) until the test ends.
func startServe(t *testing.T, srv *bustest.Server, name string, opts *bus.ServeOptions, handlers map[uint8]bus.Handler) *serveRig {
	t.Helper()
	r := newServeRig(t, srv, name, opts)
	sctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- bus.ServeWith(sctx, r.conn, r.fam, handlers, r.options(opts)) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(5 * time.Second):
			t.Error("ServeWith did not return")
		}
	})
	return r
}

func newServeRig(t *testing.T, srv *bustest.Server, name string, opts *bus.ServeOptions) *serveRig {
	t.Helper()
	r := &serveRig{srv: srv, conn: srv.Dial(t, nil), queued: map[uint32]int{}, released: map[uint32]int{}, done: make(chan error, 1)}
	fam, err := bus.RegisterFamily(testCtx(t), r.conn, kvSpec(name))
	require.NoError(t, err)
	r.fam = fam
	return r
}

// options returns a copy of opts (nil: the defaults) counting into r.stats,
// with the hooks feeding r.
func (r *serveRig) options(opts *bus.ServeOptions) *bus.ServeOptions {
	var o bus.ServeOptions
	if opts != nil {
		o.QueueLen, o.QueueBytes = opts.QueueLen, opts.QueueBytes
	}
	o.Stats = &r.stats
	r.readerDone.Store(false)
	bus.SetServeHooks(&o, bus.ServeHooks{
		Queued: func(port uint32) {
			r.mu.Lock()
			r.queued[port]++
			r.mu.Unlock()
		},
		Released: func(port uint32) {
			r.mu.Lock()
			r.released[port]++
			r.mu.Unlock()
		},
		ReaderDone: func() { r.readerDone.Store(true) },
	})
	return &o
}

// waitQueued waits until n requests from port were queued, in all.
func (r *serveRig) waitQueued(t *testing.T, port uint32, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.queued[port] >= n
	}, 5*time.Second, time.Millisecond, "waiting for %d requests from port %d to be queued", n, port)
}

// waitReleased waits until the release of port was applied n times.
func (r *serveRig) waitReleased(t *testing.T, port uint32, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.released[port] >= n
	}, 5*time.Second, time.Millisecond, "waiting for the release of port %d", port)
}

// counts returns the rig's ServeStats as plain numbers.
func (r *serveRig) counts() serveCounts {
	return serveCounts{
		Served: r.stats.Served.Load(), Skipped: r.stats.Skipped.Load(), Cancelled: r.stats.Cancelled.Load(),
		Abandoned: r.stats.Abandoned.Load(), Overruns: r.stats.Overruns.Load(), Unanswered: r.stats.Unanswered.Load(),
	}
}

type serveCounts struct{ Served, Skipped, Cancelled, Abandoned, Overruns, Unanswered uint64 }

// sendKV sends a request for cmd of fam from c without waiting for its
// answer.
func sendKV(t *testing.T, ctx context.Context, c *netlink.Conn, fam genl.Family, cmd uint8, flags netlink.HeaderFlags, seq uint32, attrs []byte) {
	t.Helper()
	_, err := c.Send(ctx, netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(fam.ID), Flags: netlink.Request | flags, Sequence: seq},
		Data:   append([]byte{cmd, uint8(fam.Version), 0, 0}, attrs...),
	})
	require.NoError(t, err)
}

// gated returns a handler that reports each call on started and returns
// once gate is closed (or its context ends).
func gated(started chan<- uint32, gate <-chan struct{}) bus.Handler {
	return func(ctx context.Context, w *bus.ReplyWriter, r *bus.Request) error {
		started <- r.Port
		select {
		case <-gate:
		case <-ctx.Done():
		}
		return nil
	}
}

// serveGoneResult is what a handler of TestServeCallerGoneMidHandler saw:
// its context's cause and its Reply's error.
type serveGoneResult struct{ cause, reply error }

// streamingDump returns a handler factory for TestServeCallerGoneMidHandler:
// a dump that replies until a Reply fails, pausing between parts, and
// reports that failure and its context's cause.
func streamingDump(pause time.Duration) func(started chan<- uint32, res chan<- serveGoneResult) bus.Handler {
	return func(started chan<- uint32, res chan<- serveGoneResult) bus.Handler {
		return func(ctx context.Context, w *bus.ReplyWriter, r *bus.Request) error {
			started <- r.Port
			for i := uint32(0); ; i++ {
				if err := w.Reply(ctx, 0, func(ae *netlink.AttributeEncoder) { ae.Uint32(kvValue, i) }); err != nil {
					res <- serveGoneResult{context.Cause(ctx), err}
					return err
				}
				if pause > 0 {
					time.Sleep(pause)
				}
			}
		}
	}
}

// serveGoneCase is a case of TestServeCallerGoneMidHandler.
type serveGoneCase struct {
	name    string
	cmd     uint8
	flags   netlink.HeaderFlags
	handler func(started chan<- uint32, res chan<- serveGoneResult) bus.Handler
	// caller reads what it needs to before it goes.
	caller func(t *testing.T, ctx context.Context, c *netlink.Conn)
	rounds int // 0: one
}

// A caller that goes while its handler runs: the handler's context ends
// with a cause wrapping ErrCallerGone, its Reply fails with such an error
// instead of sending, and the service goes on serving others.
func TestServeCallerGoneMidHandler(t *testing.T) {
	type result = serveGoneResult
	cases := []serveGoneCase{
		{
			name: "do waiting on its context", cmd: kvBlock, flags: netlink.Acknowledge,
			handler: func(started chan<- uint32, res chan<- result) bus.Handler {
				return func(ctx context.Context, w *bus.ReplyWriter, r *bus.Request) error {
					started <- r.Port
					<-ctx.Done()
					res <- result{context.Cause(ctx), w.Reply(context.Background(), 0, nil)}
					return ctx.Err()
				}
			},
			caller: func(*testing.T, context.Context, *netlink.Conn) {},
		},
		{
			// The probe's case: a dump that would stream for long.
			name: "dump streaming", cmd: kvList, flags: netlink.Dump,
			handler: streamingDump(time.Millisecond),
			caller: func(t *testing.T, ctx context.Context, c *netlink.Conn) {
				for range 3 { // the dump streams: some parts arrive
					recvOne(t, ctx, c)
				}
			},
		},
		{
			// The caller stops reading: its queue at the daemon fills and
			// the Reply waits to send when the caller goes; it fails
			// saying why, not with the context's bare error. Rounds,
			// as the Reply is not always waiting then.
			name: "dump waiting on a full caller", cmd: kvList, flags: netlink.Dump, rounds: 10,
			handler: streamingDump(0),
			caller: func(t *testing.T, ctx context.Context, c *netlink.Conn) {
				for range 3 {
					recvOne(t, ctx, c)
				}
				time.Sleep(2 * time.Millisecond)
			},
		},
	}
	for _, tc := range cases {
		for range max(1, tc.rounds) {
			testServeCallerGone(t, tc)
		}
	}
}

func testServeCallerGone(t *testing.T, tc serveGoneCase) {
	type result = serveGoneResult
	t.Run(tc.name, func(t *testing.T) {
		ctx := testCtx(t)
		srv := bustest.NewServer(t, nil)
		started, res := make(chan uint32, 1), make(chan result, 1)
		var sets atomic.Int32
		rig := startServe(t, srv, "gone", nil, map[uint8]bus.Handler{
			tc.cmd: tc.handler(started, res),
			kvSet: func(ctx context.Context, w *bus.ReplyWriter, r *bus.Request) error {
				sets.Add(1)
				return w.Reply(ctx, 0, nil)
			},
		})
		caller := srv.Dial(t, nil)
		sendKV(t, ctx, caller, rig.fam, tc.cmd, tc.flags, 1, nil)
		select {
		case port := <-started:
			require.Equal(t, caller.PortID(), port)
		case <-ctx.Done():
			t.Fatal("the handler was not called")
		}
		tc.caller(t, ctx, caller)
		require.NoError(t, caller.Close())

		var r result
		select {
		case r = <-res:
		case <-ctx.Done():
			t.Fatal("the handler did not learn that its caller went")
		}
		require.ErrorIs(t, r.cause, bus.ErrCallerGone, "context.Cause of the handler's context")
		require.ErrorIs(t, r.reply, bus.ErrCallerGone, "Reply after the caller went")
		assert.Contains(t, r.cause.Error(), "was released")

		// The service goes on: another caller is served.
		gc := genl.NewConn(srv.Dial(t, nil))
		_, err := gc.Execute(ctx, rig.fam.ID, genl.Message{Header: genl.Header{Command: kvSet}, Data: kvAttrs(t, "k", 1)}, 0)
		require.NoError(t, err)
		assert.Equal(t, int32(1), sets.Load())
		require.Eventually(t, func() bool { return rig.counts().Cancelled == 1 }, 2*time.Second, time.Millisecond)
		assert.Equal(t, serveCounts{Served: 2, Cancelled: 1}, rig.counts())
	})
}

// The requests a caller queued before it went are dropped and counted, not
// run; a new connection bound to the same port number afterwards is served
// like anyone else, although the old owner's requests are still queued
// ahead of its own when it asks.
func TestServeSkipsGoneCallerAndServesNewOwner(t *testing.T) {
	ctx := testCtx(t)
	srv := bustest.NewServer(t, nil)
	started, gate := make(chan uint32, 1), make(chan struct{})
	var setPorts []uint32
	var setMu sync.Mutex
	rig := startServe(t, srv, "skip", nil, map[uint8]bus.Handler{
		kvBlock: gated(started, gate),
		kvSet: func(ctx context.Context, w *bus.ReplyWriter, r *bus.Request) error {
			setMu.Lock()
			setPorts = append(setPorts, r.Port)
			setMu.Unlock()
			return w.Reply(ctx, 0, func(ae *netlink.AttributeEncoder) { ae.Uint32(kvValue, 42) })
		},
	})
	// The handler is busy for someone else...
	sendKV(t, ctx, srv.Dial(t, nil), rig.fam, kvBlock, netlink.Acknowledge, 1, nil)
	<-started
	// ...while the caller at port 7000 queues five requests and goes.
	const port = 7000
	old := srv.Dial(t, &netlink.Config{PID: port})
	require.Equal(t, uint32(port), old.PortID())
	for seq := uint32(1); seq <= 5; seq++ {
		sendKV(t, ctx, old, rig.fam, kvSet, netlink.Acknowledge, seq, kvAttrs(t, "old", seq))
	}
	rig.waitQueued(t, port, 5)
	require.NoError(t, old.Close())
	rig.waitReleased(t, port, 1)
	assert.Equal(t, uint64(5), rig.counts().Skipped, "dropped at the release")

	// A new connection takes the port and asks; its request is read
	// behind the old owner's.
	fresh := srv.Dial(t, &netlink.Config{PID: port})
	require.Equal(t, uint32(port), fresh.PortID())
	replies := make(chan error, 1)
	go func() {
		gc := genl.NewConn(fresh)
		msgs, err := gc.Execute(ctx, rig.fam.ID, genl.Message{Header: genl.Header{Command: kvSet}, Data: kvAttrs(t, "new", 1)}, 0)
		if err == nil && len(msgs) != 1 {
			err = assert.AnError
		}
		replies <- err
	}()
	rig.waitQueued(t, port, 6)
	close(gate)
	select {
	case err := <-replies:
		require.NoError(t, err, "the port's new owner")
	case <-ctx.Done():
		t.Fatal("the port's new owner was not answered")
	}
	setMu.Lock()
	assert.Equal(t, []uint32{port}, setPorts, "only the new owner's request ran")
	setMu.Unlock()
	assert.Equal(t, serveCounts{Served: 2, Skipped: 5}, rig.counts())
}

// A full queue makes the reader wait, and loses nothing: the requests
// behind a long handler are all served, in order, whether the count or
// the bytes bound the queue, and a request larger than QueueBytes is held
// alone.
func TestServeQueueFull(t *testing.T) {
	cases := []struct {
		name string
		opts bus.ServeOptions
	}{
		{"count bound", bus.ServeOptions{QueueLen: 3}},
		{"bytes bound", bus.ServeOptions{QueueLen: 64, QueueBytes: 64}}, // three 20-byte requests
		{"requests larger than QueueBytes", bus.ServeOptions{QueueBytes: 8}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			srv := bustest.NewServer(t, nil)
			started, gate := make(chan uint32, 1), make(chan struct{})
			var vals []uint32
			var valsMu sync.Mutex // the ACKs' way back is a socket: no happens-before the race detector sees
			rig := startServe(t, srv, "full", &tc.opts, map[uint8]bus.Handler{
				kvBlock: gated(started, gate),
				kvSet: func(ctx context.Context, w *bus.ReplyWriter, r *bus.Request) error {
					ad := netlink.NewAttributeDecoder(r.Attrs)
					for ad.Next() {
						if ad.Type() == kvValue {
							valsMu.Lock()
							vals = append(vals, ad.Uint32())
							valsMu.Unlock()
						}
					}
					return nil
				},
			})
			sendKV(t, ctx, srv.Dial(t, nil), rig.fam, kvBlock, netlink.Acknowledge, 1, nil)
			<-started
			caller := srv.Dial(t, nil)
			const n = 40
			for i := range uint32(n) {
				sendKV(t, ctx, caller, rig.fam, kvSet, netlink.Acknowledge, i+1, kvAttrs(t, "k", i%100))
			}
			close(gate)
			acks := 0
			for acks < n {
				msgs, err := caller.Receive(ctx)
				require.NoError(t, err)
				for _, m := range msgs {
					require.Equal(t, netlink.Error, m.Header.Type)
					require.Equal(t, uint32(acks+1), m.Header.Sequence, "answers in order")
					acks++
				}
			}
			want := make([]uint32, n)
			for i := range want {
				want[i] = uint32(i)
			}
			valsMu.Lock()
			assert.Equal(t, want, vals)
			valsMu.Unlock()
			assert.Equal(t, serveCounts{Served: n + 1}, rig.counts())
		})
	}
}

// ServeWith returns when its context ends or its Conn fails, and its
// reader goroutine is gone by then; requests it read and did not run are
// counted.
func TestServeReturns(t *testing.T) {
	cases := []struct {
		name string
		stop func(r *serveRig)
		want error
	}{
		{"context cancelled", func(r *serveRig) { r.cancel() }, context.Canceled},
		{"conn closed", func(r *serveRig) { r.conn.Close() }, netlink.ErrClosed},
		{"daemon stopped", func(r *serveRig) { r.srv.Close() }, bus.ErrDaemonGone},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			srv := bustest.NewServer(t, nil)
			started, gate := make(chan uint32, 1), make(chan struct{})
			defer close(gate)
			rig := startServe(t, srv, "returns", nil, map[uint8]bus.Handler{kvBlock: gated(started, gate)})
			caller := srv.Dial(t, nil)
			sendKV(t, ctx, caller, rig.fam, kvBlock, netlink.Acknowledge, 1, nil)
			<-started
			for seq := uint32(2); seq <= 4; seq++ {
				sendKV(t, ctx, caller, rig.fam, kvSet, netlink.Acknowledge, seq, nil)
			}
			rig.waitQueued(t, caller.PortID(), 4)
			tc.stop(rig)
			var err error
			select {
			case err = <-rig.done:
			case <-ctx.Done():
				t.Fatal("ServeWith did not return")
			}
			rig.done <- err // for the cleanup
			require.ErrorIs(t, err, tc.want)
			assert.True(t, rig.readerDone.Load(), "the reader goroutine ended before ServeWith returned")
			// The running handler's ACK could not be sent: counted.
			assert.Equal(t, serveCounts{Served: 1, Abandoned: 3, Unanswered: 1}, rig.counts())
		})
	}
}

// A handler's panic reaches ServeWith's caller as a *HandlerPanic, with the
// value and the handler's stack, whichever of ServeWith's two goroutines
// ran it (six rounds, meeting both), once the other has ended; the Conn
// can be served again. A handler that calls runtime.Goexit neither hangs
// ServeWith nor leaves its goroutine behind.
func TestServeHandlerPanic(t *testing.T) {
	ctx := testCtx(t)
	srv := bustest.NewServer(t, nil)
	rig := newServeRig(t, srv, "panic", nil)
	caller := srv.Dial(t, nil)
	for round := range 6 {
		panicked := make(chan any, 1)
		var doneAtRecover atomic.Bool
		opts := rig.options(nil)
		go func() {
			defer func() {
				doneAtRecover.Store(rig.readerDone.Load())
				panicked <- recover()
			}()
			bus.ServeWith(ctx, rig.conn, rig.fam, map[uint8]bus.Handler{
				kvBlock: func(context.Context, *bus.ReplyWriter, *bus.Request) error {
					time.Sleep(20 * time.Millisecond) // the other goroutine starts reading
					return nil
				},
				kvSet: func(context.Context, *bus.ReplyWriter, *bus.Request) error { panic("boom") },
			}, opts)
		}()
		if round%2 == 1 {
			// A request answered first, slowly: the goroutine that
			// served it had the other read meanwhile, and that one
			// reads (and runs) the next.
			sendKV(t, ctx, caller, rig.fam, kvBlock, netlink.Acknowledge, uint32(100+round), nil)
			recvOne(t, ctx, caller)
		}
		sendKV(t, ctx, caller, rig.fam, kvSet, netlink.Acknowledge, uint32(round+1), nil)
		select {
		case v := <-panicked:
			hp, ok := v.(*bus.HandlerPanic)
			require.True(t, ok, "round %d: ServeWith panicked with %T %v", round, v, v)
			assert.Equal(t, "boom", hp.Value)
			assert.Contains(t, string(hp.Stack), "TestServeHandlerPanic", "the handler's stack")
		case <-ctx.Done():
			t.Fatal("the handler's panic did not reach ServeWith's caller")
		}
		assert.True(t, doneAtRecover.Load(), "round %d: ServeWith's other goroutine ended before the panic left ServeWith", round)
		// The request was served (and left unanswered): its caller gets
		// nothing; drain nothing.
	}

	// runtime.Goexit in a handler: ServeWith returns an error or, when the
	// handler ran on ServeWith's own goroutine, that goroutine exits; either
	// way its other goroutine ends.
	for round := range 5 {
		exited, returned := make(chan struct{}), make(chan error, 1)
		go func() {
			defer close(exited)
			returned <- bus.ServeWith(ctx, rig.conn, rig.fam, map[uint8]bus.Handler{
				kvSet: func(context.Context, *bus.ReplyWriter, *bus.Request) error {
					runtime.Goexit()
					return nil
				},
			}, rig.options(nil))
		}()
		sendKV(t, ctx, caller, rig.fam, kvSet, netlink.Acknowledge, uint32(round+10), nil)
		select {
		case <-exited:
		case <-ctx.Done():
			t.Fatal("ServeWith hung after a handler's runtime.Goexit")
		}
		select {
		case err := <-returned:
			require.ErrorIs(t, err, bus.ErrHandlerGoexit)
		default: // ServeWith's own goroutine exited
		}
		assert.True(t, rig.readerDone.Load(), "round %d: the other goroutine ended", round)
	}

	// Served again, by a new ServeWith on the same Conn.
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- bus.ServeWith(sctx, rig.conn, rig.fam, map[uint8]bus.Handler{
			kvSet: func(ctx context.Context, w *bus.ReplyWriter, r *bus.Request) error { return nil },
		}, rig.options(nil))
	}()
	defer func() {
		cancel()
		require.ErrorIs(t, <-done, context.Canceled)
	}()
	gc := genl.NewConn(srv.Dial(t, nil))
	_, err := gc.Execute(ctx, rig.fam.ID, genl.Message{Header: genl.Header{Command: kvSet}}, 0)
	require.NoError(t, err)
}

// A handler may make requests of its own on the Conn that ServeWith
// reads: their answers reach it while the reader goroutine reads on.
func TestServeHandlerUsesConn(t *testing.T) {
	ctx := testCtx(t)
	srv := bustest.NewServer(t, nil)
	// The handler's Conn, set once ServeWith runs: the race detector sees
	// no order in the socket between the assignment and the request.
	var svc atomic.Pointer[netlink.Conn]
	rig := startServe(t, srv, "uses", nil, map[uint8]bus.Handler{
		kvSet: func(ctx context.Context, w *bus.ReplyWriter, r *bus.Request) error {
			ports, err := bus.Ports(ctx, svc.Load()) // a dump through the daemon
			if err != nil {
				return err
			}
			return w.Reply(ctx, 0, func(ae *netlink.AttributeEncoder) { ae.Uint32(kvValue, uint32(len(ports))) })
		},
	})
	svc.Store(rig.conn)
	gc := genl.NewConn(srv.Dial(t, nil))
	for range 3 {
		msgs, err := gc.Execute(ctx, rig.fam.ID, genl.Message{Header: genl.Header{Command: kvSet}}, 0)
		require.NoError(t, err)
		require.Len(t, msgs, 1)
		ad := netlink.NewAttributeDecoder(msgs[0].Data)
		require.True(t, ad.Next())
		assert.Equal(t, uint32(2), ad.Uint32(), "the service and the caller")
	}
}

// ServeWith needs GroupPorts: a rule that denies the service joining it
// makes ServeWith fail at once, saying so, rather than serve without
// learning of callers that go.
func TestServeJoinDenied(t *testing.T) {
	access, err := bus.ParseAccess([]byte("rules:\n  - {name: no ports group, deny: join, multicast: 1}\n"))
	require.NoError(t, err)
	srv := bustest.NewServer(t, &bus.Server{Access: access})
	rig := newServeRig(t, srv, "denied", nil)
	err = bus.ServeWith(testCtx(t), rig.conn, rig.fam, nil, nil)
	require.ErrorIs(t, err, unix.EPERM)
	assert.Contains(t, err.Error(), "no ports group")
}

// Options out of range are an error, not a panic or a silent clamp.
func TestServeOptionsInvalid(t *testing.T) {
	for _, o := range []bus.ServeOptions{{QueueLen: -1}, {QueueLen: 1 << 21}, {QueueBytes: -1}, {QueueBytes: 1 << 31}} {
		err := bus.ServeWith(context.Background(), nil, genl.Family{}, nil, &o)
		require.Error(t, err, "%+v", o)
	}
}

// The allocations of a request served by ServeWith, counted over the whole
// process (the daemon and the caller, which allocate nothing per unicast
// (TestUnicastAllocations), and the service): the handler's context only.
func TestServeAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation budgets are not checked under the race detector, which allocates itself")
	}
	ctx := testCtx(t)
	srv := bustest.NewServer(t, nil)
	rig := startServe(t, srv, "allocs", nil, map[uint8]bus.Handler{
		kvSet: func(ctx context.Context, w *bus.ReplyWriter, r *bus.Request) error {
			return w.Reply(ctx, 0, nil)
		},
	})
	tr, err := bus.DialTransport(ctx, srv.Path, 0)
	require.NoError(t, err)
	defer tr.Close()
	req, err := netlink.AppendMessage(nil, netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(rig.fam.ID), Flags: netlink.Request, Sequence: 1},
		Data:   []byte{kvSet, uint8(rig.fam.Version), 0, 0},
	})
	require.NoError(t, err)
	buf := make([]byte, 64<<10)
	roundTrip := func() {
		if err := tr.Send(ctx, req, netlink.Addr{}); err != nil {
			t.Fatal(err)
		}
		info, err := tr.Recv(ctx, buf)
		if err != nil || info.N < netlink.HeaderLen+4 || netlink.HeaderType(ne.Uint16(buf[4:])) != netlink.HeaderType(rig.fam.ID) {
			t.Fatalf("recv: %+v, %v", info, err)
		}
	}
	for range 100 {
		roundTrip()
	}
	allocs := testing.AllocsPerRun(1000, roundTrip)
	t.Logf("%.2f allocations per request", allocs)
	if allocs > 3 {
		t.Errorf("%.2f allocations per request served, want at most 3 (the handler's context)", allocs)
	}
}
