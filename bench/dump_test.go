//go:build linux

package bench

import (
	"context"
	"testing"
	"time"

	mdnl "github.com/mdlayher/netlink"
	vnl "github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/bench/internal/dumps"
)

// dumpRoutes benchmarks one full IPv4 RTM_GETROUTE dump per op in a
// namespace of routes routes, on sockets opened in that namespace before the
// loop. nlbus, mdlayher and raw count messages (all tables); vishvananda
// returns typed routes of the main table (see dumps.Vishvananda).
func dumpRoutes(b *testing.B, routes int, libs ...string) {
	for _, lib := range libs {
		b.Run(lib, func(b *testing.B) {
			ns := routesNS(b, routes)
			run := dumper(b, lib, ns.Fd())
			b.ReportAllocs()
			got := 0
			for b.Loop() {
				n, err := run()
				if err != nil {
					b.Fatal(err)
				}
				if got == 0 {
					if err := dumps.Check(lib, n, routes); err != nil {
						b.Fatal(err)
					}
				}
				got = n
			}
			b.ReportMetric(float64(got)*float64(b.N)/b.Elapsed().Seconds(), "routes/s")
		})
	}
}

// dumper opens lib's socket in the namespace nsfd (closed with the
// benchmark) and returns one dump.
func dumper(b *testing.B, lib string, nsfd int) func() (int, error) {
	switch lib {
	case "nlbus":
		c, err := netlink.Dial(netlink.Route, &netlink.Config{NetNS: nsfd})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		ctx := context.Background()
		return func() (int, error) { return dumps.Nlbus(ctx, c) }
	case "mdlayher":
		c, err := mdnl.Dial(unix.NETLINK_ROUTE, &mdnl.Config{NetNS: nsfd})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		return func() (int, error) { return dumps.Mdlayher(c) }
	case "vishvananda":
		h, err := vnl.NewHandleAt(netns.NsHandle(nsfd), unix.NETLINK_ROUTE)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(h.Close)
		return func() (int, error) { return dumps.Vishvananda(h) }
	case "raw":
		r, err := dumps.DialRaw(unix.NETLINK_ROUTE, nsfd)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { r.Close() })
		return func() (int, error) { return dumps.RawDump(r) }
	case "raw-poll":
		r, err := dumps.DialRawPoll(unix.NETLINK_ROUTE, nsfd)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { r.Close() })
		return func() (int, error) { return dumps.RawDump(r) }
	}
	b.Fatalf("unknown library %q", lib)
	return nil
}

func BenchmarkDumpRoutes10k(b *testing.B) {
	dumpRoutes(b, 10_000, append(dumps.Libs, "raw-poll")...)
}

// BenchmarkDumpRoutes1k pairs with BenchmarkDumpRoutes10k: nlbus's
// allocs/op must be the same for both (nothing grows with the dump).
func BenchmarkDumpRoutes1k(b *testing.B) {
	dumpRoutes(b, 1_000, "nlbus", "mdlayher", "raw")
}

// BenchmarkDumpRoutes10kPaired alternates, dump by dump, the library's
// Dump and the raw loop (each on its own socket in the same namespace of
// 10,000 routes), timing each, and reports the median of each and the
// ratio of their rates (raw's median over nlbus's). Dumps a few
// milliseconds apart see the same load, so the ratio holds on a shared
// machine where separate benchmarks swing. ns/op is the pair's.
func BenchmarkDumpRoutes10kPaired(b *testing.B) {
	ns := routesNS(b, 10_000)
	lib := dumper(b, "nlbus", ns.Fd())
	raw := dumper(b, "raw", ns.Fd())
	libNs := make([]int64, 0, b.N)
	rawNs := make([]int64, 0, b.N)
	timed := func(run func() (int, error)) int64 {
		t0 := time.Now()
		n, err := run()
		d := time.Since(t0)
		if err == nil {
			err = dumps.Check("paired", n, 10_000)
		}
		if err != nil {
			b.Fatal(err)
		}
		return int64(d)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Alternate which goes first, so neither always finds the
		// other's caches warm.
		if i%2 == 0 {
			libNs = append(libNs, timed(lib))
			rawNs = append(rawNs, timed(raw))
		} else {
			rawNs = append(rawNs, timed(raw))
			libNs = append(libNs, timed(lib))
		}
	}
	b.StopTimer()
	l, r := median(libNs), median(rawNs)
	b.ReportMetric(l, "nlbus-ns/op")
	b.ReportMetric(r, "raw-ns/op")
	b.ReportMetric(r/l, "nlbus-rate/raw-rate")
}
