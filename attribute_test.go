package netlink_test

import (
	"encoding/binary"
	"math"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nlbus/netlink"
)

// attr builds one attribute by hand: length, type, payload, padding.
func attr(typ uint16, payload ...byte) []byte {
	b := make([]byte, 4, netlink.Align(4+len(payload)))
	ne.PutUint16(b, uint16(4+len(payload)))
	ne.PutUint16(b[2:], typ)
	b = append(b, payload...)
	return append(b, make([]byte, netlink.Align(len(b))-len(b))...)
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func u16(v uint16) []byte { return ne.AppendUint16(nil, v) }
func u32(v uint32) []byte { return ne.AppendUint32(nil, v) }
func u64(v uint64) []byte { return ne.AppendUint64(nil, v) }

func TestAttributeEncoder(t *testing.T) {
	v6 := netip.MustParseAddr("2001:db8::1")
	tests := []struct {
		name string
		enc  func(ae *netlink.AttributeEncoder)
		want []byte
	}{
		{name: "uint8", enc: func(ae *netlink.AttributeEncoder) { ae.Uint8(1, 0xab) }, want: attr(1, 0xab)},
		{name: "uint16", enc: func(ae *netlink.AttributeEncoder) { ae.Uint16(2, 0xabcd) }, want: attr(2, u16(0xabcd)...)},
		{name: "uint32", enc: func(ae *netlink.AttributeEncoder) { ae.Uint32(3, 0xdeadbeef) }, want: attr(3, u32(0xdeadbeef)...)},
		{name: "uint64", enc: func(ae *netlink.AttributeEncoder) { ae.Uint64(4, 1<<60) }, want: attr(4, u64(1<<60)...)},
		{name: "int8", enc: func(ae *netlink.AttributeEncoder) { ae.Int8(1, -1) }, want: attr(1, 0xff)},
		{name: "int16", enc: func(ae *netlink.AttributeEncoder) { ae.Int16(1, -2) }, want: attr(1, u16(0xfffe)...)},
		{name: "int32", enc: func(ae *netlink.AttributeEncoder) { ae.Int32(1, -3) }, want: attr(1, u32(math.MaxUint32-2)...)},
		{name: "int64", enc: func(ae *netlink.AttributeEncoder) { ae.Int64(1, -4) }, want: attr(1, u64(math.MaxUint64-3)...)},
		{name: "uint-narrow", enc: func(ae *netlink.AttributeEncoder) { ae.Uint(5, math.MaxUint32) }, want: attr(5, u32(math.MaxUint32)...)},
		{name: "uint-wide", enc: func(ae *netlink.AttributeEncoder) { ae.Uint(5, math.MaxUint32+1) }, want: attr(5, u64(math.MaxUint32+1)...)},
		{name: "int-narrow-negative", enc: func(ae *netlink.AttributeEncoder) { ae.Int(6, math.MinInt32) }, want: attr(6, u32(1<<31)...)},
		{name: "int-wide-negative", enc: func(ae *netlink.AttributeEncoder) { ae.Int(6, math.MinInt32-1) }, want: attr(6, u64(^uint64(math.MaxInt32+1))...)},
		{name: "int-wide-positive", enc: func(ae *netlink.AttributeEncoder) { ae.Int(6, math.MaxInt32+1) }, want: attr(6, u64(math.MaxInt32+1)...)},
		{name: "string", enc: func(ae *netlink.AttributeEncoder) { ae.String(7, "eth0") }, want: attr(7, 'e', 't', 'h', '0', 0)},
		{name: "empty-string", enc: func(ae *netlink.AttributeEncoder) { ae.String(7, "") }, want: attr(7, 0)},
		{name: "flag", enc: func(ae *netlink.AttributeEncoder) { ae.Flag(8) }, want: attr(8)},
		{name: "raw", enc: func(ae *netlink.AttributeEncoder) { ae.Raw(9, []byte{1, 2, 3}) }, want: attr(9, 1, 2, 3)},
		{name: "uint16be", enc: func(ae *netlink.AttributeEncoder) { ae.Uint16BE(10, 0x0102) }, want: attr(10, 1, 2)},
		{name: "uint32be", enc: func(ae *netlink.AttributeEncoder) { ae.Uint32BE(10, 0x01020304) }, want: attr(10, 1, 2, 3, 4)},
		{name: "uint64be", enc: func(ae *netlink.AttributeEncoder) { ae.Uint64BE(10, 0x0102030405060708) }, want: attr(10, 1, 2, 3, 4, 5, 6, 7, 8)},
		{name: "uint16net", enc: func(ae *netlink.AttributeEncoder) { ae.Uint16Net(10, 0x0102) }, want: attr(10|netlink.AttrNetByteOrder, 1, 2)},
		{name: "uint32net", enc: func(ae *netlink.AttributeEncoder) { ae.Uint32Net(10, 0x01020304) }, want: attr(10|netlink.AttrNetByteOrder, 1, 2, 3, 4)},
		{name: "uint64net", enc: func(ae *netlink.AttributeEncoder) { ae.Uint64Net(10, 0x0102030405060708) }, want: attr(10|netlink.AttrNetByteOrder, 1, 2, 3, 4, 5, 6, 7, 8)},
		{name: "mac", enc: func(ae *netlink.AttributeEncoder) { ae.HardwareAddr(14, net.HardwareAddr{2, 0, 0, 0, 0, 1}) }, want: attr(14, 2, 0, 0, 0, 0, 1)},
		{name: "eui64", enc: func(ae *netlink.AttributeEncoder) { ae.HardwareAddr(14, net.HardwareAddr{1, 2, 3, 4, 5, 6, 7, 8}) }, want: attr(14, 1, 2, 3, 4, 5, 6, 7, 8)},
		{name: "ipv4", enc: func(ae *netlink.AttributeEncoder) { ae.Addr(11, netip.MustParseAddr("192.0.2.1")) }, want: attr(11, 192, 0, 2, 1)},
		{name: "ipv4-mapped", enc: func(ae *netlink.AttributeEncoder) { ae.Addr(11, netip.MustParseAddr("::ffff:192.0.2.1")) }, want: attr(11, 192, 0, 2, 1)},
		{name: "ipv6", enc: func(ae *netlink.AttributeEncoder) { ae.Addr(11, v6) }, want: attr(11, v6.AsSlice()...)},
		{name: "nested", enc: func(ae *netlink.AttributeEncoder) {
			n := ae.BeginNested(12)
			ae.Uint8(1, 1)
			m := ae.BeginNested(2)
			ae.Flag(3)
			ae.EndNested(m)
			ae.EndNested(n)
			ae.Uint8(13, 2)
		}, want: cat(attr(12|netlink.AttrNested, cat(attr(1, 1), attr(2|netlink.AttrNested, attr(3)...))...), attr(13, 2))},
		{name: "nested-func", enc: func(ae *netlink.AttributeEncoder) {
			ae.Nested(12, func(ae *netlink.AttributeEncoder) error {
				ae.String(1, "veth")
				return nil
			})
		}, want: attr(12|netlink.AttrNested, attr(1, 'v', 'e', 't', 'h', 0)...)},
		{name: "empty-nested", enc: func(ae *netlink.AttributeEncoder) {
			ae.Nested(12, func(*netlink.AttributeEncoder) error { return nil })
		}, want: attr(12 | netlink.AttrNested)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ae netlink.AttributeEncoder
			tt.enc(&ae)
			b, err := ae.Bytes()
			require.NoError(t, err)
			assert.Equal(t, tt.want, b)
			assert.Equal(t, len(b), ae.Len())
		})
	}
}

