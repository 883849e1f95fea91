//go:build linux

package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/bus"
	"golang.org/x/sys/unix"
)

// The bus benchmarks run their peers as separate processes: this test
// binary, started again with busHelperEnv naming the role. init runs before
// TestMain, so a helper never runs the benchmarks.
const busHelperEnv = "NLBUS_BENCH_HELPER"

// Message types the benchmark peers use.
const (
	typData = 0x30
	typEnd  = 0x31
)

func init() {
	role := os.Getenv(busHelperEnv)
	if role == "" {
		return
	}
	// Not on this goroutine: during init the runtime keeps the main
	// goroutine locked to the main thread, and a peer's loop there pays a
	// thread handoff (futex) on every wakeup.
	done := make(chan error, 1)
	go func() { done <- runBusHelper(role) }()
	err := <-done
	if err != nil {
		fmt.Fprintln(os.Stderr, role+":", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func envInt(name string) int {
	v, _ := strconv.Atoi(os.Getenv(name))
	return v
}

// runBusHelper runs one role. Each prints "ready" when it is, and stops
// when its standard input closes (the parent's end of the pipe).
func runBusHelper(role string) error {
	path := os.Getenv(bus.EnvSocket)
	ctx := context.Background()
	out := bufio.NewWriter(os.Stdout)
	ready := func() { fmt.Fprintln(out, "ready"); out.Flush() }
	// NLBUS_BENCH_CPUPROFILE=FILE profiles the role named by
	// NLBUS_BENCH_CPUPROFILE_ROLE (default: the daemon) until it stops.
	profRole := os.Getenv("NLBUS_BENCH_CPUPROFILE_ROLE")
	if profRole == "" {
		profRole = "daemon"
	}
	if p := os.Getenv("NLBUS_BENCH_CPUPROFILE"); p != "" && role == profRole {
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
		go func() { io.Copy(io.Discard, os.Stdin); pprof.StopCPUProfile(); f.Close(); os.Exit(0) }()
	} else {
		go func() { io.Copy(io.Discard, os.Stdin); os.Exit(0) }()
	}
	if strings.HasPrefix(role, "dbus-") {
		return runDBusHelper(role, os.Getenv("DBUS_ADDR"), ready, out)
	}
	switch role {
	case "daemon":
		l, err := bus.Listen(path, nil)
		if err != nil {
			return err
		}
		srv := &bus.Server{QueueBytes: envInt("Q_BYTES"), QueueFrames: envInt("Q_FRAMES")}
		ready()
		return srv.Serve(l)

	case "echo-raw", "sink-raw":
		// The direct floor: a blocking SEQPACKET socket, raw system calls.
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET, 0)
		if err != nil {
			return err
		}
		if err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); err != nil {
			return err
		}
		ready()
		buf := make([]byte, 64<<10)
		count := 0
		for {
			n, err := unix.Read(fd, buf)
			if err != nil || n == 0 {
				return err
			}
			if role == "echo-raw" {
				if _, err := unix.Write(fd, buf[:n]); err != nil {
					return err
				}
				continue
			}
			if n > 4 && buf[4] == typEnd {
				fmt.Fprintln(out, count)
				out.Flush()
				count = 0
				continue
			}
			count++
		}

	case "echo-poll":
		c, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: path, Net: "unixpacket"})
		if err != nil {
			return err
		}
		ready()
		buf := make([]byte, 64<<10)
		for {
			n, err := c.Read(buf)
			if err == io.EOF || n == 0 {
				return nil // the benchmark is over
			}
			if err != nil {
				return err
			}
			if _, err := c.Write(buf[:n]); err != nil {
				return err
			}
		}

	case "access-service":
		return runAccessService(path, ready)

	case "daemon-access":
		// The daemon with the access rules of $ACCESS_FILE (none if unset).
		return runAccessDaemon(path, os.Getenv("ACCESS_FILE"), ready)

	case "responder":
		// A service on a bus Conn: answer every request with an ACK.
		c, err := bus.Dial(&bus.Config{Socket: path, Port: uint32(envInt("PORT"))})
		if err != nil {
			return err
		}
		ready()
		return serveAcks(ctx, c)

	case "responder-raw":
		// The same service on the bus Transport directly, without a Conn.
		t, err := bus.DialTransport(ctx, path, uint32(envInt("PORT")))
		if err != nil {
			return err
		}
		ready()
		buf := make([]byte, 64<<10)
		ack := make([]byte, 16+4+16)
		for {
			info, err := t.Recv(ctx, buf)
			if err != nil {
				return err
			}
			if info.N < 16 {
				continue
			}
			h, _ := netlink.ParseHeader(buf)
			netlink.MarshalHeader(ack, netlink.Header{Length: 36, Type: netlink.Error, Flags: netlink.Capped, Sequence: h.Sequence})
			copy(ack[20:], buf[:16])
			if err := t.Send(ctx, ack, info.Src); err != nil {
				return err
			}
		}

	case "responder-blocking":
		// The service speaking the protocol on a blocking socket, no Go
		// poller: the daemon's own cost shows.
		fd, port, err := blockingBusSocket(path, uint32(envInt("PORT")))
		if err != nil {
			return err
		}
		_ = port
		ready()
		buf := make([]byte, 64<<10)
		out := make([]byte, bus.EnvelopeLen+36)
		for {
			n, err := unix.Read(fd, buf)
			if err != nil || n == 0 {
				return err
			}
			e, err := bus.ParseEnvelope(buf[:n])
			if err != nil {
				return err
			}
			h, _ := netlink.ParseHeader(buf[bus.EnvelopeLen:])
			bus.PutEnvelope(out, bus.Envelope{Length: uint32(len(out)), Dst: e.Src})
			netlink.MarshalHeader(out[bus.EnvelopeLen:], netlink.Header{Length: 36, Type: netlink.Error, Flags: netlink.Capped, Sequence: h.Sequence})
			copy(out[bus.EnvelopeLen+20:], buf[bus.EnvelopeLen:bus.EnvelopeLen+16])
			if _, err := unix.Write(fd, out); err != nil {
				return err
			}
		}

	case "genl-service":
		return runGenlService(path, ready)

	case "sink", "sub":
		// Count messages until an end marker, print the count.
		t, err := bus.DialTransport(ctx, path, uint32(envInt("PORT")))
		if err != nil {
			return err
		}
		if g := envInt("GROUP"); g != 0 {
			if err := t.JoinGroup(uint32(g)); err != nil {
				return err
			}
		}
		ready()
		buf := make([]byte, 64<<10)
		count := 0
		for {
			info, err := t.Recv(ctx, buf)
			if err != nil {
				fmt.Fprintln(out, "error:", err)
				out.Flush()
				return err
			}
			if info.N >= 16 && buf[4] == typEnd {
				fmt.Fprintln(out, count)
				out.Flush()
				count = 0
				continue
			}
			count++
		}
	}
	return fmt.Errorf("unknown role %q", role)
}

