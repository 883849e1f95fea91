package genlctrl_test

import (
	"encoding/binary"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/genl"
	"github.com/nlbus/netlink/genl/genlctrl"
)

// rawAttr builds an attribute with any length and type bits.
func rawAttr(typ uint16, payload ...byte) []byte {
	b := make([]byte, 4, 4+len(payload)+3)
	b[0], b[1] = byte(4+len(payload)), byte((4+len(payload))>>8)
	b[2], b[3] = byte(typ), byte(typ>>8)
	b = append(b, payload...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func str(typ uint16, s string) []byte { return rawAttr(typ, append([]byte(s), 0)...) }

func u16(v uint16) []byte { return binary.NativeEndian.AppendUint16(nil, v) }
func u32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }
func u64(v uint64) []byte { return binary.NativeEndian.AppendUint64(nil, v) }

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// checkFamily is a family with every kind of attribute policy.
func checkFamily() (genlctrl.Family, *genlctrl.Table) {
	inner := &genlctrl.Table{Attrs: []genlctrl.Attr{{ID: 1, Type: genl.TypeU8, HasRange: true, MinU: 1, MaxU: 3}}}
	deep := &genlctrl.Table{}
	deep.Attrs = []genlctrl.Attr{{ID: 1, Type: genl.TypeNested, Nested: deep}}
	main := &genlctrl.Table{MaxAttr: 20, Attrs: []genlctrl.Attr{
		{ID: 1, Type: genl.TypeU32, HasRange: true, MinU: 10, MaxU: 20},
		{ID: 2, Type: genl.TypeS16, HasRange: true, MinS: -5, MaxS: 5},
		{ID: 3, Type: genl.TypeU16, Mask: 0x0f},
		{ID: 4, Type: genl.TypeFlag},
		{ID: 5, Type: genl.TypeNulString, MaxLen: 4},
		{ID: 6, Type: genl.TypeString, MaxLen: 4},
		{ID: 7, Type: genl.TypeBinary, MinLen: 2, MaxLen: 4},
		{ID: 8, Type: genl.TypeBinary, MaxLen: 4},
		{ID: 9, Type: genl.TypeBinary, MinLen: 2},
		{ID: 10, Type: genl.TypeBitfield32, Mask: 0x3},
		{ID: 11, Type: genl.TypeNested, Nested: inner},
		{ID: 12, Type: genl.TypeNestedArray, Nested: inner},
		{ID: 13, Type: genl.TypeUint, HasRange: true, MaxU: 100},
		{ID: 14, Type: genl.TypeSint},
		{ID: 15, Type: genl.TypeNested, Nested: deep},
		{ID: 16, Type: genl.TypeU64},
	}}
	return genlctrl.Family{Name: "check", HeaderSize: 4, Ops: []genlctrl.Op{
		{Cmd: 1, Flags: genl.CmdCapDo | genl.CmdCapDump, DoPolicy: main, DumpPolicy: main},
		{Cmd: 2, Flags: genl.CmdCapDo, DoPolicy: main, Validate: genlctrl.DontValidateStrict},
		{Cmd: 3, Flags: genl.CmdCapDo | genl.UnsAdminPerm},
		{Cmd: 4, Flags: genl.CmdCapDump, DumpPolicy: main, Validate: genlctrl.DontValidateDump},
		{Cmd: 5, Flags: genl.CmdCapDump, DumpPolicy: main, Validate: genlctrl.DontValidateDumpStrict},
	}}, main
}

func TestCheck(t *testing.T) {
	r := genlctrl.New(nil)
	spec, _ := checkFamily()
	f, _, err := r.Register(spec)
	require.NoError(t, err)
	fh := []byte{0, 0, 0, 0} // the family's 4-byte header
	req := func(flags netlink.HeaderFlags, cmd uint8, attrs ...[]byte) netlink.Message {
		return request(f.ID, flags, cmd, append([][]byte{fh}, attrs...)...)
	}
	const off = 16 + 4 + 4 // the first attribute's offset
	nest := func(typ uint16, parts ...[]byte) []byte { return rawAttr(typ|0x8000, cat(parts...)...) }
	deep := rawAttr(1 | 0x8000)
	for range 12 {
		deep = rawAttr(1|0x8000, deep...)
	}
	tests := []struct {
		name   string
		req    netlink.Message
		caller genlctrl.Caller
		errno  syscall.Errno
		msg    string
		offset int // -1: none
	}{
		{"ok", req(0, 1, rawAttr(1, u32(15)...), rawAttr(4), str(5, "abc"), nest(11, rawAttr(1, 2))), genlctrl.Caller{}, 0, "", -1},
		{"unknown family", request(0x7ff, 0, 1), genlctrl.Caller{}, syscall.ENOENT, "", -1},
		{"short family header", request(f.ID, 0, 1, []byte{0, 0}), genlctrl.Caller{}, syscall.EINVAL, "", -1},
		{"short genl header", netlink.Message{Header: netlink.Header{Type: netlink.HeaderType(f.ID), Flags: netlink.Request}, Data: []byte{1}}, genlctrl.Caller{}, syscall.EINVAL, "", -1},
		{"unknown command", req(0, 9), genlctrl.Caller{}, syscall.EOPNOTSUPP, "", -1},
		{"dump of a do-only command", req(netlink.Dump, 2), genlctrl.Caller{}, syscall.EOPNOTSUPP, "", -1},
		{"admin command", req(0, 3), genlctrl.Caller{}, syscall.EPERM, "", -1},
		{"admin command by an admin", req(0, 3), genlctrl.Caller{Admin: true}, 0, "", -1},
		{"above range", req(0, 1, rawAttr(1, u32(21)...)), genlctrl.Caller{}, syscall.ERANGE, "integer out of range", off},
		{"below range", req(0, 1, rawAttr(4), rawAttr(1, u32(9)...)), genlctrl.Caller{}, syscall.ERANGE, "integer out of range", off + 4},
		{"signed range", req(0, 1, rawAttr(2, u16(0xfff0)...)), genlctrl.Caller{}, syscall.ERANGE, "integer out of range", off},
		{"signed in range", req(0, 1, rawAttr(2, u16(0xfffb)...)), genlctrl.Caller{}, 0, "", -1},
		{"mask", req(0, 1, rawAttr(3, u16(0x10)...)), genlctrl.Caller{}, syscall.EINVAL, "reserved bit set", off},
		{"flag with data", req(0, 1, rawAttr(4, 1)), genlctrl.Caller{}, syscall.ERANGE, "Attribute failed policy validation", off},
		{"nul-string too long", req(0, 1, str(5, "abcde")), genlctrl.Caller{}, syscall.EINVAL, "Attribute failed policy validation", off},
		{"string too long", req(0, 1, rawAttr(6, 'a', 'b', 'c', 'd', 'e')), genlctrl.Caller{}, syscall.ERANGE, "Attribute failed policy validation", off},
		{"string with NUL at max", req(0, 1, str(6, "abcd")), genlctrl.Caller{}, 0, "", -1},
		{"empty string", req(0, 1, rawAttr(6)), genlctrl.Caller{}, syscall.ERANGE, "Attribute failed policy validation", off},
		{"binary range", req(0, 1, rawAttr(7, 1)), genlctrl.Caller{}, syscall.ERANGE, "binary attribute size out of range", off},
		{"binary max", req(0, 1, rawAttr(8, 1, 2, 3, 4, 5)), genlctrl.Caller{}, syscall.ERANGE, "Attribute failed policy validation", off},
		{"binary min", req(0, 1, rawAttr(9, 1)), genlctrl.Caller{}, syscall.ERANGE, "Attribute failed policy validation", off},
		{"bitfield32 value", req(0, 1, rawAttr(10, cat(u32(4), u32(4))...)), genlctrl.Caller{}, syscall.EINVAL, "Attribute failed policy validation", off},
		{"bitfield32 unselected", req(0, 1, rawAttr(10, cat(u32(1), u32(2))...)), genlctrl.Caller{}, syscall.EINVAL, "Attribute failed policy validation", off},
		{"bitfield32 ok", req(0, 1, rawAttr(10, cat(u32(1), u32(3))...)), genlctrl.Caller{}, 0, "", -1},
		{"bitfield32 short", req(0, 1, rawAttr(10, u32(1)...)), genlctrl.Caller{}, syscall.ERANGE, "Attribute failed policy validation", off},
		{"nested bad", req(0, 1, nest(11, rawAttr(1, 7))), genlctrl.Caller{}, syscall.ERANGE, "integer out of range", off + 4},
		{"nested unknown", req(0, 1, nest(11, rawAttr(2, 7))), genlctrl.Caller{}, syscall.EINVAL, "Unknown attribute type", off + 4},
		{"nested too short", req(0, 1, nest(11, []byte{1, 2})), genlctrl.Caller{}, syscall.ERANGE, "Attribute failed policy validation", off},
		{"nested flag missing", req(0, 1, rawAttr(11, rawAttr(1, 2)...)), genlctrl.Caller{}, syscall.EINVAL, "NLA_F_NESTED is missing", off},
		{"nested flag not expected", req(0, 1, rawAttr(4|0x8000)), genlctrl.Caller{}, syscall.EINVAL, "NLA_F_NESTED not expected", off},
		{"array ok", req(0, 1, nest(12, nest(1, rawAttr(1, 2)), nest(2, rawAttr(1, 3)))), genlctrl.Caller{}, 0, "", -1},
		{"array bad element", req(0, 1, nest(12, nest(1, rawAttr(1, 2)), nest(2, rawAttr(1, 9)))), genlctrl.Caller{}, syscall.ERANGE, "integer out of range", off + 4 + 12 + 4},
		{"array short element", req(0, 1, nest(12, rawAttr(1, 1, 2))), genlctrl.Caller{}, syscall.ERANGE, "Array element too short", off + 4},
		{"uint 4 bytes", req(0, 1, rawAttr(13, u32(100)...)), genlctrl.Caller{}, 0, "", -1},
		{"uint 8 bytes out of range", req(0, 1, rawAttr(13, u64(101)...)), genlctrl.Caller{}, syscall.ERANGE, "integer out of range", off},
		{"uint 2 bytes", req(0, 1, rawAttr(13, u16(1)...)), genlctrl.Caller{}, syscall.EINVAL, "invalid attribute length", off},
		{"sint 3 bytes", req(0, 1, rawAttr(14, 1, 2, 3)), genlctrl.Caller{}, syscall.EINVAL, "invalid attribute length", off},
		{"u64 4 bytes", req(0, 1, rawAttr(16, u32(1)...)), genlctrl.Caller{}, syscall.EINVAL, "invalid attribute length", off},
		{"recursion", req(0, 1, rawAttr(15|0x8000, deep...)), genlctrl.Caller{}, syscall.EINVAL, "allowed policy recursion depth exceeded", -1},
		{"unknown type", req(0, 1, rawAttr(21)), genlctrl.Caller{}, syscall.EINVAL, "Unknown attribute type", off},
		{"type 0", req(0, 1, rawAttr(0)), genlctrl.Caller{}, syscall.EINVAL, "Unknown attribute type", off},
		{"no policy", req(0, 1, rawAttr(17)), genlctrl.Caller{}, syscall.EINVAL, "Unsupported attribute", off},
		{"trailing", req(0, 1, rawAttr(4), []byte{1, 0}), genlctrl.Caller{}, syscall.EINVAL, "bytes leftover after parsing attributes", -1},
		{"bad length", req(0, 1, []byte{99, 0, 1, 0}), genlctrl.Caller{}, syscall.EINVAL, "bytes leftover after parsing attributes", -1},
		// Liberal: unknown, unsupported, trailing, long integers and
		// missing nest flags pass; short integers and policies do not.
		{"liberal lets through", req(0, 2, rawAttr(21), rawAttr(17), rawAttr(16, u64(1)...), rawAttr(1, cat(u32(15), u32(0))...), rawAttr(11, rawAttr(1, 2)...), []byte{1, 0}), genlctrl.Caller{}, 0, "", -1},
		{"liberal short integer", req(0, 2, rawAttr(1, 1, 2)), genlctrl.Caller{}, syscall.ERANGE, "Attribute failed policy validation", off},
		{"liberal range", req(0, 2, rawAttr(1, u32(1)...)), genlctrl.Caller{}, syscall.ERANGE, "integer out of range", off},
		{"dump checked", req(netlink.Dump, 1, rawAttr(1, u32(1)...)), genlctrl.Caller{}, syscall.ERANGE, "integer out of range", off},
		{"dump not checked", req(netlink.Dump, 4, rawAttr(1, u32(1)...)), genlctrl.Caller{}, 0, "", -1},
		{"dump liberal", req(netlink.Dump, 5, rawAttr(21)), genlctrl.Caller{}, 0, "", -1},
		{"not a request", netlink.Message{Header: netlink.Header{Type: netlink.HeaderType(f.ID)}}, genlctrl.Caller{}, 0, "", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := r.Check(tt.req, tt.caller)
			if tt.errno == 0 {
				require.Nil(t, ref)
				return
			}
			require.NotNil(t, ref)
			require.ErrorIs(t, ref, tt.errno)
			assert.Equal(t, tt.errno, ref.Errno)
			assert.Equal(t, tt.msg, ref.Message)
			assert.Equal(t, tt.offset >= 0, ref.HasOffset)
			if tt.offset >= 0 {
				assert.Equal(t, uint32(tt.offset), ref.Offset)
			}
			// The answer a host sends carries it all.
			msgs, err := netlink.ParseMessages(genlctrl.AppendError(nil, tt.req, 3, ref.Errno, &ref.ExtAck))
			require.NoError(t, err)
			require.Len(t, msgs, 1)
			errno, ext, err := netlink.ParseError(msgs[0])
			require.NoError(t, err)
			assert.Equal(t, tt.errno, errno)
			assert.Equal(t, tt.msg, ext.Message)
			assert.Equal(t, ref.Policy, ext.Policy)
		})
	}
}

