package netlink

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"math"
	"net"
	"net/netip"
)

// Attribute header flags (struct nlattr nla_type high bits).
const (
	AttrNested       uint16 = 0x8000 // NLA_F_NESTED
	AttrNetByteOrder uint16 = 0x4000 // NLA_F_NET_BYTEORDER
	attrTypeMask     uint16 = 0x3fff // NLA_TYPE_MASK
	attrHeaderLen           = 4
	maxAttrLen              = math.MaxUint16
)

// Limits that keep decoding of untrusted bytes bounded.
const (
	// MaxNestingDepth is the deepest nesting a decoder follows.
	MaxNestingDepth = 32
)

// Errors of the attribute codec.
var (
	// ErrAttributeLength reports an attribute whose length field is below
	// its header size or runs past its buffer.
	ErrAttributeLength = errors.New("netlink: bad attribute length")
	// ErrAttributeSize reports a payload whose size does not fit the
	// requested type (a u32 of 3 bytes, say).
	ErrAttributeSize = errors.New("netlink: attribute payload has the wrong size")
	// ErrNestingDepth reports nesting deeper than MaxNestingDepth.
	ErrNestingDepth = errors.New("netlink: attributes nested too deep")
	// ErrAttributeTooLong reports an attribute too long for its 16-bit length.
	ErrAttributeTooLong = errors.New("netlink: attribute longer than 65535 bytes")
)

// AttributeEncoder appends netlink attributes to a buffer. The zero value is
// ready to use; Reset lets one encoder reuse a buffer with no allocation.
// The first error is kept and returned by Bytes; later calls do nothing.
//
//	var ae netlink.AttributeEncoder
//	ae.Reset(buf[:0])
//	ae.String(unix.IFLA_IFNAME, "veth0")
//	n := ae.BeginNested(unix.IFLA_LINKINFO)
//	ae.String(unix.IFLA_INFO_KIND, "veth")
//	ae.EndNested(n)
//	b, err := ae.Bytes()
type AttributeEncoder struct {
	b   []byte
	err error
}

// Reset makes the encoder append to b (usually buf[:0] of a reused buffer).
func (ae *AttributeEncoder) Reset(b []byte) { ae.b, ae.err = b, nil }

// Bytes returns the encoded attributes and the first error, if any.
func (ae *AttributeEncoder) Bytes() ([]byte, error) { return ae.b, ae.err }

// Len returns the number of bytes encoded so far.
func (ae *AttributeEncoder) Len() int { return len(ae.b) }

// Err returns the first error.
func (ae *AttributeEncoder) Err() error { return ae.err }

// put appends an attribute header and n payload bytes and returns the payload.
func (ae *AttributeEncoder) put(typ uint16, n int) []byte {
	if ae.err != nil {
		return nil
	}
	l := attrHeaderLen + n
	if l > maxAttrLen {
		ae.tooLong(typ, n)
		return nil
	}
	off, al := len(ae.b), Align(l)
	if cap(ae.b)-off >= al {
		ae.b = ae.b[:off+al]
	} else {
		ae.b = grow(ae.b, al)
	}
	b := ae.b[off : off+al]
	ne.PutUint16(b, uint16(l))
	ne.PutUint16(b[2:], typ)
	if al != l {
		clear(b[l:])
	}
	return b[attrHeaderLen:l]
}

func (ae *AttributeEncoder) tooLong(typ uint16, n int) {
	ae.err = fmt.Errorf("%w: type %d, %d bytes", ErrAttributeTooLong, typ, n)
}

// Raw appends an attribute whose payload is v.
func (ae *AttributeEncoder) Raw(typ uint16, v []byte) { copy(ae.put(typ, len(v)), v) }

// Flag appends a zero-length attribute (NLA_FLAG).
func (ae *AttributeEncoder) Flag(typ uint16) { ae.put(typ, 0) }

// String appends v NUL-terminated (NLA_NUL_STRING), as both OSes' kernels expect.
func (ae *AttributeEncoder) String(typ uint16, v string) {
	p := ae.put(typ, len(v)+1)
	if p != nil {
		p[copy(p, v)] = 0
	}
}

