//go:build linux

package rtnl_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/compat"
	"github.com/nlbus/netlink/internal/nettest"
)

// TestCaptureKernelMessages rewrites testdata/linux/*.bin, the captured
// kernel dumps the unit and fuzz tests decode, from a namespace with veth,
// bridge, IPv4 and IPv6 addresses, multipath and metric routes and
// neighbours. It runs only with RTNL_CAPTURE=1.
func TestCaptureKernelMessages(t *testing.T) {
	if os.Getenv("RTNL_CAPTURE") != "1" {
		t.Skip("set RTNL_CAPTURE=1 to rewrite testdata/linux")
	}
	ns := nettest.NewNS(t)
	ns.AddDummy(t, "d0")
	for _, args := range [][]string{
		{"link", "add", "va", "type", "veth", "peer", "name", "vb"},
		{"link", "add", "br0", "type", "bridge"},
		{"link", "set", "va", "master", "br0"},
		{"link", "set", "d0", "up", "mtu", "1400"},
		{"link", "set", "va", "up"}, {"link", "set", "vb", "up"}, {"link", "set", "br0", "up"},
		{"addr", "add", "10.0.0.1/24", "brd", "+", "dev", "d0", "label", "d0:x"},
		{"addr", "add", "10.9.0.1", "peer", "10.9.0.2", "dev", "d0"},
		{"addr", "add", "2001:db8::1/64", "dev", "d0", "nodad", "valid_lft", "600", "preferred_lft", "300"},
		{"addr", "add", "10.1.0.1/24", "dev", "vb"},
		{"route", "add", "192.168.0.0/16", "nexthop", "via", "10.0.0.2", "dev", "d0", "weight", "2", "nexthop", "via", "10.1.0.2", "dev", "vb"},
		{"route", "add", "172.16.0.0/12", "via", "10.0.0.2", "mtu", "1300", "advmss", "1200", "congctl", "cubic", "table", "100"},
		{"route", "add", "blackhole", "198.18.0.0/15", "metric", "7"},
		{"-6", "route", "add", "2001:db8:5::/48", "via", "2001:db8::2", "dev", "d0", "metric", "42"},
		{"neigh", "add", "10.0.0.2", "lladdr", "02:00:00:00:00:02", "dev", "d0"},
		{"neigh", "add", "2001:db8::2", "lladdr", "02:00:00:00:00:03", "dev", "d0", "nud", "stale"},
	} {
		ns.Run(t, args...)
	}
	c, err := netlink.Dial(netlink.Route, &netlink.Config{NetNS: ns.FD()})
	require.NoError(t, err)
	defer c.Close()
	dir := filepath.Join("testdata", "linux")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for name, req := range map[string]struct {
		typ uint16
		hdr int
	}{
		"links":  {compat.RtmGetLink, compat.SizeofIfInfomsg},
		"addrs":  {compat.RtmGetAddr, compat.SizeofIfAddrmsg},
		"routes": {compat.RtmGetRoute, compat.SizeofRtMsg},
		"neigh":  {compat.RtmGetNeigh, compat.SizeofNdMsg},
	} {
		var out []byte
		m := netlink.Message{Header: netlink.Header{Type: netlink.HeaderType(req.typ)}, Data: make([]byte, req.hdr)}
		for msg, err := range c.Dump(context.Background(), m) {
			require.NoError(t, err)
			msg.Header.Sequence, msg.Header.PID = 1, 0
			out, err = netlink.AppendMessage(out, msg)
			require.NoError(t, err)
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, name+".bin"), out, 0o644))
	}
}
