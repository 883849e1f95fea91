package bus

import (
	"context"
	"errors"
	"github.com/nlbus/netlink/genl/genlctrl"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
)

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = errors.New("nlbus: server closed")

// Server is the bus daemon: it accepts connections on a SOCK_SEQPACKET
// listener, gives each a port and relays frames between them (see
// docs/PROTOCOL.md). The zero value is ready to use with the defaults below;
// fields must not change once Serve has been called.
type Server struct {
	// Logger receives the daemon's logs; nil means none.
	Logger hclog.Logger
	// MaxDatagram is the largest datagram, envelope included, the daemon
	// accepts and sends; 0 means DefaultMaxDatagram (32 KiB). It is
	// advertised in the hello frame. Values are clamped to [4 KiB, 1 MiB].
	MaxDatagram int
	// QueueBytes and QueueFrames bound each connection's outbound queue;
	// past them, multicast frames are dropped for that receiver (which is
	// told on its next read) and unicasts are refused to their sender with
	// EAGAIN. 0 means 1 MiB and 4096 frames.
	QueueBytes  int
	QueueFrames int
	// MaxBadFrames is how many malformed datagrams a connection may send
	// (each answered with an error) before it is disconnected; 0 means 16.
	MaxBadFrames int
	// MaxInflight bounds, per port, the requests relayed to it that the
	// daemon remembers in order to fail them if the port goes away; 0
	// means 1024. Requests beyond it are relayed but not tracked.
	MaxInflight int
	// MonitorGID is the group whose members (by primary group) may join
	// GroupMonitor and bind ports below 1024, besides root and the daemon's
	// own user. The default, 0, is root's group.
	MonitorGID uint32
	// Access is the access rules the daemon starts with (nil: none);
	// SetAccess replaces them while it serves. See access.go.
	Access *Access
	// SystemBus selects the defaults that apply when no access rule
	// matches: on the system bus only root registers families; on a
	// per-user bus (false) root and the daemon's own user may do
	// everything. Anyone may call commands not flagged admin, send and
	// join, on both.
	SystemBus bool
	// AdminGroups are groups (primary or supplementary) whose members may
	// call commands flagged admin, besides root and, on a per-user bus,
	// the daemon's own user; the access file's admin_groups add to them.
	AdminGroups []uint32

	once    sync.Once
	log     hclog.Logger
	maxDG   int
	qBytes  int
	qFrames int
	maxBad  int
	maxInfl int
	euid    uint32
	pid     int32
	start   time.Time
	pool    *bufPool
	r       router
	reg     *genlctrl.Registry
	// credsHook rewrites a new connection's credentials; set only by
	// tests (export_test.go), before Serve.
	credsHook func(creds) creds

	mu        sync.Mutex
	listeners map[*net.UnixListener]struct{}
	peers     map[*peer]struct{}
	closing   atomic.Bool
	wg        sync.WaitGroup // open connections
	loops     loopsState     // the event loops (peerio_*.go)

	conns, routed, dropped, refused, bad atomic.Uint64

	access      atomic.Pointer[Access]
	accessMu    sync.Mutex // serialises SetAccess's sweeps
	accessErr   atomic.Pointer[string]
	accessLoads atomic.Uint64
	// lookupGroups: new connections' supplementary groups are looked up.
	lookupGroups atomic.Bool
	denied       [numKinds]atomic.Uint64
	revoked      atomic.Uint64
}

func (s *Server) init() {
	s.once.Do(func() {
		s.log = s.Logger
		if s.log == nil {
			s.log = hclog.NewNullLogger()
		}
		s.maxDG = s.MaxDatagram
		if s.maxDG == 0 {
			s.maxDG = DefaultMaxDatagram
		}
		s.maxDG = min(max(s.maxDG, MinMaxDatagram), MaxMaxDatagram)
		s.qBytes = s.QueueBytes
		if s.qBytes <= 0 {
			s.qBytes = 1 << 20
		}
		s.qFrames = s.QueueFrames
		if s.qFrames <= 0 {
			s.qFrames = 4096
		}
		s.maxBad = s.MaxBadFrames
		if s.maxBad <= 0 {
			s.maxBad = 16
		}
		s.maxInfl = s.MaxInflight
		if s.maxInfl <= 0 {
			s.maxInfl = 1024
		}
		s.euid = uint32(os.Geteuid())
		s.pid = int32(os.Getpid())
		s.start = time.Now()
		// A reader holds a batch buffer only while it reads and routes; at
		// most 64 are kept for reuse.
		s.pool = newBufPool(batchSize(s.maxDG), 64)
		s.r.init()
		s.reg = newRegistry()
		s.listeners = make(map[*net.UnixListener]struct{})
		s.peers = make(map[*peer]struct{})
		if s.Access != nil {
			s.access.Store(s.Access)
			s.accessLoads.Add(1)
		}
		// A daemon configured for access control looks up each caller's
		// supplementary groups when it connects; a bare Server (tests,
		// embedded buses) sees primary groups only.
		s.lookupGroups.Store(s.Access != nil || s.SystemBus || len(s.AdminGroups) > 0)
	})
}

