//go:build linux

package rtnl_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/compat"
	"github.com/nlbus/netlink/internal/nettest"
	"github.com/nlbus/netlink/rtnl"
)

func dialNS(t *testing.T, ns *nettest.NS) *rtnl.Conn {
	t.Helper()
	c, err := rtnl.Dial(&netlink.Config{NetNS: ns.FD()})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func collect[T any](t *testing.T, seq func(yield func(T, error) bool)) []T {
	t.Helper()
	var out []T
	for v, err := range seq {
		require.NoError(t, err)
		out = append(out, v)
	}
	return out
}

type ipLink struct {
	Index   int      `json:"ifindex"`
	Name    string   `json:"ifname"`
	MTU     uint32   `json:"mtu"`
	Flags   []string `json:"flags"`
	Address string   `json:"address"`
	Master  string   `json:"master"`
	Oper    string   `json:"operstate"`
	Group   string   `json:"group"`
	TxQLen  uint32   `json:"txqlen"`
	Link    string   `json:"link"`
}

func TestKernelLinks(t *testing.T) {
	ns := nettest.NewNS(t)
	ns.AddDummy(t, "d0")
	ns.Run(t, "link", "set", "d0", "up", "mtu", "1400")
	c := dialNS(t, ns)
	ctx := ctxT(t)

	// Create a veth pair and a bridge through the library.
	require.NoError(t, c.AddLink(ctx, rtnl.Link{Name: "va", Kind: "veth", PeerName: "vb"}))
	require.NoError(t, c.AddLink(ctx, rtnl.Link{Name: "br0", Kind: "bridge", MTU: 1500, Flags: compat.IffUp}))
	err := c.AddLink(ctx, rtnl.Link{Name: "br0", Kind: "bridge"})
	require.Error(t, err, "NLM_F_EXCL: a second bridge of that name is refused")
	assert.ErrorIs(t, err, os_ErrExist())

	va, err := c.LinkByName(ctx, "va")
	require.NoError(t, err)
	assert.Equal(t, "veth", va.Kind)
	br, err := c.LinkByName(ctx, "br0")
	require.NoError(t, err)
	assert.Equal(t, "bridge", br.Kind)
	assert.NotZero(t, br.Flags&compat.IffUp)

	require.NoError(t, c.SetLinkMaster(ctx, va.Index, br.Index))
	require.NoError(t, c.SetLinkMTU(ctx, va.Index, 1300))
	require.NoError(t, c.SetLinkUp(ctx, va.Index))
	vb, err := c.LinkByName(ctx, "vb")
	require.NoError(t, err)
	require.NoError(t, c.SetLinkName(ctx, vb.Index, "vpeer"))
	got, err := c.Link(ctx, vb.Index)
	require.NoError(t, err)
	assert.Equal(t, "vpeer", got.Name)
	assert.Equal(t, va.Index, got.ParentIndex)

	// Every link against ip -j link show. Carrier and operational state
	// change on the kernel's own time after a link goes up: compare
	// snapshots until they agree.
	var links []rtnl.Link
	wantKeys, gotKeys := settled(func() (wantKeys, gotKeys []string) {
		var want []ipLink
		ns.JSON(t, &want, "link", "show")
		links = collect(t, c.Links(ctx, rtnl.Filter{}))
		byIndex := map[int]string{}
		for _, l := range links {
			byIndex[l.Index] = l.Name
		}
		for _, w := range want {
			flags := slices.DeleteFunc(slices.Clone(w.Flags), func(f string) bool { return f == "NO-CARRIER" || f == "M-DOWN" })
			slices.Sort(flags)
			wantKeys = append(wantKeys, fmt.Sprint(w.Index, w.Name, w.MTU, w.Address, w.Master, w.Oper, w.TxQLen, flags))
		}
		for _, l := range links {
			// ip prints RUNNING only as part of the operational state.
			flags := slices.DeleteFunc(l.Flags.Names(), func(f string) bool { return f == "RUNNING" })
			slices.Sort(flags)
			gotKeys = append(gotKeys, fmt.Sprint(l.Index, l.Name, l.MTU, l.HardwareAddr.String(), byIndex[l.MasterIndex], l.OperState.String(), l.TxQueueLen, flags))
		}
		return wantKeys, gotKeys
	})
	assert.ElementsMatch(t, wantKeys, gotKeys)
	for _, l := range links {
		assert.NotEmpty(t, l.Extra, "IFLA_AF_SPEC and the rest are kept raw")
	}
	assert.Equal(t, uint32(1300), links[slices.IndexFunc(links, func(l rtnl.Link) bool { return l.Name == "va" })].MTU)

	// Link counters always; the per-protocol ones in IFLA_AF_SPEC only
	// when asked for.
	afSpec := func(l rtnl.Link) int {
		for typ, b := range rtnl.Attrs(l.Extra) {
			if typ == compat.IflaAfSpec {
				return len(b)
			}
		}
		return 0
	}
	short := map[string]int{}
	for l, err := range c.Links(ctx, rtnl.Filter{}) {
		require.NoError(t, err)
		assert.True(t, l.HasStats, l.Name)
		short[l.Name] = afSpec(l)
	}
	for l, err := range c.Links(ctx, rtnl.Filter{Stats: true}) {
		require.NoError(t, err)
		require.True(t, l.HasStats, l.Name)
		assert.Greater(t, afSpec(l), short[l.Name], l.Name)
	}

	// Replace: several attributes in one request.
	mac := net.HardwareAddr{2, 0, 0, 0, 0x42, 1}
	require.NoError(t, c.ReplaceLink(ctx, rtnl.Link{Index: vb.Index, MTU: 1280, HardwareAddr: mac, Alias: "peer side", Flags: compat.IffUp}))
	got, err = c.Link(ctx, vb.Index)
	require.NoError(t, err)
	assert.Equal(t, uint32(1280), got.MTU)
	assert.Equal(t, mac, got.HardwareAddr)
	assert.Equal(t, "peer side", got.Alias)
	assert.NotZero(t, got.Flags&compat.IffUp)
	var ipv []ipLink
	ns.JSON(t, &ipv, "link", "show", "dev", "vpeer")
	require.Len(t, ipv, 1)
	assert.Equal(t, uint32(1280), ipv[0].MTU)
	assert.Equal(t, mac.String(), ipv[0].Address)

	// Filter, down, free from the master, delete.
	one := collect(t, c.Links(ctx, rtnl.Filter{LinkIndex: va.Index}))
	require.Len(t, one, 1)
	require.NoError(t, c.SetLinkDown(ctx, va.Index))
	require.NoError(t, c.SetLinkMaster(ctx, va.Index, 0))
	got, err = c.Link(ctx, va.Index)
	require.NoError(t, err)
	assert.Zero(t, got.Flags&compat.IffUp)
	assert.Zero(t, got.MasterIndex)
	require.NoError(t, c.DeleteLink(ctx, va.Index))
	require.NoError(t, c.DeleteLink(ctx, br.Index))
	_, err = c.Link(ctx, va.Index)
	assert.ErrorIs(t, err, unix.ENODEV)
	assert.Len(t, ns.Links(t), 2, "lo and d0 remain")
}

type ipAddrLink struct {
	Index int    `json:"ifindex"`
	Name  string `json:"ifname"`
	Info  []struct {
		Family    string `json:"family"`
		Local     string `json:"local"`
		Prefixlen int    `json:"prefixlen"`
		Broadcast string `json:"broadcast"`
		Scope     string `json:"scope"`
		Label     string `json:"label"`
		Address   string `json:"address"`
		Valid     uint64 `json:"valid_life_time"`
		Preferred uint64 `json:"preferred_life_time"`
	} `json:"addr_info"`
}

func TestKernelAddresses(t *testing.T) {
	ns := nettest.NewNS(t)
	ns.AddDummy(t, "d0")
	ns.Run(t, "link", "set", "d0", "up")
	c := dialNS(t, ns)
	ctx := ctxT(t)
	d0, err := c.LinkByName(ctx, "d0")
	require.NoError(t, err)

	adds := []rtnl.Address{
		{Index: d0.Index, Prefix: netip.MustParsePrefix("192.0.2.10/24"), Broadcast: netip.MustParseAddr("192.0.2.255"), Label: "d0:a"},
		{Index: d0.Index, Prefix: netip.MustParsePrefix("198.51.100.1/32"), Peer: netip.MustParseAddr("198.51.100.2")},
		{Index: d0.Index, Prefix: netip.MustParsePrefix("2001:db8::1/64"), Flags: compat.IfaFNodad},
		{Index: d0.Index, Prefix: netip.MustParsePrefix("2001:db8:1::1/64"), Flags: compat.IfaFNodad, ValidLifetime: 600, PreferredLifetime: 300},
	}
	for _, a := range adds {
		require.NoError(t, c.AddAddress(ctx, a), a.Prefix)
	}
	require.Error(t, c.AddAddress(ctx, adds[0]), "exclusive")
	require.NoError(t, c.ReplaceAddress(ctx, adds[0]), "replace")
	got, err := c.Address(ctx, d0.Index, netip.MustParseAddr("192.0.2.10"))
	require.NoError(t, err)
	assert.Equal(t, "d0:a", got.Label)
	_, err = c.Address(ctx, d0.Index, netip.MustParseAddr("192.0.2.11"))
	assert.ErrorIs(t, err, rtnl.ErrNotFound)

	wantKeys, gotKeys := settled(func() (wantKeys, gotKeys []string) {
		var want []ipAddrLink
		ns.JSON(t, &want, "addr", "show")
		lifetimes := map[string]uint64{}
		for _, l := range want {
			for _, a := range l.Info {
				wantKeys = append(wantKeys, fmt.Sprint(l.Index, a.Family, a.Local, a.Prefixlen, a.Broadcast, a.Label, a.Scope, a.Address))
				lifetimes[a.Local] = a.Valid
			}
		}
		for a, err := range c.Addresses(ctx, rtnl.Filter{}) {
			require.NoError(t, err)
			peer := ""
			if a.Peer.IsValid() {
				peer = a.Peer.String()
			}
			brd := ""
			if a.Broadcast.IsValid() {
				brd = a.Broadcast.String()
			}
			label := a.Label
			if a.Family == rtnl.IPv6 {
				label = ""
			}
			gotKeys = append(gotKeys, fmt.Sprint(a.Index, a.Family.String(), a.Prefix.Addr().String(), a.Prefix.Bits(), brd, label, scopeName(a.Scope), peer))
			// Lifetimes count down: a second may pass between ip and us.
			assert.InDelta(t, lifetimes[a.Prefix.Addr().String()], uint64(a.ValidLifetime), 2, a.Prefix)
		}
		return wantKeys, gotKeys
	})
	assert.ElementsMatch(t, wantKeys, gotKeys)

	v6 := collect(t, c.Addresses(ctx, rtnl.Filter{Family: rtnl.IPv6, LinkIndex: d0.Index}))
	assert.GreaterOrEqual(t, len(v6), 2)
	for _, a := range v6 {
		assert.Equal(t, rtnl.IPv6, a.Family)
	}
	for _, a := range adds {
		require.NoError(t, c.DeleteAddress(ctx, a), a.Prefix)
	}
	for a, err := range c.Addresses(ctx, rtnl.Filter{Family: rtnl.IPv4}) {
		require.NoError(t, err)
		assert.Equal(t, "127.0.0.1", a.Prefix.Addr().String(), "only lo's address is left")
	}
}

func scopeName(s uint8) string {
	switch s {
	case compat.RtScopeUniverse:
		return "global"
	case compat.RtScopeLink:
		return "link"
	case compat.RtScopeHost:
		return "host"
	case compat.RtScopeSite:
		return "site"
	}
	return strconv.Itoa(int(s))
}

type ipRoute struct {
	Type     string `json:"type"`
	Dst      string `json:"dst"`
	Gateway  string `json:"gateway"`
	Dev      string `json:"dev"`
	Table    string `json:"table"`
	Protocol string `json:"protocol"`
	Scope    string `json:"scope"`
	Metric   uint32 `json:"metric"`
	Prefsrc  string `json:"prefsrc"`
	Nexthops []struct {
		Gateway string `json:"gateway"`
		Dev     string `json:"dev"`
		Weight  int    `json:"weight"`
	} `json:"nexthops"`
	Metrics []map[string]any `json:"metrics"`
}

// routeKey renders a route the way ip -j route show table all does.
func routeKey(r rtnl.Route, names map[int]string) string {
	dst := "default"
	if r.Dst.Bits() == r.Dst.Addr().BitLen() {
		dst = r.Dst.Addr().String()
	} else if r.Dst.Bits() != 0 {
		dst = r.Dst.String()
	}
	table := ""
	switch r.Table {
	case 254:
	case 255:
		table = "local"
	default:
		table = strconv.Itoa(int(r.Table))
	}
	gw := ""
	if r.Gateway.IsValid() {
		gw = r.Gateway.String()
	}
	typ := ""
	if r.Type != compat.RtnUnicast {
		typ = strconv.Itoa(int(r.Type))
	}
	hops := ""
	for _, h := range r.Multipath {
		hops += fmt.Sprintf("[%s %s %d]", h.Gateway, names[h.Index], h.Weight)
	}
	return fmt.Sprintf("%s %s via %s dev %s table %s metric %d %s", typ, dst, gw, names[r.OutIndex], table, r.Priority, hops)
}

func ipRouteKey(r ipRoute) string {
	typ := ""
	switch r.Type {
	case "local":
		typ = "2"
	case "broadcast":
		typ = "3"
	case "multicast":
		typ = "5"
	case "unreachable":
		typ = "7"
	case "blackhole":
		typ = "6"
	}
	hops := ""
	for _, h := range r.Nexthops {
		hops += fmt.Sprintf("[%s %s %d]", h.Gateway, h.Dev, max(h.Weight, 1))
	}
	return fmt.Sprintf("%s %s via %s dev %s table %s metric %d %s", typ, r.Dst, r.Gateway, r.Dev, r.Table, r.Metric, hops)
}

func TestKernelRoutes(t *testing.T) {
	ns := nettest.NewNS(t)
	ns.AddDummy(t, "d0")
	ns.AddDummy(t, "d1")
	ns.Run(t, "link", "set", "d0", "up")
	ns.Run(t, "link", "set", "d1", "up")
	ns.Run(t, "addr", "add", "10.0.0.1/24", "dev", "d0")
	ns.Run(t, "addr", "add", "10.0.1.1/24", "dev", "d1")
	ns.Run(t, "addr", "add", "2001:db8::1/64", "dev", "d0", "nodad")
	const n = 10000
	lines := make([]string, 0, n+2)
	for i := range n {
		lines = append(lines, fmt.Sprintf("route add 172.16.%d.%d/32 via 10.0.0.2 dev d0 table 100", i/256, i%256))
	}
	lines = append(lines, "route add 192.168.0.0/16 nexthop via 10.0.0.2 dev d0 weight 1 nexthop via 10.0.1.2 dev d1 weight 3")
	lines = append(lines, "route add 2001:db8:5::/48 via 2001:db8::2 dev d0 mtu 1280")
	ns.Batch(t, lines)
	c := dialNS(t, ns)
	ctx := ctxT(t)
	names := map[int]string{}
	for l, err := range c.Links(ctx, rtnl.Filter{}) {
		require.NoError(t, err)
		names[l.Index] = l.Name
	}
	d0 := 0
	for i, n := range names {
		if n == "d0" {
			d0 = i
		}
	}

	compare := func(t *testing.T, flt rtnl.Filter, table string, ipArgs ...string) int {
		t.Helper()
		wantKeys, gotKeys := settled(func() (wantKeys, gotKeys []string) {
			var want []ipRoute
			ns.JSON(t, &want, ipArgs...)
			for _, r := range want {
				if r.Table == "" {
					r.Table = table // ip omits the table it was asked for
				}
				wantKeys = append(wantKeys, ipRouteKey(r))
			}
			for r, err := range c.Routes(ctx, flt) {
				require.NoError(t, err)
				gotKeys = append(gotKeys, routeKey(r, names))
			}
			return wantKeys, gotKeys
		})
		sameSet(t, wantKeys, gotKeys)
		return len(gotKeys)
	}
	t.Run("all tables both families", func(t *testing.T) {
		keys, got := settled(func() (keys, got []string) {
			var all []ipRoute
			ns.JSON(t, &all, "-4", "route", "show", "table", "all")
			var all6 []ipRoute
			ns.JSON(t, &all6, "-6", "route", "show", "table", "all")
			for _, r := range append(all, all6...) {
				keys = append(keys, ipRouteKey(r))
			}
			for r, err := range c.Routes(ctx, rtnl.Filter{}) {
				require.NoError(t, err)
				got = append(got, routeKey(r, names))
			}
			return keys, got
		})
		sameSet(t, keys, got)
		assert.Greater(t, len(got), n)
	})
	t.Run("table 100", func(t *testing.T) {
		assert.Equal(t, n, compare(t, rtnl.Filter{Family: rtnl.IPv4, Table: 100, HasTable: true}, "100", "-4", "route", "show", "table", "100"))
	})
	t.Run("ipv6", func(t *testing.T) {
		compare(t, rtnl.Filter{Family: rtnl.IPv6}, "", "-6", "route", "show", "table", "all")
	})
	t.Run("multipath and metrics", func(t *testing.T) {
		var mp, mtu *rtnl.Route
		for r, err := range c.Routes(ctx, rtnl.Filter{}) {
			require.NoError(t, err)
			switch r.Dst.String() {
			case "192.168.0.0/16":
				mp = &r
			case "2001:db8:5::/48":
				mtu = &r
			}
		}
		require.NotNil(t, mp)
		require.Len(t, mp.Multipath, 2)
		assert.Equal(t, 3, mp.Multipath[1].Weight)
		assert.Equal(t, "10.0.1.2", mp.Multipath[1].Gateway.String())
		require.NotNil(t, mtu)
		assert.Contains(t, mtu.Metrics, rtnl.Metric{Type: compat.RtaxMTU, Value: 1280})
	})
	t.Run("add replace get delete", func(t *testing.T) {
		r := rtnl.Route{Dst: netip.MustParsePrefix("203.0.113.0/24"), Gateway: netip.MustParseAddr("10.0.0.3"), OutIndex: d0, Table: c.MainTable(),
			Metrics: []rtnl.Metric{{Type: compat.RtaxMTU, Value: 1400}}}
		require.NoError(t, c.AddRoute(ctx, r))
		assert.ErrorIs(t, c.AddRoute(ctx, r), os_ErrExist())
		r.Gateway = netip.MustParseAddr("10.0.0.4")
		require.NoError(t, c.ReplaceRoute(ctx, r))
		exact, err := c.Route(ctx, r.Dst, 0)
		require.NoError(t, err)
		assert.Equal(t, "10.0.0.4", exact.Gateway.String())
		assert.Contains(t, exact.Metrics, rtnl.Metric{Type: compat.RtaxMTU, Value: 1400})
		_, err = c.Route(ctx, r.Dst, 100)
		assert.ErrorIs(t, err, rtnl.ErrNotFound)
		got, err := c.RouteGet(ctx, netip.MustParseAddr("203.0.113.9"))
		require.NoError(t, err)
		assert.Equal(t, "10.0.0.4", got.Gateway.String())
		assert.Equal(t, d0, got.OutIndex)
		out := ns.Output(t, "route", "show", "203.0.113.0/24")
		assert.Contains(t, string(out), "via 10.0.0.4 dev d0")
		assert.Contains(t, string(out), "mtu 1400")

		mp := rtnl.Route{Dst: netip.MustParsePrefix("203.0.114.0/24"), Table: 200, Multipath: []rtnl.NextHop{
			{Gateway: netip.MustParseAddr("10.0.0.2"), Index: d0, Weight: 2},
			{Gateway: netip.MustParseAddr("10.0.1.2"), Index: names2index(names, "d1")},
		}}
		require.NoError(t, c.AddRoute(ctx, mp))
		out = ns.Output(t, "route", "show", "table", "200")
		assert.Contains(t, string(out), "nexthop via 10.0.0.2 dev d0 weight 2")
		v6 := rtnl.Route{Dst: netip.MustParsePrefix("2001:db8:9::/64"), Gateway: netip.MustParseAddr("2001:db8::9"), OutIndex: d0, Priority: 42}
		require.NoError(t, c.AddRoute(ctx, v6))
		assert.Contains(t, string(ns.Output(t, "-6", "route", "show", "2001:db8:9::/64")), "via 2001:db8::9 dev d0 proto static metric 42")
		blackhole := rtnl.Route{Dst: netip.MustParsePrefix("198.18.0.0/15"), Type: compat.RtnBlackhole}
		require.NoError(t, c.AddRoute(ctx, blackhole))
		assert.Contains(t, string(ns.Output(t, "route", "show", "198.18.0.0/15")), "blackhole")

		for _, x := range []rtnl.Route{r, mp, v6, blackhole} {
			if x.Table == 0 {
				x.Table = c.MainTable()
			}
			require.NoError(t, c.DeleteRoute(ctx, x), x.Dst)
		}
		assert.ErrorIs(t, c.DeleteRoute(ctx, r), unix.ESRCH)
		assert.Empty(t, string(ns.Output(t, "route", "show", "table", "200")))
	})
}

// settled takes snapshots until ip's list and ours agree, and returns the
// last pair: the kernel adds IPv6 link-local addresses, their routes and
// multicast neighbours on its own time, which may fall between the two
// reads of one snapshot.
func settled(snap func() (want, got []string)) (want, got []string) {
	for i := 0; ; i++ {
		want, got = snap()
		if i == 30 || multisetEqual(want, got) {
			return want, got
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func multisetEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, k := range a {
		m[k]++
	}
	for _, k := range b {
		if m[k]--; m[k] < 0 {
			return false
		}
	}
	return true
}

// sameSet compares two lists as multisets and reports a few differences.
func sameSet(t *testing.T, want, got []string) {
	t.Helper()
	w := map[string]int{}
	for _, k := range want {
		w[k]++
	}
	for _, k := range got {
		w[k]--
	}
	var diffs []string
	for k, n := range w {
		if n != 0 {
			diffs = append(diffs, fmt.Sprintf("%+d %q", n, k))
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 10 {
		diffs = diffs[:10]
	}
	assert.Empty(t, diffs, "want %d, got %d (+: only ip has it, -: only rtnl)", len(want), len(got))
}

func names2index(names map[int]string, name string) int {
	for i, n := range names {
		if n == name {
			return i
		}
	}
	return 0
}

type ipNeigh struct {
	Dst    string   `json:"dst"`
	Dev    string   `json:"dev"`
	Lladdr string   `json:"lladdr"`
	State  []string `json:"state"`
	Router any      `json:"router"`
}

func TestKernelNeighbors(t *testing.T) {
	ns := nettest.NewNS(t)
	ns.AddDummy(t, "d0")
	ns.Run(t, "link", "set", "d0", "up")
	ns.Run(t, "addr", "add", "10.0.0.1/24", "dev", "d0")
	ns.Run(t, "addr", "add", "2001:db8::1/64", "dev", "d0", "nodad")
	ns.Run(t, "neigh", "add", "10.0.0.7", "lladdr", "02:00:00:00:00:07", "dev", "d0", "nud", "reachable")
	c := dialNS(t, ns)
	ctx := ctxT(t)
	d0, err := c.LinkByName(ctx, "d0")
	require.NoError(t, err)
	mac := net.HardwareAddr{2, 0, 0, 0, 0, 9}
	require.NoError(t, c.AddNeighbor(ctx, rtnl.Neighbor{Index: d0.Index, IP: netip.MustParseAddr("10.0.0.9"), HardwareAddr: mac}))
	require.NoError(t, c.AddNeighbor(ctx, rtnl.Neighbor{Index: d0.Index, IP: netip.MustParseAddr("2001:db8::9"), HardwareAddr: mac, State: compat.NudStale}))
	assert.ErrorIs(t, c.AddNeighbor(ctx, rtnl.Neighbor{Index: d0.Index, IP: netip.MustParseAddr("10.0.0.9"), HardwareAddr: mac}), os_ErrExist())
	mac2 := net.HardwareAddr{2, 0, 0, 0, 0, 10}
	require.NoError(t, c.ReplaceNeighbor(ctx, rtnl.Neighbor{Index: d0.Index, IP: netip.MustParseAddr("10.0.0.9"), HardwareAddr: mac2}))

	wantKeys, gotKeys := settled(func() (wantKeys, gotKeys []string) {
		var want []ipNeigh
		ns.JSON(t, &want, "neigh", "show", "nud", "all")
		for _, n := range want {
			wantKeys = append(wantKeys, fmt.Sprint(n.Dst, n.Dev, n.Lladdr, n.State))
		}
		for n, err := range c.Neighbors(ctx, rtnl.Filter{}) {
			require.NoError(t, err)
			gotKeys = append(gotKeys, fmt.Sprint(n.IP, "d0", n.HardwareAddr.String(), n.State.Names()))
		}
		return wantKeys, gotKeys
	})
	assert.ElementsMatch(t, wantKeys, gotKeys)

	got, err := c.Neighbor(ctx, d0.Index, netip.MustParseAddr("10.0.0.9"))
	require.NoError(t, err)
	assert.Equal(t, mac2, got.HardwareAddr)
	assert.Equal(t, rtnl.NeighState(compat.NudPermanent), got.State)
	require.NoError(t, c.DeleteNeighbor(ctx, got))
	_, err = c.Neighbor(ctx, d0.Index, netip.MustParseAddr("10.0.0.9"))
	assert.ErrorIs(t, err, rtnl.ErrNotFound)
	var v6 []string
	for n, err := range c.Neighbors(ctx, rtnl.Filter{Family: rtnl.IPv6, LinkIndex: d0.Index}) {
		require.NoError(t, err)
		assert.Equal(t, rtnl.IPv6, n.Family)
		v6 = append(v6, n.IP.String())
	}
	assert.Contains(t, v6, "2001:db8::9")
	assert.NotContains(t, v6, "10.0.0.7")
}

// Lookups of a link that does not exist wrap ErrNotFound, as the other
// lookups do; names the kernel would refuse are refused before anything is
// sent, with a reason, and nothing is created.
func TestKernelLinkLookupsAndNames(t *testing.T) {
	ns := nettest.NewNS(t)
	c := dialNS(t, ns)
	ctx := ctxT(t)
	_, err := c.Link(ctx, 9999)
	require.ErrorIs(t, err, rtnl.ErrNotFound)
	assert.ErrorIs(t, err, unix.ENODEV)
	_, err = c.LinkByName(ctx, "nosuch")
	require.ErrorIs(t, err, rtnl.ErrNotFound)
	assert.ErrorIs(t, err, unix.ENODEV)

	before := len(collect(t, c.Links(ctx, rtnl.Filter{})))
	long := "abcdefghijklmnop" // 16 bytes
	for _, tt := range []struct {
		name string
		err  error
	}{
		{"long name", c.AddLink(ctx, rtnl.Link{Name: long, Kind: "veth"})},
		{"long peer", c.AddLink(ctx, rtnl.Link{Name: "v0", PeerName: long, Kind: "veth"})},
		{"slash", c.AddLink(ctx, rtnl.Link{Name: "a/b", Kind: "dummy"})},
		{"dot", c.AddLink(ctx, rtnl.Link{Name: "..", Kind: "dummy"})},
		{"rename", c.SetLinkName(ctx, 1, "lo:0")},
	} {
		require.ErrorIs(t, tt.err, rtnl.ErrInvalidName, tt.name)
	}
	_, err = c.LinkByName(ctx, long)
	require.ErrorIs(t, err, rtnl.ErrInvalidName)
	assert.Contains(t, err.Error(), "16 bytes, more than the 15")
	assert.Len(t, collect(t, c.Links(ctx, rtnl.Filter{})), before, "nothing was created")

	// Fifteen bytes is a name.
	require.NoError(t, c.AddLink(ctx, rtnl.Link{Name: long[:15], Kind: "veth", PeerName: "p0"}))
	l, err := c.LinkByName(ctx, long[:15])
	require.NoError(t, err)
	assert.Equal(t, long[:15], l.Name)
}

// A managed neighbour's NTF_EXT_MANAGED comes in NDA_FLAGS_EXT; it is kept
// above ndm_flags (compat.NtfManaged), not OR-ed into them, where it read
// as NTF_USE; and AddNeighbor sends it back the same way.
func TestKernelNeighborManaged(t *testing.T) {
	ns := nettest.NewNS(t)
	ns.Batch(t, []string{
		"link add v0 type veth peer name v1",
		"link set v0 up",
		"addr add 10.0.0.1/24 dev v0",
	})
	c := dialNS(t, ns)
	ctx := ctxT(t)
	v0, err := c.LinkByName(ctx, "v0")
	require.NoError(t, err)
	ip := netip.MustParseAddr("10.0.0.10")
	require.NoError(t, c.AddNeighbor(ctx, rtnl.Neighbor{Index: v0.Index, IP: ip, Flags: compat.NtfManaged}))
	out := string(ns.Output(t, "-j", "neigh", "show", "nud", "all"))
	assert.Contains(t, out, `"managed"`, "the kernel took the managed flag")
	var found bool
	for _, n := range collect(t, c.Neighbors(ctx, rtnl.Filter{LinkIndex: v0.Index})) {
		if n.IP == ip {
			found = true
			assert.NotZero(t, n.Flags&compat.NtfManaged)
			assert.Zero(t, n.Flags&compat.NtfUse)
		}
	}
	assert.True(t, found)
}
