package rtnl_test

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/compat"
	"github.com/nlbus/netlink/nltest"
	"github.com/nlbus/netlink/rtnl"
)

var (
	linux   = compat.FactsFor(compat.Linux)
	freebsd = compat.FactsFor(compat.FreeBSD)
)

// captured returns the messages of testdata/linux/name.bin, a dump
// captured from a Linux kernel by TestCaptureKernelMessages.
func captured(t testing.TB, name string) []netlink.Message {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "linux", name+".bin"))
	require.NoError(t, err)
	msgs, err := netlink.ParseMessages(b)
	require.NoError(t, err)
	require.NotEmpty(t, msgs)
	return msgs
}

func TestDecodeCapturedLinuxLinks(t *testing.T) {
	links := map[string]rtnl.Link{}
	for _, m := range captured(t, "links") {
		require.Equal(t, netlink.HeaderType(compat.RtmNewLink), m.Header.Type)
		l, err := rtnl.DecodeLink(linux, m.Data)
		require.NoError(t, err)
		links[l.Name] = l
	}
	require.Contains(t, links, "lo")
	lo := links["lo"]
	assert.Equal(t, compat.LinkLoopback, lo.Type)
	assert.NotZero(t, lo.Flags&compat.IffLoopback)
	assert.Equal(t, 1, lo.Index)
	d0 := links["d0"]
	assert.Equal(t, uint32(1400), d0.MTU)
	assert.NotZero(t, d0.Flags&compat.IffUp)
	assert.Len(t, d0.HardwareAddr, 6)
	assert.Equal(t, "veth", links["va"].Kind)
	assert.Equal(t, "bridge", links["br0"].Kind)
	assert.Equal(t, "bridge", links["va"].SlaveKind)
	assert.Equal(t, links["br0"].Index, links["va"].MasterIndex)
	assert.Equal(t, links["vb"].Index, links["va"].ParentIndex)
	// IFLA_STATS64 is decoded; unknown attributes are kept: IFLA_STATS among them.
	require.True(t, d0.HasStats)
	var types []uint16
	for typ := range rtnl.Attrs(d0.Extra) {
		types = append(types, typ)
	}
	assert.Contains(t, types, uint16(compat.IflaStats))
	assert.NotContains(t, types, uint16(compat.IflaStats64))
	assert.Contains(t, types, uint16(compat.IflaLinkinfo))
}

func TestDecodeCapturedLinuxAddresses(t *testing.T) {
	var got []rtnl.Address
	for _, m := range captured(t, "addrs") {
		a, err := rtnl.DecodeAddress(linux, m.Data)
		require.NoError(t, err)
		got = append(got, a)
	}
	find := func(p string) rtnl.Address {
		for _, a := range got {
			if a.Prefix.String() == p {
				return a
			}
		}
		t.Fatalf("no address %s in %v", p, got)
		return rtnl.Address{}
	}
	a := find("10.0.0.1/24")
	assert.Equal(t, "d0:x", a.Label)
	assert.Equal(t, "10.0.0.255", a.Broadcast.String())
	assert.Equal(t, uint32(rtnl.Forever), a.ValidLifetime)
	p := find("10.9.0.1/32")
	assert.Equal(t, "10.9.0.2", p.Peer.String())
	v6 := find("2001:db8::1/64")
	assert.Equal(t, rtnl.IPv6, v6.Family)
	assert.LessOrEqual(t, v6.ValidLifetime, uint32(600))
	assert.NotZero(t, v6.Flags&compat.IfaFNodad)
}

