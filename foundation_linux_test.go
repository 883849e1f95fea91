//go:build linux

package netlink_test

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/genl"
	"github.com/nlbus/netlink/internal/nettest"
)

// routeNS returns a namespace holding n routes and a Conn in it, with the
// number of messages a full IPv4 route dump returns.
func routeNS(t *testing.T, n int) (*nettest.NS, *netlink.Conn, int) {
	t.Helper()
	ns := nettest.NewNS(t)
	ns.AddDummy(t, "d0")
	addRoutes(t, ns, n)
	c := dialNS(t, ns, nil)
	total := countRoutes(t, testContext(t), c)
	require.Greater(t, total, n)
	return ns, c, total
}

func countRoutes(t *testing.T, ctx context.Context, c *netlink.Conn) int {
	t.Helper()
	n := 0
	for _, err := range c.Dump(ctx, routeDumpReq()) {
		require.NoError(t, err, "a full dump after an early end succeeds at its first try")
		n++
	}
	return n
}

// TestKernelDumpEarlyEnd: after a dump ends early in any way (break, a
// cancelled context, a deadline, a panic in the loop body), the next dump
// on the Conn succeeds at its first try: no EBUSY.
func TestKernelDumpEarlyEnd(t *testing.T) {
	_, c, total := routeNS(t, 20000)
	ctx := testContext(t)

	ends := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"break", func(t *testing.T) {
			n := 0
			for _, err := range c.Dump(ctx, routeDumpReq()) {
				require.NoError(t, err)
				if n++; n == 100 {
					break
				}
			}
		}},
		{"cancel", func(t *testing.T) {
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			n := 0
			var last error
			for _, err := range c.Dump(cctx, routeDumpReq()) {
				if err != nil {
					last = err
					break
				}
				if n++; n == 100 {
					cancel()
				}
			}
			require.ErrorIs(t, last, context.Canceled)
		}},
		{"execute-deadline", func(t *testing.T) {
			dctx, cancel := context.WithTimeout(ctx, 5*time.Millisecond)
			defer cancel()
			_, err := c.Execute(dctx, netlink.Message{Header: netlink.Header{Type: unix.RTM_GETROUTE, Flags: netlink.Dump}, Data: routeDumpReq().Data})
			if err == nil {
				t.Skip("the whole dump fit in 5 ms on this machine")
			}
			require.ErrorIs(t, err, context.DeadlineExceeded)
		}},
		{"panic", func(t *testing.T) {
			defer func() { require.Equal(t, "boom", recover()) }()
			n := 0
			for range c.Dump(ctx, routeDumpReq()) {
				if n++; n == 100 {
					panic("boom")
				}
			}
		}},
	}
	for _, e := range ends {
		t.Run(e.name, func(t *testing.T) {
			before := c.Stats().Discarded
			e.run(t)
			assert.Equal(t, total, countRoutes(t, ctx, c))
			assert.Greater(t, c.Stats().Discarded, before, "the abandoned rest was counted")
			// A do-request right after is not confused by the remains.
			_, err := c.Execute(ctx, getLinkReq(1))
			require.NoError(t, err)
		})
	}
}

