package rtnl

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"net"
	"strings"
	"syscall"
	"unsafe"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/compat"
)

var ne = binary.NativeEndian

// OperState is a link's operational state (IFLA_OPERSTATE, RFC 2863).
type OperState uint8

// String returns iproute2's name: "UP", "DOWN", "UNKNOWN", ...
func (s OperState) String() string {
	switch s {
	case compat.IfOperNotPresent:
		return "NOTPRESENT"
	case compat.IfOperDown:
		return "DOWN"
	case compat.IfOperLowerLayerDown:
		return "LOWERLAYERDOWN"
	case compat.IfOperTesting:
		return "TESTING"
	case compat.IfOperDormant:
		return "DORMANT"
	case compat.IfOperUp:
		return "UP"
	}
	return "UNKNOWN"
}

// Link is a network interface (RTM_NEWLINK). Decoded links own all their
// memory.
type Link struct {
	// Index is the interface index (ifi_index).
	Index int
	// Name is IFLA_IFNAME.
	Name string
	// Type is the portable link type; RawType is the OS's ifi_type
	// (ARPHRD_* on Linux, IFT_* on FreeBSD).
	Type    compat.LinkType
	RawType uint16
	// Flags are the portable interface flags; RawFlags the OS's ifi_flags.
	Flags    compat.IfFlags
	RawFlags uint32
	// MTU is IFLA_MTU; MinMTU and MaxMTU the driver's limits (Linux).
	MTU, MinMTU, MaxMTU uint32
	// HardwareAddr and Broadcast are IFLA_ADDRESS and IFLA_BROADCAST.
	HardwareAddr net.HardwareAddr
	Broadcast    net.HardwareAddr
	// MasterIndex is IFLA_MASTER: the bridge or bond the link belongs to.
	MasterIndex int
	// ParentIndex is IFLA_LINK: the lower link (a veth's peer, a VLAN's
	// parent). HasParent says the kernel sent IFLA_LINK: with ParentIndex
	// 0 it then means a link bound to no lower link (a tunnel with no
	// device, which ip shows as "@NONE"), where an absent IFLA_LINK means
	// the link is its own.
	ParentIndex int
	HasParent   bool
	// TxQueueLen is IFLA_TXQLEN.
	TxQueueLen uint32
	// OperState is IFLA_OPERSTATE.
	OperState OperState
	// Alias is IFLA_IFALIAS (FreeBSD: the interface description).
	Alias string
	// Qdisc is IFLA_QDISC (Linux).
	Qdisc string
	// Group is IFLA_GROUP; Promiscuity IFLA_PROMISCUITY.
	Group, Promiscuity uint32
	// Kind and SlaveKind are IFLA_INFO_KIND and IFLA_INFO_SLAVE_KIND of
	// IFLA_LINKINFO ("veth", "bridge", "vlan", ...). On AddLink, Kind
	// selects the kind to create.
	Kind, SlaveKind string
	// PeerName, on AddLink of a veth, names the peer. It is not decoded.
	PeerName string
	// Stats are IFLA_STATS64, when the kernel sent them (HasStats).
	Stats    LinkStats
	HasStats bool
	// Extra holds, in wire form, every attribute not decoded above
	// (IFLA_AF_SPEC, the whole IFLA_LINKINFO, IFLA_STATS, ...); iterate it
	// with Attrs.
	Extra []byte
}

// LinkStats are a link's counters (struct rtnl_link_stats64, the first ten
// fields; FreeBSD fills only these).
type LinkStats struct {
	RxPackets, TxPackets, RxBytes, TxBytes, RxErrors, TxErrors, RxDropped, TxDropped, Multicast, Collisions uint64
}

func decodeStats64(b []byte) (LinkStats, bool) {
	if len(b) < 80 {
		return LinkStats{}, false
	}
	u := func(i int) uint64 { return ne.Uint64(b[8*i:]) }
	return LinkStats{u(0), u(1), u(2), u(3), u(4), u(5), u(6), u(7), u(8), u(9)}, true
}

