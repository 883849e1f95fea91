package bench

import (
	"bytes"
	"encoding/binary"
	"syscall"
	"testing"

	mdnl "github.com/mdlayher/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"github.com/nlbus/netlink"
)

// The fixture: eight top-level attributes of a link-like message, the last
// one nested with two children. Every encoder below writes these values and
// every decoder reads all of them back.
const (
	aMTU       = unix.IFLA_MTU             // u32
	aIfname    = unix.IFLA_IFNAME          // string
	aOperstate = unix.IFLA_OPERSTATE       // u8
	aTxqlen    = unix.IFLA_TXQLEN          // u32
	aAddress   = unix.IFLA_ADDRESS         // 6 bytes
	aGroup     = unix.IFLA_GROUP           // u32
	aU64       = 100                       // u64; the type number is arbitrary
	aLinkinfo  = unix.IFLA_LINKINFO        // nested:
	aInfoKind  = unix.IFLA_INFO_KIND       // string
	aSlaveKind = unix.IFLA_INFO_SLAVE_KIND // string
)

var (
	fxMTU       uint32 = 1500
	fxName             = "nlbench0"
	fxOperstate uint8  = 6
	fxTxqlen    uint32 = 1000
	fxHW               = [6]byte{0x02, 0x42, 0xac, 0x11, 0x00, 0x02}
	fxGroup     uint32 = 7
	fxU64       uint64 = 0x0123456789abcdef
	fxKind             = "dummy"
	fxSlaveKind        = "bridge"
)

// link holds what a decoder read. Strings and the address are borrowed
// ([]byte) where the decoder can borrow, copied where it cannot.
type link struct {
	mtu, txqlen, group uint32
	operstate          uint8
	u64                uint64
	name, hw           []byte
	kind, slaveKind    []byte
	sname, skind       string
	sslave             string
}

var (
	sinkBytes []byte
	sinkLink  link
)

// ---- encoders ----

func encodeNlbus(ae *netlink.AttributeEncoder) {
	ae.Uint32(aMTU, fxMTU)
	ae.String(aIfname, fxName)
	ae.Uint8(aOperstate, fxOperstate)
	ae.Uint32(aTxqlen, fxTxqlen)
	ae.Raw(aAddress, fxHW[:])
	ae.Uint32(aGroup, fxGroup)
	ae.Uint64(aU64, fxU64)
	n := ae.BeginNested(aLinkinfo)
	ae.String(aInfoKind, fxKind)
	ae.String(aSlaveKind, fxSlaveKind)
	ae.EndNested(n)
}

func encodeMdlayher() ([]byte, error) {
	ae := mdnl.NewAttributeEncoder()
	ae.Uint32(aMTU, fxMTU)
	ae.String(aIfname, fxName)
	ae.Uint8(aOperstate, fxOperstate)
	ae.Uint32(aTxqlen, fxTxqlen)
	ae.Bytes(aAddress, fxHW[:])
	ae.Uint32(aGroup, fxGroup)
	ae.Uint64(aU64, fxU64)
	ae.Nested(aLinkinfo, func(nae *mdnl.AttributeEncoder) error {
		nae.String(aInfoKind, fxKind)
		nae.String(aSlaveKind, fxSlaveKind)
		return nil
	})
	return ae.Encode()
}

// encodeVishvananda builds the attributes the way that library's request
// builders do (one *nl.RtAttr each, serialised and appended) into buf.
func encodeVishvananda(buf []byte) []byte {
	li := nl.NewRtAttr(aLinkinfo|unix.NLA_F_NESTED, nil)
	li.AddRtAttr(aInfoKind, nl.ZeroTerminated(fxKind))
	li.AddRtAttr(aSlaveKind, nl.ZeroTerminated(fxSlaveKind))
	attrs := [...]*nl.RtAttr{
		nl.NewRtAttr(aMTU, nl.Uint32Attr(fxMTU)),
		nl.NewRtAttr(aIfname, nl.ZeroTerminated(fxName)),
		nl.NewRtAttr(aOperstate, nl.Uint8Attr(fxOperstate)),
		nl.NewRtAttr(aTxqlen, nl.Uint32Attr(fxTxqlen)),
		nl.NewRtAttr(aAddress, fxHW[:]),
		nl.NewRtAttr(aGroup, nl.Uint32Attr(fxGroup)),
		nl.NewRtAttr(aU64, nl.Uint64Attr(fxU64)),
		li,
	}
	for _, a := range attrs {
		buf = append(buf, a.Serialize()...)
	}
	return buf
}

var he = binary.NativeEndian

// rawAttr appends one attribute header and payload, padded.
func rawAttr(b []byte, typ uint16, n int) ([]byte, []byte) {
	off := len(b)
	l := 4 + n
	a := (l + 3) &^ 3
	b = b[:off+a]
	he.PutUint16(b[off:], uint16(l))
	he.PutUint16(b[off+2:], typ)
	clear(b[off+l : off+a])
	return b, b[off+4 : off+l]
}

