package ynl_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/genl/ynl"
)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	s := mustParse(t, "demo.yaml")
	main, _ := s.Set("main")
	args := []string{
		"id=0x10", "name=eth0", "enabled", "color=blue", "opts=fast|loud",
		"port=8080", "offset=-5", "blob=de:ad:be:ef",
		"inner.key=k", "inner.deeper.val=7", "inner.val=9",
		"items.1.key=a", "items.2.key=b", "items.1.val=1",
		"tags=x", "tags=y", "big=255", "counter=5000000000", "delta=-1",
		"ids.0=3", "ids.1=4", "99:u16=513",
	}
	b, err := ynl.EncodeArgs(main, args)
	require.NoError(t, err)

	// The wire form of a few of them.
	ad := netlink.NewAttributeDecoder(b)
	seen := map[uint16][]byte{}
	for ad.Next() {
		if _, ok := seen[ad.Type()]; !ok {
			seen[ad.Type()] = ad.CopyBytes()
		}
	}
	require.NoError(t, ad.Err())
	assert.Equal(t, []byte{0x1f, 0x90}, seen[6], "port is big-endian")
	assert.Equal(t, []byte("eth0\x00"), seen[2])
	assert.Equal(t, []byte{7}, seen[4], "color blue")
	assert.Equal(t, []byte{0x21, 0, 0, 0}, seen[5], "opts fast|loud")
	assert.Len(t, seen[22], 8, "a uint above 32 bits takes 8 bytes")

	fs, err := ynl.Decode(main, b)
	require.NoError(t, err)
	var text bytes.Buffer
	require.NoError(t, fs.Text(&text))
	assert.Equal(t, `id: 16
name: "eth0"
enabled: true
color: 7 (blue)
opts: 0x21 (fast|loud)
port: 8080
offset: -5
blob: deadbeef
inner:
  key: "k"
  deeper:
    val: 7
  val: 9
items:
  1:
    key: "a"
    val: 1
  2:
    key: "b"
tags: "x"
tags: "y"
big: 0xff
counter: 5000000000
delta: -1
ids:
  0: 3
  1: 4
99: 0102
`, text.String())

	j, err := json.Marshal(fs)
	require.NoError(t, err)
	assert.JSONEq(t, `{"id":16,"name":"eth0","enabled":true,"color":"blue",
		"opts":{"value":33,"names":["fast","loud"]},"port":8080,"offset":-5,"blob":"deadbeef",
		"inner":{"key":"k","deeper":{"val":7},"val":9},
		"items":[{"key":"a","val":1},{"key":"b"}],"tags":["x","y"],"big":255,
		"counter":5000000000,"delta":-1,"ids":[3,4],"99":"0102"}`, string(j))
}

// Signed numbers of every width are written in two's complement, as the
// encoder's own Int setters write them.
func TestEncodeSigned(t *testing.T) {
	b, err := ynl.EncodeArgs(nil, []string{"1:s8=-2", "2:s16=-3", "3:s32=-4", "4:s64=-5", "5:sint=-6", "6:u16=7"})
	require.NoError(t, err)
	var ae netlink.AttributeEncoder
	ae.Int8(1, -2)
	ae.Int16(2, -3)
	ae.Int32(3, -4)
	ae.Int64(4, -5)
	ae.Int(5, -6)
	ae.Uint16(6, 7)
	want, err := ae.Bytes()
	require.NoError(t, err)
	assert.Equal(t, want, b)
}

func TestEncodeNumeric(t *testing.T) {
	b, err := ynl.EncodeArgs(nil, []string{"1:u32=5", "2:str=abc", "3:flag", "4:bin=0a0b", "5.1:u8=1", "5.2:be16=0x102", "6:s8=-2", "7:u64=1"})
	require.NoError(t, err)
	var ae netlink.AttributeEncoder
	ae.Uint32(1, 5)
	ae.String(2, "abc")
	ae.Flag(3)
	ae.Raw(4, []byte{10, 11})
	tok := ae.BeginNested(5)
	ae.Uint8(1, 1)
	ae.Uint16BE(2, 0x102)
	ae.EndNested(tok)
	ae.Int8(6, -2)
	ae.Uint64(7, 1)
	want, err := ae.Bytes()
	require.NoError(t, err)
	assert.Equal(t, want, b)

	fs, err := ynl.Decode(nil, b)
	require.NoError(t, err)
	var text bytes.Buffer
	require.NoError(t, fs.Text(&text))
	assert.Equal(t, "1: 05000000\n2: 61626300\n3: (empty)\n4: 0a0b\n5:\n  1: 01\n  2: 0102\n6: fe\n7: 0100000000000000\n", text.String(),
		"without a spec everything is binary, nests (NLA_F_NESTED) nested")
}

