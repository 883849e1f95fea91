package compat

import (
	"fmt"
	"math"
)

// Capability names one netlink feature whose availability depends on the OS:
// a protocol, a socket option, an rtnetlink message type, an nlctrl command,
// an extended-ack attribute, a message flag or a behaviour. Build one with
// Protocol, SockOpt, RouteMsg, CtrlCmd or ExtAckAttr, or use a Cap*
// constant. Capabilities are comparable and usable as map keys. The zero
// value is invalid and never supported.
type Capability uint64

// capKind is the upper half of a Capability; the lower half is the number.
type capKind uint32

const (
	kindInvalid capKind = iota
	kindProtocol
	kindSockOpt
	kindRouteMsg
	kindCtrlCmd
	kindExtAck
	kindFlag
	kindFeature
)

func mkCap(k capKind, id uint32) Capability { return Capability(uint64(k)<<32 | uint64(id)) }

func (c Capability) kind() capKind { return capKind(c >> 32) }
func (c Capability) id() uint32    { return uint32(c) }

// Named capabilities that are not plain numbers.
const (
	// CapFlagEcho is NLM_F_ECHO (0x8): echo the request to the sender.
	// FreeBSD sys/netlink/netlink.h marks it "not supported".
	CapFlagEcho = Capability(uint64(kindFlag)<<32 | 0x8)
	// CapFlagBulk is NLM_F_BULK (0x200, delete requests): Linux
	// include/uapi/linux/netlink.h only.
	CapFlagBulk = Capability(uint64(kindFlag)<<32 | 0x200)
	// CapListAllMemberships is NETLINK_LIST_MEMBERSHIPS reporting every
	// group. FreeBSD reports only groups 1..32, as one int
	// (netlink_domain.c nlp_get_groups_compat).
	CapListAllMemberships = Capability(uint64(kindFeature)<<32 | 1)
	// CapConnect is connect(2) on a netlink socket. FreeBSD sockets are
	// connected at creation and connect gives EISCONN (netlink_domain.c
	// nl_attach).
	CapConnect = Capability(uint64(kindFeature)<<32 | 2)
	// CapAutoBind is the kernel assigning a port on the first send to an
	// unbound socket. FreeBSD leaves the port at 0 (netlink_domain.c).
	CapAutoBind = Capability(uint64(kindFeature)<<32 | 3)
)

// Protocol returns the capability "socket(2) with netlink protocol p".
// Values outside 0..math.MaxUint32-1 give a capability that is never
// supported.
func Protocol(p int) Capability { return mkCap(kindProtocol, clampID(p)) }

// SockOpt returns the capability "setsockopt/getsockopt at level SolNetlink
// with name opt". Values outside 0..math.MaxUint32-1 give a capability that
// is never supported.
func SockOpt(opt int) Capability { return mkCap(kindSockOpt, clampID(opt)) }

// RouteMsg returns the capability "rtnetlink (NETLINK_ROUTE) message type t".
func RouteMsg(t uint16) Capability { return mkCap(kindRouteMsg, uint32(t)) }

// CtrlCmd returns the capability "generic netlink controller (nlctrl)
// command cmd".
func CtrlCmd(cmd uint8) Capability { return mkCap(kindCtrlCmd, uint32(cmd)) }

// ExtAckAttr returns the capability "the kernel emits extended-ack attribute
// a" (NLMSGERR_ATTR_*).
func ExtAckAttr(a uint16) Capability { return mkCap(kindExtAck, uint32(a)) }

func clampID(v int) uint32 {
	if v < 0 || uint64(v) >= math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(v)
}

// String describes c, for example "socket option NETLINK_EXT_ACK" or
// "rtnetlink message RTM_SETLINK".
func (c Capability) String() string {
	id := c.id()
	switch c.kind() {
	case kindProtocol:
		return "protocol " + nameOr(protocolName(id), id)
	case kindSockOpt:
		return "socket option " + nameOr(sockOptName(id), id)
	case kindRouteMsg:
		return "rtnetlink message " + nameOr(routeMsgName(id), id)
	case kindCtrlCmd:
		return "nlctrl command " + nameOr(ctrlCmdName(id), id)
	case kindExtAck:
		return "ext-ack attribute " + nameOr(extAckName(id), id)
	case kindFlag:
		switch c {
		case CapFlagEcho:
			return "flag NLM_F_ECHO"
		case CapFlagBulk:
			return "flag NLM_F_BULK"
		}
		return fmt.Sprintf("flag %#x", id)
	case kindFeature:
		switch c {
		case CapListAllMemberships:
			return "NETLINK_LIST_MEMBERSHIPS beyond group 32"
		case CapConnect:
			return "connect on a netlink socket"
		case CapAutoBind:
			return "auto-bind on send"
		}
	}
	return fmt.Sprintf("invalid capability %#x", uint64(c))
}

