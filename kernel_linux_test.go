//go:build linux

package netlink_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/internal/nettest"
)

// These tests run against the Linux kernel as root, each in network
// namespaces it creates and removes (internal/nettest); as another user they
// skip. They never touch the host's interfaces, addresses or routes.
//
// The rtnetlink encoding below is deliberately minimal: a typed rtnetlink
// package will replace it.

// vethInfoPeer is VETH_INFO_PEER (include/uapi/linux/veth.h), which
// golang.org/x/sys/unix does not define.
const vethInfoPeer = 1

var nativeEndian = binary.NativeEndian

// dialNS dials NETLINK_ROUTE in ns with cfg (nil for defaults) and closes the
// Conn when the test ends.
func dialNS(t *testing.T, ns *nettest.NS, cfg *netlink.Config) *netlink.Conn {
	t.Helper()
	var conf netlink.Config
	if cfg != nil {
		conf = *cfg
	}
	conf.NetNS = ns.FD()
	c, err := netlink.Dial(netlink.Route, &conf)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// testContext bounds every kernel call of a test, so a lost reply fails the
// test instead of hanging it.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// ifinfomsg returns a struct ifinfomsg (family AF_UNSPEC).
func ifinfomsg(index int32, flags, change uint32) []byte {
	b := make([]byte, unix.SizeofIfInfomsg)
	nativeEndian.PutUint32(b[4:], uint32(index))
	nativeEndian.PutUint32(b[8:], flags)
	nativeEndian.PutUint32(b[12:], change)
	return b
}

// getLinkReq is RTM_GETLINK for one interface by index.
func getLinkReq(index int32) netlink.Message {
	return netlink.Message{Header: netlink.Header{Type: unix.RTM_GETLINK}, Data: ifinfomsg(index, 0, 0)}
}

// kernelLink is what the tests read from an RTM_NEWLINK message.
type kernelLink struct {
	Index int
	Name  string
	MTU   int
	Flags uint32
	Kind  string
}

func parseLink(m netlink.Message) (kernelLink, error) {
	if m.Header.Type != unix.RTM_NEWLINK {
		return kernelLink{}, fmt.Errorf("message type %d is not RTM_NEWLINK", m.Header.Type)
	}
	var ifi [unix.SizeofIfInfomsg]byte
	rest, short := netlink.Fixed(ifi[:], m.Data)
	if short {
		return kernelLink{}, fmt.Errorf("ifinfomsg of %d bytes", len(m.Data))
	}
	l := kernelLink{
		Index: int(int32(nativeEndian.Uint32(ifi[4:]))),
		Flags: nativeEndian.Uint32(ifi[8:]),
	}
	ad := netlink.NewAttributeDecoder(rest)
	for ad.Next() {
		switch ad.Type() {
		case unix.IFLA_IFNAME:
			l.Name = ad.String()
		case unix.IFLA_MTU:
			l.MTU = int(ad.Uint32())
		case unix.IFLA_LINKINFO:
			ad.Nested(func(nad *netlink.AttributeDecoder) error {
				for nad.Next() {
					if nad.Type() == unix.IFLA_INFO_KIND {
						l.Kind = nad.String()
					}
				}
				return nil
			})
		}
	}
	return l, ad.Err()
}

// dumpLinks dumps the interfaces c sees, by index.
func dumpLinks(t *testing.T, ctx context.Context, c *netlink.Conn) map[int]kernelLink {
	t.Helper()
	links := map[int]kernelLink{}
	for m, err := range c.Dump(ctx, netlink.Message{Header: netlink.Header{Type: unix.RTM_GETLINK}, Data: ifinfomsg(0, 0, 0)}) {
		require.NoError(t, err)
		l, err := parseLink(m)
		require.NoError(t, err)
		links[l.Index] = l
	}
	return links
}

// linkIndex returns the index of the interface named name, as ip reports it.
func linkIndex(t *testing.T, ns *nettest.NS, name string) int32 {
	t.Helper()
	for _, l := range ns.Links(t) {
		if l.Name == name {
			return int32(l.Index)
		}
	}
	t.Fatalf("no interface %q in namespace %s", name, ns.Name)
	return 0
}

func TestKernelDumpLinks(t *testing.T) {
	ns := nettest.NewNS(t)
	kind := ns.AddDummy(t, "d0")
	ns.Batch(t, []string{
		"link add d1 type " + kind,
		"link add d2 type " + kind,
		"link add d3 type " + kind,
		"link set d1 mtu 1280",
		"link set d2 up",
		"link set d3 mtu 9000 up",
	})
	c := dialNS(t, ns, nil)
	got := dumpLinks(t, testContext(t), c)

	want := ns.Links(t)
	require.Len(t, got, len(want), "the dump has every interface ip shows, and no other")
	for _, w := range want {
		g, ok := got[w.Index]
		if !assert.True(t, ok, "interface %d (%s) missing from the dump", w.Index, w.Name) {
			continue
		}
		assert.Equal(t, w.Name, g.Name, "name of %d", w.Index)
		assert.Equal(t, w.MTU, g.MTU, "mtu of %s", w.Name)
		assert.Equal(t, contains(w.Flags, "UP"), g.Flags&unix.IFF_UP != 0, "UP flag of %s", w.Name)
		if strings.HasPrefix(w.Name, "d") {
			assert.Equal(t, kind, g.Kind, "IFLA_INFO_KIND of %s", w.Name)
		}
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestKernelDumpRoutes(t *testing.T) {
	const routes = 1000
	ns := nettest.NewNS(t)
	ns.AddDummy(t, "d0")
	lines := []string{"link set d0 up", "addr add 10.0.0.1/8 dev d0"}
	for i := range routes {
		lines = append(lines, fmt.Sprintf("route add 10.%d.%d.0/24 dev d0", 1+i/250, i%250))
	}
	ns.Batch(t, lines)

	c := dialNS(t, ns, nil)
	rtm := make([]byte, unix.SizeofRtMsg)
	rtm[0] = unix.AF_INET
	rtm[4] = unix.RT_TABLE_MAIN // without Strict the kernel ignores it: filter below
	got := map[netip.Prefix]bool{}
	msgs := 0
	for m, err := range c.Dump(testContext(t), netlink.Message{Header: netlink.Header{Type: unix.RTM_GETROUTE}, Data: rtm}) {
		require.NoError(t, err)
		require.Equal(t, netlink.HeaderType(unix.RTM_NEWROUTE), m.Header.Type)
		msgs++
		var hdr [unix.SizeofRtMsg]byte
		rest, short := netlink.Fixed(hdr[:], m.Data)
		require.False(t, short, "rtmsg of %d bytes", len(m.Data))
		require.Equal(t, uint8(unix.AF_INET), hdr[0])
		dstLen, table := int(hdr[1]), uint32(hdr[4])
		dst := netip.IPv4Unspecified()
		ad := netlink.NewAttributeDecoder(rest)
		for ad.Next() {
			switch ad.Type() {
			case unix.RTA_DST:
				dst = ad.Addr()
			case unix.RTA_TABLE:
				table = ad.Uint32()
			}
		}
		require.NoError(t, ad.Err())
		if table != unix.RT_TABLE_MAIN {
			continue
		}
		p := netip.PrefixFrom(dst, dstLen)
		require.True(t, p.IsValid(), "route %v/%d", dst, dstLen)
		assert.False(t, got[p], "route %v dumped twice", p)
		got[p] = true
	}

	var ipRoutes []struct {
		Dst string `json:"dst"`
	}
	ns.JSON(t, &ipRoutes, "route", "show", "table", "main")
	want := map[netip.Prefix]bool{}
	for _, r := range ipRoutes {
		want[parseIPDst(t, r.Dst)] = true
	}
	assert.Len(t, want, routes+1, "ip shows the routes added and the /8 of the address")
	assert.Equal(t, want, got)
	assert.Greater(t, msgs, routes, "the dump also returned the local table")
}

// parseIPDst parses the dst of ip -j route: "default", an address (a host
// route) or a prefix.
func parseIPDst(t *testing.T, s string) netip.Prefix {
	t.Helper()
	if s == "default" {
		return netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	}
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		require.NoError(t, err)
		return netip.PrefixFrom(a, a.BitLen())
	}
	p, err := netip.ParsePrefix(s)
	require.NoError(t, err)
	return p
}

// newVethReq is RTM_NEWLINK creating the veth pair name/peer.
func newVethReq(t *testing.T, name, peer string) netlink.Message {
	t.Helper()
	var pe netlink.AttributeEncoder
	pe.Reset(ifinfomsg(0, 0, 0))
	pe.String(unix.IFLA_IFNAME, peer)
	peerMsg, err := pe.Bytes()
	require.NoError(t, err)

	var ae netlink.AttributeEncoder
	ae.Reset(ifinfomsg(0, 0, 0))
	ae.String(unix.IFLA_IFNAME, name)
	li := ae.BeginNested(unix.IFLA_LINKINFO)
	ae.String(unix.IFLA_INFO_KIND, "veth")
	data := ae.BeginNested(unix.IFLA_INFO_DATA)
	ae.Raw(vethInfoPeer|netlink.AttrNested, peerMsg) // ifinfomsg, then the peer's attributes
	ae.EndNested(data)
	ae.EndNested(li)
	b, err := ae.Bytes()
	require.NoError(t, err)
	return netlink.Message{
		Header: netlink.Header{Type: unix.RTM_NEWLINK, Flags: netlink.Create | netlink.Excl},
		Data:   b,
	}
}

func TestKernelVethCreateDelete(t *testing.T) {
	ns := nettest.NewNS(t)
	// Every kernel Go supports has veth (Linux 2.6.24); whether this one was
	// built with it is read from the kernel, not guessed from the reply: an
	// EOPNOTSUPP here can as well be a badly encoded IFLA_LINKINFO.
	nettest.RequireLinkKind(t, "veth")
	c := dialNS(t, ns, nil)
	ctx := testContext(t)

	msgs, err := c.Execute(ctx, newVethReq(t, "vtest0", "vtest1"))
	require.NoError(t, err)
	assert.Empty(t, msgs, "a NEWLINK without Echo returns only its ACK, consumed")

	names := map[string]int{}
	for _, l := range ns.Links(t) {
		names[l.Name] = l.Index
	}
	require.Contains(t, names, "vtest0")
	require.Contains(t, names, "vtest1")
	links := dumpLinks(t, ctx, c)
	assert.Equal(t, "veth", links[names["vtest0"]].Kind)
	assert.Equal(t, "veth", links[names["vtest1"]].Kind)

	_, err = c.Execute(ctx, newVethReq(t, "vtest0", "vtest2"))
	require.ErrorIs(t, err, unix.EEXIST, "Excl refuses an existing name")
	assert.ErrorIs(t, err, os.ErrExist)

	del := netlink.Message{Header: netlink.Header{Type: unix.RTM_DELLINK}, Data: ifinfomsg(int32(names["vtest0"]), 0, 0)}
	msgs, err = c.Execute(ctx, del)
	require.NoError(t, err)
	assert.Empty(t, msgs)
	for _, l := range ns.Links(t) {
		assert.NotContains(t, []string{"vtest0", "vtest1"}, l.Name, "deleting one end deletes the pair")
	}

	_, err = c.Execute(ctx, del)
	require.ErrorIs(t, err, unix.ENODEV, "deleting it again")
}

func TestKernelErrorExtAck(t *testing.T) {
	tests := []struct {
		name       string
		cfg        netlink.Config
		wantExtAck bool
	}{
		{name: "extended ack on by default", wantExtAck: true},
		{name: "extended ack disabled", cfg: netlink.Config{DisableExtendedAck: true}},
	}
	ns := nettest.NewNS(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialNS(t, ns, &tt.cfg)
			ifa := make([]byte, unix.SizeofIfAddrmsg)
			ifa[0] = unix.AF_INET
			ifa[1] = 24
			nativeEndian.PutUint32(ifa[4:], 9999) // no such interface
			var ae netlink.AttributeEncoder
			ae.Reset(ifa)
			ae.Addr(unix.IFA_LOCAL, netip.MustParseAddr("192.0.2.1"))
			ae.Addr(unix.IFA_ADDRESS, netip.MustParseAddr("192.0.2.1"))
			b, err := ae.Bytes()
			require.NoError(t, err)

			msgs, err := c.Execute(testContext(t), netlink.Message{
				Header: netlink.Header{Type: unix.RTM_NEWADDR, Flags: netlink.Create | netlink.Excl},
				Data:   b,
			})
			assert.Empty(t, msgs)
			require.ErrorIs(t, err, unix.ENODEV)
			var oe *netlink.OpError
			require.ErrorAs(t, err, &oe)
			assert.Equal(t, "execute", oe.Op)
			assert.NotZero(t, oe.Sequence)
			var errno unix.Errno
			require.ErrorAs(t, err, &errno, "the kernel's errno stays raw")
			assert.Equal(t, unix.ENODEV, errno)
			if tt.wantExtAck {
				assert.NotEmpty(t, oe.Message, "the kernel explains the error")
				assert.Contains(t, err.Error(), oe.Message)
			} else {
				assert.Empty(t, oe.Message)
			}
			t.Logf("error: %v", err)
		})
	}
}