func TestDecodeCapturedLinuxRoutes(t *testing.T) {
	byDst := map[string]rtnl.Route{}
	for _, m := range captured(t, "routes") {
		r, err := rtnl.DecodeRoute(linux, m.Data)
		if err != nil {
			continue // multicast-routing families
		}
		byDst[r.Dst.String()] = r
	}
	mp := byDst["192.168.0.0/16"]
	require.Len(t, mp.Multipath, 2)
	assert.Equal(t, "10.0.0.2", mp.Multipath[0].Gateway.String())
	assert.Equal(t, 2, mp.Multipath[0].Weight)
	assert.Equal(t, 1, mp.Multipath[1].Weight)
	assert.Equal(t, uint32(254), mp.Table)

	m := byDst["172.16.0.0/12"]
	assert.Equal(t, uint32(100), m.Table)
	assert.Contains(t, m.Metrics, rtnl.Metric{Type: compat.RtaxMTU, Value: 1300})
	assert.Contains(t, m.Metrics, rtnl.Metric{Type: compat.RtaxAdvmss, Value: 1200})
	assert.Equal(t, "cubic", m.CCAlgo)

	bh := byDst["198.18.0.0/15"]
	assert.Equal(t, uint8(compat.RtnBlackhole), bh.Type)
	assert.Equal(t, uint32(7), bh.Priority)

	v6 := byDst["2001:db8:5::/48"]
	assert.Equal(t, rtnl.IPv6, v6.Family)
	assert.Equal(t, uint32(42), v6.Priority)
	assert.Equal(t, "2001:db8::2", v6.Gateway.String())
	assert.Empty(t, v6.Extra, "every attribute of a plain IPv6 route is decoded")
}

func TestDecodeCapturedLinuxNeighbors(t *testing.T) {
	var got []rtnl.Neighbor
	for _, m := range captured(t, "neigh") {
		n, err := rtnl.DecodeNeighbor(linux, m.Data)
		require.NoError(t, err)
		got = append(got, n)
	}
	var found int
	for _, n := range got {
		switch n.IP.String() {
		case "10.0.0.2":
			found++
			assert.Equal(t, net.HardwareAddr{2, 0, 0, 0, 0, 2}, n.HardwareAddr)
			assert.Equal(t, rtnl.NeighState(compat.NudPermanent), n.State)
		case "2001:db8::2":
			found++
			assert.Equal(t, rtnl.IPv6, n.Family)
			assert.Equal(t, []string{"STALE"}, n.State.Names())
		}
	}
	assert.Equal(t, 2, found)
}

// FreeBSD messages, laid out from sys/netlink/route/*.h: native AF_INET6
// (28), IFT_* link types, FreeBSD IFF_* bits, fib 0 as the main table, a
// one-byte rtvia family, and the FreeBSD-only attributes.

func attrs(fn func(ae *netlink.AttributeEncoder)) []byte {
	var ae netlink.AttributeEncoder
	fn(&ae)
	b, err := ae.Bytes()
	if err != nil {
		panic(err)
	}
	return b
}

func freebsdLink() []byte {
	hdr := make([]byte, compat.SizeofIfInfomsg)
	ne.PutUint16(hdr[2:], compat.IftEther)
	ne.PutUint32(hdr[4:], 2)
	ne.PutUint32(hdr[8:], 0x1|0x2|0x40|0x8000|0x1000000|0x800) // UP BROADCAST RUNNING MULTICAST LOWER_UP SIMPLEX
	return append(hdr, attrs(func(ae *netlink.AttributeEncoder) {
		ae.String(compat.IflaIfname, "em0")
		ae.Uint32(compat.IflaMTU, 1500)
		ae.Raw(compat.IflaAddress, []byte{0, 0x0c, 0x29, 1, 2, 3})
		ae.Uint8(compat.IflaOperstate, compat.IfOperUp)
		ae.String(compat.IflaIfalias, "uplink")
		ae.Nested(64, func(ae *netlink.AttributeEncoder) error { // IFLA_FREEBSD
			ae.String(compat.IflafOrigIfname, "em0")
			return nil
		})
	})...)
}