func TestAttributeEncoderErrors(t *testing.T) {
	tests := []struct {
		name string
		enc  func(ae *netlink.AttributeEncoder)
		want error
	}{
		{name: "raw-too-long", enc: func(ae *netlink.AttributeEncoder) { ae.Raw(1, make([]byte, math.MaxUint16-3)) }, want: netlink.ErrAttributeTooLong},
		{name: "string-too-long", enc: func(ae *netlink.AttributeEncoder) { ae.String(1, strings.Repeat("x", math.MaxUint16-4)) }, want: netlink.ErrAttributeTooLong},
		{name: "nested-too-long", enc: func(ae *netlink.AttributeEncoder) {
			n := ae.BeginNested(1)
			ae.Raw(2, make([]byte, 40000))
			ae.Raw(3, make([]byte, 40000))
			ae.EndNested(n)
		}, want: netlink.ErrAttributeTooLong},
		{name: "invalid-addr", enc: func(ae *netlink.AttributeEncoder) { ae.Addr(1, netip.Addr{}) }},
		{name: "empty-mac", enc: func(ae *netlink.AttributeEncoder) { ae.HardwareAddr(1, nil) }},
		{name: "end-without-begin", enc: func(ae *netlink.AttributeEncoder) { ae.EndNested(100) }},
		{name: "nested-fn-error", enc: func(ae *netlink.AttributeEncoder) {
			ae.Nested(1, func(*netlink.AttributeEncoder) error { return netlink.ErrNestingDepth })
		}, want: netlink.ErrNestingDepth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ae netlink.AttributeEncoder
			tt.enc(&ae)
			_, err := ae.Bytes()
			require.Error(t, err)
			if tt.want != nil {
				require.ErrorIs(t, err, tt.want)
			}
			// The error is sticky: later calls append nothing.
			n := ae.Len()
			ae.Uint32(5, 1)
			ae.Flag(6)
			assert.Equal(t, n, ae.Len())
			require.ErrorIs(t, ae.Err(), err)

			// Reset clears it.
			ae.Reset(nil)
			ae.Flag(1)
			b, err := ae.Bytes()
			require.NoError(t, err)
			assert.Equal(t, attr(1), b)
		})
	}
	t.Run("max-length-fits", func(t *testing.T) {
		var ae netlink.AttributeEncoder
		ae.Raw(1, make([]byte, math.MaxUint16-4))
		require.NoError(t, ae.Err())
		b, _ := ae.Bytes()
		assert.Equal(t, uint16(math.MaxUint16), ne.Uint16(b))
	})
}