// receiveLink receives from c until an RTM_NEWLINK for index arrives whose
// flags satisfy ok, and returns it.
func receiveLink(t *testing.T, ctx context.Context, c *netlink.Conn, index int32, ok func(kernelLink) bool) netlink.Message {
	t.Helper()
	for {
		msgs, err := c.Receive(ctx)
		require.NoError(t, err, "waiting for RTM_NEWLINK of interface %d", index)
		for _, m := range msgs {
			if m.Header.Type != unix.RTM_NEWLINK {
				continue
			}
			l, err := parseLink(m)
			require.NoError(t, err)
			if l.Index == int(index) && ok(l) {
				return m
			}
		}
	}
}

func TestKernelLinkEvents(t *testing.T) {
	nettest.RequireRoot(t)
	up := func(l kernelLink) bool { return l.Flags&unix.IFF_UP != 0 }
	tests := []struct {
		name  string
		setUp func(t *testing.T, ns *nettest.NS, index int32)
	}{
		{
			name: "ip link set",
			setUp: func(t *testing.T, ns *nettest.NS, _ int32) {
				ns.Run(t, "link", "set", "d0", "up")
			},
		},
		{
			name: "RTM_NEWLINK on another Conn",
			setUp: func(t *testing.T, ns *nettest.NS, index int32) {
				c := dialNS(t, ns, nil)
				msgs, err := c.Execute(testContext(t), netlink.Message{
					Header: netlink.Header{Type: unix.RTM_NEWLINK},
					Data:   ifinfomsg(index, unix.IFF_UP, unix.IFF_UP),
				})
				require.NoError(t, err)
				assert.Empty(t, msgs)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := nettest.NewNS(t)
			ns.AddDummy(t, "d0")
			index := linkIndex(t, ns, "d0")
			c := dialNS(t, ns, &netlink.Config{Groups: []uint32{unix.RTNLGRP_LINK}})

			tt.setUp(t, ns, index)
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			m := receiveLink(t, ctx, c, index, up)
			assert.Equal(t, uint32(unix.RTNLGRP_LINK), m.Addr.Group, "the event came to group 1")
			assert.Zero(t, m.Addr.Port, "from the kernel")
		})
	}
}

