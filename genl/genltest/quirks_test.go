package genltest_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nlbus/netlink/genl"
	"github.com/nlbus/netlink/genl/genltest"
)

func TestLoneDumpQuirk(t *testing.T) {
	attr := []genl.AttrPolicy{{Attr: 1, Type: genl.TypeU32}}
	// The kernel's full dump: op 1 does with table 0 and dumps with the
	// empty table 1; alone, op 1 shows no dump.
	all := &genl.Policy{
		Ops:    []genl.OpPolicy{{Op: 1, Do: 0, HasDo: true, Dump: 1, HasDump: true}},
		Tables: []genl.PolicyTable{{Index: 0, Attrs: attr}, {Index: 1}},
	}
	kop := &genl.Policy{
		Ops:    []genl.OpPolicy{{Op: 1, Do: 0, HasDo: true}},
		Tables: []genl.PolicyTable{{Index: 0, Attrs: attr}},
	}
	ours := &genl.Policy{
		Ops:    []genl.OpPolicy{{Op: 1, Do: 0, HasDo: true, Dump: 1, HasDump: true}},
		Tables: []genl.PolicyTable{{Index: 0, Attrs: attr}, {Index: 1}},
	}
	quirk, err := genltest.LoneDumpQuirk(all, 1, kop, ours)
	require.NoError(t, err)
	assert.True(t, quirk)
	assert.Equal(t, kop, ours)

	// Answers that agree: nothing to do.
	quirk, err = genltest.LoneDumpQuirk(kop, 1, kop, ours)
	require.NoError(t, err)
	assert.False(t, quirk)

	// The kernel leaving out a dump table with attributes is not this.
	all.Tables[1].Attrs = attr
	_, err = genltest.LoneDumpQuirk(all, 1, kop, ours)
	assert.Error(t, err)
}