func TestAttributeEncoderResetReuse(t *testing.T) {
	buf := make([]byte, 0, 256)
	var ae netlink.AttributeEncoder
	for i := range 3 {
		ae.Reset(buf[:0])
		ae.Uint32(1, uint32(i))
		ae.String(2, "name")
		b, err := ae.Bytes()
		require.NoError(t, err)
		assert.Same(t, &buf[:1][0], &b[0], "round %d reuses the buffer", i)
		assert.Equal(t, cat(attr(1, u32(uint32(i))...), attr(2, 'n', 'a', 'm', 'e', 0)), b)
	}
	// Appending after a prefix (a family header) keeps the prefix.
	ae.Reset([]byte{1, 2, 3, 4})
	ae.Flag(1)
	b, _ := ae.Bytes()
	assert.Equal(t, cat([]byte{1, 2, 3, 4}, attr(1)), b)
}

func TestAttributeDecoderGetters(t *testing.T) {
	v6 := netip.MustParseAddr("2001:db8::1")
	b := cat(
		attr(1, 0xab),
		attr(2, u16(0xabcd)...),
		attr(3, u32(0xdeadbeef)...),
		attr(4, u64(1<<60)...),
		attr(5, 0xff),
		attr(6, u32(math.MaxUint32-2)...),
		attr(7, u32(7)...),
		attr(7, u64(1<<40)...),
		attr(8, u32(math.MaxUint32)...),
		attr(8, u64(math.MaxUint64)...),
		attr(9, 'e', 't', 'h', '0', 0),
		attr(10, 'n', 'o', 'n', 'u', 'l'),
		attr(11),
		attr(12, 192, 0, 2, 1),
		attr(12, v6.AsSlice()...),
		attr(13|netlink.AttrNetByteOrder, 1, 2),
		attr(13|netlink.AttrNetByteOrder, 1, 2, 3, 4),
		attr(13|netlink.AttrNetByteOrder, 1, 2, 3, 4, 5, 6, 7, 8),
		attr(14, u16(0xfffe)...),
		attr(15, u64(math.MaxUint64-3)...),
	)
	ad := netlink.NewAttributeDecoder(b)
	var got []any
	for ad.Next() {
		switch ad.Type() {
		case 1:
			got = append(got, ad.Uint8())
		case 2:
			got = append(got, ad.Uint16())
		case 3:
			got = append(got, ad.Uint32())
		case 4:
			got = append(got, ad.Uint64())
		case 5:
			got = append(got, ad.Int8())
		case 6:
			got = append(got, ad.Int32())
		case 7:
			got = append(got, ad.Uint())
		case 8:
			got = append(got, ad.Int())
		case 9, 10:
			got = append(got, ad.String(), string(ad.StringBytes()))
		case 11:
			got = append(got, ad.Flag())
		case 12:
			got = append(got, ad.Addr())
		case 13:
			assert.Equal(t, uint16(13|netlink.AttrNetByteOrder), ad.TypeFlags())
			switch ad.Len() {
			case 2:
				got = append(got, ad.Uint16())
			case 4:
				got = append(got, ad.Uint32())
			case 8:
				got = append(got, ad.Uint64())
			}
		case 14:
			got = append(got, ad.Int16())
		case 15:
			got = append(got, ad.Int64())
		}
	}
	require.NoError(t, ad.Err())
	assert.Equal(t, []any{
		uint8(0xab), uint16(0xabcd), uint32(0xdeadbeef), uint64(1 << 60), int8(-1), int32(-3),
		uint64(7), uint64(1 << 40), int64(-1), int64(-1),
		"eth0", "eth0", "nonul", "nonul", true,
		netip.MustParseAddr("192.0.2.1"), v6,
		uint16(0x0102), uint32(0x01020304), uint64(0x0102030405060708),
		int16(-2), int64(-4),
	}, got)
}