// Serve accepts connections on l until Shutdown or Close, and then returns
// ErrServerClosed. It closes l when it returns. Several listeners may be
// served at once.
func (s *Server) Serve(l *net.UnixListener) error {
	s.init()
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		l.Close()
		return ErrServerClosed
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
		l.Close()
	}()
	s.log.Info("listening", "addr", l.Addr().String(), "max_datagram", s.maxDG)
	var backoff time.Duration
	for {
		ac, err := acceptConn(l)
		if err != nil {
			if s.closing.Load() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("accept failed; retrying", "error", err, "delay", backoff)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		s.accept(ac)
	}
}

// Shutdown stops accepting and reading, then waits until every
// connection's queued frames are written (or ctx is done), then closes
// every connection, so that clients see the end of the connection at once.
// It returns ctx's error if ctx ended first.
func (s *Server) Shutdown(ctx context.Context) error {
	s.init()
	s.stopListening()
	// Nothing more is read, so that the queues can drain.
	s.pauseReading()
	var err error
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !s.drained() {
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-tick.C:
			continue
		}
		break
	}
	s.closePeers()
	s.wg.Wait()
	s.stopLoops()
	return err
}

// Close stops accepting and closes every connection at once.
func (s *Server) Close() error {
	s.init()
	s.stopListening()
	s.closePeers()
	s.wg.Wait()
	s.stopLoops()
	return nil
}

func (s *Server) stopListening() {
	s.mu.Lock()
	s.closing.Store(true)
	for l := range s.listeners {
		l.Close()
	}
	s.mu.Unlock()
}

func (s *Server) drained() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for p := range s.peers {
		if p.queued() > 0 {
			return false
		}
	}
	return true
}

func (s *Server) closePeers() {
	for _, p := range s.peerList() {
		p.close(nil)
	}
}

// peerList returns the open connections.
func (s *Server) peerList() []*peer {
	s.mu.Lock()
	defer s.mu.Unlock()
	peers := make([]*peer, 0, len(s.peers))
	for p := range s.peers {
		peers = append(peers, p)
	}
	return peers
}

func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// accept sets up a connection: credentials, a port, the hello frame, and
// its reading (peerio_*.go).
func (s *Server) accept(ac acceptedConn) {
	var cr creds
	var cerr error
	if err := ac.control(func(fd int) {
		cr, cerr = peerCreds(fd)
		raiseBuffers(fd, 2*s.maxDG)
	}); err != nil {
		cerr = err
	}
	if cerr != nil {
		s.log.Warn("peer credentials unavailable; closing", "error", cerr)
		ac.close()
		return
	}
	if s.credsHook != nil {
		cr = s.credsHook(cr) // tests only: see export_test.go
	}
	p := newPeer(s, ac, cr)
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		ac.close()
		return
	}
	s.peers[p] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	s.conns.Add(1)
	port := s.r.add(p)
	if s.log.IsDebug() {
		s.log.Debug("connected", "port", port, "pid", cr.PID, "uid", cr.UID, "gid", cr.GID)
	}
	p.sendHello()
	p.startIO()
}

func (s *Server) removePeer(p *peer) {
	s.mu.Lock()
	delete(s.peers, p)
	s.mu.Unlock()
}

// privileged reports whether c may join the monitor group and bind ports
// below 1024: root, the daemon's own user, or a member of MonitorGID.
func (s *Server) privileged(c creds) bool {
	return c.UID == 0 || c.UID == s.euid || c.GID == s.MonitorGID
}

// bufPool is a free list with a ceiling.
type bufPool struct {
	size int
	free chan []byte
}

func newBufPool(size, keep int) *bufPool {
	return &bufPool{size: size, free: make(chan []byte, keep)}
}

func (bp *bufPool) get() []byte {
	select {
	case b := <-bp.free:
		return b
	default:
		return make([]byte, bp.size)
	}
}

func (bp *bufPool) put(b []byte) {
	select {
	case bp.free <- b:
	default:
	}
}

// batchSize is the size of a read batch buffer: room for two datagrams of
// the largest size, or maxBatch small ones, per wake-up.
func batchSize(maxDG int) int { return max(2*maxDG, 64<<10) }
