package genl_test

import (
	"context"
	"encoding/binary"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/genl"
	"github.com/nlbus/netlink/genl/genltest"
)

func TestPolicyOfController(t *testing.T) {
	ctx := context.Background()
	_, c := newServer(t, nil)
	p, err := c.GetPolicy(ctx, "nlctrl")
	require.NoError(t, err)
	assert.Equal(t, "nlctrl", p.Family)
	assert.Equal(t, genl.CtrlID, p.FamilyID)
	require.Len(t, p.Ops, 2)
	op, ok := p.Op(uint32(genl.CmdGetFamily))
	require.True(t, ok)
	require.True(t, op.HasDo)
	tab, ok := p.Table(op.Do)
	require.True(t, ok)
	a, ok := tab.Attr(2) // CTRL_ATTR_FAMILY_NAME
	require.True(t, ok)
	assert.Equal(t, genl.TypeNulString, a.Type)
	assert.True(t, a.Has(genl.FieldMaxLength))
	assert.Equal(t, uint32(genl.NameMax), a.MaxLength)
	assert.Equal(t, "nul-string max-len 15", a.String())

	s := p.String()
	assert.Contains(t, s, "family nlctrl (id 16)")
	assert.Contains(t, s, "attr 2   nul-string max-len 15")
	assert.Contains(t, s, "u16 range [0, 65535]")

	one, err := c.GetOpPolicy(ctx, "nlctrl", uint32(genl.CmdGetPolicy))
	require.NoError(t, err)
	require.Len(t, one.Ops, 1)
	assert.Equal(t, uint32(genl.CmdGetPolicy), one.Ops[0].Op)
	require.Len(t, one.Tables, 1)
	_, ok = one.Tables[0].Attr(10)
	assert.True(t, ok)
}

func TestPolicyDecodeAllFields(t *testing.T) {
	full := genl.AttrPolicy{
		Attr: 7, Type: genl.TypeU64,
		Fields:    genl.FieldMinValueS | genl.FieldMaxValueS | genl.FieldMinValueU | genl.FieldMaxValueU | genl.FieldMinLength | genl.FieldMaxLength | genl.FieldPolicyIdx | genl.FieldPolicyMaxType | genl.FieldBitfield32Mask | genl.FieldMask,
		MinValueS: -5, MaxValueS: 5, MinValueU: 1, MaxValueU: 1 << 40, MinLength: 2, MaxLength: 64,
		PolicyIdx: 1, PolicyMaxType: 3, Bitfield32Mask: 0xf0, Mask: 0xff00,
	}
	p := &genl.Policy{
		FamilyID: 42,
		Ops:      []genl.OpPolicy{{Op: 1, Do: 0, HasDo: true}, {Op: 2, Dump: 1, HasDump: true}},
		Tables: []genl.PolicyTable{
			{Index: 0, Attrs: []genl.AttrPolicy{
				{Attr: 1, Type: genl.TypeNested, Fields: genl.FieldPolicyIdx | genl.FieldPolicyMaxType, PolicyIdx: 1, PolicyMaxType: 2},
				full,
			}},
			{Index: 1, Attrs: []genl.AttrPolicy{
				{Attr: 1, Type: genl.TypeFlag},
				{Attr: 2, Type: genl.TypeBitfield32, Fields: genl.FieldBitfield32Mask, Bitfield32Mask: 3},
				{Attr: 3, Type: genl.TypeSint}, {Attr: 4, Type: genl.TypeUint},
				{Attr: 5, Type: genl.TypeNestedArray}, {Attr: 6, Type: genl.TypeBinary, Fields: genl.FieldMinLength, MinLength: 4},
			}},
			{Index: 2}, // a table without attributes survives the trip
		},
	}
	msgs, err := p.Messages()
	require.NoError(t, err)
	got, err := genl.ParsePolicy(msgs)
	require.NoError(t, err)
	assert.Equal(t, p, got)

	sub, ok := p.ForOp(2)
	require.True(t, ok)
	assert.Len(t, sub.Tables, 1)
	sub, ok = p.ForOp(1)
	require.True(t, ok)
	assert.Len(t, sub.Tables, 2, "op 1's table nests table 1")

	s := p.String()
	assert.Contains(t, s, "nested policy 1 (max attr 2)")
	assert.Contains(t, s, "range [-5, 5]")
	assert.Contains(t, s, "bitfield32 mask 0x3")
	assert.Equal(t, "type(99)", genl.AttrType(99).String())
}

