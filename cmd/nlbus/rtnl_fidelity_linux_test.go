//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nlbus/netlink/internal/nettest"
)

// rtCanonExcept renders objects as sorted JSON strings, dropping the keys
// named: every other key ip prints must then be printed by nlbus too.
func rtCanonExcept(t *testing.T, objs []map[string]any, drop ...string) []string {
	t.Helper()
	var out []string
	for _, o := range objs {
		k := map[string]any{}
		for key, v := range o {
			k[key] = v
		}
		for _, key := range drop {
			delete(k, key)
		}
		b, err := json.Marshal(k)
		require.NoError(t, err)
		out = append(out, string(b))
	}
	sort.Strings(out)
	return out
}

// rtFlatAddrs flattens ip addr show's links into their addr_info objects,
// each with its link's name as "dev".
func rtFlatAddrs(links []map[string]any) []map[string]any {
	var out []map[string]any
	for _, l := range links {
		infos, _ := l["addr_info"].([]any)
		for _, i := range infos {
			a := i.(map[string]any)
			a["dev"] = l["ifname"]
			out = append(out, a)
		}
	}
	return out
}

// rtNlbusRaw runs nlbus args... and returns its output.
func rtNlbusRaw(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	code := runMain(context.Background(), &env{stdout: &out, stderr: &errOut}, args)
	require.Equal(t, 0, code, "nlbus %s: %s", strings.Join(args, " "), errOut.String())
	return out.String()
}

func rtIPJSON(t *testing.T, ns *nettest.NS, args ...string) []map[string]any {
	t.Helper()
	var v []map[string]any
	ns.JSON(t, &v, args...)
	return v
}

// TestKernelCLIAddrFlags: every key of ip -j addr show's addr_info objects,
// the IFA_F_* flags among them, but the lifetimes (they count down between
// the two reads).
func TestKernelCLIAddrFlags(t *testing.T) {
	ns := nettest.NewNS(t)
	ns.AddDummy(t, "d0")
	// DAD needs a link that does ARP (not ifb, AddDummy's fallback); on d1
	// it lasts 100 s, so that its addresses stay tentative.
	ns.Run(t, "link", "add", "d1", "type", "veth", "peer", "name", "d1p")
	ns.Exec(t, "sysctl", "-qw", "net.ipv6.conf.d1.dad_transmits=100", "net.ipv6.conf.d1.optimistic_dad=1")
	ns.Batch(t, []string{
		"link set d1p up",
		"link set d1 up",
		"link set d0 up",
		"addr add 10.0.0.1/24 dev d0",
		"addr add 10.0.0.2/24 dev d0",               // secondary
		"addr add 10.0.2.1/24 dev d0 noprefixroute", // noprefixroute
		"addr add 10.0.3.1/24 dev d0 valid_lft 100 preferred_lft 50",           // dynamic
		"addr add 10.0.4.1/24 dev d0 metric 20",                                // metric
		"addr add 10.0.5.1/24 dev d0 valid_lft 100 preferred_lft 0",            // deprecated (IPv4 too)
		"addr add 2001:db8::1/64 dev d0 nodad home",                            // nodad, home
		"addr add 2001:db8:1::1/64 dev d0 nodad mngtmpaddr",                    // mngtmpaddr
		"addr add 2001:db8:2::1/64 dev d0 nodad valid_lft 100 preferred_lft 0", // deprecated, dynamic
		"addr add 2001:db8:4::1/64 dev d1",                                     // tentative: d1 is down
	})
	want := rtCanonExcept(t, rtFlatAddrs(rtIPJSON(t, ns, "addr", "show")), "valid_life_time", "preferred_life_time")
	for _, flag := range []string{"secondary", "noprefixroute", "dynamic", "metric", "deprecated", "nodad", "home", "mngtmpaddr", "tentative", "optimistic"} {
		require.Contains(t, strings.Join(want, "\n"), `"`+flag+`"`, "the setup gives no %s address", flag)
	}
	rtSettledEqual(t, func() ([]string, []string) {
		want := rtCanonExcept(t, rtFlatAddrs(rtIPJSON(t, ns, "addr", "show")), "valid_life_time", "preferred_life_time")
		got := rtCanonExcept(t, rtFlatAddrs(rtNlbusJSON(t, "addr", "list", "--json", "--netns", ns.Name)), "valid_life_time", "preferred_life_time")
		return want, got
	})
}

