//go:build linux

package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/bus"
	"golang.org/x/sys/unix"
)

// helper is a peer process.
type helper struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

// startHelper starts this binary in role, waits for its "ready" and stops
// it when the benchmark ends.
func startHelper(tb testing.TB, role, sock string, env ...string) *helper {
	tb.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), append(env, busHelperEnv+"="+role, bus.EnvSocket+"="+sock)...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	h := &helper{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
	lastHelper.Lock()
	lastHelper.h = h
	lastHelper.Unlock()
	tb.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	if line := h.line(tb); line != "ready" {
		tb.Fatalf("%s: %q", role, line)
	}
	return h
}

func (h *helper) line(tb testing.TB) string {
	tb.Helper()
	s, err := h.out.ReadString('\n')
	if err != nil {
		tb.Fatalf("helper: %v", err)
	}
	return strings.TrimSpace(s)
}

func (h *helper) count(tb testing.TB) int {
	tb.Helper()
	s := h.line(tb)
	n, err := strconv.Atoi(s)
	if err != nil {
		tb.Fatalf("helper said %q", s)
	}
	return n
}

func sockPath(tb testing.TB) string {
	dir, err := os.MkdirTemp("", "nlbench")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "bus.sock")
}

// startDaemon runs the bus daemon in its own process.
func startDaemon(tb testing.TB, env ...string) (string, *helper) {
	sock := sockPath(tb)
	if p := os.Getenv("NLBUS_BENCH_DAEMON_PROCS"); p != "" {
		env = append(env, "GOMAXPROCS="+p)
	}
	return sock, startHelper(tb, "daemon", sock, env...)
}

// msg64 is a request with a 64-byte message (header included).
func msg64(typ uint16, flags netlink.HeaderFlags, seq uint32) []byte {
	b, _ := netlink.AppendMessage(nil, netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(typ), Flags: flags, Sequence: seq},
		Data:   make([]byte, 64-16),
	})
	return b
}

// latencies records per-operation times and reports rate, p50 and p99.
type latencies []time.Duration

func (l latencies) report(b *testing.B, elapsed time.Duration) {
	if len(l) == 0 {
		return
	}
	slices.Sort(l)
	b.ReportMetric(float64(len(l))/elapsed.Seconds(), "rt/s")
	b.ReportMetric(float64(l[len(l)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(l[len(l)*99/100].Nanoseconds())/1e3, "p99-µs")
}

// directPair listens on a fresh socket, starts role in a process that
// connects to it, and returns the accepted end.
func directPair(b *testing.B, role string) *net.UnixConn {
	sock := sockPath(b)
	l, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: sock, Net: "unixpacket"})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan *net.UnixConn, 1)
	go func() {
		c, err := l.AcceptUnix()
		if err != nil {
			accepted <- nil
			return
		}
		accepted <- c
	}()
	startHelper(b, role, sock)
	c := <-accepted
	if c == nil {
		b.Fatal("accept failed")
	}
	b.Cleanup(func() { c.Close() })
	return c
}

// rawFD returns a blocking duplicate of c's descriptor.
func rawFD(b *testing.B, c *net.UnixConn) int {
	f, err := c.File()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	fd := int(f.Fd()) // Fd puts the file in blocking mode
	return fd
}

