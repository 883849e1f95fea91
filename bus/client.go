package bus

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/internal/pollfd"
	"github.com/nlbus/netlink/transport"
	"golang.org/x/sys/unix"
)

// ErrDaemonGone reports that the daemon closed the connection: it stopped,
// restarted or dropped this client. The Conn is finished; dial again.
var ErrDaemonGone = errors.New("nlbus: the bus daemon closed the connection (stopped or restarted); dial again")

// Config configures Dial.
type Config struct {
	// Socket is the daemon's socket; "" means SocketPath().
	Socket string
	// Port asks for that port (refused with EADDRINUSE if taken, EACCES
	// below 1024 for others than root); 0 takes the one the daemon gave.
	// A non-zero Netlink.PID means the same when Port is 0.
	Port uint32
	// Netlink configures the Conn: Groups are joined, QueueLimit,
	// MessageBufferSize and Logger apply as for a kernel Conn. Socket
	// options and socket buffer sizes are refused (ErrNotSupported): the
	// bus has none.
	Netlink *netlink.Config
}

// Dial connects to the bus daemon and returns a Conn over it, with the
// same Send, Receive, Execute, Dump and JoinGroup as a kernel Conn. The
// Conn's messages carry their sender's port in Message.Addr and its
// credentials in Message.Creds.
func Dial(cfg *Config) (*netlink.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), DialTimeout)
	defer cancel()
	return DialContext(ctx, cfg)
}

// DialTimeout bounds Dial's connection and handshake: a daemon that accepts
// but never answers (stopped, or not a bus daemon) is an error, not a hang.
const DialTimeout = 5 * time.Second

// DialContext is Dial with ctx bounding the connection and the handshake
// (the daemon's hello and, with Config.Port, the bind).
func DialContext(ctx context.Context, cfg *Config) (*netlink.Conn, error) {
	var c Config
	if cfg != nil {
		c = *cfg
	}
	var ncfg *netlink.Config
	if c.Netlink != nil {
		cp := *c.Netlink
		if c.Port == 0 {
			c.Port = cp.PID
		}
		cp.PID = 0
		ncfg = &cp
	}
	t, err := DialTransport(ctx, c.Socket, c.Port)
	if err != nil {
		return nil, err
	}
	return netlink.NewConn(t, ncfg)
}

// Transport is the client end of a bus connection. It implements
// transport.Transport and the optional transport.Deadliner and
// transport.TryReceiver; it has no socket options or buffer sizes to
// set (the daemon's queues are what bound it). One
// goroutine may Recv while others Send and join or leave groups.
type Transport struct {
	fd    *pollfd.FD
	path  string
	port  atomic.Uint32
	maxDG int

	rmu     sync.Mutex // the reader
	rbuf    []byte     // the last datagram read
	pend    []byte     // frames of it (or of a backlog entry) not yet returned
	backlog [][]byte   // frames a control call read for Recv, copied

	wmu  sync.Mutex
	wbuf []byte

	// The state of the read and write in progress (under rmu and wmu), so
	// that their callbacks are made once.
	rd struct {
		b        []byte
		n, flags int
		err      error
		fn       func(fd uintptr) bool
		linger   bool
	}
	// sent is set by every send and cleared by the next blocking read,
	// which then waits before its first read (see read).
	sent atomic.Bool
	wr   struct {
		b   []byte
		err error
		fn  func(fd uintptr) bool
	}

	ctlMu    sync.Mutex // one control call at a time
	ctlSeq   uint32
	ctlReply chan []byte
}

var (
	_ transport.Transport   = (*Transport)(nil)
	_ transport.TryReceiver = (*Transport)(nil)
	_ transport.Deadliner   = (*Transport)(nil)
)

// DialTransport connects to the daemon at path ("" means SocketPath(),
// and for a user other than root, when no daemon serves the per-user bus,
// the system bus), reads its hello and, if port is not 0, binds that port.
func DialTransport(ctx context.Context, path string, port uint32) (*Transport, error) {
	paths := []string{path}
	if path == "" {
		paths = clientPaths(os.Getenv(EnvSocket), os.Geteuid(), os.Getenv("XDG_RUNTIME_DIR"), runtime.GOOS)
	}
	fd, path, err := dialFirst(paths)
	if err != nil {
		return nil, err
	}
	pfd, err := pollfd.New(fd, "nlbus")
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	t := &Transport{fd: pfd, path: path, ctlReply: make(chan []byte, 1)}
	t.rbuf = make([]byte, MaxMaxDatagram)
	if err := t.hello(ctx); err != nil {
		pfd.Close()
		return nil, err
	}
	if port != 0 {
		if err := t.control(ctx, "bind", CmdBind, func(ae *netlink.AttributeEncoder) { ae.Uint32(AttrPort, port) }); err != nil {
			pfd.Close()
			return nil, err
		}
		t.port.Store(port)
	}
	return t, nil
}