// rtRoutesBoth is ip -j route show table all of both families.
func rtRoutesBoth(t *testing.T, ns *nettest.NS, args ...string) []map[string]any {
	t.Helper()
	v4 := rtIPJSON(t, ns, append([]string{"-4", "route", "show"}, args...)...)
	return append(v4, rtIPJSON(t, ns, append([]string{"-6", "route", "show"}, args...)...)...)
}

// TestKernelCLIRouteMetrics: ip prints RTA_METRICS as one object in an
// array, "metrics":[{"mtu":1400,"hoplimit":10}], with its own names and
// units.
func TestKernelCLIRouteMetrics(t *testing.T) {
	ns := nettest.NewNS(t)
	ns.AddDummy(t, "d0")
	ns.Batch(t, []string{
		"link set d0 up",
		"addr add 10.0.0.1/24 dev d0",
		"route add 10.7.0.0/16 dev d0 mtu lock 1400 hoplimit 10",
		"route add 10.8.0.0/16 dev d0 window 1000 rtt 100ms rttvar 20ms rto_min 5ms ssthresh 50 cwnd 10 initcwnd 10 initrwnd 20 advmss 1300 reordering 3 quickack 1 fastopen_no_cookie 1 features ecn congctl reno",
		"route add 10.9.0.0/16 dev d0 congctl lock reno",
		"route add 10.10.0.0/16 dev d0 window lock 0",
		"route add 2001:db8:7::/48 dev d0 mtu 1300 advmss 1200",
	})
	want := rtCanonExcept(t, rtRoutesBoth(t, ns, "table", "all"))
	require.Contains(t, strings.Join(want, "\n"), `"metrics":[{"hoplimit":10,"mtu":1400}]`)
	// ip's key order too.
	assert.Contains(t, rtNlbusRaw(t, "route", "list", "--json", "--netns", ns.Name), `"metrics":[{"mtu":1400,"hoplimit":10}]`)
	rtSettledEqual(t, func() ([]string, []string) {
		return rtCanonExcept(t, rtRoutesBoth(t, ns, "table", "all")), rtCanonExcept(t, rtNlbusJSON(t, "route", "list", "--json", "--netns", ns.Name))
	})
}

// TestKernelCLIRouteExpires: ip prints RTA_CACHEINFO's rta_expires in
// seconds as "expires".
func TestKernelCLIRouteExpires(t *testing.T) {
	ns := nettest.NewNS(t)
	ns.AddDummy(t, "d0")
	ns.Batch(t, []string{
		"link set d0 up",
		"route add 2001:db8:9::/48 dev d0 expires 300",
	})
	want := rtCanonExcept(t, rtRoutesBoth(t, ns, "table", "all"))
	require.Contains(t, strings.Join(want, "\n"), `"expires":29`)
	// The seconds count down between the two reads: rtSettledEqual
	// retries when a second ends between them.
	rtSettledEqual(t, func() ([]string, []string) {
		return rtCanonExcept(t, rtRoutesBoth(t, ns, "table", "all")), rtCanonExcept(t, rtNlbusJSON(t, "route", "list", "--json", "--netns", ns.Name))
	})
}

