package genl

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/nlbus/netlink"
)

// Family describes a generic-netlink family as the controller reports it
// (CTRL_CMD_NEWFAMILY).
type Family struct {
	// ID is the family's message type; it is assigned at registration, so
	// resolve it by name rather than hard-coding it.
	ID uint16
	// Name is the family's unique name, at most NameMax bytes.
	Name string
	// Version is the family's interface version.
	Version uint32
	// HeaderSize is the size of the family-specific header that follows
	// the generic-netlink header (usually 0).
	HeaderSize uint32
	// MaxAttr is the highest attribute type of the family's main policy.
	MaxAttr uint32
	// Ops are the commands the family handles.
	Ops []Op
	// Groups are the family's multicast groups.
	Groups []Group
}

// Op is one command of a family and what it supports.
type Op struct {
	// ID is the command number.
	ID uint32
	// Flags is the raw CTRL_ATTR_OP_FLAGS value.
	Flags OpFlags
}

// Group is a multicast group of a family.
type Group struct {
	// ID is the group number to join (netlink.Conn.JoinGroup); it is
	// assigned at registration, so resolve it by name.
	ID uint32
	// Name is the group's name within its family.
	Name string
}

// OpFlags are the flags of an operation (GENL_* in genetlink.h).
type OpFlags uint32

// Operation flags.
const (
	// AdminPerm: the command needs CAP_NET_ADMIN (GENL_ADMIN_PERM).
	AdminPerm OpFlags = 0x01
	// CmdCapDo: the command handles do requests (GENL_CMD_CAP_DO).
	CmdCapDo OpFlags = 0x02
	// CmdCapDump: the command handles dump requests (GENL_CMD_CAP_DUMP).
	CmdCapDump OpFlags = 0x04
	// CmdCapHasPolicy: the command validates its attributes against a
	// policy that CTRL_CMD_GETPOLICY can show (GENL_CMD_CAP_HASPOL).
	CmdCapHasPolicy OpFlags = 0x08
	// UnsAdminPerm: the command needs CAP_NET_ADMIN in the network
	// namespace's user namespace (GENL_UNS_ADMIN_PERM).
	UnsAdminPerm OpFlags = 0x10
)

var opFlagNames = [...]struct {
	f    OpFlags
	name string
}{
	{AdminPerm, "admin-perm"},
	{CmdCapDo, "do"},
	{CmdCapDump, "dump"},
	{CmdCapHasPolicy, "has-policy"},
	{UnsAdminPerm, "uns-admin-perm"},
}

// String lists the flags' names joined by "|", unknown bits in hexadecimal.
func (f OpFlags) String() string {
	if f == 0 {
		return "0"
	}
	var parts []string
	for _, n := range opFlagNames {
		if f&n.f != 0 {
			parts = append(parts, n.name)
			f &^= n.f
		}
	}
	if f != 0 {
		parts = append(parts, "0x"+strconv.FormatUint(uint64(f), 16))
	}
	return strings.Join(parts, "|")
}

// CanDo reports whether the operation handles do requests.
func (o Op) CanDo() bool { return o.Flags&CmdCapDo != 0 }

// CanDump reports whether the operation handles dump requests.
func (o Op) CanDump() bool { return o.Flags&CmdCapDump != 0 }

// HasPolicy reports whether the operation has a policy (GENL_CMD_CAP_HASPOL).
// On Linux, GETPOLICY can show it; FreeBSD's nlctrl sets the flag on
// GETFAMILY but has no GETPOLICY, so the flag does not say that GetPolicy
// works: GetPolicy's ErrNotSupported, or compat.Probe, does.
func (o Op) HasPolicy() bool { return o.Flags&CmdCapHasPolicy != 0 }

// NeedsAdmin reports whether the operation needs CAP_NET_ADMIN, in the
// initial or in the namespace's user namespace.
func (o Op) NeedsAdmin() bool { return o.Flags&(AdminPerm|UnsAdminPerm) != 0 }

// Op returns the operation with command id.
func (f *Family) Op(id uint32) (Op, bool) {
	for _, o := range f.Ops {
		if o.ID == id {
			return o, true
		}
	}
	return Op{}, false
}

// Group returns the multicast group called name.
func (f *Family) Group(name string) (Group, bool) {
	for _, g := range f.Groups {
		if g.Name == name {
			return g, true
		}
	}
	return Group{}, false
}

// Clone returns a deep copy of f.
func (f *Family) Clone() Family {
	c := *f
	c.Ops = slices.Clone(f.Ops)
	c.Groups = slices.Clone(f.Groups)
	return c
}

// MarshalAttributes returns f as the controller's attributes
// (CTRL_ATTR_FAMILY_NAME, _ID, _VERSION, _HDRSIZE, _MAXATTR, _OPS and
// _MCAST_GROUPS), the payload of a CTRL_CMD_NEWFAMILY message after its
// generic-netlink header.
func (f *Family) MarshalAttributes() ([]byte, error) {
	var ae netlink.AttributeEncoder
	f.AppendAttributes(&ae)
	return ae.Bytes()
}

