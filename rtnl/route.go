package rtnl

import (
	"context"
	"fmt"
	"iter"
	"net/netip"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/compat"
)

// Route is a routing table entry (RTM_NEWROUTE).
type Route struct {
	Family Family
	// Dst is the destination prefix (0.0.0.0/0 or ::/0 for a default route).
	Dst netip.Prefix
	// Src is the source prefix of a source-specific (IPv6) route; invalid
	// when the route has none.
	Src netip.Prefix
	// Gateway is RTA_GATEWAY; invalid for a directly connected route.
	Gateway netip.Addr
	// Via is RTA_VIA: a gateway of another family (IPv4 via IPv6).
	Via netip.Addr
	// OutIndex and InIndex are RTA_OIF and RTA_IIF.
	OutIndex, InIndex int
	// Table is the routing table (RTA_TABLE, else rtm_table) in the OS's
	// numbering: Linux main is 254, FreeBSD main (fib 0) is 0. On
	// AddRoute, ReplaceRoute and DeleteRoute, 0 means the main table on
	// both systems (Linux maps table 0 to main).
	Table uint32
	// Protocol, Scope and Type are rtm_protocol (RTPROT_*), rtm_scope
	// (RT_SCOPE_*) and rtm_type (RTN_*). On AddRoute a zero Protocol
	// means RTPROT_STATIC and a zero Type RTN_UNICAST.
	Protocol, Scope, Type uint8
	// TOS is rtm_tos.
	TOS uint8
	// Flags is rtm_flags (RTM_F_*, RTNH_F_*).
	Flags uint32
	// Priority is RTA_PRIORITY, the route's metric.
	Priority uint32
	// PrefSrc is RTA_PREFSRC, the preferred source address.
	PrefSrc netip.Addr
	// Pref is RTA_PREF, the IPv6 router preference.
	Pref uint8
	// Expires is the expiry: rta_cacheinfo.rta_expires in clock ticks
	// (Linux), or RTA_EXPIRES in seconds (FreeBSD). 0: none.
	Expires int32
	// Weight is FreeBSD's RTA_WEIGHT for a single-path route.
	Weight uint32
	// Multipath holds the next hops of an ECMP route (RTA_MULTIPATH).
	Multipath []NextHop
	// Metrics are RTA_METRICS (RTAX_* and value); CCAlgo is RTAX_CC_ALGO.
	Metrics []Metric
	CCAlgo  string
	// Extra holds, in wire form, every attribute not decoded above;
	// iterate it with Attrs.
	Extra []byte
}

// NextHop is one path of a multipath route (struct rtnexthop).
type NextHop struct {
	Gateway netip.Addr
	Via     netip.Addr
	// Index is the output interface.
	Index int
	// Weight is rtnh_hops+1, as ip route prints it.
	Weight int
	// Flags is rtnh_flags (RTNH_F_*).
	Flags uint8
	// Extra holds the hop's attributes not decoded above.
	Extra []byte
}

// Metric is one route metric (RTAX_* type and its value).
type Metric struct {
	Type  uint16
	Value uint32
}

// DecodeRoute decodes the payload of an RTM_NEWROUTE or RTM_DELROUTE
// message (rtmsg and attributes) of the OS f. Routes of families other
// than IPv4 and IPv6 give an error.
func DecodeRoute(f compat.Facts, data []byte) (Route, error) {
	var r Route
	err := decodeRoute(f, data, &r)
	if err == errSkip {
		err = fmt.Errorf("route of address family %d", data[0])
	}
	return r, err
}

