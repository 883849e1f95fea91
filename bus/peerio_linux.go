//go:build linux && !nlbus_portable

package bus

import (
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// On Linux the daemon serves its connections from an event loop of its own
// rather than from a goroutine per connection in the Go runtime's poller.
//
// The runtime registers every descriptor for readability and writability,
// edge-triggered, and a unix socket signals writability each time its peer
// reads one of its datagrams: through the runtime's poller every relayed
// datagram woke the daemon twice, once for the datagram and once when its
// receiver read it, so a request relayed to a service and answered cost two
// wake-ups that found nothing to do besides the two that did. The loop
// watches its connections for readability only (level-triggered), and for
// writability only while a connection's socket is full.
//
// The loop never waits on anything but epoll_wait: the one place a handler
// waits (a family's answer for a caller whose queue is full, waitAnswer)
// first hands the loop to a new goroutine (detach) and serves the waiting
// connection alone until its batch is done, with reading from it paused
// meanwhile; a hang-up is still watched for, and closes it at once.

// acceptedConn is a connection Serve accepted: a non-blocking descriptor
// outside the runtime's poller.
type acceptedConn struct {
	fd int
	ok bool
}

func acceptConn(l *net.UnixListener) (acceptedConn, error) {
	// The listener stays in the runtime's poller (accepting is rare, and
	// a listener's raw connection cannot read); the connection leaves it:
	// its descriptor is duplicated and the original closed, which takes
	// it out of the runtime's epoll set.
	uc, err := l.AcceptUnix()
	if err != nil {
		return acceptedConn{}, err
	}
	defer uc.Close()
	rc, err := uc.SyscallConn()
	if err != nil {
		return acceptedConn{}, err
	}
	nfd, derr := -1, error(nil)
	if err := rc.Control(func(fd uintptr) {
		nfd, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return acceptedConn{}, err
	}
	if derr != nil {
		return acceptedConn{}, os.NewSyscallError("fcntl", derr)
	}
	return acceptedConn{fd: nfd, ok: true}, nil
}

func (ac acceptedConn) control(fn func(fd int)) error {
	fn(ac.fd)
	return nil
}

func (ac acceptedConn) close() { unix.Close(ac.fd) }

// peerIO is a peer's socket and its place in an event loop.
type peerIO struct {
	fd   int
	ok   bool // a socket (the fuzz tests' peers have none)
	key  uint64
	loop *ioLoop

	// fdmu is held shared around every use of fd, exclusively to close
	// it: a descriptor number is never used after it may have been
	// reused.
	fdmu   sync.RWMutex
	closed bool

	// emu guards what the loop is asked to watch.
	emu        sync.Mutex
	registered bool // fd is in the loop's epoll set
	paused     bool // reading is paused (detach)
	wantOut    bool // the flusher waits for room
}

func (pio *peerIO) init(ac acceptedConn) { pio.fd, pio.ok = ac.fd, ac.ok }

// ioLoop is an epoll set and the goroutine that serves it.
type ioLoop struct {
	s    *Server
	epfd int
	wake int // an eventfd, written to stop the loop

	mu    sync.Mutex
	peers map[uint64]*peer
}

// loopKeyWake marks the wake eventfd in the epoll set; peers' keys count
// up from 1.
const loopKeyWake = 0

// loopsState is the Server's event loops, started with the first
// connection.
type loopsState struct {
	mu      sync.Mutex // guards loops (set once full) and stopped
	loops   []*ioLoop
	stopped bool
	next    atomic.Uint64 // keys, and the round-robin choice of loop
	wg      sync.WaitGroup
}

// startLoops creates the event loop. One: a relay is a few system calls,
// and on the 2-processor machine of bench/README.md one loop was as fast as
// two or faster in every case measured (a request and its answer through
// the daemon: 53-56 µs against 56-58 µs; one-way and multicast rates alike
// within the noise). The loops are a slice so that a measured case for
// more can have them.
func (s *Server) startLoops() error {
	ls := &s.loops
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.stopped {
		return net.ErrClosed // the Server is closing
	}
	const n = 1
	for len(ls.loops) < n {
		// A failure (no descriptor left) is the connection's; the next
		// one tries again.
		l, err := newIOLoop(s)
		if err != nil {
			return err
		}
		ls.loops = append(ls.loops, l)
		ls.wg.Add(1)
		go l.run()
	}
	return nil
}

func newIOLoop(s *Server) (*ioLoop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, os.NewSyscallError("eventfd", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN}
	putKey(&ev, loopKeyWake)
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &ev); err != nil {
		unix.Close(epfd)
		unix.Close(wake)
		return nil, os.NewSyscallError("epoll_ctl", err)
	}
	return &ioLoop{s: s, epfd: epfd, wake: wake, peers: make(map[uint64]*peer)}, nil
}

// stopLoops stops the event loops, once every connection is closed.
func (s *Server) stopLoops() {
	ls := &s.loops
	ls.mu.Lock()
	if ls.stopped {
		ls.mu.Unlock()
		return
	}
	ls.stopped = true // none start after this
	loops := ls.loops
	ls.mu.Unlock()
	one := [8]byte{1}
	for _, l := range loops {
		unix.Write(l.wake, one[:])
	}
	ls.wg.Wait()
	for _, l := range loops {
		unix.Close(l.epfd)
		unix.Close(l.wake)
	}
}

func putKey(ev *unix.EpollEvent, k uint64) {
	ev.Fd, ev.Pad = int32(uint32(k)), int32(uint32(k>>32))
}

func eventKey(ev *unix.EpollEvent) uint64 {
	return uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
}

// startIO puts the connection in an event loop, after the lookup of its
// groups where the access rules need them (off the loops: it may wait).
func (p *peer) startIO() {
	s := p.s
	if err := s.startLoops(); err != nil {
		s.log.Error("event loop unavailable; closing the connection", "error", err)
		p.close(err)
		return
	}
	if s.lookupGroups.Load() {
		go func() {
			p.id.Store(lookupIdentity(p.cr))
			p.register()
		}()
		return
	}
	p.register()
}

func (p *peer) register() {
	ls := &p.s.loops
	k := ls.next.Add(1)
	ls.mu.Lock()
	if ls.stopped || len(ls.loops) == 0 { // the Server is closing
		ls.mu.Unlock()
		p.close(net.ErrClosed)
		return
	}
	l := ls.loops[k%uint64(len(ls.loops))]
	ls.mu.Unlock()
	pio := &p.io
	pio.emu.Lock()
	pio.fdmu.RLock()
	closed := pio.closed
	pio.fdmu.RUnlock()
	if closed {
		pio.emu.Unlock()
		return
	}
	pio.key, pio.loop = k, l
	l.mu.Lock()
	l.peers[k] = p
	l.mu.Unlock()
	pio.emu.Unlock()
	if err := p.watch(); err != nil {
		p.close(err)
	}
}

// watch brings the epoll set in line with what p waits for: readability
// unless reading is paused, writability while the flusher waits for room.
func (p *peer) watch() error {
	pio := &p.io
	pio.emu.Lock()
	defer pio.emu.Unlock()
	pio.fdmu.RLock()
	defer pio.fdmu.RUnlock()
	if pio.closed || pio.loop == nil {
		return nil
	}
	// Reading paused (detach), or the Server shutting down: only a hang-up
	// is watched for, so that the connection closes at once (run).
	events := uint32(unix.EPOLLRDHUP)
	if !pio.paused && !p.s.closing.Load() {
		events |= unix.EPOLLIN
	}
	if pio.wantOut {
		events |= unix.EPOLLOUT
	}
	ev := unix.EpollEvent{Events: events}
	putKey(&ev, pio.key)
	var err error
	switch {
	case pio.registered:
		err = unix.EpollCtl(pio.loop.epfd, unix.EPOLL_CTL_MOD, pio.fd, &ev)
	default:
		err = unix.EpollCtl(pio.loop.epfd, unix.EPOLL_CTL_ADD, pio.fd, &ev)
		pio.registered = err == nil
	}
	if err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	return nil
}

// write sends b, one datagram, without waiting.
func (p *peer) write(b []byte, _ bool) error {
	pio := &p.io
	if !pio.ok {
		return nil // a peer without a socket: the fuzz test's
	}
	pio.fdmu.RLock()
	defer pio.fdmu.RUnlock()
	if pio.closed {
		return net.ErrClosed
	}
	for {
		err := sendmsg(pio.fd, b)
		if err != unix.EINTR {
			return err
		}
	}
}

// waitWritable asks p's loop to resume the flush when the socket has room.
// A connection not in its loop yet (its groups are being looked up) is
// watched for room when it joins (register).
func (p *peer) waitWritable() {
	pio := &p.io
	pio.emu.Lock()
	pio.wantOut = true
	inLoop := pio.loop != nil
	pio.emu.Unlock()
	if !inLoop {
		return
	}
	if err := p.watch(); err != nil {
		p.close(err)
	}
}

// writable is the loop's: p's socket has room (or failed) and its flusher
// waits. It resumes the flush.
func (p *peer) writable() {
	pio := &p.io
	pio.emu.Lock()
	waiting := pio.wantOut
	pio.wantOut = false
	pio.emu.Unlock()
	if !waiting {
		return
	}
	if err := p.watch(); err != nil {
		p.close(err)
		return
	}
	p.writeLoop(false)
}

// detach is called before a handler waits: a new goroutine takes over the
// loop running rs, reading from p pauses, and the caller, no longer the
// loop, serves p alone until its batch is done (run resumes p then).
func (p *peer) detach(rs *routeState) {
	l := rs.loop
	if l == nil {
		return
	}
	rs.loop = nil
	p.pauseReads(true)
	l.s.loops.wg.Add(1)
	go l.run()
}

// pauseReads pauses or resumes reading p (detach, run).
func (p *peer) pauseReads(paused bool) {
	pio := &p.io
	pio.emu.Lock()
	pio.paused = paused
	pio.emu.Unlock()
	if err := p.watch(); err != nil {
		p.close(err)
	}
}

func (p *peer) closeIO() {
	pio := &p.io
	if !pio.ok {
		return
	}
	pio.emu.Lock()
	pio.fdmu.Lock()
	if !pio.closed {
		pio.closed = true
		if pio.registered {
			unix.EpollCtl(pio.loop.epfd, unix.EPOLL_CTL_DEL, pio.fd, nil)
			pio.registered = false
		}
		unix.Close(pio.fd)
	}
	pio.fdmu.Unlock()
	l := pio.loop
	pio.emu.Unlock()
	if l != nil {
		l.mu.Lock()
		delete(l.peers, pio.key)
		l.mu.Unlock()
	}
	p.s.wg.Done()
}

// maxEvents is how many events one epoll_wait returns at most.
const maxEvents = 128

// run serves the loop until the Server stops it, or until a handler it
// called waits (detach), in which case a new run has taken over and this
// one returns when that connection's batch is done.
func (l *ioLoop) run() {
	defer l.s.loops.wg.Done()
	pool, maxDG := l.s.pool, l.s.maxDG
	rs := newRouteState()
	rs.loop = l
	var r readState
	var events [maxEvents]unix.EpollEvent
	for {
		n, err := unix.EpollWait(l.epfd, events[:], -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			l.s.log.Error("event loop failed", "error", err)
			return
		}
		for i := range n {
			ev := &events[i]
			k := eventKey(ev)
			if k == loopKeyWake {
				return
			}
			l.mu.Lock()
			p := l.peers[k]
			l.mu.Unlock()
			if p == nil {
				continue // closed since epoll_wait returned
			}
			if ev.Events&(unix.EPOLLOUT|unix.EPOLLERR|unix.EPOLLHUP) != 0 {
				p.writable()
			}
			if ev.Events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLERR|unix.EPOLLHUP) == 0 {
				continue
			}
			if !p.reading() {
				if ev.Events&(unix.EPOLLRDHUP|unix.EPOLLERR|unix.EPOLLHUP) != 0 {
					// It hung up while not read (a goroutine waits on its
					// behalf, or the Server is shutting down): closed now,
					// so that its callers and its port's release do not
					// wait for that goroutine or the drain.
					p.close(io.EOF)
				}
				continue
			}
			if !p.readBatch(&r, rs, pool, maxDG) {
				continue
			}
			if rs.loop == nil {
				// A handler waited (detach): another goroutine runs the
				// loop now, and p, whose batch is done, is read again.
				if r.buf != nil {
					pool.put(r.buf)
				}
				p.pauseReads(false)
				return
			}
		}
	}
}