func TestKernelJoinGroupAbove32(t *testing.T) {
	ns := nettest.NewNS(t)
	c := dialNS(t, ns, nil)
	for _, g := range []uint32{unix.RTNLGRP_NEXTHOP, unix.RTNLGRP_BRVLAN, unix.RTNLGRP_TUNNEL, unix.RTNLGRP_STATS} {
		require.NoError(t, c.JoinGroup(g), "join group %d", g)
		require.NoError(t, c.LeaveGroup(g), "leave group %d", g)
	}
	// The kernel does check the number: the joins above were not no-ops.
	err := c.JoinGroup(10000)
	require.ErrorIs(t, err, unix.EINVAL)
	var oe *netlink.OpError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, "join-group", oe.Op)

	t.Run("delivery reports the group", func(t *testing.T) {
		// Bringing an interface up joins it to 224.0.0.1, which Linux 6.14
		// and later announce to RTNLGRP_IPV4_MCADDR (37). On those the join
		// must succeed: EINVAL would be our bug, not an old kernel.
		nettest.RequireKernel(t, 6, 14, "RTNLGRP_IPV4_MCADDR (group 37)")
		c := dialNS(t, ns, nil)
		require.NoError(t, c.JoinGroup(unix.RTNLGRP_IPV4_MCADDR))
		ns.AddDummy(t, "m0")
		ns.Run(t, "link", "set", "m0", "up")
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		for {
			msgs, err := c.Receive(ctx)
			require.NoError(t, err, "waiting for RTM_NEWMULTICAST")
			for _, m := range msgs {
				assert.Equal(t, uint32(unix.RTNLGRP_IPV4_MCADDR), m.Addr.Group, "message type %d", m.Header.Type)
				if m.Header.Type == unix.RTM_NEWMULTICAST {
					return
				}
			}
		}
	})
}