// encodeRaw is the hand-written floor; buf must have room for the fixture.
func encodeRaw(b []byte) []byte {
	var p []byte
	b, p = rawAttr(b, aMTU, 4)
	he.PutUint32(p, fxMTU)
	b, p = rawAttr(b, aIfname, len(fxName)+1)
	p[copy(p, fxName)] = 0
	b, p = rawAttr(b, aOperstate, 1)
	p[0] = fxOperstate
	b, p = rawAttr(b, aTxqlen, 4)
	he.PutUint32(p, fxTxqlen)
	b, p = rawAttr(b, aAddress, len(fxHW))
	copy(p, fxHW[:])
	b, p = rawAttr(b, aGroup, 4)
	he.PutUint32(p, fxGroup)
	b, p = rawAttr(b, aU64, 8)
	he.PutUint64(p, fxU64)
	nest := len(b)
	b, _ = rawAttr(b, aLinkinfo|unix.NLA_F_NESTED, 0)
	b, p = rawAttr(b, aInfoKind, len(fxKind)+1)
	p[copy(p, fxKind)] = 0
	b, p = rawAttr(b, aSlaveKind, len(fxSlaveKind)+1)
	p[copy(p, fxSlaveKind)] = 0
	he.PutUint16(b[nest:], uint16(len(b)-nest))
	return b
}

