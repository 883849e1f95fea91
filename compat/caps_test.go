package compat

import (
	"math"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSupports(t *testing.T) {
	tests := []struct {
		c       Capability
		linux   bool
		freebsd bool
	}{
		// Protocols.
		{Protocol(NetlinkRoute), true, true},
		{Protocol(NetlinkGeneric), true, true},
		{Protocol(NetlinkUsersock), true, false},
		{Protocol(NetlinkSockDiag), true, false},
		{Protocol(NetlinkXFRM), true, false},
		{Protocol(NetlinkNetfilter), true, false},
		{Protocol(NetlinkKobjectUevent), true, false},
		{Protocol(NetlinkAudit), true, false},
		{Protocol(NetlinkSMC), true, false},
		{Protocol(NetlinkUnused), false, false},
		{Protocol(NetlinkFirewall), false, false},
		{Protocol(NetlinkIP6Fw), false, false},
		{Protocol(NetlinkDNRtmsg), false, false},
		{Protocol(NetlinkEcryptfs), false, false},
		{Protocol(17), false, false},
		{Protocol(32), false, false},
		{Protocol(-1), false, false},
		// Socket options.
		{SockOpt(NetlinkAddMembership), true, true},
		{SockOpt(NetlinkDropMembership), true, true},
		{SockOpt(NetlinkPktInfo), true, false},
		{SockOpt(NetlinkBroadcastError), true, false},
		{SockOpt(NetlinkNoENOBUFS), true, false},
		{SockOpt(NetlinkRxRing), false, false},
		{SockOpt(NetlinkTxRing), false, false},
		{SockOpt(NetlinkListenAllNSID), true, false},
		{SockOpt(NetlinkListMemberships), true, true},
		{SockOpt(NetlinkCapAck), true, true},
		{SockOpt(NetlinkExtAck), true, true},
		{SockOpt(NetlinkGetStrictChk), true, true},
		{SockOpt(NetlinkMsgInfo), false, true},
		{SockOpt(0), false, false},
		{SockOpt(13), false, false},
		// rtnetlink message types.
		{RouteMsg(16), true, true},  // RTM_NEWLINK
		{RouteMsg(17), true, true},  // RTM_DELLINK
		{RouteMsg(18), true, true},  // RTM_GETLINK
		{RouteMsg(19), true, false}, // RTM_SETLINK
		{RouteMsg(20), true, true},  // RTM_NEWADDR
		{RouteMsg(21), true, true},  // RTM_DELADDR
		{RouteMsg(22), true, true},  // RTM_GETADDR
		{RouteMsg(23), false, false},
		{RouteMsg(24), true, true},  // RTM_NEWROUTE
		{RouteMsg(25), true, true},  // RTM_DELROUTE
		{RouteMsg(26), true, true},  // RTM_GETROUTE
		{RouteMsg(28), true, true},  // RTM_NEWNEIGH
		{RouteMsg(29), true, true},  // RTM_DELNEIGH
		{RouteMsg(30), true, true},  // RTM_GETNEIGH
		{RouteMsg(32), true, false}, // RTM_NEWRULE
		{RouteMsg(34), true, false}, // RTM_GETRULE
		{RouteMsg(36), true, false}, // RTM_NEWQDISC
		{RouteMsg(44), true, false}, // RTM_NEWTFILTER
		{RouteMsg(48), true, false}, // RTM_NEWACTION
		{RouteMsg(104), true, true}, // RTM_NEWNEXTHOP
		{RouteMsg(105), true, true}, // RTM_DELNEXTHOP
		{RouteMsg(106), true, true}, // RTM_GETNEXTHOP
		{RouteMsg(122), true, false},
		{RouteMsg(123), false, false},
		{RouteMsg(3), false, false}, // NLMSG_DONE is not an rtnetlink type
		// nlctrl commands.
		{CtrlCmd(3), true, true},   // CTRL_CMD_GETFAMILY
		{CtrlCmd(10), true, false}, // CTRL_CMD_GETPOLICY
		{CtrlCmd(6), false, false}, // CTRL_CMD_GETOPS
		{CtrlCmd(1), false, false}, // CTRL_CMD_NEWFAMILY (kernel to user)
		// Extended ack attributes.
		{ExtAckAttr(NlmsgerrAttrMsg), true, true},
		{ExtAckAttr(NlmsgerrAttrOffs), true, true},
		{ExtAckAttr(NlmsgerrAttrCookie), true, true},
		{ExtAckAttr(NlmsgerrAttrPolicy), true, false},
		{ExtAckAttr(NlmsgerrAttrMissType), true, false},
		{ExtAckAttr(NlmsgerrAttrMissNest), true, false},
		{ExtAckAttr(0), false, false},
		{ExtAckAttr(7), false, false},
		// Flags and features.
		{CapFlagEcho, true, false},
		{CapFlagBulk, true, false},
		{CapListAllMemberships, true, false},
		{CapConnect, true, false},
		{CapAutoBind, true, false},
		{Capability(0), false, false},
		{Capability(math.MaxUint64), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.c.String(), func(t *testing.T) {
			assert.Equal(t, tt.linux, Supports(Linux, tt.c), "linux")
			assert.Equal(t, tt.freebsd, Supports(FreeBSD, tt.c), "freebsd")
			assert.False(t, Supports(Other, tt.c), "other")
		})
	}
}

// TestFreeBSDSubsetOfLinux: FreeBSD implements no named capability that
// Linux lacks, except NETLINK_MSG_INFO.
func TestFreeBSDSubsetOfLinux(t *testing.T) {
	for _, c := range Known() {
		if c == SockOpt(NetlinkMsgInfo) {
			continue
		}
		if Supports(FreeBSD, c) {
			assert.True(t, Supports(Linux, c), c.String())
		}
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name    string
		os      OS
		c       Capability
		wantErr bool
		wantMsg string
	}{
		{"linux pktinfo", Linux, SockOpt(NetlinkPktInfo), false, ""},
		{"freebsd pktinfo", FreeBSD, SockOpt(NetlinkPktInfo), true,
			"socket option NETLINK_PKTINFO on freebsd/"},
		{"freebsd setlink", FreeBSD, RouteMsg(19), true, "rtnetlink message RTM_SETLINK on freebsd/"},
		{"freebsd usersock", FreeBSD, Protocol(NetlinkUsersock), true, "protocol NETLINK_USERSOCK on freebsd/"},
		{"freebsd getpolicy", FreeBSD, CtrlCmd(10), true, "nlctrl command CTRL_CMD_GETPOLICY on freebsd/"},
		{"freebsd echo", FreeBSD, CapFlagEcho, true, "flag NLM_F_ECHO on freebsd/"},
		{"other route", Other, Protocol(NetlinkRoute), true, "protocol NETLINK_ROUTE on "},
		{"linux msg info", Linux, SockOpt(NetlinkMsgInfo), true, "socket option NETLINK_MSG_INFO on linux/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.os, tt.c)
			if !tt.wantErr {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrNotSupported)
			assert.Contains(t, err.Error(), tt.wantMsg)
			assert.Regexp(t, `^netlink: .* on [a-z0-9]+/[a-z0-9]+: not supported$`, err.Error())
		})
	}

	// For the host the error names runtime GOOS/GOARCH; for another OS
	// the architecture is "any".
	err := Check(Current(), Capability(0))
	require.ErrorIs(t, err, ErrNotSupported)
	assert.Contains(t, err.Error(), " on "+runtime.GOOS+"/"+runtime.GOARCH+": ")
	for _, o := range []OS{Linux, FreeBSD, Other} {
		if o == Current() {
			continue
		}
		assert.Contains(t, Check(o, Capability(0)).Error(), " on "+o.String()+"/any: ")
	}
}

