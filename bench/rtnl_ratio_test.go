//go:build linux

package bench

import (
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/nlbus/netlink/bench/internal/rtnlbench"
)

// The ratio benchmarks run every library once per op, interleaved, and
// report the ratios of the medians of their times: on a loaded machine a
// slow period then costs every library alike, where the sequential
// benchmarks above would charge it to whichever ran then. A collection
// runs before each timed call, untimed, so that no library pays for the
// garbage of the one before it; none pays for its own either, which
// favours the libraries that allocate most.

func interleaved(b *testing.B, count int, libs []string, open func(lib string) (*rtnlbench.Lister, error), base string, unit string) {
	listers := make([]*rtnlbench.Lister, len(libs))
	for i, lib := range libs {
		l, err := open(lib)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(l.Close)
		listers[i] = l
	}
	times := make([][]time.Duration, len(libs))
	for b.Loop() {
		for i, l := range listers {
			if os.Getenv("NLBENCH_NO_GC") == "" {
				b.StopTimer()
				runtime.GC()
				b.StartTimer()
			}
			start := time.Now()
			n, err := l.List()
			times[i] = append(times[i], time.Since(start))
			if err != nil {
				b.Fatal(err)
			}
			if n < count || n > count+16 || (unit == "links" && n != count) {
				b.Fatalf("%s listed %d, want %d", libs[i], n, count)
			}
		}
	}
	median := func(d []time.Duration) time.Duration {
		d = slices.Clone(d)
		slices.Sort(d)
		return d[len(d)/2]
	}
	var baseT time.Duration
	for i, lib := range libs {
		if lib == base {
			baseT = median(times[i])
		}
	}
	for i, lib := range libs {
		m := median(times[i])
		b.ReportMetric(float64(count)/m.Seconds(), lib+"-"+unit+"/s")
		if lib != base {
			b.ReportMetric(float64(m)/float64(baseT), lib+"/"+base+"-x")
		}
	}
}

// BenchmarkRtnlRoutes100kRatio: 100,000 IPv4 routes, typed, per library.
func BenchmarkRtnlRoutes100kRatio(b *testing.B) {
	ns := routesNS(b, 100_000)
	interleaved(b, 100_000, rtnlbench.RouteLibs, func(lib string) (*rtnlbench.Lister, error) {
		return rtnlbench.Routes(lib, ns.Fd(), ns.Name)
	}, "rtnl", "routes")
}

// BenchmarkRtnlLinks400Ratio: 400 links, typed, per library.
func BenchmarkRtnlLinks400Ratio(b *testing.B) {
	ns := linksNS(b, 400)
	interleaved(b, 400, rtnlbench.LinkLibs, func(lib string) (*rtnlbench.Lister, error) {
		return rtnlbench.Links(lib, ns.Fd())
	}, "rtnl", "links")
}