// dialFirst connects to the first of paths a daemon answers on, going on
// to the next only when there is no daemon at one.
func dialFirst(paths []string) (int, string, error) {
	var err error
	for _, p := range paths {
		fd, serr := seqpacketSocket()
		if serr != nil {
			return -1, p, fmt.Errorf("nlbus: dial %s: %w", p, os.NewSyscallError("socket", serr))
		}
		if err = connect(fd, p); err == nil {
			return fd, p, nil
		}
		unix.Close(fd)
		if !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ECONNREFUSED) {
			return -1, p, err
		}
	}
	if len(paths) > 1 {
		err = fmt.Errorf("nlbus: no bus daemon at %s (start one with `nlbus serve`, or set %s): %w", strings.Join(paths, " nor at "), EnvSocket, errors.Unwrap(err))
	}
	return -1, "", err
}

func connect(fd int, path string) error {
	deadline := time.Now().Add(5 * time.Second)
	for delay := time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		err := unix.Connect(fd, &unix.SockaddrUnix{Name: path})
		switch {
		case err == nil:
			return nil
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN && time.Now().Before(deadline):
			// The daemon's listen backlog is full (Linux); a unix socket
			// does not go on connecting in the background, so try again.
			time.Sleep(delay)
			continue
		case err == unix.EINPROGRESS:
			pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
			if _, perr := unix.Poll(pfd, 5000); perr != nil && perr != unix.EINTR {
				return fmt.Errorf("nlbus: dial %s: %w", path, perr)
			}
			if soerr, gerr := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR); gerr == nil && soerr != 0 {
				return dialError(path, syscall.Errno(soerr))
			}
			return nil
		case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ECONNREFUSED):
			return fmt.Errorf("nlbus: no bus daemon at %s (start one with `nlbus serve`, or set %s): %w", path, EnvSocket, err)
		default:
			return dialError(path, err)
		}
	}
}

func dialError(path string, err error) error {
	if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
		return fmt.Errorf("nlbus: not allowed to use the bus at %s: %w", path, err)
	}
	return fmt.Errorf("nlbus: dial %s: %w", path, os.NewSyscallError("connect", err))
}

// hello reads the daemon's first frame.
func (t *Transport) hello(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
	}
	n, err := t.read(ctx, t.rbuf, true)
	if err != nil {
		return fmt.Errorf("nlbus: reading the daemon's hello on %s: %w", t.path, err)
	}
	var h Hello
	var perr error
	found := false
	err = SplitFrames(t.rbuf[:n], func(e Envelope, payload []byte) bool {
		m, err := netlink.ParseMessages(payload)
		if err != nil || len(m) == 0 || m[0].Header.Type != FamilyID {
			perr = fmt.Errorf("unexpected first frame")
			return false
		}
		h, perr = ParseHello(m[0].Data)
		found = true
		return false
	})
	if err == nil {
		err = perr
	}
	if err == nil && !found {
		err = errors.New("no hello frame")
	}
	if err != nil {
		return fmt.Errorf("nlbus: %s does not speak the bus protocol: %w", t.path, err)
	}
	if h.Version != Version {
		return fmt.Errorf("%w: the daemon speaks version %d, this client %d", ErrVersion, h.Version, Version)
	}
	if h.MaxDatagram < MinMaxDatagram || h.MaxDatagram > MaxMaxDatagram || h.Port == 0 {
		return fmt.Errorf("nlbus: implausible hello (port %d, max datagram %d)", h.Port, h.MaxDatagram)
	}
	t.port.Store(h.Port)
	t.maxDG = int(h.MaxDatagram)
	t.fd.Control(func(fd uintptr) { raiseBuffers(int(fd), 2*t.maxDG) })
	t.rbuf = t.rbuf[:t.maxDG:t.maxDG]
	return nil
}