func TestAttributeDecoderRoundTrip(t *testing.T) {
	var ae netlink.AttributeEncoder
	ae.Uint16Net(1, 8080)
	ae.Uint32(2, 42)
	ae.Nested(3, func(ae *netlink.AttributeEncoder) error {
		ae.String(1, "inner")
		ae.Int(2, -5)
		return nil
	})
	b, err := ae.Bytes()
	require.NoError(t, err)

	var ad netlink.AttributeDecoder
	ad.Reset(b)
	require.True(t, ad.Next())
	assert.Equal(t, uint16(8080), ad.Uint16(), "NET_BYTEORDER is honoured")
	assert.Equal(t, binary.BigEndian.Uint16(ad.Bytes()), ad.Uint16())
	require.True(t, ad.Next())
	assert.Equal(t, uint32(42), ad.Uint32())
	require.True(t, ad.Next())
	assert.True(t, ad.IsNested())
	assert.Equal(t, uint16(3), ad.Type())
	var name string
	var n int64
	ad.Nested(func(nad *netlink.AttributeDecoder) error {
		for nad.Next() {
			switch nad.Type() {
			case 1:
				name = nad.String()
			case 2:
				n = nad.Int()
			}
		}
		return nil
	})
	assert.False(t, ad.Next())
	require.NoError(t, ad.Err())
	assert.Equal(t, "inner", name)
	assert.Equal(t, int64(-5), n)
}

func TestAttributeDecoderWrongSize(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		get  func(ad *netlink.AttributeDecoder)
	}{
		{name: "uint8", b: attr(1, 1, 2), get: func(ad *netlink.AttributeDecoder) { ad.Uint8() }},
		{name: "uint16", b: attr(1, 1), get: func(ad *netlink.AttributeDecoder) { ad.Uint16() }},
		{name: "uint32", b: attr(1, 1, 2, 3), get: func(ad *netlink.AttributeDecoder) { ad.Uint32() }},
		{name: "uint64", b: attr(1, 1, 2, 3, 4), get: func(ad *netlink.AttributeDecoder) { ad.Uint64() }},
		{name: "int32", b: attr(1, 1, 2), get: func(ad *netlink.AttributeDecoder) { ad.Int32() }},
		{name: "uint", b: attr(1, 1, 2), get: func(ad *netlink.AttributeDecoder) { ad.Uint() }},
		{name: "int", b: attr(1, 1, 2, 3, 4, 5, 6), get: func(ad *netlink.AttributeDecoder) { ad.Int() }},
		{name: "flag", b: attr(1, 1), get: func(ad *netlink.AttributeDecoder) { ad.Flag() }},
		{name: "addr", b: attr(1, 1, 2, 3), get: func(ad *netlink.AttributeDecoder) { ad.Addr() }},
		{name: "uint16be", b: attr(1, 1, 2, 3, 4), get: func(ad *netlink.AttributeDecoder) { ad.Uint16BE() }},
		{name: "uint32be", b: attr(1, 1, 2), get: func(ad *netlink.AttributeDecoder) { ad.Uint32BE() }},
		{name: "uint64be", b: attr(1, 1, 2, 3, 4), get: func(ad *netlink.AttributeDecoder) { ad.Uint64BE() }},
		{name: "mac", b: attr(1), get: func(ad *netlink.AttributeDecoder) { ad.HardwareAddr() }},
		{name: "copy-mac", b: attr(1), get: func(ad *netlink.AttributeDecoder) { ad.CopyHardwareAddr() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := cat(tt.b, attr(2, u32(1)...))
			ad := netlink.NewAttributeDecoder(b)
			require.True(t, ad.Next())
			tt.get(ad)
			require.ErrorIs(t, ad.Err(), netlink.ErrAttributeSize)
			first := ad.Err()
			assert.False(t, ad.Next(), "the error stops the iteration")
			ad.Uint32()
			assert.Equal(t, first, ad.Err(), "the first error is kept")
		})
	}
}