// Linux (6.18 here) reports an operation that has only a dump handler
// under command 0; the position of its entry names it.
func TestPolicyDumpOnlyOpReportedAsZero(t *testing.T) {
	fam := genl.Family{Name: "quirk", Ops: []genl.Op{
		{ID: 1, Flags: genl.CmdCapDo | genl.CmdCapHasPolicy},
		{ID: 2, Flags: genl.CmdCapDo},
		{ID: 5, Flags: genl.CmdCapDump | genl.CmdCapHasPolicy},
	}}
	pol := &genl.Policy{
		Ops:    []genl.OpPolicy{{Op: 1, Do: 0, HasDo: true}, {Op: 0, Dump: 1, HasDump: true}},
		Tables: []genl.PolicyTable{{Index: 0, Attrs: []genl.AttrPolicy{{Attr: 1, Type: genl.TypeU8}}}, {Index: 1, Attrs: []genl.AttrPolicy{{Attr: 1, Type: genl.TypeU32}}}},
	}
	srv := genltest.NewServer(nil, genltest.Family{Family: fam, Policy: pol})
	nc, err := srv.Dial()
	require.NoError(t, err)
	c := genl.NewConn(nc)
	defer c.Close()
	p, err := c.GetPolicy(context.Background(), "quirk")
	require.NoError(t, err)
	require.Len(t, p.Ops, 2)
	assert.Equal(t, genl.OpPolicy{Op: 1, Do: 0, HasDo: true}, p.Ops[0])
	assert.Equal(t, genl.OpPolicy{Op: 5, Dump: 1, HasDump: true}, p.Ops[1])
}