// TestKernelCLINeighProxy: neigh list --proxy is ip neigh show proxy, and
// every key of ip -j neigh show is printed the same.
func TestKernelCLINeighProxy(t *testing.T) {
	ns := nettest.NewNS(t)
	ns.AddDummy(t, "d0")
	ns.AddDummy(t, "d1")
	ns.Batch(t, []string{
		"link set d0 up",
		"link set d1 up",
		"addr add 10.0.0.1/24 dev d0",
		"neigh add 10.0.0.7 lladdr 02:00:00:00:00:07 dev d0",
		"neigh add 10.0.0.8 lladdr 02:00:00:00:00:08 dev d0 protocol static extern_learn",
		"neigh add 10.0.0.9 dev d0 nud none",
		"neigh add proxy 10.0.0.50 dev d0",
		"neigh add proxy 10.0.1.50 dev d1",
		"neigh add proxy 2001:db8::50 dev d0",
	})
	for _, c := range []struct{ ip, nlbus []string }{
		{[]string{"neigh", "show", "proxy"}, []string{"--proxy"}},
		{[]string{"-4", "neigh", "show", "proxy"}, []string{"--proxy", "-4"}},
		{[]string{"neigh", "show", "proxy", "dev", "d0"}, []string{"--proxy", "--dev", "d0"}},
		{[]string{"neigh", "show"}, nil},
		{[]string{"neigh", "show", "nud", "all"}, []string{"--all"}},
		{[]string{"neigh", "show", "dev", "d0"}, []string{"--dev", "d0"}},
	} {
		t.Run(strings.Join(c.ip, " "), func(t *testing.T) {
			_, got := rtSettledEqual(t, func() ([]string, []string) {
				args := append([]string{"neigh", "list", "--json", "--netns", ns.Name}, c.nlbus...)
				return rtCanonExcept(t, rtIPJSON(t, ns, c.ip...)), rtCanonExcept(t, rtNlbusJSON(t, args...))
			})
			assert.NotEmpty(t, got)
		})
	}
}

// TestKernelCLILinkOtherNetns: a veth whose peer is in another namespace
// has IFLA_LINK_NETNSID, and its IFLA_LINK is an index over there: ip
// prints link_index and link_netnsid, and no M-DOWN, whatever the link of
// that index here is.
func TestKernelCLILinkOtherNetns(t *testing.T) {
	ns, other := nettest.NewNS(t), nettest.NewNS(t)
	ns.AddDummy(t, "d5") // down
	idx := 0
	for _, l := range ns.Links(t) {
		if l.Name == "d5" {
			idx = l.Index
		}
	}
	require.NotZero(t, idx)
	// The peer, over there, gets d5's index.
	ns.Run(t, "link", "add", "v3", "type", "veth", "peer", "name", "v3p", "index", strconv.Itoa(idx), "netns", other.Name)
	other.Run(t, "link", "set", "v3p", "up")
	ns.Run(t, "link", "set", "v3", "up")
	// And a veth pair here, one end down: M-DOWN on the other.
	ns.Run(t, "link", "add", "va", "type", "veth", "peer", "name", "vb")
	ns.Run(t, "link", "set", "va", "up")
	keys := []string{"ifindex", "ifname", "link", "link_index", "link_netnsid", "flags"}
	want := rtCanon(t, rtIPJSON(t, ns, "link", "show"), keys...)
	require.Contains(t, strings.Join(want, "\n"), `"link_index":`+strconv.Itoa(idx))
	require.Contains(t, strings.Join(want, "\n"), `M-DOWN`)
	rtSettledEqual(t, func() ([]string, []string) {
		return rtCanon(t, rtIPJSON(t, ns, "link", "show"), keys...), rtCanon(t, rtNlbusJSON(t, "link", "list", "--json", "--netns", ns.Name), keys...)
	})
	rtSettledEqual(t, func() ([]string, []string) {
		return rtCanon(t, rtIPJSON(t, ns, "addr", "show"), keys...), rtCanon(t, rtNlbusJSON(t, "addr", "list", "--json", "--netns", ns.Name), keys...)
	})
}

// TestKernelCLILinkMode: ip link show prints IFLA_LINKMODE as linkmode
// (ip addr show does not).
func TestKernelCLILinkMode(t *testing.T) {
	ns := nettest.NewNS(t)
	ns.AddDummy(t, "d0")
	ns.AddDummy(t, "d1")
	ns.Run(t, "link", "set", "d1", "mode", "dormant")
	keys := []string{"ifindex", "ifname", "linkmode", "linkmode_index"}
	want := rtCanon(t, rtIPJSON(t, ns, "link", "show"), keys...)
	require.Contains(t, strings.Join(want, "\n"), `"linkmode":"DORMANT"`)
	require.Contains(t, strings.Join(want, "\n"), `"linkmode":"DEFAULT"`)
	rtSettledEqual(t, func() ([]string, []string) {
		return rtCanon(t, rtIPJSON(t, ns, "link", "show"), keys...), rtCanon(t, rtNlbusJSON(t, "link", "list", "--json", "--netns", ns.Name), keys...)
	})
	rtSettledEqual(t, func() ([]string, []string) {
		return rtCanon(t, rtIPJSON(t, ns, "addr", "show"), keys...), rtCanon(t, rtNlbusJSON(t, "addr", "list", "--json", "--netns", ns.Name), keys...)
	})
}