// DecodeLink decodes the payload of an RTM_NEWLINK or RTM_DELLINK message
// (ifinfomsg and attributes) of the OS f. It copies what the Link keeps.
func DecodeLink(f compat.Facts, data []byte) (Link, error) {
	var l Link
	err := decodeLink(f, data, &l, nil)
	return l, err
}

func decodeLink(f compat.Facts, data []byte, l *Link, ar *arena) error {
	var hdr [compat.SizeofIfInfomsg]byte
	rest, short := netlink.Fixed(hdr[:], data)
	if short {
		return fmt.Errorf("ifinfomsg: %d bytes, want %d", len(data), compat.SizeofIfInfomsg)
	}
	l.RawType = ne.Uint16(hdr[2:4])
	l.Type = f.LinkTypeOf(l.RawType)
	l.Index = int(int32(ne.Uint32(hdr[4:8])))
	l.RawFlags = ne.Uint32(hdr[8:12])
	l.Flags = f.IfFlagsFromRaw(l.RawFlags)

	return decodeLinkAttrs(rest, l, ar)
}

// scanLinkAttrs walks rest from off, noting in at the offsets of the
// attributes decodeLinkAttrs decodes, until at is full or rest ends; it
// returns how many it noted and where it stopped. On its own, the walk
// keeps its few variables in registers: inside decodeLinkAttrs, with the
// values that function keeps live, they were reloaded from the stack on
// every attribute.
func scanLinkAttrs(rest []byte, off int, at *[24]int32) (k, next int, err error) {
	for off < len(rest) && k < len(at) {
		left := len(rest) - off
		if left < 4 {
			return k, off, fmt.Errorf("%w: %d bytes left", netlink.ErrAttributeLength, left)
		}
		h := rest[off : off+4]
		n := int(ne.Uint16(h[0:2]))
		if n < 4 || n > left {
			return k, off, fmt.Errorf("%w: length %d with %d bytes left", netlink.ErrAttributeLength, n, left)
		}
		if typ := ne.Uint16(h[2:4]) & 0x3fff; int(typ) < len(linkDecoded) && linkDecoded[typ] {
			at[k] = int32(off)
			k++
		}
		off += min(netlink.Align(n), left)
	}
	return k, off, nil
}

// errShortAttr reports an attribute payload of the wrong size.
func errAttrSize(typ uint16, n int) error {
	return fmt.Errorf("%w: link attribute %d of %d bytes", netlink.ErrAttributeSize, typ, n)
}

// linkDecoded marks the attribute types decodeLinkAttrs decodes; the others
// are kept in Extra as they came.
var linkDecoded = func() (t [64]bool) {
	for _, typ := range []uint16{
		compat.IflaIfname, compat.IflaIfalias, compat.IflaQdisc, compat.IflaAddress,
		compat.IflaBroadcast, compat.IflaMTU, compat.IflaMinMTU, compat.IflaMaxMTU,
		compat.IflaMaster, compat.IflaLink, compat.IflaTxqlen, compat.IflaGroup,
		compat.IflaPromiscuity, compat.IflaOperstate, compat.IflaStats64, compat.IflaLinkinfo,
	} {
		t[typ] = true
	}
	return t
}()

