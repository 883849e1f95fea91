//go:build linux

package netlink_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/compat"
	"github.com/nlbus/netlink/internal/nettest"
)

// Kernel tests of Linux protocols other than rtnetlink and generic netlink,
// each compared with the reference tool: sock_diag with ss(8), xfrm with
// ip-xfrm(8), connector process events with the test's own child
// processes. sock_diag and xfrm run in a network namespace the test creates;
// process events exist only in the initial namespace (the connector's socket
// is in init_net) and the test filters them by its children's PIDs. The
// protocol constants are in compat/linuxproto.go.

// dialProto dials protocol in ns (nil: the test's own namespace) and closes
// the Conn when the test ends.
func dialProto(t *testing.T, protocol int, ns *nettest.NS, cfg netlink.Config) *netlink.Conn {
	t.Helper()
	if ns != nil {
		cfg.NetNS = ns.FD()
	}
	c, err := netlink.Dial(protocol, &cfg)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// listenTCP opens a TCP listener inside ns, on a locked OS thread that
// enters the namespace and returns to the test's own; the listener is
// closed when the test ends.
func listenTCP(t *testing.T, ns *nettest.NS, network, addr string) net.Listener {
	t.Helper()
	type result struct {
		l   net.Listener
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: os.NewSyscallError("open", err)}
			return
		}
		defer unix.Close(orig)
		if err := unix.Setns(ns.FD(), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			done <- result{err: os.NewSyscallError("setns", err)}
			return
		}
		l, lerr := net.Listen(network, addr)
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
			// The thread stays in the namespace: keep it locked so that it
			// exits with this goroutine instead of running other code.
			if l != nil {
				l.Close()
			}
			done <- result{err: os.NewSyscallError("setns back", err)}
			return
		}
		runtime.UnlockOSThread()
		done <- result{l, lerr}
	}()
	r := <-done
	require.NoError(t, r.err)
	t.Cleanup(func() { r.l.Close() })
	return r.l
}

// inetDiagListeners dumps the TCP listeners of family (AF_INET or AF_INET6)
// with SOCK_DIAG_BY_FAMILY and returns their local addresses and inodes.
func inetDiagListeners(t *testing.T, ctx context.Context, c *netlink.Conn, family uint8) map[netip.AddrPort]uint32 {
	t.Helper()
	req := make([]byte, compat.SizeofInetDiagReqV2)
	req[0], req[1] = family, unix.IPPROTO_TCP
	nativeEndian.PutUint32(req[compat.InetDiagReqV2States:], 1<<compat.TCPListen)
	out := map[netip.AddrPort]uint32{}
	for m, err := range c.Dump(ctx, netlink.Message{Header: netlink.Header{Type: unix.SOCK_DIAG_BY_FAMILY}, Data: req}) {
		require.NoError(t, err)
		require.Equal(t, netlink.HeaderType(unix.SOCK_DIAG_BY_FAMILY), m.Header.Type)
		require.GreaterOrEqual(t, len(m.Data), compat.SizeofInetDiagMsg, "struct inet_diag_msg")
		require.Equal(t, family, m.Data[0], "idiag_family")
		require.Equal(t, uint8(compat.TCPListen), m.Data[1], "idiag_state")
		id := m.Data[compat.InetDiagMsgID:]
		port := binary.BigEndian.Uint16(id[compat.InetDiagSockIDSport:])
		var addr netip.Addr
		if family == unix.AF_INET {
			addr = netip.AddrFrom4([4]byte(id[compat.InetDiagSockIDSrc:]))
		} else {
			addr = netip.AddrFrom16([16]byte(id[compat.InetDiagSockIDSrc:]))
		}
		out[netip.AddrPortFrom(addr, port)] = nativeEndian.Uint32(m.Data[compat.InetDiagMsgInode:])
	}
	return out
}