func TestKernelTwoNamespaces(t *testing.T) {
	ns1, ns2 := nettest.NewNS(t), nettest.NewNS(t)
	ns1.AddDummy(t, "only-in-1")
	ns2.AddDummy(t, "only-in-2")
	c1, c2 := dialNS(t, ns1, nil), dialNS(t, ns2, nil)
	ctx := testContext(t)

	names := func(c *netlink.Conn) []string {
		var out []string
		for _, l := range dumpLinks(t, ctx, c) {
			out = append(out, l.Name)
		}
		return out
	}
	for range 3 { // interleaved, both Conns open
		assert.ElementsMatch(t, []string{"lo", "only-in-1"}, names(c1))
		assert.ElementsMatch(t, []string{"lo", "only-in-2"}, names(c2))
	}
}

func TestKernelExecuteNoStaleAck(t *testing.T) {
	ns := nettest.NewNS(t)
	ns.AddDummy(t, "d0")
	index := linkIndex(t, ns, "d0")
	c := dialNS(t, ns, nil)
	ctx := testContext(t)

	var lastSeq uint32
	for i := range 100 {
		msgs, err := c.Execute(ctx, getLinkReq(1))
		require.NoError(t, err, "GETLINK %d", i)
		require.Len(t, msgs, 1, "GETLINK %d: the link, and its ACK consumed", i)
		l, err := parseLink(msgs[0])
		require.NoError(t, err)
		assert.Equal(t, "lo", l.Name)
		assert.Greater(t, msgs[0].Header.Sequence, lastSeq)
		lastSeq = msgs[0].Header.Sequence

		var ae netlink.AttributeEncoder
		ae.Reset(ifinfomsg(index, 0, 0))
		ae.Uint32(unix.IFLA_MTU, uint32(1000+i))
		b, err := ae.Bytes()
		require.NoError(t, err)
		msgs, err = c.Execute(ctx, netlink.Message{Header: netlink.Header{Type: unix.RTM_NEWLINK}, Data: b})
		require.NoError(t, err, "set mtu %d", i)
		require.Empty(t, msgs, "set mtu %d: only an ACK, consumed", i)
	}
	for _, l := range ns.Links(t) {
		if l.Name == "d0" {
			assert.Equal(t, 1099, l.MTU, "every MTU change took effect")
		}
	}

	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	msgs, err := c.Receive(short)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Empty(t, msgs, "no stale reply reached Receive")
}