// read reads one datagram into b; block false returns ErrWouldBlock when
// nothing is queued.
func (t *Transport) read(ctx context.Context, b []byte, block bool) (int, error) {
	// The caller holds rmu (or is the dialer): the call's state lives in t
	// and the callback is made once, so a read allocates nothing.
	t.rd.b, t.rd.n, t.rd.flags, t.rd.err = b, 0, 0, nil
	if t.rd.fn == nil {
		t.rd.fn = func(fd uintptr) bool {
			if t.rd.linger && t.sent.Swap(false) {
				// Something was sent since the last read: what this
				// read waits for (the reply) is most likely not there
				// yet, so wait for it before the first read rather than
				// after a failed one. A read that follows a read (a
				// stream) tries first, as its datagram is likely queued.
				t.rd.linger = false
				pollfd.Linger(fd, lingerFor)
			}
			for {
				t.rd.n, t.rd.flags, t.rd.err = recvmsg(int(fd), t.rd.b)
				switch t.rd.err {
				case unix.EINTR:
					continue
				case unix.EAGAIN:
					// A blocking read expects a datagram soon (the reply to
					// a request, the next of a stream): wait a moment in
					// the kernel before parking in the runtime poller.
					if t.rd.linger {
						t.rd.linger = false
						if pollfd.Linger(fd, lingerFor) {
							continue
						}
					}
					return false
				}
				return true
			}
		}
	}
	t.rd.linger = block
	if block {
		if err := t.fd.Read(ctx, t.rd.fn); err != nil {
			return 0, err
		}
	} else {
		done, err := t.fd.TryRead(t.rd.fn)
		if err != nil {
			return 0, err
		}
		if !done {
			return 0, transport.ErrWouldBlock
		}
	}
	n, flags, rerr := t.rd.n, t.rd.flags, t.rd.err
	t.rd.b = nil
	switch {
	case rerr == unix.ECONNRESET:
		return 0, ErrDaemonGone
	case rerr != nil:
		return 0, os.NewSyscallError("recvmsg", rerr)
	case n == 0 && flags&unix.MSG_TRUNC == 0:
		return 0, ErrDaemonGone
	case flags&unix.MSG_TRUNC != 0:
		return 0, fmt.Errorf("nlbus: the daemon sent a datagram over its own maximum of %d bytes", len(b))
	}
	return n, nil
}

// PortID returns the connection's port.
func (t *Transport) PortID() uint32 { return t.port.Load() }

// MaxDatagram returns the largest datagram the daemon accepts, envelope
// included: a Send may carry at most MaxDatagram()-EnvelopeLen bytes.
func (t *Transport) MaxDatagram() int { return t.maxDG }

// Send sends b (whole netlink messages) to dst as one frame.
func (t *Transport) Send(ctx context.Context, b []byte, dst transport.Addr) error {
	return t.send(ctx, b, dst, 0)
}

func (t *Transport) send(ctx context.Context, b []byte, dst transport.Addr, flags uint8) error {
	size := EnvelopeLen + len(b)
	if size > t.maxDG {
		return fmt.Errorf("nlbus: %d bytes of messages exceed the bus maximum of %d: %w", len(b), t.maxDG-EnvelopeLen, unix.EMSGSIZE)
	}
	t.wmu.Lock()
	defer t.wmu.Unlock()
	if cap(t.wbuf) < size {
		t.wbuf = make([]byte, size, max(size, 4096))
	}
	w := t.wbuf[:size]
	PutEnvelope(w, Envelope{Flags: flags, Length: uint32(size), Dst: dst.Port, Group: dst.Group})
	copy(w[EnvelopeLen:], b)
	t.wr.b, t.wr.err = w, nil
	if t.wr.fn == nil {
		t.wr.fn = func(fd uintptr) bool {
			for {
				t.wr.err = sendmsg(int(fd), t.wr.b)
				if t.wr.err == unix.EINTR {
					continue
				}
				return t.wr.err != unix.EAGAIN
			}
		}
	}
	t.sent.Store(true)
	err := t.fd.Write(ctx, t.wr.fn)
	werr := t.wr.err
	if err != nil {
		return err
	}
	switch {
	case werr == unix.EPIPE || werr == unix.ECONNRESET || werr == unix.ENOTCONN:
		return ErrDaemonGone
	case werr != nil:
		return os.NewSyscallError("sendmsg", werr)
	}
	return nil
}

// Recv returns the next frame's messages with their source and the sender's
// credentials. An overrun notice from the daemon returns an error wrapping
// transport.ErrOverrun that says how many datagrams were lost. A monitor
// copy is reported as multicast on GroupMonitor.
func (t *Transport) Recv(ctx context.Context, b []byte) (transport.Info, error) {
	return t.recv(ctx, b, true)
}

// TryRecv is Recv that returns transport.ErrWouldBlock when nothing is
// queued.
func (t *Transport) TryRecv(b []byte) (transport.Info, error) {
	return t.recv(context.Background(), b, false)
}

