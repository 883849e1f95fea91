package compat

// IfFlags are interface flags (ifinfomsg.ifi_flags) in a portable
// numbering: the bit positions of Linux include/uapi/linux/if.h. Convert an
// OS's raw ifi_flags with Facts.IfFlagsFromRaw and back with
// Facts.IfFlagsToRaw; bits without a portable name are dropped by both.
type IfFlags uint32

// Portable interface flags.
const (
	IffUp           IfFlags = 0x1
	IffBroadcast    IfFlags = 0x2
	IffDebug        IfFlags = 0x4
	IffLoopback     IfFlags = 0x8
	IffPointToPoint IfFlags = 0x10
	IffRunning      IfFlags = 0x40
	IffNoARP        IfFlags = 0x80
	IffPromisc      IfFlags = 0x100
	IffAllMulti     IfFlags = 0x200
	// IffMaster and IffSlave are Linux only (bonding); FreeBSD uses the
	// bits for IFF_DRV_OACTIVE and IFF_SIMPLEX.
	IffMaster    IfFlags = 0x400
	IffSlave     IfFlags = 0x800
	IffMulticast IfFlags = 0x1000
	// IffLowerUp is the carrier ("lower layer up") flag.
	IffLowerUp IfFlags = 0x10000
	// IffDormant is Linux only.
	IffDormant IfFlags = 0x20000
)

// ifFlagBit maps one portable flag to its raw bit on each OS (0: absent).
type ifFlagBit struct {
	name           string
	flag           IfFlags
	linux, freebsd uint32
}

// ifFlagTable: Linux include/uapi/linux/if.h (enum net_device_flags);
// FreeBSD sys/net/if.h (IFF_*) and sys/netlink/route/interface.h
// (IFF_LOWER_UP is IFF_NETLINK_1, 0x1000000, in sys/net/if.h).
var ifFlagTable = [...]ifFlagBit{
	{"up", IffUp, 0x1, 0x1},
	{"broadcast", IffBroadcast, 0x2, 0x2},
	{"debug", IffDebug, 0x4, 0x4},
	{"loopback", IffLoopback, 0x8, 0x8},
	{"pointopoint", IffPointToPoint, 0x10, 0x10},
	{"running", IffRunning, 0x40, 0x40},
	{"noarp", IffNoARP, 0x80, 0x80},
	{"promisc", IffPromisc, 0x100, 0x100},
	{"allmulti", IffAllMulti, 0x200, 0x200},
	{"master", IffMaster, 0x400, 0},
	{"slave", IffSlave, 0x800, 0},
	{"multicast", IffMulticast, 0x1000, 0x8000},
	{"lower_up", IffLowerUp, 0x10000, 0x1000000},
	{"dormant", IffDormant, 0x20000, 0},
}

func (b ifFlagBit) raw(o OS) uint32 {
	switch o {
	case Linux:
		return b.linux
	case FreeBSD:
		return b.freebsd
	}
	return 0
}

// IfFlagsFromRaw converts a raw ifi_flags of f.OS to portable flags.
func (f Facts) IfFlagsFromRaw(raw uint32) IfFlags {
	var out IfFlags
	for _, b := range ifFlagTable {
		if r := b.raw(f.OS); r != 0 && raw&r != 0 {
			out |= b.flag
		}
	}
	return out
}

// IfFlagsToRaw converts portable flags to f.OS's raw ifi_flags bits; flags
// the OS does not have are dropped.
func (f Facts) IfFlagsToRaw(fl IfFlags) uint32 {
	var out uint32
	for _, b := range ifFlagTable {
		if fl&b.flag != 0 {
			out |= b.raw(f.OS)
		}
	}
	return out
}

// Names returns the flags' names in iproute2's upper-case spelling, in bit
// order ("UP", "BROADCAST", "LOWER_UP", ...).
func (fl IfFlags) Names() []string {
	var out []string
	for _, b := range ifFlagTable {
		if fl&b.flag != 0 {
			out = append(out, upper(b.name))
		}
	}
	return out
}

// String joins Names with ",".
func (fl IfFlags) String() string {
	s := ""
	for i, n := range fl.Names() {
		if i > 0 {
			s += ","
		}
		s += n
	}
	return s
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// HasRouteMessage reports whether f.OS's kernel handles the rtnetlink
// message type t. FreeBSD sys/netlink/route/common.h marks everything but
// links, addresses, routes, neighbours and nexthops "not supported", and
// RTM_SETLINK among them (use RTM_NEWLINK without NLM_F_CREATE).
func (f Facts) HasRouteMessage(t uint16) bool {
	switch f.OS {
	case Linux:
		return t >= RtmNewLink
	case FreeBSD:
		switch t {
		case RtmNewLink, RtmDelLink, RtmGetLink,
			RtmNewAddr, RtmDelAddr, RtmGetAddr,
			RtmNewRoute, RtmDelRoute, RtmGetRoute,
			RtmNewNeigh, RtmDelNeigh, RtmGetNeigh,
			RtmNewNexthop, RtmDelNexthop, RtmGetNexthop:
			return true
		}
	}
	return false
}

// HasLinkKind reports whether f.OS can create links of the given
// IFLA_INFO_KIND through RTM_NEWLINK. Linux: any kind its drivers register
// (reported true; the kernel decides). FreeBSD: the cloners with a netlink
// handler in sys/netlink/route/iface_drivers.c and if_*.c: "vlan", "gif",
// "gre"; veth and bridge are not among them.
func (f Facts) HasLinkKind(kind string) bool {
	switch f.OS {
	case Linux:
		return kind != ""
	case FreeBSD:
		switch kind {
		case "vlan", "gif", "gre":
			return true
		}
	}
	return false
}