func TestDecodeFreeBSDLink(t *testing.T) {
	l, err := rtnl.DecodeLink(freebsd, freebsdLink())
	require.NoError(t, err)
	assert.Equal(t, "em0", l.Name)
	assert.Equal(t, compat.LinkEther, l.Type)
	assert.Equal(t, compat.IffUp|compat.IffBroadcast|compat.IffRunning|compat.IffMulticast|compat.IffLowerUp, l.Flags)
	assert.Equal(t, "UP", l.OperState.String())
	assert.Equal(t, "uplink", l.Alias)
	var kept []uint16
	for typ := range rtnl.Attrs(l.Extra) {
		kept = append(kept, typ)
	}
	assert.Equal(t, []uint16{64}, kept, "IFLA_FREEBSD is kept raw")

	// The same bytes read as Linux would mean something else: 0x8000 is
	// not IFF_MULTICAST there.
	ll, err := rtnl.DecodeLink(linux, freebsdLink())
	require.NoError(t, err)
	assert.Zero(t, ll.Flags&compat.IffMulticast)
}

// Attributes kept raw come out in Extra byte for byte and in their order,
// runs of them and lone ones between decoded attributes alike, and the
// strings and addresses decoded from the same buffer are intact.
func TestDecodeLinkExtraExact(t *testing.T) {
	hdr := make([]byte, compat.SizeofIfInfomsg)
	ne.PutUint32(hdr[4:], 7)
	var run1, lone, tail []byte // what Extra must hold, in three parts
	raw := func(ae *netlink.AttributeEncoder, to *[]byte, typ uint16, n int) {
		v := make([]byte, n)
		for i := range v {
			v[i] = byte(typ) + byte(i)
		}
		ae.Raw(typ, v)
		*to = append(*to, attrs(func(ae *netlink.AttributeEncoder) { ae.Raw(typ, v) })...)
	}
	kind := func(ae *netlink.AttributeEncoder) {
		ae.Nested(compat.IflaLinkinfo, func(ae *netlink.AttributeEncoder) error {
			ae.String(compat.IflaInfoKind, "veth")
			return nil
		})
	}
	msg := append(hdr, attrs(func(ae *netlink.AttributeEncoder) {
		raw(ae, &run1, 200, 3) // a run of three, odd lengths padded
		raw(ae, &run1, 201, 17)
		raw(ae, &run1, 202, 0)
		ae.String(compat.IflaIfname, "eth-extra")
		raw(ae, &lone, 203, 40) // a lone one between decoded attributes
		ae.Raw(compat.IflaAddress, []byte{2, 0, 0, 0, 0, 9})
		ae.Uint32(compat.IflaMTU, 9000)
		kind(ae)               // kept whole, in its place
		raw(ae, &tail, 204, 5) // a run at the end
		raw(ae, &tail, 205, 300)
	})...)
	expect := append(append(append(append([]byte(nil), run1...), lone...), attrs(kind)...), tail...)

	l, err := rtnl.DecodeLink(linux, msg)
	require.NoError(t, err)
	assert.Equal(t, "eth-extra", l.Name)
	assert.Equal(t, "veth", l.Kind)
	assert.Equal(t, uint32(9000), l.MTU)
	assert.Equal(t, []byte{2, 0, 0, 0, 0, 9}, []byte(l.HardwareAddr))
	assert.Equal(t, expect, l.Extra)
}

func freebsdRoute6() []byte {
	hdr := []byte{28, 64, 0, 0, 0, compat.RtprotStatic, 0, compat.RtnUnicast, 0, 0, 0, 0}
	return append(hdr, attrs(func(ae *netlink.AttributeEncoder) {
		ae.Addr(compat.RtaDst, netip.MustParseAddr("2001:db8:1::"))
		ae.Uint32(compat.RtaTable, 0) // fib 0: the main table
		ae.Uint32(compat.RtaOif, 2)
		ae.Raw(compat.RtaVia, append([]byte{28}, netip.MustParseAddr("fe80::1").AsSlice()...)) // u8 family
		ae.Uint32(compat.RtaWeight, 5)
		ae.Uint32(compat.RtaKnhID, 9)
		ae.Uint32(compat.RtaRtflags, 0x803)
		ae.Nested(compat.RtaMetrics, func(ae *netlink.AttributeEncoder) error {
			ae.Uint32(compat.RtaxMTU, 1280)
			return nil
		})
	})...)
}