func TestAttributeDecoderMalformed(t *testing.T) {
	tests := []struct {
		name  string
		b     []byte
		valid int // attributes decoded before the error
	}{
		{name: "length-below-header", b: []byte{3, 0, 1, 0}},
		{name: "zero-length", b: []byte{0, 0, 1, 0, 0, 0, 0, 0}},
		{name: "length-past-buffer", b: []byte{9, 0, 1, 0, 1, 2, 3, 4}},
		{name: "trailing-bytes", b: cat(attr(1, 1), []byte{1, 2}), valid: 1},
		{name: "bad-after-good", b: cat(attr(1, 1), []byte{0xff, 0xff, 1, 0}), valid: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ad netlink.AttributeDecoder
			ad.Reset(tt.b)
			n := 0
			for ad.Next() {
				n++
			}
			assert.Equal(t, tt.valid, n)
			require.ErrorIs(t, ad.Err(), netlink.ErrAttributeLength)
		})
	}
	t.Run("unpadded-last", func(t *testing.T) {
		b := []byte{5, 0, 1, 0, 0xaa}
		ad := netlink.NewAttributeDecoder(b)
		require.True(t, ad.Next())
		assert.Equal(t, uint8(0xaa), ad.Uint8())
		assert.False(t, ad.Next())
		require.NoError(t, ad.Err())
	})
	t.Run("empty", func(t *testing.T) {
		ad := netlink.NewAttributeDecoder(nil)
		assert.False(t, ad.Next())
		require.NoError(t, ad.Err())
	})
}

func TestAttributeDecoderNested(t *testing.T) {
	t.Run("malformed-child", func(t *testing.T) {
		b := attr(1|netlink.AttrNested, 9, 0, 1, 0)
		ad := netlink.NewAttributeDecoder(b)
		require.True(t, ad.Next())
		ad.Nested(func(nad *netlink.AttributeDecoder) error {
			for nad.Next() {
			}
			return nil
		})
		require.ErrorIs(t, ad.Err(), netlink.ErrAttributeLength)
	})
	t.Run("fn-error", func(t *testing.T) {
		ad := netlink.NewAttributeDecoder(attr(1, attr(2)...))
		require.True(t, ad.Next())
		ad.Nested(func(*netlink.AttributeDecoder) error { return netlink.ErrAttributeSize })
		require.ErrorIs(t, ad.Err(), netlink.ErrAttributeSize)
	})
	t.Run("value-decoder", func(t *testing.T) {
		ad := netlink.NewAttributeDecoder(cat(attr(1, attr(2, 7)...), attr(3, 8)))
		require.True(t, ad.Next())
		nd := ad.NestedDecoder()
		require.True(t, nd.Next())
		assert.Equal(t, uint8(7), nd.Uint8())
		assert.False(t, nd.Next())
		require.NoError(t, nd.Err())
		require.True(t, ad.Next(), "the outer decoder is unaffected")
		assert.Equal(t, uint8(8), ad.Uint8())
	})
}

func TestAttributeDecoderNestingDepth(t *testing.T) {
	nest := func(depth int) []byte {
		b := attr(1, 1)
		for range depth {
			b = attr(2|netlink.AttrNested, b...)
		}
		return b
	}
	// walk descends through every nest with NestedDecoder.
	var walk func(ad *netlink.AttributeDecoder) (int, error)
	walk = func(ad *netlink.AttributeDecoder) (int, error) {
		deepest := 0
		for ad.Next() {
			if ad.IsNested() {
				nd := ad.NestedDecoder()
				d, err := walk(&nd)
				if err != nil {
					return 0, err
				}
				deepest = max(deepest, d+1)
			}
		}
		return deepest, ad.Err()
	}
	tests := []struct {
		name  string
		depth int
		err   error
	}{
		{name: "at-limit", depth: netlink.MaxNestingDepth},
		{name: "past-limit", depth: netlink.MaxNestingDepth + 1, err: netlink.ErrNestingDepth},
		{name: "far-past-limit", depth: 500, err: netlink.ErrNestingDepth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ad := netlink.NewAttributeDecoder(nest(tt.depth))
			d, err := walk(ad)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.depth, d)
		})
	}
	t.Run("nested-func", func(t *testing.T) {
		var rec func(ad *netlink.AttributeDecoder) error
		rec = func(ad *netlink.AttributeDecoder) error {
			for ad.Next() {
				if ad.IsNested() {
					ad.Nested(rec)
				}
			}
			return ad.Err()
		}
		ad := netlink.NewAttributeDecoder(nest(netlink.MaxNestingDepth + 1))
		require.ErrorIs(t, rec(ad), netlink.ErrNestingDepth)
	})
}