func TestKernelCancellation(t *testing.T) {
	ns := nettest.NewNS(t)
	const wait = 50 * time.Millisecond

	t.Run("context deadline", func(t *testing.T) {
		c := dialNS(t, ns, nil)
		ctx, cancel := context.WithTimeout(t.Context(), wait)
		defer cancel()
		start := time.Now()
		msgs, err := c.Receive(ctx)
		elapsed := time.Since(start)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Empty(t, msgs)
		assert.GreaterOrEqual(t, elapsed, wait-5*time.Millisecond)
		assert.Less(t, elapsed, wait+2*time.Second) // generous: the machine may be loaded; the point is that it returns
		_, err = c.Execute(testContext(t), getLinkReq(1))
		assert.NoError(t, err, "the Conn still works")
	})

	t.Run("context canceled before the call", func(t *testing.T) {
		c := dialNS(t, ns, nil)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := c.Receive(ctx)
		require.ErrorIs(t, err, context.Canceled)
	})

	t.Run("read deadline", func(t *testing.T) {
		c := dialNS(t, ns, nil)
		require.NoError(t, c.SetReadDeadline(time.Now().Add(wait)))
		start := time.Now()
		_, err := c.Receive(context.Background())
		elapsed := time.Since(start)
		require.ErrorIs(t, err, os.ErrDeadlineExceeded)
		var oe *netlink.OpError
		require.ErrorAs(t, err, &oe)
		assert.True(t, oe.Timeout())
		assert.Less(t, elapsed, wait+2*time.Second) // generous: the machine may be loaded; the point is that it returns

		require.NoError(t, c.SetReadDeadline(time.Time{}))
		_, err = c.Execute(testContext(t), getLinkReq(1))
		assert.NoError(t, err, "the Conn works once the deadline is cleared")
	})

	t.Run("close unblocks receive", func(t *testing.T) {
		c := dialNS(t, ns, nil)
		done := make(chan error, 1)
		go func() {
			_, err := c.Receive(context.Background())
			done <- err
		}()
		time.Sleep(wait) // let Receive block in the poller
		require.NoError(t, c.Close())
		select {
		case err := <-done:
			require.ErrorIs(t, err, netlink.ErrClosed)
		case <-time.After(5 * time.Second):
			t.Fatal("Close did not unblock Receive")
		}
		_, err := c.Execute(testContext(t), getLinkReq(1))
		require.ErrorIs(t, err, netlink.ErrClosed)
	})
}