// Uint8 appends an 8-bit integer.
func (ae *AttributeEncoder) Uint8(typ uint16, v uint8) {
	if p := ae.put(typ, 1); p != nil {
		p[0] = v
	}
}

// Uint16 appends a 16-bit integer in host byte order.
func (ae *AttributeEncoder) Uint16(typ uint16, v uint16) {
	if p := ae.put(typ, 2); p != nil {
		ne.PutUint16(p, v)
	}
}

// Uint32 appends a 32-bit integer in host byte order.
func (ae *AttributeEncoder) Uint32(typ uint16, v uint32) {
	if p := ae.put(typ, 4); p != nil {
		ne.PutUint32(p, v)
	}
}

// Uint64 appends a 64-bit integer in host byte order.
func (ae *AttributeEncoder) Uint64(typ uint16, v uint64) {
	if p := ae.put(typ, 8); p != nil {
		ne.PutUint64(p, v)
	}
}

// Int8 appends a signed 8-bit integer.
func (ae *AttributeEncoder) Int8(typ uint16, v int8) { ae.Uint8(typ, uint8(v)) }

// Int16 appends a signed 16-bit integer.
func (ae *AttributeEncoder) Int16(typ uint16, v int16) { ae.Uint16(typ, uint16(v)) }

// Int32 appends a signed 32-bit integer.
func (ae *AttributeEncoder) Int32(typ uint16, v int32) { ae.Uint32(typ, uint32(v)) }

// Int64 appends a signed 64-bit integer.
func (ae *AttributeEncoder) Int64(typ uint16, v int64) { ae.Uint64(typ, uint64(v)) }

// Uint appends a variable-width unsigned integer (NLA_UINT): 4 bytes when v
// fits, 8 otherwise.
func (ae *AttributeEncoder) Uint(typ uint16, v uint64) {
	if v <= math.MaxUint32 {
		ae.Uint32(typ, uint32(v))
		return
	}
	ae.Uint64(typ, v)
}

// Int appends a variable-width signed integer (NLA_SINT): 4 bytes when v
// fits, 8 otherwise.
func (ae *AttributeEncoder) Int(typ uint16, v int64) {
	if v >= math.MinInt32 && v <= math.MaxInt32 {
		ae.Int32(typ, int32(v))
		return
	}
	ae.Int64(typ, v)
}

// Uint16BE appends a 16-bit integer in network byte order with the type as
// given, as the kernel's nla_put_be16 does: nf_tables, GRE keys and the ports
// of several families carry big-endian integers without
// NLA_F_NET_BYTEORDER. Use Uint16Net to set that flag.
func (ae *AttributeEncoder) Uint16BE(typ uint16, v uint16) {
	if p := ae.put(typ, 2); p != nil {
		binary.BigEndian.PutUint16(p, v)
	}
}

// Uint32BE appends a 32-bit integer in network byte order (see Uint16BE).
func (ae *AttributeEncoder) Uint32BE(typ uint16, v uint32) {
	if p := ae.put(typ, 4); p != nil {
		binary.BigEndian.PutUint32(p, v)
	}
}

// Uint64BE appends a 64-bit integer in network byte order (see Uint16BE).
func (ae *AttributeEncoder) Uint64BE(typ uint16, v uint64) {
	if p := ae.put(typ, 8); p != nil {
		binary.BigEndian.PutUint64(p, v)
	}
}

// Uint16Net appends a 16-bit integer in network byte order with
// NLA_F_NET_BYTEORDER set in the type (the kernel's nla_put_net16), so that
// a decoder's Uint16 reads it big-endian.
func (ae *AttributeEncoder) Uint16Net(typ uint16, v uint16) { ae.Uint16BE(typ|AttrNetByteOrder, v) }

// Uint32Net appends a 32-bit integer in network byte order with
// NLA_F_NET_BYTEORDER set (see Uint16Net).
func (ae *AttributeEncoder) Uint32Net(typ uint16, v uint32) { ae.Uint32BE(typ|AttrNetByteOrder, v) }

