package netlink_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/nltest"
	"github.com/nlbus/netlink/transport"
)

const (
	typeNew = netlink.MinType     // RTM_NEWLINK-like
	typeGet = netlink.MinType + 2 // RTM_GETLINK-like
)

// errorMsg builds an NLMSG_ERROR by hand: code as sent, the echoed request
// (header only when capped), then tlvs.
func errorMsg(code int32, flags netlink.HeaderFlags, req netlink.Message, tlvs []byte) netlink.Message {
	b := ne.AppendUint32(nil, uint32(code))
	echo, err := req.MarshalBinary()
	if err != nil {
		panic(err)
	}
	if flags&netlink.Capped != 0 {
		echo = echo[:netlink.HeaderLen]
	}
	b = append(b, echo...)
	return netlink.Message{Header: netlink.Header{Type: netlink.Error, Flags: flags}, Data: append(b, tlvs...)}
}

func doneMsg(code int32, flags netlink.HeaderFlags, tlvs []byte) netlink.Message {
	return netlink.Message{Header: netlink.Header{Type: netlink.Done, Flags: flags}, Data: append(ne.AppendUint32(nil, uint32(code)), tlvs...)}
}

func TestParseError(t *testing.T) {
	req := netlink.Message{Header: netlink.Header{Type: typeNew, Flags: netlink.Request | netlink.Acknowledge, Sequence: 5}, Data: []byte{1, 2, 3, 4, 5}}
	policy := cat(attr(1, u32(3)...), attr(2, u32(1)...))
	allTLVs := cat(
		attr(1, []byte("bad thing\x00")...),
		attr(2, u32(20)...),
		attr(3, 0xc0, 0x0c, 0x1e),
		attr(4|netlink.AttrNested, policy...),
		attr(5, u32(3)...),
		attr(6, u32(16)...),
	)
	allExt := netlink.ExtAck{
		Message: "bad thing", Offset: 20, HasOffset: true, Cookie: []byte{0xc0, 0x0c, 0x1e},
		Policy: policy, MissingType: 3, HasMissingType: true, MissingNest: 16, HasMissingNest: true,
	}
	tests := []struct {
		name  string
		m     netlink.Message
		errno syscall.Errno
		ext   netlink.ExtAck
	}{
		{name: "ack", m: errorMsg(0, netlink.Capped, req, nil)},
		{name: "ack-uncapped", m: errorMsg(0, 0, req, nil)},
		{name: "linux-sign", m: errorMsg(-int32(unix.ENODEV), 0, req, nil), errno: unix.ENODEV},
		{name: "freebsd-sign", m: errorMsg(int32(unix.ENODEV), 0, req, nil), errno: unix.ENODEV},
		{name: "min-int32", m: errorMsg(math.MinInt32, 0, req, nil), errno: math.MaxInt32},
		{name: "ext-uncapped", m: errorMsg(-int32(unix.EINVAL), netlink.AckTLVs, req, allTLVs), errno: unix.EINVAL, ext: allExt},
		{name: "ext-capped", m: errorMsg(-int32(unix.EINVAL), netlink.AckTLVs|netlink.Capped, req, allTLVs), errno: unix.EINVAL, ext: allExt},
		{name: "ack-warning", m: errorMsg(0, netlink.AckTLVs|netlink.Capped, req, attr(1, []byte("deprecated\x00")...)), ext: netlink.ExtAck{Message: "deprecated"}},
		{name: "cookie-without-ack-tlvs", m: errorMsg(0, netlink.Capped, req, attr(3, 1, 0, 0, 0, 'l', 'o', 0, 0)), ext: netlink.ExtAck{Cookie: []byte{1, 0, 0, 0, 'l', 'o', 0, 0}}},
		{name: "short-offset-ignored", m: errorMsg(-1, netlink.AckTLVs, req, attr(2, 1, 2)), errno: 1},
		{name: "damaged-trailer-keeps-prefix", m: errorMsg(-1, netlink.AckTLVs, req, cat(attr(1, 'x', 0), []byte{0xff, 0xff, 1, 0})), errno: 1, ext: netlink.ExtAck{Message: "x"}},
		{name: "echo-cut", m: netlink.Message{Header: netlink.Header{Type: netlink.Error}, Data: cat(u32(0xfffffffe), []byte{1, 2, 3})}, errno: 2},
		{name: "echo-length-past-end", m: netlink.Message{Header: netlink.Header{Type: netlink.Error}, Data: cat(u32(0xfffffffe), rawMessage(400, 16))}, errno: 2},
		{name: "echo-length-below-header", m: netlink.Message{Header: netlink.Header{Type: netlink.Error}, Data: cat(u32(0xfffffffe), rawMessage(3, 16), attr(1, 'm', 0))}, errno: 2, ext: netlink.ExtAck{Message: "m"}},
		{name: "done-bare", m: netlink.Message{Header: netlink.Header{Type: netlink.Done}}},
		{name: "done-zero", m: doneMsg(0, netlink.Multi, nil)},
		{name: "done-linux-errno", m: doneMsg(-int32(unix.EBUSY), netlink.Multi, nil), errno: unix.EBUSY},
		{name: "done-freebsd-errno", m: doneMsg(int32(unix.EBUSY), 0, nil), errno: unix.EBUSY},
		{name: "done-ext", m: doneMsg(-int32(unix.EMSGSIZE), netlink.Multi|netlink.AckTLVs, attr(1, 'b', 'i', 'g', 0)), errno: unix.EMSGSIZE, ext: netlink.ExtAck{Message: "big"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errno, ext, err := netlink.ParseError(tt.m)
			require.NoError(t, err)
			assert.Equal(t, tt.errno, errno)
			assert.Equal(t, tt.ext, ext)
			if ext.Cookie != nil && len(tt.m.Data) > 0 {
				tt.m.Data[len(tt.m.Data)-1] ^= 0xff
				assert.Equal(t, tt.ext.Cookie, ext.Cookie, "the cookie is copied")
			}
		})
	}
}