func TestDecodeFreeBSDRoute(t *testing.T) {
	r, err := rtnl.DecodeRoute(freebsd, freebsdRoute6())
	require.NoError(t, err)
	assert.Equal(t, rtnl.IPv6, r.Family)
	assert.Equal(t, "2001:db8:1::/64", r.Dst.String())
	assert.Equal(t, freebsd.RTTableMain, r.Table)
	assert.Equal(t, "fe80::1", r.Via.String())
	assert.Equal(t, uint32(5), r.Weight)
	assert.Equal(t, []rtnl.Metric{{Type: compat.RtaxMTU, Value: 1280}}, r.Metrics)
	var kept []uint16
	for typ := range rtnl.Attrs(r.Extra) {
		kept = append(kept, typ)
	}
	assert.Equal(t, []uint16{compat.RtaKnhID, compat.RtaRtflags}, kept)

	// Linux reads family 28 as not IPv6 at all.
	_, err = rtnl.DecodeRoute(linux, freebsdRoute6())
	assert.Error(t, err)
}

func TestDecodeFreeBSDAddressAndNeighbor(t *testing.T) {
	hdr := []byte{28, 64, 0, 0, 2, 0, 0, 0}
	ne.PutUint32(hdr[4:], 2)
	a, err := rtnl.DecodeAddress(freebsd, append(hdr, attrs(func(ae *netlink.AttributeEncoder) {
		ae.Addr(compat.IfaAddress, netip.MustParseAddr("2001:db8::5"))
		ae.String(compat.IfaLabel, "em0")
		ae.Nested(compat.IfaFreeBSD, func(ae *netlink.AttributeEncoder) error {
			ae.Uint32(compat.IfafVhid, 3)
			return nil
		})
	})...))
	require.NoError(t, err)
	assert.Equal(t, "2001:db8::5/64", a.Prefix.String())
	assert.Zero(t, a.Protocol, "11 is IFA_FREEBSD, not IFA_PROTO")
	assert.NotEmpty(t, a.Extra)

	nd := make([]byte, compat.SizeofNdMsg)
	nd[0] = 2
	ne.PutUint16(nd[8:], compat.NudReachable)
	n, err := rtnl.DecodeNeighbor(freebsd, append(nd, attrs(func(ae *netlink.AttributeEncoder) {
		ae.Addr(compat.NdaDst, netip.MustParseAddr("192.0.2.7"))
		ae.Raw(compat.NdaLladdr, []byte{2, 0, 0, 0, 0, 7})
		ae.Uint32(compat.NdaIfindex, 4)
		ae.Nested(compat.NdaFreeBSD, func(ae *netlink.AttributeEncoder) error {
			ae.Uint32(compat.NdafNextStateTS, 30)
			return nil
		})
	})...))
	require.NoError(t, err)
	assert.Equal(t, 4, n.Index, "FreeBSD's NDA_IFINDEX")
	assert.Equal(t, "192.0.2.7", n.IP.String())
	assert.NotEmpty(t, n.Extra)
}

func TestDecodeErrors(t *testing.T) {
	for name, data := range map[string][]byte{
		"short ifinfomsg": {1, 2, 3},
		"bad attribute":   append(make([]byte, 16), 0xff, 0xff, 3, 0),
	} {
		_, err := rtnl.DecodeLink(linux, data)
		assert.Error(t, err, name)
	}
	_, err := rtnl.DecodeRoute(linux, []byte{2, 40, 0, 0, 254, 0, 0, 1, 0, 0, 0, 0})
	assert.Error(t, err, "prefix length 40 on IPv4")
	_, err = rtnl.DecodeRoute(linux, []byte{2, 0})
	assert.Error(t, err)
	_, err = rtnl.DecodeAddress(linux, []byte{2, 24, 0, 0, 1, 0, 0, 0})
	assert.Error(t, err, "no address attribute")
	_, err = rtnl.DecodeNeighbor(linux, []byte{2})
	assert.Error(t, err)
	mp := []byte{2, 16, 0, 0, 254, 0, 0, 1, 0, 0, 0, 0}
	mp = append(mp, attrs(func(ae *netlink.AttributeEncoder) { ae.Raw(compat.RtaMultipath, []byte{200, 0, 0, 0, 1, 0, 0, 0}) })...)
	_, err = rtnl.DecodeRoute(linux, mp)
	assert.Error(t, err, "next hop longer than the attribute")
}