// decodeLinkAttrs walks the attributes once. The attributes it does not
// decode are copied raw, padding included, run by run, into one region
// sized by the attributes' bytes, which becomes Extra; the strings and
// hardware addresses, noted on the way, are copied after it, together.
// Both come from ar (one allocation per value when ar is nil). No slice
// the Link exposes overlaps another.
func decodeLinkAttrs(rest []byte, l *Link, ar *arena) error {
	if ar == nil {
		// A region for the attributes and room for the strings, which
		// come from decoded attributes (not in Extra) or, for the kinds,
		// from IFLA_LINKINFO; a longer kind gets an allocation of its own.
		ar = &arena{free: make([]byte, len(rest)+32), exact: true}
	}
	ext := ar.reserve(len(rest))
	var name, alias, qdisc, kind, slaveKind, hw, brd []byte // borrowed from rest
	run := 0                                                // rest[run:off] are undecoded, not yet copied
	// The walk goes in two steps, so that the first, over every
	// attribute, makes no call and keeps its few variables in registers:
	// it notes where the attributes to decode are, up to len(at) of them;
	// the second decodes those and copies the runs between them.
	var at [24]int32
	for off := 0; off < len(rest); {
		k, next, err := scanLinkAttrs(rest, off, &at)
		if err != nil {
			return err
		}
		off = next
		for _, o := range at[:k] {
			off := int(o)
			b := rest[off:]
			n := int(ne.Uint16(b))
			typ := ne.Uint16(b[2:]) & 0x3fff
			next := off + min(netlink.Align(n), len(b))
			ext = append(ext, rest[run:off]...)
			run = next
			p := b[4:n]
			switch typ {
			case compat.IflaIfname:
				name = cstr(p)
			case compat.IflaIfalias:
				alias = cstr(p)
			case compat.IflaQdisc:
				qdisc = cstr(p)
			case compat.IflaAddress:
				hw = p
			case compat.IflaBroadcast:
				brd = p
			case compat.IflaOperstate:
				if len(p) != 1 {
					return errAttrSize(typ, len(p))
				}
				l.OperState = OperState(p[0])
			case compat.IflaStats64:
				if l.Stats, l.HasStats = decodeStats64(p); !l.HasStats {
					run = off // kept as it came
				}
			case compat.IflaLinkinfo:
				// Kind and slave kind are decoded; the whole attribute is kept.
				var nd netlink.AttributeDecoder
				nd.Reset(p)
				for nd.Next() {
					switch nd.Type() {
					case compat.IflaInfoKind:
						kind = cstr(nd.Bytes())
					case compat.IflaInfoSlaveKind:
						slaveKind = cstr(nd.Bytes())
					}
				}
				if err := nd.Err(); err != nil {
					return fmt.Errorf("IFLA_LINKINFO: %w", err)
				}
				run = off
			case compat.IflaMTU, compat.IflaMinMTU, compat.IflaMaxMTU, compat.IflaMaster,
				compat.IflaLink, compat.IflaTxqlen, compat.IflaGroup, compat.IflaPromiscuity:
				if len(p) != 4 {
					return errAttrSize(typ, len(p))
				}
				v := ne.Uint32(p)
				switch typ {
				case compat.IflaMTU:
					l.MTU = v
				case compat.IflaMinMTU:
					l.MinMTU = v
				case compat.IflaMaxMTU:
					l.MaxMTU = v
				case compat.IflaMaster:
					l.MasterIndex = int(v)
				case compat.IflaLink:
					l.ParentIndex, l.HasParent = int(v), true
				case compat.IflaTxqlen:
					l.TxQueueLen = v
				case compat.IflaGroup:
					l.Group = v
				case compat.IflaPromiscuity:
					l.Promiscuity = v
				}
			default:
				// In linkDecoded but not decoded here: kept as it came,
				// so that the two lists out of step lose nothing.
				run = off
			}
		}
	}
	ext = append(ext, rest[run:]...)
	if len(ext) > 0 {
		l.Extra = ar.commit(ext)
	}
	buf := ar.alloc(len(name) + len(alias) + len(qdisc) + len(kind) + len(slaveKind) + len(hw) + len(brd))
	keep := func(src []byte) []byte {
		if len(src) == 0 {
			return nil
		}
		n := copy(buf, src)
		k := buf[:n:n]
		buf = buf[n:]
		return k
	}
	str := func(src []byte) string {
		if k := keep(src); k != nil {
			return unsafe.String(&k[0], len(k))
		}
		return ""
	}
	l.Name, l.Alias, l.Qdisc, l.Kind, l.SlaveKind = str(name), str(alias), str(qdisc), str(kind), str(slaveKind)
	if hw != nil {
		l.HardwareAddr = net.HardwareAddr(keep(hw))
	}
	if brd != nil {
		l.Broadcast = net.HardwareAddr(keep(brd))
	}
	return nil
}

