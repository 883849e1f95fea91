package bus_test

import (
	"context"
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/bus"
	"github.com/nlbus/netlink/bus/bustest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

var ne = binary.NativeEndian

// rawClient is a hand-driven connection to the daemon.
type rawClient struct {
	t    *testing.T
	c    *net.UnixConn
	port uint32
}

func dialRaw(t *testing.T, path string) *rawClient {
	t.Helper()
	c, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: path, Net: "unixpacket"})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	rc := &rawClient{t: t, c: c}
	e, payload := rc.read()
	require.Equal(t, uint32(0), e.Src)
	msgs, err := netlink.ParseMessages(payload)
	require.NoError(t, err)
	h, err := bus.ParseHello(msgs[0].Data)
	require.NoError(t, err)
	require.Equal(t, uint32(bus.Version), h.Version)
	rc.port = h.Port
	return rc
}

// read returns the next frame (the daemon's datagrams here hold one).
func (rc *rawClient) read() (bus.Envelope, []byte) {
	rc.t.Helper()
	buf := make([]byte, 1<<20)
	require.NoError(rc.t, rc.c.SetReadDeadline(time.Now().Add(5*time.Second)))
	n, err := rc.c.Read(buf)
	require.NoError(rc.t, err)
	e, err := bus.ParseEnvelope(buf[:n])
	require.NoError(rc.t, err)
	return e, buf[bus.EnvelopeLen:e.Length]
}

func (rc *rawClient) write(b []byte) {
	rc.t.Helper()
	_, err := rc.c.Write(b)
	require.NoError(rc.t, err)
}

// frame builds a datagram: an envelope and messages.
func frame(e bus.Envelope, msgs ...[]byte) []byte {
	var payload []byte
	for _, m := range msgs {
		payload = append(payload, m...)
	}
	b := make([]byte, bus.EnvelopeLen+len(payload))
	if e.Length == 0 {
		e.Length = uint32(len(b))
	}
	bus.PutEnvelope(b, e)
	copy(b[bus.EnvelopeLen:], payload)
	return b
}

func nlmsg(typ uint16, flags netlink.HeaderFlags, seq uint32, data []byte) []byte {
	b, _ := netlink.AppendMessage(nil, netlink.Message{Header: netlink.Header{Type: netlink.HeaderType(typ), Flags: flags, Sequence: seq}, Data: data})
	return b
}

// expectError reads the next frame and checks it is an NLMSG_ERROR with
// errno and a message containing text.
func (rc *rawClient) expectError(errno unix.Errno, text string, seq uint32) {
	rc.t.Helper()
	e, payload := rc.read()
	assert.Equal(rc.t, rc.port, e.Dst)
	msgs, err := netlink.ParseMessages(payload)
	require.NoError(rc.t, err)
	require.Len(rc.t, msgs, 1)
	require.Equal(rc.t, netlink.Error, msgs[0].Header.Type)
	got, ext, err := netlink.ParseError(msgs[0])
	require.NoError(rc.t, err)
	assert.Equal(rc.t, errno, got, "errno (message %q)", ext.Message)
	assert.Contains(rc.t, ext.Message, text)
	assert.Equal(rc.t, seq, msgs[0].Header.Sequence)
}

