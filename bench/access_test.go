//go:build linux

package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nlbus/netlink/bus"
	"github.com/nlbus/netlink/genl"
)

// accessRules writes an access file of n rules for the benchmark's family
// "bench": with anyone false, n-1 rules that name other uids (of every
// kind) and last the rule that names the caller; with anyone true, n-1
// rules for every caller about other families, then the same last rule.
func accessRules(tb testing.TB, n int, anyone bool) string {
	var b strings.Builder
	b.WriteString("rules:\n")
	kinds := []string{"call, family: bench", "register, family: \"bench.*\"", "send, port: 5000", "join, multicast: 300"}
	for i := range n - 1 {
		if anyone {
			fmt.Fprintf(&b, "  - {name: r%d, deny: call, family: other%d}\n", i, i)
			continue
		}
		fmt.Fprintf(&b, "  - {name: r%d, deny: %s, uid: %d}\n", i, kinds[i%len(kinds)], 200000+i)
	}
	if n > 0 {
		fmt.Fprintf(&b, "  - {name: mine, allow: call, family: bench, uid: %d}\n", os.Getuid())
	}
	path := filepath.Join(tb.TempDir(), "access.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// BenchmarkBusAccess: the round trip of a generic-netlink call (genl
// Conn.Execute, a do with an ACK) through the daemon to a service process,
// on three daemons at once, one call on each in turn (each first in turn)
// so that they share the machine's state: with no access rules (none), with 100 rules of
// which only the last names the caller (100-others: the case), and
// with 100 rules that all apply to the caller but the first 99 to other
// families (100-anyone: the worst case, each call scans them). It reports
// each one's p50 and mean, and the ratios to none.
func BenchmarkBusAccess(b *testing.B) {
	type setup struct {
		name string
		gc   *genl.Conn
		fam  uint16
		lat  latencies
		sum  time.Duration
	}
	ctx := context.Background()
	var setups []*setup
	for _, s := range []struct {
		name   string
		rules  int
		anyone bool
	}{{"none", 0, false}, {"100-others", 100, false}, {"100-anyone", 100, true}} {
		var env []string
		if s.rules > 0 {
			env = append(env, "ACCESS_FILE="+accessRules(b, s.rules, s.anyone))
		}
		sock := sockPath(b)
		startHelper(b, "daemon-access", sock, env...)
		startHelper(b, "access-service", sock)
		c, err := bus.Dial(&bus.Config{Socket: sock})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		gc := genl.NewConn(c)
		fam, err := gc.GetFamily(ctx, "bench")
		if err != nil {
			b.Fatal(err)
		}
		setups = append(setups, &setup{name: s.name, gc: gc, fam: fam.ID, lat: make(latencies, 0, b.N)})
	}
	msg := genl.Message{Header: genl.Header{Command: 1}, Data: make([]byte, 44)}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		// Each daemon goes first in turn, so none gains from its place.
		for j := range setups {
			s := setups[(i+j)%len(setups)]
			t0 := time.Now()
			if _, err := s.gc.Execute(ctx, s.fam, msg, 0); err != nil {
				b.Fatal(s.name, ": ", err)
			}
			d := time.Since(t0)
			s.lat = append(s.lat, d)
			s.sum += d
		}
	}
	b.StopTimer()
	p50 := func(s *setup) float64 {
		slices.Sort(s.lat)
		return float64(s.lat[len(s.lat)/2].Nanoseconds()) / 1e3
	}
	mean := func(s *setup) float64 { return float64(s.sum.Nanoseconds()) / 1e3 / float64(len(s.lat)) }
	base50, baseMean := p50(setups[0]), mean(setups[0])
	for _, s := range setups {
		b.ReportMetric(p50(s), "p50-µs-"+s.name)
		b.ReportMetric(mean(s), "mean-µs-"+s.name)
		if s != setups[0] {
			b.ReportMetric(p50(s)/base50, "p50-ratio-"+s.name)
			b.ReportMetric(mean(s)/baseMean, "mean-ratio-"+s.name)
		}
	}
}

// runAccessService registers the family "bench" (command 1, do) and ACKs
// every call (the access-service role).
func runAccessService(path string, ready func()) error {
	ctx := context.Background()
	c, err := bus.Dial(&bus.Config{Socket: path})
	if err != nil {
		return err
	}
	fam, err := bus.RegisterFamily(ctx, c, bus.FamilySpec{
		Name: "bench", Version: 1,
		Ops: []bus.Op{{Cmd: 1, Flags: genl.CmdCapDo}},
	})
	if err != nil {
		return err
	}
	ready()
	return bus.Serve(ctx, c, fam, map[uint8]bus.Handler{
		1: func(context.Context, *bus.ReplyWriter, *bus.Request) error { return nil },
	})
}

// runAccessDaemon serves the bus at path with the access rules in file
// ("" for none; the daemon-access role).
func runAccessDaemon(path, file string, ready func()) error {
	srv := &bus.Server{}
	if file != "" {
		a, err := bus.LoadAccess(file)
		if err != nil {
			return err
		}
		srv.Access = a
	}
	l, err := bus.Listen(path, nil)
	if err != nil {
		return err
	}
	ready()
	return srv.Serve(l)
}
