//go:build unix

package pollfd_test

import (
	"context"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/nlbus/netlink/internal/pollfd"
)

// socketpair returns an FD over one end of a datagram socket pair and the
// raw other end.
func socketpair(t *testing.T) (*pollfd.FD, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
	require.NoError(t, err)
	require.NoError(t, unix.SetNonblock(fds[0], true))
	p, err := pollfd.New(fds[0], "test")
	require.NoError(t, err)
	t.Cleanup(func() {
		p.Close()
		unix.Close(fds[1])
	})
	return p, fds[1]
}

// reader reads one datagram through p.
type reader struct {
	buf [64]byte
	n   int
	err error
}

func (r *reader) read(fd uintptr) bool {
	n, err := unix.Read(int(fd), r.buf[:])
	if err == unix.EAGAIN {
		return false
	}
	r.n, r.err = n, err
	return true
}

func TestFDRead(t *testing.T) {
	p, peer := socketpair(t)
	var r reader
	_, err := unix.Write(peer, []byte("hello"))
	require.NoError(t, err)
	require.NoError(t, p.Read(context.Background(), r.read))
	assert.Equal(t, "hello", string(r.buf[:r.n]))

	// A cancellable context: fast path first, then the poller.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(20*time.Millisecond, func() { unix.Write(peer, []byte("later")) })
	require.NoError(t, p.Read(ctx, r.read))
	assert.Equal(t, "later", string(r.buf[:r.n]))

	done, err := p.TryRead(r.read)
	require.NoError(t, err)
	assert.False(t, done, "nothing queued")
	unix.Write(peer, []byte("now"))
	done, err = p.TryRead(r.read)
	require.NoError(t, err)
	assert.True(t, done)
	assert.Equal(t, "now", string(r.buf[:r.n]))
}

func TestFDUnblock(t *testing.T) {
	tests := []struct {
		name  string
		setup func(p *pollfd.FD) (context.Context, context.CancelFunc)
		wake  func(p *pollfd.FD)
		want  error
	}{
		{name: "context-cancel", want: context.Canceled, setup: func(*pollfd.FD) (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(20*time.Millisecond, cancel)
			return ctx, cancel
		}},
		{name: "context-deadline", want: context.DeadlineExceeded, setup: func(*pollfd.FD) (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 20*time.Millisecond)
		}},
		{name: "read-deadline", want: os.ErrDeadlineExceeded, setup: func(p *pollfd.FD) (context.Context, context.CancelFunc) {
			p.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
			return context.Background(), func() {}
		}},
		{name: "close", want: os.ErrClosed, wake: func(p *pollfd.FD) { p.Close() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := socketpair(t)
			ctx, cancel := context.Background(), context.CancelFunc(func() {})
			if tt.setup != nil {
				ctx, cancel = tt.setup(p)
			}
			defer cancel()
			if tt.wake != nil {
				time.AfterFunc(20*time.Millisecond, func() { tt.wake(p) })
			}
			errc := make(chan error, 1)
			go func() {
				var r reader
				errc <- p.Read(ctx, r.read)
			}()
			select {
			case err := <-errc:
				require.ErrorIs(t, err, tt.want)
			case <-time.After(5 * time.Second):
				t.Fatal("Read stayed blocked")
			}
		})
	}
}

// A context cancellation must not leave the past deadline it used to wake
// the reader behind.
func TestFDDeadlineRestored(t *testing.T) {
	p, peer := socketpair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	var r reader
	require.ErrorIs(t, p.Read(ctx, r.read), context.DeadlineExceeded)
	time.AfterFunc(20*time.Millisecond, func() { unix.Write(peer, []byte("x")) })
	require.NoError(t, p.Read(context.Background(), r.read))
	require.NoError(t, p.SetReadDeadline(time.Time{}))
	require.NoError(t, p.SetWriteDeadline(time.Time{}))
}