func fixture(tb testing.TB) []byte {
	var ae netlink.AttributeEncoder
	encodeNlbus(&ae)
	b, err := ae.Bytes()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// ---- decoders ----

// decodeNlbus borrows every value from b: no allocation.
func decodeNlbus(ad *netlink.AttributeDecoder, b []byte, l *link) error {
	ad.Reset(b)
	for ad.Next() {
		switch ad.Type() {
		case aMTU:
			l.mtu = ad.Uint32()
		case aIfname:
			l.name = ad.StringBytes()
		case aOperstate:
			l.operstate = ad.Uint8()
		case aTxqlen:
			l.txqlen = ad.Uint32()
		case aAddress:
			l.hw = ad.Bytes()
		case aGroup:
			l.group = ad.Uint32()
		case aU64:
			l.u64 = ad.Uint64()
		case aLinkinfo:
			nd := ad.NestedDecoder()
			for nd.Next() {
				switch nd.Type() {
				case aInfoKind:
					l.kind = nd.StringBytes()
				case aSlaveKind:
					l.slaveKind = nd.StringBytes()
				}
			}
			if err := nd.Err(); err != nil {
				return err
			}
		}
	}
	return ad.Err()
}

// decodeNlbusAll is decodeNlbus with range loops (AttributeDecoder.All)
// and the hardware-address getter: it must cost what Next does.
func decodeNlbusAll(ad *netlink.AttributeDecoder, b []byte, l *link) error {
	ad.Reset(b)
	for typ, data := range ad.All() {
		switch typ {
		case aMTU:
			l.mtu = ad.Uint32()
		case aIfname:
			l.name = ad.StringBytes()
		case aOperstate:
			l.operstate = ad.Uint8()
		case aTxqlen:
			l.txqlen = ad.Uint32()
		case aAddress:
			l.hw = ad.HardwareAddr()
		case aGroup:
			l.group = ad.Uint32()
		case aU64:
			l.u64 = ad.Uint64()
		case aLinkinfo:
			nd := ad.NestedDecoder()
			for ntyp := range nd.All() {
				switch ntyp {
				case aInfoKind:
					l.kind = nd.StringBytes()
				case aSlaveKind:
					l.slaveKind = nd.StringBytes()
				}
			}
			if err := nd.Err(); err != nil {
				return err
			}
		default:
			_ = data
		}
	}
	return ad.Err()
}

// decodeNlbusCopy keeps copies (three strings and the address), like
// mdlayher's decoder always does: the cost of values that outlive b.
func decodeNlbusCopy(ad *netlink.AttributeDecoder, b []byte, l *link) error {
	ad.Reset(b)
	for ad.Next() {
		switch ad.Type() {
		case aMTU:
			l.mtu = ad.Uint32()
		case aIfname:
			l.sname = ad.String()
		case aOperstate:
			l.operstate = ad.Uint8()
		case aTxqlen:
			l.txqlen = ad.Uint32()
		case aAddress:
			l.hw = ad.CopyBytes()
		case aGroup:
			l.group = ad.Uint32()
		case aU64:
			l.u64 = ad.Uint64()
		case aLinkinfo:
			nd := ad.NestedDecoder()
			for nd.Next() {
				switch nd.Type() {
				case aInfoKind:
					l.skind = nd.String()
				case aSlaveKind:
					l.sslave = nd.String()
				}
			}
			if err := nd.Err(); err != nil {
				return err
			}
		}
	}
	return ad.Err()
}

func decodeMdlayher(b []byte, l *link) error {
	ad, err := mdnl.NewAttributeDecoder(b)
	if err != nil {
		return err
	}
	for ad.Next() {
		switch ad.Type() {
		case aMTU:
			l.mtu = ad.Uint32()
		case aIfname:
			l.sname = ad.String()
		case aOperstate:
			l.operstate = ad.Uint8()
		case aTxqlen:
			l.txqlen = ad.Uint32()
		case aAddress:
			l.hw = ad.Bytes()
		case aGroup:
			l.group = ad.Uint32()
		case aU64:
			l.u64 = ad.Uint64()
		case aLinkinfo:
			ad.Nested(func(nad *mdnl.AttributeDecoder) error {
				for nad.Next() {
					switch nad.Type() {
					case aInfoKind:
						l.skind = nad.String()
					case aSlaveKind:
						l.sslave = nad.String()
					}
				}
				return nil
			})
		}
	}
	return ad.Err()
}

// decodeVishvananda uses nl.ParseRouteAttr, as that library's link and
// route parsers do; strings are converted as they do (string(v[:len-1])).
func decodeVishvananda(b []byte, l *link) error {
	attrs, err := nl.ParseRouteAttr(b)
	if err != nil {
		return err
	}
	for _, a := range attrs {
		switch a.Attr.Type &^ (unix.NLA_F_NESTED | unix.NLA_F_NET_BYTEORDER) {
		case aMTU:
			l.mtu = he.Uint32(a.Value)
		case aIfname:
			l.sname = string(a.Value[:len(a.Value)-1])
		case aOperstate:
			l.operstate = a.Value[0]
		case aTxqlen:
			l.txqlen = he.Uint32(a.Value)
		case aAddress:
			l.hw = a.Value
		case aGroup:
			l.group = he.Uint32(a.Value)
		case aU64:
			l.u64 = he.Uint64(a.Value)
		case aLinkinfo:
			infos, err := nl.ParseRouteAttr(a.Value)
			if err != nil {
				return err
			}
			for _, in := range infos {
				switch in.Attr.Type {
				case aInfoKind:
					l.skind = string(in.Value[:len(in.Value)-1])
				case aSlaveKind:
					l.sslave = string(in.Value[:len(in.Value)-1])
				}
			}
		}
	}
	return nil
}

var errRawAttr = syscall.EINVAL

const nlaTypeMask = 0x3fff // NLA_TYPE_MASK

// decodeRaw is the hand-written floor: lengths checked, values borrowed.
func decodeRaw(b []byte, l *link) error {
	for len(b) >= 4 {
		n := int(he.Uint16(b))
		if n < 4 || n > len(b) {
			return errRawAttr
		}
		typ := he.Uint16(b[2:]) & nlaTypeMask
		v := b[4:n]
		if a := (n + 3) &^ 3; a < len(b) {
			b = b[a:]
		} else {
			b = nil
		}
		switch typ {
		case aMTU:
			if len(v) != 4 {
				return errRawAttr
			}
			l.mtu = he.Uint32(v)
		case aIfname:
			l.name = trimNUL(v)
		case aOperstate:
			if len(v) != 1 {
				return errRawAttr
			}
			l.operstate = v[0]
		case aTxqlen:
			if len(v) != 4 {
				return errRawAttr
			}
			l.txqlen = he.Uint32(v)
		case aAddress:
			l.hw = v
		case aGroup:
			if len(v) != 4 {
				return errRawAttr
			}
			l.group = he.Uint32(v)
		case aU64:
			if len(v) != 8 {
				return errRawAttr
			}
			l.u64 = he.Uint64(v)
		case aLinkinfo:
			for len(v) >= 4 {
				m := int(he.Uint16(v))
				if m < 4 || m > len(v) {
					return errRawAttr
				}
				switch he.Uint16(v[2:]) & nlaTypeMask {
				case aInfoKind:
					l.kind = trimNUL(v[4:m])
				case aSlaveKind:
					l.slaveKind = trimNUL(v[4:m])
				}
				if a := (m + 3) &^ 3; a < len(v) {
					v = v[a:]
				} else {
					v = nil
				}
			}
		}
	}
	return nil
}

func trimNUL(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

// ---- correctness of the fixture ----

func TestFixtureEncodersAgree(t *testing.T) {
	want := fixture(t)
	mb, err := encodeMdlayher()
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string][]byte{
		"mdlayher":    mb,
		"vishvananda": encodeVishvananda(nil),
		"raw":         encodeRaw(make([]byte, 0, 256)),
	} {
		if !bytes.Equal(got, want) {
			t.Errorf("%s encodes\n%x\nnlbus encodes\n%x", name, got, want)
		}
	}
}

func TestFixtureDecodersAgree(t *testing.T) {
	b := fixture(t)
	check := func(name string, l link, borrowed bool) {
		t.Helper()
		nm, kd, sk := string(l.name), string(l.kind), string(l.slaveKind)
		if !borrowed {
			nm, kd, sk = l.sname, l.skind, l.sslave
		}
		if l.mtu != fxMTU || nm != fxName || l.operstate != fxOperstate || l.txqlen != fxTxqlen ||
			!bytes.Equal(l.hw, fxHW[:]) || l.group != fxGroup || l.u64 != fxU64 || kd != fxKind || sk != fxSlaveKind {
			t.Errorf("%s decoded %+v", name, l)
		}
	}
	var ad netlink.AttributeDecoder
	var l link
	if err := decodeNlbus(&ad, b, &l); err != nil {
		t.Fatal(err)
	}
	check("nlbus", l, true)
	l = link{}
	if err := decodeNlbusCopy(&ad, b, &l); err != nil {
		t.Fatal(err)
	}
	check("nlbus-copy", l, false)
	l = link{}
	if err := decodeMdlayher(b, &l); err != nil {
		t.Fatal(err)
	}
	check("mdlayher", l, false)
	l = link{}
	if err := decodeVishvananda(b, &l); err != nil {
		t.Fatal(err)
	}
	check("vishvananda", l, false)
	l = link{}
	if err := decodeRaw(b, &l); err != nil {
		t.Fatal(err)
	}
	check("raw", l, true)
	if n := testing.AllocsPerRun(100, func() { _ = decodeNlbus(&ad, b, &l) }); n != 0 {
		t.Errorf("nlbus decode: %v allocs, want 0", n)
	}
	var ae netlink.AttributeEncoder
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { ae.Reset(buf[:0]); encodeNlbus(&ae) }); n != 0 {
		t.Errorf("nlbus encode: %v allocs, want 0", n)
	}
}

