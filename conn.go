package netlink

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"

	"github.com/nlbus/netlink/internal/seam"
	"github.com/nlbus/netlink/transport"
)

// Conn is a netlink connection: a socket to the kernel (Dial) or to anything
// else that implements transport.Transport (NewConn), such as the bus.
//
// All methods are safe for concurrent use. Many goroutines may call Execute,
// Do and Dump at once: replies are matched to requests by sequence number and
// by the port the request was sent to, whichever goroutine happens to read
// them. Messages that match no request (multicast notifications, replies to
// Send) are held, up to Config.QueueLimit bytes, for Receive.
//
// Use one Conn for requests and another for multicast subscriptions: a flood
// of notifications can overrun the socket and cost a request its reply (the
// request then fails with ErrOverrun), and FreeBSD notifications may carry
// the sequence number of the request that caused them.
type Conn struct {
	t   transport.Transport
	log hclog.Logger
	cfg Config

	seq atomic.Uint32

	sendMu sync.Mutex
	sbuf   []byte

	// tok is the read token: the goroutine that puts a value in it is the
	// only one calling t.Recv until it takes the value out.
	tok chan struct{}

	mu       sync.Mutex // guards everything below
	calls    map[uint32]*call
	unsol    call // the pseudo-call of Receive
	unsolLen int  // bytes queued in unsol
	recent   [64]recentCall
	recentN  int
	freeBufs []*rbuf
	freeCall []*call
	bufSize  int
	// congested is set from an overrun until the drain after it ends.
	congested bool
	closeErr  error
	closed    bool
}

// call is one request in flight (or, for unsol, Receive's queue).
type call struct {
	seq  uint32
	port uint32
	sig  chan struct{}
	q    []Message // copies of messages another reader received for it
	err  error     // set when the connection failed under it
	// suspect marks a call registered while the socket was congested: its
	// request may have been dropped.
	suspect bool
}

// recentCall is a finished request: its sequence number and the port it
// was sent to, whose late messages are dropped.
type recentCall struct{ seq, port uint32 }

// rbuf is one receive buffer and the messages of its last read that belong
// to the goroutine that read it.
type rbuf struct {
	b    []byte
	own  []Message
	info transport.Info
}

// queued messages whose Header.Length is 0 mark an overrun in Receive's queue:
// a parsed message always has a length of at least HeaderLen.
var overrunMark = Message{}

// NewConn returns a Conn over t, applying cfg's groups and options. The Conn
// owns t and closes it on Close (and when NewConn fails).
//
// Settings that only a kernel socket opened by Dial can apply (NetNS, PID)
// are an error here, and so are settings t has no optional interface for
// (Strict needs a transport.OptionSetter, socket buffer sizes a
// transport.BufferSizer): the error wraps ErrNotSupported. Nothing in cfg
// is silently ignored.
func NewConn(t transport.Transport, cfg *Config) (*Conn, error) {
	conf := cfg.orDefault()
	var err error
	switch {
	case conf.NetNS != 0:
		err = fmt.Errorf("Config.NetNS applies to kernel sockets opened by Dial: %w", ErrNotSupported)
	case conf.PID != 0:
		err = fmt.Errorf("Config.PID applies to kernel sockets opened by Dial: %w", ErrNotSupported)
	}
	if err != nil {
		t.Close()
		return nil, &OpError{Op: "dial", Err: err}
	}
	c := newConn(t, conf)
	if err := c.setup(); err != nil {
		t.Close()
		return nil, err
	}
	return c, nil
}

func newConn(t transport.Transport, cfg Config) *Conn {
	c := &Conn{
		t:       t,
		cfg:     cfg,
		log:     cfg.Logger,
		tok:     make(chan struct{}, 1),
		calls:   make(map[uint32]*call),
		bufSize: cfg.MessageBufferSize,
	}
	c.unsol.sig = make(chan struct{}, 1)
	return c
}

// PortID returns the Conn's port ID.
func (c *Conn) PortID() uint32 { return c.t.PortID() }

// Close closes the Conn, unblocking every call in progress with ErrClosed.
func (c *Conn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	err := c.t.Close()
	c.failAll(ErrClosed)
	if err != nil {
		return &OpError{Op: "close", Err: err}
	}
	return nil
}

// JoinGroup joins multicast group g, by number (any number the transport
// supports, above 32 included).
func (c *Conn) JoinGroup(g uint32) error {
	if err := c.t.JoinGroup(g); err != nil {
		return &OpError{Op: "join-group", Err: err}
	}
	return nil
}

