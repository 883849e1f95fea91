package ynl_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nlbus/netlink/genl/ynl"
)

func mustParse(t testing.TB, file string) *ynl.Spec {
	t.Helper()
	b, err := os.ReadFile("testdata/" + file)
	require.NoError(t, err)
	s, err := ynl.Parse(b)
	require.NoError(t, err)
	return s
}

func TestParseDemo(t *testing.T) {
	s := mustParse(t, "demo.yaml")
	assert.Equal(t, "demo", s.Name)
	assert.Equal(t, "genetlink", s.Protocol)
	assert.Equal(t, []string{"changes", "other"}, s.Groups)
	assert.Equal(t, 0, s.HeaderSize)

	main, ok := s.Set("main")
	require.True(t, ok)
	want := map[string]uint16{"unspec": 0, "id": 1, "name": 2, "enabled": 3, "color": 4, "blob": 8,
		"inner": 9, "items": 10, "tags": 20, "big": 21, "counter": 22, "ids": 24}
	for name, v := range want {
		a, ok := main.ByName(name)
		if assert.True(t, ok, name) {
			assert.Equal(t, v, a.Value, name)
		}
	}
	port, _ := main.ByName("port")
	assert.True(t, port.BigEndian)
	inner, _ := main.ByName("inner")
	assert.Equal(t, "inner", inner.Nested.Name)
	tags, _ := main.ByName("tags")
	assert.True(t, tags.MultiAttr)

	color := s.Enums["color"]
	assert.Equal(t, []ynl.EnumEntry{{Name: "red", Value: 1}, {Name: "green", Value: 2}, {Name: "blue", Value: 7}}, color.Entries)
	opts := s.Enums["opts"]
	assert.True(t, opts.Flags)
	assert.Equal(t, []ynl.EnumEntry{{Name: "fast", Value: 1}, {Name: "safe", Value: 2}, {Name: "loud", Value: 32}}, opts.Entries)

	brief, ok := s.Set("main-brief")
	require.True(t, ok)
	a, ok := brief.ByName("name")
	require.True(t, ok)
	assert.Equal(t, uint16(2), a.Value)
	assert.Equal(t, "string", a.Type)
	_, ok = brief.ByName("color")
	assert.False(t, ok)

	var got []string
	var vals []uint8
	for _, o := range s.Ops {
		got = append(got, o.Name)
		vals = append(vals, o.Value)
		assert.Equal(t, o.Value, o.ReplyValue, o.Name)
	}
	assert.Equal(t, []string{"get", "set", "changed", "ping"}, got)
	assert.Equal(t, []uint8{1, 5, 6, 7}, vals)
	get, _ := s.Op("get")
	assert.Equal(t, []string{"id"}, get.Do.Request)
	assert.Equal(t, []string{"id", "name"}, get.Dump.Reply)
	changed, _ := s.Op("changed")
	assert.True(t, changed.Notify)
	assert.Nil(t, changed.Do)
}

func TestParseNlctrl(t *testing.T) {
	s := mustParse(t, "nlctrl.yaml")
	assert.Equal(t, "genetlink-legacy", s.Protocol)
	getfamily, ok := s.Op("getfamily")
	require.True(t, ok)
	assert.Equal(t, uint8(3), getfamily.Value, "CTRL_CMD_GETFAMILY")
	assert.Equal(t, uint8(1), getfamily.ReplyValue, "CTRL_CMD_NEWFAMILY")
	getpolicy, _ := s.Op("getpolicy")
	assert.Equal(t, uint8(10), getpolicy.Value)
	assert.Equal(t, uint8(10), getpolicy.ReplyValue)
	assert.Nil(t, getpolicy.Do)
	ctrl, _ := s.Set("ctrl-attrs")
	ops, _ := ctrl.ByName("ops")
	assert.Equal(t, uint16(6), ops.Value, "CTRL_ATTR_OPS")
	assert.Equal(t, "op-attrs", ops.Nested.Name)
	pol, _ := ctrl.ByName("policy")
	assert.Equal(t, 2, pol.TypeValue)
	op, _ := ctrl.ByName("op")
	assert.Equal(t, uint16(10), op.Value, "CTRL_ATTR_OP")
	assert.Equal(t, []string{"notify"}, s.Groups)
}

func TestParseDirectional(t *testing.T) {
	s, err := ynl.Parse([]byte(`
name: dir
operations:
  enum-model: directional
  list:
    - {name: a, do: {request: {value: 4}, reply: {value: 10}}}
    - {name: b, dump: {}}
    - {name: ev, event: {}}
    - {name: c, do: {}}
`))
	require.NoError(t, err)
	var req, rsp []uint8
	for _, o := range s.Ops {
		req, rsp = append(req, o.Value), append(rsp, o.ReplyValue)
	}
	assert.Equal(t, []uint8{4, 5, 0, 6}, req)
	assert.Equal(t, []uint8{10, 11, 12, 13}, rsp)
}