// requests records the requests a Conn sends to a fake kernel.
func fake(t *testing.T, f compat.Facts, reqs *[]netlink.Message) *rtnl.Conn {
	var opts []nltest.Option
	if f.OS == compat.FreeBSD {
		opts = append(opts, nltest.FreeBSD())
	}
	nl := nltest.Dial(func(req []netlink.Message) ([]netlink.Message, error) {
		for _, m := range req {
			m.Data = append([]byte(nil), m.Data...)
			*reqs = append(*reqs, m)
		}
		return nil, nil
	}, opts...)
	t.Cleanup(func() { nl.Close() })
	return rtnl.NewConn(nl, f)
}

// TestEncodeRoundTrip encodes routes, addresses and neighbours for each OS
// and decodes the requests with the same OS's decoder.
func TestEncodeRoundTrip(t *testing.T) {
	ctx := context.Background()
	for _, f := range []compat.Facts{linux, freebsd} {
		t.Run(f.OS.String(), func(t *testing.T) {
			var reqs []netlink.Message
			c := fake(t, f, &reqs)
			r := rtnl.Route{
				Dst: netip.MustParsePrefix("10.20.0.0/16"), Table: c.MainTable(), Priority: 9,
				PrefSrc: netip.MustParseAddr("10.0.0.1"), Via: netip.MustParseAddr("fe80::1"),
				Metrics: []rtnl.Metric{{Type: compat.RtaxMTU, Value: 1400}},
				Multipath: []rtnl.NextHop{
					{Gateway: netip.MustParseAddr("10.0.0.2"), Index: 2, Weight: 3},
					{Gateway: netip.MustParseAddr("10.0.0.3"), Index: 3, Weight: 1},
				},
			}
			require.NoError(t, c.AddRoute(ctx, r))
			a := rtnl.Address{Index: 2, Prefix: netip.MustParsePrefix("2001:db8::7/64"), ValidLifetime: 60, PreferredLifetime: 30}
			require.NoError(t, c.AddAddress(ctx, a))
			n := rtnl.Neighbor{Index: 2, IP: netip.MustParseAddr("2001:db8::8"), HardwareAddr: net.HardwareAddr{2, 0, 0, 0, 0, 8}}
			require.NoError(t, c.AddNeighbor(ctx, n))
			require.Len(t, reqs, 3)

			assert.Equal(t, netlink.Create|netlink.Excl, reqs[0].Header.Flags&(netlink.Create|netlink.Excl))
			got, err := rtnl.DecodeRoute(f, reqs[0].Data)
			require.NoError(t, err)
			assert.Equal(t, r.Dst, got.Dst)
			assert.Equal(t, r.Table, got.Table)
			assert.Equal(t, r.Via, got.Via)
			assert.Equal(t, r.PrefSrc, got.PrefSrc)
			assert.Equal(t, r.Priority, got.Priority)
			assert.Equal(t, r.Metrics, got.Metrics)
			require.Len(t, got.Multipath, 2)
			assert.Equal(t, r.Multipath[0].Gateway, got.Multipath[0].Gateway)
			assert.Equal(t, 3, got.Multipath[0].Weight)
			assert.Equal(t, uint8(compat.RtprotStatic), got.Protocol)

			ga, err := rtnl.DecodeAddress(f, reqs[1].Data)
			require.NoError(t, err)
			assert.Equal(t, rtnl.IPv6, ga.Family)
			assert.Equal(t, a.Prefix, ga.Prefix)
			assert.Equal(t, uint32(60), ga.ValidLifetime)

			gn, err := rtnl.DecodeNeighbor(f, reqs[2].Data)
			require.NoError(t, err)
			assert.Equal(t, n.IP, gn.IP)
			assert.Equal(t, n.HardwareAddr, gn.HardwareAddr)
			assert.Equal(t, rtnl.NeighState(compat.NudPermanent), gn.State)
			assert.Equal(t, uint8(f.AFInet6), reqs[2].Data[0], "the OS's own AF_INET6")
		})
	}
}