func TestKernelSockDiagListeners(t *testing.T) {
	ns := nettest.NewNS(t)
	if _, err := exec.LookPath("ss"); err != nil {
		t.Fatalf("running as root but iproute2's ss(8) is missing: %v", err)
	}
	listeners := []net.Listener{
		listenTCP(t, ns, "tcp4", "127.0.0.1:0"),
		listenTCP(t, ns, "tcp4", "0.0.0.0:0"),
		listenTCP(t, ns, "tcp6", "[::1]:0"),
	}
	c := dialProto(t, unix.NETLINK_SOCK_DIAG, ns, netlink.Config{})
	ctx := testContext(t)
	got := inetDiagListeners(t, ctx, c, unix.AF_INET)
	for k, v := range inetDiagListeners(t, ctx, c, unix.AF_INET6) {
		got[k] = v
	}

	// What we opened, by address.
	var opened []netip.AddrPort
	for _, l := range listeners {
		ap := l.Addr().(*net.TCPAddr).AddrPort()
		opened = append(opened, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()))
	}
	var gotAddrs []netip.AddrPort
	for ap, inode := range got {
		gotAddrs = append(gotAddrs, ap)
		assert.NotZero(t, inode, "inode of %v", ap)
	}
	assert.ElementsMatch(t, opened, gotAddrs, "the namespace has exactly our listeners")

	// ss in the namespace: "LISTEN 0 4096 127.0.0.1:41231 0.0.0.0:*".
	var ss []netip.AddrPort
	sc := bufio.NewScanner(bytes.NewReader(ns.Exec(t, "ss", "-tlnH")))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		require.GreaterOrEqual(t, len(f), 4, "ss line %q", sc.Text())
		local := strings.NewReplacer("[", "", "]", "", "*:", "0.0.0.0:").Replace(f[3])
		i := strings.LastIndexByte(local, ':')
		require.Positive(t, i, "ss local address %q", f[3])
		addr, err := netip.ParseAddr(local[:i])
		require.NoError(t, err, "ss local address %q", f[3])
		port, err := strconv.ParseUint(local[i+1:], 10, 16)
		require.NoError(t, err)
		ss = append(ss, netip.AddrPortFrom(addr, uint16(port)))
	}
	assert.ElementsMatch(t, ss, gotAddrs, "sock_diag agrees with ss -tlnH")
	t.Logf("listeners: sock_diag %v, ss %v", gotAddrs, ss)
}

// xfrmSA is what the xfrm test compares of a security association.
type xfrmSA struct {
	Src, Dst netip.Addr
	Proto    uint8
	SPI      uint32
	Reqid    uint32
	Mode     uint8
}

// xfrmPolicy is what the xfrm test compares of a policy.
type xfrmPolicy struct {
	Src, Dst netip.Prefix
	Dir      uint8
	Priority uint32
}

func xfrmAddr(b []byte, family uint16) netip.Addr {
	if family == unix.AF_INET {
		return netip.AddrFrom4([4]byte(b))
	}
	return netip.AddrFrom16([16]byte(b))
}

func dumpXfrmSAs(t *testing.T, ctx context.Context, c *netlink.Conn) []xfrmSA {
	t.Helper()
	var out []xfrmSA
	for m, err := range c.Dump(ctx, netlink.Message{Header: netlink.Header{Type: compat.XfrmMsgGetSA}}) {
		require.NoError(t, err)
		require.Equal(t, netlink.HeaderType(compat.XfrmMsgNewSA), m.Header.Type)
		require.GreaterOrEqual(t, len(m.Data), compat.SizeofXfrmUsersaInfo, "struct xfrm_usersa_info")
		d := m.Data
		family := nativeEndian.Uint16(d[compat.XfrmSAFamily:])
		out = append(out, xfrmSA{
			Src:   xfrmAddr(d[compat.XfrmSASaddr:], family),
			Dst:   xfrmAddr(d[compat.XfrmSAIDDaddr:], family),
			Proto: d[compat.XfrmSAIDProto],
			SPI:   binary.BigEndian.Uint32(d[compat.XfrmSAIDSPI:]),
			Reqid: nativeEndian.Uint32(d[compat.XfrmSAReqid:]),
			Mode:  d[compat.XfrmSAMode],
		})
		// The attributes after the struct decode cleanly.
		ad := netlink.NewAttributeDecoder(d[compat.SizeofXfrmUsersaInfo:])
		for range ad.All() {
		}
		require.NoError(t, ad.Err())
	}
	return out
}

