//go:build linux

package bench

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/nlbus/netlink/bench/internal/rtnlbench"
	"github.com/nlbus/netlink/bench/internal/testns"
)

// BenchmarkRtnlRoutes100k lists the IPv4 routes of a namespace of 100,000
// /32 routes, typed, once per op: rtnl streams rtnl.Route values from one
// dump; vishvananda (RouteList) and jsimonetti (Route.List) return slices of
// their typed routes; ip-json is `ip -j -4 route show table all` run as a
// process, its output kept in memory and counted.
func BenchmarkRtnlRoutes100k(b *testing.B) {
	const routes = 100_000
	for _, lib := range rtnlbench.RouteLibs {
		b.Run(lib, func(b *testing.B) {
			ns := routesNS(b, routes)
			l, err := rtnlbench.Routes(lib, ns.Fd(), ns.Name)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(l.Close)
			b.ReportAllocs()
			got := 0
			for b.Loop() {
				n, err := l.List()
				if err != nil {
					b.Fatal(err)
				}
				got = n
			}
			if got < routes || got > routes+16 {
				b.Fatalf("%s listed %d routes, want %d", lib, got, routes)
			}
			b.ReportMetric(float64(got)*float64(b.N)/b.Elapsed().Seconds(), "routes/s")
		})
	}
}

// linksNS is a namespace with n dummy links (veth pairs where the kernel
// has no dummy driver), built once per process.
func linksNS(b *testing.B, n int) *testns.NS {
	b.Helper()
	if !testns.IsRoot() {
		b.Skip("needs root to create a network namespace with links")
	}
	name := fmt.Sprintf("nlbench-links-%d-%d", os.Getpid(), n)
	_ = exec.Command("ip", "netns", "del", name).Run()
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		b.Fatalf("ip netns add: %v: %s", err, out)
	}
	b.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	var batch strings.Builder
	kind := os.Getenv("NLBENCH_LINK_KIND")
	switch kind {
	case "":
		// dummy where the kernel has it (the lightest links), else ifb.
		kind = "dummy"
		if exec.Command("ip", "-n", name, "link", "add", "probe0", "type", "dummy").Run() != nil {
			kind = "ifb"
		} else {
			batch.WriteString("link del probe0\n")
		}
	case "dummy", "ifb", "veth":
	default:
		b.Fatalf("NLBENCH_LINK_KIND=%q: want dummy, ifb or veth", kind)
	}
	b.Logf("%d links of kind %s", n, kind)
	if kind == "veth" {
		for i := range (n - 1) / 2 { // and lo, and one dummy-less odd link
			fmt.Fprintf(&batch, "link add l%d type veth peer name p%d\n", i, i)
		}
		if (n-1)%2 == 1 {
			batch.WriteString("link add odd type ifb\n")
		}
	} else {
		for i := range n - 1 { // and lo
			fmt.Fprintf(&batch, "link add l%d type %s\n", i, kind)
		}
	}
	cmd := exec.Command("ip", "-n", name, "-batch", "-")
	cmd.Stdin = strings.NewReader(batch.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("ip -batch: %v: %s", err, out)
	}
	ns, err := testns.Open(name)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ns.Close() })
	return ns
}

// BenchmarkRtnlLinks400 lists 400 links, typed, once per op.
func BenchmarkRtnlLinks400(b *testing.B) {
	const links = 400
	ns := linksNS(b, links)
	for _, lib := range rtnlbench.LinkLibs {
		b.Run(lib, func(b *testing.B) {
			l, err := rtnlbench.Links(lib, ns.Fd())
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(l.Close)
			b.ReportAllocs()
			got := 0
			for b.Loop() {
				n, err := l.List()
				if err != nil {
					b.Fatal(err)
				}
				got = n
			}
			if got != links {
				b.Fatalf("%s listed %d links, want %d", lib, got, links)
			}
			b.ReportMetric(float64(got)*float64(b.N)/b.Elapsed().Seconds(), "links/s")
		})
	}
}