func TestParseErrorMalformed(t *testing.T) {
	tests := []struct {
		name string
		m    netlink.Message
		want error
	}{
		{name: "not-an-error", m: netlink.Message{Header: netlink.Header{Type: typeNew}, Data: u32(0)}},
		{name: "error-without-code", m: netlink.Message{Header: netlink.Header{Type: netlink.Error}, Data: []byte{1, 2}}, want: netlink.ErrShortMessage},
		{name: "error-empty", m: netlink.Message{Header: netlink.Header{Type: netlink.Error}}, want: netlink.ErrShortMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := netlink.ParseError(tt.m)
			require.Error(t, err)
			if tt.want != nil {
				require.ErrorIs(t, err, tt.want)
			}
		})
	}
}

// TestErrorContract pins what callers may rely on: kernel errors are raw
// errnos inside an *OpError, whatever the kernel's sign convention.
func TestErrorContract(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		errno  syscall.Errno
		opts   []nltest.Option
		flags  netlink.HeaderFlags
		is     []error
		wantOp string
	}{
		{name: "enodev-linux", errno: unix.ENODEV, is: []error{unix.ENODEV}, wantOp: "execute"},
		{name: "enodev-freebsd", errno: unix.ENODEV, opts: []nltest.Option{nltest.FreeBSD()}, is: []error{unix.ENODEV}, wantOp: "execute"},
		{name: "enoent-not-exist", errno: unix.ENOENT, is: []error{unix.ENOENT, os.ErrNotExist}, wantOp: "execute"},
		{name: "eexist-exist", errno: unix.EEXIST, opts: []nltest.Option{nltest.FreeBSD()}, is: []error{unix.EEXIST, os.ErrExist}, wantOp: "execute"},
		{name: "eperm-permission", errno: unix.EPERM, is: []error{os.ErrPermission}, wantOp: "execute"},
		{name: "dump-enodev", errno: unix.ENODEV, flags: netlink.Dump, is: []error{unix.ENODEV}, wantOp: "dump"},
		{name: "dump-enodev-freebsd", errno: unix.ENODEV, flags: netlink.Dump, opts: []nltest.Option{nltest.FreeBSD()}, is: []error{unix.ENODEV}, wantOp: "dump"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := nltest.Dial(func([]netlink.Message) ([]netlink.Message, error) { return nil, tt.errno }, tt.opts...)
			defer c.Close()
			req := netlink.Message{Header: netlink.Header{Type: typeGet, Flags: tt.flags, Sequence: 77}}
			_, err := c.Execute(ctx, req)
			for _, target := range tt.is {
				require.ErrorIs(t, err, target)
			}
			var oe *netlink.OpError
			require.ErrorAs(t, err, &oe)
			assert.Equal(t, tt.wantOp, oe.Op)
			assert.Equal(t, uint32(77), oe.Sequence)
			var errno syscall.Errno
			require.ErrorAs(t, err, &errno, "the cause is the raw errno")
			assert.Equal(t, tt.errno, errno)
			assert.Equal(t, fmt.Sprintf("netlink %s: %s", tt.wantOp, tt.errno.Error()), err.Error())
		})
	}
}

