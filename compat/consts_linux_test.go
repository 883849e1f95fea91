package compat

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"golang.org/x/sys/unix"
)

// TestLinuxConstsMatchXSys cross-checks the hand-written Linux values against
// golang.org/x/sys/unix, which is generated from the Linux uapi headers.
func TestLinuxConstsMatchXSys(t *testing.T) {
	tests := []struct {
		name      string
		got, want int
	}{
		{"SOL_NETLINK", SolNetlink, unix.SOL_NETLINK},
		{"AF_NETLINK", AFNetlinkLinux, unix.AF_NETLINK},
		{"AF_INET", FactsFor(Linux).AFInet, unix.AF_INET},
		{"AF_INET6", FactsFor(Linux).AFInet6, unix.AF_INET6},
		{"AF_NETLINK fact", FactsFor(Linux).AFNetlink, unix.AF_NETLINK},
		{"RT_TABLE_MAIN", int(FactsFor(Linux).RTTableMain), unix.RT_TABLE_MAIN},
		{"RT_TABLE_UNSPEC", int(FactsFor(Linux).RTTableUnspec), unix.RT_TABLE_UNSPEC},
		{"RTPROT_MRT", int(FactsFor(Linux).RTProtMRT), unix.RTPROT_MRT},
		{"sizeof(sockaddr_nl)", SockaddrNetlinkLen, unix.SizeofSockaddrNetlink},
		{"NETLINK_ADD_MEMBERSHIP", NetlinkAddMembership, unix.NETLINK_ADD_MEMBERSHIP},
		{"NETLINK_DROP_MEMBERSHIP", NetlinkDropMembership, unix.NETLINK_DROP_MEMBERSHIP},
		{"NETLINK_PKTINFO", NetlinkPktInfo, unix.NETLINK_PKTINFO},
		{"NETLINK_BROADCAST_ERROR", NetlinkBroadcastError, unix.NETLINK_BROADCAST_ERROR},
		{"NETLINK_NO_ENOBUFS", NetlinkNoENOBUFS, unix.NETLINK_NO_ENOBUFS},
		{"NETLINK_RX_RING", NetlinkRxRing, unix.NETLINK_RX_RING},
		{"NETLINK_TX_RING", NetlinkTxRing, unix.NETLINK_TX_RING},
		{"NETLINK_LISTEN_ALL_NSID", NetlinkListenAllNSID, unix.NETLINK_LISTEN_ALL_NSID},
		{"NETLINK_LIST_MEMBERSHIPS", NetlinkListMemberships, unix.NETLINK_LIST_MEMBERSHIPS},
		{"NETLINK_CAP_ACK", NetlinkCapAck, unix.NETLINK_CAP_ACK},
		{"NETLINK_EXT_ACK", NetlinkExtAck, unix.NETLINK_EXT_ACK},
		{"NETLINK_GET_STRICT_CHK", NetlinkGetStrictChk, unix.NETLINK_GET_STRICT_CHK},
		{"NETLINK_ROUTE", NetlinkRoute, unix.NETLINK_ROUTE},
		{"NETLINK_UNUSED", NetlinkUnused, unix.NETLINK_UNUSED},
		{"NETLINK_USERSOCK", NetlinkUsersock, unix.NETLINK_USERSOCK},
		{"NETLINK_FIREWALL", NetlinkFirewall, unix.NETLINK_FIREWALL},
		{"NETLINK_SOCK_DIAG", NetlinkSockDiag, unix.NETLINK_SOCK_DIAG},
		{"NETLINK_NFLOG", NetlinkNFLog, unix.NETLINK_NFLOG},
		{"NETLINK_XFRM", NetlinkXFRM, unix.NETLINK_XFRM},
		{"NETLINK_SELINUX", NetlinkSELinux, unix.NETLINK_SELINUX},
		{"NETLINK_ISCSI", NetlinkISCSI, unix.NETLINK_ISCSI},
		{"NETLINK_AUDIT", NetlinkAudit, unix.NETLINK_AUDIT},
		{"NETLINK_FIB_LOOKUP", NetlinkFibLookup, unix.NETLINK_FIB_LOOKUP},
		{"NETLINK_CONNECTOR", NetlinkConnector, unix.NETLINK_CONNECTOR},
		{"NETLINK_NETFILTER", NetlinkNetfilter, unix.NETLINK_NETFILTER},
		{"NETLINK_IP6_FW", NetlinkIP6Fw, unix.NETLINK_IP6_FW},
		{"NETLINK_DNRTMSG", NetlinkDNRtmsg, unix.NETLINK_DNRTMSG},
		{"NETLINK_KOBJECT_UEVENT", NetlinkKobjectUevent, unix.NETLINK_KOBJECT_UEVENT},
		{"NETLINK_GENERIC", NetlinkGeneric, unix.NETLINK_GENERIC},
		{"NETLINK_SCSITRANSPORT", NetlinkSCSITransport, unix.NETLINK_SCSITRANSPORT},
		{"NETLINK_ECRYPTFS", NetlinkEcryptfs, unix.NETLINK_ECRYPTFS},
		{"NETLINK_RDMA", NetlinkRDMA, unix.NETLINK_RDMA},
		{"NETLINK_CRYPTO", NetlinkCrypto, unix.NETLINK_CRYPTO},
		{"NETLINK_SMC", NetlinkSMC, unix.NETLINK_SMC},
		{"NLMSGERR_ATTR_MSG", NlmsgerrAttrMsg, unix.NLMSGERR_ATTR_MSG},
		{"NLMSGERR_ATTR_OFFS", NlmsgerrAttrOffs, unix.NLMSGERR_ATTR_OFFS},
		{"NLMSGERR_ATTR_COOKIE", NlmsgerrAttrCookie, unix.NLMSGERR_ATTR_COOKIE},
		{"ARPHRD_ETHER", ArphrdEther, unix.ARPHRD_ETHER},
		{"ARPHRD_TUNNEL", ArphrdTunnel, unix.ARPHRD_TUNNEL},
		{"ARPHRD_LOOPBACK", ArphrdLoopback, unix.ARPHRD_LOOPBACK},
		{"ARPHRD_IPGRE", ArphrdIPGRE, unix.ARPHRD_IPGRE},
		{"ARPHRD_NONE", ArphrdNone, unix.ARPHRD_NONE},
		{"CTRL_CMD_GETFAMILY", 3, unix.CTRL_CMD_GETFAMILY},
		{"CTRL_CMD_GETPOLICY", 10, unix.CTRL_CMD_GETPOLICY},
		{"NLM_F_ECHO", int(CapFlagEcho.id()), unix.NLM_F_ECHO},
		{"NLM_F_BULK", int(CapFlagBulk.id()), unix.NLM_F_BULK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.got)
		})
	}
}

