package bus_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/bus"
	"github.com/nlbus/netlink/bus/bustest"
	"github.com/nlbus/netlink/genl"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// recvOne returns the next message Receive yields on c.
func recvOne(t *testing.T, ctx context.Context, c *netlink.Conn) netlink.Message {
	t.Helper()
	msgs, err := c.Receive(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, msgs)
	return msgs[0]
}

func TestUnicastDelivery(t *testing.T) {
	ctx := testCtx(t)
	srv := bustest.NewServer(t, nil)
	a := srv.Dial(t, nil)
	b := srv.Dial(t, nil)
	require.NotEqual(t, a.PortID(), b.PortID())
	assert.GreaterOrEqual(t, a.PortID(), uint32(bus.FirstAutoPort))

	_, err := a.Send(ctx, netlink.Message{
		Header: netlink.Header{Type: 0x30, Flags: netlink.Request},
		Data:   []byte("hello, b"),
		Addr:   netlink.Addr{Port: b.PortID()},
	})
	require.NoError(t, err)
	m := recvOne(t, ctx, b)
	assert.Equal(t, "hello, b", string(m.Data))
	assert.Equal(t, netlink.Addr{Port: a.PortID()}, m.Addr)
	require.NotNil(t, m.Creds)
	assert.Equal(t, int32(unix.Getpid()), m.Creds.PID)
	assert.Equal(t, uint32(unix.Geteuid()), m.Creds.UID)
	assert.Equal(t, uint32(unix.Getegid()), m.Creds.GID)
}

// serve answers every request b receives with an echo and an ACK.
func serve(ctx context.Context, b *netlink.Conn) {
	for {
		msgs, err := b.Receive(ctx)
		if err != nil {
			return
		}
		for _, m := range msgs {
			if m.Header.Flags&netlink.Request == 0 {
				continue
			}
			b.Send(ctx, netlink.Message{Header: netlink.Header{Type: m.Header.Type, Sequence: m.Header.Sequence}, Data: m.Data, Addr: m.Addr})
			ack := make([]byte, 4+16)
			netlink.MarshalHeader(ack[4:], m.Header)
			b.Send(ctx, netlink.Message{Header: netlink.Header{Type: netlink.Error, Flags: netlink.Capped, Sequence: m.Header.Sequence}, Data: ack, Addr: m.Addr})
		}
	}
}

func TestExecuteBetweenClients(t *testing.T) {
	ctx := testCtx(t)
	srv := bustest.NewServer(t, nil)
	a := srv.Dial(t, nil)
	b := srv.Dial(t, &netlink.Config{PID: 7000})
	require.Equal(t, uint32(7000), b.PortID())
	go serve(ctx, b)
	for i := range 100 {
		replies, err := a.Execute(ctx, netlink.Message{
			Header: netlink.Header{Type: 0x30},
			Data:   []byte{byte(i), 1, 2, 3},
			Addr:   netlink.Addr{Port: 7000},
		})
		require.NoError(t, err)
		require.Len(t, replies, 1)
		assert.Equal(t, []byte{byte(i), 1, 2, 3}, replies[0].Data)
		assert.Equal(t, uint32(7000), replies[0].Addr.Port)
		// The answers' datagrams carry the sender's credentials: they
		// come with the replies, and stay with the copies Execute returns.
		require.NotNil(t, replies[0].Creds)
		assert.Equal(t, int32(unix.Getpid()), replies[0].Creds.PID)
		assert.Equal(t, uint32(unix.Geteuid()), replies[0].Creds.UID)
	}
	// Do hands out the borrowed replies with their credentials too.
	var seen []netlink.Credentials
	_, err := a.Do(ctx, netlink.Message{Header: netlink.Header{Type: 0x30}, Data: []byte{9}, Addr: netlink.Addr{Port: 7000}},
		func(m netlink.Message) error {
			require.NotNil(t, m.Creds)
			seen = append(seen, *m.Creds)
			return nil
		})
	require.NoError(t, err)
	require.Len(t, seen, 1)
	assert.Equal(t, int32(unix.Getpid()), seen[0].PID)
}

