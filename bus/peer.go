package bus

import (
	"errors"
	"io"
	"slices"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// creds are a peer's credentials, taken once when it connected.
type creds struct {
	PID      int32
	UID, GID uint32
}

// Headroom past the queue bounds for frames the daemon itself originates
// (replies, errors, overrun notices), so a full queue still hears why.
const (
	headroomBytes  = 64 << 10
	headroomFrames = 256
	maxGroups      = 4096
	maxBatch       = 64
	// keepOutCap is the outbound buffer capacity an idle peer may keep.
	keepOutCap = 16 << 10
)

// reqKey names a request relayed to a peer: who asked, and its sequence.
type reqKey struct {
	src *peer
	seq uint32
}

// reqInfo is what is needed to fail a relayed request: its header.
type reqInfo struct {
	hdr [16]byte
	ack bool
	// via0: the request went to port 0 (a registered family); its
	// answers and its failure come from port 0.
	via0 bool
	// failed: the request already failed for its caller (ENOBUFS,
	// waitAnswer); the rest of its answers are dropped, counted as
	// refused, until the final one.
	failed bool
}

// peer is one client connection.
type peer struct {
	s    *Server
	io   peerIO // the socket, as the OS's event loop needs it (peerio_*.go)
	cr   creds
	port atomic.Uint32
	// groups is guarded by s.r.mu.
	groups map[uint32]struct{}

	mu       sync.Mutex
	out      []byte // frames waiting for the writer
	cur      []byte // frames being written, owned by the flusher
	curOff   int
	qBytes   int // queued bytes, out and the rest of cur
	qFrames  int
	flushing bool
	closed   bool
	// unwritable: a write found the peer's end closed (EPIPE,
	// ECONNRESET). Nothing is queued for it any more, but the connection
	// stays until its reader reaches the end of what the peer sent
	// before closing (writeLoop).
	unwritable bool
	overrunAt  int    // offset in out of the queued overrun notice, or -1
	lost       uint32 // drops not yet reported in a written notice

	imu      sync.Mutex
	inflight map[reqKey]reqInfo

	// families is the number of families this connection registered.
	families atomic.Int32

	sent, delivered, dropped atomic.Uint64
	badCount                 int // malformed datagrams, read loop only

	// id is who the access rules see (access_check.go), set before the
	// read loop starts; pa, its view of the rules, and denials belong to
	// the read loop.
	id      atomic.Pointer[identity]
	pa      *peerAccess
	denials uint64

	closeOnce sync.Once
	gone      atomic.Bool // set when the connection closes
}

// newPeer makes the peer of an accepted connection; the zero acceptedConn
// makes one without a socket (the fuzz tests'), whose writes vanish.
func newPeer(s *Server, ac acceptedConn, cr creds) *peer {
	p := &peer{s: s, cr: cr, groups: make(map[uint32]struct{}), overrunAt: -1}
	p.io.init(ac)
	return p
}

func (p *peer) queued() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.unwritable {
		return 0
	}
	return p.qBytes
}

func (p *peer) queueDepth() (bytes, frames int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.qBytes, p.qFrames
}

// enqueue appends a frame of envelope e and payload for p; reserve lets a
// frame the daemon originates use the headroom. It reports false when the
// frame was not queued (p is closed or its queue is full). The caller
// flushes p afterwards.
func (p *peer) enqueue(e Envelope, payload []byte, reserve bool) bool {
	size := EnvelopeLen + len(payload)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.unwritable {
		return false
	}
	limB, limF := p.s.qBytes, p.s.qFrames
	if reserve {
		limB += headroomBytes
		limF += headroomFrames
	}
	if p.qBytes+size > limB || p.qFrames+1 > limF {
		return false
	}
	e.Length = uint32(size)
	off := len(p.out)
	p.out = slices.Grow(p.out, size)[:off+size]
	PutEnvelope(p.out[off:], e)
	copy(p.out[off+EnvelopeLen:], payload)
	p.qBytes += size
	p.qFrames++
	p.delivered.Add(1)
	return true
}

// overrunLen is the payload of an overrun notice: an NLMSG_OVERRUN message
// whose data holds the drops since the previous notice (u32), a reserved
// u32 and the port's drops in total (u64).
const overrunLen = 16 + 16