// cstr is b up to its first NUL.
func cstr(b []byte) []byte {
	if i := indexNUL(b); i >= 0 {
		return b[:i]
	}
	return b
}

func indexNUL(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return -1
}

func ifinfomsg(f compat.Facts, index int, flags, change uint32) []byte {
	b := make([]byte, compat.SizeofIfInfomsg, 128)
	ne.PutUint32(b[4:8], uint32(int32(index)))
	ne.PutUint32(b[8:12], flags)
	ne.PutUint32(b[12:16], change)
	return b
}

// Links lists the interfaces, streaming them from one dump. A Filter's
// LinkIndex narrows the listing to one link and Stats asks for the
// per-protocol counters;
// Family and Table do not apply. The bytes the links of one listing keep
// (names, addresses, Extra) are carved from shared blocks of 16 KiB, so a
// listing makes one allocation per dozen links or so; a Link kept after
// the listing keeps its block alive.
func (c *Conn) Links(ctx context.Context, flt Filter) iter.Seq2[Link, error] {
	var keep func(*Link) bool
	if flt.LinkIndex != 0 {
		keep = func(l *Link) bool { return l.Index == flt.LinkIndex }
	}
	req := ifinfomsg(c.facts, 0, 0, 0)
	if !flt.Stats && c.facts.OS == compat.Linux {
		var ae netlink.AttributeEncoder
		ae.Reset(req)
		ae.Uint32(compat.IflaExtMask, compat.RtextFilterSkipStats)
		req = mustBytes(&ae)
	}
	return list(ctx, c, "list links", compat.RtmGetLink, req, decodeLink, keep)
}

// Link returns the interface with the given index; the error wraps
// ErrNotFound (and the kernel's ENODEV) when there is none.
func (c *Conn) Link(ctx context.Context, index int) (Link, error) {
	l, err := get(ctx, c, fmt.Sprintf("get link %d", index), compat.RtmGetLink, ifinfomsg(c.facts, index, 0, 0), DecodeLink)
	return l, lookupErr(err)
}

// LinkByName returns the interface called name; the error wraps
// ErrNotFound (and the kernel's ENODEV) when there is none.
func (c *Conn) LinkByName(ctx context.Context, name string) (Link, error) {
	if err := c.checkLinkName("get link", name); err != nil {
		return Link{}, err
	}
	l, err := c.linkByName(ctx, name)
	return l, lookupErr(err)
}

func (c *Conn) linkByName(ctx context.Context, name string) (Link, error) {
	b := ifinfomsg(c.facts, 0, 0, 0)
	var ae netlink.AttributeEncoder
	ae.Reset(b)
	ae.String(compat.IflaIfname, name)
	b, err := ae.Bytes()
	if err != nil {
		return Link{}, err
	}
	return get(ctx, c, "get link "+name, compat.RtmGetLink, b, DecodeLink)
}

// AddLink creates a link of l.Kind named l.Name (RTM_NEWLINK with
// NLM_F_CREATE|NLM_F_EXCL), with l.MTU, l.HardwareAddr, l.MasterIndex and,
// for a veth, l.PeerName when set, and up when l.Flags has IffUp. Linux
// creates any kind its drivers provide (veth and bridge among them);
// FreeBSD creates vlan, gif and gre only, and the error for other kinds
// wraps compat.ErrNotSupported.
func (c *Conn) AddLink(ctx context.Context, l Link) error {
	op := "add link " + l.Name
	if l.Kind == "" {
		return fmt.Errorf("rtnl: %s: no kind", op)
	}
	if l.Name != "" {
		if err := c.checkLinkName(op, l.Name); err != nil {
			return err
		}
	}
	if l.PeerName != "" {
		if err := c.checkLinkName(op+" peer", l.PeerName); err != nil {
			return err
		}
	}
	if !c.facts.HasLinkKind(l.Kind) {
		return c.notSupported(op + " of kind " + l.Kind)
	}
	var flags, change uint32
	if l.Flags&compat.IffUp != 0 {
		flags, change = c.facts.IfFlagsToRaw(compat.IffUp), c.facts.IfFlagsToRaw(compat.IffUp)
	}
	var ae netlink.AttributeEncoder
	ae.Reset(ifinfomsg(c.facts, 0, flags, change))
	linkAttrs(&ae, l)
	li := ae.BeginNested(compat.IflaLinkinfo)
	ae.String(compat.IflaInfoKind, l.Kind)
	if l.Kind == "veth" && l.PeerName != "" {
		d := ae.BeginNested(compat.IflaInfoData)
		p := ae.BeginNested(compat.VethInfoPeer)
		ae.Reset(append(mustBytes(&ae), make([]byte, compat.SizeofIfInfomsg)...))
		ae.String(compat.IflaIfname, l.PeerName)
		ae.EndNested(p)
		ae.EndNested(d)
	}
	ae.EndNested(li)
	b, err := ae.Bytes()
	if err != nil {
		return fmt.Errorf("rtnl: %s: %w", op, err)
	}
	return c.do(ctx, op, compat.RtmNewLink, netlink.Create|netlink.Excl, b)
}

