//go:build freebsd

package rtnl_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/compat"
	"github.com/nlbus/netlink/rtnl"
)

// These run in the FreeBSD VM jobs. FreeBSD has no network namespaces, so
// they only read kernel state (lo0, its addresses and routes) and check
// the operations FreeBSD lacks; they change nothing.

func dialBSD(t *testing.T) *rtnl.Conn {
	t.Helper()
	c, err := rtnl.Dial(nil)
	if errors.Is(err, netlink.ErrNotSupported) {
		t.Skipf("kernel netlink unavailable (kldload netlink): %v", err)
	}
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func TestFreeBSDKernelReadOnly(t *testing.T) {
	c := dialBSD(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var lo rtnl.Link
	for l, err := range c.Links(ctx, rtnl.Filter{}) {
		require.NoError(t, err)
		if l.Name == "lo0" {
			lo = l
		}
	}
	require.Equal(t, "lo0", lo.Name)
	assert.Equal(t, compat.LinkLoopback, lo.Type)
	assert.NotZero(t, lo.Flags&compat.IffLoopback)
	got, err := c.Link(ctx, lo.Index)
	require.NoError(t, err)
	assert.Equal(t, "lo0", got.Name)

	found := false
	for a, err := range c.Addresses(ctx, rtnl.Filter{Family: rtnl.IPv4, LinkIndex: lo.Index}) {
		require.NoError(t, err)
		found = found || a.Prefix.Addr() == netip.MustParseAddr("127.0.0.1")
	}
	assert.True(t, found, "127.0.0.1 on lo0")

	loRoute := false
	for r, err := range c.Routes(ctx, rtnl.InTable(c.MainTable())) {
		require.NoError(t, err)
		assert.Equal(t, uint32(0), r.Table, "fib 0 is FreeBSD's main table")
		loRoute = loRoute || r.Dst == netip.MustParsePrefix("127.0.0.1/32")
	}
	assert.True(t, loRoute)
	for _, err := range c.Neighbors(ctx, rtnl.Filter{}) {
		require.NoError(t, err)
	}

	assert.ErrorIs(t, c.SetLinkMaster(ctx, lo.Index, lo.Index), compat.ErrNotSupported)
	assert.ErrorIs(t, c.AddLink(ctx, rtnl.Link{Name: "veth9", Kind: "veth"}), compat.ErrNotSupported)
}
