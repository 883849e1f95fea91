//go:build unix

// Package pollfd puts raw non-blocking descriptors in the Go runtime poller,
// for the kernel netlink sockets.
package pollfd

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
// arms a deadline through context.AfterFunc the first time a call with it
// would block. That arming is kept for the next calls with the same context
// (a service loop reading with one context parks without allocating), and
// dropped when a call comes with another context or the FD is closed: until
// then the context refers to the FD, so close an FD whose context lives on.
//
// The descriptor joins the poller lazily, the first time a call would block
// or a deadline is set. A registered descriptor makes the kernel wake the
// poller for every datagram that arrives, which costs a request-reply
// exchange with the kernel about a fifth of its time; kernel netlink answers
// requests and continues dumps synchronously, so a Conn that only makes
// requests never needs the poller and never pays for it.
//
// Kernel transports (transport_linux.go, transport_freebsd.go) build on it.
type FD struct {
	raw  int
	name string

	// ioMu is held shared around a system call on raw before registration,
	// and exclusively to register or close.
	ioMu       sync.RWMutex
	registered atomic.Bool
	f          *os.File // set once, under ioMu, by register
	rc         syscall.RawConn

	rd, wr direction

	mu     sync.Mutex // guards the deadlines below
	readDL time.Time
	// waking is set while a cancelled context's past deadline is in force
	// on a direction; SetReadDeadline/SetWriteDeadline then only record
	// the new deadline, so they cannot put the woken call back to sleep.
	rdWaking, wrWaking bool
	writeDL            time.Time
	closeOnce          sync.Once
	closeErr           error
	closed             atomic.Bool
}

// New takes ownership of the non-blocking descriptor fd. name appears in
// errors from the os package.
func New(fd int, name string) (*FD, error) {
	if fd < 0 {
		return nil, errors.New("pollfd: invalid descriptor")
	}
	p := &FD{raw: fd, name: name}
	p.rd.ctl = func(fd uintptr) { p.rd.done = p.rd.fn(fd) }
	p.wr.ctl = func(fd uintptr) { p.wr.done = p.wr.fn(fd) }
	p.rd.fired, p.wr.fired = make(chan struct{}, 1), make(chan struct{}, 1)
	p.rd.wake = func() { p.wake(true) }
	p.wr.wake = func() { p.wake(false) }
	return p, nil
}

// register hands the descriptor to the runtime poller.
func (p *FD) register() error {
	p.ioMu.Lock()
	defer p.ioMu.Unlock()
	if p.closed.Load() {
		return os.ErrClosed
	}
	if p.f != nil {
		return nil
	}
	f := os.NewFile(uintptr(p.raw), p.name)
	if f == nil {
		return errors.New("pollfd: invalid descriptor")
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	p.mu.Lock()
	f.SetReadDeadline(p.readDL)
	f.SetWriteDeadline(p.writeDL)
	p.mu.Unlock()
	p.f, p.rc = f, rc
	p.registered.Store(true)
	return nil
}

// direct runs fn on the unregistered descriptor. handled is false when the
// descriptor is registered and the poller must be used instead.
func (p *FD) direct(fn func(fd uintptr)) (handled bool, err error) {
	fd, ok, closed := p.enter()
	if !ok {
		if closed {
			return true, os.ErrClosed
		}
		return false, nil
	}
	defer p.Leave()
	fn(uintptr(fd))
	return true, nil
}

// Enter holds the descriptor for one system call that never waits, made by
// the caller at once, without a closure: ok is false when the descriptor
// is closed or in the poller (then use Read, Write or Control). A true ok
// must be followed by Leave.
func (p *FD) Enter() (fd int, ok bool) {
	fd, ok, _ = p.enter()
	return fd, ok
}

// enter is Enter, telling a closed descriptor apart from one in the poller.
func (p *FD) enter() (fd int, ok, closed bool) {
	if p.registered.Load() {
		return -1, false, false
	}
	p.ioMu.RLock()
	if p.closed.Load() {
		p.ioMu.RUnlock()
		return -1, false, true
	}
	if p.f != nil {
		p.ioMu.RUnlock()
		return -1, false, false
	}
	return p.raw, true, false
}

// Leave ends what Enter began.
func (p *FD) Leave() { p.ioMu.RUnlock() }

// direction holds the pre-built closure of the non-blocking fast path, so that
// a call allocates nothing.
type direction struct {
	fn   func(fd uintptr) bool
	done bool
	ctl  func(fd uintptr)

	// The arming of a context's cancellation (doIO): the AfterFunc of the
	// context whose Done channel is armDone, armStop, calls wake, which
	// puts a past deadline in force and signals fired (capacity 1,
	// reused). armDone and armStop are guarded by FD.mu; wake is built
	// once, so arming allocates only what AfterFunc does. The Done channel
	// names the context: contexts sharing it (context.WithValue of one)
	// end together, and comparing it cannot panic as comparing contexts
	// of an uncomparable type would.
	armDone <-chan struct{}
	armStop func() bool
	// armed is armStop != nil, read without the lock by disarm, so that
	// a call with no arming to drop (the usual one) takes no lock.
	armed atomic.Bool
	wake  func()
	fired chan struct{}
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
	handled, err := p.direct(p.rd.ctl)
	if !handled {
		err = p.rc.Control(p.rd.ctl)
	}
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
	if handled, err := p.direct(fn); handled {
		return err
	}
	return p.closedErr(p.rc.Control(fn))
}

func (p *FD) io(ctx context.Context, read bool, fn func(fd uintptr) bool) error {
	return p.closedErr(p.doIO(ctx, read, fn))
}

func (p *FD) doIO(ctx context.Context, read bool, fn func(fd uintptr) bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d := &p.wr
	if read {
		d = &p.rd
	}
	if !p.registered.Load() {
		// Try once on the bare descriptor; register only if it would block.
		d.fn, d.done = fn, false
		handled, err := p.direct(d.ctl)
		d.fn = nil
		if handled && (err != nil || d.done) {
			return err
		}
		if err := p.register(); err != nil {
			return err
		}
	}
	run := p.rc.Write
	if read {
		run = p.rc.Read
	}
	if ctx.Done() == nil {
		p.disarm(d, read) // another context's arming must not wake this call
		return run(fn)
	}
	// A deadline already past fails the call, as run would, before the
	// fast path below (which does not look at deadlines) could succeed.
	p.mu.Lock()
	dl := p.writeDL
	if read {
		dl = p.readDL
	}
	armed := d.armDone == ctx.Done()
	p.mu.Unlock()
	if !dl.IsZero() && !time.Now().Before(dl) {
		return os.ErrDeadlineExceeded
	}
	// Fast path: try once without arming anything; a reply the kernel has
	// already queued (the usual case right after a request) is read here.
	d.fn, d.done = fn, false
	err := p.rc.Control(d.ctl)
	d.fn = nil
	if err != nil || d.done {
		return err
	}
	if !armed {
		p.disarm(d, read)
		stop := context.AfterFunc(ctx, d.wake)
		p.mu.Lock()
		d.armDone, d.armStop = ctx.Done(), stop
		d.armed.Store(true)
		p.mu.Unlock()
		if p.closed.Load() {
			p.disarm(d, read) // Close ran meanwhile: its disarm came first
		}
	}
	err = run(fn)
	if ctx.Err() == nil {
		// Not cancelled (wake runs only after ctx is done): the arming
		// stays for the next call with ctx. Should ctx end before that
		// call, the call fails at once with ctx.Err().
		return err
	}
	// ctx ended: its wake has run or will; wait for it and restore the
	// caller's deadline.
	p.disarm(d, read)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		return ctx.Err()
	}
	return err
}