// A panic in a dump's loop body, when the dump's DONE came in the same
// datagram as the message being handled (a rule dump: a few rules and the
// DONE in one read), and another goroutine blocked reading the Conn (in
// Receive): the next dump still runs at once. The panic had left the dump
// slot with the abandoned dump, whose end was already read, and the
// waiting dump could not drain it while Receive held the read token.
func TestKernelDumpPanicWithDoneInDatagram(t *testing.T) {
	ns := nettest.NewNS(t)
	c := dialNS(t, ns, nil)
	ctx := testContext(t)
	req := netlink.Message{Header: netlink.Header{Type: unix.RTM_GETRULE}, Data: make([]byte, 12)}
	rules := 0
	for _, err := range c.Dump(ctx, req) {
		require.NoError(t, err)
		rules++
	}
	require.Greater(t, rules, 1, "a namespace starts with its default rules")
	for range 3 {
		func() {
			defer func() { require.Equal(t, "boom", recover()) }()
			for range c.Dump(ctx, req) {
				panic("boom")
			}
		}()
	}
	rctx, rcancel := context.WithCancel(ctx)
	defer rcancel()
	received := make(chan struct{})
	go func() {
		defer close(received)
		c.Receive(rctx)
	}()
	time.Sleep(50 * time.Millisecond) // Receive is blocked in its read
	dctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	n := 0
	for _, err := range c.Dump(dctx, req) {
		require.NoError(t, err, "the dump after the panics waited for a slot nobody frees")
		n++
	}
	assert.Equal(t, rules, n)
	rcancel()
	<-received
}

// The caller may close Config.NetNS's descriptor once Dial returns: the
// request sockets (Config.RequestSockets), opened later on first need, still
// open in that namespace, even when the descriptor's number was reused for
// the host's namespace meanwhile.
func TestKernelRequestSocketsNetNSClosed(t *testing.T) {
	ns := nettest.NewNS(t)
	ns.AddDummy(t, "d0")
	f, err := os.Open(ns.Path())
	require.NoError(t, err)
	c, err := netlink.Dial(netlink.Route, &netlink.Config{NetNS: int(f.Fd()), RequestSockets: 1})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	fd := int(f.Fd())
	require.NoError(t, f.Close())
	host, err := os.Open("/proc/self/ns/net") // likely takes the number back
	require.NoError(t, err)
	defer host.Close()
	t.Logf("namespace descriptor %d closed; the host's namespace opened as %d", fd, host.Fd())

	ctx := testContext(t)
	names := func() []string {
		var out []string
		for m, err := range c.Dump(ctx, netlink.Message{Header: netlink.Header{Type: unix.RTM_GETLINK}, Data: make([]byte, unix.SizeofIfInfomsg)}) {
			require.NoError(t, err)
			l, err := parseLink(m)
			require.NoError(t, err)
			out = append(out, l.Name)
		}
		return out
	}
	own := names()
	require.ElementsMatch(t, []string{"lo", "d0"}, own)
	// A request made while the Conn is busy (inside a dump's loop) goes to
	// a request socket, opened now.
	var onAux []string
	for _, err := range c.Dump(ctx, netlink.Message{Header: netlink.Header{Type: unix.RTM_GETLINK}, Data: make([]byte, unix.SizeofIfInfomsg)}) {
		require.NoError(t, err)
		onAux = names()
		break
	}
	// (On the Conn's own socket, that dump would wait for the outer one.)
	assert.ElementsMatch(t, own, onAux, "the request socket opened in another namespace")
}

// TestKernelConcurrentDumps: goroutines dumping on one Conn all get whole
// dumps (Linux runs one dump per socket; the Conn queues them).
func TestKernelConcurrentDumps(t *testing.T) {
	_, c, total := routeNS(t, 2000)
	ctx := testContext(t)
	var wg sync.WaitGroup
	counts := make([]int, 4)
	errs := make([]error, 4)
	for g := range 4 {
		wg.Go(func() {
			for range 3 {
				n := 0
				for _, err := range c.Dump(ctx, routeDumpReq()) {
					if err != nil {
						errs[g] = err
						return
					}
					n++
				}
				counts[g] = n
			}
		})
	}
	// A do-request is not held up by the dumps.
	_, err := c.Execute(ctx, getLinkReq(1))
	require.NoError(t, err)
	wg.Wait()
	for g := range 4 {
		require.NoError(t, errs[g])
		assert.Equal(t, total, counts[g])
	}
}

