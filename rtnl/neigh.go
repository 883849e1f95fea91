package rtnl

import (
	"context"
	"fmt"
	"iter"
	"net"
	"net/netip"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/compat"
)

// NeighState is a neighbour entry's state (ndm_state, NUD_* bits).
type NeighState uint16

var neighStateNames = [...]struct {
	s    NeighState
	name string
}{
	{compat.NudIncomplete, "INCOMPLETE"}, {compat.NudReachable, "REACHABLE"},
	{compat.NudStale, "STALE"}, {compat.NudDelay, "DELAY"}, {compat.NudProbe, "PROBE"},
	{compat.NudFailed, "FAILED"}, {compat.NudNoARP, "NOARP"}, {compat.NudPermanent, "PERMANENT"},
}

// Names returns the state's bits in iproute2's spelling ("REACHABLE", ...),
// or "NONE".
func (s NeighState) Names() []string {
	var out []string
	for _, n := range neighStateNames {
		if s&n.s != 0 {
			out = append(out, n.name)
		}
	}
	if len(out) == 0 {
		out = append(out, "NONE")
	}
	return out
}

// Neighbor is an ARP or NDP cache entry (RTM_NEWNEIGH).
type Neighbor struct {
	Family Family
	// Index is the interface (ndm_ifindex).
	Index int
	// IP is NDA_DST; HardwareAddr is NDA_LLADDR (nil while unresolved).
	IP           netip.Addr
	HardwareAddr net.HardwareAddr
	// State is ndm_state; on AddNeighbor 0 means NUD_PERMANENT (NUD_NONE
	// for a managed entry, which cannot be permanent).
	State NeighState
	// Flags is ndm_flags (NTF_*) with NDA_FLAGS_EXT's bits above them
	// (shifted by compat.NtfExtShift, as Linux keeps them: compat.NtfManaged).
	Flags uint32
	// Type is ndm_type.
	Type uint8
	// Probes is NDA_PROBES.
	Probes uint32
	// Confirmed, Used and Updated are from NDA_CACHEINFO (clock ticks on
	// Linux, seconds on FreeBSD).
	Confirmed, Used, Updated uint32
	// Extra holds, in wire form, every attribute not decoded above.
	Extra []byte
}

// DecodeNeighbor decodes the payload of an RTM_NEWNEIGH or RTM_DELNEIGH
// message (ndmsg and attributes) of the OS f.
func DecodeNeighbor(f compat.Facts, data []byte) (Neighbor, error) {
	var n Neighbor
	err := decodeNeighbor(f, data, &n)
	if err == errSkip {
		err = fmt.Errorf("neighbour of family %d", data[0])
	}
	return n, err
}

func decodeNeighbor(f compat.Facts, data []byte, n *Neighbor) error {
	if len(data) < compat.SizeofNdMsg {
		return fmt.Errorf("ndmsg: %d bytes, want %d", len(data), compat.SizeofNdMsg)
	}
	fam, ok := familyOf(f, data[0])
	if !ok {
		return errSkip
	}
	n.Family = fam
	n.Index = int(int32(ne.Uint32(data[4:8])))
	n.State = NeighState(ne.Uint16(data[8:10]))
	n.Flags = uint32(data[10])
	n.Type = data[11]
	var (
		ad      netlink.AttributeDecoder
		ext     []byte
		lladdr  []byte
		extNeed int
	)
	ad.Reset(data[compat.SizeofNdMsg:])
	for ad.Next() {
		switch ad.Type() {
		case compat.NdaDst:
			n.IP = ad.Addr()
		case compat.NdaLladdr:
			lladdr = ad.Bytes()
		case compat.NdaProbes:
			n.Probes = ad.Uint32()
		case compat.NdaIfindex: // FreeBSD emits it besides ndm_ifindex
			if i := int(int32(ad.Uint32())); i != 0 {
				n.Index = i
			}
		case compat.NdaFlagsExt:
			n.Flags |= ad.Uint32() << compat.NtfExtShift
		case compat.NdaCacheinfo:
			if b := ad.Bytes(); len(b) >= 12 {
				n.Confirmed, n.Used, n.Updated = ne.Uint32(b[0:4]), ne.Uint32(b[4:8]), ne.Uint32(b[8:12])
			}
		default:
			extNeed += 4 + netlink.Align(ad.Len())
		}
	}
	if err := ad.Err(); err != nil {
		return err
	}
	if len(lladdr)+extNeed > 0 {
		buf := make([]byte, extNeed, extNeed+len(lladdr))
		ext = buf[:0:extNeed]
		if lladdr != nil {
			n.HardwareAddr = net.HardwareAddr(append(buf[extNeed:extNeed], lladdr...))
		}
		if extNeed > 0 {
			ad.Reset(data[compat.SizeofNdMsg:])
			for ad.Next() {
				switch ad.Type() {
				case compat.NdaDst, compat.NdaLladdr, compat.NdaProbes, compat.NdaIfindex, compat.NdaFlagsExt, compat.NdaCacheinfo:
				default:
					ext = extra(ext, &ad)
				}
			}
			n.Extra = ext[:len(ext):len(ext)]
		}
	}
	return nil
}

func ndmsg(f compat.Facts, fam Family, index int, state NeighState, flags uint8) []byte {
	b := make([]byte, compat.SizeofNdMsg, 64)
	b[0] = rawFamily(f, fam)
	ne.PutUint32(b[4:8], uint32(int32(index)))
	ne.PutUint16(b[8:10], uint16(state))
	b[10] = flags
	return b
}