func TestBadFrames(t *testing.T) {
	srv := bustest.NewServer(t, &bus.Server{MaxBadFrames: 1000})
	rc := dialRaw(t, srv.Path)
	good := nlmsg(0x30, netlink.Request, 9, []byte("abcd"))
	badMagic := frame(bus.Envelope{}, good)
	badMagic[0] = 'x'
	longer := frame(bus.Envelope{Dst: rc.port}, good)
	ne.PutUint32(longer[4:], uint32(len(longer)+4))
	shorter := frame(bus.Envelope{Dst: rc.port}, good)
	ne.PutUint32(shorter[4:], uint32(len(shorter)-4))
	tiny := frame(bus.Envelope{}, good)
	ne.PutUint32(tiny[4:], 8)
	zeroLen := frame(bus.Envelope{Dst: rc.port}, good)
	ne.PutUint32(zeroLen[bus.EnvelopeLen:], 0)
	pastEnd := frame(bus.Envelope{Dst: rc.port}, good)
	ne.PutUint32(pastEnd[bus.EnvelopeLen:], 4096)
	for _, tc := range []struct {
		name  string
		dg    []byte
		errno unix.Errno
		text  string
		seq   uint32
	}{
		{"short envelope", []byte{'n', 'b', 1, 0, 5}, unix.EINVAL, "shorter than its envelope", 0},
		{"bad magic", badMagic, unix.EPROTO, "bad envelope magic", 0},
		{"length past datagram", longer, unix.EINVAL, "frame length", 9},
		{"length short of datagram", shorter, unix.EINVAL, "frame length", 9},
		{"length below envelope", tiny, unix.EINVAL, "frame length", 9},
		{"unknown flags", frame(bus.Envelope{Flags: 0x80, Dst: rc.port}, good), unix.EINVAL, "unknown envelope flags", 9},
		{"daemon-only flag", frame(bus.Envelope{Flags: bus.FlagCreds, Dst: rc.port}, good), unix.EINVAL, "transport flag", 9},
		{"port and group", frame(bus.Envelope{Dst: rc.port, Group: 100}, good), unix.EINVAL, "not both", 9},
		{"no messages", frame(bus.Envelope{Dst: rc.port}), unix.EINVAL, "no netlink message", 0},
		{"message length zero", zeroLen, unix.EINVAL, "malformed netlink message", 9},
		{"message past end", pastEnd, unix.EINVAL, "malformed netlink message", 9},
		{"truncated header", frame(bus.Envelope{Dst: rc.port}, good, []byte{1, 2, 3}), unix.EINVAL, "malformed netlink message", 9},
		{"oversize", frame(bus.Envelope{Dst: rc.port}, nlmsg(0x30, netlink.Request, 9, make([]byte, 40<<10))), unix.EMSGSIZE, "exceeds the maximum of 32768", 9},
		{"bad control attrs", frame(bus.Envelope{}, nlmsg(bus.FamilyID, netlink.Request, 9, []byte{bus.CmdJoin, 1, 0, 0, 200, 0, 3, 0})), unix.EINVAL, "malformed bus-control", 9},
		{"control without genl header", frame(bus.Envelope{}, nlmsg(bus.FamilyID, netlink.Request, 9, []byte{1})), unix.EINVAL, "no genl header", 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc.write(tc.dg)
			rc.expectError(tc.errno, tc.text, tc.seq)
		})
	}
	if bus.ZeroLengthFrames {
		// A datagram of no bytes is a bad frame, not the end of the
		// connection. (Elsewhere the daemon cannot tell the two apart:
		// PROTOCOL.md §5.)
		rc.write(nil)
		rc.expectError(unix.EINVAL, "shorter than its envelope", 0)
	}
	// The connection survived all of it.
	rc.write(frame(bus.Envelope{}, nlmsg(bus.FamilyID, netlink.Request|netlink.Acknowledge, 10, []byte{bus.CmdHello, 1, 0, 0})))
	_, payload := rc.read()
	msgs, err := netlink.ParseMessages(payload)
	require.NoError(t, err)
	require.Len(t, msgs, 2)
	assert.Equal(t, netlink.HeaderType(bus.FamilyID), msgs[0].Header.Type)
}

func TestBadPeerDisconnected(t *testing.T) {
	srv := bustest.NewServer(t, &bus.Server{MaxBadFrames: 3})
	rc := dialRaw(t, srv.Path)
	other := srv.Dial(t, nil)
	for i := range 3 {
		rc.write([]byte("garbage, not a frame at all....................."))
		text := "bad envelope magic"
		if i == 2 {
			text = "disconnecting"
		}
		rc.expectError(unix.EPROTO, text, 0)
	}
	buf := make([]byte, 64)
	rc.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := rc.c.Read(buf)
	assert.True(t, n == 0 || err != nil, "connection still open")
	// Others never noticed.
	ctx := testCtx(t)
	_, err = bus.GetStats(ctx, other)
	require.NoError(t, err)
}

func TestVersionMismatch(t *testing.T) {
	srv := bustest.NewServer(t, nil)
	rc := dialRaw(t, srv.Path)
	dg := frame(bus.Envelope{}, nlmsg(bus.FamilyID, netlink.Request, 3, []byte{bus.CmdHello, 1, 0, 0}))
	dg[2] = 2
	rc.write(dg)
	rc.expectError(unix.EPROTONOSUPPORT, "frame has version 2, this side speaks 1", 3)
	buf := make([]byte, 64)
	rc.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := rc.c.Read(buf)
	assert.True(t, n == 0 || err != nil, "connection still open after a version mismatch")
}

func TestSpoofedSourceRewritten(t *testing.T) {
	ctx := testCtx(t)
	srv := bustest.NewServer(t, nil)
	rc := dialRaw(t, srv.Path)
	victim := srv.Dial(t, nil)
	b := srv.Dial(t, nil)
	dg := frame(bus.Envelope{Src: victim.PortID(), Dst: b.PortID(), Flags: 0, PID: 1, UID: 0, GID: 0}, nlmsg(0x30, 0, 1, []byte("i am victim")))
	rc.write(dg)
	m := recvOne(t, ctx, b)
	assert.Equal(t, "i am victim", string(m.Data))
	assert.Equal(t, rc.port, m.Addr.Port, "source port not rewritten")
	require.NotNil(t, m.Creds)
	assert.Equal(t, int32(unix.Getpid()), m.Creds.PID, "credentials not the sender's")
}

func TestOversizeSendRefusedLocally(t *testing.T) {
	ctx := testCtx(t)
	srv := bustest.NewServer(t, nil)
	a := srv.Dial(t, nil)
	_, err := a.Send(ctx, netlink.Message{Header: netlink.Header{Type: 0x30}, Data: make([]byte, 64<<10), Addr: netlink.Addr{Port: 1}})
	require.ErrorIs(t, err, unix.EMSGSIZE)
	_, err = bus.GetStats(ctx, a)
	require.NoError(t, err, "the Conn is still usable")
	_ = context.Background
}