func TestKernelConcurrentExecute(t *testing.T) {
	const goroutines, calls = 8, 100
	ns := nettest.NewNS(t)
	kind := ns.AddDummy(t, "c1")
	var lines []string
	for g := 2; g < goroutines; g++ {
		lines = append(lines, fmt.Sprintf("link add c%d type %s", g, kind))
	}
	ns.Batch(t, lines)
	// Goroutine 0 asks for lo (index 1), goroutine g for cg: a reply handed
	// to the wrong caller shows as the wrong interface.
	want := map[int32]string{}
	indexes := make([]int32, goroutines)
	indexes[0], want[1] = 1, "lo"
	for g := 1; g < goroutines; g++ {
		name := fmt.Sprintf("c%d", g)
		indexes[g] = linkIndex(t, ns, name)
		want[indexes[g]] = name
	}

	c := dialNS(t, ns, nil)
	ctx := testContext(t)
	var (
		mu   sync.Mutex
		seqs = map[uint32]int{}
		wg   sync.WaitGroup
	)
	for g := range goroutines {
		wg.Go(func() {
			index := indexes[g]
			for i := range calls {
				msgs, err := c.Execute(ctx, getLinkReq(index))
				if !assert.NoError(t, err, "goroutine %d call %d", g, i) || !assert.Len(t, msgs, 1) {
					return
				}
				l, err := parseLink(msgs[0])
				assert.NoError(t, err)
				assert.Equal(t, want[index], l.Name, "goroutine %d call %d got another's reply", g, i)
				mu.Lock()
				seqs[msgs[0].Header.Sequence]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	assert.Len(t, seqs, goroutines*calls, "every reply has its own sequence number")
	assert.NotContains(t, seqs, uint32(0))
}

func TestKernelStrict(t *testing.T) {
	ns := nettest.NewNS(t)
	ns.AddDummy(t, "d0")
	strict := dialNS(t, ns, &netlink.Config{Strict: true})
	lax := dialNS(t, ns, nil)
	ctx := testContext(t)

	t.Run("malformed dump header", func(t *testing.T) {
		// A link dump filtered by index in the header: strict checking
		// refuses it, the default ignores the index.
		req := netlink.Message{Header: netlink.Header{Type: unix.RTM_GETLINK, Flags: netlink.Dump}, Data: ifinfomsg(1, 0, 0)}
		msgs, err := lax.Execute(ctx, req)
		require.NoError(t, err)
		assert.Len(t, msgs, 2, "lo and d0")

		_, err = strict.Execute(ctx, req)
		require.ErrorIs(t, err, unix.EINVAL)
		var oe *netlink.OpError
		require.ErrorAs(t, err, &oe)
		assert.Equal(t, "dump", oe.Op)
		assert.NotEmpty(t, oe.Message, "the kernel says what it refused")
		t.Logf("strict error: %v", err)
	})

	t.Run("kernel-side filtering", func(t *testing.T) {
		// With strict checking, rtm_table filters a route dump in the kernel
		// and the replies carry NLM_F_DUMP_FILTERED.
		rtm := make([]byte, unix.SizeofRtMsg)
		rtm[0] = unix.AF_INET
		rtm[4] = unix.RT_TABLE_LOCAL
		req := netlink.Message{Header: netlink.Header{Type: unix.RTM_GETROUTE}, Data: rtm}
		n := 0
		for m, err := range strict.Dump(ctx, req) {
			require.NoError(t, err)
			n++
			assert.NotZero(t, m.Header.Flags&netlink.DumpFiltered, "flags %v", m.Header.Flags)
			require.GreaterOrEqual(t, len(m.Data), unix.SizeofRtMsg)
			assert.Equal(t, uint8(unix.RT_TABLE_LOCAL), m.Data[4])
		}
		assert.Positive(t, n, "lo's local routes")
	})
}

// addRoutes brings up d0 with 10.0.0.1/8 in ns and adds n /24 routes through
// it in one ip -batch.
func addRoutes(t *testing.T, ns *nettest.NS, n int) {
	t.Helper()
	lines := []string{"link set d0 up", "addr add 10.0.0.1/8 dev d0"}
	for i := range n {
		lines = append(lines, fmt.Sprintf("route add 10.%d.%d.0/24 dev d0", 1+i/250, i%250))
	}
	ns.Batch(t, lines)
}

func routeDumpReq() netlink.Message {
	rtm := make([]byte, unix.SizeofRtMsg)
	rtm[0] = unix.AF_INET
	return netlink.Message{Header: netlink.Header{Type: unix.RTM_GETROUTE}, Data: rtm}
}

func TestKernelDumpBreak(t *testing.T) {
	ns := nettest.NewNS(t)
	ns.AddDummy(t, "d0")
	addRoutes(t, ns, 1000)
	c := dialNS(t, ns, nil)
	ctx := testContext(t)

	count := func() int {
		n := 0
		for _, err := range c.Dump(ctx, routeDumpReq()) {
			require.NoError(t, err)
			n++
		}
		return n
	}
	total := count()
	require.Greater(t, total, 1000)

	for i := range 5 {
		n := 0
		for _, err := range c.Dump(ctx, routeDumpReq()) {
			require.NoError(t, err)
			n++
			if n == 1+i*100 {
				break // the rest of the dump, several datagrams, is drained
			}
		}
		assert.Equal(t, total, count(), "a dump right after a broken-off one is whole (no EBUSY)")
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	msgs, err := c.Receive(short)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Empty(t, msgs, "no tail of an abandoned dump reached Receive")
}

// floodRoutes dials a Conn in ns that joins RTNLGRP_IPV4_ROUTE with a small
// socket buffer, then adds 1000 routes without reading it: the kernel drops
// events, reports ENOBUFS, and marks the socket congested until its queue
// is read empty.
func floodRoutes(t *testing.T) (*nettest.NS, *netlink.Conn) {
	t.Helper()
	ns := nettest.NewNS(t)
	ns.AddDummy(t, "d0")
	c := dialNS(t, ns, &netlink.Config{Groups: []uint32{unix.RTNLGRP_IPV4_ROUTE}, SocketReceiveBuffer: 4096})
	addRoutes(t, ns, 1000)
	return ns, c
}

func TestKernelOverrun(t *testing.T) {
	ns, c := floodRoutes(t)
	ctx := testContext(t)

	events := 0
	var err error
	for err == nil {
		var msgs []netlink.Message
		msgs, err = c.Receive(ctx)
		events += len(msgs)
		require.Less(t, events, 1001, "1000 events arrived without an overrun")
	}
	require.ErrorIs(t, err, netlink.ErrOverrun)
	var oe *netlink.OpError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, "receive", oe.Op)
	assert.ErrorIs(t, err, unix.ENOBUFS)
	// The kernel reported ENOBUFS ahead of the events still queued from
	// before the loss; they come first, and the overrun after them: no
	// event older than the loss may follow the report.
	assert.Positive(t, events, "the events queued before the loss come before the overrun")

	// The socket is quiet now (the drain read it empty, which ends the
	// kernel's congestion), and the Conn works again: requests get their
	// replies and new events arrive.
	stale := 0
	for {
		quiet, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		msgs, err := c.Receive(quiet)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			break
		}
		require.NoError(t, err)
		stale += len(msgs)
	}
	assert.Zero(t, stale, "events delivered after the overrun that predate it")
	msgs, err := c.Execute(ctx, getLinkReq(1))
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	ns.Run(t, "route", "add", "10.200.0.0/16", "dev", "d0")
	for {
		msgs, err := c.Receive(ctx)
		require.NoError(t, err)
		for _, m := range msgs {
			if m.Header.Type == unix.RTM_NEWROUTE && len(m.Data) >= unix.SizeofRtMsg && m.Data[1] == 16 {
				assert.Equal(t, uint32(unix.RTNLGRP_IPV4_ROUTE), m.Addr.Group)
				return
			}
		}
	}
}

// TestKernelOverrunCallInFlight sends a request to a congested socket. Linux
// drops every unicast message, replies and ACKs included, to a netlink
// socket marked congested (netlink_attachskb), from the overrun until its
// queue has been read empty. The lost reply must surface as an error
// wrapping ErrOverrun, as a truncated datagram does, not as a call that
// waits for its context (forever without a deadline).
func TestKernelOverrunCallInFlight(t *testing.T) {
	_, c := floodRoutes(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	msgs, err := c.Execute(ctx, getLinkReq(1))
	if err == nil {
		require.Len(t, msgs, 1) // the kernel had room after all
		return
	}
	require.ErrorIs(t, err, netlink.ErrOverrun, "the lost reply is reported as an overrun")
}
