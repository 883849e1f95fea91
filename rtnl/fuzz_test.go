package rtnl_test

import (
	"testing"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/compat"
	"github.com/nlbus/netlink/rtnl"
)

// The fuzz targets decode arbitrary payloads in either OS's dialect. The
// seed corpus (testdata/fuzz) holds every message captured from a Linux
// kernel and the FreeBSD messages built from its headers. Properties: no
// panic; a decoded value's Extra is well-formed attributes; prefixes fit
// their address.

func factsOf(bsd bool) compat.Facts {
	if bsd {
		return freebsd
	}
	return linux
}

func checkExtra(t *testing.T, b []byte) {
	ad := netlink.NewAttributeDecoder(b)
	for ad.Next() {
	}
	if err := ad.Err(); err != nil {
		t.Fatalf("Extra does not parse: %v", err)
	}
}

func FuzzDecodeLink(f *testing.F) {
	f.Add(true, freebsdLink())
	f.Fuzz(func(t *testing.T, bsd bool, data []byte) {
		l, err := rtnl.DecodeLink(factsOf(bsd), data)
		if err != nil {
			return
		}
		checkExtra(t, l.Extra)
		if l.Flags&^(compat.IffUp|compat.IffBroadcast|compat.IffDebug|compat.IffLoopback|compat.IffPointToPoint|
			compat.IffRunning|compat.IffNoARP|compat.IffPromisc|compat.IffAllMulti|compat.IffMaster|compat.IffSlave|
			compat.IffMulticast|compat.IffLowerUp|compat.IffDormant) != 0 {
			t.Fatalf("unknown portable flag bits %#x", l.Flags)
		}
	})
}

func FuzzDecodeAddress(f *testing.F) {
	f.Fuzz(func(t *testing.T, bsd bool, data []byte) {
		a, err := rtnl.DecodeAddress(factsOf(bsd), data)
		if err != nil {
			return
		}
		checkExtra(t, a.Extra)
		if !a.Prefix.IsValid() || a.Prefix.Bits() > a.Prefix.Addr().BitLen() {
			t.Fatalf("bad prefix %v", a.Prefix)
		}
	})
}

func FuzzDecodeRoute(f *testing.F) {
	f.Add(true, freebsdRoute6())
	f.Fuzz(func(t *testing.T, bsd bool, data []byte) {
		r, err := rtnl.DecodeRoute(factsOf(bsd), data)
		if err != nil {
			return
		}
		checkExtra(t, r.Extra)
		if !r.Dst.IsValid() || (r.Family == rtnl.IPv4) != r.Dst.Addr().Is4() {
			t.Fatalf("destination %v does not match family %v", r.Dst, r.Family)
		}
		for _, h := range r.Multipath {
			checkExtra(t, h.Extra)
		}
	})
}

func FuzzDecodeNeighbor(f *testing.F) {
	f.Fuzz(func(t *testing.T, bsd bool, data []byte) {
		n, err := rtnl.DecodeNeighbor(factsOf(bsd), data)
		if err != nil {
			return
		}
		checkExtra(t, n.Extra)
	})
}

func FuzzDecodeEvent(f *testing.F) {
	f.Fuzz(func(t *testing.T, bsd bool, typ uint16, data []byte) {
		ev, ok, err := rtnl.DecodeEvent(factsOf(bsd), netlink.Message{Header: netlink.Header{Type: netlink.HeaderType(typ)}, Data: data})
		if err != nil || !ok {
			return
		}
		set := 0
		for _, p := range []bool{ev.Link != nil, ev.Address != nil, ev.Route != nil, ev.Neighbor != nil} {
			if p {
				set++
			}
		}
		if set != 1 {
			t.Fatalf("event %v with %d values", ev.Type, set)
		}
	})
}
