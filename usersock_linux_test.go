//go:build linux

package netlink_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/internal/nettest"
)

func dialUsersock(t *testing.T, ns *nettest.NS, cfg *netlink.Config) *netlink.Conn {
	t.Helper()
	var conf netlink.Config
	if cfg != nil {
		conf = *cfg
	}
	conf.NetNS = ns.FD()
	c, err := netlink.Dial(netlink.Usersock, &conf)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// TestKernelUsersockFullPeer: a send to a peer whose queue is full ends:
// with the context's deadline, or after the default bound, with an error
// wrapping ErrPeerFull and EAGAIN; once the peer reads, sends go through.
func TestKernelUsersockFullPeer(t *testing.T) {
	ns := nettest.NewNS(t)
	r := dialUsersock(t, ns, &netlink.Config{SocketReceiveBuffer: 4096})
	s := dialUsersock(t, ns, nil)
	ctx := testContext(t)
	msg := netlink.Message{Header: netlink.Header{Type: netlink.MinType}, Data: make([]byte, 512), Addr: netlink.Addr{Port: r.PortID()}}

	var err error
	sent := 0
	for sent < 10000 {
		short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		start := time.Now()
		_, err = s.Send(short, msg)
		cancel()
		if err != nil {
			assert.Less(t, time.Since(start), 2*time.Second, "the send ended promptly")
			break
		}
		sent++
	}
	require.ErrorIs(t, err, netlink.ErrPeerFull)
	require.ErrorIs(t, err, unix.EAGAIN)
	require.ErrorIs(t, err, context.DeadlineExceeded, "the context's deadline ended it")
	require.Positive(t, sent)

	// No limit from the context: the default bound ends it.
	start := time.Now()
	_, err = s.Send(context.Background(), msg)
	require.ErrorIs(t, err, netlink.ErrPeerFull)
	assert.Less(t, time.Since(start), 3*time.Second)

	// The peer drains a while later: a waiting send goes through.
	done := make(chan error, 1)
	go func() {
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, err := s.Send(wctx, msg)
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	got := 0
	for got < sent {
		msgs, err := r.Receive(ctx)
		require.NoError(t, err)
		got += len(msgs)
	}
	require.NoError(t, <-done, "the send succeeded once the peer read")
}

// TestKernelUsersockMulticast: a multicast send on NETLINK_USERSOCK
// reports success (the kernel's ECONNREFUSED from port 0 is not a failure)
// and reaches the group's members with the sender's port.
func TestKernelUsersockMulticast(t *testing.T) {
	ns := nettest.NewNS(t)
	m1 := dialUsersock(t, ns, &netlink.Config{Groups: []uint32{5}})
	m2 := dialUsersock(t, ns, &netlink.Config{Groups: []uint32{5}})
	other := dialUsersock(t, ns, nil)
	s := dialUsersock(t, ns, nil)
	ctx := testContext(t)

	_, err := s.Send(ctx, netlink.Message{Header: netlink.Header{Type: netlink.MinType}, Data: []byte("hello"), Addr: netlink.Addr{Group: 5}})
	require.NoError(t, err)
	for _, m := range []*netlink.Conn{m1, m2} {
		msgs, err := m.Receive(ctx)
		require.NoError(t, err)
		require.Len(t, msgs, 1)
		assert.Equal(t, []byte("hello"), msgs[0].Data)
		assert.Equal(t, netlink.Addr{Port: s.PortID(), Group: 5}, msgs[0].Addr)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err = other.Receive(short)
	require.ErrorIs(t, err, context.DeadlineExceeded, "a non-member got nothing")

	// A unicast to a port nobody holds is still an error.
	_, err = s.Send(ctx, netlink.Message{Header: netlink.Header{Type: netlink.MinType}, Addr: netlink.Addr{Port: 0x7fff0001}})
	require.Error(t, err)
	require.True(t, errors.Is(err, unix.ECONNREFUSED), "%v", err)
}