func dumpXfrmPolicies(t *testing.T, ctx context.Context, c *netlink.Conn) []xfrmPolicy {
	t.Helper()
	var out []xfrmPolicy
	for m, err := range c.Dump(ctx, netlink.Message{Header: netlink.Header{Type: compat.XfrmMsgGetPolicy}}) {
		require.NoError(t, err)
		require.Equal(t, netlink.HeaderType(compat.XfrmMsgNewPolicy), m.Header.Type)
		require.GreaterOrEqual(t, len(m.Data), compat.SizeofXfrmUserpolicyInfo, "struct xfrm_userpolicy_info")
		d := m.Data
		family := nativeEndian.Uint16(d[compat.XfrmSelFamily:])
		out = append(out, xfrmPolicy{
			Src:      netip.PrefixFrom(xfrmAddr(d[compat.XfrmSelSaddr:], family), int(d[compat.XfrmSelPrefixlenS])),
			Dst:      netip.PrefixFrom(xfrmAddr(d[compat.XfrmSelDaddr:], family), int(d[compat.XfrmSelPrefixlenD])),
			Dir:      d[compat.XfrmPolDir],
			Priority: nativeEndian.Uint32(d[compat.XfrmPolPriority:]),
		})
		ad := netlink.NewAttributeDecoder(d[compat.SizeofXfrmUserpolicyInfo:])
		for range ad.All() {
		}
		require.NoError(t, ad.Err())
	}
	return out
}

// parseIPXfrmState reads ip xfrm state's text (iproute2 has no JSON output
// for xfrm): "src A dst B" starts an SA, "proto esp spi 0x... reqid N mode M"
// follows.
func parseIPXfrmState(t *testing.T, out []byte) []xfrmSA {
	var sas []xfrmSA
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 4 && f[0] == "src" && f[2] == "dst" && !strings.HasPrefix(line, "\t"):
			sas = append(sas, xfrmSA{Src: netip.MustParseAddr(f[1]), Dst: netip.MustParseAddr(f[3])})
		case len(f) >= 2 && f[0] == "proto" && len(sas) > 0:
			sa := &sas[len(sas)-1]
			for i := 0; i+1 < len(f); i += 2 {
				switch f[i] {
				case "proto":
					sa.Proto = map[string]uint8{"esp": unix.IPPROTO_ESP, "ah": unix.IPPROTO_AH, "comp": unix.IPPROTO_COMP}[f[i+1]]
					require.NotZero(t, sa.Proto, "proto %q", f[i+1])
				case "spi":
					v, err := strconv.ParseUint(f[i+1], 0, 32)
					require.NoError(t, err)
					sa.SPI = uint32(v)
				case "reqid":
					v, err := strconv.ParseUint(f[i+1], 10, 32)
					require.NoError(t, err)
					sa.Reqid = uint32(v)
				case "mode":
					sa.Mode = map[string]uint8{"transport": compat.XfrmModeTransport, "tunnel": compat.XfrmModeTunnel}[f[i+1]]
				}
			}
		}
	}
	return sas
}

// parseIPXfrmPolicy reads ip xfrm policy's text: "src P dst Q" then
// "dir out priority N ptype main".
func parseIPXfrmPolicy(t *testing.T, out []byte) []xfrmPolicy {
	var ps []xfrmPolicy
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 4 && f[0] == "src" && f[2] == "dst" && !strings.HasPrefix(line, "\t"):
			ps = append(ps, xfrmPolicy{Src: netip.MustParsePrefix(f[1]), Dst: netip.MustParsePrefix(f[3])})
		case len(f) >= 2 && f[0] == "dir" && len(ps) > 0:
			p := &ps[len(ps)-1]
			p.Dir = map[string]uint8{"in": compat.XfrmPolicyIn, "out": compat.XfrmPolicyOut, "fwd": compat.XfrmPolicyFwd}[f[1]]
			if i := slices.Index(f, "priority"); i >= 0 && i+1 < len(f) {
				v, err := strconv.ParseUint(f[i+1], 10, 32)
				require.NoError(t, err)
				p.Priority = uint32(v)
			}
		}
	}
	return ps
}