func TestAttributeDecoderBorrowAndCopy(t *testing.T) {
	b := cat(attr(1, 'a', 'b', 'c', 0))
	ad := netlink.NewAttributeDecoder(b)
	require.True(t, ad.Next())
	borrowed, sb, copied, s := ad.Bytes(), ad.StringBytes(), ad.CopyBytes(), ad.String()
	b[4] = 'x'
	assert.Equal(t, []byte("xbc\x00"), borrowed, "Bytes aliases the buffer")
	assert.Equal(t, []byte("xbc"), sb, "StringBytes aliases the buffer")
	assert.Equal(t, []byte("abc\x00"), copied, "CopyBytes does not")
	assert.Equal(t, "abc", s)
	assert.Equal(t, len(borrowed), cap(borrowed), "appending to a borrowed payload cannot overwrite the next attribute")
}

func TestFixed(t *testing.T) {
	tests := []struct {
		name      string
		size      int
		b         []byte
		wantDst   []byte
		wantRest  []byte
		wantShort bool
	}{
		{name: "exact", size: 4, b: []byte{1, 2, 3, 4}, wantDst: []byte{1, 2, 3, 4}, wantRest: []byte{}},
		{name: "with-attrs", size: 4, b: cat([]byte{1, 2, 3, 4}, attr(1)), wantDst: []byte{1, 2, 3, 4}, wantRest: attr(1)},
		{name: "padded", size: 6, b: []byte{1, 2, 3, 4, 5, 6, 0, 0, 9}, wantDst: []byte{1, 2, 3, 4, 5, 6}, wantRest: []byte{9}},
		{name: "unpadded-end", size: 6, b: []byte{1, 2, 3, 4, 5, 6, 0}, wantDst: []byte{1, 2, 3, 4, 5, 6}, wantRest: []byte{}},
		{name: "longer-keeps-prefix", size: 4, b: []byte{1, 2, 3, 4, 5, 6, 7, 8}, wantDst: []byte{1, 2, 3, 4}, wantRest: []byte{5, 6, 7, 8}},
		{name: "shorter-zero-fills", size: 8, b: []byte{1, 2, 3}, wantDst: []byte{1, 2, 3, 0, 0, 0, 0, 0}, wantShort: true},
		{name: "empty", size: 4, b: nil, wantDst: []byte{0, 0, 0, 0}, wantShort: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := make([]byte, tt.size)
			for i := range dst {
				dst[i] = 0xee // stale contents must not survive
			}
			rest, short := netlink.Fixed(dst, tt.b)
			assert.Equal(t, tt.wantShort, short)
			assert.Equal(t, tt.wantDst, dst)
			if tt.wantShort {
				assert.Nil(t, rest)
			} else {
				assert.Equal(t, tt.wantRest, rest)
			}
		})
	}
}

// The allocation budgets of the hot paths.

func encode8(ae *netlink.AttributeEncoder, attrs, msg []byte) []byte {
	ae.Reset(attrs[:0])
	ae.Uint8(1, 1)
	ae.Uint16(2, 2)
	ae.Uint32(3, 3)
	ae.Uint64(4, 4)
	ae.String(5, "eth0")
	ae.Flag(6)
	n := ae.BeginNested(7)
	ae.Uint32BE(1, 7)
	ae.EndNested(n)
	ae.Int(8, -8)
	b, err := ae.Bytes()
	if err != nil {
		panic(err)
	}
	out, err := netlink.AppendMessage(msg[:0], netlink.Message{Header: netlink.Header{Type: 16, Sequence: 1}, Data: b})
	if err != nil {
		panic(err)
	}
	return out
}

func TestAllocsEncode(t *testing.T) {
	var ae netlink.AttributeEncoder
	attrs, msg := make([]byte, 0, 512), make([]byte, 0, 512)
	allocs := testing.AllocsPerRun(100, func() { encode8(&ae, attrs, msg) })
	assert.Zero(t, allocs)
}

func TestAllocsDecode(t *testing.T) {
	var ae netlink.AttributeEncoder
	msg := encode8(&ae, nil, nil)
	var (
		it  netlink.MessageIter
		ad  netlink.AttributeDecoder
		sum uint64
		nm  int
	)
	allocs := testing.AllocsPerRun(100, func() {
		it.Reset(msg)
		for it.Next() {
			ad.Reset(it.Message().Data)
			for ad.Next() {
				switch ad.Type() {
				case 1:
					sum += uint64(ad.Uint8())
				case 2:
					sum += uint64(ad.Uint16())
				case 3:
					sum += uint64(ad.Uint32())
				case 4:
					sum += ad.Uint64()
				case 5:
					nm += len(ad.StringBytes())
				case 6:
					_ = ad.Flag()
				case 7:
					nd := ad.NestedDecoder()
					for nd.Next() {
						sum += uint64(nd.Uint32())
					}
				case 8:
					sum += uint64(ad.Int())
				}
			}
			if ad.Err() != nil {
				panic(ad.Err())
			}
		}
	})
	assert.Zero(t, allocs)
	assert.NotZero(t, sum+uint64(nm))
}