// Neighbors lists the ARP and NDP caches, streaming them from one dump,
// narrowed by the Filter's Family and LinkIndex.
func (c *Conn) Neighbors(ctx context.Context, flt Filter) iter.Seq2[Neighbor, error] {
	var keep func(*Neighbor) bool
	if flt.Family != Unspec || flt.LinkIndex != 0 {
		keep = func(n *Neighbor) bool {
			return (flt.Family == Unspec || n.Family == flt.Family) && (flt.LinkIndex == 0 || n.Index == flt.LinkIndex)
		}
	}
	return list(ctx, c, "list neighbours", compat.RtmGetNeigh, ndmsg(c.facts, flt.Family, 0, 0, 0), unpooled(decodeNeighbor), keep)
}

// ProxyNeighbors lists the proxy entries (ip neigh show proxy): the
// addresses the host answers ARP or NDP requests for on others' behalf,
// which Neighbors does not list. On Linux they are the pneigh tables,
// dumped when the request's ndm_flags is NTF_PROXY. Each has NTF_PROXY in
// Flags and State 0 (NUD_NONE); Index is 0 for an entry on no particular
// interface. The Filter's Family is asked of the kernel and matched here,
// as is its LinkIndex.
func (c *Conn) ProxyNeighbors(ctx context.Context, flt Filter) iter.Seq2[Neighbor, error] {
	keep := func(n *Neighbor) bool {
		// The flag check keeps a kernel that ignores ndm_flags from
		// passing off its cache as proxy entries.
		return n.Flags&compat.NtfProxy != 0 && (flt.Family == Unspec || n.Family == flt.Family) &&
			(flt.LinkIndex == 0 || n.Index == flt.LinkIndex)
	}
	return list(ctx, c, "list proxy neighbours", compat.RtmGetNeigh, ndmsg(c.facts, flt.Family, 0, 0, compat.NtfProxy), unpooled(decodeNeighbor), keep)
}

// Neighbor returns the entry for ip on interface index. It reads a dump of
// the family's cache (portable: Linux's single-entry get needs strict
// checking, FreeBSD has none); the error wraps ErrNotFound when there is
// no such entry.
func (c *Conn) Neighbor(ctx context.Context, index int, ip netip.Addr) (Neighbor, error) {
	fam := IPv4
	if ip.Is6() && !ip.Is4In6() {
		fam = IPv6
	}
	ip = ip.Unmap()
	var (
		found Neighbor
		ok    bool
	)
	for n, err := range c.Neighbors(ctx, Filter{Family: fam, LinkIndex: index}) {
		if err != nil {
			return Neighbor{}, err
		}
		if !ok && n.IP == ip {
			found, ok = n, true
		}
	}
	if !ok {
		return Neighbor{}, fmt.Errorf("rtnl: neighbour %v on link %d: %w", ip, index, ErrNotFound)
	}
	return found, nil
}

// AddNeighbor adds a static entry (NLM_F_CREATE|NLM_F_EXCL).
func (c *Conn) AddNeighbor(ctx context.Context, n Neighbor) error {
	return c.neighOp(ctx, "add neighbour", compat.RtmNewNeigh, netlink.Create|netlink.Excl, n)
}

// ReplaceNeighbor adds or replaces an entry (NLM_F_CREATE|NLM_F_REPLACE).
func (c *Conn) ReplaceNeighbor(ctx context.Context, n Neighbor) error {
	return c.neighOp(ctx, "replace neighbour", compat.RtmNewNeigh, netlink.Create|netlink.Replace, n)
}

// DeleteNeighbor deletes the entry for n.IP on n.Index.
func (c *Conn) DeleteNeighbor(ctx context.Context, n Neighbor) error {
	return c.neighOp(ctx, "delete neighbour", compat.RtmDelNeigh, 0, n)
}

func (c *Conn) neighOp(ctx context.Context, op string, typ uint16, flags netlink.HeaderFlags, n Neighbor) error {
	if !n.IP.IsValid() {
		return fmt.Errorf("rtnl: %s: no address", op)
	}
	op += " " + n.IP.String()
	if n.Family == Unspec {
		n.Family = IPv4
		if n.IP.Is6() && !n.IP.Is4In6() {
			n.Family = IPv6
		}
	}
	ext := n.Flags >> compat.NtfExtShift
	if ext != 0 && c.facts.OS != compat.Linux {
		return c.notSupported(op + " with extended flags")
	}
	if typ == compat.RtmNewNeigh && n.State == 0 && n.Flags&compat.NtfManaged == 0 {
		n.State = compat.NudPermanent // a managed entry cannot be permanent
	}
	var ae netlink.AttributeEncoder
	ae.Reset(ndmsg(c.facts, n.Family, n.Index, n.State, uint8(n.Flags)))
	ae.Addr(compat.NdaDst, n.IP.Unmap())
	if len(n.HardwareAddr) != 0 {
		ae.Raw(compat.NdaLladdr, n.HardwareAddr)
	}
	if ext != 0 {
		ae.Uint32(compat.NdaFlagsExt, ext)
	}
	if c.facts.OS == compat.FreeBSD {
		// FreeBSD's neigh.c reads the interface from NDA_IFINDEX.
		ae.Uint32(compat.NdaIfindex, uint32(n.Index))
	}
	b, err := ae.Bytes()
	if err != nil {
		return fmt.Errorf("rtnl: %s: %w", op, err)
	}
	return c.do(ctx, op, typ, flags, b)
}
