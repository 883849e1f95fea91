package main

import (
	"encoding/json"
	"net/netip"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nlbus/netlink/compat"
	"github.com/nlbus/netlink/rtnl"
)

// rtMarshal renders v as ip -j would: one JSON object.
func rtMarshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// TestRtAddrFlags checks the address flags against iproute2's
// print_ifa_flags, the cases a test namespace cannot easily make included
// (a privacy address, failed DAD, bits ip has no name for).
func TestRtAddrFlags(t *testing.T) {
	v4 := rtnl.Address{Family: rtnl.IPv4, Prefix: netip.MustParsePrefix("10.0.0.2/24"), Scope: compat.RtScopeUniverse, Label: "d0"}
	v6 := rtnl.Address{Family: rtnl.IPv6, Prefix: netip.MustParsePrefix("2001:db8::2/64"), Scope: compat.RtScopeUniverse}
	for _, c := range []struct {
		a     rtnl.Address
		flags uint32
		want  string
	}{
		{v4, compat.IfaFPermanent, `{"family":"inet","local":"10.0.0.2","prefixlen":24,"scope":"global","label":"d0","valid_life_time":0,"preferred_life_time":0}`},
		{v4, compat.IfaFSecondary, `{"family":"inet","local":"10.0.0.2","prefixlen":24,"scope":"global","secondary":true,"dynamic":true,"label":"d0","valid_life_time":0,"preferred_life_time":0}`},
		// IFA_F_SECONDARY on IPv6 is a privacy address: "temporary".
		{v6, compat.IfaFSecondary | compat.IfaFDeprecated | compat.IfaFPermanent, `{"family":"inet6","local":"2001:db8::2","prefixlen":64,"scope":"global","temporary":true,"deprecated":true,"valid_life_time":0,"preferred_life_time":0}`},
		{v6, compat.IfaFDadfailed | compat.IfaFTentative | compat.IfaFStablePrivacy | compat.IfaFPermanent, `{"family":"inet6","local":"2001:db8::2","prefixlen":64,"scope":"global","dadfailed":true,"tentative":true,"stable-privacy":true,"valid_life_time":0,"preferred_life_time":0}`},
		{v4, compat.IfaFMcautojoin | compat.IfaFNoprefixroute | compat.IfaFPermanent | 0x3000, `{"family":"inet","local":"10.0.0.2","prefixlen":24,"scope":"global","noprefixroute":true,"autojoin":true,"ifa_flags":"3000","label":"d0","valid_life_time":0,"preferred_life_time":0}`},
	} {
		a := c.a
		a.Flags = c.flags
		assert.Equal(t, c.want, rtMarshal(t, rtToAddrJSON(a)), "flags %#x", c.flags)
	}
}

// TestRtRouteMetrics checks "metrics" against iproute2's print_rta_metrics.
func TestRtRouteMetrics(t *testing.T) {
	f := compat.FactsFor(compat.Linux)
	mt := func(typ uint16, v uint32) rtnl.Metric { return rtnl.Metric{Type: typ, Value: v} }
	r := rtnl.Route{Family: rtnl.IPv4, Dst: netip.MustParsePrefix("10.7.0.0/16"), Protocol: compat.RtprotBoot, Type: compat.RtnUnicast}
	for _, c := range []struct {
		ms   []rtnl.Metric
		cc   string
		want string
	}{
		{nil, "", ``},
		{[]rtnl.Metric{}, "", `"metrics":[{}]`},
		{[]rtnl.Metric{mt(compat.RtaxHoplimit, 10), mt(compat.RtaxMTU, 1400)}, "", `"metrics":[{"mtu":1400,"hoplimit":10}]`},
		// Locked: mtu with its value, window without one; RTAX_LOCK not shown.
		{[]rtnl.Metric{mt(compat.RtaxLock, 1<<compat.RtaxMTU|1<<compat.RtaxWindow), mt(compat.RtaxMTU, 1400)}, "", `"metrics":[{"mtu":1400,"window":0}]`},
		// hoplimit -1 is the default, not shown; rtt and rttvar are kept
		// times 8 and 4.
		{[]rtnl.Metric{mt(compat.RtaxHoplimit, 0xFFFFFFFF), mt(compat.RtaxRTT, 800), mt(compat.RtaxRTTVar, 80)}, "", `"metrics":[{"rtt":100,"rttvar":20}]`},
		{[]rtnl.Metric{mt(compat.RtaxFeatures, 1)}, "cubic", `"metrics":[{"ecn":null,"congestion":"cubic"}]`},
		{[]rtnl.Metric{mt(compat.RtaxFeatures, 0x9), mt(40, 1)}, "", `"metrics":[{"ecn":null,"features":"0x9"}]`},
		{[]rtnl.Metric{mt(compat.RtaxFeatures, 0x8)}, "", `"metrics":[{"features":"0x8"}]`},
	} {
		r.Metrics, r.CCAlgo = c.ms, c.cc
		got := rtMarshal(t, rtToRouteJSON(f, r, nil, false))
		if c.want == "" {
			assert.NotContains(t, got, `"metrics"`)
			continue
		}
		assert.Contains(t, got, c.want)
	}
}