// mustBytes returns the encoder's bytes so far (an error stays recorded in
// the encoder and surfaces at its final Bytes).
func mustBytes(ae *netlink.AttributeEncoder) []byte {
	b, _ := ae.Bytes()
	return b
}

func linkAttrs(ae *netlink.AttributeEncoder, l Link) {
	if l.Name != "" {
		ae.String(compat.IflaIfname, l.Name)
	}
	if l.MTU != 0 {
		ae.Uint32(compat.IflaMTU, l.MTU)
	}
	if len(l.HardwareAddr) != 0 {
		ae.Raw(compat.IflaAddress, l.HardwareAddr)
	}
	if l.MasterIndex != 0 {
		ae.Uint32(compat.IflaMaster, uint32(l.MasterIndex))
	}
}

// DeleteLink deletes the interface with the given index (FreeBSD: cloned
// interfaces only).
func (c *Conn) DeleteLink(ctx context.Context, index int) error {
	return c.do(ctx, fmt.Sprintf("delete link %d", index), compat.RtmDelLink, 0, ifinfomsg(c.facts, index, 0, 0))
}

// changeLink modifies an existing link with RTM_NEWLINK without
// NLM_F_CREATE, which both Linux and FreeBSD (which lacks RTM_SETLINK)
// accept.
func (c *Conn) changeLink(ctx context.Context, op string, index int, flags, change uint32, attrs func(*netlink.AttributeEncoder)) error {
	var ae netlink.AttributeEncoder
	ae.Reset(ifinfomsg(c.facts, index, flags, change))
	if attrs != nil {
		attrs(&ae)
	}
	b, err := ae.Bytes()
	if err != nil {
		return fmt.Errorf("rtnl: %s: %w", op, err)
	}
	return c.do(ctx, op, compat.RtmNewLink, 0, b)
}

// ReplaceLink changes the existing link l.Index to match l: up or down as
// l.Flags has IffUp, and the MTU, hardware address and alias (IFLA_IFALIAS,
// FreeBSD: the description) that l sets (zero values are left alone). The
// name and the master have their own calls (SetLinkName, SetLinkMaster).
func (c *Conn) ReplaceLink(ctx context.Context, l Link) error {
	up := c.facts.IfFlagsToRaw(compat.IffUp)
	var flags uint32
	if l.Flags&compat.IffUp != 0 {
		flags = up
	}
	return c.changeLink(ctx, fmt.Sprintf("replace link %d", l.Index), l.Index, flags, up, func(ae *netlink.AttributeEncoder) {
		if l.MTU != 0 {
			ae.Uint32(compat.IflaMTU, l.MTU)
		}
		if len(l.HardwareAddr) != 0 {
			ae.Raw(compat.IflaAddress, l.HardwareAddr)
		}
		if l.Alias != "" {
			ae.String(compat.IflaIfalias, l.Alias)
		}
	})
}