// Uint64Net appends a 64-bit integer in network byte order with
// NLA_F_NET_BYTEORDER set (see Uint16Net).
func (ae *AttributeEncoder) Uint64Net(typ uint16, v uint64) { ae.Uint64BE(typ|AttrNetByteOrder, v) }

// HardwareAddr appends a link-layer address (IFLA_ADDRESS, NDA_LLADDR, an
// nl80211 MAC): its bytes as they are, 6 for Ethernet, other lengths for
// other link types. An empty address is an error.
func (ae *AttributeEncoder) HardwareAddr(typ uint16, a net.HardwareAddr) {
	if len(a) == 0 {
		if ae.err == nil {
			ae.err = fmt.Errorf("netlink: attribute %d: empty hardware address", typ)
		}
		return
	}
	copy(ae.put(typ, len(a)), a)
}

// Addr appends an IP address: 4 bytes for IPv4 (and IPv4-mapped IPv6), 16
// for IPv6. An invalid address is an error.
func (ae *AttributeEncoder) Addr(typ uint16, a netip.Addr) {
	switch {
	case !a.IsValid():
		if ae.err == nil {
			ae.err = fmt.Errorf("netlink: attribute %d: invalid IP address", typ)
		}
	case a.Is4() || a.Is4In6():
		v := a.Unmap().As4()
		copy(ae.put(typ, 4), v[:])
	default:
		v := a.As16()
		copy(ae.put(typ, 16), v[:])
	}
}

// BeginNested starts a nested attribute (with NLA_F_NESTED) and returns a
// token for EndNested. Attributes appended in between are its children.
func (ae *AttributeEncoder) BeginNested(typ uint16) int {
	off := len(ae.b)
	ae.put(typ|AttrNested, 0)
	return off
}

// EndNested closes the nested attribute BeginNested opened.
func (ae *AttributeEncoder) EndNested(token int) {
	if ae.err != nil {
		return
	}
	if token < 0 || token+attrHeaderLen > len(ae.b) {
		ae.err = errors.New("netlink: EndNested without BeginNested")
		return
	}
	l := len(ae.b) - token
	if l > maxAttrLen {
		ae.err = fmt.Errorf("%w: nested attribute of %d bytes", ErrAttributeTooLong, l)
		return
	}
	ne.PutUint16(ae.b[token:], uint16(l))
}

// Nested appends a nested attribute whose children fn encodes.
func (ae *AttributeEncoder) Nested(typ uint16, fn func(*AttributeEncoder) error) {
	tok := ae.BeginNested(typ)
	if ae.err != nil {
		return
	}
	if err := fn(ae); err != nil && ae.err == nil {
		ae.err = err
	}
	ae.EndNested(tok)
}

// AttributeDecoder iterates over netlink attributes in a buffer without
// copying them. Getters read the current attribute; a size mismatch or a
// malformed length records the first error, which Err returns, and stops the
// iteration. The zero value after Reset is ready to use and allocates nothing.
//
//	ad := netlink.NewAttributeDecoder(b)
//	for ad.Next() {
//		switch ad.Type() {
//		case unix.IFLA_MTU:
//			mtu = ad.Uint32()
//		case unix.IFLA_IFNAME:
//			name = ad.String()
//		}
//	}
//	if err := ad.Err(); err != nil { ... }
type AttributeDecoder struct {
	b     []byte
	off   int
	typ   uint16
	data  []byte
	err   error
	depth int
}

// NewAttributeDecoder returns a decoder over b. A decoder declared as a value
// and Reset avoids the allocation.
func NewAttributeDecoder(b []byte) *AttributeDecoder {
	return &AttributeDecoder{b: b}
}

// Reset starts decoding b at nesting depth 0.
func (ad *AttributeDecoder) Reset(b []byte) { *ad = AttributeDecoder{b: b} }