// LeaveGroup leaves multicast group g.
func (c *Conn) LeaveGroup(g uint32) error {
	if err := c.t.LeaveGroup(g); err != nil {
		return &OpError{Op: "leave-group", Err: err}
	}
	return nil
}

func (c *Conn) nextSeq() uint32 {
	for {
		if s := c.seq.Add(1); s != 0 {
			return s
		}
	}
}

// Send sends m to m.Addr (the zero Addr is the kernel) and returns its header
// as sent, with the sequence number assigned when m had none. Replies go to
// Receive. Send adds no flags: a request to the kernel needs Request (the
// kernel ignores messages without it), which Execute, Do and Dump add.
func (c *Conn) Send(ctx context.Context, m Message) (Header, error) {
	if m.Header.Sequence == 0 {
		m.Header.Sequence = c.nextSeq()
	}
	if err := c.send(ctx, "send", m); err != nil {
		return Header{}, err
	}
	m.Header.Length = uint32(HeaderLen + len(m.Data))
	return m.Header, nil
}

func (c *Conn) send(ctx context.Context, op string, m Message) error {
	c.sendMu.Lock()
	b, err := AppendMessage(c.sbuf[:0], m)
	if err == nil {
		c.sbuf = b
		err = c.t.Send(ctx, b, m.Addr)
	}
	c.sendMu.Unlock()
	if err != nil {
		if c.isClosed() {
			err = ErrClosed
		}
		return &OpError{Op: op, Err: err, Sequence: m.Header.Sequence}
	}
	return nil
}