// TestPolicyDump: the tables of a family are numbered per dump, shared
// tables once, nested ones after their parent; a table without attributes
// is referenced but sends nothing.
func TestPolicyDump(t *testing.T) {
	r := genlctrl.New(nil)
	spec, _ := checkFamily()
	empty := &genlctrl.Table{MaxAttr: 3}
	spec.Ops = append(spec.Ops, genlctrl.Op{Cmd: 6, Flags: genl.CmdCapDump, DumpPolicy: empty})
	f, _, err := r.Register(spec)
	require.NoError(t, err)
	msgs, err := netlink.ParseMessages(r.Handle(nil, request(genl.CtrlID, netlink.Dump, genl.CmdGetPolicy, rawAttr(1, u16(f.ID)...)), 1))
	require.NoError(t, err)
	var gms []genl.Message
	for _, m := range msgs[:len(msgs)-1] {
		gm, err := genl.ParseMessage(m.Data)
		require.NoError(t, err)
		gms = append(gms, gm)
	}
	p, err := genl.ParsePolicy(gms)
	require.NoError(t, err)
	assert.Equal(t, []genl.OpPolicy{
		{Op: 1, Do: 0, HasDo: true, Dump: 0, HasDump: true},
		{Op: 2, Do: 0, HasDo: true},
		{Op: 4, Dump: 0, HasDump: true},
		{Op: 5, Dump: 0, HasDump: true},
		{Op: 6, Dump: 3, HasDump: true},
	}, p.Ops)
	withAttrs := 0
	for _, tab := range p.Tables {
		if len(tab.Attrs) > 0 {
			withAttrs++
		} else {
			assert.Equal(t, uint32(3), tab.Index, "only the empty table is empty")
		}
	}
	assert.Equal(t, 3, withAttrs, "main, inner, deep; the empty table sends nothing")
	main, _ := p.Table(0)
	require.Len(t, main.Attrs, 16)
	a, _ := main.Attr(11)
	assert.Equal(t, uint32(1), a.PolicyIdx)
	assert.Equal(t, uint32(1), a.PolicyMaxType)
	a, _ = main.Attr(15)
	assert.Equal(t, uint32(2), a.PolicyIdx)
	deep, _ := p.Table(2)
	assert.Equal(t, uint32(2), deep.Attrs[0].PolicyIdx, "a table nesting itself")
	a, _ = main.Attr(3)
	assert.Equal(t, genl.FieldMask, a.Fields)
	a, _ = main.Attr(7)
	assert.Equal(t, genl.FieldMinLength|genl.FieldMaxLength, a.Fields)
	a, _ = main.Attr(14)
	assert.Equal(t, genl.FieldMinValueS|genl.FieldMaxValueS, a.Fields)
	assert.Equal(t, int64(-1<<63), a.MinValueS)

	// One operation: its tables, numbered afresh.
	msgs, err = netlink.ParseMessages(r.Handle(nil, request(genl.CtrlID, netlink.Dump, genl.CmdGetPolicy, rawAttr(1, u16(f.ID)...), rawAttr(10, u32(6)...)), 1))
	require.NoError(t, err)
	require.Len(t, msgs, 2, "the op's entry, no attribute, DONE")
	// No policy at all.
	g, _, err := r.Register(genlctrl.Family{Name: "bare", Ops: []genlctrl.Op{{Cmd: 1, Flags: genl.CmdCapDo}}})
	require.NoError(t, err)
	msgs, err = netlink.ParseMessages(r.Handle(nil, request(genl.CtrlID, netlink.Dump, genl.CmdGetPolicy, str(2, g.Name)), 1))
	require.NoError(t, err)
	require.NotEmpty(t, msgs)
	last := msgs[len(msgs)-1]
	errno, _, err := netlink.ParseError(last)
	require.NoError(t, err)
	if last.Header.Type == netlink.Error {
		assert.Equal(t, "no data available", errno.Error(), "Linux's ENODATA")
	} else {
		assert.Len(t, msgs, 1, "an empty dump where there is no ENODATA")
	}
}
