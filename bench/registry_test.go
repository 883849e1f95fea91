//go:build linux

package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/bus"
	"github.com/nlbus/netlink/genl"
	"github.com/nlbus/netlink/genl/genlctrl"
)

// The family registry on the bus (issue 9): a generic-netlink family served
// by a service process, called through the daemon with package genl.

// The benchmark family: regFamily, served by the "genl-service" role.
const (
	regFamily = "benchfam"

	regCmdAck   = 1 // do: ACK only (the same exchange as the plain round trip)
	regCmdReply = 2 // do: one 64-byte reply, then the ACK
	regCmdDump  = 3 // dump: regAttrCount entries

	regAttrBlob  = 1 // binary, at most 64 bytes
	regAttrCount = 2 // u32: the number of dump entries
	regAttrIndex = 3 // u32: a dump entry's index
)

// regBlob is the payload of the requests: genl header (4) + attribute
// header (4) + 40 bytes = the 48 bytes after the netlink header of the
// plain round trip's 64-byte message.
var regBlob = make([]byte, 40)

func regSpec() bus.FamilySpec {
	do := &genlctrl.Table{Attrs: []genlctrl.Attr{{ID: regAttrBlob, Type: genl.TypeBinary, MaxLen: 64}}}
	dump := &genlctrl.Table{Attrs: []genlctrl.Attr{{ID: regAttrCount, Type: genl.TypeU32}}}
	return bus.FamilySpec{
		Name: regFamily, Version: 1, MaxAttr: regAttrIndex,
		Ops: []bus.Op{
			{Cmd: regCmdAck, Flags: genl.CmdCapDo, DoPolicy: do},
			{Cmd: regCmdReply, Flags: genl.CmdCapDo, DoPolicy: do},
			{Cmd: regCmdDump, Flags: genl.CmdCapDump, DumpPolicy: dump},
		},
	}
}

// runGenlService is the "genl-service" role: it registers regFamily and
// serves it with bus.Serve until its standard input closes. With PORT set,
// it also runs the plain responder (serveAcks) on a second Conn bound to
// that port, in the same process: the two round trips compared wake the
// same service process.
func runGenlService(path string, ready func()) error {
	ctx := context.Background()
	c, err := bus.Dial(&bus.Config{Socket: path})
	if err != nil {
		return err
	}
	fam, err := bus.RegisterFamily(ctx, c, regSpec())
	if err != nil {
		return err
	}
	if port := envInt("PORT"); port != 0 {
		rc, err := bus.Dial(&bus.Config{Socket: path, Port: uint32(port)})
		if err != nil {
			return err
		}
		go func() {
			err := serveAcks(ctx, rc)
			fmt.Fprintln(os.Stderr, "genl-service: responder:", err)
			os.Exit(1)
		}()
	}
	ready()
	return bus.Serve(ctx, c, fam, map[uint8]bus.Handler{
		regCmdAck: func(ctx context.Context, w *bus.ReplyWriter, r *bus.Request) error { return nil },
		regCmdReply: func(ctx context.Context, w *bus.ReplyWriter, r *bus.Request) error {
			return w.Reply(ctx, 0, func(ae *netlink.AttributeEncoder) { ae.Raw(regAttrBlob, regBlob) })
		},
		regCmdDump: func(ctx context.Context, w *bus.ReplyWriter, r *bus.Request) error {
			var n uint32
			ad := netlink.NewAttributeDecoder(r.Attrs)
			for ad.Next() {
				if ad.Type() == regAttrCount {
					n = ad.Uint32()
				}
			}
			for i := range n {
				err := w.Reply(ctx, 0, func(ae *netlink.AttributeEncoder) {
					ae.Uint32(regAttrIndex, i)
					ae.Raw(regAttrBlob, regBlob)
				})
				if err != nil {
					return err
				}
			}
			return nil
		},
	})
}

// regAttrs is the attributes of a do request: regBlob.
func regAttrs() []byte {
	var ae netlink.AttributeEncoder
	ae.Raw(regAttrBlob, regBlob)
	b, _ := ae.Bytes()
	return b
}

// reportCalls reports calls/s, p50 and p99 of lat, each metric's unit
// prefixed with prefix (empty for the benchmark's only operation).
func reportCalls(b *testing.B, prefix string, lat []time.Duration, busy time.Duration) (p50, p99 time.Duration) {
	if len(lat) == 0 {
		return 0, 0
	}
	slices.Sort(lat)
	p50, p99 = lat[len(lat)/2], lat[len(lat)*99/100]
	b.ReportMetric(float64(len(lat))/busy.Seconds(), prefix+"calls/s")
	b.ReportMetric(float64(p50.Nanoseconds())/1e3, prefix+"p50-µs")
	b.ReportMetric(float64(p99.Nanoseconds())/1e3, prefix+"p99-µs")
	return p50, p99
}