// TestLinuxNamesMatchXSys checks the name tables against x/sys values.
func TestLinuxNamesMatchXSys(t *testing.T) {
	rtm := map[string]int{
		"RTM_NEWLINK": unix.RTM_NEWLINK, "RTM_SETLINK": unix.RTM_SETLINK,
		"RTM_GETADDR": unix.RTM_GETADDR, "RTM_GETROUTE": unix.RTM_GETROUTE,
		"RTM_GETNEIGH": unix.RTM_GETNEIGH, "RTM_NEWRULE": unix.RTM_NEWRULE,
		"RTM_GETQDISC": unix.RTM_GETQDISC, "RTM_GETACTION": unix.RTM_GETACTION,
		"RTM_NEWPREFIX": unix.RTM_NEWPREFIX, "RTM_SETNEIGHTBL": unix.RTM_SETNEIGHTBL,
		"RTM_NEWNDUSEROPT": unix.RTM_NEWNDUSEROPT, "RTM_SETDCB": unix.RTM_SETDCB,
		"RTM_GETNSID": unix.RTM_GETNSID, "RTM_SETSTATS": unix.RTM_SETSTATS,
		"RTM_NEWCACHEREPORT": unix.RTM_NEWCACHEREPORT, "RTM_GETCHAIN": unix.RTM_GETCHAIN,
		"RTM_NEWNEXTHOP": unix.RTM_NEWNEXTHOP, "RTM_GETNEXTHOP": unix.RTM_GETNEXTHOP,
		"RTM_GETLINKPROP": unix.RTM_GETLINKPROP, "RTM_GETVLAN": unix.RTM_GETVLAN,
		"RTM_GETNEXTHOPBUCKET": unix.RTM_GETNEXTHOPBUCKET, "RTM_GETTUNNEL": unix.RTM_GETTUNNEL,
	}
	for name, v := range rtm {
		assert.Equal(t, name, routeMsgName(uint32(v)))
	}
	assert.Empty(t, routeMsgName(unix.RTM_MAX))

	for p := uint32(0); p <= NetlinkSMC; p++ {
		if name := protocolName(p); name != "" {
			assert.Contains(t, name, "NETLINK_")
		}
	}

	ifla := map[string]int{
		"IFLA_MTU": unix.IFLA_MTU, "IFLA_IF_NETNSID": unix.IFLA_IF_NETNSID,
		"IFLA_TARGET_NETNSID": unix.IFLA_TARGET_NETNSID, "IFLA_GRO_MAX_SIZE": unix.IFLA_GRO_MAX_SIZE,
		"IFLA_TSO_MAX_SIZE": unix.IFLA_TSO_MAX_SIZE, "IFLA_TSO_MAX_SEGS": unix.IFLA_TSO_MAX_SEGS,
		"IFLA_ALLMULTI": unix.IFLA_ALLMULTI, "IFLA_DEVLINK_PORT": unix.IFLA_DEVLINK_PORT,
		"IFLA_GSO_IPV4_MAX_SIZE": unix.IFLA_GSO_IPV4_MAX_SIZE,
		"IFLA_GRO_IPV4_MAX_SIZE": unix.IFLA_GRO_IPV4_MAX_SIZE, "IFLA_DPLL_PIN": unix.IFLA_DPLL_PIN,
	}
	lin := FactsFor(Linux)
	for name, v := range ifla {
		got, ok := lin.IFLA(name)
		assert.True(t, ok, name)
		assert.Equal(t, uint16(v), got, name)
	}
	// Every Linux entry is in order: position i holds value i, except the
	// alias and the FreeBSD-only entry.
	for i, e := range iflaTable {
		if e.linux == iflaAbsent {
			continue
		}
		assert.LessOrEqual(t, int(e.linux), i, e.name)
	}
}
