package rtnl

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/compat"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Links decoded one after another through one arena, as a listing does,
// keep their own bytes: each equals the same message decoded alone, after
// all of them were decoded, and after every value's Extra was appended to
// (its capacity ends at its length, so the append copies).
func TestArenaLinksKeepTheirBytes(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "linux", "links.bin"))
	require.NoError(t, err)
	msgs, err := netlink.ParseMessages(b)
	require.NoError(t, err)
	f := compat.FactsFor(compat.Linux)
	var ar arena
	var got []Link
	// Enough values to fill several blocks.
	for len(got) < 3*arenaBlock/512 {
		for _, m := range msgs {
			var l Link
			require.NoError(t, decodeLink(f, m.Data, &l, &ar))
			got = append(got, l)
		}
	}
	for i := range got {
		got[i].Extra = append(got[i].Extra, 0xff, 0xff, 0xff, 0xff)
	}
	for i, l := range got {
		want, err := DecodeLink(f, msgs[i%len(msgs)].Data)
		require.NoError(t, err)
		want.Extra = append(want.Extra, 0xff, 0xff, 0xff, 0xff)
		assert.Equal(t, want, l, "link %d", i)
	}
}

// An arena hands out disjoint, zeroed ranges of the asked size.
func TestArenaAlloc(t *testing.T) {
	var ar arena
	var all [][]byte
	for _, n := range []int{1, 7, 100, arenaBlock / 4, arenaBlock/4 + 1, 3000, 0, 5} {
		b := ar.alloc(n)
		require.Len(t, b, n)
		require.Equal(t, n, cap(b))
		assert.True(t, slices.Equal(b, make([]byte, n)), "zeroed")
		for i := range b {
			b[i] = byte(len(all) + 1)
		}
		all = append(all, b)
	}
	for i, b := range all {
		for _, c := range b {
			require.Equal(t, byte(i+1), c, "range %d overwritten", i)
		}
	}
	// reserve and commit: what was appended is taken, the rest stays free.
	r := ar.reserve(64)
	r = append(r, 1, 2, 3)
	kept := ar.commit(r)
	next := ar.alloc(2)
	next[0], next[1] = 9, 9
	assert.Equal(t, []byte{1, 2, 3}, kept)
	assert.Equal(t, 3, cap(kept))
}
