package bus_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/bus"
	"github.com/nlbus/netlink/bus/bustest"
)

// TestDialSilentDaemon: a socket whose server accepts and never answers
// (a stopped daemon, or not a bus daemon) makes Dial fail within its
// context, not hang.
func TestDialSilentDaemon(t *testing.T) {
	path := filepath.Join(t.TempDir(), "silent.sock")
	l, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: path, Net: "unixpacket"})
	require.NoError(t, err)
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // accepted, never answered
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = bus.DialContext(ctx, &bus.Config{Socket: path})
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 3*time.Second)
}

// A Receive waiting for a datagram, in the kernel or in the poller, ends
// with the Conn's Close as a close (not as the daemon's going), and with
// its context's cancellation; the Conn stays usable after a cancel.
func TestReceiveWaitEnds(t *testing.T) {
	srv := bustest.NewServer(t, nil)
	for _, after := range []time.Duration{0, 2 * time.Millisecond, 30 * time.Millisecond} {
		t.Run("close/"+after.String(), func(t *testing.T) {
			c := srv.Dial(t, nil)
			done := make(chan error, 1)
			go func() {
				_, err := c.Receive(context.Background())
				done <- err
			}()
			time.Sleep(after)
			start := time.Now()
			require.NoError(t, c.Close())
			select {
			case err := <-done:
				require.Error(t, err)
				assert.ErrorIs(t, err, netlink.ErrClosed)
				assert.NotErrorIs(t, err, bus.ErrDaemonGone)
			case <-time.After(5 * time.Second):
				t.Fatal("Receive still waiting 5 s after Close")
			}
			assert.Less(t, time.Since(start), time.Second, "Close and the Receive's end")
			assert.ErrorIs(t, c.JoinGroup(5), netlink.ErrClosed)
			_, err := c.Send(context.Background(), netlink.Message{Header: netlink.Header{Type: 0x30}})
			assert.ErrorIs(t, err, netlink.ErrClosed)
		})
		t.Run("transport-close/"+after.String(), func(t *testing.T) {
			tr, err := bus.DialTransport(context.Background(), srv.Path, 0)
			require.NoError(t, err)
			done := make(chan error, 1)
			go func() {
				_, err := tr.Recv(context.Background(), make([]byte, tr.MaxDatagram()))
				done <- err
			}()
			time.Sleep(after)
			require.NoError(t, tr.Close())
			select {
			case err := <-done:
				assert.ErrorIs(t, err, os.ErrClosed)
				assert.NotErrorIs(t, err, bus.ErrDaemonGone)
			case <-time.After(5 * time.Second):
				t.Fatal("Recv still waiting 5 s after Close")
			}
		})
		t.Run("cancel/"+after.String(), func(t *testing.T) {
			a := srv.Dial(t, nil)
			b := srv.Dial(t, nil)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				_, err := b.Receive(ctx)
				done <- err
			}()
			time.Sleep(after)
			cancel()
			select {
			case err := <-done:
				assert.ErrorIs(t, err, context.Canceled)
			case <-time.After(5 * time.Second):
				t.Fatal("Receive still waiting 5 s after its cancel")
			}
			_, err := a.Send(context.Background(), netlink.Message{Header: netlink.Header{Type: 0x30}, Data: []byte("after"), Addr: netlink.Addr{Port: b.PortID()}})
			require.NoError(t, err)
			m := recvOne(t, testCtx(t), b)
			assert.Equal(t, "after", string(m.Data))
		})
	}
}