// BenchmarkBusRoundTrip: a 64-byte request and its answer between two
// processes. direct-raw: SEQPACKET ping-pong with blocking system calls
// (the floor); direct-poll: the same through the Go runtime poller;
// daemon-ack: Conn.Execute through the nlbus daemon (a third process) to a
// service process that ACKs from its own Conn; daemon-self: Execute of a
// NOOP+ACK that the daemon answers itself.
func BenchmarkBusRoundTrip(b *testing.B) {
	req := msg64(typData, netlink.Request|netlink.Acknowledge, 1)
	b.Run("direct-raw", func(b *testing.B) {
		fd := rawFD(b, directPair(b, "echo-raw"))
		buf := make([]byte, 64<<10)
		lat := make(latencies, 0, b.N)
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		for range b.N {
			t0 := time.Now()
			if _, err := unix.Write(fd, req); err != nil {
				b.Fatal(err)
			}
			if _, err := unix.Read(fd, buf); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		lat.report(b, time.Since(start))
	})
	b.Run("direct-poll", func(b *testing.B) {
		c := directPair(b, "echo-poll")
		buf := make([]byte, 64<<10)
		lat := make(latencies, 0, b.N)
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		for range b.N {
			t0 := time.Now()
			if _, err := c.Write(req); err != nil {
				b.Fatal(err)
			}
			if _, err := c.Read(buf); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		lat.report(b, time.Since(start))
	})
	run := func(b *testing.B, self bool, responder ...string) {
		sock, _ := startDaemon(b)
		dst := netlink.Addr{}
		m := netlink.Message{Header: netlink.Header{Type: netlink.Noop}}
		if !self {
			role := "responder"
			if len(responder) > 0 {
				role = responder[0]
			}
			startHelper(b, role, sock, "PORT=5000")
			dst.Port = 5000
			m = netlink.Message{Header: netlink.Header{Type: typData}, Data: make([]byte, 64-16), Addr: dst}
		}
		c, err := bus.Dial(&bus.Config{Socket: sock})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		ctx := context.Background()
		lat := make(latencies, 0, b.N)
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		for range b.N {
			t0 := time.Now()
			if _, err := c.Do(ctx, m, func(netlink.Message) error { return nil }); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		lat.report(b, time.Since(start))
	}
	b.Run("daemon-ack", func(b *testing.B) { run(b, false) })
	b.Run("daemon-ack-transport", func(b *testing.B) { run(b, false, "responder-raw") })
	b.Run("daemon-self", func(b *testing.B) { run(b, true) })
	b.Run("daemon-blocking-ends", func(b *testing.B) {
		// Both ends on blocking sockets speaking the protocol by hand: the
		// daemon's share of the round trip.
		sock, _ := startDaemon(b)
		startHelper(b, "responder-blocking", sock, "PORT=5000")
		fd, _, err := blockingBusSocket(sock, 0)
		if err != nil {
			b.Fatal(err)
		}
		defer unix.Close(fd)
		mb := msg64(typData, netlink.Request|netlink.Acknowledge, 1)
		f := make([]byte, bus.EnvelopeLen+len(mb))
		bus.PutEnvelope(f, bus.Envelope{Length: uint32(len(f)), Dst: 5000})
		copy(f[bus.EnvelopeLen:], mb)
		buf := make([]byte, 64<<10)
		lat := make(latencies, 0, b.N)
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		for range b.N {
			t0 := time.Now()
			if _, err := unix.Write(fd, f); err != nil {
				b.Fatal(err)
			}
			if _, err := unix.Read(fd, buf); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		lat.report(b, time.Since(start))
	})
}

// BenchmarkBusRoundTripPaired measures the direct floor and Conn.Do
// through the daemon in the same op, alternating blocks of 50 round trips,
// so that both see the same load on a shared machine; it reports each
// one's rate and latencies, the ratio of the rates, and the CPU time this
// process (the client end) spent per round trip in each. The cells of
// BenchmarkBusRoundTrip run one after the other, and their ratio moves
// with whatever else the machine did between them.
func BenchmarkBusRoundTripPaired(b *testing.B) {
	const block = 50
	req := msg64(typData, netlink.Request|netlink.Acknowledge, 1)
	fd := rawFD(b, directPair(b, "echo-raw"))
	buf := make([]byte, 64<<10)
	sock, _ := startDaemon(b)
	startHelper(b, "responder", sock, "PORT=5000")
	c, err := bus.Dial(&bus.Config{Socket: sock})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	m := netlink.Message{Header: netlink.Header{Type: typData}, Data: make([]byte, 64-16), Addr: netlink.Addr{Port: 5000}}
	ignore := func(netlink.Message) error { return nil }
	var direct, daemon latencies
	var directT, daemonT time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	var ru0, ru1 unix.Rusage
	var directCPU, daemonCPU time.Duration
	cpu := func(r *unix.Rusage) time.Duration { return time.Duration(r.Utime.Nano() + r.Stime.Nano()) }
	for b.Loop() {
		unix.Getrusage(unix.RUSAGE_SELF, &ru0)
		for range block {
			t0 := time.Now()
			if _, err := unix.Write(fd, req); err != nil {
				b.Fatal(err)
			}
			if _, err := unix.Read(fd, buf); err != nil {
				b.Fatal(err)
			}
			d := time.Since(t0)
			directT += d
			direct = append(direct, d)
		}
		unix.Getrusage(unix.RUSAGE_SELF, &ru1)
		directCPU += cpu(&ru1) - cpu(&ru0)
		for range block {
			t0 := time.Now()
			if _, err := c.Do(ctx, m, ignore); err != nil {
				b.Fatal(err)
			}
			d := time.Since(t0)
			daemonT += d
			daemon = append(daemon, d)
		}
		unix.Getrusage(unix.RUSAGE_SELF, &ru0)
		daemonCPU += cpu(&ru0) - cpu(&ru1)
	}
	b.ReportMetric(float64(directCPU.Nanoseconds())/1e3/float64(len(direct)), "direct-cpu-µs")
	b.ReportMetric(float64(daemonCPU.Nanoseconds())/1e3/float64(len(daemon)), "daemon-cpu-µs")
	slices.Sort(direct)
	slices.Sort(daemon)
	dr := float64(len(direct)) / directT.Seconds()
	br := float64(len(daemon)) / daemonT.Seconds()
	b.ReportMetric(dr, "direct-rt/s")
	b.ReportMetric(br, "daemon-rt/s")
	b.ReportMetric(br/dr, "daemon/direct")
	b.ReportMetric(float64(direct[len(direct)/2].Nanoseconds())/1e3, "direct-p50-µs")
	b.ReportMetric(float64(daemon[len(daemon)/2].Nanoseconds())/1e3, "daemon-p50-µs")
	b.ReportMetric(float64(daemon[len(daemon)*99/100].Nanoseconds())/1e3, "daemon-p99-µs")
}

// BenchmarkBusOneWay: 64-byte messages from one process to another as fast
// as the sender can go; the receiver counts them (all must arrive).
// direct: blocking SEQPACKET writes; daemon: Conn.Send through the daemon
// (whose queues are made deep enough that nothing is refused).
func BenchmarkBusOneWay(b *testing.B) {
	m := msg64(typData, 0, 0)
	end := msg64(typEnd, 0, 0)
	b.Run("direct", func(b *testing.B) {
		c := directPair(b, "sink-raw")
		fd := rawFD(b, c)
		h := startedHelperOf(b)
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		for range b.N {
			if _, err := unix.Write(fd, m); err != nil {
				b.Fatal(err)
			}
		}
		unix.Write(fd, end)
		got := h.count(b)
		elapsed := time.Since(start)
		if got != b.N {
			b.Fatalf("received %d of %d", got, b.N)
		}
		b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msg/s")
	})
	b.Run("daemon", func(b *testing.B) {
		sock, _ := startDaemon(b, "Q_BYTES=1073741824", "Q_FRAMES=16777216")
		sink := startHelper(b, "sink", sock, "PORT=5001")
		c, err := bus.Dial(&bus.Config{Socket: sock})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		ctx := context.Background()
		data := netlink.Message{Header: netlink.Header{Type: typData}, Data: make([]byte, 64-16), Addr: netlink.Addr{Port: 5001}}
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		for range b.N {
			if _, err := c.Send(ctx, data); err != nil {
				b.Fatal(err)
			}
		}
		c.Send(ctx, netlink.Message{Header: netlink.Header{Type: typEnd}, Addr: netlink.Addr{Port: 5001}})
		got := sink.count(b)
		elapsed := time.Since(start)
		if got != b.N {
			b.Fatalf("received %d of %d", got, b.N)
		}
		b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msg/s")
	})
}

// lastHelper remembers the helper directPair started, for the one-way
// benchmark's count.
var lastHelper struct {
	sync.Mutex
	h *helper
}

func startedHelperOf(b *testing.B) *helper {
	lastHelper.Lock()
	defer lastHelper.Unlock()
	return lastHelper.h
}

// BenchmarkBusMulticast10: one publisher, 10 subscriber processes; every
// 64-byte message must reach all 10 (no drops while they keep up).
func BenchmarkBusMulticast10(b *testing.B) {
	const subs = 10
	sock, _ := startDaemon(b, "Q_BYTES=268435456", "Q_FRAMES=4194304")
	var hs []*helper
	for range subs {
		hs = append(hs, startHelper(b, "sub", sock, "GROUP=700"))
	}
	c, err := bus.Dial(&bus.Config{Socket: sock})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	data := netlink.Message{Header: netlink.Header{Type: typData}, Data: make([]byte, 64-16), Addr: netlink.Addr{Group: 700}}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if _, err := c.Send(ctx, data); err != nil {
			b.Fatal(err)
		}
	}
	c.Send(ctx, netlink.Message{Header: netlink.Header{Type: typEnd}, Addr: netlink.Addr{Group: 700}})
	for i, h := range hs {
		if got := h.count(b); got != b.N {
			b.Fatalf("subscriber %d received %d of %d", i, got, b.N)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	st, err := bus.GetStats(ctx, c)
	if err != nil {
		b.Fatal(err)
	}
	if st.Dropped != 0 {
		b.Fatalf("%d frames dropped", st.Dropped)
	}
	b.ReportMetric(float64(subs*b.N)/elapsed.Seconds(), "deliveries/s")
}

// BenchmarkBusIdleClients: the daemon's resident memory with 1,000 idle
// clients connected (each has joined a group), read from /proc.
func BenchmarkBusIdleClients(b *testing.B) {
	const n = 1000
	for range b.N {
		sock, d := startDaemon(b)
		ctx := context.Background()
		var ts []*bus.Transport
		for i := range n {
			t, err := bus.DialTransport(ctx, sock, 0)
			if err != nil {
				b.Fatalf("client %d: %v", i, err)
			}
			if err := t.JoinGroup(uint32(1000 + i%10)); err != nil {
				b.Fatal(err)
			}
			ts = append(ts, t)
		}
		time.Sleep(200 * time.Millisecond)
		rss := vmRSS(b, d.cmd.Process.Pid)
		for _, t := range ts {
			t.Close()
		}
		b.ReportMetric(float64(rss)/(1<<20), "daemon-RSS-MiB")
		if rss > 50<<20 {
			b.Fatalf("daemon RSS %d MiB with %d idle clients, over the 50 MiB target", rss>>20, n)
		}
	}
}

func vmRSS(b *testing.B, pid int) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	b.Fatal("no VmRSS")
	return 0
}