func nameOr(name string, id uint32) string {
	if name != "" {
		return name
	}
	return fmt.Sprint(id)
}

// Supports reports whether OS o provides capability c according to the
// static tables of this package (public headers and kernel sources, see
// each helper). A true result says the OS's newest release implements the
// feature; a given kernel may still lack a module, or be an older release,
// which Probe detects. Where a release decides (FreeBSD's NETLINK_MSG_INFO,
// absent from the oldest netlink; CTRL_CMD_GETPOLICY, which FreeBSD lacks
// although its nlctrl flags GETFAMILY GENL_CMD_CAP_HASPOL), ask Probe rather
// than assert this table. Other supports nothing.
func Supports(o OS, c Capability) bool {
	id := c.id()
	switch c.kind() {
	case kindProtocol:
		return supportsProtocol(o, id)
	case kindSockOpt:
		return supportsSockOpt(o, id)
	case kindRouteMsg:
		return supportsRouteMsg(o, id)
	case kindCtrlCmd:
		return supportsCtrlCmd(o, id)
	case kindExtAck:
		switch o {
		case Linux:
			return id >= NlmsgerrAttrMsg && id <= NlmsgerrAttrMissNest
		case FreeBSD: // sys/netlink/netlink.h: POLICY "not supported", no MISS_*
			return id >= NlmsgerrAttrMsg && id <= NlmsgerrAttrCookie
		}
	case kindFlag, kindFeature:
		switch c {
		case CapFlagEcho, CapFlagBulk, CapListAllMemberships, CapConnect, CapAutoBind:
			return o == Linux
		}
	}
	return false
}

// Check returns nil if OS o supports c, and otherwise an error wrapping
// ErrNotSupported that names c and the OS. For the host OS the error names
// runtime.GOOS/GOARCH, e.g.
// "netlink: socket option NETLINK_PKTINFO on freebsd/arm64: not supported".
func Check(o OS, c Capability) error {
	if Supports(o, c) {
		return nil
	}
	return notSupported(c.String(), o)
}

// Known returns every capability with a name in this package: all defined
// protocols, socket options, rtnetlink message types, nlctrl commands,
// ext-ack attributes and the Cap* constants. It returns a new slice on each
// call.
func Known() []Capability {
	var out []Capability
	for p := uint32(0); p <= NetlinkSMC; p++ {
		if protocolName(p) != "" {
			out = append(out, mkCap(kindProtocol, p))
		}
	}
	for o := uint32(0); o <= NetlinkMsgInfo; o++ {
		if sockOptName(o) != "" {
			out = append(out, mkCap(kindSockOpt, o))
		}
	}
	for t := uint32(0); t <= 0xFF; t++ {
		if routeMsgName(t) != "" {
			out = append(out, mkCap(kindRouteMsg, t))
		}
	}
	for cmd := uint32(0); cmd <= 0xFF; cmd++ {
		if ctrlCmdName(cmd) != "" {
			out = append(out, mkCap(kindCtrlCmd, cmd))
		}
	}
	for a := uint32(NlmsgerrAttrMsg); a <= NlmsgerrAttrMissNest; a++ {
		out = append(out, mkCap(kindExtAck, a))
	}
	return append(out, CapFlagEcho, CapFlagBulk, CapListAllMemberships, CapConnect, CapAutoBind)
}