func decodeRoute(f compat.Facts, data []byte, r *Route) error {
	if len(data) < compat.SizeofRtMsg {
		return fmt.Errorf("rtmsg: %d bytes, want %d", len(data), compat.SizeofRtMsg)
	}
	fam, ok := familyOf(f, data[0])
	if !ok {
		return errSkip
	}
	dstLen, srcLen := int(data[1]), int(data[2])
	r.Family = fam
	r.TOS = data[3]
	r.Table = uint32(data[4])
	r.Protocol, r.Scope, r.Type = data[5], data[6], data[7]
	r.Flags = ne.Uint32(data[8:12])
	var (
		ad             netlink.AttributeDecoder
		dst, src       netip.Addr
		extNeed        int
		hasExt, hasSrc bool
	)
	ad.Reset(data[compat.SizeofRtMsg:])
	for ad.Next() {
		switch ad.Type() {
		case compat.RtaDst:
			dst = ad.Addr()
		case compat.RtaSrc:
			src, hasSrc = ad.Addr(), true
		case compat.RtaGateway:
			r.Gateway = ad.Addr()
		case compat.RtaOif:
			r.OutIndex = int(ad.Uint32())
		case compat.RtaIif:
			r.InIndex = int(ad.Uint32())
		case compat.RtaPriority:
			r.Priority = ad.Uint32()
		case compat.RtaPrefsrc:
			r.PrefSrc = ad.Addr()
		case compat.RtaTable:
			r.Table = ad.Uint32()
		case compat.RtaPref:
			r.Pref = ad.Uint8()
		case compat.RtaVia:
			r.Via = decodeVia(f, &ad)
		case compat.RtaMetrics:
			if err := decodeMetrics(&ad, r); err != nil {
				return err
			}
		case compat.RtaMultipath:
			hops, err := decodeMultipath(f, ad.Bytes())
			if err != nil {
				return err
			}
			r.Multipath = hops
		case compat.RtaCacheinfo:
			if f.OS == compat.Linux && ad.Len() >= 12 {
				r.Expires = int32(ne.Uint32(ad.Bytes()[8:12]))
			} else {
				hasExt, extNeed = true, extNeed+4+netlink.Align(ad.Len())
			}
		case compat.RtaExpires:
			if f.OS == compat.FreeBSD {
				r.Expires = int32(ad.Uint32())
			} else {
				hasExt, extNeed = true, extNeed+4+netlink.Align(ad.Len())
			}
		case compat.RtaWeight:
			if f.OS == compat.FreeBSD {
				r.Weight = ad.Uint32()
			} else {
				hasExt, extNeed = true, extNeed+4+netlink.Align(ad.Len())
			}
		default:
			hasExt, extNeed = true, extNeed+4+netlink.Align(ad.Len())
		}
	}
	if err := ad.Err(); err != nil {
		return err
	}
	if !dst.IsValid() {
		dst = unspecified(fam)
	}
	if dst.Is4() != (fam == IPv4) || (src.IsValid() && src.Is4() != (fam == IPv4)) {
		return fmt.Errorf("route of family %v with an address of another family", fam)
	}
	p, err := dst.Prefix(dstLen)
	if err != nil || dst.BitLen() < dstLen {
		return fmt.Errorf("route prefix length %d for %v", dstLen, dst)
	}
	r.Dst = p
	if hasSrc || srcLen != 0 {
		if !src.IsValid() {
			src = unspecified(fam)
		}
		if r.Src, err = src.Prefix(srcLen); err != nil {
			return fmt.Errorf("route source prefix length %d for %v", srcLen, src)
		}
	}
	if hasExt {
		r.Extra = keepUnknown(data[compat.SizeofRtMsg:], extNeed, func(t uint16) bool {
			switch t {
			case compat.RtaDst, compat.RtaSrc, compat.RtaGateway, compat.RtaOif, compat.RtaIif,
				compat.RtaPriority, compat.RtaPrefsrc, compat.RtaTable, compat.RtaPref,
				compat.RtaVia, compat.RtaMetrics, compat.RtaMultipath:
				return false
			case compat.RtaCacheinfo:
				return f.OS != compat.Linux
			case compat.RtaExpires, compat.RtaWeight:
				return f.OS != compat.FreeBSD
			}
			return true
		})
	}
	return nil
}

// keepUnknown copies the attributes of b for which unknown reports true
// into one new buffer of the given size, in wire form.
func keepUnknown(b []byte, size int, unknown func(uint16) bool) []byte {
	out := make([]byte, 0, size)
	var ad netlink.AttributeDecoder
	ad.Reset(b)
	for ad.Next() {
		if unknown(ad.Type()) {
			out = extra(out, &ad)
		}
	}
	return out
}