// TestKernelCLIAddrPeerText: addr list shows a point-to-point address with
// its peer, as ip addr show does (inet 10.4.0.1 peer 10.4.0.2/32).
func TestKernelCLIAddrPeerText(t *testing.T) {
	ns := nettest.NewNS(t)
	ns.AddDummy(t, "d0")
	ns.Run(t, "addr", "add", "10.4.0.1", "peer", "10.4.0.2", "dev", "d0")
	ns.Run(t, "addr", "add", "2001:db8:4::1", "peer", "2001:db8:4::2/64", "dev", "d0")
	ip := string(ns.Output(t, "addr", "show", "dev", "d0"))
	require.Contains(t, ip, "inet 10.4.0.1 peer 10.4.0.2/32")
	require.Contains(t, ip, "inet6 2001:db8:4::1 peer 2001:db8:4::2/64")
	out := rtNlbusRaw(t, "addr", "list", "--netns", ns.Name)
	assert.Contains(t, out, "10.4.0.1 peer 10.4.0.2/32")
	assert.Contains(t, out, "2001:db8:4::1 peer 2001:db8:4::2/64")
}

// TestKernelCLIRouteTable0: ip route show table 0 (RT_TABLE_UNSPEC, also
// spelled unspec) lists every table, as table all does.
func TestKernelCLIRouteTable0(t *testing.T) {
	ns := nettest.NewNS(t)
	ns.AddDummy(t, "d0")
	ns.Batch(t, []string{
		"link set d0 up",
		"addr add 10.1.0.1/24 dev d0",
		"route add 10.2.0.0/16 dev d0 table 100",
		"route add 10.3.0.0/16 dev d0 table default",
	})
	for _, table := range []string{"0", "unspec", "default", "100"} {
		t.Run(table, func(t *testing.T) {
			_, got := rtSettledEqual(t, func() ([]string, []string) {
				args := []string{"route", "list", "--json", "--table", table, "--netns", ns.Name}
				if table == "0" || table == "unspec" {
					return rtCanonExcept(t, rtRoutesBoth(t, ns, "table", table)), rtCanonExcept(t, rtNlbusJSON(t, args...))
				}
				// There is no such IPv6 table: ip -6 fails.
				return rtCanonExcept(t, rtIPJSON(t, ns, "-4", "route", "show", "table", table)), rtCanonExcept(t, rtNlbusJSON(t, append(args, "-4")...))
			})
			assert.NotEmpty(t, got)
			if table == "0" || table == "unspec" {
				assert.Contains(t, strings.Join(got, "\n"), `"table":"100"`)
				assert.Contains(t, strings.Join(got, "\n"), `"table":"local"`)
			}
		})
	}
}

// TestKernelCLINeighManaged: a managed neighbour (NTF_EXT_MANAGED, carried
// in NDA_FLAGS_EXT) prints "managed" as ip does; its bit is not ndm_flags'
// NTF_USE.
func TestKernelCLINeighManaged(t *testing.T) {
	ns := nettest.NewNS(t)
	ns.Batch(t, []string{
		"link add v0 type veth peer name v1",
		"link set v0 up",
		"addr add 10.0.0.1/24 dev v0",
		"neigh add 10.0.0.10 dev v0 managed",
	})
	want, got := rtSettledEqual(t, func() ([]string, []string) {
		return rtCanonExcept(t, rtIPJSON(t, ns, "neigh", "show", "nud", "all")),
			rtCanonExcept(t, rtNlbusJSON(t, "neigh", "list", "--json", "--all", "--netns", ns.Name))
	})
	require.Len(t, want, 1)
	assert.Contains(t, got[0], `"managed":null`)
}
