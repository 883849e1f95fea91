//go:build !linux || nlbus_portable

package bus

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// Outside Linux every connection has a read goroutine that waits in the Go
// runtime's poller; a full socket is finished by a goroutine that waits
// there for room. (On Linux an event loop serves every connection:
// peerio_linux.go.) The build tag nlbus_portable selects this file on
// Linux too, so that CI runs the bus tests through it (.ci/run).

// acceptedConn is a connection Serve accepted.
type acceptedConn struct {
	uc *net.UnixConn
	rc syscall.RawConn
}

func acceptConn(l *net.UnixListener) (acceptedConn, error) {
	uc, err := l.AcceptUnix()
	if err != nil {
		return acceptedConn{}, err
	}
	rc, err := uc.SyscallConn()
	if err != nil {
		uc.Close()
		return acceptedConn{}, err
	}
	return acceptedConn{uc: uc, rc: rc}, nil
}

func (ac acceptedConn) control(fn func(fd int)) error {
	return ac.rc.Control(func(fd uintptr) { fn(int(fd)) })
}

func (ac acceptedConn) close() { ac.uc.Close() }

// peerIO is a peer's socket.
type peerIO struct {
	uc *net.UnixConn
	rc syscall.RawConn
	wr struct { // the flusher's write call
		b     []byte
		block bool
		err   error
		fn    func(fd uintptr) bool
	}
}

func (pio *peerIO) init(ac acceptedConn) { pio.uc, pio.rc = ac.uc, ac.rc }

// startIO starts the connection's read goroutine.
func (p *peer) startIO() {
	s := p.s
	go func() {
		defer s.wg.Done()
		if s.lookupGroups.Load() {
			// Off the routing path: only this connection waits, before
			// its first request is read.
			p.id.Store(lookupIdentity(p.cr))
		}
		p.readLoop()
	}()
}

// readLoop reads batches of datagrams and serves them until the
// connection ends.
func (p *peer) readLoop() {
	pool, maxDG := p.s.pool, p.s.maxDG
	rs := newRouteState()
	var r readState
	// One callback for the connection's life: a read allocates nothing.
	// Once the Server is shutting down nothing more is read: Shutdown
	// drains what is queued, then closes the connection.
	read := func(fd uintptr) bool {
		if p.s.closing.Load() {
			return true
		}
		return r.fill(int(fd), pool, maxDG)
	}
	for {
		err := p.io.rc.Read(read)
		if err == nil && r.count == 0 && r.err == nil {
			return // shutting down
		}
		if keep, cause := p.serveBatch(&r, rs, err); !keep {
			p.close(cause)
			return
		}
	}
}

// hungUp: a read of no bytes ends the connection (a datagram of none is
// not told apart here).
func hungUp(int) bool { return true }

const zeroLengthFrames = false

// waitingHungUp reports, for waitAnswer, whether p's peer has closed its
// end while p's read goroutine waits (poll reports the hang-up even with
// unread datagrams left).
func (p *peer) waitingHungUp() bool {
	if p.io.rc == nil {
		return false
	}
	gone := false
	p.io.rc.Control(func(fd uintptr) {
		fds := [1]unix.PollFd{{Fd: int32(fd)}}
		n, err := unix.Poll(fds[:], 0)
		gone = err == nil && n > 0 && fds[0].Revents&(unix.POLLHUP|unix.POLLERR) != 0
	})
	return gone
}

// pauseReading: each read goroutine stops after its batch (readLoop).
func (s *Server) pauseReading() {}

// write sends b, one datagram; block waits for room.
func (p *peer) write(b []byte, block bool) error {
	if p.io.rc == nil {
		return nil // a peer without a socket: the fuzz test's
	}
	// Only the flusher writes, so the call's state lives in p and the
	// callback is made once (a closure per write would be an allocation).
	p.io.wr.b, p.io.wr.block, p.io.wr.err = b, block, nil
	if p.io.wr.fn == nil {
		p.io.wr.fn = func(fd uintptr) bool {
			for {
				p.io.wr.err = sendmsg(int(fd), p.io.wr.b)
				if p.io.wr.err == unix.EINTR {
					continue
				}
				return !(p.io.wr.err == unix.EAGAIN && p.io.wr.block)
			}
		}
	}
	err := p.io.rc.Write(p.io.wr.fn)
	p.io.wr.b = nil
	if err != nil {
		return err
	}
	return p.io.wr.err
}

// waitWritable finishes the flush with blocking writes, in a goroutine.
func (p *peer) waitWritable() { go p.writeLoop(true) }

// detach is for the event loop; a read goroutine may wait.
func (p *peer) detach(rs *routeState) { rs.loop = nil }

func (p *peer) closeIO() {
	if p.io.uc != nil {
		p.io.uc.Close()
	}
}

// ioLoop and loopsState exist only on Linux.
type (
	ioLoop     struct{}
	loopsState struct{}
)

func (s *Server) stopLoops() { s.loops = loopsState{} }