// OverrunError is the error of a Recv that met the daemon's overrun notice.
type OverrunError struct {
	// Lost is the number of frames dropped since the previous notice, Total
	// the number dropped for this port since it connected.
	Lost  uint32
	Total uint64
}

// Error says how many messages were lost.
func (e *OverrunError) Error() string {
	return fmt.Sprintf("nlbus: %d messages dropped by the daemon (%d in total): %v", e.Lost, e.Total, transport.ErrOverrun)
}

// Unwrap returns transport.ErrOverrun.
func (e *OverrunError) Unwrap() error { return transport.ErrOverrun }

func (t *Transport) recv(ctx context.Context, b []byte, block bool) (transport.Info, error) {
	t.rmu.Lock()
	defer t.rmu.Unlock()
	for {
		e, payload, err := t.nextFrame(ctx, block)
		if err != nil {
			return transport.Info{}, err
		}
		switch {
		case e.Flags&FlagTransport != 0:
			t.deliverControl(payload)
			continue
		case e.Flags&FlagOverrun != 0:
			return transport.Info{}, overrunOf(payload)
		}
		info := transport.Info{N: copy(b, payload), Src: transport.Addr{Port: e.Src, Group: e.Group}}
		if e.Flags&FlagMonitor != 0 {
			info.Src.Group = GroupMonitor
		}
		if len(payload) > len(b) {
			info.Truncated, info.Size = true, len(payload)
		}
		if e.Flags&FlagCreds != 0 {
			info.Creds = transport.Credentials{PID: e.PID, UID: e.UID, GID: e.GID}
			info.HasCreds = true
		}
		return info, nil
	}
}

func overrunOf(payload []byte) *OverrunError {
	oe := &OverrunError{}
	if len(payload) >= overrunLen {
		oe.Lost = ne.Uint32(payload[16:])
		oe.Total = ne.Uint64(payload[24:])
	}
	return oe
}

// RecvFrame returns the next frame whole: its envelope (with the original
// destination of a monitor copy) and its messages, borrowed until the next
// call; an overrun notice is an *OverrunError. It is for tools such as a monitor that need the envelope; it must
// not be mixed with a Conn's use of the same Transport.
func (t *Transport) RecvFrame(ctx context.Context) (Envelope, []byte, error) {
	t.rmu.Lock()
	defer t.rmu.Unlock()
	for {
		e, payload, err := t.nextFrame(ctx, true)
		if err != nil {
			return e, nil, err
		}
		switch {
		case e.Flags&FlagTransport != 0:
			t.deliverControl(payload)
			continue
		case e.Flags&FlagOverrun != 0:
			return e, nil, overrunOf(payload)
		}
		return e, payload, nil
	}
}

// nextFrame returns the next frame, reading a datagram if none is pending.
// Called with rmu held.
func (t *Transport) nextFrame(ctx context.Context, block bool) (Envelope, []byte, error) {
	if len(t.pend) == 0 {
		if len(t.backlog) > 0 {
			t.pend = t.backlog[0]
			t.backlog[0] = nil
			t.backlog = t.backlog[1:]
		} else {
			n, err := t.read(ctx, t.rbuf, block)
			if err != nil {
				return Envelope{}, nil, err
			}
			t.pend = t.rbuf[:n]
		}
	}
	e, err := ParseEnvelope(t.pend)
	if err != nil {
		t.pend = nil
		return e, nil, fmt.Errorf("nlbus: malformed frame from the daemon: %w", err)
	}
	payload := t.pend[EnvelopeLen:e.Length]
	t.pend = t.pend[e.Length:]
	return e, payload, nil
}

func (t *Transport) deliverControl(payload []byte) {
	cp := append([]byte(nil), payload...)
	select {
	case <-t.ctlReply: // a stale reply nobody waits for
	default:
	}
	t.ctlReply <- cp
}

// JoinGroup joins multicast group g; the daemon's answer (EPERM for the
// monitor group without privilege, for instance) is returned.
func (t *Transport) JoinGroup(g uint32) error {
	return t.control(context.Background(), "join-group", CmdJoin, func(ae *netlink.AttributeEncoder) { ae.Uint32(AttrGroup, g) })
}

// LeaveGroup leaves multicast group g.
func (t *Transport) LeaveGroup(g uint32) error {
	return t.control(context.Background(), "leave-group", CmdLeave, func(ae *netlink.AttributeEncoder) { ae.Uint32(AttrGroup, g) })
}

// lingerFor is how long a blocking read waits in the kernel (poll(2)) for
// its datagram before it parks in the runtime poller: a reply through the
// daemon usually comes within it, and a thread woken from poll(2) costs
// less than a goroutine woken by the poller (pollfd.Linger).
const lingerFor = time.Millisecond

