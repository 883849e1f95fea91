package genl

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Linux announces a new family with NEWFAMILY (all its groups) and then one
// NEWMCAST_GRP per group: re-announcing a known group must not reorder the
// cached groups, or a cached lookup differs from the controller's answer.
func TestCacheApplyNewMcastGrpKeepsOrder(t *testing.T) {
	groups := []Group{{ID: 19, Name: "events"}, {ID: 20, Name: "stats"}, {ID: 21, Name: "extra"}}
	var k cache
	k.setOn(true)
	k.apply(CmdNewFamily, &Family{ID: 18, Name: "demo", Groups: append([]Group(nil), groups...)})
	for _, g := range groups {
		k.apply(CmdNewMcastGrp, &Family{ID: 18, Name: "demo", Groups: []Group{g}})
	}
	f, _, on := k.lookup("demo")
	require.True(t, on)
	require.NotNil(t, f)
	assert.Equal(t, groups, f.Groups)

	// A renamed group replaces the old entry in place; a new one is appended.
	k.apply(CmdNewMcastGrp, &Family{ID: 18, Name: "demo", Groups: []Group{{ID: 20, Name: "stats2"}, {ID: 22, Name: "more"}}})
	f, _, _ = k.lookup("demo")
	assert.Equal(t, []Group{{ID: 19, Name: "events"}, {ID: 20, Name: "stats2"}, {ID: 21, Name: "extra"}, {ID: 22, Name: "more"}}, f.Groups)
}