// BenchmarkRegistryCall: a genl do-request to a family a service process
// serves on the bus (resolved once with GetFamily, then called by ID),
// beside the plain bus round trip (BenchmarkBusRoundTrip's daemon-ack:
// Conn.Do of a 64-byte request to port 5000, where serveAcks ACKs) through
// the same daemon process, in the same run. The plain responder runs in
// the service's process, on a Conn of its own, so that both round trips
// wake the same processes. Every request is 64 bytes (netlink header
// included) and asks for an ACK.
//
//   - plain: the plain round trip alone.
//   - genl-ack: genl.Conn.Do of regCmdAck (the daemon checks the policy,
//     relays the request as to a kernel family, the service's bus.Serve
//     ACKs, the daemon stamps the ACK as from port 0).
//   - genl-reply: genl.Conn.Do of regCmdReply: a 64-byte reply, then the
//     ACK (two frames from the service).
//   - paired: plain and genl-ack in turn (their order alternates), each
//     timed: both see the same moment of the shared machine. Reports each
//     one's p50, p99 and calls/s (over its own busy time) and the ratios
//     genl/plain of the p50s and of the rates ("overhead" is the time the
//     registry adds, as a fraction of the plain round trip's p50).
func BenchmarkRegistryCall(b *testing.B) {
	sock, _ := startDaemon(b)
	startHelper(b, "genl-service", sock, "PORT=5000")
	c, err := bus.Dial(&bus.Config{Socket: sock})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	gc := genl.NewConn(c)
	ctx := context.Background()
	fam, err := gc.GetFamily(ctx, regFamily)
	if err != nil {
		b.Fatal(err)
	}
	plainMsg := netlink.Message{Header: netlink.Header{Type: typData}, Data: make([]byte, 64-16), Addr: netlink.Addr{Port: 5000}}
	ackMsg := genl.Message{Header: genl.Header{Command: regCmdAck, Version: 1}, Data: regAttrs()}
	replyMsg := genl.Message{Header: genl.Header{Command: regCmdReply, Version: 1}, Data: regAttrs()}
	if n := 16 + len(ackMsg.Append(nil)); n != 64 {
		b.Fatalf("the genl request is %d bytes, not 64", n)
	}
	none := func(netlink.Message) error { return nil }
	replies := 0
	countReply := func(genl.Message) error { replies++; return nil }
	plain := func() {
		if _, err := c.Do(ctx, plainMsg, none); err != nil {
			b.Fatal(err)
		}
	}
	genlAck := func() {
		if _, err := gc.Do(ctx, fam.ID, ackMsg, 0, nil); err != nil {
			b.Fatal(err)
		}
	}
	genlReply := func() {
		replies = 0
		if _, err := gc.Do(ctx, fam.ID, replyMsg, 0, countReply); err != nil {
			b.Fatal(err)
		}
		if replies != 1 {
			b.Fatalf("%d replies", replies)
		}
	}
	// Warm both paths (buffers, the daemon's queues).
	for range 100 {
		plain()
		genlAck()
		genlReply()
	}
	single := func(name string, op func()) {
		b.Run(name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				t0 := time.Now()
				op()
				lat = append(lat, time.Since(t0))
			}
			reportCalls(b, "", lat, time.Since(start))
		})
	}
	single("plain", plain)
	single("genl-ack", genlAck)
	single("genl-reply", genlReply)
	b.Run("paired", func(b *testing.B) {
		lp := make([]time.Duration, 0, b.N)
		lg := make([]time.Duration, 0, b.N)
		var busyP, busyG time.Duration
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			for k := range 2 {
				t0 := time.Now()
				if (i+k)%2 == 0 {
					plain()
					d := time.Since(t0)
					lp, busyP = append(lp, d), busyP+d
				} else {
					genlAck()
					d := time.Since(t0)
					lg, busyG = append(lg, d), busyG+d
				}
			}
		}
		b.StopTimer()
		p50p, _ := reportCalls(b, "plain-", lp, busyP)
		p50g, _ := reportCalls(b, "genl-", lg, busyG)
		b.ReportMetric(float64(p50g)/float64(p50p), "genl/plain-p50")
		b.ReportMetric(busyG.Seconds()/busyP.Seconds(), "genl/plain-time")
	})
}

// statusField reads a field of a /proc/PID/status file open as fd (from
// offset 0, so the file is read afresh each time), in bytes. It allocates
// nothing: the sampler's reads must not show in the caller's allocations.
func statusField(fd int, field string, buf []byte) (int64, error) {
	n, err := syscall.Pread(fd, buf, 0)
	if err != nil {
		return 0, err
	}
	for line := range bytes.Lines(buf[:n]) {
		rest, ok := bytes.CutPrefix(line, []byte(field))
		if !ok || len(rest) == 0 || rest[0] != ':' {
			continue
		}
		var kb int64
		for _, c := range rest[1:] {
			if c >= '0' && c <= '9' {
				kb = kb*10 + int64(c-'0')
			}
		}
		return kb << 10, nil
	}
	return 0, errors.New("no " + field + " in /proc/PID/status")
}

