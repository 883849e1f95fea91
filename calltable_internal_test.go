package netlink

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// The table agrees with a map through random puts, replacements and
// deletes, past its inline entries and back.
func TestCallTableMatchesMap(t *testing.T) {
	var tab callTable
	want := map[uint32]*call{}
	calls := make([]*call, 16)
	for i := range calls {
		calls[i] = &call{}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for step := range 20000 {
		seq := uint32(r.IntN(12))
		switch r.IntN(3) {
		case 0, 1:
			cl := calls[r.IntN(len(calls))]
			tab.put(seq, cl)
			want[seq] = cl
		default:
			tab.del(seq)
			delete(want, seq)
		}
		require.Equal(t, len(want), tab.len(), "step %d", step)
		for s := range uint32(12) {
			got, ok := tab.get(s)
			w, wok := want[s]
			require.Equal(t, wok, ok, "step %d seq %d", step, s)
			require.Same(t, w, got, "step %d seq %d", step, s)
		}
		seen := 0
		tab.each(func(*call) { seen++ })
		require.Equal(t, len(want), seen, "step %d", step)
	}
}