func TestFDNoGoroutinePerCall(t *testing.T) {
	p, peer := socketpair(t)
	var r reader
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	before := runtime.NumGoroutine()
	for range 100 {
		unix.Write(peer, []byte("x"))
		require.NoError(t, p.Read(ctx, r.read))
	}
	assert.LessOrEqual(t, runtime.NumGoroutine(), before)
	fn := r.read // built once, as Read's documentation asks
	x := []byte("x")
	allocs := testing.AllocsPerRun(100, func() {
		unix.Write(peer, x)
		if err := p.Read(context.Background(), fn); err != nil {
			panic(err)
		}
	})
	assert.Zero(t, allocs)
}

func TestFDWriteAndControl(t *testing.T) {
	p, peer := socketpair(t)
	msg := []byte("out")
	var werr error
	require.NoError(t, p.Write(context.Background(), func(fd uintptr) bool {
		_, werr = unix.Write(int(fd), msg)
		return werr != unix.EAGAIN
	}))
	require.NoError(t, werr)
	buf := make([]byte, 8)
	n, err := unix.Read(peer, buf)
	require.NoError(t, err)
	assert.Equal(t, "out", string(buf[:n]))
	var typ int
	require.NoError(t, p.Control(func(fd uintptr) { typ, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TYPE) }))
	assert.Equal(t, unix.SOCK_DGRAM, typ)
	require.NoError(t, p.Close())
	require.NoError(t, p.Close(), "Close is idempotent")
}

// Enter gives the descriptor while it is outside the poller and open, and
// holds it against Close until Leave; once in the poller, or closed, it
// refuses.
func TestFDEnter(t *testing.T) {
	p, peer := socketpair(t)
	fd, ok := p.Enter()
	require.True(t, ok)
	_, err := unix.Write(peer, []byte("x"))
	require.NoError(t, err)
	var buf [8]byte
	n, err := unix.Read(fd, buf[:])
	require.NoError(t, err)
	assert.Equal(t, 1, n)

	closed := make(chan error, 1)
	go func() { closed <- p.Close() }()
	select {
	case <-closed:
		t.Fatal("Close did not wait for Leave")
	case <-time.After(50 * time.Millisecond):
	}
	// Still ours: a system call on it works.
	_, err = unix.Write(peer, []byte("y"))
	require.NoError(t, err)
	_, err = unix.Read(fd, buf[:])
	require.NoError(t, err)
	p.Leave()
	require.NoError(t, <-closed)
	_, ok = p.Enter()
	assert.False(t, ok, "Enter on a closed descriptor")

	// In the poller (a read that blocked registers it): Enter refuses.
	q, qpeer := socketpair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	var r reader
	require.ErrorIs(t, q.Read(ctx, r.read), context.DeadlineExceeded)
	_, ok = q.Enter()
	assert.False(t, ok, "Enter on a descriptor in the poller")
	_, err = unix.Write(qpeer, []byte("z"))
	require.NoError(t, err)
	require.NoError(t, q.Read(context.Background(), r.read))
	assert.Equal(t, "z", string(r.buf[:r.n]))
}

// A read deadline already past fails Read with a cancellable context too,
// as it does with one that cannot be cancelled, even with data queued.
func TestFDPastDeadlineWithCancellableContext(t *testing.T) {
	p, peer := socketpair(t)
	_, err := unix.Write(peer, []byte("queued"))
	require.NoError(t, err)
	require.NoError(t, p.SetReadDeadline(time.Now().Add(-time.Second)))
	var r reader
	require.ErrorIs(t, p.Read(context.Background(), r.read), os.ErrDeadlineExceeded)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	require.ErrorIs(t, p.Read(ctx, r.read), os.ErrDeadlineExceeded)
	// Cleared, the queued datagram is read.
	require.NoError(t, p.SetReadDeadline(time.Time{}))
	require.NoError(t, p.Read(ctx, r.read))
	assert.Equal(t, "queued", string(r.buf[:r.n]))
}

// readParked reads one datagram through p with ctx after making sure the
// read finds nothing at first, so that it waits in the poller: the
// datagram is written by a goroutine once the read has started.
type parkedReader struct {
	p     *pollfd.FD
	peer  int
	r     reader
	fn    func(uintptr) bool
	start chan struct{}
	stop  chan struct{}
}