// drop records a frame lost because p's queue was full. The first drop
// after a notice was written queues a new notice (past the bounds: there is
// never more than one pending); later ones raise the count of the notice
// still queued, so the receiver learns of every loss in its place in the
// stream.
func (p *peer) drop() {
	total := p.dropped.Add(1)
	p.s.dropped.Add(1)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.unwritable {
		return
	}
	p.lost++
	if p.overrunAt >= 0 {
		b := p.out[p.overrunAt+EnvelopeLen+16:]
		ne.PutUint32(b, p.lost)
		ne.PutUint64(b[8:], total)
		return
	}
	// The notice is queued whatever the bounds: there is at most one
	// pending per connection, and it is 64 bytes.
	size := EnvelopeLen + overrunLen
	off := len(p.out)
	p.out = slices.Grow(p.out, size)[:off+size]
	b := p.out[off:]
	PutEnvelope(b, Envelope{Flags: FlagOverrun, Length: uint32(size), Dst: p.port.Load()})
	m := b[EnvelopeLen:]
	ne.PutUint32(m[0:], overrunLen)
	ne.PutUint16(m[4:], 4) // NLMSG_OVERRUN
	ne.PutUint16(m[6:], 0)
	ne.PutUint32(m[8:], 0)
	ne.PutUint32(m[12:], p.port.Load())
	ne.PutUint32(m[16:], p.lost)
	ne.PutUint32(m[20:], 0)
	ne.PutUint64(m[24:], total)
	p.overrunAt = off
	p.qBytes += size
	p.qFrames++
}

// flush writes p's queued frames without blocking; if the socket is full,
// a goroutine finishes the job with blocking writes. Only one flusher runs
// at a time.
func (p *peer) flush() {
	p.mu.Lock()
	if p.flushing || p.closed || p.unwritable || len(p.out) == 0 {
		p.mu.Unlock()
		return
	}
	p.flushing = true
	p.mu.Unlock()
	p.writeLoop(false)
}

func (p *peer) writeLoop(block bool) {
	maxDG := p.s.maxDG
	for {
		p.mu.Lock()
		if p.curOff >= len(p.cur) {
			if len(p.out) == 0 || p.closed {
				p.flushing = false
				if cap(p.cur) > keepOutCap {
					p.cur = nil
				}
				p.cur, p.curOff = p.cur[:0], 0
				p.mu.Unlock()
				return
			}
			p.cur, p.out = p.out, p.cur[:0]
			p.curOff = 0
			if p.overrunAt >= 0 {
				p.overrunAt, p.lost = -1, 0
			}
		}
		p.mu.Unlock()
		for p.curOff < len(p.cur) {
			n, frames := datagramLen(p.cur[p.curOff:], maxDG)
			err := p.write(p.cur[p.curOff:p.curOff+n], block)
			if err == unix.EAGAIN {
				// The socket is full: flushing stays set, and the rest
				// is written once it has room (peerio_*.go).
				p.waitWritable()
				return
			}
			if err == unix.EPIPE || err == unix.ECONNRESET {
				// The peer has closed its end. Nothing can reach it any
				// more, but what it sent before closing may still wait
				// to be read: the reader reads it and closes the
				// connection at its end (fill), rather than this write
				// losing it.
				p.mu.Lock()
				p.flushing, p.unwritable = false, true
				p.out, p.cur, p.curOff = nil, nil, 0
				p.qBytes, p.qFrames = 0, 0
				p.overrunAt, p.lost = -1, 0
				p.mu.Unlock()
				return
			}
			if err != nil {
				p.mu.Lock()
				p.flushing = false
				p.mu.Unlock()
				p.close(err)
				return
			}
			p.curOff += n
			p.mu.Lock()
			p.qBytes -= n
			p.qFrames -= frames
			p.mu.Unlock()
		}
	}
}

// datagramLen returns how many bytes of whole frames at the start of b fit
// in one datagram of at most maxDG bytes (at least one frame), and how many
// frames that is.
func datagramLen(b []byte, maxDG int) (n, frames int) {
	for n+EnvelopeLen <= len(b) {
		l := int(ne.Uint32(b[n+4:]))
		if frames > 0 && n+l > maxDG {
			break
		}
		n += l
		frames++
	}
	return min(n, len(b)), frames
}

// readState is a read loop's batch: the buffer and the datagrams in it.
type readState struct {
	buf   []byte
	lens  [maxBatch]int
	trunc [maxBatch]bool
	count int
	off   int
	err   error
}