func TestKernelXfrmDumps(t *testing.T) {
	ns := nettest.NewNS(t)
	// SAs: allocspi creates them without keys, so the test needs no cipher
	// in the kernel (min = max fixes the SPI).
	ns.Batch(t, []string{
		"xfrm state allocspi src 10.0.0.1 dst 10.0.0.2 proto esp reqid 1 mode transport min 0x1001 max 0x1001",
		"xfrm state allocspi src 10.0.0.1 dst 10.0.0.3 proto esp reqid 2 mode tunnel min 0x1002 max 0x1002",
		"xfrm state allocspi src 2001:db8::1 dst 2001:db8::2 proto ah reqid 3 mode transport min 0x1003 max 0x1003",
		"xfrm policy add src 10.1.0.0/24 dst 10.2.0.0/16 dir out priority 100 tmpl src 10.0.0.1 dst 10.0.0.2 proto esp reqid 1 mode transport",
		"xfrm policy add src 10.2.0.0/16 dst 10.1.0.0/24 dir in priority 200 tmpl src 10.0.0.2 dst 10.0.0.1 proto esp reqid 1 mode transport",
		"xfrm policy add src 2001:db8:1::/48 dst 2001:db8:2::/48 dir fwd priority 300",
	})
	c := dialProto(t, unix.NETLINK_XFRM, ns, netlink.Config{})
	ctx := testContext(t)
	if runtime.GOARCH == "386" {
		// A 32-bit x86 process on a 64-bit kernel needs the kernel's
		// translation of the xfrm structs, which is optional.
		_, err := c.Execute(ctx, netlink.Message{Header: netlink.Header{Type: compat.XfrmMsgGetSA, Flags: netlink.Dump}})
		if errors.Is(err, unix.EOPNOTSUPP) {
			t.Skipf("skipping: the kernel refuses xfrm to 32-bit processes (no CONFIG_XFRM_USER_COMPAT): %v", err)
		}
	}

	sas := dumpXfrmSAs(t, ctx, c)
	require.Len(t, sas, 3)
	ipSAs := parseIPXfrmState(t, ns.Output(t, "xfrm", "state"))
	assert.ElementsMatch(t, ipSAs, sas, "xfrm SA dump agrees with ip xfrm state")
	t.Logf("SAs: dump %+v, ip %+v", sas, ipSAs)
	assert.Contains(t, sas, xfrmSA{
		Src: netip.MustParseAddr("2001:db8::1"), Dst: netip.MustParseAddr("2001:db8::2"),
		Proto: unix.IPPROTO_AH, SPI: 0x1003, Reqid: 3, Mode: compat.XfrmModeTransport,
	})

	ps := dumpXfrmPolicies(t, ctx, c)
	require.Len(t, ps, 3)
	ipPs := parseIPXfrmPolicy(t, ns.Output(t, "xfrm", "policy"))
	assert.ElementsMatch(t, ipPs, ps, "xfrm policy dump agrees with ip xfrm policy")
	t.Logf("policies: dump %+v, ip %+v", ps, ipPs)
	assert.Contains(t, ps, xfrmPolicy{
		Src: netip.MustParsePrefix("10.1.0.0/24"), Dst: netip.MustParsePrefix("10.2.0.0/16"),
		Dir: compat.XfrmPolicyOut, Priority: 100,
	})
}

// cnProcMsg is a connector message to the process-events connector carrying
// op (PROC_CN_MCAST_LISTEN or _IGNORE).
func cnProcMsg(op uint32) netlink.Message {
	b := make([]byte, compat.SizeofCnMsg+4)
	nativeEndian.PutUint32(b[0:], compat.CnIdxProc)
	nativeEndian.PutUint32(b[4:], compat.CnValProc)
	nativeEndian.PutUint16(b[compat.CnMsgLen:], 4)
	nativeEndian.PutUint32(b[compat.SizeofCnMsg:], op)
	// Connector messages travel as NLMSG_DONE, the type the kernel also
	// uses for the events (drivers/connector/connector.c).
	return netlink.Message{Header: netlink.Header{Type: netlink.Done}, Data: b}
}

// procEvent is one decoded process event.
type procEvent struct {
	What     uint32
	PID      uint32 // child (fork), process (exec, exit)
	Parent   uint32 // parent tgid (fork)
	ExitCode uint32 // wait status (exit)
}

