package rtnl

import (
	"context"
	"fmt"
	"iter"
	"net/netip"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/compat"
)

// Forever is the lifetime of an address that does not expire.
const Forever = 0xFFFFFFFF

// Address is an interface address (RTM_NEWADDR).
type Address struct {
	Family Family
	// Index is the interface index (ifa_index).
	Index int
	// Prefix is the local address with the prefix length (IFA_LOCAL, or
	// IFA_ADDRESS when there is no IFA_LOCAL).
	Prefix netip.Prefix
	// Peer is the other end of a point-to-point link (IFA_ADDRESS when it
	// differs from IFA_LOCAL); invalid otherwise.
	Peer netip.Addr
	// Broadcast is IFA_BROADCAST.
	Broadcast netip.Addr
	// Label is IFA_LABEL (IPv4; "eth0:1").
	Label string
	// Scope is ifa_scope (RT_SCOPE_*).
	Scope uint8
	// Flags are IFA_F_* (IFA_FLAGS when present, else ifa_flags).
	Flags uint32
	// PreferredLifetime and ValidLifetime are from IFA_CACHEINFO, in
	// seconds; Forever when the address does not expire. On AddAddress
	// both 0 means forever.
	PreferredLifetime, ValidLifetime uint32
	// Protocol is IFA_PROTO (Linux: who added the address).
	Protocol uint8
	// Metric is IFA_RT_PRIORITY, the metric of the prefix route.
	Metric uint32
	// Extra holds, in wire form, every attribute not decoded above (on
	// FreeBSD IFA_FREEBSD); iterate it with Attrs.
	Extra []byte
}

// DecodeAddress decodes the payload of an RTM_NEWADDR or RTM_DELADDR
// message (ifaddrmsg and attributes) of the OS f.
func DecodeAddress(f compat.Facts, data []byte) (Address, error) {
	var a Address
	err := decodeAddress(f, data, &a)
	if err == errSkip {
		err = fmt.Errorf("address of family %d", data[0])
	}
	return a, err
}

func decodeAddress(f compat.Facts, data []byte, a *Address) error {
	if len(data) < compat.SizeofIfAddrmsg {
		return fmt.Errorf("ifaddrmsg: %d bytes, want %d", len(data), compat.SizeofIfAddrmsg)
	}
	fam, ok := familyOf(f, data[0])
	if !ok {
		return errSkip
	}
	a.Family = fam
	plen := int(data[1])
	a.Flags = uint32(data[2])
	a.Scope = data[3]
	a.Index = int(int32(ne.Uint32(data[4:8])))
	var (
		ad           netlink.AttributeDecoder
		local, addr  netip.Addr
		hasExt       bool
		extNeed      int
		haveLifetime bool
	)
	ad.Reset(data[compat.SizeofIfAddrmsg:])
	for ad.Next() {
		switch ad.Type() {
		case compat.IfaAddress:
			addr = ad.Addr()
		case compat.IfaLocal:
			local = ad.Addr()
		case compat.IfaBroadcast:
			a.Broadcast = ad.Addr()
		case compat.IfaLabel:
			a.Label = ad.String()
		case compat.IfaFlags:
			a.Flags = ad.Uint32()
		case compat.IfaRtPriority:
			a.Metric = ad.Uint32()
		case compat.IfaCacheinfo:
			if b := ad.Bytes(); len(b) >= 8 {
				a.PreferredLifetime, a.ValidLifetime = ne.Uint32(b[0:4]), ne.Uint32(b[4:8])
				haveLifetime = true
			}
		case compat.IfaProto: // IfaFreeBSD on FreeBSD
			if f.OS == compat.Linux {
				a.Protocol = ad.Uint8()
				continue
			}
			hasExt, extNeed = true, extNeed+4+netlink.Align(ad.Len())
		default:
			hasExt, extNeed = true, extNeed+4+netlink.Align(ad.Len())
		}
	}
	if err := ad.Err(); err != nil {
		return err
	}
	if !haveLifetime {
		a.PreferredLifetime, a.ValidLifetime = Forever, Forever
	}
	switch {
	case local.IsValid():
		if addr.IsValid() && addr != local {
			a.Peer = addr
		}
	case addr.IsValid():
		local = addr
	default:
		return fmt.Errorf("address without IFA_LOCAL or IFA_ADDRESS")
	}
	if local.Is4() != (fam == IPv4) {
		return fmt.Errorf("address %v in family %v", local, fam)
	}
	p, err := local.Prefix(plen)
	if err != nil {
		return fmt.Errorf("address prefix length %d for %v", plen, local)
	}
	a.Prefix = netip.PrefixFrom(local, p.Bits()) // keep the host bits
	if hasExt {
		a.Extra = keepUnknown(data[compat.SizeofIfAddrmsg:], extNeed, func(t uint16) bool {
			switch t {
			case compat.IfaAddress, compat.IfaLocal, compat.IfaBroadcast, compat.IfaLabel,
				compat.IfaFlags, compat.IfaRtPriority, compat.IfaCacheinfo:
				return false
			case compat.IfaProto:
				return f.OS != compat.Linux
			}
			return true
		})
	}
	return nil
}