func unspecified(f Family) netip.Addr {
	if f == IPv6 {
		return netip.IPv6Unspecified()
	}
	return netip.IPv4Unspecified()
}

// decodeVia reads struct rtvia: a family of f.RTAViaFamilyWidth bytes, then
// the address.
func decodeVia(f compat.Facts, ad *netlink.AttributeDecoder) netip.Addr {
	b := ad.Bytes()
	w := f.RTAViaFamilyWidth
	if w == 0 {
		w = 2
	}
	if len(b) < w {
		return netip.Addr{}
	}
	switch a := b[w:]; len(a) {
	case 4:
		return netip.AddrFrom4([4]byte(a))
	case 16:
		return netip.AddrFrom16([16]byte(a))
	}
	return netip.Addr{}
}

func decodeMetrics(ad *netlink.AttributeDecoder, r *Route) error {
	nd := ad.NestedDecoder()
	n := 0
	for nd.Next() {
		n++
	}
	if err := nd.Err(); err != nil {
		return fmt.Errorf("RTA_METRICS: %w", err)
	}
	r.Metrics = make([]Metric, 0, n)
	nd = ad.NestedDecoder()
	for nd.Next() {
		if nd.Type() == compat.RtaxCCAlgo {
			r.CCAlgo = nd.String()
			continue
		}
		r.Metrics = append(r.Metrics, Metric{Type: nd.Type(), Value: nd.Uint32()})
	}
	if err := nd.Err(); err != nil {
		return fmt.Errorf("RTA_METRICS: %w", err)
	}
	return nil
}

// decodeMultipath decodes the array of struct rtnexthop in RTA_MULTIPATH.
func decodeMultipath(f compat.Facts, b []byte) ([]NextHop, error) {
	n := 0
	for rest := b; len(rest) >= compat.SizeofRtNexthop; {
		l := int(ne.Uint16(rest))
		if l < compat.SizeofRtNexthop || l > len(rest) {
			return nil, fmt.Errorf("RTA_MULTIPATH: next hop length %d with %d bytes left", l, len(rest))
		}
		n++
		rest = rest[min(netlink.Align(l), len(rest)):]
	}
	hops := make([]NextHop, 0, n)
	for rest := b; len(rest) >= compat.SizeofRtNexthop; {
		l := int(ne.Uint16(rest))
		h := NextHop{
			Flags:  rest[2],
			Weight: int(rest[3]) + 1,
			Index:  int(int32(ne.Uint32(rest[4:8]))),
		}
		var ad netlink.AttributeDecoder
		ad.Reset(rest[compat.SizeofRtNexthop:l])
		for ad.Next() {
			switch ad.Type() {
			case compat.RtaGateway:
				h.Gateway = ad.Addr()
			case compat.RtaVia:
				h.Via = decodeVia(f, &ad)
			default:
				h.Extra = extra(h.Extra, &ad)
			}
		}
		if err := ad.Err(); err != nil {
			return nil, fmt.Errorf("RTA_MULTIPATH: %w", err)
		}
		hops = append(hops, h)
		rest = rest[min(netlink.Align(l), len(rest)):]
	}
	return hops, nil
}

func rtmsg(f compat.Facts, r *Route) []byte {
	b := make([]byte, compat.SizeofRtMsg, 128)
	b[0] = rawFamily(f, r.Family)
	if r.Dst.IsValid() {
		b[1] = uint8(r.Dst.Bits())
	}
	if r.Src.IsValid() {
		b[2] = uint8(r.Src.Bits())
	}
	b[3] = r.TOS
	if r.Table < 256 && !(f.OS == compat.FreeBSD && r.Table == 255) {
		b[4] = uint8(r.Table)
	}
	b[5], b[6], b[7] = r.Protocol, r.Scope, r.Type
	ne.PutUint32(b[8:12], r.Flags)
	return b
}

