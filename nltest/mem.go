package nltest

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/nlbus/netlink/compat"
	"github.com/nlbus/netlink/transport"
)

// Read is one result of Mem.Recv: a datagram of whole messages, or a fault.
type Read struct {
	// Data is the datagram. When it is longer than the receive buffer, the
	// read is reported truncated, as a kernel socket with MSG_TRUNC does.
	Data []byte
	// Src is the source address reported with it.
	Src transport.Addr
	// Creds, when not nil, are reported as the sender's credentials.
	Creds *transport.Credentials
	// Overrun makes this read fail with transport.ErrOverrun, a loss
	// reported where it happened, as the bus daemon reports one; Data is
	// ignored. For a kernel socket's ENOBUFS, which Linux reports ahead of
	// the messages queued before the loss, set Err to an error wrapping
	// both transport.ErrOverrun and syscall.ENOBUFS.
	Overrun bool
	// Err makes this read fail with Err; Data is ignored.
	Err error
}

// Handler serves a datagram sent through a Mem: it returns the reads the
// sender will receive. req is a copy the handler may keep. A returned error
// fails the Send.
type Handler func(req []byte, dst transport.Addr) ([]Read, error)

// MemConfig configures a Mem.
type MemConfig struct {
	// Port is the port ID the transport reports.
	Port uint32
	// Split delivers every message of a datagram as a read of its own, the
	// way a sender that writes one message per datagram behaves.
	Split bool
	// Coalesce behaves like FreeBSD's receive path: one Recv returns as many
	// whole messages as fit in the buffer, from as many queued datagrams as
	// needed, with no datagram boundaries. A first message longer than the
	// buffer is truncated.
	Coalesce bool
	// Unsupported lists options that fail with an error wrapping
	// compat.ErrNotSupported, as FreeBSD's NO_ENOBUFS does.
	Unsupported []transport.Option
	// MaxGroup, when non-zero, is the highest group JoinGroup accepts.
	MaxGroup uint32
}

// Mem is an in-memory transport.Transport for tests. Each Send runs the handler, whose
// reads are queued for Recv; Inject queues reads directly (notifications,
// faults). It is safe for concurrent use.
type Mem struct {
	cfg     MemConfig
	handler Handler

	mu      sync.Mutex
	queue   []Read
	wake    chan struct{} // closed when the queue changes or Mem closes
	closed  bool
	rdl     time.Time
	wdl     time.Time
	groups  map[uint32]bool
	options map[transport.Option]bool
	sent    [][]byte
}

// NewMem returns a Mem whose sends are served by h (nil: sends are dropped).
func NewMem(h Handler, cfg MemConfig) *Mem {
	return &Mem{
		cfg:     cfg,
		handler: h,
		wake:    make(chan struct{}),
		groups:  make(map[uint32]bool),
		options: make(map[transport.Option]bool),
	}
}

func (m *Mem) notifyLocked() {
	close(m.wake)
	m.wake = make(chan struct{})
}

// Inject queues reads for Recv as if a peer had sent them.
func (m *Mem) Inject(reads ...Read) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.enqueueLocked(reads)
}

func (m *Mem) enqueueLocked(reads []Read) {
	for _, r := range reads {
		if m.cfg.Split && r.Err == nil && !r.Overrun {
			for _, part := range splitMessages(r.Data) {
				p := r
				p.Data = part
				m.queue = append(m.queue, p)
			}
			continue
		}
		m.queue = append(m.queue, r)
	}
	m.notifyLocked()
}

// Sent returns copies of the datagrams sent so far.
func (m *Mem) Sent() [][]byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([][]byte(nil), m.sent...)
}

// Groups returns the groups currently joined.
func (m *Mem) Groups() []uint32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []uint32
	for g, ok := range m.groups {
		if ok {
			out = append(out, g)
		}
	}
	return out
}

// Option reports whether opt was turned on.
func (m *Mem) Option(opt transport.Option) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.options[opt]
}

// Pending returns the number of reads queued.
func (m *Mem) Pending() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.queue)
}

func closedErr(op string) error {
	return fmt.Errorf("%s: %w", op, os.ErrClosed)
}

// Send implements transport.Transport.
func (m *Mem) Send(ctx context.Context, b []byte, dst transport.Addr) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	req := append([]byte(nil), b...)
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return closedErr("send")
	}
	if !m.wdl.IsZero() && !time.Now().Before(m.wdl) {
		m.mu.Unlock()
		return os.ErrDeadlineExceeded
	}
	m.sent = append(m.sent, req)
	m.mu.Unlock()
	if m.handler == nil {
		return nil
	}
	reads, err := m.handler(req, dst)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(reads) > 0 {
		m.enqueueLocked(reads)
	}
	return nil
}