func TestMulticastDelivery(t *testing.T) {
	ctx := testCtx(t)
	srv := bustest.NewServer(t, nil)
	pub := srv.Dial(t, &netlink.Config{Groups: []uint32{100}}) // a member: must not hear itself
	subs := []*netlink.Conn{srv.Dial(t, &netlink.Config{Groups: []uint32{100}}), srv.Dial(t, nil)}
	require.NoError(t, subs[1].JoinGroup(100))
	other := srv.Dial(t, &netlink.Config{Groups: []uint32{101}})

	_, err := pub.Send(ctx, netlink.Message{Header: netlink.Header{Type: 0x30}, Data: []byte("news"), Addr: netlink.Addr{Group: 100}})
	require.NoError(t, err)
	for _, s := range subs {
		m := recvOne(t, ctx, s)
		assert.Equal(t, "news", string(m.Data))
		assert.Equal(t, netlink.Addr{Port: pub.PortID(), Group: 100}, m.Addr)
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err = other.Receive(short)
	assert.ErrorIs(t, err, context.DeadlineExceeded, "a non-member got the multicast")
	short2, cancel2 := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel2()
	_, err = pub.Receive(short2)
	assert.ErrorIs(t, err, context.DeadlineExceeded, "the sender heard its own multicast")

	// After leaving, nothing more arrives.
	require.NoError(t, subs[1].LeaveGroup(100))
	_, err = pub.Send(ctx, netlink.Message{Header: netlink.Header{Type: 0x30}, Data: []byte("more"), Addr: netlink.Addr{Group: 100}})
	require.NoError(t, err)
	assert.Equal(t, "more", string(recvOne(t, ctx, subs[0]).Data))
	short3, cancel3 := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel3()
	_, err = subs[1].Receive(short3)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestControlErrors(t *testing.T) {
	ctx := testCtx(t)
	srv := bustest.NewServer(t, nil)
	a := srv.Dial(t, nil)
	b := srv.Dial(t, &netlink.Config{PID: 5000})

	t.Run("port in use", func(t *testing.T) {
		_, err := bus.DialTransport(ctx, srv.Path, 5000)
		require.ErrorIs(t, err, unix.EADDRINUSE)
		var oe *netlink.OpError
		require.ErrorAs(t, err, &oe)
		assert.Contains(t, oe.Message, "port 5000 is in use")
	})
	t.Run("no such port", func(t *testing.T) {
		_, err := a.Execute(ctx, netlink.Message{Header: netlink.Header{Type: 0x30}, Addr: netlink.Addr{Port: 99999}})
		require.ErrorIs(t, err, unix.ECONNREFUSED)
		var oe *netlink.OpError
		require.ErrorAs(t, err, &oe)
		assert.Equal(t, "nlbus: no port 99999 on the bus", oe.Message)
	})
	t.Run("reserved group send", func(t *testing.T) {
		_, err := a.Send(ctx, netlink.Message{Header: netlink.Header{Type: 0x30, Flags: netlink.Request, Sequence: 77}, Addr: netlink.Addr{Group: bus.GroupPorts}})
		require.NoError(t, err)
		m := recvOne(t, ctx, a)
		errno, ext, err := netlink.ParseError(m)
		require.NoError(t, err)
		assert.Equal(t, unix.EPERM, errno)
		assert.Contains(t, ext.Message, "reserved")
		assert.Equal(t, uint32(77), m.Header.Sequence)
	})
	t.Run("reserved group join", func(t *testing.T) {
		err := a.JoinGroup(5)
		assert.ErrorIs(t, err, unix.EINVAL)
		// One operation name, not the transport's and the Conn's both.
		require.Error(t, err)
		assert.Equal(t, 1, strings.Count(err.Error(), "join-group"), err.Error())
	})
	t.Run("controller: getfamily without a name", func(t *testing.T) {
		_, err := a.Execute(ctx, netlink.Message{Header: netlink.Header{Type: 0x10}, Data: []byte{3, 1, 0, 0}})
		require.ErrorIs(t, err, unix.EINVAL)
	})
	t.Run("unknown command", func(t *testing.T) {
		msg, err := bus.ControlMessage(99, 0, nil)
		require.NoError(t, err)
		_, err = a.Execute(ctx, msg)
		require.ErrorIs(t, err, unix.EOPNOTSUPP)
	})
	t.Run("ports and stats", func(t *testing.T) {
		ports, err := bus.Ports(ctx, a)
		require.NoError(t, err)
		found := map[uint32]bool{}
		for _, p := range ports {
			found[p.Port] = true
		}
		assert.True(t, found[a.PortID()] && found[b.PortID()], "ports: %+v", ports)
		st, err := bus.GetStats(ctx, a)
		require.NoError(t, err)
		assert.Equal(t, uint32(bus.Version), st.Version)
		assert.GreaterOrEqual(t, st.Ports, uint32(2))
		assert.Equal(t, uint32(bus.DefaultMaxDatagram), st.MaxDatagram)
	})
	_ = errors.New
}

// The genl package runs over a bus Conn unchanged; the bus-control family
// is in the registry like any other.
func TestGenlOverBus(t *testing.T) {
	ctx := testCtx(t)
	srv := bustest.NewServer(t, nil)
	gc := genl.NewConn(srv.Dial(t, nil))
	f, err := gc.GetFamily(ctx, "nlbus")
	require.NoError(t, err)
	assert.Equal(t, uint16(bus.FamilyID), f.ID)
	_, err = gc.GetFamily(ctx, "nl80211")
	require.ErrorIs(t, err, unix.ENOENT)
}

// Conn.Batch works against the daemon: several bus-control requests in one
// datagram, one result each, the failed one with its extended ack.
func TestBatchToDaemon(t *testing.T) {
	ctx := testCtx(t)
	srv := bustest.NewServer(t, nil)
	c := srv.Dial(t, nil)
	join := func(g uint32) netlink.Message {
		m, err := bus.ControlMessage(bus.CmdJoin, 0, func(ae *netlink.AttributeEncoder) { ae.Uint32(bus.AttrGroup, g) })
		require.NoError(t, err)
		return m
	}
	res, err := c.Batch(ctx, []netlink.Message{join(100), join(5), join(101)}, &netlink.BatchOptions{OneDatagram: true})
	require.ErrorIs(t, err, unix.EINVAL)
	require.Len(t, res, 3)
	assert.NoError(t, res[0].Err)
	assert.ErrorIs(t, res[1].Err, unix.EINVAL)
	assert.Contains(t, res[1].Err.Error(), "group 5 is reserved")
	assert.NoError(t, res[2].Err)
	ports, err := bus.Ports(ctx, c)
	require.NoError(t, err)
	for _, p := range ports {
		if p.Port == c.PortID() {
			assert.ElementsMatch(t, []uint32{100, 101}, p.Groups)
		}
	}
}