func TestKernelGenlConcurrentDumps(t *testing.T) {
	nettest.RequireRoot(t)
	c, err := genl.Dial(nil)
	require.NoError(t, err)
	defer c.Close()
	ctx := testContext(t)
	fams, err := c.ListFamilies(ctx)
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 4 {
		wg.Go(func() {
			for range 5 {
				if g%2 == 0 {
					got, err := c.ListFamilies(ctx)
					if err == nil && len(got) != len(fams) {
						err = errors.New("family count changed")
					}
					if err != nil {
						errs <- err
						return
					}
				} else if _, err := c.GetPolicy(ctx, "nlctrl"); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

// rtmsgRoute returns an RTM_NEWROUTE body for dst via dev index.
func newRouteReq(dst netip.Prefix, index int32) netlink.Message {
	rtm := make([]byte, unix.SizeofRtMsg)
	rtm[0] = unix.AF_INET
	rtm[1] = byte(dst.Bits())
	rtm[4] = unix.RT_TABLE_MAIN
	rtm[5] = unix.RTPROT_STATIC
	rtm[6] = unix.RT_SCOPE_LINK
	rtm[7] = unix.RTN_UNICAST
	var ae netlink.AttributeEncoder
	ae.Raw(unix.RTA_DST, dst.Addr().AsSlice())
	ae.Uint32(unix.RTA_OIF, uint32(index))
	attrs, _ := ae.Bytes()
	return netlink.Message{
		Header: netlink.Header{Type: unix.RTM_NEWROUTE, Flags: netlink.Create | netlink.Excl | netlink.Echo},
		Data:   append(rtm, attrs...),
	}
}

// TestKernelEcho: the echo of an NLM_F_ECHO request comes back from the
// call that asked for it, not from Receive.
func TestKernelEcho(t *testing.T) {
	ns := nettest.NewNS(t)
	ns.AddDummy(t, "d0")
	ns.Run(t, "link", "set", "d0", "up")
	c := dialNS(t, ns, nil)
	ctx := testContext(t)
	idx := linkIndex(t, ns, "d0")

	replies, err := c.Execute(ctx, newRouteReq(netip.MustParsePrefix("192.0.2.0/24"), idx))
	require.NoError(t, err)
	require.Len(t, replies, 1, "the echo")
	assert.Equal(t, netlink.HeaderType(unix.RTM_NEWROUTE), replies[0].Header.Type)
	assert.Equal(t, uint32(0), replies[0].Addr.Port)

	// The same on a Conn that joined the route group: still the call's.
	g := dialNS(t, ns, &netlink.Config{Groups: []uint32{unix.RTNLGRP_IPV4_ROUTE}})
	replies, err = g.Execute(ctx, newRouteReq(netip.MustParsePrefix("198.51.100.0/24"), idx))
	require.NoError(t, err)
	require.Len(t, replies, 1)

	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	msgs, err := c.Receive(short)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Empty(t, msgs, "the echo did not also surface on Receive")
}

// TestKernelRequestSockets: with Config.RequestSockets, concurrent requests
// and dumps on one Conn use extra sockets; everything still completes, the
// counters add up, and Close closes them all (TestMain checks for fds).
func TestKernelRequestSockets(t *testing.T) {
	ns := nettest.NewNS(t)
	ns.AddDummy(t, "d0")
	addRoutes(t, ns, 500)
	c := dialNS(t, ns, &netlink.Config{RequestSockets: 2})
	ctx := testContext(t)
	total := countRoutes(t, ctx, c)
	sockets := socketFDs(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 6 {
		wg.Go(func() {
			for range 20 {
				if g%3 == 0 {
					n := 0
					for _, err := range c.Dump(ctx, routeDumpReq()) {
						if err != nil {
							errs <- err
							return
						}
						n++
					}
					if n != total {
						errs <- errors.New("short dump")
						return
					}
					continue
				}
				msgs, err := c.Execute(ctx, getLinkReq(1))
				if err == nil && len(msgs) != 1 {
					err = errors.New("no reply")
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.GreaterOrEqual(t, c.Stats().Sends, uint64(1+6*20), "the request sockets' sends are counted")
	opened := socketFDs(t) - sockets
	assert.Positive(t, opened, "request sockets were opened")
	assert.LessOrEqual(t, opened, 2)
}

// socketFDs counts the process's open sockets.
func socketFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	n := 0
	for _, e := range ents {
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && strings.HasPrefix(l, "socket:") {
			n++
		}
	}
	return n
}

// Config.NetNS of -1 (int(f.Fd()) of a nil *os.File after an ignored open
// error) is refused, not taken as the caller's own namespace.
func TestDialNegativeNetNS(t *testing.T) {
	c, err := netlink.Dial(netlink.Route, &netlink.Config{NetNS: -1})
	if err == nil {
		c.Close()
	}
	require.ErrorIs(t, err, os.ErrInvalid)
}

// A Close racing a cancelled Receive (cancel first, then Close, and the
// other way round) ends it with ErrClosed or the context's error, never the
// closed descriptor's own error.
func TestKernelReceiveCancelThenClose(t *testing.T) {
	ns := nettest.NewNS(t)
	for i := range 100 {
		f, err := os.Open(ns.Path())
		require.NoError(t, err)
		c, err := netlink.Dial(netlink.Route, &netlink.Config{NetNS: int(f.Fd())})
		f.Close()
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		got := make(chan error, 1)
		go func() {
			_, err := c.Receive(ctx)
			got <- err
		}()
		time.Sleep(time.Millisecond)
		if i%2 == 0 {
			cancel()
			c.Close()
		} else {
			c.Close()
			cancel()
		}
		err = <-got
		require.Error(t, err)
		if !errors.Is(err, netlink.ErrClosed) && !errors.Is(err, context.Canceled) {
			t.Fatalf("round %d: %v is neither ErrClosed nor context.Canceled", i, err)
		}
		cancel()
	}
}

// Close wakes a dump waiting for the Conn's dump slot (another dump holds
// it, its loop body busy): it ends at once with ErrClosed.
func TestKernelCloseWakesDumpWaiter(t *testing.T) {
	_, c, _ := routeNS(t, 200)
	ctx := testContext(t)
	waited := make(chan error, 1)
	closedAt := make(chan time.Time, 1)
	first := true
	for _, err := range c.Dump(ctx, routeDumpReq()) {
		if err != nil {
			break // the Conn closed under the holder: fine
		}
		if !first {
			continue
		}
		first = false
		go func() {
			var werr error
			for _, err := range c.Dump(ctx, routeDumpReq()) {
				if err != nil {
					werr = err
				}
			}
			waited <- werr
		}()
		time.Sleep(50 * time.Millisecond) // the second dump waits for the slot
		closedAt <- time.Now()
		c.Close()
		select {
		case err := <-waited:
			require.ErrorIs(t, err, netlink.ErrClosed)
			assert.Less(t, time.Since(<-closedAt), time.Second)
		case <-time.After(3 * time.Second):
			t.Fatal("the waiting dump did not end after Close")
		}
	}
}

// A dump started in another dump's loop on the same Conn waits for it; when
// its context ends, the error says what it waited for (and still wraps the
// context's error), rather than a bare deadline.
func TestKernelNestedDumpSaysWhy(t *testing.T) {
	_, c, _ := routeNS(t, 50)
	ctx := testContext(t)
	var inner error
	for _, err := range c.Dump(ctx, routeDumpReq()) {
		require.NoError(t, err)
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		for _, err := range c.Dump(short, routeDumpReq()) {
			if err != nil {
				inner = err
			}
		}
		cancel()
		break
	}
	require.ErrorIs(t, inner, context.DeadlineExceeded)
	assert.Contains(t, inner.Error(), "dump already running on this socket")
	// The outer dump was left early; the next one works at once.
	n := 0
	for _, err := range c.Dump(ctx, routeDumpReq()) {
		require.NoError(t, err)
		n++
	}
	assert.Positive(t, n)
}
