package compat

// rtnetlink (NETLINK_ROUTE) constants. Where a value is the same on both
// systems it is one constant; where it differs, Facts has a method that
// returns the value of an OS (see rtnl_facts.go). Linux values come from
// include/uapi/linux/rtnetlink.h, if_link.h, if_addr.h, neighbour.h and
// veth.h; FreeBSD values from sys/netlink/route/common.h, interface.h,
// ifaddrs.h, route.h and neigh.h.

// Sizes of the fixed family headers. Identical on both systems: Linux
// rtnetlink.h (rtmsg, rtnexthop, rtgenmsg), if_link.h (ifinfomsg), if_addr.h
// (ifaddrmsg, ifa_cacheinfo), neighbour.h (ndmsg, nda_cacheinfo); FreeBSD
// route.h, interface.h, ifaddrs.h, neigh.h.
const (
	SizeofIfInfomsg    = 16
	SizeofIfAddrmsg    = 8
	SizeofRtMsg        = 12
	SizeofNdMsg        = 12
	SizeofRtNexthop    = 8
	SizeofRtGenmsg     = 1
	SizeofIfaCacheinfo = 16
	SizeofNdaCacheinfo = 16
	// SizeofRtaCacheinfo is struct rta_cacheinfo (Linux rtnetlink.h); FreeBSD
	// does not emit RTA_CACHEINFO.
	SizeofRtaCacheinfo = 32
)

// Route message types (nlmsg_type). Linux rtnetlink.h enum RTM_*; FreeBSD
// sys/netlink/route/common.h enum NL_RTM_* (same numbers; FreeBSD lacks
// RTM_SETLINK, rules, tc and most others: Facts.HasMessage).
const (
	RtmNewLink    = 16
	RtmDelLink    = 17
	RtmGetLink    = 18
	RtmSetLink    = 19
	RtmNewAddr    = 20
	RtmDelAddr    = 21
	RtmGetAddr    = 22
	RtmNewRoute   = 24
	RtmDelRoute   = 25
	RtmGetRoute   = 26
	RtmNewNeigh   = 28
	RtmDelNeigh   = 29
	RtmGetNeigh   = 30
	RtmNewRule    = 32
	RtmDelRule    = 33
	RtmGetRule    = 34
	RtmNewNexthop = 104
	RtmDelNexthop = 105
	RtmGetNexthop = 106
)

// Multicast groups (RTNLGRP_*). Linux rtnetlink.h enum rtnetlink_groups;
// FreeBSD sys/netlink/route/common.h enum rtnetlink_groups (same numbers).
const (
	RtnlgrpLink       = 1
	RtnlgrpNotify     = 2
	RtnlgrpNeigh      = 3
	RtnlgrpTC         = 4
	RtnlgrpIPv4Ifaddr = 5
	RtnlgrpIPv4Mroute = 6
	RtnlgrpIPv4Route  = 7
	RtnlgrpIPv4Rule   = 8
	RtnlgrpIPv6Ifaddr = 9
	RtnlgrpIPv6Mroute = 10
	RtnlgrpIPv6Route  = 11
	RtnlgrpIPv6Ifinfo = 12
	RtnlgrpIPv6Prefix = 18
	RtnlgrpIPv6Rule   = 19
	RtnlgrpNexthop    = 32
)

// IFLA_LINKINFO sub-attributes. Linux if_link.h; FreeBSD interface.h (same).
const (
	IflaInfoKind      = 1
	IflaInfoData      = 2
	IflaInfoXstats    = 3
	IflaInfoSlaveKind = 4
	IflaInfoSlaveData = 5
)

// VethInfoPeer is VETH_INFO_PEER, the IFLA_INFO_DATA attribute of a veth
// link that nests the peer's ifinfomsg and attributes. Linux only:
// include/uapi/linux/veth.h.
const VethInfoPeer = 1