// controlTimeout bounds a control call.
const controlTimeout = 10 * time.Second

// control sends a bus-control request marked as the transport's own and
// waits for its acknowledgement. Whoever is reading hands the reply over;
// when nobody is, control reads itself and keeps other frames for Recv.
func (t *Transport) control(ctx context.Context, op string, cmd uint8, enc func(ae *netlink.AttributeEncoder)) error {
	t.ctlMu.Lock()
	defer t.ctlMu.Unlock()
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, controlTimeout)
		defer cancel()
	}
	t.ctlSeq++
	seq := t.ctlSeq
	msg, err := ControlMessage(cmd, netlink.Acknowledge, enc)
	if err != nil {
		return &netlink.OpError{Op: op, Err: err}
	}
	msg.Header.Sequence = seq
	msg.Header.PID = t.port.Load()
	b, err := netlink.AppendMessage(nil, msg)
	if err != nil {
		return &netlink.OpError{Op: op, Err: err}
	}
	if err := t.send(ctx, b, transport.Addr{}, FlagTransport); err != nil {
		return &netlink.OpError{Op: op, Err: err}
	}
	for {
		select {
		case r := <-t.ctlReply:
			if done, err := ackOf(op, r, seq); done {
				return err
			}
			continue
		default:
		}
		if t.rmu.TryLock() {
			err := t.readControl(ctx)
			t.rmu.Unlock()
			if err != nil {
				return &netlink.OpError{Op: op, Err: err}
			}
			continue
		}
		// Someone else is reading: it will hand the reply over, unless it
		// stops reading first, so look again soon.
		select {
		case r := <-t.ctlReply:
			if done, err := ackOf(op, r, seq); done {
				return err
			}
		case <-time.After(2 * time.Millisecond):
		case <-ctx.Done():
			return &netlink.OpError{Op: op, Err: ctx.Err()}
		}
	}
}

// readControl reads one datagram for a control call (rmu held): control
// replies go to ctlReply, other frames to the backlog, in order, after the
// frames still pending.
func (t *Transport) readControl(ctx context.Context) error {
	buf := make([]byte, t.maxDG)
	n, err := t.read(ctx, buf, true)
	if err != nil {
		return err
	}
	return SplitFrames(buf[:n], func(e Envelope, payload []byte) bool {
		if e.Flags&FlagTransport != 0 {
			t.deliverControl(payload)
		} else {
			t.backlog = append(t.backlog, frameCopy(e, payload))
		}
		return true
	})
}

func frameCopy(e Envelope, payload []byte) []byte {
	b := make([]byte, EnvelopeLen+len(payload))
	e.Length = uint32(len(b))
	PutEnvelope(b, e)
	copy(b[EnvelopeLen:], payload)
	return b
}

// ackOf parses a control reply; done is false for a reply to another call.
func ackOf(op string, payload []byte, seq uint32) (done bool, err error) {
	msgs, perr := netlink.ParseMessages(payload)
	if perr != nil {
		return true, &netlink.OpError{Op: op, Err: perr}
	}
	for _, m := range msgs {
		if m.Header.Sequence != seq || m.Header.Type != netlink.Error {
			continue
		}
		errno, ext, perr := netlink.ParseError(m)
		if perr != nil {
			return true, &netlink.OpError{Op: op, Err: perr, Sequence: seq}
		}
		if errno != 0 {
			return true, &netlink.OpError{Op: op, Err: errno, ExtAck: ext, Sequence: seq}
		}
		return true, nil
	}
	return false, nil
}

// SetReadDeadline bounds Recv; the zero time clears it.
func (t *Transport) SetReadDeadline(d time.Time) error { return t.fd.SetReadDeadline(d) }

// SetWriteDeadline bounds Send.
func (t *Transport) SetWriteDeadline(d time.Time) error { return t.fd.SetWriteDeadline(d) }

// setReadBuffer sets the socket's SO_RCVBUF (tests use it to make a
// client fall behind sooner).
func (t *Transport) setReadBuffer(bytes int) error {
	return t.sockopt(unix.SO_RCVBUF, bytes)
}

func (t *Transport) sockopt(opt, v int) error {
	var serr error
	if err := t.fd.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, opt, v) }); err != nil {
		return err
	}
	if serr != nil {
		return os.NewSyscallError("setsockopt", serr)
	}
	return nil
}

// Close closes the connection; the daemon releases its port and groups.
func (t *Transport) Close() error { return t.fd.Close() }
