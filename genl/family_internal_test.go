package genl

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Decoding a family allocates what it keeps, once each: the ops slice, the
// groups slice and each group's name, whatever the number of entries (the
// first 16 are gathered on the stack, more are counted once); the name asked
// for is reused.
func TestFamilyDecodeAllocations(t *testing.T) {
	for _, n := range []int{0, 1, 15, 16, 17, 40, 100} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			f := Family{ID: 16, Name: "fam", Version: 1}
			for i := range n {
				f.Ops = append(f.Ops, Op{ID: uint32(i), Flags: CmdCapDo})
				f.Groups = append(f.Groups, Group{ID: uint32(100 + i), Name: fmt.Sprintf("group%d", i)})
			}
			data, err := f.MarshalAttributes()
			require.NoError(t, err)
			var g Family
			require.NoError(t, g.unmarshal(data, "fam"))
			assert.Equal(t, f, g)
			want := 0
			if n > 0 {
				want = 2 + n // ops, groups, group names
			}
			allocs := testing.AllocsPerRun(50, func() { _ = g.unmarshal(data, "fam") })
			assert.Equal(t, float64(want), allocs)
		})
	}
}
