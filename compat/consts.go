package compat

// Socket level and socket options. The values are identical on Linux and
// FreeBSD: Linux include/uapi/linux/netlink.h, FreeBSD sys/netlink/netlink.h.
// Whether an option is implemented differs; see SockOpt and Supports.
const (
	// SolNetlink is SOL_NETLINK, the setsockopt level of netlink options.
	// Linux include/linux/socket.h; FreeBSD sys/netlink/netlink.h.
	SolNetlink = 270

	// NetlinkAddMembership is NETLINK_ADD_MEMBERSHIP: join a multicast group (int).
	NetlinkAddMembership = 1
	// NetlinkDropMembership is NETLINK_DROP_MEMBERSHIP: leave a multicast group (int).
	NetlinkDropMembership = 2
	// NetlinkPktInfo is NETLINK_PKTINFO. FreeBSD defines it but returns ENOPROTOOPT.
	NetlinkPktInfo = 3
	// NetlinkBroadcastError is NETLINK_BROADCAST_ERROR. FreeBSD: ENOPROTOOPT.
	NetlinkBroadcastError = 4
	// NetlinkNoENOBUFS is NETLINK_NO_ENOBUFS. FreeBSD: ENOPROTOOPT.
	NetlinkNoENOBUFS = 5
	// NetlinkRxRing is NETLINK_RX_RING (mmap ring, removed from Linux 4.6).
	// FreeBSD: ENOPROTOOPT.
	NetlinkRxRing = 6
	// NetlinkTxRing is NETLINK_TX_RING (mmap ring, removed from Linux 4.6).
	// FreeBSD: ENOPROTOOPT.
	NetlinkTxRing = 7
	// NetlinkListenAllNSID is NETLINK_LISTEN_ALL_NSID. FreeBSD: ENOPROTOOPT.
	NetlinkListenAllNSID = 8
	// NetlinkListMemberships is NETLINK_LIST_MEMBERSHIPS (getsockopt only).
	// Linux returns a u32 array covering every group; FreeBSD returns one int
	// bitmask of groups 1..32 (netlink_domain.c nlp_get_groups_compat).
	NetlinkListMemberships = 9
	// NetlinkCapAck is NETLINK_CAP_ACK: do not echo the request body in acks.
	NetlinkCapAck = 10
	// NetlinkExtAck is NETLINK_EXT_ACK: extended ack TLVs (NLMSGERR_ATTR_*).
	NetlinkExtAck = 11
	// NetlinkGetStrictChk is NETLINK_GET_STRICT_CHK: strict request checking.
	NetlinkGetStrictChk = 12
)

// FreeBSD-only message-info control data. FreeBSD sys/netlink/netlink.h.
const (
	// NetlinkMsgInfo is NETLINK_MSG_INFO (FreeBSD only, get/set): receive a
	// cmsg at level SolNetlink, type NetlinkMsgInfo, carrying NLMSGINFO_ATTR_*
	// TLVs. Linux has no such option.
	NetlinkMsgInfo = 257

	// NlmsginfoAttrProcessID is NLMSGINFO_ATTR_PROCESS_ID (u32 TLV in the cmsg).
	NlmsginfoAttrProcessID = 1
	// NlmsginfoAttrPortID is NLMSGINFO_ATTR_PORT_ID (u32 TLV in the cmsg).
	NlmsginfoAttrPortID = 2
	// NlmsginfoAttrSeqID is NLMSGINFO_ATTR_SEQ_ID (u32 TLV in the cmsg).
	NlmsginfoAttrSeqID = 3
)

// Address family and socket address size.
const (
	// AFNetlinkLinux is AF_NETLINK on Linux. Linux include/linux/socket.h.
	AFNetlinkLinux = 16
	// AFNetlinkFreeBSD is AF_NETLINK on FreeBSD. FreeBSD sys/sys/socket.h
	// (absent from golang.org/x/sys/unix for FreeBSD).
	AFNetlinkFreeBSD = 38
	// SockaddrNetlinkLen is sizeof(struct sockaddr_nl) on both OSes.
	// Linux include/uapi/linux/netlink.h; FreeBSD sys/netlink/netlink.h.
	SockaddrNetlinkLen = 12
)