// Linux sends no message for a table without attributes, yet operations
// and nested attributes refer to it (netdev's op 1 dump policy, on 6.18):
// the Policy lists every table referred to, empty or not.
func TestPolicyListsReferencedEmptyTables(t *testing.T) {
	u32 := genl.AttrPolicy{Attr: 1, Type: genl.TypeU32}
	nest := genl.AttrPolicy{Attr: 2, Type: genl.TypeNested, Fields: genl.FieldPolicyIdx | genl.FieldPolicyMaxType, PolicyIdx: 3, PolicyMaxType: 1}
	tests := []struct {
		name   string
		ops    []genl.OpPolicy
		tables []genl.PolicyTable // what the controller sends
		op     uint32             // GetOpPolicy when not 0
		want   []genl.PolicyTable
	}{
		{
			name:   "empty dump table",
			ops:    []genl.OpPolicy{{Op: 1, Do: 0, HasDo: true, Dump: 1, HasDump: true}},
			tables: []genl.PolicyTable{{Index: 0, Attrs: []genl.AttrPolicy{u32}}},
			want:   []genl.PolicyTable{{Index: 0, Attrs: []genl.AttrPolicy{u32}}, {Index: 1}},
		},
		{
			name:   "empty do table",
			ops:    []genl.OpPolicy{{Op: 1, Do: 2, HasDo: true}, {Op: 2, Dump: 0, HasDump: true}},
			tables: []genl.PolicyTable{{Index: 0, Attrs: []genl.AttrPolicy{u32}}},
			want:   []genl.PolicyTable{{Index: 0, Attrs: []genl.AttrPolicy{u32}}, {Index: 2}},
		},
		{
			name:   "empty nested table",
			ops:    []genl.OpPolicy{{Op: 1, Do: 0, HasDo: true}},
			tables: []genl.PolicyTable{{Index: 0, Attrs: []genl.AttrPolicy{u32, nest}}},
			want:   []genl.PolicyTable{{Index: 0, Attrs: []genl.AttrPolicy{u32, nest}}, {Index: 3}},
		},
		{
			name:   "one operation",
			ops:    []genl.OpPolicy{{Op: 1, Do: 0, HasDo: true, Dump: 1, HasDump: true}},
			tables: []genl.PolicyTable{{Index: 0, Attrs: []genl.AttrPolicy{u32}}},
			op:     1,
			want:   []genl.PolicyTable{{Index: 0, Attrs: []genl.AttrPolicy{u32}}, {Index: 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fam := genl.Family{Name: "empties", Ops: []genl.Op{
				{ID: 1, Flags: genl.CmdCapDo | genl.CmdCapDump | genl.CmdCapHasPolicy},
				{ID: 2, Flags: genl.CmdCapDump | genl.CmdCapHasPolicy},
			}}
			srv := genltest.NewServer(nil, genltest.Family{Family: fam, Policy: &genl.Policy{Ops: tt.ops, Tables: tt.tables}})
			nc, err := srv.Dial()
			require.NoError(t, err)
			c := genl.NewConn(nc)
			defer c.Close()
			var p *genl.Policy
			if tt.op != 0 {
				p, err = c.GetOpPolicy(context.Background(), "empties", tt.op)
			} else {
				p, err = c.GetPolicy(context.Background(), "empties")
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, p.Tables)
			for _, w := range tt.want {
				_, ok := p.Table(w.Index)
				assert.True(t, ok, "table %d", w.Index)
			}

			// The same from the raw replies.
			msgs, err := (&genl.Policy{Ops: tt.ops, Tables: tt.tables}).Messages()
			require.NoError(t, err)
			parsed, err := genl.ParsePolicy(msgs)
			require.NoError(t, err)
			if tt.op == 0 {
				assert.Equal(t, tt.want, parsed.Tables)
			}
		})
	}
}

func TestPolicyErrors(t *testing.T) {
	ctx := context.Background()
	_, c := newServer(t, &genltest.Config{NoPolicy: true})
	_, err := c.GetPolicy(ctx, "nlctrl")
	require.ErrorIs(t, err, netlink.ErrNotSupported, "a controller without GETPOLICY, like FreeBSD's")

	_, c = newServer(t, nil)
	_, err = c.GetPolicy(ctx, "foo")
	require.ErrorIs(t, err, os.ErrNotExist)
	assert.Equal(t, `genl: family "foo" not found`, err.Error())

	p, err := c.GetPolicy(ctx, "demo") // served without a policy
	require.NoError(t, err)
	assert.Empty(t, p.Ops)
	assert.Empty(t, p.Tables)
}

func TestMessageCodec(t *testing.T) {
	m := genl.Message{Header: genl.Header{Command: 3, Version: 2}, Data: []byte{1, 2}}
	b, err := m.MarshalBinary()
	require.NoError(t, err)
	assert.Equal(t, []byte{3, 2, 0, 0, 1, 2}, b)
	var got genl.Message
	require.NoError(t, got.UnmarshalBinary(b))
	assert.Equal(t, m, got)
	_, err = genl.ParseMessage([]byte{1, 2, 3})
	require.ErrorIs(t, err, genl.ErrShortMessage)

	// The reserved field is kept both ways (host byte order).
	m.Header.Reserved = 0x0102
	b, err = m.MarshalBinary()
	require.NoError(t, err)
	assert.Equal(t, binary.NativeEndian.AppendUint16([]byte{3, 2}, 0x0102), b[:4])
	pm, err := genl.ParseMessage(b)
	require.NoError(t, err)
	assert.Equal(t, m.Header, pm.Header)
	assert.Equal(t, b[4:], pm.Data)
}

func TestFamilyAttributesRoundTrip(t *testing.T) {
	f := demo
	f.ID = 0x20
	f.Groups = []genl.Group{{ID: 40, Name: "events"}}
	b, err := f.MarshalAttributes()
	require.NoError(t, err)
	var got genl.Family
	require.NoError(t, got.UnmarshalAttributes(b))
	assert.Equal(t, f, got)
	require.Error(t, got.UnmarshalAttributes([]byte{3, 0}))
}
