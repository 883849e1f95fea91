package bus

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/nlbus/netlink"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Random pushes and pops against a model: every queued payload stays
// intact until it is popped (none is written over by a later one, across
// the wrap), an empty queue takes any payload, growing only for one larger
// than its buffer, and a full one refuses without changing anything.
func TestReqQueueModel(t *testing.T) {
	for _, tc := range []struct{ entries, bytes int }{{8, 100}, {3, 64}, {64, 40}, {1, 16}} {
		q := newReqQueue(tc.entries, tc.bytes)
		rng := rand.New(rand.NewPCG(1, uint64(tc.bytes)))
		type item struct {
			port uint32
			data []byte
		}
		var model []item
		check := func() {
			t.Helper()
			require.Equal(t, len(model), q.n)
			for i, it := range model {
				e := &q.ents[(q.head+i)%len(q.ents)]
				require.Equal(t, it.port, e.port)
				require.True(t, bytes.Equal(it.data, q.payload(e)), "payload %d of %d written over", i, len(model))
			}
		}
		for op := range 20000 {
			if rng.IntN(2) == 0 && len(model) > 0 {
				q.pop()
				model = model[1:]
				check()
				continue
			}
			size := 1 + rng.IntN(tc.bytes/2)
			if rng.IntN(200) == 0 {
				size = tc.bytes + rng.IntN(10) // larger than the buffer
			}
			data := make([]byte, size)
			for i := range data {
				data[i] = byte(op + i)
			}
			m := netlink.Message{Header: netlink.Header{Sequence: uint32(op)}, Data: data, Addr: netlink.Addr{Port: uint32(op)}}
			was, bufLen := len(model), len(q.buf)
			if q.push(&m) {
				model = append(model, item{uint32(op), data})
				if size > bufLen {
					require.Zero(t, was, "grew for a large payload while not empty")
				} else {
					require.Equal(t, bufLen, len(q.buf), "grew without need")
				}
			} else {
				require.NotZero(t, was, "an empty queue refused %d bytes", size)
			}
			check()
		}
	}
}

// markGone marks a port's requests from the given position on, once each.
func TestReqQueueMarkGone(t *testing.T) {
	q := newReqQueue(8, 1024)
	for _, port := range []uint32{7, 8, 7, 9, 7} {
		m := netlink.Message{Data: []byte{1, 2, 3, 4}, Addr: netlink.Addr{Port: port}}
		require.True(t, q.push(&m))
	}
	assert.Equal(t, 2, q.markGone(7, 1), "the front (being served) is not marked")
	assert.Equal(t, 0, q.markGone(7, 1), "marked once")
	assert.False(t, q.front().gone)
	assert.Equal(t, 1, q.markGone(8, 0))
	var gone []bool
	for i := range q.n {
		gone = append(gone, q.ents[(q.head+i)%len(q.ents)].gone)
	}
	assert.Equal(t, []bool{false, true, true, false, true}, gone)
}