// A client that sends requests and never reads its answers loses some,
// and is told so when it reads.
func TestUnreadAnswersReportedAsOverrun(t *testing.T) {
	srv := bustest.NewServer(t, &bus.Server{QueueBytes: 4096, QueueFrames: 8})
	rc := dialRaw(t, srv.Path)
	require.NoError(t, rc.c.SetReadBuffer(4096))
	req := frame(bus.Envelope{}, nlmsg(bus.FamilyID, netlink.Request|netlink.Acknowledge, 1, []byte{bus.CmdGetStats, 1, 0, 0}))
	for range 2000 {
		rc.write(req)
	}
	sawOverrun, answers := false, 0
	buf := make([]byte, 1<<20)
	for !sawOverrun {
		require.NoError(t, rc.c.SetReadDeadline(time.Now().Add(2*time.Second)))
		n, err := rc.c.Read(buf)
		require.NoError(t, err, "no overrun notice after %d answers", answers)
		require.NoError(t, bus.SplitFrames(buf[:n], func(e bus.Envelope, payload []byte) bool {
			if e.Flags&bus.FlagOverrun != 0 {
				sawOverrun = true
			} else {
				answers++
			}
			return true
		}))
	}
	assert.Less(t, answers, 4000, "every answer arrived: nothing was lost")
}

// A client that closes with datagrams from the daemon unread makes the
// kernel report ECONNRESET to the daemon before the datagrams the client
// sent just before closing; those are still delivered.
func TestCloseWithUnreadKeepsLastSends(t *testing.T) {
	srv := bustest.NewServer(t, nil)
	b := srv.Dial(t, nil)
	ctx := testCtx(t)
	for round := range 3 {
		rc := dialRaw(t, srv.Path)
		// Something for rc that it will never read.
		rc.write(frame(bus.Envelope{Dst: rc.port}, nlmsg(0x30, 0, 1, []byte("unread"))))
		fd, err := rc.c.File()
		require.NoError(t, err)
		pfd := []unix.PollFd{{Fd: int32(fd.Fd()), Events: unix.POLLIN}}
		_, err = unix.Poll(pfd, 5000)
		require.NoError(t, err)
		require.NotZero(t, pfd[0].Revents&unix.POLLIN, "the unread datagram arrives")
		fd.Close()
		lastWords(t, ctx, rc, b, 200, round)
	}
}

// lastWords has rc send n messages to b and close, and checks that b gets
// them all, in order.
func lastWords(t *testing.T, ctx context.Context, rc *rawClient, b *netlink.Conn, n, round int) {
	t.Helper()
	for i := range n {
		rc.write(frame(bus.Envelope{Dst: b.PortID()}, nlmsg(0x30, 0, uint32(i), []byte("last words"))))
	}
	require.NoError(t, rc.c.Close())
	for i := range n {
		m := recvOne(t, ctx, b)
		require.Equal(t, uint32(i), m.Header.Sequence, "round %d", round)
	}
}

// An empty datagram sent just before closing, with others after it, is a
// datagram (refused), not the end of the connection: what follows it is
// still delivered, however the daemon's reads pair the datagrams.
func TestEmptyDatagramBeforeClose(t *testing.T) {
	if !bus.ZeroLengthFrames {
		t.Skip("this I/O path cannot tell an empty datagram from the end of the connection (peerio_other.go)")
	}
	srv := bustest.NewServer(t, nil)
	b := srv.Dial(t, nil)
	ctx := testCtx(t)
	for _, seq := range []string{"VEV", "EV", "EEEV", "EVV", "VEEV", "EEEEVV"} {
		for round := range 3 {
			rc := dialRaw(t, srv.Path)
			var want []uint32
			for i, c := range seq {
				if c == 'E' {
					rc.write(nil)
					continue
				}
				rc.write(frame(bus.Envelope{Dst: b.PortID()}, nlmsg(0x30, 0, uint32(i), []byte("valid"))))
				want = append(want, uint32(i))
			}
			require.NoError(t, rc.c.Close())
			for _, seqNo := range want {
				m := recvOne(t, ctx, b)
				require.Equal(t, seqNo, m.Header.Sequence, "%s, round %d", seq, round)
			}
		}
	}
}

// A client that closes while the daemon still has frames queued for it
// (its socket full, so the daemon's write meets the closed end) still has
// what it sent before closing delivered.
func TestCloseWhileDaemonWritesKeepsLastSends(t *testing.T) {
	srv := bustest.NewServer(t, &bus.Server{QueueBytes: 256 << 10})
	a := srv.Dial(t, nil)
	b := srv.Dial(t, nil)
	ctx := testCtx(t)
	for round := range 3 {
		rc := dialRaw(t, srv.Path)
		// Fill rc's socket and its queue in the daemon: rc never reads.
		big := make([]byte, 4000)
		for range 400 {
			_, err := a.Send(ctx, netlink.Message{Header: netlink.Header{Type: 0x30}, Data: big, Addr: netlink.Addr{Port: rc.port}})
			require.NoError(t, err)
		}
		lastWords(t, ctx, rc, b, 50, round)
	}
}
