package bus

import (
	"os/user"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A rule's gid or group matches a caller's primary group or one of its
// supplementary groups; uid and user match its uid; a rule without a
// caller matches everyone.
func TestRuleMatchesCaller(t *testing.T) {
	a, err := ParseAccess([]byte(`
rules:
  - {allow: join, gid: 77}
  - {allow: join, uid: [5, 6]}
  - {allow: join, group: "0"}
  - {allow: join}
`))
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		id   identity
		want []bool
	}{
		{"supplementary", identity{uid: 9, gid: 9, groups: []uint32{1, 77}}, []bool{true, false, false, true}},
		{"primary", identity{uid: 9, gid: 77}, []bool{true, false, false, true}},
		{"uid", identity{uid: 6, gid: 9}, []bool{false, true, false, true}},
		{"root group", identity{uid: 9, gid: 9, groups: []uint32{0}}, []bool{false, false, true, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []bool
			for _, r := range a.rules {
				got = append(got, r.matchesCaller(&tc.id))
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

// lookupIdentity takes the supplementary groups of the uid from the user
// database, without the primary group.
func TestLookupIdentity(t *testing.T) {
	u, err := user.LookupId("0")
	if err != nil {
		t.Skip("no uid 0 in the user database:", err)
	}
	want, err := u.GroupIds()
	require.NoError(t, err)
	id := lookupIdentity(creds{PID: 1, UID: 0, GID: 0})
	assert.True(t, id.looked)
	for _, g := range want {
		n, err := strconv.ParseUint(g, 10, 32)
		require.NoError(t, err)
		assert.Equal(t, n != 0, slices.Contains(id.groups, uint32(n)), "group %s", g)
	}
	// An unknown uid has its primary group only.
	id = lookupIdentity(creds{UID: 3999999, GID: 42})
	assert.Empty(t, id.groups)
	assert.True(t, id.inGroup(42))
}