// Routes lists routes, streaming them from one dump: with the zero Filter
// every table of both families. The Filter's family is asked of the
// kernel; table and link are matched here.
func (c *Conn) Routes(ctx context.Context, flt Filter) iter.Seq2[Route, error] {
	req := rtmsg(c.facts, &Route{Family: flt.Family})
	var keep func(*Route) bool
	if flt.Family != Unspec || flt.HasTable || flt.LinkIndex != 0 {
		keep = func(r *Route) bool { return flt.matchRoute(r) }
	}
	return list(ctx, c, "list routes", compat.RtmGetRoute, req, unpooled(decodeRoute), keep)
}

func (flt *Filter) matchRoute(r *Route) bool {
	if flt.Family != Unspec && r.Family != flt.Family {
		return false
	}
	if flt.HasTable && r.Table != flt.Table {
		return false
	}
	if flt.LinkIndex != 0 && r.OutIndex != flt.LinkIndex {
		for _, h := range r.Multipath {
			if h.Index == flt.LinkIndex {
				return true
			}
		}
		return false
	}
	return true
}

// Route returns the route to exactly dst in table (0: the main table),
// read from a dump of dst's family; the error wraps ErrNotFound when there
// is none. With several routes to dst (other metrics or TOS) it returns the
// first the kernel lists. For the route the kernel would use to reach an
// address, see RouteGet.
func (c *Conn) Route(ctx context.Context, dst netip.Prefix, table uint32) (Route, error) {
	if table == 0 {
		table = c.MainTable()
	}
	fam := IPv4
	if dst.Addr().Is6() {
		fam = IPv6
	}
	dst = dst.Masked()
	var (
		found Route
		ok    bool
	)
	for r, err := range c.Routes(ctx, Filter{Family: fam, Table: table, HasTable: true}) {
		if err != nil {
			return Route{}, err
		}
		if !ok && r.Dst == dst {
			found, ok = r, true
		}
	}
	if !ok {
		return Route{}, fmt.Errorf("rtnl: route %v in table %d: %w", dst, table, ErrNotFound)
	}
	return found, nil
}

// RouteGet asks the kernel which route it would use to reach dst
// (RTM_GETROUTE lookup).
func (c *Conn) RouteGet(ctx context.Context, dst netip.Addr) (Route, error) {
	fam := IPv4
	if dst.Is6() && !dst.Is4In6() {
		fam = IPv6
	}
	dst = dst.Unmap()
	r := Route{Family: fam, Dst: netip.PrefixFrom(dst, dst.BitLen())}
	var ae netlink.AttributeEncoder
	ae.Reset(rtmsg(c.facts, &r))
	ae.Addr(compat.RtaDst, dst)
	b, err := ae.Bytes()
	if err != nil {
		return Route{}, err
	}
	return get(ctx, c, "get route "+dst.String(), compat.RtmGetRoute, b, DecodeRoute)
}

// AddRoute adds r (NLM_F_CREATE|NLM_F_EXCL): it fails if the route exists.
func (c *Conn) AddRoute(ctx context.Context, r Route) error {
	return c.routeOp(ctx, "add route", compat.RtmNewRoute, netlink.Create|netlink.Excl, r)
}

// ReplaceRoute adds r or replaces the route with its destination, table,
// TOS and priority (NLM_F_CREATE|NLM_F_REPLACE).
func (c *Conn) ReplaceRoute(ctx context.Context, r Route) error {
	return c.routeOp(ctx, "replace route", compat.RtmNewRoute, netlink.Create|netlink.Replace, r)
}

// DeleteRoute deletes the route matching r's destination, table and the
// other fields that are set.
func (c *Conn) DeleteRoute(ctx context.Context, r Route) error {
	return c.routeOp(ctx, "delete route", compat.RtmDelRoute, 0, r)
}