func TestCapabilityString(t *testing.T) {
	tests := []struct {
		c    Capability
		want string
	}{
		{Protocol(NetlinkRoute), "protocol NETLINK_ROUTE"},
		{Protocol(17), "protocol 17"},
		{Protocol(-3), "protocol 4294967295"},
		{SockOpt(NetlinkExtAck), "socket option NETLINK_EXT_ACK"},
		{SockOpt(NetlinkMsgInfo), "socket option NETLINK_MSG_INFO"},
		{SockOpt(99), "socket option 99"},
		{RouteMsg(19), "rtnetlink message RTM_SETLINK"},
		{RouteMsg(106), "rtnetlink message RTM_GETNEXTHOP"},
		{RouteMsg(500), "rtnetlink message 500"},
		{CtrlCmd(3), "nlctrl command CTRL_CMD_GETFAMILY"},
		{CtrlCmd(200), "nlctrl command 200"},
		{ExtAckAttr(NlmsgerrAttrCookie), "ext-ack attribute NLMSGERR_ATTR_COOKIE"},
		{CapFlagEcho, "flag NLM_F_ECHO"},
		{CapFlagBulk, "flag NLM_F_BULK"},
		{CapListAllMemberships, "NETLINK_LIST_MEMBERSHIPS beyond group 32"},
		{CapConnect, "connect on a netlink socket"},
		{CapAutoBind, "auto-bind on send"},
		{Capability(0), "invalid capability 0x0"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.c.String())
		})
	}
}

func TestCapabilityConstructors(t *testing.T) {
	// Distinct kinds never collide even with equal numbers.
	seen := map[Capability]bool{}
	for _, c := range []Capability{Protocol(3), SockOpt(3), RouteMsg(3), CtrlCmd(3), ExtAckAttr(3)} {
		assert.False(t, seen[c], c.String())
		seen[c] = true
	}
	assert.Equal(t, Protocol(-1), Protocol(-7))
	assert.Equal(t, SockOpt(-1), SockOpt(-5))
}

func TestKnown(t *testing.T) {
	known := Known()
	seen := map[Capability]bool{}
	for _, c := range known {
		require.False(t, seen[c], "duplicate %s", c)
		seen[c] = true
		assert.NotContains(t, c.String(), "invalid", "every known capability has a name")
	}
	assert.Len(t, filter(known, kindProtocol), 22)
	assert.Len(t, filter(known, kindSockOpt), 13)
	assert.Len(t, filter(known, kindCtrlCmd), 10)
	assert.Len(t, filter(known, kindExtAck), 6)
	assert.True(t, seen[RouteMsg(19)])
	assert.True(t, seen[CapFlagEcho])

	// Known returns a fresh slice each time.
	known[0] = Capability(0)
	assert.NotEqual(t, Capability(0), Known()[0])
}

func filter(cs []Capability, k capKind) []Capability {
	var out []Capability
	for _, c := range cs {
		if c.kind() == k {
			out = append(out, c)
		}
	}
	return out
}