func (c *Conn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// Receive returns the next messages that no request claimed: multicast
// notifications, and replies to Send. The messages are copies the caller
// owns. After an overrun, it returns an error wrapping ErrOverrun once, in
// the place of the lost messages; the Conn stays usable.
func (c *Conn) Receive(ctx context.Context) ([]Message, error) {
	var out []Message
	err := c.run(ctx, &c.unsol, true, func(m *Message) (bool, error) {
		if m.Header.Length == 0 { // overrun mark
			if len(out) > 0 {
				return true, errRequeue // report it on the next call, in order
			}
			return true, &OpError{Op: "receive", Err: ErrOverrun}
		}
		out = append(out, copyMessage(m))
		return false, nil
	})
	return out, err
}

// errRequeue, returned by a handler of Receive's queue, puts the message back
// at the head of the queue and ends the call without an error.
var errRequeue = errors.New("requeue")

// Execute sends the request req and returns its replies, copied. For a
// request without the Dump flags it asks for an acknowledgement and consumes
// it, so that no stale ACK ever surfaces later; a dump's replies are all
// returned once NLMSG_DONE arrives. An error reply becomes an *OpError. When
// the kernel flags a dump as interrupted, Execute returns the partial result
// together with an error wrapping ErrDumpInterrupted (see Retry).
//
// The request is sent to req.Addr (the kernel, the bus controller, or a bus
// peer) and only replies from that port are taken as its replies.
func (c *Conn) Execute(ctx context.Context, req Message) ([]Message, error) {
	var out []Message
	_, err := c.Do(ctx, req, func(m Message) error {
		out = append(out, copyMessage(&m))
		return nil
	})
	return out, err
}

// Do sends the request req and calls fn for each reply. The message passed
// to fn is borrowed: its Data is valid only until fn returns. Do returns the
// final acknowledgement, with any extended-ack warning or cookie. An error
// from fn stops the calls to fn; Do still consumes the rest of the replies
// and then returns that error.
func (c *Conn) Do(ctx context.Context, req Message, fn func(Message) error) (Ack, error) {
	return c.request(ctx, req, req.Header.Flags&Dump == Dump, fn)
}

// Dump sends req as a dump request (adding NLM_F_REQUEST|NLM_F_DUMP) and
// returns an iterator over the replies that streams them in constant
// memory: each message is borrowed and valid until the next iteration. An
// error ends the iteration as the last pair; an interrupted dump yields the
// whole (partial) result and then an error wrapping ErrDumpInterrupted.
// Breaking out of the loop early drains the rest of the dump before the
// iterator returns, so the next request on the Conn is not refused as busy.
func (c *Conn) Dump(ctx context.Context, req Message) iter.Seq2[Message, error] {
	return func(yield func(Message, error) bool) {
		req.Header.Flags |= Dump
		stopped := false
		_, err := c.request(ctx, req, true, func(m Message) error {
			if !yield(m, nil) {
				stopped = true
				return errStopIteration
			}
			return nil
		})
		if err != nil && !stopped {
			yield(Message{}, err)
		}
	}
}

var errStopIteration = errors.New("iteration stopped")

func (c *Conn) request(ctx context.Context, req Message, dump bool, fn func(Message) error) (Ack, error) {
	op := "execute"
	req.Header.Flags |= Request
	if dump {
		op = "dump"
		// Never ask for an ACK on a dump: FreeBSD 13.2 would send a trailing
		// one after NLMSG_DONE.
		req.Header.Flags &^= Acknowledge
	} else {
		req.Header.Flags |= Acknowledge
	}
	if req.Header.Sequence == 0 {
		req.Header.Sequence = c.nextSeq()
	}
	seq := req.Header.Sequence
	cl, err := c.register(seq, req.Addr.Port)
	if err != nil {
		return Ack{}, &OpError{Op: op, Err: err, Sequence: seq}
	}
	defer c.unregister(cl)
	if err := c.send(ctx, op, req); err != nil {
		return Ack{}, err
	}

	var (
		ack         Ack
		fnErr       error
		interrupted bool
	)
	err = c.run(ctx, cl, false, func(m *Message) (bool, error) {
		if m.Header.Flags&DumpInterrupted != 0 {
			interrupted = true
		}
		switch m.Header.Type {
		case Error, Done:
			code, ext, perr := ParseError(*m)
			if perr != nil {
				return true, &OpError{Op: op, Err: perr, Sequence: seq}
			}
			if code != 0 {
				return true, &OpError{Op: op, Err: code, ExtAck: ext, Sequence: seq}
			}
			ack = Ack{ExtAck: ext, Received: true}
			if ack.Message != "" && c.log.IsWarn() {
				c.log.Warn("request succeeded with a warning", "seq", seq, "warning", ack.Message)
			}
			return true, nil
		case Noop, Overrun:
			return false, nil
		}
		if fnErr == nil {
			fnErr = fn(*m)
		}
		return false, nil
	})
	switch {
	case err != nil:
		var oe *OpError
		if !errors.As(err, &oe) {
			err = &OpError{Op: op, Err: err, Sequence: seq}
		}
		return ack, err
	case fnErr != nil:
		return ack, fnErr
	case interrupted:
		return ack, &OpError{Op: op, Err: ErrDumpInterrupted, Sequence: seq}
	}
	return ack, nil
}

func copyMessage(m *Message) Message {
	out := Message{Header: m.Header, Addr: m.Addr}
	if m.Data != nil {
		out.Data = append(make([]byte, 0, len(m.Data)), m.Data...)
	}
	if m.Creds != nil {
		cr := *m.Creds
		out.Creds = &cr
	}
	return out
}

func (c *Conn) register(seq, port uint32) (*call, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	if _, dup := c.calls[seq]; dup {
		return nil, fmt.Errorf("sequence number %d already in flight", seq)
	}
	var cl *call
	if n := len(c.freeCall); n > 0 {
		cl = c.freeCall[n-1]
		c.freeCall = c.freeCall[:n-1]
	} else {
		cl = &call{sig: make(chan struct{}, 1)}
	}
	cl.seq, cl.port, cl.suspect = seq, port, c.congested
	c.calls[seq] = cl
	return cl, nil
}

func (c *Conn) unregister(cl *call) {
	c.mu.Lock()
	delete(c.calls, cl.seq)
	c.recent[c.recentN%len(c.recent)] = recentCall{cl.seq, cl.port}
	c.recentN++
	cl.q, cl.err = nil, nil
	select {
	case <-cl.sig:
	default:
	}
	if len(c.freeCall) < 64 {
		c.freeCall = append(c.freeCall, cl)
	}
	c.mu.Unlock()
}

// isRecent reports whether seq and port belong to a request that has
// finished; its late messages (a stale ACK, the tail of an abandoned dump)
// are dropped. Another port's message with the same number is not one.
func (c *Conn) isRecent(seq, port uint32) bool {
	for _, r := range c.recent {
		if r.seq == seq && r.port == port && r.seq != 0 {
			return true
		}
	}
	return false
}

func signal(cl *call) {
	select {
	case cl.sig <- struct{}{}:
	default:
	}
}

// failAll ends every call in flight, and Receive, with err.
func (c *Conn) failAll(err error) {
	c.mu.Lock()
	c.failLocked(err, true)
	c.mu.Unlock()
}

func (c *Conn) failLocked(err error, unsol bool) {
	for _, cl := range c.calls {
		if cl.err == nil {
			cl.err = err
		}
		signal(cl)
	}
	if unsol {
		if c.unsol.err == nil {
			c.unsol.err = err
		}
		signal(&c.unsol)
	}
}

func init() {
	seam.TransportOf = func(c any) transport.Transport { return c.(*Conn).t }
}