func (c *Conn) routeOp(ctx context.Context, op string, typ uint16, flags netlink.HeaderFlags, r Route) error {
	if !r.Dst.IsValid() {
		return fmt.Errorf("rtnl: %s: no destination", op)
	}
	op += " " + r.Dst.String()
	r.Dst = r.Dst.Masked()
	if r.Family == Unspec {
		r.Family = IPv4
		if r.Dst.Addr().Is6() {
			r.Family = IPv6
		}
	}
	if typ == compat.RtmNewRoute {
		if r.Protocol == 0 {
			r.Protocol = compat.RtprotStatic
		}
		if r.Type == 0 {
			r.Type = compat.RtnUnicast
		}
		if r.Scope == 0 && r.Type == compat.RtnUnicast && !r.Gateway.IsValid() && !r.Via.IsValid() && len(r.Multipath) == 0 {
			r.Scope = compat.RtScopeLink
		}
	} else if r.Scope == 0 {
		r.Scope = compat.RtScopeNowhere // any scope, as ip route del does
	}
	var ae netlink.AttributeEncoder
	ae.Reset(rtmsg(c.facts, &r))
	ae.Uint32(compat.RtaTable, r.Table)
	if r.Dst.Bits() > 0 {
		ae.Addr(compat.RtaDst, r.Dst.Addr())
	}
	if r.Src.IsValid() && r.Src.Bits() > 0 {
		ae.Addr(compat.RtaSrc, r.Src.Addr())
	}
	if r.Gateway.IsValid() {
		ae.Addr(compat.RtaGateway, r.Gateway)
	}
	if r.Via.IsValid() {
		ae.Raw(compat.RtaVia, encodeVia(c.facts, r.Via))
	}
	if r.OutIndex != 0 {
		ae.Uint32(compat.RtaOif, uint32(r.OutIndex))
	}
	if r.Priority != 0 {
		ae.Uint32(compat.RtaPriority, r.Priority)
	}
	if r.PrefSrc.IsValid() {
		ae.Addr(compat.RtaPrefsrc, r.PrefSrc)
	}
	if len(r.Metrics) > 0 || r.CCAlgo != "" {
		m := ae.BeginNested(compat.RtaMetrics)
		for _, x := range r.Metrics {
			ae.Uint32(x.Type, x.Value)
		}
		if r.CCAlgo != "" {
			ae.String(compat.RtaxCCAlgo, r.CCAlgo)
		}
		ae.EndNested(m)
	}
	if len(r.Multipath) > 0 {
		ae.Raw(compat.RtaMultipath, encodeMultipath(c.facts, r.Multipath))
	}
	b, err := ae.Bytes()
	if err != nil {
		return fmt.Errorf("rtnl: %s: %w", op, err)
	}
	return c.do(ctx, op, typ, flags, b)
}

func encodeVia(f compat.Facts, a netip.Addr) []byte {
	fam := rawFamily(f, IPv4)
	if a.Is6() && !a.Is4In6() {
		fam = rawFamily(f, IPv6)
	}
	a = a.Unmap()
	w := f.RTAViaFamilyWidth
	if w == 0 {
		w = 2
	}
	b := make([]byte, w, w+16)
	b[0] = fam // little-endian u16 or u8: the low byte first either way
	if w == 2 && ne.Uint16([]byte{1, 0}) != 1 {
		b[0], b[1] = 0, fam // big-endian host
	}
	return append(b, a.AsSlice()...)
}

func encodeMultipath(f compat.Facts, hops []NextHop) []byte {
	var out []byte
	for _, h := range hops {
		off := len(out)
		out = append(out, make([]byte, compat.SizeofRtNexthop)...)
		hop := out[off:]
		hop[2] = h.Flags
		if h.Weight > 1 {
			hop[3] = uint8(h.Weight - 1)
		}
		ne.PutUint32(hop[4:8], uint32(int32(h.Index)))
		var ae netlink.AttributeEncoder
		ae.Reset(out)
		if h.Gateway.IsValid() {
			ae.Addr(compat.RtaGateway, h.Gateway)
		}
		if h.Via.IsValid() {
			ae.Raw(compat.RtaVia, encodeVia(f, h.Via))
		}
		out, _ = ae.Bytes()
		ne.PutUint16(out[off:], uint16(len(out)-off))
	}
	return out
}