// fill reads datagrams from fd, without waiting, until the socket is empty
// or the batch is full. It reports whether there is something to serve: a
// datagram, or an error (end of connection). With nothing to read it gives
// the buffer back, so an idle connection holds none.
func (r *readState) fill(fd int, pool *bufPool, maxDG int) bool {
	reset := false
	for r.count < maxBatch {
		if r.buf == nil {
			r.buf = pool.get()
		}
		if len(r.buf)-r.off < maxDG {
			return true
		}
		var err error
		if haveRecvTwo && len(r.buf)-r.off >= 2*maxDG && r.count+2 <= maxBatch {
			var ns, fs [2]int
			var got int
			if got, err = recvTwo(fd, r.buf[r.off:r.off+2*maxDG], maxDG, &ns, &fs); err == nil {
				for i := range got {
					if i == 1 {
						// Next to the first, as fill keeps them.
						copy(r.buf[r.off:], r.buf[r.off-ns[0]+maxDG:][:ns[1]])
					}
					if !r.add(fd, ns[i], fs[i], i+1 < got) {
						return true
					}
				}
				if got < 2 {
					return true // the socket is empty
				}
				continue
			}
		} else {
			var n, flags int
			if n, flags, err = recvmsg(fd, r.buf[r.off:r.off+maxDG]); err == nil {
				if !r.add(fd, n, flags, false) {
					return true
				}
				continue
			}
		}
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.ECONNRESET && !reset:
			// The peer closed with datagrams from the daemon unread. The
			// kernel reports that first, but what the peer sent before
			// it closed is still queued: read it; the end of the
			// connection comes after it.
			reset = true
			continue
		case err == unix.EAGAIN:
			if r.count == 0 {
				pool.put(r.buf)
				r.buf = nil
				return false
			}
			return true
		default:
			r.err = err
			return true
		}
	}
	return true
}

// add takes the datagram of n bytes just read at r.off into the batch, or
// reports false, with r.err set, when the read was the end of the
// connection. more says the same read returned a datagram after this one,
// so this one, even empty, is not the end.
func (r *readState) add(fd, n, flags int, more bool) bool {
	if n == 0 && !more && flags&unix.MSG_TRUNC == 0 && hungUp(fd) {
		r.err = io.EOF
		return false
	}
	// (A datagram of no bytes from a live peer is served like any other:
	// handle refuses it with EINVAL.)
	r.lens[r.count], r.trunc[r.count] = n, flags&unix.MSG_TRUNC != 0
	r.count++
	r.off += n
	return true
}

// serveBatch routes the datagrams fill read, then flushes every peer the
// batch touched, once. It reports false, with the cause, when the
// connection must close (err is the read's own failure, if any).
func (p *peer) serveBatch(r *readState, rs *routeState, err error) (bool, error) {
	pool := p.s.pool
	off := 0
	keep := true
	for i := 0; i < r.count && keep && !p.gone.Load(); i++ {
		keep = p.handle(r.buf[off:off+r.lens[i]], r.trunc[i], rs)
		off += r.lens[i]
	}
	rs.flush()
	if r.buf != nil && r.count < maxBatch {
		// The socket was drained: the buffer goes back, so that only
		// connections being served hold one.
		pool.put(r.buf)
		r.buf = nil
	}
	if err == nil {
		err = r.err
	}
	r.count, r.off, r.err = 0, 0, nil
	if err != nil || !keep {
		if r.buf != nil {
			pool.put(r.buf)
			r.buf = nil
		}
		return false, err
	}
	return true, nil
}

// close tears the connection down once: the port and groups are released,
// the requests relayed to it fail for their callers, and GroupPorts hears
// of the release.
func (p *peer) close(cause error) {
	p.closeOnce.Do(func() {
		p.gone.Store(true)
		s := p.s
		port, wasBound := s.r.remove(p)
		p.mu.Lock()
		p.closed = true
		p.out = nil // cur belongs to a running flusher, which stops at its next look
		p.qBytes, p.qFrames = 0, 0
		p.mu.Unlock()
		p.closeIO()
		if s.log.IsDebug() {
			if cause == nil || errors.Is(cause, io.EOF) {
				s.log.Debug("disconnected", "port", port)
			} else {
				s.log.Debug("disconnected", "port", port, "error", cause)
			}
		}
		p.imu.Lock()
		inflight := p.inflight
		p.inflight = nil
		p.imu.Unlock()
		rs := newRouteState()
		if s.closing.Load() {
			inflight = nil // everyone is told by the end of their connection
		}
		if p.families.Load() > 0 && !s.closing.Load() {
			rs.notifyFamily(s, s.reg.UnregisterOwner(port))
		}
		for k, ri := range inflight {
			if ri.failed {
				continue // its caller was told already
			}
			src := port
			if ri.via0 {
				src = 0
			}
			rs.reply = appendError(rs.reply[:0], ri.hdr[:], unix.ECONNRESET,
				"nlbus: port "+utoa(port)+" closed before replying")
			if !k.src.enqueue(Envelope{Src: src, Dst: k.src.port.Load()}, rs.reply, true) {
				k.src.drop()
			}
			rs.touch(k.src)
		}
		if wasBound && !s.closing.Load() {
			rs.notifyReleased(s, port, p.cr)
		}
		rs.flush()
		s.removePeer(p)
	})
}