func TestParseFixedHeader(t *testing.T) {
	s, err := ynl.Parse([]byte(`
name: fh
protocol: genetlink-legacy
definitions:
  - {name: hdr, type: struct, members: [{name: a, type: u32}, {name: b, type: u16}, {name: c, type: binary, len: 6}]}
operations:
  fixed-header: hdr
  list: [{name: x, do: {}}]
`))
	require.NoError(t, err)
	assert.Equal(t, 12, s.HeaderSize)
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"not yaml", "name: [", "yaml"},
		{"a list", "- a\n- b", "cannot unmarshal"},
		{"no name", "protocol: genetlink", "no family name"},
		{"raw netlink", "name: x\nprotocol: netlink-raw", "not generic netlink"},
		{"bad value type", "name: x\nattribute-sets: [{name: s, attributes: [{name: a, type: u8, value: abc}]}]", "cannot unmarshal"},
		{"value too big", "name: x\nattribute-sets: [{name: s, attributes: [{name: a, type: u8, value: 70000}]}]", "out of range"},
		{"no type", "name: x\nattribute-sets: [{name: s, attributes: [{name: a}]}]", "has no type"},
		{"unknown nested", "name: x\nattribute-sets: [{name: s, attributes: [{name: a, type: nest, nested-attributes: t}]}]", `"t" is no attribute set`},
		{"nest without set", "name: x\nattribute-sets: [{name: s, attributes: [{name: a, type: nest}]}]", "without nested-attributes"},
		{"unknown enum", "name: x\nattribute-sets: [{name: s, attributes: [{name: a, type: u8, enum: e}]}]", `enum "e" is not defined`},
		{"duplicate attribute", "name: x\nattribute-sets: [{name: s, attributes: [{name: a, type: u8}, {name: a, type: u8}]}]", "defined twice"},
		{"duplicate set", "name: x\nattribute-sets: [{name: s}, {name: s}]", "defined twice"},
		{"bad subset", "name: x\nattribute-sets: [{name: s, attributes: [{name: a, type: u8}]}, {name: t, subset-of: s, attributes: [{name: b}]}]", `"b" is not in "s"`},
		{"subset of nothing", "name: x\nattribute-sets: [{name: t, subset-of: s}]", `subset-of "s"`},
		{"op with unknown set", "name: x\noperations: {list: [{name: o, attribute-set: s, do: {}}]}", `attribute-set "s" is not defined`},
		{"op with unknown attribute", "name: x\nattribute-sets: [{name: s}]\noperations: {list: [{name: o, attribute-set: s, do: {request: {attributes: [a]}}}]}", `attribute "a" is not in set "s"`},
		{"op without mode", "name: x\noperations: {list: [{name: o}]}", "neither do"},
		{"op value", "name: x\noperations: {list: [{name: o, value: 300, do: {}}]}", "out of range"},
		{"enum model", "name: x\noperations: {enum-model: sideways, list: []}", "enum-model"},
		{"flags bit", "name: x\ndefinitions: [{name: f, type: flags, entries: [{name: a, value: 64}]}]", "bit 64"},
		{"fixed header", "name: x\noperations: {fixed-header: h, list: []}", "no struct definition"},
		{"byte order", "name: x\nattribute-sets: [{name: s, attributes: [{name: a, type: u16, byte-order: middle}]}]", "byte-order"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ynl.Parse([]byte(tc.yaml))
			require.ErrorIs(t, err, ynl.ErrSpec)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	_, err := ynl.Parse(make([]byte, ynl.MaxSpecSize+1))
	require.ErrorIs(t, err, ynl.ErrSpec)
}

func TestStrip(t *testing.T) {
	for _, file := range []string{"demo.yaml", "nlctrl.yaml"} {
		b, err := os.ReadFile("testdata/" + file)
		require.NoError(t, err)
		small, err := ynl.Strip(b)
		require.NoError(t, err)
		assert.Less(t, len(small), len(b))
		assert.NotContains(t, string(small), "doc:")
		assert.NotContains(t, string(small), "#")
		want, err := ynl.Parse(b)
		require.NoError(t, err)
		got, err := ynl.Parse(small)
		require.NoError(t, err, string(small))
		assert.Equal(t, want, got)
	}
	_, err := ynl.Strip([]byte("a: ["))
	require.ErrorIs(t, err, ynl.ErrSpec)
}
