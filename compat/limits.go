package compat

// Limits holds fixed numeric limits of an OS's netlink implementation. A
// zero field means the OS has no fixed limit (or no fixed value) for it.
type Limits struct {
	// MaxGroups bounds multicast group ids joined with
	// NETLINK_ADD_MEMBERSHIP: valid ids are 1..MaxGroups-1. FreeBSD:
	// NLP_MAX_GROUPS 128 (sys/netlink/netlink_var.h); larger ids give
	// ERANGE. Linux grows the group table per protocol (0).
	MaxGroups uint32
	// ListMembershipsGroups is how many groups NETLINK_LIST_MEMBERSHIPS
	// can report: FreeBSD 32 (one int bitmask), Linux all (0).
	ListMembershipsGroups uint32
	// BindGroups is how many groups the nl_groups mask of bind(2) reaches
	// (groups 1..32 on both OSes, bit i is group i+1).
	BindGroups uint32
	// GenlMaxFamilies is the system-wide number of generic netlink
	// families: FreeBSD MAX_FAMILIES 20 (sys/netlink/netlink_generic.c).
	GenlMaxFamilies uint32
	// GenlMaxGroups is the system-wide number of generic netlink multicast
	// groups: FreeBSD MAX_GROUPS 64 (sys/netlink/netlink_generic.c).
	GenlMaxGroups uint32
	// GenlGroupIDBase is the first generic netlink multicast group id:
	// FreeBSD MIN_GROUP_NUM 48 (sys/netlink/netlink_generic.c), so every
	// genl group is above 32 and needs NETLINK_ADD_MEMBERSHIP. Linux
	// allocates ids dynamically (0). Always resolve groups by name.
	GenlGroupIDBase uint32
}

// LimitsFor returns the limits of OS o. For Other it returns the zero Limits.
func LimitsFor(o OS) Limits {
	switch o {
	case Linux:
		return Limits{BindGroups: 32}
	case FreeBSD:
		return Limits{
			MaxGroups:             128,
			ListMembershipsGroups: 32,
			BindGroups:            32,
			GenlMaxFamilies:       20,
			GenlMaxGroups:         64,
			GenlGroupIDBase:       48,
		}
	default:
		return Limits{}
	}
}

// ValidGroup reports whether g is a group id that NETLINK_ADD_MEMBERSHIP can
// accept under l: non-zero and, if MaxGroups is set, below it.
func (l Limits) ValidGroup(g uint32) bool {
	return g != 0 && (l.MaxGroups == 0 || g < l.MaxGroups)
}