// serveAcks answers every request c receives with an ACK from c (the
// "responder" role's loop), until c fails.
func serveAcks(ctx context.Context, c *netlink.Conn) error {
	ack := make([]byte, 4+16)
	for {
		err := c.ReceiveBorrowed(ctx, func(m netlink.Message) {
			if m.Header.Flags&netlink.Request == 0 {
				return
			}
			netlink.MarshalHeader(ack[4:], m.Header)
			c.Send(ctx, netlink.Message{
				Header: netlink.Header{Type: netlink.Error, Flags: netlink.Capped, Sequence: m.Header.Sequence},
				Data:   ack, Addr: m.Addr,
			})
		})
		if err != nil {
			return err
		}
	}
}

// blockingBusSocket connects a blocking socket to the daemon, reads the
// hello and binds port (if not 0) by hand.
func blockingBusSocket(path string, port uint32) (int, uint32, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET, 0)
	if err != nil {
		return -1, 0, err
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		return -1, 0, err
	}
	buf := make([]byte, 64<<10)
	n, err := unix.Read(fd, buf)
	if err != nil {
		return -1, 0, err
	}
	e, err := bus.ParseEnvelope(buf[:n])
	if err != nil {
		return -1, 0, err
	}
	if port == 0 {
		return fd, e.Dst, nil
	}
	m, _ := bus.ControlMessage(bus.CmdBind, netlink.Acknowledge, func(ae *netlink.AttributeEncoder) { ae.Uint32(bus.AttrPort, port) })
	m.Header.Sequence = 1
	mb, _ := netlink.AppendMessage(nil, m)
	f := make([]byte, bus.EnvelopeLen+len(mb))
	bus.PutEnvelope(f, bus.Envelope{Length: uint32(len(f))})
	copy(f[bus.EnvelopeLen:], mb)
	if _, err := unix.Write(fd, f); err != nil {
		return -1, 0, err
	}
	if _, err := unix.Read(fd, buf); err != nil { // the ACK (or error)
		return -1, 0, err
	}
	return fd, port, nil
}