func TestAllocsMessageIter(t *testing.T) {
	var b []byte
	for i := range 16 {
		var err error
		b, err = netlink.AppendMessage(b, netlink.Message{Header: netlink.Header{Type: 16, Sequence: uint32(i)}, Data: make([]byte, i)})
		require.NoError(t, err)
	}
	var it netlink.MessageIter
	n := 0
	allocs := testing.AllocsPerRun(100, func() {
		it.Reset(b)
		for it.Next() {
			n += len(it.Message().Data)
		}
	})
	assert.Zero(t, allocs)
	require.NoError(t, it.Err())
}

func TestAttributeDecoderBigEndian(t *testing.T) {
	// nf_tables style: big-endian without NLA_F_NET_BYTEORDER, next to the
	// same values flagged.
	var ae netlink.AttributeEncoder
	ae.Uint16BE(1, 0x0102)
	ae.Uint32BE(2, 0x01020304)
	ae.Uint64BE(3, 0x0102030405060708)
	ae.Uint16Net(4, 0x0102)
	ae.Uint32Net(5, 0x01020304)
	ae.Uint64Net(6, 0x0102030405060708)
	b, err := ae.Bytes()
	require.NoError(t, err)

	ad := netlink.NewAttributeDecoder(b)
	var got []any
	for ad.Next() {
		flagged := ad.TypeFlags()&netlink.AttrNetByteOrder != 0
		assert.Equal(t, ad.Type() >= 4, flagged, "type %d", ad.Type())
		switch ad.Type() {
		case 1, 4:
			got = append(got, ad.Uint16BE())
			if flagged {
				got = append(got, ad.Uint16())
			}
		case 2, 5:
			got = append(got, ad.Uint32BE())
			if flagged {
				got = append(got, ad.Uint32())
			}
		case 3, 6:
			got = append(got, ad.Uint64BE())
			if flagged {
				got = append(got, ad.Uint64())
			}
		}
	}
	require.NoError(t, ad.Err())
	assert.Equal(t, []any{
		uint16(0x0102), uint32(0x01020304), uint64(0x0102030405060708),
		uint16(0x0102), uint16(0x0102), uint32(0x01020304), uint32(0x01020304), uint64(0x0102030405060708), uint64(0x0102030405060708),
	}, got)
}

func TestAttributeDecoderHardwareAddr(t *testing.T) {
	mac := net.HardwareAddr{0x02, 0x42, 0xac, 0x11, 0x00, 0x02}
	var ae netlink.AttributeEncoder
	ae.HardwareAddr(1, mac)
	ae.HardwareAddr(2, make(net.HardwareAddr, 20)) // InfiniBand
	b, err := ae.Bytes()
	require.NoError(t, err)

	ad := netlink.NewAttributeDecoder(b)
	require.True(t, ad.Next())
	borrowed, copied := ad.HardwareAddr(), ad.CopyHardwareAddr()
	assert.Equal(t, mac, borrowed)
	assert.Equal(t, "02:42:ac:11:00:02", copied.String())
	b[4] = 0xff
	assert.Equal(t, byte(0xff), borrowed[0], "HardwareAddr aliases the buffer")
	assert.Equal(t, byte(0x02), copied[0], "CopyHardwareAddr does not")
	require.True(t, ad.Next())
	assert.Len(t, ad.HardwareAddr(), 20)
	require.NoError(t, ad.Err())
}

