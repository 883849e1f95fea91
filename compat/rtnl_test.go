package compat

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestRtnlFreeBSDValues pins the values this package shares with FreeBSD to
// the numbers read in FreeBSD's headers (sys/netlink/route/common.h,
// interface.h, ifaddrs.h, route.h, neigh.h; sys/net/if.h), so that a change
// to a shared constant that FreeBSD does not follow fails here.
func TestRtnlFreeBSDValues(t *testing.T) {
	tests := []struct {
		name      string
		got, want int
	}{
		// common.h
		{"NL_RTM_NEWLINK", RtmNewLink, 16}, {"NL_RTM_DELLINK", RtmDelLink, 17},
		{"NL_RTM_GETLINK", RtmGetLink, 18}, {"NL_RTM_NEWADDR", RtmNewAddr, 20},
		{"NL_RTM_DELADDR", RtmDelAddr, 21}, {"NL_RTM_GETADDR", RtmGetAddr, 22},
		{"NL_RTM_NEWROUTE", RtmNewRoute, 24}, {"NL_RTM_DELROUTE", RtmDelRoute, 25},
		{"NL_RTM_GETROUTE", RtmGetRoute, 26}, {"NL_RTM_NEWNEIGH", RtmNewNeigh, 28},
		{"NL_RTM_DELNEIGH", RtmDelNeigh, 29}, {"NL_RTM_GETNEIGH", RtmGetNeigh, 30},
		{"NL_RTM_NEWNEXTHOP", RtmNewNexthop, 104}, {"NL_RTM_GETNEXTHOP", RtmGetNexthop, 106},
		{"RTNLGRP_LINK", RtnlgrpLink, 1}, {"RTNLGRP_NEIGH", RtnlgrpNeigh, 3},
		{"RTNLGRP_IPV4_IFADDR", RtnlgrpIPv4Ifaddr, 5}, {"RTNLGRP_IPV4_ROUTE", RtnlgrpIPv4Route, 7},
		{"RTNLGRP_IPV6_IFADDR", RtnlgrpIPv6Ifaddr, 9}, {"RTNLGRP_IPV6_ROUTE", RtnlgrpIPv6Route, 11},
		{"RTNLGRP_NEXTHOP", RtnlgrpNexthop, 32},
		// interface.h
		{"IFLA_ADDRESS", IflaAddress, 1}, {"IFLA_IFNAME", IflaIfname, 3}, {"IFLA_MTU", IflaMTU, 4},
		{"IFLA_LINK", IflaLink, 5}, {"IFLA_MASTER", IflaMaster, 10}, {"IFLA_OPERSTATE", IflaOperstate, 16},
		{"IFLA_LINKINFO", IflaLinkinfo, 18}, {"IFLA_IFALIAS", IflaIfalias, 20},
		{"IFLA_STATS64", IflaStats64, 23}, {"IFLA_PROMISCUITY", IflaPromiscuity, 30},
		{"IFLA_ALT_IFNAME", IflaAltIfname, 53},
		{"IFLA_INFO_KIND", IflaInfoKind, 1}, {"IFLA_INFO_DATA", IflaInfoData, 2},
		{"IF_OPER_UP", IfOperUp, 6}, {"IF_OPER_DOWN", IfOperDown, 2},
		// ifaddrs.h
		{"IFA_ADDRESS", IfaAddress, 1}, {"IFA_LOCAL", IfaLocal, 2}, {"IFA_LABEL", IfaLabel, 3},
		{"IFA_BROADCAST", IfaBroadcast, 4}, {"IFA_CACHEINFO", IfaCacheinfo, 6},
		{"IFA_FLAGS", IfaFlags, 8}, {"IFA_FREEBSD", IfaFreeBSD, 11}, {"IFAF_VHID", IfafVhid, 1},
		{"IFA_F_SECONDARY", IfaFSecondary, 1}, {"IFA_F_PERMANENT", IfaFPermanent, 0x80},
		// route.h
		{"NL_RTA_DST", RtaDst, 1}, {"NL_RTA_OIF", RtaOif, 4}, {"NL_RTA_GATEWAY", RtaGateway, 5},
		{"NL_RTA_PRIORITY", RtaPriority, 6}, {"NL_RTA_METRICS", RtaMetrics, 8},
		{"NL_RTA_MULTIPATH", RtaMultipath, 9}, {"NL_RTA_KNH_ID", RtaKnhID, 10},
		{"NL_RTA_WEIGHT", RtaWeight, 13}, {"NL_RTA_RTFLAGS", RtaRtflags, 14},
		{"NL_RTA_TABLE", RtaTable, 15}, {"NL_RTA_VIA", RtaVia, 18}, {"NL_RTA_EXPIRES", RtaExpires, 23},
		{"NL_RTA_NH_ID", RtaNhID, 30}, {"NL_RTAX_MTU", RtaxMTU, 2},
		{"RTN_UNICAST", RtnUnicast, 1}, {"RTN_BLACKHOLE", RtnBlackhole, 6},
		{"RTN_UNREACHABLE", RtnUnreachable, 7}, {"RTN_PROHIBIT", RtnProhibit, 8},
		{"RT_SCOPE_LINK", RtScopeLink, 253}, {"RT_SCOPE_HOST", RtScopeHost, 254},
		{"RTPROT_KERNEL", RtprotKernel, 2}, {"RTPROT_STATIC", RtprotStatic, 4},
		{"RTPROT_BGP", RtprotBGP, 186}, {"RTNH_F_ONLINK", RtnhFOnlink, 4},
		{"sizeof(rtmsg)", SizeofRtMsg, 12}, {"sizeof(rtnexthop)", SizeofRtNexthop, 8},
		// neigh.h
		{"NDA_DST", NdaDst, 1}, {"NDA_LLADDR", NdaLladdr, 2}, {"NDA_CACHEINFO", NdaCacheinfo, 3},
		{"NDA_PROBES", NdaProbes, 4}, {"NDA_IFINDEX", NdaIfindex, 8}, {"NDA_FLAGS_EXT", NdaFlagsExt, 15},
		{"NDA_FREEBSD", NdaFreeBSD, 18}, {"NUD_REACHABLE", NudReachable, 2},
		{"NUD_STALE", NudStale, 4}, {"NUD_PERMANENT", NudPermanent, 0x80},
		{"NTF_STICKY", NtfSticky, 0x40}, {"NTF_ROUTER", NtfRouter, 0x80},
		{"sizeof(ndmsg)", SizeofNdMsg, 12}, {"sizeof(ifaddrmsg)", SizeofIfAddrmsg, 8},
		{"sizeof(ifinfomsg)", SizeofIfInfomsg, 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.got)
		})
	}
}