// Operational states (IFLA_OPERSTATE, RFC 2863). Linux if.h enum
// IF_OPER_*; FreeBSD interface.h (same).
const (
	IfOperUnknown        = 0
	IfOperNotPresent     = 1
	IfOperDown           = 2
	IfOperLowerLayerDown = 3
	IfOperTesting        = 4
	IfOperDormant        = 5
	IfOperUp             = 6
)

// Address attributes (IFA_*). Linux if_addr.h; FreeBSD ifaddrs.h. 0..10
// are shared; 11 is IFA_PROTO on Linux and the nested IFA_FREEBSD on FreeBSD.
const (
	IfaAddress       = 1
	IfaLocal         = 2
	IfaLabel         = 3
	IfaBroadcast     = 4
	IfaAnycast       = 5
	IfaCacheinfo     = 6
	IfaMulticast     = 7
	IfaFlags         = 8
	IfaRtPriority    = 9
	IfaTargetNetnsID = 10
	// IfaProto is IFA_PROTO (u8, who added the address). Linux only; on
	// FreeBSD 11 is IfaFreeBSD.
	IfaProto = 11
	// IfaFreeBSD is IFA_FREEBSD (nested IFAF_*). FreeBSD only; on Linux 11
	// is IfaProto.
	IfaFreeBSD = 11
	// IfafVhid is IFAF_VHID (u32 carp vhid) inside IFA_FREEBSD.
	IfafVhid = 1
	// IfafFlags is IFAF_FLAGS (u32 in6 flags) inside IFA_FREEBSD, in newer
	// FreeBSD revisions.
	IfafFlags = 2
)

// Address flags (ifa_flags, IFA_FLAGS). Linux if_addr.h; FreeBSD ifaddrs.h
// (same bits).
const (
	IfaFSecondary     = 0x01
	IfaFTemporary     = IfaFSecondary
	IfaFNodad         = 0x02
	IfaFOptimistic    = 0x04
	IfaFDadfailed     = 0x08
	IfaFHomeaddress   = 0x10
	IfaFDeprecated    = 0x20
	IfaFTentative     = 0x40
	IfaFPermanent     = 0x80
	IfaFManagetmpaddr = 0x100
	IfaFNoprefixroute = 0x200
	IfaFMcautojoin    = 0x400
	IfaFStablePrivacy = 0x800
)

// Route attributes (RTA_*). Linux rtnetlink.h enum rtattr_type_t; FreeBSD
// sys/netlink/route/route.h enum rtattr_type_t (NL_RTA_*). Same numbers;
// FreeBSD reuses 10, 13 and 14 (obsolete on Linux) for its own attributes.
const (
	RtaDst          = 1
	RtaSrc          = 2
	RtaIif          = 3
	RtaOif          = 4
	RtaGateway      = 5
	RtaPriority     = 6
	RtaPrefsrc      = 7
	RtaMetrics      = 8
	RtaMultipath    = 9
	RtaProtoinfo    = 10 // Linux: obsolete
	RtaFlow         = 11
	RtaCacheinfo    = 12
	RtaSession      = 13 // Linux: obsolete
	RtaMpAlgo       = 14 // Linux: obsolete
	RtaTable        = 15
	RtaMark         = 16
	RtaMfcStats     = 17
	RtaVia          = 18
	RtaNewdst       = 19
	RtaPref         = 20
	RtaEncapType    = 21
	RtaEncap        = 22
	RtaExpires      = 23
	RtaPad          = 24
	RtaUID          = 25
	RtaTTLPropagate = 26
	RtaIPProto      = 27
	RtaSport        = 28
	RtaDport        = 29
	RtaNhID         = 30
	// RtaKnhID is NL_RTA_KNH_ID (u32 kernel nexthop index), FreeBSD only.
	RtaKnhID = 10
	// RtaWeight is NL_RTA_WEIGHT (u32 path weight), FreeBSD only.
	RtaWeight = 13
	// RtaRtflags is NL_RTA_RTFLAGS (u32 rtsock RTF_* flags), FreeBSD only.
	RtaRtflags = 14
)

