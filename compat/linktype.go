package compat

// Linux interface types (ifinfomsg.ifi_type), include/uapi/linux/if_arp.h.
const (
	// ArphrdEther is ARPHRD_ETHER. Linux also reports VLAN and bridge
	// devices with this type.
	ArphrdEther = 1
	// ArphrdTunnel is ARPHRD_TUNNEL (IP-in-IP).
	ArphrdTunnel = 768
	// ArphrdLoopback is ARPHRD_LOOPBACK.
	ArphrdLoopback = 772
	// ArphrdIPGRE is ARPHRD_IPGRE (GRE over IP).
	ArphrdIPGRE = 778
	// ArphrdNone is ARPHRD_NONE: no link-layer header (tun, WireGuard).
	ArphrdNone = 0xFFFE
)

// FreeBSD interface types (ifinfomsg.ifi_type carries ifp->if_type),
// sys/net/if_types.h.
const (
	// IftOther is IFT_OTHER.
	IftOther = 0x1
	// IftEther is IFT_ETHER (also epair, tap).
	IftEther = 0x6
	// IftLoop is IFT_LOOP (lo).
	IftLoop = 0x18
	// IftPropVirtual is IFT_PROPVIRTUAL (proprietary virtual interface).
	IftPropVirtual = 0x35
	// IftGIF is IFT_GIF (gif(4) generic tunnel).
	IftGIF = 0x37
	// IftTunnel is IFT_TUNNEL (encapsulation interfaces; gre(4)).
	IftTunnel = 0x83
	// IftL2VLAN is IFT_L2VLAN (vlan(4)).
	IftL2VLAN = 0x87
	// IftBridge is IFT_BRIDGE (if_bridge(4)).
	IftBridge = 0xD1
)

// LinkType is a portable interface type, decoded from the OS-specific
// ifinfomsg.ifi_type by Facts.LinkTypeOf. The zero value is LinkOther.
type LinkType uint8

// Portable interface types.
const (
	// LinkOther is any type without a portable name, including FreeBSD
	// IFT_OTHER and every raw value this package does not know.
	LinkOther LinkType = iota
	// LinkEther is Ethernet: Linux ARPHRD_ETHER, FreeBSD IFT_ETHER.
	LinkEther
	// LinkLoopback is the loopback device: ARPHRD_LOOPBACK, IFT_LOOP.
	LinkLoopback
	// LinkTunnel is an IP-in-IP style tunnel: ARPHRD_TUNNEL, IFT_GIF.
	LinkTunnel
	// LinkGRE is a GRE tunnel: ARPHRD_IPGRE, IFT_TUNNEL.
	LinkGRE
	// LinkVLAN is an 802.1Q VLAN: IFT_L2VLAN. Linux reports VLANs as
	// ARPHRD_ETHER, so LinkTypeOf never returns it on Linux.
	LinkVLAN
	// LinkBridge is a bridge: IFT_BRIDGE. Linux reports bridges as
	// ARPHRD_ETHER, so LinkTypeOf never returns it on Linux.
	LinkBridge
	// LinkNone has no link-layer header: Linux ARPHRD_NONE. FreeBSD has no
	// equivalent.
	LinkNone
	// LinkPropVirtual is FreeBSD IFT_PROPVIRTUAL. Linux has no equivalent.
	LinkPropVirtual
)

// String returns a short lowercase name such as "ether".
func (t LinkType) String() string {
	switch t {
	case LinkEther:
		return "ether"
	case LinkLoopback:
		return "loopback"
	case LinkTunnel:
		return "tunnel"
	case LinkGRE:
		return "gre"
	case LinkVLAN:
		return "vlan"
	case LinkBridge:
		return "bridge"
	case LinkNone:
		return "none"
	case LinkPropVirtual:
		return "propvirtual"
	default:
		return "other"
	}
}

// LinkTypeOf maps a raw ifi_type of f.OS to a portable LinkType. Unknown
// values, and every value for Other, give LinkOther.
func (f Facts) LinkTypeOf(raw uint16) LinkType {
	switch f.OS {
	case Linux:
		switch raw {
		case ArphrdEther:
			return LinkEther
		case ArphrdLoopback:
			return LinkLoopback
		case ArphrdTunnel:
			return LinkTunnel
		case ArphrdIPGRE:
			return LinkGRE
		case ArphrdNone:
			return LinkNone
		}
	case FreeBSD:
		switch raw {
		case IftEther:
			return LinkEther
		case IftLoop:
			return LinkLoopback
		case IftGIF:
			return LinkTunnel
		case IftTunnel:
			return LinkGRE
		case IftL2VLAN:
			return LinkVLAN
		case IftBridge:
			return LinkBridge
		case IftPropVirtual:
			return LinkPropVirtual
		}
	}
	return LinkOther
}

// RawLinkType maps a portable LinkType to the raw ifi_type of f.OS. It
// reports false when the OS has no code for t. On Linux, LinkVLAN and
// LinkBridge map to ArphrdEther, the type those devices report.
func (f Facts) RawLinkType(t LinkType) (raw uint16, ok bool) {
	switch f.OS {
	case Linux:
		switch t {
		case LinkEther, LinkVLAN, LinkBridge:
			return ArphrdEther, true
		case LinkLoopback:
			return ArphrdLoopback, true
		case LinkTunnel:
			return ArphrdTunnel, true
		case LinkGRE:
			return ArphrdIPGRE, true
		case LinkNone:
			return ArphrdNone, true
		}
	case FreeBSD:
		switch t {
		case LinkOther:
			return IftOther, true
		case LinkEther:
			return IftEther, true
		case LinkLoopback:
			return IftLoop, true
		case LinkTunnel:
			return IftGIF, true
		case LinkGRE:
			return IftTunnel, true
		case LinkVLAN:
			return IftL2VLAN, true
		case LinkBridge:
			return IftBridge, true
		case LinkPropVirtual:
			return IftPropVirtual, true
		}
	}
	return 0, false
}