// SetLinkUp brings the interface up (IFF_UP).
func (c *Conn) SetLinkUp(ctx context.Context, index int) error {
	up := c.facts.IfFlagsToRaw(compat.IffUp)
	return c.changeLink(ctx, fmt.Sprintf("set link %d up", index), index, up, up, nil)
}

// SetLinkDown brings the interface down.
func (c *Conn) SetLinkDown(ctx context.Context, index int) error {
	up := c.facts.IfFlagsToRaw(compat.IffUp)
	return c.changeLink(ctx, fmt.Sprintf("set link %d down", index), index, 0, up, nil)
}

// SetLinkMTU sets the interface's MTU.
func (c *Conn) SetLinkMTU(ctx context.Context, index int, mtu uint32) error {
	return c.changeLink(ctx, fmt.Sprintf("set link %d mtu %d", index, mtu), index, 0, 0, func(ae *netlink.AttributeEncoder) {
		ae.Uint32(compat.IflaMTU, mtu)
	})
}

// SetLinkName renames the interface. Older Linux kernels refuse to
// rename a link that is up (EBUSY); newer ones allow it. FreeBSD's netlink
// cannot rename: the error wraps compat.ErrNotSupported.
func (c *Conn) SetLinkName(ctx context.Context, index int, name string) error {
	op := fmt.Sprintf("set link %d name %s", index, name)
	if c.facts.OS != compat.Linux {
		return c.notSupported(op)
	}
	if err := c.checkLinkName(op, name); err != nil {
		return err
	}
	return c.changeLink(ctx, op, index, 0, 0, func(ae *netlink.AttributeEncoder) {
		ae.String(compat.IflaIfname, name)
	})
}

// SetLinkMaster enslaves the interface to master (a bridge or bond), or
// frees it when master is 0. Linux only; elsewhere the error wraps
// compat.ErrNotSupported.
func (c *Conn) SetLinkMaster(ctx context.Context, index, master int) error {
	op := fmt.Sprintf("set link %d master %d", index, master)
	if c.facts.OS != compat.Linux {
		return c.notSupported(op)
	}
	return c.changeLink(ctx, op, index, 0, 0, func(ae *netlink.AttributeEncoder) {
		ae.Uint32(compat.IflaMaster, uint32(master))
	})
}

// ErrNotFound is returned by lookups that found nothing.
var ErrNotFound = errors.New("rtnl: not found")

// ErrInvalidName is returned, before anything is sent, for an interface
// name the kernel would refuse: longer than MaxLinkName bytes, or (Linux)
// empty, "." or "..", or holding '/', ':' or white space.
var ErrInvalidName = errors.New("rtnl: invalid interface name")

// MaxLinkName is the longest interface name, in bytes: IFNAMSIZ (16 on
// Linux and FreeBSD) less its terminating NUL.
const MaxLinkName = 15

// checkLinkName returns an error wrapping ErrInvalidName when the kernel
// would refuse name.
func (c *Conn) checkLinkName(op, name string) error {
	why := ""
	switch {
	case len(name) > MaxLinkName:
		why = fmt.Sprintf("%d bytes, more than the %d an interface name may have", len(name), MaxLinkName)
	case c.facts.OS == compat.Linux && (name == "" || name == "." || name == ".."):
		why = "not a name Linux allows"
	case c.facts.OS == compat.Linux && strings.ContainsAny(name, "/: \t\n\v\f\r"):
		why = "Linux allows no '/', ':' or white space in interface names"
	default:
		return nil
	}
	return fmt.Errorf("rtnl: %s: %q: %s: %w", op, name, why, ErrInvalidName)
}

// lookupError is a lookup's error for an object the kernel says does not
// exist: it wraps both the kernel's error and ErrNotFound.
type lookupError struct{ err error }

func (e *lookupError) Error() string   { return e.err.Error() }
func (e *lookupError) Unwrap() []error { return []error{e.err, ErrNotFound} }

// lookupErr makes a link lookup's ENODEV wrap ErrNotFound as well.
func lookupErr(err error) error {
	if err != nil && errors.Is(err, syscall.ENODEV) {
		return &lookupError{err}
	}
	return err
}