func TestFreeBSDNotSupported(t *testing.T) {
	ctx := context.Background()
	var reqs []netlink.Message
	c := fake(t, freebsd, &reqs)
	for name, err := range map[string]error{
		"veth":   c.AddLink(ctx, rtnl.Link{Name: "v0", Kind: "veth", PeerName: "v1"}),
		"bridge": c.AddLink(ctx, rtnl.Link{Name: "b0", Kind: "bridge"}),
		"master": c.SetLinkMaster(ctx, 2, 3),
		"rename": c.SetLinkName(ctx, 2, "x"),
	} {
		assert.ErrorIs(t, err, compat.ErrNotSupported, name)
		assert.ErrorIs(t, err, netlink.ErrNotSupported, name)
	}
	assert.Empty(t, reqs, "nothing reached the kernel")

	// Link changes use RTM_NEWLINK without NLM_F_CREATE (FreeBSD has no
	// RTM_SETLINK), with FreeBSD's flag bits.
	require.NoError(t, c.SetLinkUp(ctx, 2))
	require.NoError(t, c.SetLinkMTU(ctx, 2, 9000))
	require.NoError(t, c.ReplaceLink(ctx, rtnl.Link{Index: 2, Alias: "uplink", Flags: compat.IffUp}))
	require.Len(t, reqs, 3)
	rl, err := rtnl.DecodeLink(freebsd, reqs[2].Data)
	require.NoError(t, err)
	assert.Equal(t, "uplink", rl.Alias)
	assert.Equal(t, uint32(1), ne.Uint32(reqs[2].Data[8:]), "IFF_UP in ifi_flags")
	assert.Equal(t, uint32(1), ne.Uint32(reqs[2].Data[12:]), "and in ifi_change")
	assert.Equal(t, netlink.HeaderType(compat.RtmNewLink), reqs[0].Header.Type)
	assert.Zero(t, reqs[0].Header.Flags&netlink.Create)
	l, err := rtnl.DecodeLink(freebsd, reqs[1].Data)
	require.NoError(t, err)
	assert.Equal(t, uint32(9000), l.MTU)
	assert.Equal(t, 2, l.Index)
}

func TestMonitorFake(t *testing.T) {
	nl := nltest.Dial(func([]netlink.Message) ([]netlink.Message, error) { return nil, nil })
	defer nl.Close()
	m := rtnl.NewMonitorConn(nl, linux)
	defer m.Close()
	ctx := context.Background()
	routes := captured(t, "routes")
	links := captured(t, "links")
	require.NoError(t, nltest.Multicast(nl, compat.RtnlgrpLink, links[0]))
	require.NoError(t, nltest.Overrun(nl))
	del := routes[0]
	del.Header.Type = compat.RtmDelRoute
	require.NoError(t, nltest.Multicast(nl, compat.RtnlgrpIPv4Route, del))

	want := []rtnl.EventType{rtnl.NewLink, rtnl.Overrun, rtnl.DelRoute}
	for _, w := range want {
		ev, err := m.Next(ctx)
		require.NoError(t, err)
		assert.Equal(t, w, ev.Type)
	}

	// A notification that does not decode is an error, and the monitor
	// goes on; types it does not report are skipped.
	bad := netlink.Message{Header: netlink.Header{Type: compat.RtmNewRoute}, Data: []byte{2, 99, 0, 0}}
	other := netlink.Message{Header: netlink.Header{Type: compat.RtmNewNexthop}, Data: make([]byte, 8)}
	require.NoError(t, nltest.Multicast(nl, compat.RtnlgrpIPv4Route, bad, other, links[0]))
	_, err := m.Next(ctx)
	require.Error(t, err)
	ev, err := m.Next(ctx)
	require.NoError(t, err)
	assert.Equal(t, rtnl.NewLink, ev.Type)

	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	n := 0
	for _, err := range m.Events(cctx) {
		require.Error(t, err)
		n++
	}
	assert.Equal(t, 1, n, "the iterator ends with its context")
}

