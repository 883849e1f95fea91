//go:build linux

package rtnl_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nlbus/netlink/compat"
	"github.com/nlbus/netlink/internal/nettest"
	"github.com/nlbus/netlink/rtnl"
)

// TestKernelProxyNeighbors: ProxyNeighbors lists what ip neigh show proxy
// does (the pneigh entries), and Neighbors does not list them.
func TestKernelProxyNeighbors(t *testing.T) {
	ns := nettest.NewNS(t)
	ns.AddDummy(t, "d0")
	ns.AddDummy(t, "d1")
	ns.Batch(t, []string{
		"link set d0 up",
		"link set d1 up",
		"neigh add 10.0.0.7 lladdr 02:00:00:00:00:07 dev d0",
		"neigh add proxy 10.0.0.50 dev d0",
		"neigh add proxy 10.0.1.50 dev d1",
		"neigh add proxy 2001:db8::50 dev d0",
	})
	c := dialNS(t, ns)
	ctx := ctxT(t)
	d0, err := c.LinkByName(ctx, "d0")
	require.NoError(t, err)
	names := map[int]string{}
	for _, l := range collect(t, c.Links(ctx, rtnl.Filter{})) {
		names[l.Index] = l.Name
	}

	var want []ipNeigh
	ns.JSON(t, &want, "neigh", "show", "proxy")
	var wantKeys, gotKeys []string
	for _, n := range want {
		wantKeys = append(wantKeys, fmt.Sprint(n.Dst, " ", n.Dev))
	}
	for _, n := range collect(t, c.ProxyNeighbors(ctx, rtnl.Filter{})) {
		gotKeys = append(gotKeys, fmt.Sprint(n.IP, " ", names[n.Index]))
		assert.NotZero(t, n.Flags&compat.NtfProxy, n.IP)
		assert.Zero(t, n.State, n.IP)
	}
	assert.ElementsMatch(t, []string{"10.0.0.50 d0", "10.0.1.50 d1", "2001:db8::50 d0"}, wantKeys)
	assert.ElementsMatch(t, wantKeys, gotKeys)

	var v6 []string
	for _, n := range collect(t, c.ProxyNeighbors(ctx, rtnl.Filter{Family: rtnl.IPv6})) {
		v6 = append(v6, n.IP.String())
	}
	assert.Equal(t, []string{"2001:db8::50"}, v6)
	var onD0 []string
	for _, n := range collect(t, c.ProxyNeighbors(ctx, rtnl.Filter{Family: rtnl.IPv4, LinkIndex: d0.Index})) {
		onD0 = append(onD0, n.IP.String())
	}
	assert.Equal(t, []string{"10.0.0.50"}, onD0)

	for _, n := range collect(t, c.Neighbors(ctx, rtnl.Filter{})) {
		assert.Zero(t, n.Flags&compat.NtfProxy, n.IP)
		assert.NotContains(t, []string{"10.0.0.50", "10.0.1.50", "2001:db8::50"}, n.IP.String())
	}
}