// Route metrics (RTAX_*, nested in RTA_METRICS). Linux rtnetlink.h;
// FreeBSD route.h NL_RTAX_* (same; FreeBSD supports only RTAX_MTU).
const (
	RtaxLock             = 1
	RtaxMTU              = 2
	RtaxWindow           = 3
	RtaxRTT              = 4
	RtaxRTTVar           = 5
	RtaxSSThresh         = 6
	RtaxCwnd             = 7
	RtaxAdvmss           = 8
	RtaxReordering       = 9
	RtaxHoplimit         = 10
	RtaxInitcwnd         = 11
	RtaxFeatures         = 12
	RtaxRTOMin           = 13
	RtaxInitrwnd         = 14
	RtaxQuickack         = 15
	RtaxCCAlgo           = 16
	RtaxFastopenNoCookie = 17
	RtaxMax              = 17
)

// Route types (rtm_type). Linux rtnetlink.h enum RTN_*; FreeBSD route.h
// (same).
const (
	RtnUnspec      = 0
	RtnUnicast     = 1
	RtnLocal       = 2
	RtnBroadcast   = 3
	RtnAnycast     = 4
	RtnMulticast   = 5
	RtnBlackhole   = 6
	RtnUnreachable = 7
	RtnProhibit    = 8
	RtnThrow       = 9
	RtnNat         = 10
	RtnXresolve    = 11
)

// Route scopes (rtm_scope, ifa_scope). Linux rtnetlink.h enum rt_scope_t;
// FreeBSD route.h (same).
const (
	RtScopeUniverse = 0
	RtScopeSite     = 200
	RtScopeLink     = 253
	RtScopeHost     = 254
	RtScopeNowhere  = 255
)

// Route protocols (rtm_protocol). Linux rtnetlink.h RTPROT_*; FreeBSD
// route.h (same, except RTPROT_MRT: see Facts.RTProtMRT).
const (
	RtprotUnspec     = 0
	RtprotRedirect   = 1
	RtprotKernel     = 2
	RtprotBoot       = 3
	RtprotStatic     = 4
	RtprotGated      = 8
	RtprotRA         = 9
	RtprotZebra      = 11
	RtprotBird       = 12
	RtprotDnrouted   = 13
	RtprotXorp       = 14
	RtprotNTK        = 15
	RtprotDHCP       = 16
	RtprotMrouted    = 17
	RtprotKeepalived = 18
	RtprotBabel      = 42
	RtprotOpenr      = 99
	RtprotBGP        = 186
	RtprotISIS       = 187
	RtprotOSPF       = 188
	RtprotRIP        = 189
	RtprotEIGRP      = 192
)

// Linux routing table IDs beyond Facts.RTTableMain and RTTableUnspec.
// Linux rtnetlink.h enum rt_class_t. FreeBSD numbers fibs from 0 and has
// no such reserved tables.
const (
	RtTableCompatLinux  = 252
	RtTableDefaultLinux = 253
	RtTableLocalLinux   = 255
)

// Route flags (rtm_flags) and next-hop flags (rtnh_flags). Linux
// rtnetlink.h; FreeBSD route.h (same bits, marked "not supported").
const (
	RtmFNotify    = 0x100
	RtmFCloned    = 0x200
	RtmFEqualize  = 0x400
	RtmFPrefix    = 0x800
	RtmFLookupTbl = 0x1000
	RtmFFibMatch  = 0x2000
	RtmFOffload   = 0x4000
	RtmFTrap      = 0x8000

	RtnhFDead       = 0x01
	RtnhFPervasive  = 0x02
	RtnhFOnlink     = 0x04
	RtnhFOffload    = 0x08
	RtnhFLinkdown   = 0x10
	RtnhFUnresolved = 0x20
	RtnhFTrap       = 0x40
)