// supportsProtocol: Linux include/uapi/linux/netlink.h defines every number
// in protocolName; those whose kernel users are gone are excluded (UNUSED;
// FIREWALL and IP6_FW, the removed ip_queue/ip6_queue; DNRTMSG, DECnet,
// removed in 6.1; ECRYPTFS, whose netlink transport was removed in 2.6.34).
// FreeBSD netlink(4): "the supported families are NETLINK_ROUTE,
// NETLINK_GENERIC"; others fail with EPROTONOSUPPORT (netlink_module.c).
func supportsProtocol(o OS, p uint32) bool {
	switch o {
	case Linux:
		switch p {
		case NetlinkUnused, NetlinkFirewall, NetlinkIP6Fw, NetlinkDNRtmsg, NetlinkEcryptfs:
			return false
		}
		return protocolName(p) != ""
	case FreeBSD:
		return p == NetlinkRoute || p == NetlinkGeneric
	}
	return false
}

// supportsSockOpt: Linux net/netlink/af_netlink.c netlink_setsockopt and
// netlink_getsockopt (the mmap rings were removed in 4.6 and give
// ENOPROTOOPT); FreeBSD sys/netlink/netlink_domain.c nl_ctloutput (anything
// else gives ENOPROTOOPT). NETLINK_LIST_MEMBERSHIPS is getsockopt-only on
// both; on FreeBSD it covers groups 1..32 only (see CapListAllMemberships).
func supportsSockOpt(o OS, opt uint32) bool {
	switch o {
	case Linux:
		switch opt {
		case NetlinkAddMembership, NetlinkDropMembership, NetlinkPktInfo,
			NetlinkBroadcastError, NetlinkNoENOBUFS, NetlinkListenAllNSID,
			NetlinkListMemberships, NetlinkCapAck, NetlinkExtAck, NetlinkGetStrictChk:
			return true
		}
	case FreeBSD:
		switch opt {
		case NetlinkAddMembership, NetlinkDropMembership, NetlinkListMemberships,
			NetlinkCapAck, NetlinkExtAck, NetlinkGetStrictChk, NetlinkMsgInfo:
			return true
		}
	}
	return false
}

// supportsRouteMsg: Linux implements every type defined in
// include/uapi/linux/rtnetlink.h (routeMsgName). FreeBSD
// sys/netlink/route/common.h registers handlers only for LINK (no SETLINK),
// ADDR, ROUTE, NEIGH and NEXTHOP; other types get EOPNOTSUPP.
func supportsRouteMsg(o OS, t uint32) bool {
	switch o {
	case Linux:
		return routeMsgName(t) != ""
	case FreeBSD:
		switch t {
		case 16, 17, 18, // RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK
			20, 21, 22, // RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR
			24, 25, 26, // RTM_NEWROUTE, RTM_DELROUTE, RTM_GETROUTE
			28, 29, 30, // RTM_NEWNEIGH, RTM_DELNEIGH, RTM_GETNEIGH
			104, 105, 106: // RTM_NEWNEXTHOP, RTM_DELNEXTHOP, RTM_GETNEXTHOP
			return true
		}
	}
	return false
}

// supportsCtrlCmd: the commands a user may send to nlctrl. Linux
// net/netlink/genetlink.c genl_ctrl_ops: GETFAMILY (3) and GETPOLICY (10).
// FreeBSD sys/netlink/netlink_generic.c: GETFAMILY only.
func supportsCtrlCmd(o OS, cmd uint32) bool {
	switch o {
	case Linux:
		return cmd == 3 || cmd == 10
	case FreeBSD:
		return cmd == 3
	}
	return false
}