func ifaddrmsg(f compat.Facts, fam Family, plen int, flags, scope uint8, index int) []byte {
	b := make([]byte, compat.SizeofIfAddrmsg, 96)
	b[0] = rawFamily(f, fam)
	b[1] = uint8(plen)
	b[2] = flags
	b[3] = scope
	ne.PutUint32(b[4:8], uint32(int32(index)))
	return b
}

// Addresses lists interface addresses, streaming them from one dump,
// narrowed by the Filter's Family and LinkIndex.
func (c *Conn) Addresses(ctx context.Context, flt Filter) iter.Seq2[Address, error] {
	var keep func(*Address) bool
	if flt.Family != Unspec || flt.LinkIndex != 0 {
		keep = func(a *Address) bool {
			return (flt.Family == Unspec || a.Family == flt.Family) && (flt.LinkIndex == 0 || a.Index == flt.LinkIndex)
		}
	}
	return list(ctx, c, "list addresses", compat.RtmGetAddr, ifaddrmsg(c.facts, flt.Family, 0, 0, 0, 0), unpooled(decodeAddress), keep)
}

// Address returns the address ip of interface index, read from a dump of
// its family (neither Linux's IPv4 nor FreeBSD has a single-address get);
// the error wraps ErrNotFound when there is none.
func (c *Conn) Address(ctx context.Context, index int, ip netip.Addr) (Address, error) {
	fam := IPv4
	if ip.Is6() && !ip.Is4In6() {
		fam = IPv6
	}
	ip = ip.Unmap()
	var (
		found Address
		ok    bool
	)
	for a, err := range c.Addresses(ctx, Filter{Family: fam, LinkIndex: index}) {
		if err != nil {
			return Address{}, err
		}
		if !ok && a.Prefix.Addr() == ip {
			found, ok = a, true
		}
	}
	if !ok {
		return Address{}, fmt.Errorf("rtnl: address %v on link %d: %w", ip, index, ErrNotFound)
	}
	return found, nil
}

// AddAddress adds a to interface a.Index (NLM_F_CREATE|NLM_F_EXCL).
func (c *Conn) AddAddress(ctx context.Context, a Address) error {
	return c.addrOp(ctx, "add address", compat.RtmNewAddr, netlink.Create|netlink.Excl, a)
}

// ReplaceAddress adds a or updates the address's attributes
// (NLM_F_CREATE|NLM_F_REPLACE).
func (c *Conn) ReplaceAddress(ctx context.Context, a Address) error {
	return c.addrOp(ctx, "replace address", compat.RtmNewAddr, netlink.Create|netlink.Replace, a)
}

// DeleteAddress removes a.Prefix from interface a.Index.
func (c *Conn) DeleteAddress(ctx context.Context, a Address) error {
	return c.addrOp(ctx, "delete address", compat.RtmDelAddr, 0, a)
}

func (c *Conn) addrOp(ctx context.Context, op string, typ uint16, flags netlink.HeaderFlags, a Address) error {
	if !a.Prefix.IsValid() {
		return fmt.Errorf("rtnl: %s: no address", op)
	}
	op += " " + a.Prefix.String()
	if a.Family == Unspec {
		a.Family = IPv4
		if a.Prefix.Addr().Is6() {
			a.Family = IPv6
		}
	}
	var ae netlink.AttributeEncoder
	ae.Reset(ifaddrmsg(c.facts, a.Family, a.Prefix.Bits(), uint8(a.Flags), a.Scope, a.Index))
	local := a.Prefix.Addr()
	ae.Addr(compat.IfaLocal, local)
	if a.Peer.IsValid() {
		ae.Addr(compat.IfaAddress, a.Peer)
	} else {
		ae.Addr(compat.IfaAddress, local)
	}
	if a.Broadcast.IsValid() {
		ae.Addr(compat.IfaBroadcast, a.Broadcast)
	}
	if a.Label != "" {
		ae.String(compat.IfaLabel, a.Label)
	}
	if a.Flags > 0xff {
		ae.Uint32(compat.IfaFlags, a.Flags)
	}
	if a.Metric != 0 {
		ae.Uint32(compat.IfaRtPriority, a.Metric)
	}
	if typ == compat.RtmNewAddr && (a.PreferredLifetime != 0 || a.ValidLifetime != 0) &&
		(a.PreferredLifetime != Forever || a.ValidLifetime != Forever) {
		var ci [compat.SizeofIfaCacheinfo]byte
		ne.PutUint32(ci[0:4], a.PreferredLifetime)
		ne.PutUint32(ci[4:8], a.ValidLifetime)
		ae.Raw(compat.IfaCacheinfo, ci[:])
	}
	b, err := ae.Bytes()
	if err != nil {
		return fmt.Errorf("rtnl: %s: %w", op, err)
	}
	return c.do(ctx, op, typ, flags, b)
}
