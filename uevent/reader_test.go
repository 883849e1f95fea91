package uevent_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/nltest"
	"github.com/nlbus/netlink/transport"
	"github.com/nlbus/netlink/uevent"
)

// memReader returns a Reader over an in-memory transport.
func memReader(t testing.TB) (*uevent.Reader, *nltest.Mem) {
	t.Helper()
	mem := nltest.NewMem(nil, nltest.MemConfig{})
	c, err := netlink.NewConn(mem, &netlink.Config{Groups: []uint32{uevent.KernelGroup}})
	require.NoError(t, err)
	r := uevent.NewReader(c)
	t.Cleanup(func() { r.Close() })
	return r, mem
}

func TestReader(t *testing.T) {
	ctx := context.Background()
	r, mem := memReader(t)
	assert.Equal(t, []uint32{uevent.KernelGroup}, mem.Groups())

	udev := udevMessage(40, 40, "ACTION=remove\x00DEVPATH=/devices/virtual/net/va\x00SUBSYSTEM=net\x00SEQNUM=5182\x00", 1, 0, 0, 0)
	mem.Inject(
		nltest.Read{Data: []byte(vethAdd), Src: transport.Addr{Group: uevent.KernelGroup}},
		nltest.Read{Data: []byte("garbage"), Src: transport.Addr{Port: 77, Group: uevent.KernelGroup}},
		nltest.Read{Overrun: true},
		nltest.Read{Data: udev, Src: transport.Addr{Port: 1234, Group: uevent.UdevGroup}},
		nltest.Read{Data: make([]byte, uevent.MaxSize+1)},
		nltest.Read{Data: []byte(vethAdd)},
	)

	ev, err := r.Read(ctx)
	require.NoError(t, err)
	assert.Equal(t, uevent.Add, ev.Action)
	assert.Equal(t, "/devices/virtual/net/va", string(ev.DevPath))
	assert.Equal(t, "net", string(ev.Subsystem))
	assert.Equal(t, uint64(5181), ev.Seqnum)
	assert.Equal(t, "va", ev.Get("INTERFACE"))
	assert.Equal(t, netlink.Addr{Group: uevent.KernelGroup}, ev.Src)
	kept := ev.Copy()

	_, err = r.Read(ctx)
	require.ErrorIs(t, err, uevent.ErrMalformed)
	assert.Contains(t, err.Error(), "port 77")

	_, err = r.Read(ctx)
	require.ErrorIs(t, err, netlink.ErrOverrun, "lost events are reported")

	ev2, err := r.Read(ctx)
	require.NoError(t, err, "the Reader reads on after errors")
	assert.Same(t, ev, ev2, "one reused Event")
	assert.Equal(t, uevent.Udev, ev2.Source)
	assert.Equal(t, uevent.Remove, ev2.Action)
	assert.Equal(t, uint32(1), ev2.Udev.SubsystemHash)
	assert.Equal(t, netlink.Addr{Port: 1234, Group: uevent.UdevGroup}, ev2.Src)
	assert.Equal(t, "va", kept.Get("INTERFACE"), "a copy outlives the next Read")
	assert.Equal(t, uint64(5181), kept.Seqnum)

	_, err = r.Read(ctx)
	require.ErrorIs(t, err, netlink.ErrTruncated)

	_, err = r.Read(ctx)
	require.NoError(t, err)

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = r.Read(cctx)
	require.ErrorIs(t, err, context.Canceled)

	require.NoError(t, r.Close())
	_, err = r.Read(ctx)
	require.ErrorIs(t, err, netlink.ErrClosed)
}

// TestAllocsRead pins the Reader's budget: no allocation per event.
func TestAllocsRead(t *testing.T) {
	ctx := context.Background()
	r, mem := memReader(t)
	udev := udevMessage(40, 40, "ACTION=add\x00DEVPATH=/d\x00SUBSYSTEM=s\x00SEQNUM=1\x00", 1, 2, 3, 4)
	const runs = 100
	reads := make([]nltest.Read, 0, 2*(runs+1))
	for range runs + 1 {
		reads = append(reads, nltest.Read{Data: []byte(vethAdd)}, nltest.Read{Data: udev})
	}
	mem.Inject(reads...)
	var seq uint64
	allocs := testing.AllocsPerRun(runs, func() {
		for range 2 {
			ev, err := r.Read(ctx)
			if err != nil {
				panic(err)
			}
			seq += ev.Seqnum
		}
	})
	assert.Zero(t, allocs)
	assert.NotZero(t, seq)
}

// BenchmarkRead reads kernel uevents from the in-memory transport; the
// injection of each batch is outside the timer (and the allocation count).
func BenchmarkRead(b *testing.B) {
	for _, bc := range []struct {
		name string
		data []byte
	}{
		{"kernel", []byte(vethAdd)},
		{"udev", udevMessage(40, 40, "ACTION=add\x00DEVPATH=/devices/virtual/net/va\x00SUBSYSTEM=net\x00SEQNUM=9\x00INTERFACE=va\x00IFINDEX=3\x00ID_NET_NAME=va\x00", 1, 2, 3, 4)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			r, mem := memReader(b)
			const batch = 4096
			reads := make([]nltest.Read, batch)
			for i := range reads {
				reads[i] = nltest.Read{Data: bc.data, Src: transport.Addr{Group: uevent.KernelGroup}}
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.data)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if i%batch == 0 {
					b.StopTimer()
					mem.Inject(reads...)
					b.StartTimer()
				}
				ev, err := r.Read(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if ev.Action != uevent.Add {
					b.Fatal(ev.Action)
				}
			}
		})
	}
}