// protocolName names the NETLINK_* protocols of include/uapi/linux/netlink.h.
func protocolName(p uint32) string {
	switch p {
	case NetlinkRoute:
		return "NETLINK_ROUTE"
	case NetlinkUnused:
		return "NETLINK_UNUSED"
	case NetlinkUsersock:
		return "NETLINK_USERSOCK"
	case NetlinkFirewall:
		return "NETLINK_FIREWALL"
	case NetlinkSockDiag:
		return "NETLINK_SOCK_DIAG"
	case NetlinkNFLog:
		return "NETLINK_NFLOG"
	case NetlinkXFRM:
		return "NETLINK_XFRM"
	case NetlinkSELinux:
		return "NETLINK_SELINUX"
	case NetlinkISCSI:
		return "NETLINK_ISCSI"
	case NetlinkAudit:
		return "NETLINK_AUDIT"
	case NetlinkFibLookup:
		return "NETLINK_FIB_LOOKUP"
	case NetlinkConnector:
		return "NETLINK_CONNECTOR"
	case NetlinkNetfilter:
		return "NETLINK_NETFILTER"
	case NetlinkIP6Fw:
		return "NETLINK_IP6_FW"
	case NetlinkDNRtmsg:
		return "NETLINK_DNRTMSG"
	case NetlinkKobjectUevent:
		return "NETLINK_KOBJECT_UEVENT"
	case NetlinkGeneric:
		return "NETLINK_GENERIC"
	case NetlinkSCSITransport:
		return "NETLINK_SCSITRANSPORT"
	case NetlinkEcryptfs:
		return "NETLINK_ECRYPTFS"
	case NetlinkRDMA:
		return "NETLINK_RDMA"
	case NetlinkCrypto:
		return "NETLINK_CRYPTO"
	case NetlinkSMC:
		return "NETLINK_SMC"
	}
	return ""
}

func sockOptName(opt uint32) string {
	switch opt {
	case NetlinkAddMembership:
		return "NETLINK_ADD_MEMBERSHIP"
	case NetlinkDropMembership:
		return "NETLINK_DROP_MEMBERSHIP"
	case NetlinkPktInfo:
		return "NETLINK_PKTINFO"
	case NetlinkBroadcastError:
		return "NETLINK_BROADCAST_ERROR"
	case NetlinkNoENOBUFS:
		return "NETLINK_NO_ENOBUFS"
	case NetlinkRxRing:
		return "NETLINK_RX_RING"
	case NetlinkTxRing:
		return "NETLINK_TX_RING"
	case NetlinkListenAllNSID:
		return "NETLINK_LISTEN_ALL_NSID"
	case NetlinkListMemberships:
		return "NETLINK_LIST_MEMBERSHIPS"
	case NetlinkCapAck:
		return "NETLINK_CAP_ACK"
	case NetlinkExtAck:
		return "NETLINK_EXT_ACK"
	case NetlinkGetStrictChk:
		return "NETLINK_GET_STRICT_CHK"
	case NetlinkMsgInfo:
		return "NETLINK_MSG_INFO"
	}
	return ""
}