// After Close, Next reports ErrClosed, even with events it had read.
func TestMonitorNextAfterClose(t *testing.T) {
	nl := nltest.Dial(func([]netlink.Message) ([]netlink.Message, error) { return nil, nil })
	defer nl.Close()
	m := rtnl.NewMonitorConn(nl, linux)
	ctx := context.Background()
	links := captured(t, "links")
	require.NoError(t, nltest.Multicast(nl, compat.RtnlgrpLink, links[0], links[1]))
	ev, err := m.Next(ctx)
	require.NoError(t, err)
	assert.Equal(t, rtnl.NewLink, ev.Type)
	require.NoError(t, m.Close())
	_, err = m.Next(ctx)
	require.ErrorIs(t, err, netlink.ErrClosed, "the second event was read before Close")
}

// Resync runs a dump the kernel flags as interrupted again, as it may have
// skipped objects, and reports the interruption only when it persists.
func TestResyncRetriesInterruptedDump(t *testing.T) {
	ctx := context.Background()
	link := captured(t, "links")[0]
	link.Header = netlink.Header{Type: link.Header.Type} // the fake kernel numbers it
	serve := func(req []netlink.Message) ([]netlink.Message, error) {
		if uint16(req[0].Header.Type) != compat.RtmGetLink {
			return nil, nil
		}
		return []netlink.Message{link}, nil
	}
	for _, tt := range []struct {
		name       string
		interrupts int
		want       int // NewLink events
		fails      bool
	}{
		{"once", 1, 2, false},
		{"always", -1, 4, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			nl := nltest.Dial(serve, nltest.InterruptDumps(tt.interrupts))
			defer nl.Close()
			c := rtnl.NewConn(nl, linux)
			n := 0
			var errs []error
			for ev, err := range c.Resync(ctx, rtnl.KindLink) {
				if err != nil {
					errs = append(errs, err)
					continue
				}
				assert.Equal(t, rtnl.NewLink, ev.Type)
				n++
			}
			assert.Equal(t, tt.want, n)
			if tt.fails {
				require.Len(t, errs, 1)
				assert.ErrorIs(t, errs[0], netlink.ErrDumpInterrupted)
			} else {
				assert.Empty(t, errs)
			}
		})
	}
}

// IFLA_LINK 0 is a link bound to no lower link (HasParent, ParentIndex 0);
// without IFLA_LINK, HasParent is false.
func TestDecodeLinkParentNone(t *testing.T) {
	hdr := make([]byte, compat.SizeofIfInfomsg)
	ne.PutUint32(hdr[4:], 5)
	for _, c := range []struct {
		link   *uint32
		has    bool
		parent int
	}{{nil, false, 0}, {new(uint32(0)), true, 0}, {new(uint32(3)), true, 3}} {
		msg := append(slices.Clone(hdr), attrs(func(ae *netlink.AttributeEncoder) {
			ae.String(compat.IflaIfname, "gre1")
			if c.link != nil {
				ae.Uint32(compat.IflaLink, *c.link)
			}
		})...)
		l, err := rtnl.DecodeLink(linux, msg)
		require.NoError(t, err)
		assert.Equal(t, c.has, l.HasParent)
		assert.Equal(t, c.parent, l.ParentIndex)
		assert.Empty(t, l.Extra)
	}
}
