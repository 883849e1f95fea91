package nltest_test

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nlbus/netlink/compat"
	"github.com/nlbus/netlink/nltest"
	"github.com/nlbus/netlink/transport"
)

// msg builds one netlink message of n bytes (header included, n >= 16).
func rawMsg(n int, tag byte) []byte {
	b := make([]byte, (n+3)&^3)
	binary.NativeEndian.PutUint32(b, uint32(n))
	for i := 16; i < n; i++ {
		b[i] = tag
	}
	return b
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func recv(t *testing.T, m *nltest.Mem, size int) (transport.Info, []byte, error) {
	t.Helper()
	b := make([]byte, size)
	info, err := m.Recv(context.Background(), b)
	return info, b[:info.N], err
}

func TestMemSendHandler(t *testing.T) {
	var gotReq []byte
	var gotDst transport.Addr
	m := nltest.NewMem(func(req []byte, dst transport.Addr) ([]nltest.Read, error) {
		gotReq, gotDst = req, dst
		return []nltest.Read{{Data: rawMsg(20, 1), Src: dst}}, nil
	}, nltest.MemConfig{Port: 9})
	defer m.Close()
	assert.Equal(t, uint32(9), m.PortID())

	req := rawMsg(16, 0)
	require.NoError(t, m.Send(context.Background(), req, transport.Addr{Port: 5}))
	req[0] = 0xff
	assert.NotEqual(t, req, gotReq, "the handler gets a copy")
	assert.Equal(t, transport.Addr{Port: 5}, gotDst)
	assert.Len(t, m.Sent(), 1)

	info, b, err := recv(t, m, 100)
	require.NoError(t, err)
	assert.Equal(t, rawMsg(20, 1), b)
	assert.Equal(t, transport.Addr{Port: 5}, info.Src)

	boom := errors.New("boom")
	m2 := nltest.NewMem(func([]byte, transport.Addr) ([]nltest.Read, error) { return nil, boom }, nltest.MemConfig{})
	require.ErrorIs(t, m2.Send(context.Background(), req, transport.Addr{}), boom)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, m2.Send(ctx, req, transport.Addr{}), context.Canceled)
}

func TestMemReads(t *testing.T) {
	a, b, c := rawMsg(20, 'a'), rawMsg(24, 'b'), rawMsg(30, 'c')
	other := transport.Addr{Port: 7}
	tests := []struct {
		name  string
		cfg   nltest.MemConfig
		reads []nltest.Read
		size  int
		want  [][]byte
		trunc []int // Size of truncated reads, 0 when whole
	}{
		{name: "datagrams", reads: []nltest.Read{{Data: cat(a, b)}, {Data: c}}, size: 1000, want: [][]byte{cat(a, b), c}, trunc: []int{0, 0}},
		{name: "split", cfg: nltest.MemConfig{Split: true}, reads: []nltest.Read{{Data: cat(a, b, c)}}, size: 1000, want: [][]byte{a, b, c}, trunc: []int{0, 0, 0}},
		{name: "coalesce", cfg: nltest.MemConfig{Coalesce: true}, reads: []nltest.Read{{Data: a}, {Data: b}, {Data: c}}, size: 1000, want: [][]byte{cat(a, b, c)}, trunc: []int{0}},
		{name: "coalesce-fits", cfg: nltest.MemConfig{Coalesce: true}, reads: []nltest.Read{{Data: a}, {Data: b}, {Data: c}}, size: 50, want: [][]byte{cat(a, b), c}, trunc: []int{0, 0}},
		{name: "coalesce-whole-messages", cfg: nltest.MemConfig{Coalesce: true}, reads: []nltest.Read{{Data: cat(a, b, c)}}, size: 50, want: [][]byte{cat(a, b), c}, trunc: []int{0, 0}},
		{name: "coalesce-source", cfg: nltest.MemConfig{Coalesce: true}, reads: []nltest.Read{{Data: a}, {Data: b, Src: other}, {Data: c, Src: other}}, size: 1000, want: [][]byte{a, cat(b, c)}, trunc: []int{0, 0}},
		{name: "truncated", reads: []nltest.Read{{Data: cat(a, b)}, {Data: c}}, size: 40, want: [][]byte{cat(a, b)[:40], c}, trunc: []int{44, 0}},
		{name: "coalesce-truncated-first", cfg: nltest.MemConfig{Coalesce: true}, reads: []nltest.Read{{Data: cat(c, a)}}, size: 20, want: [][]byte{c[:20], a}, trunc: []int{32, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := nltest.NewMem(nil, tt.cfg)
			defer m.Close()
			m.Inject(tt.reads...)
			for i, want := range tt.want {
				info, got, err := recv(t, m, tt.size)
				require.NoError(t, err)
				assert.Equal(t, want, got, "read %d", i)
				assert.Equal(t, tt.trunc[i] != 0, info.Truncated, "read %d", i)
				assert.Equal(t, tt.trunc[i], info.Size, "read %d", i)
			}
			assert.Zero(t, m.Pending())
		})
	}
}