// routeMsgName names the RTM_* types of Linux include/uapi/linux/rtnetlink.h
// (values as in golang.org/x/sys/unix zerrors_linux.go); FreeBSD
// sys/netlink/route/common.h uses the same numbering.
func routeMsgName(t uint32) string {
	switch t {
	case 16:
		return "RTM_NEWLINK"
	case 17:
		return "RTM_DELLINK"
	case 18:
		return "RTM_GETLINK"
	case 19:
		return "RTM_SETLINK"
	case 20:
		return "RTM_NEWADDR"
	case 21:
		return "RTM_DELADDR"
	case 22:
		return "RTM_GETADDR"
	case 24:
		return "RTM_NEWROUTE"
	case 25:
		return "RTM_DELROUTE"
	case 26:
		return "RTM_GETROUTE"
	case 28:
		return "RTM_NEWNEIGH"
	case 29:
		return "RTM_DELNEIGH"
	case 30:
		return "RTM_GETNEIGH"
	case 32:
		return "RTM_NEWRULE"
	case 33:
		return "RTM_DELRULE"
	case 34:
		return "RTM_GETRULE"
	case 36:
		return "RTM_NEWQDISC"
	case 37:
		return "RTM_DELQDISC"
	case 38:
		return "RTM_GETQDISC"
	case 40:
		return "RTM_NEWTCLASS"
	case 41:
		return "RTM_DELTCLASS"
	case 42:
		return "RTM_GETTCLASS"
	case 44:
		return "RTM_NEWTFILTER"
	case 45:
		return "RTM_DELTFILTER"
	case 46:
		return "RTM_GETTFILTER"
	case 48:
		return "RTM_NEWACTION"
	case 49:
		return "RTM_DELACTION"
	case 50:
		return "RTM_GETACTION"
	case 52:
		return "RTM_NEWPREFIX"
	case 56:
		return "RTM_NEWMULTICAST"
	case 57:
		return "RTM_DELMULTICAST"
	case 58:
		return "RTM_GETMULTICAST"
	case 60:
		return "RTM_NEWANYCAST"
	case 61:
		return "RTM_DELANYCAST"
	case 62:
		return "RTM_GETANYCAST"
	case 64:
		return "RTM_NEWNEIGHTBL"
	case 66:
		return "RTM_GETNEIGHTBL"
	case 67:
		return "RTM_SETNEIGHTBL"
	case 68:
		return "RTM_NEWNDUSEROPT"
	case 72:
		return "RTM_NEWADDRLABEL"
	case 73:
		return "RTM_DELADDRLABEL"
	case 74:
		return "RTM_GETADDRLABEL"
	case 78:
		return "RTM_GETDCB"
	case 79:
		return "RTM_SETDCB"
	case 80:
		return "RTM_NEWNETCONF"
	case 81:
		return "RTM_DELNETCONF"
	case 82:
		return "RTM_GETNETCONF"
	case 84:
		return "RTM_NEWMDB"
	case 85:
		return "RTM_DELMDB"
	case 86:
		return "RTM_GETMDB"
	case 88:
		return "RTM_NEWNSID"
	case 89:
		return "RTM_DELNSID"
	case 90:
		return "RTM_GETNSID"
	case 92:
		return "RTM_NEWSTATS"
	case 94:
		return "RTM_GETSTATS"
	case 95:
		return "RTM_SETSTATS"
	case 96:
		return "RTM_NEWCACHEREPORT"
	case 100:
		return "RTM_NEWCHAIN"
	case 101:
		return "RTM_DELCHAIN"
	case 102:
		return "RTM_GETCHAIN"
	case 104:
		return "RTM_NEWNEXTHOP"
	case 105:
		return "RTM_DELNEXTHOP"
	case 106:
		return "RTM_GETNEXTHOP"
	case 108:
		return "RTM_NEWLINKPROP"
	case 109:
		return "RTM_DELLINKPROP"
	case 110:
		return "RTM_GETLINKPROP"
	case 112:
		return "RTM_NEWVLAN"
	case 113:
		return "RTM_DELVLAN"
	case 114:
		return "RTM_GETVLAN"
	case 116:
		return "RTM_NEWNEXTHOPBUCKET"
	case 117:
		return "RTM_DELNEXTHOPBUCKET"
	case 118:
		return "RTM_GETNEXTHOPBUCKET"
	case 120:
		return "RTM_NEWTUNNEL"
	case 121:
		return "RTM_DELTUNNEL"
	case 122:
		return "RTM_GETTUNNEL"
	}
	return ""
}

// ctrlCmdName names the CTRL_CMD_* values of include/uapi/linux/genetlink.h
// (FreeBSD sys/netlink/netlink_generic.h uses the same numbering).
func ctrlCmdName(cmd uint32) string {
	switch cmd {
	case 1:
		return "CTRL_CMD_NEWFAMILY"
	case 2:
		return "CTRL_CMD_DELFAMILY"
	case 3:
		return "CTRL_CMD_GETFAMILY"
	case 4:
		return "CTRL_CMD_NEWOPS"
	case 5:
		return "CTRL_CMD_DELOPS"
	case 6:
		return "CTRL_CMD_GETOPS"
	case 7:
		return "CTRL_CMD_NEWMCAST_GRP"
	case 8:
		return "CTRL_CMD_DELMCAST_GRP"
	case 9:
		return "CTRL_CMD_GETMCAST_GRP"
	case 10:
		return "CTRL_CMD_GETPOLICY"
	}
	return ""
}

func extAckName(a uint32) string {
	switch a {
	case NlmsgerrAttrMsg:
		return "NLMSGERR_ATTR_MSG"
	case NlmsgerrAttrOffs:
		return "NLMSGERR_ATTR_OFFS"
	case NlmsgerrAttrCookie:
		return "NLMSGERR_ATTR_COOKIE"
	case NlmsgerrAttrPolicy:
		return "NLMSGERR_ATTR_POLICY"
	case NlmsgerrAttrMissType:
		return "NLMSGERR_ATTR_MISS_TYPE"
	case NlmsgerrAttrMissNest:
		return "NLMSGERR_ATTR_MISS_NEST"
	}
	return ""
}