func openStatus(pid int) (int, error) {
	return syscall.Open(fmt.Sprintf("/proc/%d/status", pid), syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
}

// readStatus returns a field of /proc/PID/status in bytes (VmRSS, VmHWM).
func readStatus(pid int, field string) (int64, error) {
	fd, err := openStatus(pid)
	if err != nil {
		return 0, err
	}
	defer syscall.Close(fd)
	return statusField(fd, field, make([]byte, 4096))
}

func procStatus(tb testing.TB, pid int, field string) int64 {
	v, err := readStatus(pid, field)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// peakSampler samples, every millisecond until stopped, the caller's live
// heap (runtime/metrics, no stop-the-world) and resident size, and the
// daemon's resident size.
type peakSampler struct {
	stop                 chan struct{}
	done                 sync.WaitGroup
	heap, rss, daemonRSS atomic.Int64 // peaks
	baseHeap             int64        // live heap at the start, after a GC
	heapSample           []metrics.Sample
}

func startPeakSampler(tb testing.TB, daemonPID int) *peakSampler {
	s := &peakSampler{stop: make(chan struct{}), heapSample: []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}}
	buf := make([]byte, 4096)
	selfFD, err1 := openStatus(os.Getpid())
	daemonFD, err2 := openStatus(daemonPID)
	if err := errors.Join(err1, err2); err != nil {
		tb.Fatal(err)
	}
	rss := func(fd int) int64 { v, _ := statusField(fd, "VmRSS", buf); return v }
	runtime.GC()
	metrics.Read(s.heapSample)
	s.baseHeap = int64(s.heapSample[0].Value.Uint64())
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		defer syscall.Close(selfFD)
		defer syscall.Close(daemonFD)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s.heapSample)
			if h := int64(s.heapSample[0].Value.Uint64()); h > s.heap.Load() {
				s.heap.Store(h)
			}
			if r := rss(selfFD); r > s.rss.Load() {
				s.rss.Store(r)
			}
			if r := rss(daemonFD); r > s.daemonRSS.Load() {
				s.daemonRSS.Store(r)
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *peakSampler) end() {
	close(s.stop)
	s.done.Wait()
}

// BenchmarkRegistryDump: one dump of n entries (10,000 and 100,000) from
// a service process through the daemon to a genl.Conn.Dump loop that
// checks every entry's index (each entry: genl header, a u32 index and a
// 40-byte blob, 72 bytes with the netlink header). Each size has a fresh
// daemon and service, so their VmHWM is that size's peak. Reports
// entries/s; the caller's peak live heap above its level before the dumps
// (sampled every ms) and its peak VmRSS; the daemon's and the service's
// VmHWM, and the daemon's peak VmRSS sampled during the dumps. Streaming
// means none of these grows with n.
//
// NLBUS_BENCH_DUMP_SIZES (entries, comma-separated) replaces the two sizes.
func BenchmarkRegistryDump(b *testing.B) {
	sizes := []int{10_000, 100_000}
	if env := os.Getenv("NLBUS_BENCH_DUMP_SIZES"); env != "" {
		sizes = sizes[:0]
		for f := range strings.SplitSeq(env, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n <= 0 {
				b.Fatalf("NLBUS_BENCH_DUMP_SIZES: %q", f)
			}
			sizes = append(sizes, n)
		}
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("%dk", n/1000), func(b *testing.B) {
			sock, d := startDaemon(b)
			svc := startHelper(b, "genl-service", sock)
			c, err := bus.Dial(&bus.Config{Socket: sock})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			gc := genl.NewConn(c)
			ctx := context.Background()
			fam, err := gc.GetFamily(ctx, regFamily)
			if err != nil {
				b.Fatal(err)
			}
			var ae netlink.AttributeEncoder
			ae.Uint32(regAttrCount, uint32(n))
			attrs, _ := ae.Bytes()
			req := genl.Message{Header: genl.Header{Command: regCmdDump, Version: 1}, Data: attrs}
			dump := func() {
				next := uint32(0)
				for m, err := range gc.Dump(ctx, fam.ID, req) {
					if err != nil {
						b.Fatal(err)
					}
					ad := netlink.NewAttributeDecoder(m.Data)
					if !ad.Next() || ad.Type() != regAttrIndex || ad.Uint32() != next {
						b.Fatalf("entry %d out of order", next)
					}
					next++
				}
				if next != uint32(n) {
					b.Fatalf("%d entries of %d", next, n)
				}
			}
			dump() // warm: the Conn's buffers
			s := startPeakSampler(b, d.cmd.Process.Pid)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				dump()
			}
			elapsed := time.Since(start)
			b.StopTimer()
			s.end()
			mib := func(v int64) float64 { return float64(v) / (1 << 20) }
			b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "entries/s")
			b.ReportMetric(mib(max(0, s.heap.Load()-s.baseHeap)), "caller-heap-growth-MiB")
			b.ReportMetric(mib(s.rss.Load()), "caller-RSS-MiB")
			b.ReportMetric(mib(s.daemonRSS.Load()), "daemon-RSS-MiB")
			b.ReportMetric(mib(procStatus(b, d.cmd.Process.Pid, "VmHWM")), "daemon-HWM-MiB")
			b.ReportMetric(mib(procStatus(b, svc.cmd.Process.Pid, "VmHWM")), "service-HWM-MiB")
		})
	}
}