// Neighbour attributes (NDA_*). Linux neighbour.h; FreeBSD neigh.h (same
// numbering through 17; 18 is NDA_FREEBSD there).
const (
	NdaDst          = 1
	NdaLladdr       = 2
	NdaCacheinfo    = 3
	NdaProbes       = 4
	NdaVlan         = 5
	NdaPort         = 6
	NdaVni          = 7
	NdaIfindex      = 8
	NdaMaster       = 9
	NdaLinkNetnsID  = 10
	NdaSrcVni       = 11
	NdaProtocol     = 12
	NdaNhID         = 13
	NdaFdbExtAttrs  = 14
	NdaFlagsExt     = 15
	NdaNdmStateMask = 16
	NdaNdmFlagsMask = 17
	// NdaFreeBSD is NDA_FREEBSD (nested NDAF_*), FreeBSD only.
	NdaFreeBSD = 18
	// NdafNextStateTS is NDAF_NEXT_STATE_TS inside NDA_FREEBSD.
	NdafNextStateTS = 1
)

// Neighbour states (ndm_state). Linux neighbour.h NUD_*; FreeBSD neigh.h
// (same).
const (
	NudNone       = 0x00
	NudIncomplete = 0x01
	NudReachable  = 0x02
	NudStale      = 0x04
	NudDelay      = 0x08
	NudProbe      = 0x10
	NudFailed     = 0x20
	NudNoARP      = 0x40
	NudPermanent  = 0x80
)

// Neighbour flags (ndm_flags). Linux neighbour.h NTF_*; FreeBSD neigh.h
// (same).
const (
	NtfUse        = 0x01
	NtfSelf       = 0x02
	NtfMaster     = 0x04
	NtfProxy      = 0x08
	NtfExtLearned = 0x10
	NtfOffloaded  = 0x20
	NtfSticky     = 0x40
	NtfRouter     = 0x80

	// NtfManaged is Linux's NTF_EXT_MANAGED (neighbour.h: 1 << 0 of
	// NDA_FLAGS_EXT), kept above the eight bits of ndm_flags as the
	// kernel itself keeps it (NTF_MANAGED = NTF_EXT_MANAGED <<
	// NTF_EXT_SHIFT, 8): a neighbour the kernel resolves and keeps
	// reachable on its own.
	NtfManaged = 0x100
)

// NtfExtShift is how far NDA_FLAGS_EXT's bits sit above ndm_flags in a
// neighbour's flags (Linux NTF_EXT_SHIFT).
const NtfExtShift = 8

// Link attributes (IFLA_*) numbered the same on both systems (up to
// IFLACommonMax): Linux include/uapi/linux/if_link.h, FreeBSD
// sys/netlink/route/interface.h. For the values above it, which differ, use
// Facts.IFLA.
const (
	IflaAddress     = 1
	IflaBroadcast   = 2
	IflaIfname      = 3
	IflaMTU         = 4
	IflaLink        = 5
	IflaQdisc       = 6
	IflaStats       = 7
	IflaMaster      = 10
	IflaProtinfo    = 12
	IflaTxqlen      = 13
	IflaOperstate   = 16
	IflaLinkmode    = 17
	IflaLinkinfo    = 18
	IflaNetNsPid    = 19
	IflaIfalias     = 20
	IflaStats64     = 23
	IflaAfSpec      = 26
	IflaGroup       = 27
	IflaNetNsFd     = 28
	IflaExtMask     = 29
	IflaPromiscuity = 30
	IflaCarrier     = 33
	IflaMinMTU      = 50
	IflaMaxMTU      = 51
	IflaAltIfname   = 53
	IflaPermAddress = 54
)

// Address families in the *_family fields of rtnetlink headers that are
// the same on both systems (AF_INET6 differs: Facts.AFInet6). Linux
// include/linux/socket.h, FreeBSD sys/sys/socket.h.
const (
	AFUnspec = 0
	AFInet   = 2
)

// IFLA_EXT_MASK bits of a RTM_GETLINK request (RTEXT_FILTER_*). Linux
// include/uapi/linux/rtnetlink.h; absent from golang.org/x/sys/unix.
// FreeBSD ignores IFLA_EXT_MASK (its parser skips unknown attributes,
// sys/netlink/route/iface.c).
const (
	RtextFilterVF        = 1 << 0
	RtextFilterBrvlan    = 1 << 1
	RtextFilterSkipStats = 1 << 3
)