// wake is the AfterFunc of an armed context: it wakes the blocked call (or
// fails the next one) with a deadline in the past, which disarm restores.
func (p *FD) wake(read bool) {
	p.mu.Lock()
	if read {
		p.rdWaking = true
		p.f.SetReadDeadline(time.Unix(1, 0))
	} else {
		p.wrWaking = true
		p.f.SetWriteDeadline(time.Unix(1, 0))
	}
	p.mu.Unlock()
	d := &p.wr
	if read {
		d = &p.rd
	}
	d.fired <- struct{}{}
}

// disarm drops the direction's arming, if any: the AfterFunc is stopped
// or, if it already ran, waited for, and the caller's deadline restored.
func (p *FD) disarm(d *direction, read bool) {
	if !d.armed.Load() {
		return
	}
	p.mu.Lock()
	stop := d.armStop
	d.armDone, d.armStop = nil, nil
	d.armed.Store(false)
	p.mu.Unlock()
	if stop == nil || stop() {
		return
	}
	<-d.fired
	p.mu.Lock()
	if read {
		p.rdWaking = false
		p.f.SetReadDeadline(p.readDL)
	} else {
		p.wrWaking = false
		p.f.SetWriteDeadline(p.writeDL)
	}
	p.mu.Unlock()
}

// SetReadDeadline sets the deadline for Read.
func (p *FD) SetReadDeadline(t time.Time) error {
	if !t.IsZero() {
		if err := p.register(); err != nil {
			return err
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.readDL = t
	if p.registered.Load() && !p.rdWaking {
		return p.f.SetReadDeadline(t)
	}
	return nil
}

// SetWriteDeadline sets the deadline for Write.
func (p *FD) SetWriteDeadline(t time.Time) error {
	if !t.IsZero() {
		if err := p.register(); err != nil {
			return err
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.writeDL = t
	if p.registered.Load() && !p.wrWaking {
		return p.f.SetWriteDeadline(t)
	}
	return nil
}

// Close closes the descriptor once, unblocking pending calls with an error
// wrapping os.ErrClosed.
func (p *FD) Close() error {
	p.closeOnce.Do(func() {
		p.closed.Store(true)
		// Drop the contexts' references to the FD once the calls have
		// been woken (below): the arming is only ever set after
		// registration, so p.f exists if they do.
		defer p.disarm(&p.wr, false)
		defer p.disarm(&p.rd, true)
		// Unblock readers parked in the poller first; they hold no lock.
		if p.registered.Load() {
			p.closeErr = p.f.Close()
			return
		}
		p.ioMu.Lock()
		defer p.ioMu.Unlock()
		if p.f != nil {
			p.closeErr = p.f.Close()
			return
		}
		p.closeErr = syscall.Close(p.raw)
	})
	return p.closeErr
}

// WriteDeadline returns the deadline set by SetWriteDeadline (zero: none).
func (p *FD) WriteDeadline() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.writeDL
}
