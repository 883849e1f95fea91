package compat

// IFLACommonMax is the highest IFLA_* attribute type numbered identically on
// Linux (include/uapi/linux/if_link.h) and FreeBSD
// (sys/netlink/route/interface.h). Above it FreeBSD lacks IFLA_TSO_MAX_SIZE,
// so its later values are one lower, and it adds IFLA_FREEBSD at 64.
const IFLACommonMax = 58

// Sub-attributes of the FreeBSD-only nested IFLA_FREEBSD attribute.
// FreeBSD sys/netlink/route/interface.h.
const (
	// IflafOrigIfname is IFLAF_ORIG_IFNAME: the interface's original name.
	IflafOrigIfname = 1
	// IflafOrigHwaddr is IFLAF_ORIG_HWADDR: the original hardware address.
	IflafOrigHwaddr = 2
	// IflafCaps is IFLAF_CAPS: interface capabilities (bitset).
	IflafCaps = 3
)

// iflaAbsent marks an attribute the OS does not define.
const iflaAbsent = -1

type iflaEntry struct {
	name           string
	linux, freebsd int16
}

// iflaTable is read-only. Linux values: include/uapi/linux/if_link.h (as
// generated into golang.org/x/sys/unix ztypes_linux.go). FreeBSD values:
// sys/netlink/route/interface.h. Where two names share a value the first
// is the canonical name returned by IFLAName.
var iflaTable = [...]iflaEntry{
	{"IFLA_UNSPEC", 0, 0},
	{"IFLA_ADDRESS", 1, 1},
	{"IFLA_BROADCAST", 2, 2},
	{"IFLA_IFNAME", 3, 3},
	{"IFLA_MTU", 4, 4},
	{"IFLA_LINK", 5, 5},
	{"IFLA_QDISC", 6, 6},
	{"IFLA_STATS", 7, 7},
	{"IFLA_COST", 8, 8},
	{"IFLA_PRIORITY", 9, 9},
	{"IFLA_MASTER", 10, 10},
	{"IFLA_WIRELESS", 11, 11},
	{"IFLA_PROTINFO", 12, 12},
	{"IFLA_TXQLEN", 13, 13},
	{"IFLA_MAP", 14, 14},
	{"IFLA_WEIGHT", 15, 15},
	{"IFLA_OPERSTATE", 16, 16},
	{"IFLA_LINKMODE", 17, 17},
	{"IFLA_LINKINFO", 18, 18},
	{"IFLA_NET_NS_PID", 19, 19},
	{"IFLA_IFALIAS", 20, 20},
	{"IFLA_NUM_VF", 21, 21},
	{"IFLA_VFINFO_LIST", 22, 22},
	{"IFLA_STATS64", 23, 23},
	{"IFLA_VF_PORTS", 24, 24},
	{"IFLA_PORT_SELF", 25, 25},
	{"IFLA_AF_SPEC", 26, 26},
	{"IFLA_GROUP", 27, 27},
	{"IFLA_NET_NS_FD", 28, 28},
	{"IFLA_EXT_MASK", 29, 29},
	{"IFLA_PROMISCUITY", 30, 30},
	{"IFLA_NUM_TX_QUEUES", 31, 31},
	{"IFLA_NUM_RX_QUEUES", 32, 32},
	{"IFLA_CARRIER", 33, 33},
	{"IFLA_PHYS_PORT_ID", 34, 34},
	{"IFLA_CARRIER_CHANGES", 35, 35},
	{"IFLA_PHYS_SWITCH_ID", 36, 36},
	{"IFLA_LINK_NETNSID", 37, 37},
	{"IFLA_PHYS_PORT_NAME", 38, 38},
	{"IFLA_PROTO_DOWN", 39, 39},
	{"IFLA_GSO_MAX_SEGS", 40, 40},
	{"IFLA_GSO_MAX_SIZE", 41, 41},
	{"IFLA_PAD", 42, 42},
	{"IFLA_XDP", 43, 43},
	{"IFLA_EVENT", 44, 44},
	{"IFLA_NEW_NETNSID", 45, 45},
	{"IFLA_IF_NETNSID", 46, 46},
	{"IFLA_TARGET_NETNSID", 46, 46},
	{"IFLA_CARRIER_UP_COUNT", 47, 47},
	{"IFLA_CARRIER_DOWN_COUNT", 48, 48},
	{"IFLA_NEW_IFINDEX", 49, 49},
	{"IFLA_MIN_MTU", 50, 50},
	{"IFLA_MAX_MTU", 51, 51},
	{"IFLA_PROP_LIST", 52, 52},
	{"IFLA_ALT_IFNAME", 53, 53},
	{"IFLA_PERM_ADDRESS", 54, 54},
	{"IFLA_PROTO_DOWN_REASON", 55, 55},
	{"IFLA_PARENT_DEV_NAME", 56, 56},
	{"IFLA_PARENT_DEV_BUS_NAME", 57, 57},
	{"IFLA_GRO_MAX_SIZE", 58, 58},
	// Divergence starts here: FreeBSD has no IFLA_TSO_MAX_SIZE.
	{"IFLA_TSO_MAX_SIZE", 59, iflaAbsent},
	{"IFLA_TSO_MAX_SEGS", 60, 59},
	{"IFLA_ALLMULTI", 61, 60},
	{"IFLA_DEVLINK_PORT", 62, 61},
	{"IFLA_GSO_IPV4_MAX_SIZE", 63, 62},
	{"IFLA_GRO_IPV4_MAX_SIZE", 64, 63},
	{"IFLA_FREEBSD", iflaAbsent, 64},
	{"IFLA_DPLL_PIN", 65, iflaAbsent},
}

func (e iflaEntry) value(o OS) int16 {
	switch o {
	case Linux:
		return e.linux
	case FreeBSD:
		return e.freebsd
	default:
		return iflaAbsent
	}
}

// IFLA returns the attribute type of the IFLA_* attribute called name (for
// example "IFLA_MTU" or "IFLA_FREEBSD") in f.OS's numbering. It reports
// false when the OS does not define the attribute or the name is unknown.
func (f Facts) IFLA(name string) (uint16, bool) {
	for _, e := range iflaTable {
		if e.name == name {
			v := e.value(f.OS)
			if v == iflaAbsent {
				return 0, false
			}
			return uint16(v), true
		}
	}
	return 0, false
}

// IFLAName returns the canonical name of IFLA attribute type v in f.OS's
// numbering. It reports false for values this package does not know.
func (f Facts) IFLAName(v uint16) (string, bool) {
	for _, e := range iflaTable {
		if x := e.value(f.OS); x != iflaAbsent && uint16(x) == v {
			return e.name, true
		}
	}
	return "", false
}

// IFLAFromLinux translates an IFLA attribute type in Linux numbering to
// f.OS's numbering. It reports false when f.OS has no such attribute (for
// example IFLA_TSO_MAX_SIZE on FreeBSD) or the value is unknown.
func (f Facts) IFLAFromLinux(linux uint16) (uint16, bool) {
	name, ok := FactsFor(Linux).IFLAName(linux)
	if !ok {
		return 0, false
	}
	return f.IFLA(name)
}