// Recv implements transport.Transport.
func (m *Mem) Recv(ctx context.Context, b []byte) (transport.Info, error) {
	for {
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			return transport.Info{}, closedErr("recv")
		}
		if len(m.queue) > 0 {
			info, err := m.popLocked(b)
			m.mu.Unlock()
			return info, err
		}
		wake, dl := m.wake, m.rdl
		m.mu.Unlock()

		var timer <-chan time.Time
		var t *time.Timer
		if !dl.IsZero() {
			d := time.Until(dl)
			if d <= 0 {
				return transport.Info{}, os.ErrDeadlineExceeded
			}
			t = time.NewTimer(d)
			timer = t.C
		}
		var expired bool
		select {
		case <-wake:
		case <-timer:
			expired = true
		case <-ctx.Done():
		}
		if t != nil {
			t.Stop()
		}
		if expired {
			return transport.Info{}, os.ErrDeadlineExceeded
		}
		if err := ctx.Err(); err != nil {
			return transport.Info{}, err
		}
	}
}

// TryRecv implements TryReceiver.
func (m *Mem) TryRecv(b []byte) (transport.Info, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return transport.Info{}, closedErr("recv")
	}
	if len(m.queue) == 0 {
		return transport.Info{}, transport.ErrWouldBlock
	}
	return m.popLocked(b)
}

func (m *Mem) popLocked(b []byte) (transport.Info, error) {
	r := m.queue[0]
	switch {
	case r.Overrun:
		m.queue = m.queue[1:]
		return transport.Info{}, fmt.Errorf("%w (in-memory transport)", transport.ErrOverrun)
	case r.Err != nil:
		m.queue = m.queue[1:]
		return transport.Info{}, r.Err
	}
	info := transport.Info{Src: r.Src}
	if r.Creds != nil {
		info.Creds, info.HasCreds = *r.Creds, true
	}
	if len(r.Data) > len(b) {
		if m.cfg.Coalesce {
			// FreeBSD keeps messages whole: only a first message longer
			// than the buffer is cut, and its tail is lost.
			first := firstMessageLen(r.Data)
			if first <= len(b) {
				// As many whole messages as fit.
				n := first
				for n < len(r.Data) {
					l := firstMessageLen(r.Data[n:])
					if n+l > len(b) {
						break
					}
					n += l
				}
				info.N = copy(b, r.Data[:n])
				m.queue[0].Data = r.Data[n:]
				return info, nil
			}
			info.N = copy(b, r.Data)
			info.Truncated, info.Size = true, first
			if first >= len(r.Data) {
				m.queue = m.queue[1:]
			} else {
				m.queue[0].Data = r.Data[first:]
			}
			return info, nil
		}
		info.N = copy(b, r.Data)
		info.Truncated, info.Size = true, len(r.Data)
		m.queue = m.queue[1:]
		return info, nil
	}
	info.N = copy(b, r.Data)
	m.queue = m.queue[1:]
	if m.cfg.Coalesce {
		// Add whole messages of the following reads while they fit and
		// come from the same source.
		for len(m.queue) > 0 {
			next := m.queue[0]
			if next.Overrun || next.Err != nil || next.Src != r.Src || next.Creds != r.Creds {
				break
			}
			l := firstMessageLen(next.Data)
			if l == 0 || info.N+l > len(b) {
				break
			}
			info.N += copy(b[info.N:], next.Data[:l])
			if l >= len(next.Data) {
				m.queue = m.queue[1:]
			} else {
				m.queue[0].Data = next.Data[l:]
			}
		}
	}
	return info, nil
}

// firstMessageLen returns the aligned length of the first message in b, or
// len(b) when its header is unusable.
func firstMessageLen(b []byte) int {
	if len(b) < 16 {
		return len(b)
	}
	l := int(binary.NativeEndian.Uint32(b))
	if l < 16 {
		return len(b)
	}
	l = (l + 3) &^ 3
	if l > len(b) {
		return len(b)
	}
	return l
}

// splitMessages cuts a datagram into its messages (malformed rest: one piece).
func splitMessages(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		l := firstMessageLen(b)
		out = append(out, b[:l])
		b = b[l:]
	}
	return out
}

// PortID implements transport.Transport.
func (m *Mem) PortID() uint32 { return m.cfg.Port }

// JoinGroup implements transport.Transport.
func (m *Mem) JoinGroup(g uint32) error {
	if g == 0 || (m.cfg.MaxGroup != 0 && g > m.cfg.MaxGroup) {
		return fmt.Errorf("join group %d: out of range", g)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.groups[g] = true
	return nil
}

// LeaveGroup implements transport.Transport.
func (m *Mem) LeaveGroup(g uint32) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.groups, g)
	return nil
}

// SetOption implements transport.OptionSetter: it records the option.
func (m *Mem) SetOption(opt transport.Option, on bool) error {
	for _, u := range m.cfg.Unsupported {
		if u == opt {
			return fmt.Errorf("option %s on %s/%s (in-memory): %w", opt, runtime.GOOS, runtime.GOARCH, compat.ErrNotSupported)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.options[opt] = on
	return nil
}

// SetReadDeadline implements transport.Deadliner.
func (m *Mem) SetReadDeadline(t time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rdl = t
	m.notifyLocked()
	return nil
}

// SetWriteDeadline implements transport.Deadliner.
func (m *Mem) SetWriteDeadline(t time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.wdl = t
	return nil
}

// Close implements transport.Transport; it unblocks a pending Recv.
func (m *Mem) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.closed {
		m.closed = true
		m.notifyLocked()
	}
	return nil
}