func TestMemFaults(t *testing.T) {
	m := nltest.NewMem(nil, nltest.MemConfig{})
	defer m.Close()
	boom := errors.New("boom")
	creds := &transport.Credentials{PID: 1, UID: 2, GID: 3}
	m.Inject(nltest.Read{Overrun: true, Data: rawMsg(16, 0)}, nltest.Read{Err: boom}, nltest.Read{Data: rawMsg(16, 0), Creds: creds})
	_, _, err := recv(t, m, 100)
	require.ErrorIs(t, err, transport.ErrOverrun)
	_, _, err = recv(t, m, 100)
	require.ErrorIs(t, err, boom)
	info, _, err := recv(t, m, 100)
	require.NoError(t, err)
	assert.True(t, info.HasCreds)
	assert.Equal(t, *creds, info.Creds)
}

func TestMemTryRecv(t *testing.T) {
	m := nltest.NewMem(nil, nltest.MemConfig{})
	var tr transport.TryReceiver = m
	b := make([]byte, 100)
	_, err := tr.TryRecv(b)
	require.ErrorIs(t, err, transport.ErrWouldBlock)
	m.Inject(nltest.Read{Data: rawMsg(16, 0)})
	info, err := tr.TryRecv(b)
	require.NoError(t, err)
	assert.Equal(t, 16, info.N)
	require.NoError(t, m.Close())
	_, err = tr.TryRecv(b)
	require.ErrorIs(t, err, os.ErrClosed)
}

func TestMemUnblock(t *testing.T) {
	tests := []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		wake func(m *nltest.Mem)
		want error
	}{
		{name: "context", want: context.DeadlineExceeded, ctx: func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 20*time.Millisecond)
		}},
		{name: "deadline", want: os.ErrDeadlineExceeded, wake: func(m *nltest.Mem) {
			m.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
		}},
		{name: "close", want: os.ErrClosed, wake: func(m *nltest.Mem) { m.Close() }},
		{name: "inject", wake: func(m *nltest.Mem) { m.Inject(nltest.Read{Data: rawMsg(16, 0)}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := nltest.NewMem(nil, nltest.MemConfig{})
			defer m.Close()
			ctx, cancel := context.Background(), context.CancelFunc(func() {})
			if tt.ctx != nil {
				ctx, cancel = tt.ctx()
			}
			defer cancel()
			if tt.wake != nil {
				time.AfterFunc(20*time.Millisecond, func() { tt.wake(m) })
			}
			errc := make(chan error, 1)
			go func() {
				_, err := m.Recv(ctx, make([]byte, 100))
				errc <- err
			}()
			select {
			case err := <-errc:
				if tt.want == nil {
					require.NoError(t, err)
				} else {
					require.ErrorIs(t, err, tt.want)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Recv stayed blocked")
			}
		})
	}
	t.Run("closed", func(t *testing.T) {
		m := nltest.NewMem(nil, nltest.MemConfig{})
		require.NoError(t, m.Close())
		require.NoError(t, m.Close())
		require.ErrorIs(t, m.Send(context.Background(), rawMsg(16, 0), transport.Addr{}), os.ErrClosed)
		_, err := m.Recv(context.Background(), make([]byte, 16))
		require.ErrorIs(t, err, os.ErrClosed)
	})
	t.Run("write-deadline", func(t *testing.T) {
		m := nltest.NewMem(nil, nltest.MemConfig{})
		defer m.Close()
		require.NoError(t, m.SetWriteDeadline(time.Now().Add(-time.Second)))
		require.ErrorIs(t, m.Send(context.Background(), rawMsg(16, 0), transport.Addr{}), os.ErrDeadlineExceeded)
	})
}

func TestMemOptionsAndGroups(t *testing.T) {
	m := nltest.NewMem(nil, nltest.MemConfig{Unsupported: []transport.Option{transport.OptionNoENOBUFS}, MaxGroup: 40})
	defer m.Close()
	require.ErrorIs(t, m.SetOption(transport.OptionNoENOBUFS, true), compat.ErrNotSupported)
	require.NoError(t, m.SetOption(transport.OptionExtendedAck, true))
	assert.True(t, m.Option(transport.OptionExtendedAck))
	assert.False(t, m.Option(transport.OptionNoENOBUFS))

	require.NoError(t, m.JoinGroup(33))
	require.Error(t, m.JoinGroup(41))
	require.Error(t, m.JoinGroup(0))
	assert.Equal(t, []uint32{33}, m.Groups())
	require.NoError(t, m.LeaveGroup(33))
	assert.Empty(t, m.Groups())
	// Mem has no socket buffers, and says so by not implementing them.
	var tr transport.Transport = m
	_, sizes := tr.(transport.BufferSizer)
	assert.False(t, sizes)
}

func TestOptionString(t *testing.T) {
	tests := []struct {
		o    transport.Option
		want string
	}{
		{transport.OptionExtendedAck, "extended-ack"},
		{transport.OptionPacketInfo, "packet-info"},
		{0, "option(0)"},
		{-3, "option(-3)"},
		{1234, "option(1234)"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.o.String())
		})
	}
}