// AppendAttributes encodes f as MarshalAttributes does, with ae.
func (f *Family) AppendAttributes(ae *netlink.AttributeEncoder) {
	ae.String(attrFamilyName, f.Name)
	ae.Uint16(attrFamilyID, f.ID)
	ae.Uint32(attrVersion, f.Version)
	ae.Uint32(attrHdrSize, f.HeaderSize)
	ae.Uint32(attrMaxAttr, f.MaxAttr)
	if len(f.Ops) > 0 {
		n := ae.BeginNested(attrOps)
		for i, o := range f.Ops {
			m := ae.BeginNested(uint16(i + 1))
			ae.Uint32(attrOpID, o.ID)
			ae.Uint32(attrOpFlags, uint32(o.Flags))
			ae.EndNested(m)
		}
		ae.EndNested(n)
	}
	if len(f.Groups) > 0 {
		appendGroups(ae, f.Groups)
	}
}

func appendGroups(ae *netlink.AttributeEncoder, groups []Group) {
	n := ae.BeginNested(attrMcastGroups)
	for i, g := range groups {
		m := ae.BeginNested(uint16(i + 1))
		ae.Uint32(attrGrpID, g.ID)
		ae.String(attrGrpName, g.Name)
		ae.EndNested(m)
	}
	ae.EndNested(n)
}

// UnmarshalAttributes decodes the controller's attributes of a family (the
// payload of CTRL_CMD_NEWFAMILY or DELFAMILY after the generic-netlink
// header) into f, replacing its contents. Unknown attributes are ignored;
// a malformed one is an error. Nothing in f aliases b. It allocates only
// what f holds: the names and the two slices, sized from the bytes present.
func (f *Family) UnmarshalAttributes(b []byte) error {
	return f.unmarshal(b, "")
}

// unmarshal is UnmarshalAttributes; when the family's name is name, f.Name
// reuses that string instead of allocating a copy.
func (f *Family) unmarshal(b []byte, name string) error {
	*f = Family{}
	var ad netlink.AttributeDecoder
	ad.Reset(b)
	var err error
	for err == nil && ad.Next() {
		switch ad.Type() {
		case attrFamilyID:
			f.ID = ad.Uint16()
		case attrFamilyName:
			if nb := ad.StringBytes(); name != "" && string(nb) == name {
				f.Name = name
			} else {
				f.Name = string(nb)
			}
		case attrVersion:
			f.Version = ad.Uint32()
		case attrHdrSize:
			f.HeaderSize = ad.Uint32()
		case attrMaxAttr:
			f.MaxAttr = ad.Uint32()
		case attrOps:
			// Nested decoders are used by value, not through
			// AttributeDecoder.Nested, whose callback makes them escape.
			nd := ad.NestedDecoder()
			f.Ops, err = decodeOps(&nd, f.Ops)
		case attrMcastGroups:
			nd := ad.NestedDecoder()
			f.Groups, err = decodeGroups(&nd, f.Groups)
		}
	}
	if err == nil {
		err = ad.Err()
	}
	if err != nil {
		return fmt.Errorf("genl: family attributes: %w", err)
	}
	return nil
}

// decodeOps and decodeGroups decode in one pass into an array on the stack
// and then copy it into a slice of exactly the size needed. A family with
// more entries than the array holds has the rest counted once, when the
// array fills, and gets one slice of the exact size. Either way: one
// allocation, sized from the entries actually present.

// entries gathers decoded entries: in tmp while they fit, then in big.
type entries[E any, A ~[16]E] struct {
	tmp A
	n   int
	big []E
}

// add appends e; nd is the decoder e came from, whose remaining entries
// size big when tmp is full.
func (es *entries[E, A]) add(e E, nd *netlink.AttributeDecoder) {
	switch {
	case es.big != nil:
		es.big = append(es.big, e)
	case es.n < len(es.tmp):
		es.tmp[es.n] = e
		es.n++
	default:
		rest := *nd
		more := 1
		for rest.Next() {
			more++
		}
		es.big = make([]E, es.n, es.n+more)
		copy(es.big, es.tmp[:es.n])
		es.big = append(es.big, e)
	}
}

// appendTo appends the entries to out.
func (es *entries[E, A]) appendTo(out []E) []E {
	if es.big != nil {
		if out == nil {
			return es.big
		}
		return append(out, es.big...)
	}
	if es.n == 0 {
		return out
	}
	return append(out, es.tmp[:es.n]...)
}

func decodeOps(nd *netlink.AttributeDecoder, ops []Op) ([]Op, error) {
	var es entries[Op, [16]Op]
	for nd.Next() {
		var o Op
		od := nd.NestedDecoder()
		for od.Next() {
			switch od.Type() {
			case attrOpID:
				o.ID = od.Uint32()
			case attrOpFlags:
				o.Flags = OpFlags(od.Uint32())
			}
		}
		if err := od.Err(); err != nil {
			return es.appendTo(ops), err
		}
		es.add(o, nd)
	}
	return es.appendTo(ops), nd.Err()
}

func decodeGroups(nd *netlink.AttributeDecoder, groups []Group) ([]Group, error) {
	var es entries[Group, [16]Group]
	for nd.Next() {
		var g Group
		gd := nd.NestedDecoder()
		for gd.Next() {
			switch gd.Type() {
			case attrGrpID:
				g.ID = gd.Uint32()
			case attrGrpName:
				g.Name = gd.String()
			}
		}
		if err := gd.Err(); err != nil {
			return es.appendTo(groups), err
		}
		es.add(g, nd)
	}
	return es.appendTo(groups), nd.Err()
}
