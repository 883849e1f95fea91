//go:build linux

package rtnl_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/compat"
	"github.com/nlbus/netlink/internal/nettest"
	"github.com/nlbus/netlink/rtnl"
)

// waitFor reads events until match accepts one, failing after a timeout.
func waitFor(t *testing.T, m *rtnl.Monitor, what string, match func(rtnl.Event) bool) rtnl.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		ev, err := m.Next(ctx)
		require.NoError(t, err, "waiting for %s", what)
		if match(ev) {
			return ev
		}
	}
}

func TestKernelMonitor(t *testing.T) {
	ns := nettest.NewNS(t)
	m, err := rtnl.NewMonitor(&netlink.Config{NetNS: ns.FD()}, rtnl.KindAll)
	require.NoError(t, err)
	defer m.Close()
	c := dialNS(t, ns)
	ctx := ctxT(t)

	ns.AddDummy(t, "d0")
	ev := waitFor(t, m, "newlink d0", func(ev rtnl.Event) bool { return ev.Type == rtnl.NewLink && ev.Link.Name == "d0" })
	d0 := ev.Link.Index
	require.NoError(t, c.SetLinkUp(ctx, d0))
	waitFor(t, m, "d0 up", func(ev rtnl.Event) bool {
		return ev.Type == rtnl.NewLink && ev.Link.Index == d0 && ev.Link.Flags&compat.IffUp != 0
	})

	a := rtnl.Address{Index: d0, Prefix: netip.MustParsePrefix("10.0.0.1/24")}
	require.NoError(t, c.AddAddress(ctx, a))
	ev = waitFor(t, m, "newaddr", func(ev rtnl.Event) bool {
		return ev.Type == rtnl.NewAddress && ev.Address.Family == rtnl.IPv4 && ev.Address.Index == d0
	})
	assert.Equal(t, a.Prefix, ev.Address.Prefix)
	waitFor(t, m, "prefix route", func(ev rtnl.Event) bool {
		return ev.Type == rtnl.NewRoute && ev.Route.Dst.String() == "10.0.0.0/24"
	})

	r := rtnl.Route{Dst: netip.MustParsePrefix("192.0.2.0/24"), Gateway: netip.MustParseAddr("10.0.0.2"), Table: c.MainTable()}
	require.NoError(t, c.AddRoute(ctx, r))
	ev = waitFor(t, m, "newroute", func(ev rtnl.Event) bool { return ev.Type == rtnl.NewRoute && ev.Route.Dst == r.Dst })
	assert.Equal(t, r.Gateway, ev.Route.Gateway)
	r6 := rtnl.Route{Dst: netip.MustParsePrefix("2001:db8:1::/48"), OutIndex: d0, Table: c.MainTable()}
	require.NoError(t, c.AddRoute(ctx, r6))
	waitFor(t, m, "newroute v6", func(ev rtnl.Event) bool { return ev.Type == rtnl.NewRoute && ev.Route.Dst == r6.Dst })

	n := rtnl.Neighbor{Index: d0, IP: netip.MustParseAddr("10.0.0.2"), HardwareAddr: net.HardwareAddr{2, 0, 0, 0, 0, 2}}
	require.NoError(t, c.AddNeighbor(ctx, n))
	ev = waitFor(t, m, "newneigh", func(ev rtnl.Event) bool { return ev.Type == rtnl.NewNeighbor && ev.Neighbor.IP == n.IP })
	assert.Equal(t, n.HardwareAddr, ev.Neighbor.HardwareAddr)
	require.NoError(t, c.DeleteNeighbor(ctx, n))
	waitFor(t, m, "delneigh", func(ev rtnl.Event) bool { return ev.Type == rtnl.DelNeighbor && ev.Neighbor.IP == n.IP })

	require.NoError(t, c.DeleteRoute(ctx, r))
	waitFor(t, m, "delroute", func(ev rtnl.Event) bool { return ev.Type == rtnl.DelRoute && ev.Route.Dst == r.Dst })
	require.NoError(t, c.DeleteAddress(ctx, a))
	waitFor(t, m, "deladdr", func(ev rtnl.Event) bool { return ev.Type == rtnl.DelAddress && ev.Address.Prefix == a.Prefix })
	require.NoError(t, c.DeleteLink(ctx, d0))
	waitFor(t, m, "dellink", func(ev rtnl.Event) bool { return ev.Type == rtnl.DelLink && ev.Link.Index == d0 })

	// The monitor ends only with its context.
	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, err := range m.Events(cctx) {
		require.ErrorIs(t, err, context.Canceled)
	}
}

// TestKernelMonitorOverrun floods a monitor with a tiny receive buffer,
// expects an Overrun event, resynchronises with a dump and sees later
// events again.
func TestKernelMonitorOverrun(t *testing.T) {
	ns := nettest.NewNS(t)
	ns.AddDummy(t, "d0")
	ns.Run(t, "link", "set", "d0", "up")
	ns.Run(t, "addr", "add", "10.0.0.1/24", "dev", "d0")
	m, err := rtnl.NewMonitor(&netlink.Config{NetNS: ns.FD(), SocketReceiveBuffer: 4096}, rtnl.KindRoute)
	require.NoError(t, err)
	defer m.Close()
	c := dialNS(t, ns)
	ctx := ctxT(t)

	const n = 2000
	lines := make([]string, n)
	for i := range lines {
		lines[i] = fmt.Sprintf("route add 172.16.%d.%d/32 via 10.0.0.2", i/256, i%256)
	}
	ns.Batch(t, lines) // nobody reads the monitor meanwhile

	overruns, seen := 0, 0
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	for {
		ev, err := m.Next(rctx)
		if errors.Is(err, context.DeadlineExceeded) {
			break
		}
		require.NoError(t, err)
		switch ev.Type {
		case rtnl.Overrun:
			overruns++
		case rtnl.NewRoute:
			seen++
		}
	}
	cancel()
	require.Positive(t, overruns, "a 4 KiB buffer cannot hold %d route notifications", n)
	assert.Less(t, seen, n, "some notifications were lost")

	// Resync: the dump sees every route.
	got := 0
	for ev, err := range c.Resync(ctx, rtnl.KindRoute) {
		require.NoError(t, err)
		require.Equal(t, rtnl.NewRoute, ev.Type)
		if ev.Route.Table == c.MainTable() && ev.Route.Dst.Bits() == 32 {
			got++
		}
	}
	assert.Equal(t, n, got)

	// And the monitor goes on.
	r := rtnl.Route{Dst: netip.MustParsePrefix("192.0.2.0/24"), Gateway: netip.MustParseAddr("10.0.0.2"), Table: c.MainTable()}
	require.NoError(t, c.AddRoute(ctx, r))
	waitFor(t, m, "newroute after overrun", func(ev rtnl.Event) bool { return ev.Type == rtnl.NewRoute && ev.Route.Dst == r.Dst })
}