func TestErrorExtAckThroughConn(t *testing.T) {
	ctx := context.Background()
	ext := &netlink.ExtAck{
		Message: "Invalid prefix", Offset: 24, HasOffset: true, Cookie: []byte{9, 9},
		Policy: attr(1, u32(3)...), MissingType: 4, HasMissingType: true, MissingNest: 20, HasMissingNest: true,
	}
	for _, freebsd := range []bool{false, true} {
		t.Run(fmt.Sprintf("freebsd=%v", freebsd), func(t *testing.T) {
			var opts []nltest.Option
			if freebsd {
				opts = append(opts, nltest.FreeBSD())
			}
			c := nltest.Dial(func(req []netlink.Message) ([]netlink.Message, error) {
				return []netlink.Message{nltest.Error(unix.EINVAL, req[0], ext)}, nil
			}, opts...)
			defer c.Close()
			_, err := c.Execute(ctx, netlink.Message{Header: netlink.Header{Type: typeNew}, Data: make([]byte, 30)})
			require.ErrorIs(t, err, unix.EINVAL)
			var oe *netlink.OpError
			require.ErrorAs(t, err, &oe)
			assert.Equal(t, *ext, oe.ExtAck)
			assert.Equal(t, "netlink execute: invalid argument: Invalid prefix (offset 24) (missing attribute 4)", oe.Error())
		})
	}
}

func TestAckWarningSurfacesInDo(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		reply func(req netlink.Message) netlink.Message
		want  netlink.ExtAck
	}{
		{name: "warning", reply: func(req netlink.Message) netlink.Message {
			return nltest.Error(0, req, &netlink.ExtAck{Message: "attribute ignored"})
		}, want: netlink.ExtAck{Message: "attribute ignored"}},
		{name: "freebsd-cookie-without-ack-tlvs", reply: func(req netlink.Message) netlink.Message {
			m := errorMsg(0, netlink.Capped, req, attr(3, 7, 0, 0, 0))
			m.Header.Sequence = req.Header.Sequence
			return m
		}, want: netlink.ExtAck{Cookie: []byte{7, 0, 0, 0}}},
		{name: "uncapped-ack", reply: func(req netlink.Message) netlink.Message {
			m := errorMsg(0, 0, req, nil)
			m.Header.Sequence = req.Header.Sequence
			return m
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := nltest.Dial(func(req []netlink.Message) ([]netlink.Message, error) {
				return []netlink.Message{tt.reply(req[0])}, nil
			})
			defer c.Close()
			ack, err := c.Do(ctx, netlink.Message{Header: netlink.Header{Type: typeNew}, Data: make([]byte, 7)}, func(netlink.Message) error {
				t.Error("an ack is not a reply")
				return nil
			})
			require.NoError(t, err)
			assert.True(t, ack.Received)
			assert.Equal(t, tt.want, ack.ExtAck)
			assert.Equal(t, tt.want.Message, ack.Warning())
		})
	}
}