// Netlink protocol numbers, the third argument of socket(2). The numbering is
// shared: Linux include/uapi/linux/netlink.h, FreeBSD sys/netlink/netlink.h.
// FreeBSD implements only NetlinkRoute and NetlinkGeneric; see Protocol.
const (
	// NetlinkRoute is NETLINK_ROUTE (rtnetlink).
	NetlinkRoute = 0
	// NetlinkUnused is NETLINK_UNUSED, a reserved number.
	NetlinkUnused = 1
	// NetlinkUsersock is NETLINK_USERSOCK, reserved for user-mode socket protocols.
	NetlinkUsersock = 2
	// NetlinkFirewall is NETLINK_FIREWALL, formerly ip_queue (unused).
	NetlinkFirewall = 3
	// NetlinkSockDiag is NETLINK_SOCK_DIAG (formerly NETLINK_INET_DIAG).
	NetlinkSockDiag = 4
	// NetlinkNFLog is NETLINK_NFLOG (netfilter/iptables ULOG).
	NetlinkNFLog = 5
	// NetlinkXFRM is NETLINK_XFRM (IPsec).
	NetlinkXFRM = 6
	// NetlinkSELinux is NETLINK_SELINUX (SELinux event notifications).
	NetlinkSELinux = 7
	// NetlinkISCSI is NETLINK_ISCSI (Open-iSCSI).
	NetlinkISCSI = 8
	// NetlinkAudit is NETLINK_AUDIT (auditing).
	NetlinkAudit = 9
	// NetlinkFibLookup is NETLINK_FIB_LOOKUP.
	NetlinkFibLookup = 10
	// NetlinkConnector is NETLINK_CONNECTOR.
	NetlinkConnector = 11
	// NetlinkNetfilter is NETLINK_NETFILTER (netfilter subsystem).
	NetlinkNetfilter = 12
	// NetlinkIP6Fw is NETLINK_IP6_FW, formerly ip6_queue (removed in Linux 3.5).
	NetlinkIP6Fw = 13
	// NetlinkDNRtmsg is NETLINK_DNRTMSG, DECnet routing messages (obsolete).
	NetlinkDNRtmsg = 14
	// NetlinkKobjectUevent is NETLINK_KOBJECT_UEVENT (kernel messages to userspace).
	NetlinkKobjectUevent = 15
	// NetlinkGeneric is NETLINK_GENERIC (generic netlink).
	NetlinkGeneric = 16
	// NetlinkSCSITransport is NETLINK_SCSITRANSPORT (SCSI transports).
	NetlinkSCSITransport = 18
	// NetlinkEcryptfs is NETLINK_ECRYPTFS.
	NetlinkEcryptfs = 19
	// NetlinkRDMA is NETLINK_RDMA.
	NetlinkRDMA = 20
	// NetlinkCrypto is NETLINK_CRYPTO (crypto layer).
	NetlinkCrypto = 21
	// NetlinkSMC is NETLINK_SMC (SMC monitoring).
	NetlinkSMC = 22
)

// Extended-ack attribute types carried after an NLMSG_ERROR payload. Linux
// include/uapi/linux/netlink.h enum nlmsgerr_attrs; FreeBSD
// sys/netlink/netlink.h (FreeBSD emits only Msg, Offs and Cookie).
const (
	// NlmsgerrAttrMsg is NLMSGERR_ATTR_MSG: NUL-terminated error string.
	NlmsgerrAttrMsg = 1
	// NlmsgerrAttrOffs is NLMSGERR_ATTR_OFFS: u32 offset of the offending
	// attribute in the request.
	NlmsgerrAttrOffs = 2
	// NlmsgerrAttrCookie is NLMSGERR_ATTR_COOKIE: arbitrary subsystem data.
	// FreeBSD appends it even without NETLINK_EXT_ACK.
	NlmsgerrAttrCookie = 3
	// NlmsgerrAttrPolicy is NLMSGERR_ATTR_POLICY: nested policy of the
	// offending attribute (Linux only).
	NlmsgerrAttrPolicy = 4
	// NlmsgerrAttrMissType is NLMSGERR_ATTR_MISS_TYPE: type of a missing
	// required attribute (Linux only).
	NlmsgerrAttrMissType = 5
	// NlmsgerrAttrMissNest is NLMSGERR_ATTR_MISS_NEST: offset of the nest
	// where an attribute was missing (Linux only).
	NlmsgerrAttrMissNest = 6
)