func TestEncodeErrors(t *testing.T) {
	s := mustParse(t, "demo.yaml")
	main, _ := s.Set("main")
	for _, tc := range []struct {
		set  *ynl.AttrSet
		arg  string
		want string
	}{
		{main, "nope=1", `unknown attribute "nope" in set "main"`},
		{nil, "id=1", "there is no spec"},
		{main, "id", "needs a value"},
		{main, "id=abc", "no 32-bit unsigned number"},
		{main, "id=0x100000000", "no 32-bit unsigned number"},
		{main, "color=purple", `no name of "color"`},
		{main, "color=red|green", `"color" is an enum, not flags`},
		{main, "opts=fast|slow", `"slow" is no number and no name of "opts" (fast, safe, loud)`},
		{main, "offset=1.5", "signed number"},
		{main, "blob=xyz", "no hex string"},
		{main, "enabled=maybe", "a flag takes no value"},
		{main, "inner=1", "is a nest"},
		{main, "name.x=1", "not a nest"},
		{main, "items.a.key=1", "no index"},
		{main, "50=1", "give its type"},
		{nil, "70000:u8=1", "out of range"},
		{nil, "0:str=a", "attribute number 0 out of range"},
		// A bad value names the whole argument, not its number alone.
		{nil, "1:u32=abc", `bad argument "1:u32=abc": "abc" is no 32-bit unsigned number`},
		{main, "id:bitfield32=1", "cannot be given"},
		{main, "name=a\x00b", "NUL"},
		{main, "=1", "no attribute name"},
		{main, "inner..key=1", "empty name"},
	} {
		t.Run(tc.arg, func(t *testing.T) {
			_, err := ynl.EncodeArgs(tc.set, []string{tc.arg})
			require.ErrorIs(t, err, ynl.ErrArg)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	_, err := ynl.EncodeArgs(main, []string{"id=1", "id=2"})
	require.ErrorIs(t, err, ynl.ErrArg)
	assert.Contains(t, err.Error(), "given twice")
}

func TestDecodeOddLengths(t *testing.T) {
	s := mustParse(t, "demo.yaml")
	main, _ := s.Set("main")
	var ae netlink.AttributeEncoder
	ae.Uint16(1, 7)         // id is a u32: shown as binary
	ae.Raw(3, []byte{1})    // a flag with a payload: binary
	ae.Raw(9, []byte{1, 2}) // a nest that is no attributes: binary
	ae.Uint32(200, 1)       // unknown
	b, _ := ae.Bytes()
	fs, err := ynl.Decode(main, b)
	require.NoError(t, err)
	require.Len(t, fs, 4)
	for _, f := range fs {
		assert.Equal(t, "binary", f.Kind, f.Name)
	}
	assert.False(t, fs[3].Known)
	assert.Equal(t, "200", fs[3].Name)

	_, err = ynl.Decode(main, append(b, 1, 2, 3))
	require.Error(t, err, "a truncated attribute")
}

func TestDecodeNestTypeValue(t *testing.T) {
	s := mustParse(t, "nlctrl.yaml")
	ctrl, _ := s.Set("ctrl-attrs")
	var ae netlink.AttributeEncoder
	ae.Uint16(1, 0x10)
	p := ae.BeginNested(8)  // policy
	t0 := ae.BeginNested(0) // policy 0
	a1 := ae.BeginNested(1) // attribute 1
	ae.Uint32(1, 12)        // type nul-string
	ae.Uint32(7, 15)        // max-length
	ae.EndNested(a1)
	ae.EndNested(t0)
	ae.EndNested(p)
	b, _ := ae.Bytes()
	fs, err := ynl.Decode(ctrl, b)
	require.NoError(t, err)
	j, _ := json.Marshal(fs)
	assert.JSONEq(t, `{"family-id":16,"policy":{"0":{"1":{"type":"nul-string","max-length":15}}}}`, string(j))
}