// TestRtRouteExpires: rta_expires is in USER_HZ ticks on Linux, and
// printed whenever it is not 0, as iproute2's print_rta_cacheinfo does;
// FreeBSD's RTA_EXPIRES is in seconds.
func TestRtRouteExpires(t *testing.T) {
	r := rtnl.Route{Family: rtnl.IPv6, Dst: netip.MustParsePrefix("2001:db8:9::/48"), Protocol: compat.RtprotBoot, Type: compat.RtnUnicast}
	for _, c := range []struct {
		os      compat.OS
		expires int32
		want    string
	}{
		{compat.Linux, 0, ``},
		{compat.Linux, 29_950, `"expires":299`},
		{compat.Linux, 50, `"expires":0`},
		{compat.FreeBSD, 300, `"expires":300`},
	} {
		r.Expires = c.expires
		got := rtMarshal(t, rtToRouteJSON(compat.FactsFor(c.os), r, nil, false))
		if c.want == "" {
			assert.NotContains(t, got, `"expires"`)
			continue
		}
		assert.Contains(t, got, c.want)
	}
}

// TestRtLinkLower checks link, link_index, link_netnsid and M-DOWN against
// iproute2's print_name_and_link.
func TestRtLinkLower(t *testing.T) {
	netnsid := func(id int32) []byte {
		b := make([]byte, 8)
		netlinkNE.PutUint16(b[0:], 8)
		netlinkNE.PutUint16(b[2:], rtIflaLinkNetnsID)
		netlinkNE.PutUint32(b[4:], uint32(id))
		return b
	}
	names := map[int]string{1: "lo", 2: "d5", 3: "v3"}
	up := map[int]bool{1: true, 2: false, 3: true}
	l := rtnl.Link{Index: 3, Name: "v3", Flags: compat.IffUp | compat.IffRunning, ParentIndex: 2}
	for _, c := range []struct {
		parent int
		extra  []byte
		up     map[int]bool
		want   string
	}{
		{2, nil, up, `"link":"d5","flags":["UP","M-DOWN"]`},
		{1, nil, up, `"link":"lo","flags":["UP"]`},
		// No such link here: ip calls it if9 and, its flags unknown, M-DOWN.
		{9, nil, up, `"link":"if9","flags":["UP","M-DOWN"]`},
		// Up unknown (a monitor event): no M-DOWN.
		{2, nil, nil, `"link":"d5","flags":["UP"]`},
		// In another namespace: an index, the namespace id, no M-DOWN.
		{2, netnsid(0), up, `"link_index":2,"flags":["UP"]`},
		{2, netnsid(-1), up, `"link_index":2,"flags":["UP"]`},
	} {
		l.ParentIndex, l.HasParent, l.Extra = c.parent, true, c.extra
		got := rtMarshal(t, rtToLinkJSON(l, names, c.up))
		assert.Contains(t, got, c.want)
		if c.extra != nil {
			assert.Contains(t, got, `"link_netnsid":`+strconv.Itoa(int(int32(netlinkNE.Uint32(c.extra[4:])))))
			assert.NotContains(t, got, `"link":`)
		} else {
			assert.NotContains(t, got, `"link_netnsid"`)
		}
	}
}

// TestRtLinkParentNone: IFLA_LINK present and 0 (a tunnel bound to no
// device) is "link": null in ip -j; an absent IFLA_LINK is no key at all.
func TestRtLinkParentNone(t *testing.T) {
	l := rtnl.Link{Index: 4, Name: "gre1", HasParent: true}
	got := rtMarshal(t, rtToLinkJSON(l, nil, map[int]bool{}))
	assert.Contains(t, got, `"ifname":"gre1","link":null,"flags":[]`)
	l.HasParent = false
	got = rtMarshal(t, rtToLinkJSON(l, nil, map[int]bool{}))
	assert.NotContains(t, got, `"link"`)
	// A name that needs escaping is still a JSON string.
	l.ParentIndex, l.HasParent = 2, true
	got = rtMarshal(t, rtToLinkJSON(l, map[int]string{2: `a"b`}, map[int]bool{2: true}))
	assert.Contains(t, got, `"link":"a\"b"`)
}