func TestDumpEnd(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		done  netlink.Message
		errno syscall.Errno
	}{
		{name: "done-multi", done: doneMsg(0, netlink.Multi, nil)},
		{name: "done-without-multi", done: doneMsg(0, 0, nil)},
		{name: "done-bare", done: netlink.Message{Header: netlink.Header{Type: netlink.Done}}},
		{name: "done-linux-errno", done: doneMsg(-int32(unix.ENOBUFS), netlink.Multi, nil), errno: unix.ENOBUFS},
		{name: "done-freebsd-errno", done: doneMsg(int32(unix.ENOBUFS), 0, nil), errno: unix.ENOBUFS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := memConn(t, func(b []byte, dst transport.Addr) ([]nltest.Read, error) {
				req := request(b)
				one := reply(req, netlink.Multi, 1)
				done := tt.done
				done.Header.Sequence = req.Header.Sequence
				return []nltest.Read{{Data: datagram(one, one, done)}}, nil
			}, nltest.MemConfig{}, nil)
			msgs, err := c.Execute(ctx, netlink.Message{Header: netlink.Header{Type: typeGet, Flags: netlink.Dump}})
			assert.Len(t, msgs, 2)
			if tt.errno != 0 {
				require.ErrorIs(t, err, tt.errno)
				return
			}
			require.NoError(t, err)
			// The Conn is ready for the next request.
			msgs, err = c.Execute(ctx, netlink.Message{Header: netlink.Header{Type: typeGet, Flags: netlink.Dump}})
			require.NoError(t, err)
			assert.Len(t, msgs, 2)
		})
	}
}

func TestOpError(t *testing.T) {
	var nilErr *netlink.OpError
	assert.Equal(t, "<nil>", nilErr.Error())
	assert.Equal(t, "netlink send: unknown error", (&netlink.OpError{Op: "send"}).Error())

	timeout := &netlink.OpError{Op: "receive", Err: os.ErrDeadlineExceeded}
	assert.True(t, timeout.Timeout())
	assert.True(t, (&netlink.OpError{Op: "receive", Err: fmt.Errorf("x: %w", context.DeadlineExceeded)}).Timeout())
	assert.False(t, (&netlink.OpError{Op: "receive", Err: unix.ENODEV}).Timeout())
	assert.False(t, (&netlink.OpError{Op: "receive", Err: context.Canceled}).Timeout())
}

func TestRetry(t *testing.T) {
	interrupted := &netlink.OpError{Op: "dump", Err: netlink.ErrDumpInterrupted}
	other := errors.New("other")
	tests := []struct {
		name      string
		attempts  int
		failures  int   // calls that fail with ErrDumpInterrupted first
		last      error // error after the failures
		wantCalls int
		wantErr   error
	}{
		{name: "first-try", attempts: 3, wantCalls: 1},
		{name: "clears", attempts: 3, failures: 2, wantCalls: 3},
		{name: "gives-up", attempts: 3, failures: 5, wantCalls: 3, wantErr: netlink.ErrDumpInterrupted},
		{name: "zero-attempts-means-one", attempts: 0, failures: 5, wantCalls: 1, wantErr: netlink.ErrDumpInterrupted},
		{name: "other-error-not-retried", attempts: 3, last: other, wantCalls: 1, wantErr: other},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			v, err := netlink.Retry(context.Background(), tt.attempts, func(context.Context) (int, error) {
				calls++
				if calls <= tt.failures {
					return calls, interrupted
				}
				return calls, tt.last
			})
			assert.Equal(t, tt.wantCalls, calls)
			assert.Equal(t, calls, v, "the last result is returned")
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
			} else {
				require.NoError(t, err)
			}
		})
	}
	t.Run("context-done", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		calls := 0
		_, err := netlink.Retry(ctx, 10, func(context.Context) (int, error) {
			calls++
			cancel()
			return 0, interrupted
		})
		require.ErrorIs(t, err, netlink.ErrDumpInterrupted)
		assert.Equal(t, 1, calls)
	})
}
