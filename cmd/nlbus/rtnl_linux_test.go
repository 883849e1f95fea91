//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nlbus/netlink/internal/nettest"
)

// rtNlbusJSON runs nlbus args... and decodes its JSON output.
func rtNlbusJSON(t *testing.T, args ...string) []map[string]any {
	t.Helper()
	var out, errOut bytes.Buffer
	code := runMain(context.Background(), &env{stdout: &out, stderr: &errOut}, args)
	require.Equal(t, 0, code, "nlbus %s: %s", strings.Join(args, " "), errOut.String())
	var v []map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &v), out.String())
	return v
}

// rtCanon renders objects as sorted JSON strings, keeping only keys.
func rtCanon(t *testing.T, objs []map[string]any, keys ...string) []string {
	var out []string
	for _, o := range objs {
		k := map[string]any{}
		for _, key := range keys {
			if v, ok := o[key]; ok {
				k[key] = v
			}
		}
		b, err := json.Marshal(k)
		require.NoError(t, err)
		out = append(out, string(b))
	}
	sort.Strings(out)
	return out
}

// rtSettledEqual takes snapshots until ip's output and nlbus's agree (the
// kernel adds IPv6 link-local addresses, routes and neighbours on its own
// time, possibly between two reads), then asserts they are equal and
// returns them.
func rtSettledEqual(t *testing.T, snap func() (want, got []string)) ([]string, []string) {
	t.Helper()
	var want, got []string
	for i := 0; i < 30; i++ {
		if want, got = snap(); slices.Equal(want, got) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	assert.Equal(t, want, got)
	return want, got
}

func rtSetupNS(t *testing.T) *nettest.NS {
	ns := nettest.NewNS(t)
	ns.AddDummy(t, "d0")
	ns.AddDummy(t, "d1")
	lines := []string{
		"link set d0 up mtu 1400",
		"link set d1 up",
		"link add va type veth peer name vb",
		"link add br0 type bridge",
		"link set va master br0",
		"addr add 10.0.0.1/24 dev d0 label d0:x",
		"addr add 10.9.0.1 peer 10.9.0.2 dev d0",
		"addr add 10.0.1.1/24 dev d1",
		"addr add 2001:db8::1/64 dev d0 nodad",
		"route add 192.168.0.0/16 nexthop via 10.0.0.2 dev d0 weight 2 nexthop via 10.0.1.2 dev d1",
		"route add 172.16.0.0/12 via 10.0.0.2 mtu 1300 table 100",
		"route add blackhole 198.18.0.0/15 metric 7",
		"route add 2001:db8:5::/48 via 2001:db8::2 dev d0 metric 42",
		"neigh add 10.0.0.2 lladdr 02:00:00:00:00:02 dev d0",
		"neigh add 2001:db8::2 lladdr 02:00:00:00:00:03 dev d0 nud stale",
	}
	for i := range 2000 {
		lines = append(lines, fmt.Sprintf("route add 10.%d.%d.0/24 via 10.0.1.2 table 200", 100+i/256, i%256))
	}
	ns.Batch(t, lines)
	return ns
}

func TestKernelCLIMatchesIPJSON(t *testing.T) {
	ns := rtSetupNS(t)
	ipJSON := func(args ...string) []map[string]any {
		var v []map[string]any
		ns.JSON(t, &v, args...)
		return v
	}
	t.Run("link", func(t *testing.T) {
		keys := []string{"ifindex", "ifname", "link", "link_index", "mtu", "master", "operstate", "group", "txqlen", "link_type", "address", "broadcast", "flags", "qdisc"}
		rtSettledEqual(t, func() ([]string, []string) {
			return rtCanon(t, ipJSON("link", "show"), keys...), rtCanon(t, rtNlbusJSON(t, "link", "list", "--json", "--netns", ns.Name), keys...)
		})
	})
	t.Run("addr", func(t *testing.T) {
		// Lifetimes count down between the two reads; rtnl's tests compare
		// them with a tolerance.
		keys := []string{"family", "local", "address", "prefixlen", "broadcast", "scope", "label"}
		flat := rtFlatAddrs
		keys = append(keys, "dev")
		rtSettledEqual(t, func() ([]string, []string) {
			return rtCanon(t, flat(ipJSON("addr", "show")), keys...), rtCanon(t, flat(rtNlbusJSON(t, "addr", "list", "--json", "--netns", ns.Name)), keys...)
		})
	})
	routeKeys := []string{"type", "dst", "from", "gateway", "dev", "table", "protocol", "scope", "metric", "prefsrc", "flags", "pref", "metrics", "nexthops"}
	t.Run("route every table both families", func(t *testing.T) {
		_, got := rtSettledEqual(t, func() ([]string, []string) {
			want := append(ipJSON("-4", "route", "show", "table", "all"), ipJSON("-6", "route", "show", "table", "all")...)
			got := rtNlbusJSON(t, "route", "list", "--json", "--netns", ns.Name)
			return rtCanon(t, want, routeKeys...), rtCanon(t, got, routeKeys...)
		})
		assert.Greater(t, len(got), 2000)
	})
	t.Run("route -4 --table 200", func(t *testing.T) {
		_, got := rtSettledEqual(t, func() ([]string, []string) {
			want := ipJSON("-4", "route", "show", "table", "200")
			got := rtNlbusJSON(t, "route", "list", "--json", "-4", "--table", "200", "--netns", ns.Name)
			return rtCanon(t, want, routeKeys...), rtCanon(t, got, routeKeys...)
		})
		assert.Len(t, got, 2000)
	})
	t.Run("route -6", func(t *testing.T) {
		rtSettledEqual(t, func() ([]string, []string) {
			want := ipJSON("-6", "route", "show", "table", "all")
			got := rtNlbusJSON(t, "route", "list", "--json", "-6", "--netns", ns.Name)
			return rtCanon(t, want, routeKeys...), rtCanon(t, got, routeKeys...)
		})
	})
	t.Run("neigh", func(t *testing.T) {
		keys := []string{"dst", "dev", "lladdr", "state", "router"}
		rtSettledEqual(t, func() ([]string, []string) {
			return rtCanon(t, ipJSON("neigh", "show", "nud", "all"), keys...), rtCanon(t, rtNlbusJSON(t, "neigh", "list", "--json", "--all", "--netns", ns.Name), keys...)
		})
		// Without --all, like ip neigh show: no NOARP (multicast) entries.
		_, got := rtSettledEqual(t, func() ([]string, []string) {
			return rtCanon(t, ipJSON("neigh", "show"), keys...), rtCanon(t, rtNlbusJSON(t, "neigh", "list", "--json", "--netns", ns.Name), keys...)
		})
		assert.NotEmpty(t, got)
		for _, n := range got {
			assert.NotContains(t, n, "NOARP")
		}
	})
	t.Run("text", func(t *testing.T) {
		for _, cmd := range []string{"link", "addr", "route", "neigh"} {
			var out, errOut bytes.Buffer
			require.Equal(t, 0, runMain(context.Background(), &env{stdout: &out, stderr: &errOut}, []string{cmd, "list", "--netns", ns.Name}), errOut.String())
			assert.NotEmpty(t, out.String(), cmd)
		}
	})
}

func TestCLIUsage(t *testing.T) {
	for _, args := range [][]string{{"route"}, {"route", "frob"}, {"route", "list", "--nope"}, {"link", "list", "x"}} {
		var out, errOut bytes.Buffer
		assert.Equal(t, 2, runMain(context.Background(), &env{stdout: &out, stderr: &errOut}, args), args)
	}
	var out, errOut bytes.Buffer
	assert.Equal(t, 1, runMain(context.Background(), &env{stdout: &out, stderr: &errOut}, []string{"route", "list", "-4", "-6", "--netns", "nlt-does-not-exist"}))
}

// rtSyncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type rtSyncBuffer struct {
	mu chan struct{}
	b  bytes.Buffer
}

