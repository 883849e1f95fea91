//go:build linux

package bench

import (
	"context"
	"testing"
	"time"

	mdnl "github.com/mdlayher/netlink"
	vnl "github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/bench/internal/dumps"
)

// ifinfoLo is struct ifinfomsg asking for ifindex 1 (lo).
var ifinfoLo = func() (b [unix.SizeofIfInfomsg]byte) {
	he.PutUint32(b[4:], 1)
	return b
}()

// BenchmarkGetLink is a do-request: RTM_GETLINK for ifindex 1 in the
// current namespace (read-only, no privilege needed), on one socket opened
// before the loop.
//
// nlbus and raw send NLM_F_ACK and read the reply and the ACK (two
// recvmsg). mdlayher must not ask for the ACK: its Execute returns at the
// reply and the ACK would surface as a stale message on the next call
// (mdlayher/netlink #167), so it does one recvmsg. vishvananda asks for
// the ACK but returns at the reply and skips the previous call's stale ACK
// on its next one (two recvmsg, the ACK read a call late); it also decodes
// the reply into a typed Link. raw-noack is the floor of the one-recvmsg
// variant; raw-poll is raw with the socket in the Go runtime poller, which
// nlbus, mdlayher and vishvananda all use (see dumps.Raw).
func BenchmarkGetLink(b *testing.B) {
	ctx := context.Background()
	req := netlink.Message{
		Header: netlink.Header{Type: unix.RTM_GETLINK},
		Data:   ifinfoLo[:],
	}
	b.Run("nlbus-execute", func(b *testing.B) {
		c, err := netlink.Dial(netlink.Route, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		b.ReportAllocs()
		for b.Loop() {
			msgs, err := c.Execute(ctx, req)
			if err != nil {
				b.Fatal(err)
			}
			if len(msgs) != 1 || msgs[0].Header.Type != unix.RTM_NEWLINK {
				b.Fatalf("got %d messages", len(msgs))
			}
		}
	})
	b.Run("nlbus-do", func(b *testing.B) {
		c, err := netlink.Dial(netlink.Route, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		b.ReportAllocs()
		n := 0
		fn := func(m netlink.Message) error {
			if m.Header.Type == unix.RTM_NEWLINK {
				n++
			}
			return nil
		}
		for b.Loop() {
			if _, err := c.Do(ctx, req, fn); err != nil {
				b.Fatal(err)
			}
		}
		if n != b.N {
			b.Fatalf("%d replies for %d requests", n, b.N)
		}
	})
	b.Run("nlbus-query", func(b *testing.B) {
		c, err := netlink.Dial(netlink.Route, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		b.ReportAllocs()
		n := 0
		fn := func(m netlink.Message) error {
			if m.Header.Type == unix.RTM_NEWLINK {
				n++
			}
			return nil
		}
		for b.Loop() {
			if err := c.Query(ctx, req, fn); err != nil {
				b.Fatal(err)
			}
		}
		if n != b.N {
			b.Fatalf("%d replies for %d requests", n, b.N)
		}
	})
	b.Run("mdlayher", func(b *testing.B) {
		c, err := mdnl.Dial(unix.NETLINK_ROUTE, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		mreq := mdnl.Message{
			Header: mdnl.Header{Type: unix.RTM_GETLINK, Flags: mdnl.Request},
			Data:   ifinfoLo[:],
		}
		b.ReportAllocs()
		for b.Loop() {
			msgs, err := c.Execute(mreq)
			if err != nil {
				b.Fatal(err)
			}
			if len(msgs) != 1 {
				b.Fatalf("got %d messages", len(msgs))
			}
		}
	})
	b.Run("vishvananda", func(b *testing.B) {
		h, err := vnl.NewHandle(unix.NETLINK_ROUTE)
		if err != nil {
			b.Fatal(err)
		}
		defer h.Close()
		b.ReportAllocs()
		for b.Loop() {
			l, err := h.LinkByIndex(1)
			if err != nil {
				b.Fatal(err)
			}
			if l.Attrs().Index != 1 {
				b.Fatalf("got link %d", l.Attrs().Index)
			}
		}
	})
	raw := func(flags uint16, dial func(proto, nsfd int) (*dumps.Raw, error)) func(b *testing.B) {
		return func(b *testing.B) {
			r, err := dial(unix.NETLINK_ROUTE, 0)
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			b.ReportAllocs()
			n := 0
			fn := func(typ uint16, _ []byte) {
				if typ == unix.RTM_NEWLINK {
					n++
				}
			}
			for b.Loop() {
				if err := r.Do(unix.RTM_GETLINK, flags, ifinfoLo[:], fn); err != nil {
					b.Fatal(err)
				}
			}
			if n != b.N {
				b.Fatalf("%d replies for %d requests", n, b.N)
			}
		}
	}
	b.Run("raw", raw(unix.NLM_F_ACK, dumps.DialRaw))
	b.Run("raw-poll", raw(unix.NLM_F_ACK, dumps.DialRawPoll))
	b.Run("raw-noack", raw(0, dumps.DialRaw))
}

// BenchmarkGetLinkParallel runs the GetLink do-request (with ACK) from 4
// goroutines: nlbus-shared on one Conn and one socket, nlbus-request-sockets
// on one Conn with Config.RequestSockets 4, raw with a socket per goroutine.
// Compare ns/op with BenchmarkGetLink's nlbus-do (one goroutine) of the
// same run: the rate ratio is the shared Conn's scaling.
func BenchmarkGetLinkParallel(b *testing.B) {
	ctx := context.Background()
	req := netlink.Message{
		Header: netlink.Header{Type: unix.RTM_GETLINK},
		Data:   ifinfoLo[:],
	}
	b.Run("nlbus-shared", func(b *testing.B) {
		c, err := netlink.Dial(netlink.Route, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		b.ReportAllocs()
		b.SetParallelism(2) // 2 x GOMAXPROCS(2) = 4 goroutines
		b.RunParallel(func(pb *testing.PB) {
			fn := func(netlink.Message) error { return nil }
			for pb.Next() {
				if _, err := c.Do(ctx, req, fn); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("nlbus-request-sockets", func(b *testing.B) {
		c, err := netlink.Dial(netlink.Route, &netlink.Config{RequestSockets: 4})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		b.ReportAllocs()
		b.SetParallelism(2)
		b.RunParallel(func(pb *testing.PB) {
			fn := func(netlink.Message) error { return nil }
			for pb.Next() {
				if _, err := c.Do(ctx, req, fn); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("raw-per-goroutine", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(2)
		b.RunParallel(func(pb *testing.PB) {
			r, err := dumps.DialRaw(unix.NETLINK_ROUTE, 0)
			if err != nil {
				b.Error(err)
				return
			}
			defer r.Close()
			fn := func(uint16, []byte) {}
			for pb.Next() {
				if err := r.Do(unix.RTM_GETLINK, unix.NLM_F_ACK, ifinfoLo[:], fn); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkGetLinkPaired alternates, op by op, the library's Query (no ACK:
// ends at the reply) and the raw loop without ACK, and its Do (reply and
// ACK) and the raw loop with ACK, timing each op, and reports the median of
// each and the ratios of the rates (raw's median over nlbus's). Ops a few
// microseconds apart see the same load, so the ratios hold where separate
// benchmarks swing by more than the gap they measure. ns/op is the four's.
func BenchmarkGetLinkPaired(b *testing.B) {
	ctx := context.Background()
	req := netlink.Message{Header: netlink.Header{Type: unix.RTM_GETLINK}, Data: ifinfoLo[:]}
	c, err := netlink.Dial(netlink.Route, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	r, err := dumps.DialRaw(unix.NETLINK_ROUTE, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	n := 0
	fn := func(m netlink.Message) error {
		if m.Header.Type == unix.RTM_NEWLINK {
			n++
		}
		return nil
	}
	rawFn := func(typ uint16, _ []byte) {
		if typ == unix.RTM_NEWLINK {
			n++
		}
	}
	timed := func(op func() error) int64 {
		t0 := time.Now()
		err := op()
		d := time.Since(t0)
		if err != nil {
			b.Fatal(err)
		}
		return int64(d)
	}
	ops := []func() error{
		func() error { return c.Query(ctx, req, fn) },
		func() error { return r.Do(unix.RTM_GETLINK, 0, ifinfoLo[:], rawFn) },
		func() error { _, err := c.Do(ctx, req, fn); return err },
		func() error { return r.Do(unix.RTM_GETLINK, unix.NLM_F_ACK, ifinfoLo[:], rawFn) },
	}
	times := make([][]int64, len(ops))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Rotate which goes first, so that none always finds the
		// others' caches warm.
		for j := range ops {
			k := (i + j) % len(ops)
			times[k] = append(times[k], timed(ops[k]))
		}
	}
	b.StopTimer()
	if n != 4*b.N {
		b.Fatalf("%d replies for %d requests", n, 4*b.N)
	}
	q, rn, d, ra := median(times[0]), median(times[1]), median(times[2]), median(times[3])
	b.ReportMetric(q, "query-ns/op")
	b.ReportMetric(rn, "raw-noack-ns/op")
	b.ReportMetric(rn/q, "query-rate/raw-noack-rate")
	b.ReportMetric(d, "do-ns/op")
	b.ReportMetric(ra, "raw-ns/op")
	b.ReportMetric(ra/d, "do-rate/raw-rate")
}
