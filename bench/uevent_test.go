package bench

import (
	"context"
	"testing"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/nltest"
	"github.com/nlbus/netlink/transport"
	"github.com/nlbus/netlink/uevent"
)

// ueventVethAdd is a kernel uevent as Linux 6.18 sends it for a new veth.
var ueventVethAdd = []byte("add@/devices/virtual/net/vb\x00ACTION=add\x00DEVPATH=/devices/virtual/net/vb\x00" +
	"SUBSYSTEM=net\x00INTERFACE=vb\x00IFINDEX=2\x00SEQNUM=4468\x00")

// BenchmarkUeventRead reads kernel uevents with uevent.Reader from the
// in-memory transport (nltest.Mem), so that it measures the library, not the
// kernel: ReadDatagram into the Reader's buffer, Parse, and a Lookup of
// INTERFACE. Queueing each batch of datagrams is outside the timer and the
// allocation count.
func BenchmarkUeventRead(b *testing.B) {
	b.ReportAllocs()
	mem := nltest.NewMem(nil, nltest.MemConfig{})
	c, err := netlink.NewConn(mem, &netlink.Config{Groups: []uint32{uevent.KernelGroup}})
	if err != nil {
		b.Fatal(err)
	}
	r := uevent.NewReader(c)
	defer r.Close()
	const batch = 4096
	reads := make([]nltest.Read, batch)
	for i := range reads {
		reads[i] = nltest.Read{Data: ueventVethAdd, Src: transport.Addr{Group: uevent.KernelGroup}}
	}
	ctx := context.Background()
	b.SetBytes(int64(len(ueventVethAdd)))
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
		if name, ok := ev.Lookup("INTERFACE"); !ok || len(name) != 2 {
			b.Fatalf("INTERFACE %q", name)
		}
	}
}