func TestIfFlags(t *testing.T) {
	bsd, lin := FactsFor(FreeBSD), FactsFor(Linux)
	// sys/net/if.h: IFF_MULTICAST 0x8000; IFF_NETLINK_1 (IFF_LOWER_UP) 0x1000000.
	assert.Equal(t, IffMulticast|IffUp, bsd.IfFlagsFromRaw(0x8001))
	assert.Equal(t, IffLowerUp, bsd.IfFlagsFromRaw(0x1000000))
	// 0x1000 is IFF_LINK0 and 0x400 IFF_DRV_OACTIVE on FreeBSD: no portable meaning.
	assert.Equal(t, IfFlags(0), bsd.IfFlagsFromRaw(0x1000|0x400|0x800))
	assert.Equal(t, uint32(0x8000|0x1000000|0x1), bsd.IfFlagsToRaw(IffMulticast|IffLowerUp|IffUp))
	assert.Equal(t, uint32(0), bsd.IfFlagsToRaw(IffMaster|IffDormant))
	assert.Equal(t, IffMulticast, lin.IfFlagsFromRaw(0x1000))
	assert.Equal(t, []string{"UP", "LOOPBACK", "LOWER_UP"}, (IffUp | IffLoopback | IffLowerUp).Names())
	assert.Equal(t, "UP,MULTICAST", (IffUp | IffMulticast).String())
	assert.Equal(t, IfFlags(0), FactsFor(Other).IfFlagsFromRaw(0xffffffff))
}

func TestHasRouteMessage(t *testing.T) {
	bsd, lin := FactsFor(FreeBSD), FactsFor(Linux)
	for _, m := range []uint16{RtmNewLink, RtmGetAddr, RtmNewRoute, RtmDelNeigh, RtmGetNexthop} {
		assert.True(t, bsd.HasRouteMessage(m), m)
		assert.True(t, lin.HasRouteMessage(m), m)
	}
	for _, m := range []uint16{RtmSetLink, RtmNewRule, 36} {
		assert.False(t, bsd.HasRouteMessage(m), m)
		assert.True(t, lin.HasRouteMessage(m), m)
	}
	assert.False(t, lin.HasRouteMessage(3))
	assert.False(t, FactsFor(Other).HasRouteMessage(RtmGetLink))
	assert.True(t, lin.HasLinkKind("veth"))
	assert.False(t, bsd.HasLinkKind("veth"))
	assert.False(t, bsd.HasLinkKind("bridge"))
	assert.True(t, bsd.HasLinkKind("vlan"))
	assert.False(t, lin.HasLinkKind(""))
}