func TestAttributeDecoderAll(t *testing.T) {
	b := cat(attr(1, u32(7)...), attr(2|netlink.AttrNested, attr(3, 'x', 0)...), attr(4, 'a', 'b', 0))
	t.Run("every attribute", func(t *testing.T) {
		ad := netlink.NewAttributeDecoder(b)
		var types []uint16
		var payloads [][]byte
		for typ, data := range ad.All() {
			types = append(types, typ)
			payloads = append(payloads, data)
			if typ == 1 {
				assert.Equal(t, uint32(7), ad.Uint32(), "getters read the yielded attribute")
			}
			if typ == 2 {
				assert.True(t, ad.IsNested())
				nd := ad.NestedDecoder()
				for ntyp, ndata := range nd.All() {
					assert.Equal(t, uint16(3), ntyp)
					assert.Equal(t, []byte("x\x00"), ndata)
				}
				require.NoError(t, nd.Err())
			}
		}
		require.NoError(t, ad.Err())
		assert.Equal(t, []uint16{1, 2, 4}, types, "types come without flags")
		assert.Equal(t, []byte("ab\x00"), payloads[2])
		assert.Same(t, &b[len(b)-4], &payloads[2][0], "payloads are borrowed")
		assert.True(t, ad.Done())
	})
	t.Run("break and resume", func(t *testing.T) {
		ad := netlink.NewAttributeDecoder(b)
		for typ := range ad.All() {
			if typ == 1 {
				break
			}
		}
		assert.False(t, ad.Done())
		var rest []uint16
		for typ := range ad.All() {
			rest = append(rest, typ)
		}
		assert.Equal(t, []uint16{2, 4}, rest, "a second range continues where the first stopped")
	})
	t.Run("malformed", func(t *testing.T) {
		bad := cat(attr(1, 1), []byte{9, 0, 2, 0})
		ad := netlink.NewAttributeDecoder(bad)
		n := 0
		for range ad.All() {
			n++
		}
		assert.Equal(t, 1, n)
		require.ErrorIs(t, ad.Err(), netlink.ErrAttributeLength)
		assert.True(t, ad.Done())
		assert.Empty(t, ad.Rest())
	})
}

func TestAttributeDecoderRest(t *testing.T) {
	a1, a2, a3 := attr(1, 1), attr(2, u32(2)...), attr(3)
	b := cat(a1, a2, a3)
	ad := netlink.NewAttributeDecoder(b)
	assert.Equal(t, b, ad.Rest())
	assert.Zero(t, ad.Offset())
	assert.False(t, ad.Done())
	require.True(t, ad.Next())
	assert.Equal(t, len(a1), ad.Offset(), "the offset includes the padding")
	assert.Equal(t, cat(a2, a3), ad.Rest())
	require.True(t, ad.Next())
	require.True(t, ad.Next())
	assert.Empty(t, ad.Rest())
	assert.Equal(t, len(b), ad.Offset())
	assert.True(t, ad.Done())
	assert.False(t, ad.Next())

	// An unpadded last attribute ends the buffer exactly.
	unpadded := cat(a2, []byte{5, 0, 4, 0, 'z'})
	ad.Reset(unpadded)
	require.True(t, ad.Next())
	assert.Equal(t, []byte{5, 0, 4, 0, 'z'}, ad.Rest())
	require.True(t, ad.Next())
	assert.True(t, ad.Done())
	assert.Equal(t, len(unpadded), ad.Offset())

	var zero netlink.AttributeDecoder
	assert.True(t, zero.Done())
	assert.Empty(t, zero.Rest())
}

func TestAllocsAttributeAdditions(t *testing.T) {
	var ae netlink.AttributeEncoder
	buf := make([]byte, 0, 256)
	mac := net.HardwareAddr{2, 0, 0, 0, 0, 1}
	encode := func() []byte {
		ae.Reset(buf[:0])
		ae.Uint16BE(1, 80)
		ae.Uint32BE(2, 0xc0000201)
		ae.Uint64BE(3, 1)
		ae.Uint32Net(4, 5)
		ae.HardwareAddr(5, mac)
		n := ae.BeginNested(6)
		ae.Uint16BE(1, 443)
		ae.EndNested(n)
		b, err := ae.Bytes()
		if err != nil {
			panic(err)
		}
		return b
	}
	assert.Zero(t, testing.AllocsPerRun(100, func() { encode() }), "encode")

	b := encode()
	var (
		ad  netlink.AttributeDecoder
		sum uint64
	)
	allocs := testing.AllocsPerRun(100, func() {
		ad.Reset(b)
		for typ, data := range ad.All() {
			switch typ {
			case 1:
				sum += uint64(ad.Uint16BE())
			case 2:
				sum += uint64(ad.Uint32BE())
			case 3:
				sum += ad.Uint64BE()
			case 4:
				sum += uint64(ad.Uint32())
			case 5:
				sum += uint64(ad.HardwareAddr()[5]) + uint64(len(data))
			case 6:
				nd := ad.NestedDecoder()
				for range nd.All() {
					sum += uint64(nd.Uint16BE())
				}
			}
			sum += uint64(len(ad.Rest()) + ad.Offset())
		}
		if ad.Err() != nil || !ad.Done() {
			panic(ad.Err())
		}
	})
	assert.Zero(t, allocs, "decode with All, the big-endian and MAC getters, Rest")
	assert.NotZero(t, sum)
}