func parseProcEvent(m netlink.Message) (procEvent, bool) {
	if len(m.Data) < compat.SizeofCnMsg+compat.ProcEventData+16 {
		return procEvent{}, false
	}
	if nativeEndian.Uint32(m.Data[0:]) != compat.CnIdxProc || nativeEndian.Uint32(m.Data[4:]) != compat.CnValProc {
		return procEvent{}, false
	}
	ev := m.Data[compat.SizeofCnMsg:]
	d := ev[compat.ProcEventData:]
	pe := procEvent{What: nativeEndian.Uint32(ev[compat.ProcEventWhat:])}
	switch pe.What {
	case compat.ProcEventFork:
		pe.PID = nativeEndian.Uint32(d[compat.ProcForkChildPid:])
		pe.Parent = nativeEndian.Uint32(d[compat.ProcForkParentTgid:])
	case compat.ProcEventExec:
		pe.PID = nativeEndian.Uint32(d[compat.ProcExecPid:])
	case compat.ProcEventExit:
		pe.PID = nativeEndian.Uint32(d[compat.ProcExitPid:])
		pe.ExitCode = nativeEndian.Uint32(d[compat.ProcExitCode:])
	}
	return pe, true
}

// TestKernelConnectorProcEvents subscribes to process events with Send (the
// connector never ACKs, so Execute would wait for nothing), starts child
// processes and checks their fork, exec and exit events. Process events are
// not per network namespace: the socket is in the initial one, and events
// of other processes on the machine are skipped by PID.
func TestKernelConnectorProcEvents(t *testing.T) {
	nettest.RequireRoot(t)
	c := dialProto(t, unix.NETLINK_CONNECTOR, nil, netlink.Config{
		Groups:              []uint32{compat.CnIdxProc},
		SocketReceiveBuffer: 4 << 20, // a busy machine forks a lot
	})
	ctx := testContext(t)
	_, err := c.Send(ctx, cnProcMsg(compat.ProcCnMcastListen))
	require.NoError(t, err, "PROC_CN_MCAST_LISTEN")
	t.Cleanup(func() {
		_, err := c.Send(context.Background(), cnProcMsg(compat.ProcCnMcastIgnore))
		assert.NoError(t, err, "PROC_CN_MCAST_IGNORE")
	})

	// The kernel confirms the subscription with a PROC_EVENT_NONE multicast
	// (on kernels since 2.6.15, ack = seq + 1); wait for it so that the
	// children start after the subscription is in force.
	// waitFor reads batches until one holds an event ok accepts; ok sees
	// every event of that batch.
	waitFor := func(what string, ok func(procEvent) bool) {
		t.Helper()
		for {
			msgs, err := c.Receive(ctx)
			if errors.Is(err, netlink.ErrOverrun) {
				t.Fatalf("waiting for %s: events were lost: %v", what, err)
			}
			require.NoError(t, err, "waiting for %s", what)
			found := false
			for _, m := range msgs {
				if pe, isProc := parseProcEvent(m); isProc && ok(pe) {
					found = true
				}
			}
			if found {
				return
			}
		}
	}
	waitFor("PROC_EVENT_NONE", func(pe procEvent) bool { return pe.What == compat.ProcEventNone })

	const children = 3
	type seen struct{ fork, exec, exit bool }
	pids := map[uint32]*seen{}
	codes := map[uint32]int{}
	for i := range children {
		cmd := exec.Command("/bin/sh", "-c", fmt.Sprintf("exit %d", 10+i))
		require.NoError(t, cmd.Start())
		pid := uint32(cmd.Process.Pid)
		pids[pid] = &seen{}
		codes[pid] = 10 + i
		err := cmd.Wait()
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee)
		require.Equal(t, 10+i, ee.ExitCode())
	}

	self := uint32(os.Getpid())
	done := func() bool {
		for _, s := range pids {
			if !s.fork || !s.exec || !s.exit {
				return false
			}
		}
		return true
	}
	t.Logf("children %v", codes)
	deadline := time.Now().Add(5 * time.Second)
	for !done() {
		require.True(t, time.Now().Before(deadline), "events missing after 5s: %v", pids)
		waitFor("the children's events", func(pe procEvent) bool {
			s, ok := pids[pe.PID]
			if !ok {
				return false
			}
			switch pe.What {
			case compat.ProcEventFork:
				assert.Equal(t, self, pe.Parent, "the test forked %d", pe.PID)
				s.fork = true
			case compat.ProcEventExec:
				assert.True(t, s.fork, "exec of %d after its fork", pe.PID)
				s.exec = true
			case compat.ProcEventExit:
				assert.True(t, s.exec, "exit of %d after its exec", pe.PID)
				assert.Equal(t, uint32(codes[pe.PID])<<8, pe.ExitCode, "wait status of %d", pe.PID)
				s.exit = true
			}
			return true
		})
	}
}