// Next advances to the next attribute and reports whether there is one.
func (ad *AttributeDecoder) Next() bool {
	rest := ad.b[min(ad.off, len(ad.b)):]
	if ad.err != nil || len(rest) == 0 {
		return false
	}
	if len(rest) < attrHeaderLen {
		return ad.badLength(len(rest), 0)
	}
	l := int(ne.Uint16(rest))
	if l < attrHeaderLen || l > len(rest) {
		return ad.badLength(len(rest), l)
	}
	ad.typ = ne.Uint16(rest[2:])
	ad.data = rest[attrHeaderLen:l:l]
	ad.off += min(Align(l), len(rest))
	return true
}

// badLength records a malformed length; kept out of Next so Next inlines.
func (ad *AttributeDecoder) badLength(left, l int) bool {
	if l == 0 {
		ad.fail(fmt.Errorf("%w: %d trailing bytes at offset %d", ErrAttributeLength, left, ad.off))
	} else {
		ad.fail(fmt.Errorf("%w: length %d with %d bytes left at offset %d", ErrAttributeLength, l, left, ad.off))
	}
	return false
}

func (ad *AttributeDecoder) fail(err error) {
	if ad.err == nil {
		ad.err = err
	}
	ad.off = len(ad.b)
}

// Err returns the first error met, if any.
func (ad *AttributeDecoder) Err() error { return ad.err }

// Rest returns the bytes not yet iterated, borrowed: empty once every
// attribute has been read or an error has stopped the decoder (Err says
// which). Code that decodes a known prefix of attributes can hand the rest
// to another decoder.
func (ad *AttributeDecoder) Rest() []byte { return ad.b[min(ad.off, len(ad.b)):] }

// Offset returns the offset in the decoded buffer of the byte after the
// current attribute (its padding included).
func (ad *AttributeDecoder) Offset() int { return min(ad.off, len(ad.b)) }

// Done reports whether the decoder has nothing left to read: every attribute
// was iterated, or an error stopped it.
func (ad *AttributeDecoder) Done() bool { return ad.err != nil || ad.off >= len(ad.b) }

// All returns an iterator over the remaining attributes: their type (without
// flags, as Type) and payload (borrowed, as Bytes). Inside the loop the
// decoder is positioned on the yielded attribute, so its getters (Uint32,
// NestedDecoder, TypeFlags, ...) read it. A malformed attribute ends the loop
// and is recorded like every decoder error: check Err after it.
//
//	for typ, data := range ad.All() {
//		switch typ {
//		case unix.IFLA_IFNAME:
//			name = string(data)
//		case unix.IFLA_MTU:
//			mtu = ad.Uint32()
//		}
//	}
//	if err := ad.Err(); err != nil { ... }
//
// Ranging over All costs no allocation, but a function call per attribute
// when the loop body is too large to inline: in bench/ (BenchmarkAttrDecode,
// nlbus-all against nlbus) it took up to 1.6 times as long as a Next loop.
// Next stays the fastest for hot paths.
func (ad *AttributeDecoder) All() iter.Seq2[uint16, []byte] {
	return func(yield func(uint16, []byte) bool) {
		for ad.Next() {
			if !yield(ad.typ&attrTypeMask, ad.data) {
				return
			}
		}
	}
}

// Type returns the current attribute's type without the nested and
// byte-order flags.
func (ad *AttributeDecoder) Type() uint16 { return ad.typ & attrTypeMask }

// TypeFlags returns the current attribute's raw type, flags included.
func (ad *AttributeDecoder) TypeFlags() uint16 { return ad.typ }

// IsNested reports whether NLA_F_NESTED is set (kernels do not always set it).
func (ad *AttributeDecoder) IsNested() bool { return ad.typ&AttrNested != 0 }

// Len returns the current attribute's payload length.
func (ad *AttributeDecoder) Len() int { return len(ad.data) }

// Bytes returns the current payload, borrowed: valid as long as the
// decoded buffer is.
func (ad *AttributeDecoder) Bytes() []byte { return ad.data }

// CopyBytes returns a copy of the current payload.
func (ad *AttributeDecoder) CopyBytes() []byte { return append([]byte(nil), ad.data...) }

