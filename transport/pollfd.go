//go:build unix

package transport

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// FD wraps a non-blocking socket descriptor in the Go runtime's network poller,
// so that reads and writes park the goroutine instead of an OS thread, deadlines
// work, and Close unblocks a blocked reader. It starts no goroutine per call:
// a context without a Done channel costs nothing, and one with a Done channel
// arms a deadline through context.AfterFunc only while the call is blocked.
//
// Kernel transports (transport_linux.go, transport_freebsd.go) build on it.
type FD struct {
	f  *os.File
	rc syscall.RawConn

	rd, wr direction

	mu        sync.Mutex // guards the deadlines below
	readDL    time.Time
	writeDL   time.Time
	closeOnce sync.Once
	closeErr  error
	closed    atomic.Bool
}

// NewFD takes ownership of the non-blocking descriptor fd. name appears in
// errors from the os package.
func NewFD(fd int, name string) (*FD, error) {
	f := os.NewFile(uintptr(fd), name)
	if f == nil {
		return nil, errors.New("transport: invalid descriptor")
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	p := &FD{f: f, rc: rc}
	p.rd.ctl = func(fd uintptr) { p.rd.done = p.rd.fn(fd) }
	p.wr.ctl = func(fd uintptr) { p.wr.done = p.wr.fn(fd) }
	return p, nil
}

// direction holds the pre-built closure of the non-blocking fast path, so that
// a call allocates nothing.
type direction struct {
	fn   func(fd uintptr) bool
	done bool
	ctl  func(fd uintptr)
}

// Read calls fn with the descriptor until fn reports done (it returns false
// when the call would block, that is on EAGAIN). ctx cancellation and the
// read deadline unblock it with ctx.Err() or os.ErrDeadlineExceeded.
// Read is not safe for concurrent use with itself, nor Write with itself;
// pass a function value built once (a method value kept in a field) so that
// the call allocates nothing.
func (p *FD) Read(ctx context.Context, fn func(fd uintptr) (done bool)) error {
	return p.io(ctx, true, fn)
}

// Write is Read's counterpart for sends.
func (p *FD) Write(ctx context.Context, fn func(fd uintptr) (done bool)) error {
	return p.io(ctx, false, fn)
}

// TryRead calls fn once without waiting and reports whether it completed;
// false means the call would block. Like Read, it is not safe for concurrent
// use with Read.
func (p *FD) TryRead(fn func(fd uintptr) (done bool)) (bool, error) {
	p.rd.fn, p.rd.done = fn, false
	err := p.rc.Control(p.rd.ctl)
	p.rd.fn = nil
	return p.rd.done, p.closedErr(err)
}

// closedErr reports a failure on a closed descriptor as os.ErrClosed: the
// poller's own error for it ("use of closed file") is not exported.
func (p *FD) closedErr(err error) error {
	if err != nil && p.closed.Load() {
		return os.ErrClosed
	}
	return err
}

// Control runs fn with the descriptor, for socket options and bind.
func (p *FD) Control(fn func(fd uintptr)) error {
	return p.rc.Control(fn)
}

func (p *FD) io(ctx context.Context, read bool, fn func(fd uintptr) bool) error {
	return p.closedErr(p.doIO(ctx, read, fn))
}

func (p *FD) doIO(ctx context.Context, read bool, fn func(fd uintptr) bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	run, d := p.rc.Write, &p.wr
	if read {
		run, d = p.rc.Read, &p.rd
	}
	if ctx.Done() == nil {
		return run(fn)
	}
	// Fast path: try once without arming anything; a reply the kernel has
	// already queued (the usual case right after a request) is read here.
	d.fn, d.done = fn, false
	err := p.rc.Control(d.ctl)
	d.fn = nil
	if err != nil || d.done {
		return err
	}
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		// Wake the blocked call with a deadline in the past; the caller's
		// deadline is restored below.
		p.mu.Lock()
		if read {
			p.f.SetReadDeadline(time.Unix(1, 0))
		} else {
			p.f.SetWriteDeadline(time.Unix(1, 0))
		}
		p.mu.Unlock()
		close(fired)
	})
	err = run(fn)
	if stop() {
		return err
	}
	// The callback started: wait for it, then restore the deadline.
	<-fired
	p.mu.Lock()
	if read {
		p.f.SetReadDeadline(p.readDL)
	} else {
		p.f.SetWriteDeadline(p.writeDL)
	}
	p.mu.Unlock()
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		return ctx.Err()
	}
	return err
}

// SetReadDeadline sets the deadline for Read.
func (p *FD) SetReadDeadline(t time.Time) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.readDL = t
	return p.f.SetReadDeadline(t)
}

// SetWriteDeadline sets the deadline for Write.
func (p *FD) SetWriteDeadline(t time.Time) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.writeDL = t
	return p.f.SetWriteDeadline(t)
}

// Close closes the descriptor once, unblocking pending calls with an error
// wrapping os.ErrClosed.
func (p *FD) Close() error {
	p.closeOnce.Do(func() {
		p.closed.Store(true)
		p.closeErr = p.f.Close()
	})
	return p.closeErr
}