// reading reports whether p's datagrams are read: not while a goroutine
// waits on its behalf (detach), nor once the Server is shutting down.
func (p *peer) reading() bool {
	pio := &p.io
	pio.emu.Lock()
	defer pio.emu.Unlock()
	return !pio.paused && !p.s.closing.Load()
}

// readBatch reads and serves one batch of p's datagrams. It reports whether
// it served anything.
func (p *peer) readBatch(r *readState, rs *routeState, pool *bufPool, maxDG int) bool {
	pio := &p.io
	pio.fdmu.RLock()
	if pio.closed {
		pio.fdmu.RUnlock()
		return false
	}
	some := r.fill(pio.fd, pool, maxDG)
	pio.fdmu.RUnlock()
	if !some {
		return false
	}
	if keep, cause := p.serveBatch(r, rs, nil); !keep {
		p.close(cause)
	}
	return true
}

// hungUp reports whether a read of no bytes from fd was the end of the
// connection rather than a datagram of none: the peer has closed its end
// and sent nothing more. An empty datagram it sent before closing, with
// others after it, is a datagram: SIOCINQ counts the bytes still queued.
func hungUp(fd int) bool {
	fds := [1]unix.PollFd{{Fd: int32(fd), Events: unix.POLLRDHUP}}
	for {
		n, err := unix.Poll(fds[:], 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return true
		}
		if n == 0 || fds[0].Revents&(unix.POLLRDHUP|unix.POLLHUP|unix.POLLERR) == 0 {
			return false
		}
		queued, err := unix.IoctlGetInt(fd, unix.SIOCINQ)
		return err != nil || queued == 0
	}
}

// zeroLengthFrames: a datagram of no bytes is told apart from the end of
// the connection (hungUp), and refused as a bad frame.
const zeroLengthFrames = true

// waitingHungUp is for waitAnswer: here the event loop watches a waiting
// connection for its hang-up and closes it (run).
func (p *peer) waitingHungUp() bool { return false }

// pauseReading stops reading every connection (Shutdown drains what is
// queued meanwhile); a hang-up still closes one at once.
func (s *Server) pauseReading() {
	for _, p := range s.peerList() {
		if err := p.watch(); err != nil {
			p.close(err)
		}
	}
}