func newParkedReader(t *testing.T) *parkedReader {
	p, peer := socketpair(t)
	pr := &parkedReader{p: p, peer: peer, start: make(chan struct{}), stop: make(chan struct{})}
	pr.fn = pr.r.read
	x := []byte("x")
	go func() {
		for {
			select {
			case <-pr.start:
			case <-pr.stop:
				return
			}
			time.Sleep(2 * time.Millisecond) // the read has found nothing by then
			unix.Write(peer, x)
		}
	}()
	t.Cleanup(func() { close(pr.stop) })
	return pr
}

func (pr *parkedReader) read(ctx context.Context) error {
	pr.start <- struct{}{}
	return pr.p.Read(ctx, pr.fn)
}

// armedReader returns a parkedReader whose read direction is armed with
// ctx (cancelled when the test ends), by one read that waited.
func armedReader(t *testing.T) (*parkedReader, context.Context, context.CancelFunc) {
	pr := newParkedReader(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	require.NoError(t, pr.read(ctx))
	rd, _ := pollfd.Armed(pr.p)
	require.True(t, rd, "armed after a read that waited")
	return pr, ctx, cancel
}

// Reads that wait in the poller with the same cancellable context arm its
// cancellation once: the later ones allocate nothing (a service loop
// reading with one context). The arming still wakes a blocked read when
// the context ends.
func TestFDArmedOnceForAContext(t *testing.T) {
	pr, ctx, cancel := armedReader(t)
	allocs := testing.AllocsPerRun(50, func() {
		if err := pr.read(ctx); err != nil {
			panic(err)
		}
	})
	assert.Zero(t, allocs, "allocations per read waiting with an armed context")

	// Still armed, the context's end wakes a blocked read.
	errc := make(chan error, 1)
	go func() { errc <- pr.p.Read(ctx, pr.fn) }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case err := <-errc:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(5 * time.Second):
		t.Fatal("the cancelled read stayed blocked")
	}
	rd, _ := pollfd.Armed(pr.p)
	assert.False(t, rd, "disarmed once its context ended")
}

// A context that ends after its read returned leaves its arming behind:
// the next read, with another context or none, is neither woken by it nor
// failed by the past deadline it put in force, and the caller's own
// deadline is back.
func TestFDArmingOfAnEndedContext(t *testing.T) {
	for _, next := range []string{"another context", "no context"} {
		t.Run(next, func(t *testing.T) {
			pr := newParkedReader(t)
			ctxA, cancelA := context.WithCancel(context.Background())
			require.NoError(t, pr.read(ctxA))
			cancelA() // wakes nothing: its arming puts a past deadline in force
			time.Sleep(10 * time.Millisecond)
			var ctx context.Context = context.Background()
			if next == "another context" {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(context.Background())
				defer cancel()
			}
			require.NoError(t, pr.read(ctx), "a read after the arming's context ended")
			require.ErrorIs(t, pr.p.Read(ctxA, pr.fn), context.Canceled, "the ended context itself")

			// The caller's deadline is in force again, not the past one.
			require.NoError(t, pr.p.SetReadDeadline(time.Now().Add(30*time.Millisecond)))
			start := time.Now()
			require.ErrorIs(t, pr.p.Read(ctx, pr.fn), os.ErrDeadlineExceeded)
			assert.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond, "the deadline set, not a past one")
		})
	}
}

// Close drops the arming, so that a context that lives on keeps no
// reference to a closed FD.
func TestFDCloseDisarms(t *testing.T) {
	pr, ctx, _ := armedReader(t)
	errc := make(chan error, 1)
	go func() { errc <- pr.p.Read(ctx, pr.fn) }()
	time.Sleep(10 * time.Millisecond)
	require.NoError(t, pr.p.Close())
	require.ErrorIs(t, <-errc, os.ErrClosed)
	rd, wr := pollfd.Armed(pr.p)
	assert.False(t, rd || wr, "armed after Close")
}