// ---- benchmarks ----

func BenchmarkAttrEncode(b *testing.B) {
	b.Run("nlbus", func(b *testing.B) {
		b.ReportAllocs()
		var ae netlink.AttributeEncoder
		buf := make([]byte, 0, 256)
		for b.Loop() {
			ae.Reset(buf[:0])
			encodeNlbus(&ae)
			out, err := ae.Bytes()
			if err != nil {
				b.Fatal(err)
			}
			sinkBytes = out
		}
	})
	b.Run("mdlayher", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			out, err := encodeMdlayher()
			if err != nil {
				b.Fatal(err)
			}
			sinkBytes = out
		}
	})
	b.Run("vishvananda", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 256)
		for b.Loop() {
			sinkBytes = encodeVishvananda(buf[:0])
		}
	})
	b.Run("raw", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 256)
		for b.Loop() {
			sinkBytes = encodeRaw(buf[:0])
		}
	})
}

func BenchmarkAttrDecode(b *testing.B) {
	fx := fixture(b)
	b.Run("nlbus", func(b *testing.B) {
		b.ReportAllocs()
		var ad netlink.AttributeDecoder
		var l link
		for b.Loop() {
			if err := decodeNlbus(&ad, fx, &l); err != nil {
				b.Fatal(err)
			}
		}
		sinkLink = l
	})
	b.Run("nlbus-all", func(b *testing.B) {
		b.ReportAllocs()
		var ad netlink.AttributeDecoder
		var l link
		for b.Loop() {
			if err := decodeNlbusAll(&ad, fx, &l); err != nil {
				b.Fatal(err)
			}
		}
		sinkLink = l
	})
	b.Run("nlbus-copy", func(b *testing.B) {
		b.ReportAllocs()
		var ad netlink.AttributeDecoder
		var l link
		for b.Loop() {
			if err := decodeNlbusCopy(&ad, fx, &l); err != nil {
				b.Fatal(err)
			}
		}
		sinkLink = l
	})
	b.Run("mdlayher", func(b *testing.B) {
		b.ReportAllocs()
		var l link
		for b.Loop() {
			if err := decodeMdlayher(fx, &l); err != nil {
				b.Fatal(err)
			}
		}
		sinkLink = l
	})
	b.Run("vishvananda", func(b *testing.B) {
		b.ReportAllocs()
		var l link
		for b.Loop() {
			if err := decodeVishvananda(fx, &l); err != nil {
				b.Fatal(err)
			}
		}
		sinkLink = l
	})
	b.Run("raw", func(b *testing.B) {
		b.ReportAllocs()
		var l link
		for b.Loop() {
			if err := decodeRaw(fx, &l); err != nil {
				b.Fatal(err)
			}
		}
		sinkLink = l
	})
}