// String returns the current payload as a string, up to its first NUL.
func (ad *AttributeDecoder) String() string {
	return string(trimNUL(ad.data))
}

// StringBytes returns the payload up to its first NUL, borrowed.
func (ad *AttributeDecoder) StringBytes() []byte { return trimNUL(ad.data) }

func trimNUL(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

// badSize records a payload of the wrong size; kept out of the getters so
// they inline.
func (ad *AttributeDecoder) badSize(n int, what string) {
	ad.fail(fmt.Errorf("%w: type %d: %s needs %d bytes, have %d", ErrAttributeSize, ad.Type(), what, n, len(ad.data)))
}

// Uint8 returns the payload as an 8-bit integer.
func (ad *AttributeDecoder) Uint8() uint8 {
	if len(ad.data) != 1 {
		ad.badSize(1, "uint8")
		return 0
	}
	return ad.data[0]
}

// Uint16 returns the payload as a 16-bit integer, in network byte order when
// NLA_F_NET_BYTEORDER is set and host order otherwise.
func (ad *AttributeDecoder) Uint16() uint16 {
	if len(ad.data) != 2 {
		ad.badSize(2, "uint16")
		return 0
	}
	if ad.typ&AttrNetByteOrder != 0 {
		return binary.BigEndian.Uint16(ad.data)
	}
	return ne.Uint16(ad.data)
}

// Uint32 returns the payload as a 32-bit integer (byte order as Uint16).
func (ad *AttributeDecoder) Uint32() uint32 {
	if len(ad.data) != 4 {
		ad.badSize(4, "uint32")
		return 0
	}
	if ad.typ&AttrNetByteOrder != 0 {
		return binary.BigEndian.Uint32(ad.data)
	}
	return ne.Uint32(ad.data)
}

// Uint64 returns the payload as a 64-bit integer (byte order as Uint16).
func (ad *AttributeDecoder) Uint64() uint64 {
	if len(ad.data) != 8 {
		ad.badSize(8, "uint64")
		return 0
	}
	if ad.typ&AttrNetByteOrder != 0 {
		return binary.BigEndian.Uint64(ad.data)
	}
	return ne.Uint64(ad.data)
}

// Uint16BE returns the payload as a 16-bit integer in network byte order,
// whether or not NLA_F_NET_BYTEORDER is set: for the big-endian integers of
// nf_tables, GRE keys and ports that do not carry the flag (the kernel's
// nla_get_be16).
func (ad *AttributeDecoder) Uint16BE() uint16 {
	if len(ad.data) != 2 {
		ad.badSize(2, "uint16")
		return 0
	}
	return binary.BigEndian.Uint16(ad.data)
}

// Uint32BE returns the payload as a 32-bit integer in network byte order
// (see Uint16BE).
func (ad *AttributeDecoder) Uint32BE() uint32 {
	if len(ad.data) != 4 {
		ad.badSize(4, "uint32")
		return 0
	}
	return binary.BigEndian.Uint32(ad.data)
}

// Uint64BE returns the payload as a 64-bit integer in network byte order
// (see Uint16BE).
func (ad *AttributeDecoder) Uint64BE() uint64 {
	if len(ad.data) != 8 {
		ad.badSize(8, "uint64")
		return 0
	}
	return binary.BigEndian.Uint64(ad.data)
}

// Int8 returns the payload as a signed 8-bit integer.
func (ad *AttributeDecoder) Int8() int8 { return int8(ad.Uint8()) }

// Int16 returns the payload as a signed 16-bit integer.
func (ad *AttributeDecoder) Int16() int16 { return int16(ad.Uint16()) }

// Int32 returns the payload as a signed 32-bit integer.
func (ad *AttributeDecoder) Int32() int32 { return int32(ad.Uint32()) }

// Int64 returns the payload as a signed 64-bit integer.
func (ad *AttributeDecoder) Int64() int64 { return int64(ad.Uint64()) }

// Uint returns a variable-width unsigned integer (NLA_UINT, 4 or 8 bytes).
func (ad *AttributeDecoder) Uint() uint64 {
	switch len(ad.data) {
	case 4:
		return uint64(ad.Uint32())
	case 8:
		return ad.Uint64()
	}
	ad.badSize(8, "uint")
	return 0
}

// Int returns a variable-width signed integer (NLA_SINT, 4 or 8 bytes).
func (ad *AttributeDecoder) Int() int64 {
	switch len(ad.data) {
	case 4:
		return int64(ad.Int32())
	case 8:
		return ad.Int64()
	}
	ad.badSize(8, "int")
	return 0
}

// Flag reports true for a flag attribute (NLA_FLAG); a non-empty payload is
// an error.
func (ad *AttributeDecoder) Flag() bool {
	if len(ad.data) != 0 {
		ad.badSize(0, "flag")
		return false
	}
	return true
}

// Addr returns the payload as an IP address (4 or 16 bytes).
func (ad *AttributeDecoder) Addr() netip.Addr {
	switch len(ad.data) {
	case 4:
		return netip.AddrFrom4([4]byte(ad.data))
	case 16:
		return netip.AddrFrom16([16]byte(ad.data))
	}
	ad.fail(fmt.Errorf("%w: type %d: an address needs 4 or 16 bytes, have %d", ErrAttributeSize, ad.Type(), len(ad.data)))
	return netip.Addr{}
}

// HardwareAddr returns the payload as a link-layer address, borrowed: it
// aliases the decoded buffer (use CopyHardwareAddr to keep it). Any non-empty
// length is accepted (6 for Ethernet, 20 for InfiniBand, ...); an empty
// payload is an error.
func (ad *AttributeDecoder) HardwareAddr() net.HardwareAddr {
	if len(ad.data) == 0 {
		ad.fail(fmt.Errorf("%w: type %d: a hardware address needs at least 1 byte, have 0", ErrAttributeSize, ad.Type()))
		return nil
	}
	return net.HardwareAddr(ad.data)
}

// CopyHardwareAddr returns a copy of the payload as a link-layer address
// (see HardwareAddr).
func (ad *AttributeDecoder) CopyHardwareAddr() net.HardwareAddr {
	a := ad.HardwareAddr()
	if a == nil {
		return nil
	}
	return append(net.HardwareAddr(nil), a...)
}

// NestedDecoder returns a decoder over the current attribute's payload, one
// level deeper. Use it without allocation:
//
//	nd := ad.NestedDecoder()
//	for nd.Next() { ... }
//	if err := nd.Err(); err != nil { ... }
//
// Past MaxNestingDepth the returned decoder is empty and holds ErrNestingDepth.
func (ad *AttributeDecoder) NestedDecoder() AttributeDecoder {
	nd := AttributeDecoder{b: ad.data, depth: ad.depth + 1}
	if nd.depth > MaxNestingDepth {
		nd.b = nil
		nd.err = ErrNestingDepth
	}
	return nd
}

// Nested decodes the current payload with fn. An error from fn or from the
// nested decoder becomes the outer decoder's error. The nested decoder
// escapes to fn, so each call allocates it; on hot paths use NestedDecoder,
// which returns a value.
func (ad *AttributeDecoder) Nested(fn func(nad *AttributeDecoder) error) {
	nd := ad.NestedDecoder()
	if nd.err != nil {
		ad.fail(nd.err)
		return
	}
	if err := fn(&nd); err != nil {
		ad.fail(err)
		return
	}
	if nd.err != nil {
		ad.fail(nd.err)
	}
}

// Fixed copies a fixed-size kernel struct from the front of b into dst and
// returns the bytes after it (aligned to 4). Kernel structs grow between
// versions, so a longer b keeps the known prefix and skips the rest of the
// declared size it does not know; a shorter b is zero-filled and reported by
// short == true, never sliced out of range.
func Fixed(dst, b []byte) (rest []byte, short bool) {
	n := copy(dst, b)
	clear(dst[n:])
	if n < len(dst) {
		return nil, true
	}
	a := Align(len(dst))
	if a > len(b) {
		a = len(b)
	}
	return b[a:], false
}
