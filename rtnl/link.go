package rtnl

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"net"

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
	// ParentIndex is IFLA_LINK: the lower link (a veth's peer, a VLAN's parent).
	ParentIndex int
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
	// Extra holds, in wire form, every attribute not decoded above
	// (statistics, IFLA_AF_SPEC, IFLA_LINKINFO's data, ...); iterate it with
	// Attrs.
	Extra []byte
}

// DecodeLink decodes the payload of an RTM_NEWLINK or RTM_DELLINK message
// (ifinfomsg and attributes) of the OS f. It copies what the Link keeps.
func DecodeLink(f compat.Facts, data []byte) (Link, error) {
	var l Link
	err := decodeLink(f, data, &l)
	return l, err
}

func decodeLink(f compat.Facts, data []byte, l *Link) error {
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

	// One allocation holds the hardware addresses and the kept attributes.
	var addrNeed, extNeed int
	var ad netlink.AttributeDecoder
	ad.Reset(rest)
	for ad.Next() {
		switch ad.Type() {
		case compat.IflaIfname, compat.IflaIfalias, compat.IflaQdisc,
			compat.IflaMTU, compat.IflaMinMTU, compat.IflaMaxMTU, compat.IflaMaster,
			compat.IflaLink, compat.IflaTxqlen, compat.IflaOperstate, compat.IflaGroup,
			compat.IflaPromiscuity:
		case compat.IflaAddress, compat.IflaBroadcast:
			addrNeed += ad.Len()
		default:
			extNeed += 4 + netlink.Align(ad.Len())
		}
	}
	if err := ad.Err(); err != nil {
		return err
	}
	var buf []byte
	if addrNeed+extNeed > 0 {
		buf = make([]byte, addrNeed+extNeed)
	}
	ext := buf[:0:extNeed]
	arena := buf[extNeed:extNeed]
	str := func(b []byte) string {
		if i := indexNUL(b); i >= 0 {
			b = b[:i]
		}
		if len(b) == 0 {
			return ""
		}
		return string(b)
	}
	bytes := func(b []byte) []byte {
		off := len(arena)
		arena = append(arena, b...)
		return arena[off:len(arena):len(arena)]
	}
	ad.Reset(rest)
	for ad.Next() {
		switch ad.Type() {
		case compat.IflaIfname:
			l.Name = str(ad.Bytes())
		case compat.IflaIfalias:
			l.Alias = str(ad.Bytes())
		case compat.IflaQdisc:
			l.Qdisc = str(ad.Bytes())
		case compat.IflaAddress:
			l.HardwareAddr = net.HardwareAddr(bytes(ad.Bytes()))
		case compat.IflaBroadcast:
			l.Broadcast = net.HardwareAddr(bytes(ad.Bytes()))
		case compat.IflaMTU:
			l.MTU = ad.Uint32()
		case compat.IflaMinMTU:
			l.MinMTU = ad.Uint32()
		case compat.IflaMaxMTU:
			l.MaxMTU = ad.Uint32()
		case compat.IflaMaster:
			l.MasterIndex = int(ad.Uint32())
		case compat.IflaLink:
			l.ParentIndex = int(ad.Uint32())
		case compat.IflaTxqlen:
			l.TxQueueLen = ad.Uint32()
		case compat.IflaOperstate:
			l.OperState = OperState(ad.Uint8())
		case compat.IflaGroup:
			l.Group = ad.Uint32()
		case compat.IflaPromiscuity:
			l.Promiscuity = ad.Uint32()
		case compat.IflaLinkinfo:
			// Kind and slave kind are decoded; the whole attribute is kept.
			nd := ad.NestedDecoder()
			for nd.Next() {
				switch nd.Type() {
				case compat.IflaInfoKind:
					l.Kind = str(nd.Bytes())
				case compat.IflaInfoSlaveKind:
					l.SlaveKind = str(nd.Bytes())
				}
			}
			if err := nd.Err(); err != nil {
				return fmt.Errorf("IFLA_LINKINFO: %w", err)
			}
			ext = extra(ext, &ad)
		default:
			ext = extra(ext, &ad)
		}
	}
	if err := ad.Err(); err != nil {
		return err
	}
	if len(ext) > 0 {
		l.Extra = ext
	}
	return nil
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
// LinkIndex narrows the listing to one link; Family and Table do not apply.
func (c *Conn) Links(ctx context.Context, flt Filter) iter.Seq2[Link, error] {
	var keep func(*Link) bool
	if flt.LinkIndex != 0 {
		keep = func(l *Link) bool { return l.Index == flt.LinkIndex }
	}
	return list(ctx, c, "list links", compat.RtmGetLink, ifinfomsg(c.facts, 0, 0, 0), decodeLink, keep)
}

// Link returns the interface with the given index.
func (c *Conn) Link(ctx context.Context, index int) (Link, error) {
	return get(ctx, c, "get link", compat.RtmGetLink, ifinfomsg(c.facts, index, 0, 0), DecodeLink)
}

// LinkByName returns the interface called name.
func (c *Conn) LinkByName(ctx context.Context, name string) (Link, error) {
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

// SetLinkName renames the interface (Linux: it must be down). FreeBSD's
// netlink cannot rename: the error wraps compat.ErrNotSupported.
func (c *Conn) SetLinkName(ctx context.Context, index int, name string) error {
	op := fmt.Sprintf("set link %d name %s", index, name)
	if c.facts.OS != compat.Linux {
		return c.notSupported(op)
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
