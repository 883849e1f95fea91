package nltest_test

import (
	"context"
	"encoding/binary"
	"errors"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/nltest"
	"github.com/nlbus/netlink/transport"
)

const typeGet, typeNew = netlink.MinType + 2, netlink.MinType

func msg(typ netlink.HeaderType, data string) netlink.Message {
	return netlink.Message{Header: netlink.Header{Type: typ}, Data: []byte(data)}
}

// echo replies to each request with n messages carrying the request's data.
func echo(n int) nltest.Func {
	return func(req []netlink.Message) ([]netlink.Message, error) {
		var out []netlink.Message
		for i := 0; i < n; i++ {
			out = append(out, msg(typeNew, string(req[0].Data)))
		}
		return out, nil
	}
}

func TestDialCompletesReplies(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		opts  []nltest.Option
		flags netlink.HeaderFlags
		n     int
	}{
		{name: "do", n: 1},
		{name: "do-no-reply", n: 0},
		{name: "dump", flags: netlink.Dump, n: 5},
		{name: "empty-dump", flags: netlink.Dump, n: 0},
		{name: "dump-split", flags: netlink.Dump, n: 5, opts: []nltest.Option{nltest.Split()}},
		{name: "dump-freebsd", flags: netlink.Dump, n: 5, opts: []nltest.Option{nltest.FreeBSD()}},
		{name: "do-freebsd", n: 2, opts: []nltest.Option{nltest.FreeBSD()}},
		{name: "port", n: 1, opts: []nltest.Option{nltest.Port(77)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var seen []netlink.Message
			c := nltest.Dial(func(req []netlink.Message) ([]netlink.Message, error) {
				seen = append(seen, req...)
				return echo(tt.n)(req)
			}, tt.opts...)
			defer c.Close()
			req := msg(typeGet, "abcd")
			req.Header.Flags = tt.flags
			got, err := c.Execute(ctx, req)
			require.NoError(t, err)
			require.Len(t, got, tt.n)
			require.Len(t, seen, 1)
			assert.NotZero(t, seen[0].Header.Sequence)
			for _, m := range got {
				assert.Equal(t, typeNew, m.Header.Type)
				assert.Equal(t, seen[0].Header.Sequence, m.Header.Sequence)
				assert.Equal(t, c.PortID(), m.Header.PID)
				assert.Equal(t, []byte("abcd"), m.Data)
				assert.Equal(t, tt.flags == netlink.Dump, m.Header.Flags&netlink.Multi != 0)
			}
		})
	}
}

func TestDialRawReplies(t *testing.T) {
	mem := func(c *netlink.Conn) *nltest.Mem { m, err := nltest.MemOf(c); require.NoError(t, err); return m }
	tests := []struct {
		name    string
		opts    []nltest.Option
		flags   netlink.HeaderFlags
		replies []netlink.Message
		want    []netlink.HeaderType
		code    int32
		multi   bool
	}{
		{name: "do-ack", want: []netlink.HeaderType{typeNew, netlink.Error}, replies: []netlink.Message{msg(typeNew, "")}, code: 0},
		{name: "do-own-error", replies: []netlink.Message{nltest.Error(unix.EPERM, msg(typeGet, ""), nil)}, want: []netlink.HeaderType{netlink.Error}, code: -int32(unix.EPERM)},
		{name: "dump-done", flags: netlink.Dump, replies: []netlink.Message{msg(typeNew, "")}, want: []netlink.HeaderType{typeNew, netlink.Done}, multi: true},
		{name: "dump-own-done", flags: netlink.Dump, replies: []netlink.Message{{Header: netlink.Header{Type: netlink.Done}, Data: []byte{0xfe, 0xff, 0xff, 0xff}}}, want: []netlink.HeaderType{netlink.Done}, code: -2, multi: true},
		{name: "freebsd-done", flags: netlink.Dump, opts: []nltest.Option{nltest.FreeBSD()}, replies: []netlink.Message{{Header: netlink.Header{Type: netlink.Done}, Data: []byte{0xfe, 0xff, 0xff, 0xff}}}, want: []netlink.HeaderType{netlink.Done}, code: 2},
		{name: "freebsd-error", opts: []nltest.Option{nltest.FreeBSD()}, replies: []netlink.Message{nltest.Error(unix.EPERM, msg(typeGet, ""), nil)}, want: []netlink.HeaderType{netlink.Error}, code: int32(unix.EPERM)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := nltest.Dial(func([]netlink.Message) ([]netlink.Message, error) { return tt.replies, nil }, tt.opts...)
			defer c.Close()
			req := msg(typeGet, "")
			req.Header.Flags = tt.flags | netlink.Request
			_, err := c.Send(context.Background(), req)
			require.NoError(t, err)
			var buf [4096]byte
			info, err := mem(c).Recv(context.Background(), buf[:])
			require.NoError(t, err)
			got, err := netlink.ParseMessages(buf[:info.N])
			require.NoError(t, err)
			require.Len(t, got, len(tt.want))
			for i, m := range got {
				assert.Equal(t, tt.want[i], m.Header.Type)
			}
			last := got[len(got)-1]
			assert.Equal(t, tt.multi, last.Header.Flags&netlink.Multi != 0)
			require.GreaterOrEqual(t, len(last.Data), 4)
			assert.Equal(t, tt.code, int32(binary.NativeEndian.Uint32(last.Data)))
		})
	}
}

func TestDialErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("errno", func(t *testing.T) {
		c := nltest.Dial(func([]netlink.Message) ([]netlink.Message, error) { return nil, unix.ENODEV })
		defer c.Close()
		for _, flags := range []netlink.HeaderFlags{0, netlink.Dump} {
			req := msg(typeGet, "")
			req.Header.Flags = flags
			_, err := c.Execute(ctx, req)
			require.ErrorIs(t, err, unix.ENODEV)
			var oe *netlink.OpError
			require.ErrorAs(t, err, &oe)
		}
	})
	t.Run("errno-freebsd", func(t *testing.T) {
		c := nltest.Dial(func([]netlink.Message) ([]netlink.Message, error) { return nil, unix.ENOENT }, nltest.FreeBSD())
		defer c.Close()
		_, err := c.Execute(ctx, msg(typeGet, ""))
		require.ErrorIs(t, err, unix.ENOENT)
	})
	t.Run("send-error", func(t *testing.T) {
		boom := errors.New("boom")
		c := nltest.Dial(func([]netlink.Message) ([]netlink.Message, error) { return nil, boom })
		defer c.Close()
		_, err := c.Execute(ctx, msg(typeGet, ""))
		require.ErrorIs(t, err, boom)
	})
	t.Run("unsupported", func(t *testing.T) {
		c := nltest.Dial(echo(0), nltest.Unsupported(transport.OptionNoENOBUFS))
		defer c.Close()
		require.ErrorIs(t, c.SetOption(transport.OptionNoENOBUFS, true), netlink.ErrNotSupported)
		require.NoError(t, c.SetOption(transport.OptionCapAck, true))
	})
	t.Run("unsupported-config-panics", func(t *testing.T) {
		assert.Panics(t, func() {
			nltest.Dial(echo(0), nltest.Unsupported(transport.OptionStrictCheck), nltest.WithConfig(&netlink.Config{Strict: true}))
		})
	})
}

func TestError(t *testing.T) {
	req := msg(typeGet, "abcdef")
	req.Header.Sequence = 9
	tests := []struct {
		name  string
		errno syscall.Errno
		ext   *netlink.ExtAck
	}{
		{name: "ack", errno: 0},
		{name: "ack-warning", errno: 0, ext: &netlink.ExtAck{Message: "careful"}},
		{name: "plain", errno: unix.EINVAL},
		{name: "ext", errno: unix.EINVAL, ext: &netlink.ExtAck{
			Message: "bad attribute", Offset: 20, HasOffset: true, Cookie: []byte{1, 2, 3},
			Policy: []byte{8, 0, 1, 0, 3, 0, 0, 0}, MissingType: 7, HasMissingType: true,
			MissingNest: 16, HasMissingNest: true,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := nltest.Error(tt.errno, req, tt.ext)
			assert.Equal(t, netlink.Error, m.Header.Type)
			assert.Equal(t, uint32(9), m.Header.Sequence)
			assert.Equal(t, tt.errno == 0, m.Header.Flags&netlink.Capped != 0)
			assert.Equal(t, tt.ext != nil, m.Header.Flags&netlink.AckTLVs != 0)
			code, ext, err := netlink.ParseError(m)
			require.NoError(t, err)
			assert.Equal(t, tt.errno, code)
			want := netlink.ExtAck{}
			if tt.ext != nil {
				want = *tt.ext
			}
			assert.Equal(t, want, ext)
		})
	}
}

func TestInterruptDumpsAndRetry(t *testing.T) {
	ctx := context.Background()
	c := nltest.Dial(echo(3), nltest.InterruptDumps(2))
	defer c.Close()
	req := msg(typeGet, "x")
	req.Header.Flags = netlink.Dump

	calls := 0
	msgs, err := netlink.Retry(ctx, 2, func(ctx context.Context) ([]netlink.Message, error) {
		calls++
		return c.Execute(ctx, req)
	})
	require.ErrorIs(t, err, netlink.ErrDumpInterrupted)
	assert.Len(t, msgs, 3, "the partial result comes with the error")
	assert.Equal(t, 2, calls)

	msgs, err = netlink.Retry(ctx, 5, func(ctx context.Context) ([]netlink.Message, error) {
		calls++
		return c.Execute(ctx, req)
	})
	require.NoError(t, err)
	assert.Len(t, msgs, 3)
	assert.Equal(t, 3, calls)
}

func TestOverrunsAndMulticast(t *testing.T) {
	ctx := context.Background()
	c := nltest.Dial(echo(1), nltest.Overruns(1))
	defer c.Close()

	// The request itself succeeds; the overrun is Receive's to report.
	_, err := c.Execute(ctx, msg(typeGet, "a"))
	require.NoError(t, err)
	_, err = c.Receive(ctx)
	require.ErrorIs(t, err, netlink.ErrOverrun)

	require.NoError(t, nltest.Multicast(c, 3, msg(typeNew, "n1"), msg(typeNew, "n2")))
	got, err := c.Receive(ctx)
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, uint32(3), got[0].Addr.Group)
	assert.Equal(t, []byte("n2"), got[1].Data)

	require.NoError(t, nltest.Overrun(c))
	_, err = c.Receive(ctx)
	require.ErrorIs(t, err, netlink.ErrOverrun)
	require.Error(t, nltest.Multicast(c, 0, msg(typeNew, "")))
}

type wrapped struct{ transport.Transport }

func TestNotMem(t *testing.T) {
	c, err := netlink.NewConn(wrapped{nltest.NewMem(nil, nltest.MemConfig{})}, nil)
	require.NoError(t, err)
	defer c.Close()
	require.Error(t, nltest.Multicast(c, 1))
	require.Error(t, nltest.Overrun(c))
}
