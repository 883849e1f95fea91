package genlctrl_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nlbus/netlink/genl"
	"github.com/nlbus/netlink/genl/genlctrl"
)

// LookupOp reports a family's name and owner and a command's name and
// flags; IDs lists the families; command names are checked at Register.
func TestLookupOp(t *testing.T) {
	r := genlctrl.New(nil)
	f, _, err := r.Register(genlctrl.Family{Name: "kv", Owner: 7, Ops: []genlctrl.Op{
		{Cmd: 1, Name: "set", Flags: genl.CmdCapDo},
		{Cmd: 2, Flags: genl.CmdCapDo | genl.AdminPerm},
	}})
	require.NoError(t, err)

	oi, ok := r.LookupOp(f.ID, 1)
	require.True(t, ok)
	assert.Equal(t, genlctrl.OpInfo{Family: "kv", Owner: 7, Op: "set", Flags: genl.CmdCapDo}, oi)
	oi, ok = r.LookupOp(f.ID, 2)
	require.True(t, ok)
	assert.Equal(t, genlctrl.OpInfo{Family: "kv", Owner: 7, Flags: genl.CmdCapDo | genl.AdminPerm}, oi)
	oi, ok = r.LookupOp(f.ID, 9)
	require.True(t, ok)
	assert.Equal(t, genlctrl.OpInfo{Family: "kv", Owner: 7}, oi)
	_, ok = r.LookupOp(f.ID+1, 1)
	assert.False(t, ok)
	assert.Equal(t, []uint16{genl.CtrlID, f.ID}, r.IDs())
	assert.Zero(t, testing.AllocsPerRun(100, func() { r.LookupOp(f.ID, 1) }))

	for _, ops := range [][]genlctrl.Op{
		{{Cmd: 1, Name: "a", Flags: genl.CmdCapDo}, {Cmd: 2, Name: "a", Flags: genl.CmdCapDo}},
		{{Cmd: 1, Name: strings.Repeat("n", genlctrl.MaxOpName+1), Flags: genl.CmdCapDo}},
		{{Cmd: 1, Name: "a\x00", Flags: genl.CmdCapDo}},
	} {
		_, _, err := r.Register(genlctrl.Family{Name: "bad", Ops: ops})
		require.ErrorIs(t, err, genlctrl.ErrInvalid)
	}
}