func newRtSyncBuffer() *rtSyncBuffer { return &rtSyncBuffer{mu: make(chan struct{}, 1)} }

func (s *rtSyncBuffer) Write(p []byte) (int, error) {
	s.mu <- struct{}{}
	defer func() { <-s.mu }()
	return s.b.Write(p)
}

func (s *rtSyncBuffer) String() string {
	s.mu <- struct{}{}
	defer func() { <-s.mu }()
	return s.b.String()
}

func TestKernelCLIMonitor(t *testing.T) {
	ns := nettest.NewNS(t)
	ctx, cancel := context.WithCancel(context.Background())
	out, errOut := newRtSyncBuffer(), newRtSyncBuffer()
	done := make(chan int)
	go func() {
		done <- runMain(ctx, &env{stdout: out, stderr: errOut}, []string{"monitor", "--kernel", "--json", "--netns", ns.Name})
	}()
	wait := func(what string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(out.String(), what) {
			if time.Now().After(deadline) {
				t.Fatalf("no %s in monitor output:\n%s\n%s", what, out.String(), errOut.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// Changes keep coming until the monitor has subscribed.
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; !strings.Contains(out.String(), `"ifname":"m`); i++ {
		require.True(t, time.Now().Before(deadline), "monitor saw nothing: %s", errOut.String())
		ns.AddDummy(t, fmt.Sprintf("m%d", i))
		time.Sleep(50 * time.Millisecond)
	}
	ns.Run(t, "link", "set", "m0", "up")
	ns.Run(t, "addr", "add", "10.5.0.1/24", "dev", "m0")
	wait(`"event":"newaddr"`)
	ns.Run(t, "route", "add", "10.6.0.0/16", "via", "10.5.0.2")
	wait(`"event":"newroute","object":{"dst":"10.6.0.0/16","gateway":"10.5.0.2","dev":"m0"`)
	ns.Run(t, "neigh", "add", "10.5.0.2", "lladdr", "02:00:00:00:00:02", "dev", "m0")
	wait(`"event":"newneigh","object":{"dst":"10.5.0.2"`)
	ns.Run(t, "route", "del", "10.6.0.0/16")
	wait(`"event":"delroute"`)
	ns.Run(t, "link", "del", "m0")
	wait(`"event":"dellink"`)
	cancel()
	assert.Equal(t, 0, <-done, errOut.String())
}
