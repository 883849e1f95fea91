package netlink

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
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
// Do, Query, Dump and Batch at once: replies are matched to requests by
// sequence number and by the port the request was sent to, whichever
// goroutine happens to read them. Linux runs one dump per socket at a time,
// so on a kernel Conn concurrent dumps queue behind the running one (a
// waiting goroutine drains an abandoned one's remains); other requests are
// never held up by a dump. Messages that match no request (multicast notifications,
// replies to Send, requests from bus peers) are held, up to
// Config.QueueLimit bytes, for Receive.
//
// A request that ends early (a cancelled context, a deadline, a break out
// of a Dump loop, a panic in a callback) is abandoned: what still arrives
// for it, up to its final ACK or DONE, is discarded as the Conn reads on and
// counted in Stats().Discarded, and the next dump on the Conn is not refused
// as busy. See doc.go ("Which call to use") for when to use which call.
//
// Use one Conn for requests and another for multicast subscriptions: a flood
// of notifications can overrun the socket and cost a request its reply (the
// request then fails with ErrOverrun).
type Conn struct {
	t   transport.Transport
	log hclog.Logger
	cfg Config

	seq atomic.Uint32

	// sbufs pools send buffers (*[]byte): sends run in parallel.
	sbufs cache1[[]byte]
	sends atomic.Uint64
	reads atomic.Uint64

	// The read token: the goroutine that set reading is the only one
	// calling t.Recv until it clears it (releaseTok). Taking a free token
	// is one compare-and-swap; goroutines that wait for it count
	// themselves in tokWaiters and are woken through tokFree.
	reading    atomic.Bool
	tokWaiters atomic.Int32
	tokFree    chan struct{}

	// port is the transport's port ID; kernel holds what Dial knows of the
	// kernel socket (zero for NewConn).
	port   uint32
	kernel kernelFacts
	aux    *auxPool // extra request sockets (Config.RequestSockets), or nil

	mu       sync.Mutex // guards everything below
	calls    callTable
	unsol    call // the pseudo-call of Receive
	unsolLen int  // bytes queued in unsol
	recent   [64]recentCall
	recentN  int
	// abandoned lists, oldest first, the calls that ended early and whose
	// final message has not arrived yet; they stay in calls meanwhile.
	abandoned []*call
	// dumpHolder is the dump running on a kernel socket that runs one at a
	// time; dumpFree is closed when it ends. dumpGen counts the dumps that
	// took the slot: calls are reused, so a pointer seen earlier may hold
	// the slot again for another dump.
	dumpHolder *call
	dumpFree   chan struct{}
	dumpGen    uint64
	freeBufs   []*rbuf
	freeCall   []*call
	bufSize    int
	stats      Stats
	// congested is set from an overrun until the drain after it ends.
	congested bool
	closed    bool
	// markCauses holds the transport's error behind an overrun mark in
	// Receive's queue (the kernel's ENOBUFS, a bus daemon's drop count),
	// keyed by the mark's Header.Sequence; markSeq numbers them. They come
	// last, out of the way of the fields every request uses.
	markCauses map[uint32]error
	markSeq    uint32
}

// kernelFacts are the properties of a kernel socket that change how
// replies are matched (set by Dial from the per-OS transport file).
type kernelFacts struct {
	// protocol is the netlink protocol, for the quirks table (quirks.go).
	protocol int
	// oneDump: the kernel runs one dump per socket and refuses a second
	// with EBUSY (Linux).
	oneDump bool
	// stampsPID: every reply carries the requester's port in nlmsg_pid,
	// and notifications may reuse another socket's request header
	// (FreeBSD), so a reply must carry our port.
	stampsPID bool
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
	end     ending
	// abandoned: the caller left before the final message; holdsDump: the
	// call holds the Conn's dump slot.
	abandoned bool
	holdsDump bool
	// spare is the receive buffer of the call's last read, given back
	// when the call is retired (run).
	spare *rbuf
	// stopped: a dump's yield, called by deliverDatagram (run's yield),
	// returned false, which ends the dump.
	stopped bool
}

// ending is what a request waits for before it is complete.
type ending struct {
	dump      bool // NLMSG_DONE (or an error) ends it
	echo      bool // it asked for NLM_F_ECHO: its echo is a reply
	awaitAck  bool // a do-request whose ACK has not arrived
	noAck     bool // Query: the first reply (or an error) ends it
	afterAck  int8 // replies that may follow the ACK (quirks.go)
	completed bool
}

// Replies that follow a do-request's ACK (ending.afterAck).
const (
	afterAckNone  = 0
	afterAckOne   = 1 // one reply message
	afterAckMulti = 2 // a multipart reply ended by NLMSG_DONE
)

// observe records m and reports whether it completes the request. It is
// called by the goroutine that owns the call, or under Conn.mu once the
// call is abandoned.
func (e *ending) observe(m *Message) bool {
	switch m.Header.Type {
	case Error:
		if e.dump || e.noAck || errorCode(m) != 0 {
			e.completed = true
		} else {
			e.awaitAck = false
			e.completed = e.afterAck == afterAckNone
		}
	case Done:
		switch {
		case e.dump:
			e.completed = true
		case e.afterAck == afterAckMulti:
			e.afterAck = afterAckNone
			e.completed = !e.awaitAck
		}
	case Noop, Overrun:
	default:
		switch {
		case e.noAck:
			e.completed = true
		case e.afterAck == afterAckOne:
			e.afterAck = afterAckNone
			e.completed = !e.awaitAck
		}
	}
	return e.completed
}

// errorCode returns the errno field of an NLMSG_ERROR, or -1 when it is
// too short to hold one.
func errorCode(m *Message) int32 {
	if len(m.Data) < 4 {
		return -1
	}
	return int32(ne.Uint32(m.Data))
}

// recentCall is a finished request: its sequence number and the port it
// was sent to. Its late ACKs and DONEs are absorbed; other late messages go
// to Receive.
type recentCall struct{ seq, port uint32 }

// maxAbandoned bounds the abandoned calls kept waiting for their final
// message; past it the oldest is retired (its late messages then count as
// late, not discarded).
const maxAbandoned = 64

// rbuf is one receive buffer and the messages of its last read that belong
// to the goroutine that read it.
type rbuf struct {
	b    []byte
	own  []Message
	info transport.Info
	// msgs are the messages deliverDatagram hands out, filled a batch
	// ahead of the callback (see there).
	msgs [deliverAhead]Message
}

// deliverAhead is how many messages deliverDatagram fills before handing
// the first of them out.
const deliverAhead = 16

// queued messages whose Header.Length is 0 mark an overrun in Receive's queue:
// a parsed message always has a length of at least HeaderLen.
var overrunMark = Message{}

// A queued message of length 0 with this type marks a datagram that did not
// parse; its Data holds the description Receive reports.
const markMalformed HeaderType = 1

// NewConn returns a Conn over t, applying cfg's groups and options. The Conn
// owns t and closes it on Close (and when NewConn fails).
//
// Settings that only a kernel socket opened by Dial can apply (NetNS, PID,
// RequestSockets)
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
	case conf.RequestSockets != 0:
		err = fmt.Errorf("Config.RequestSockets applies to kernel sockets opened by Dial: %w", ErrNotSupported)
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
		t:        t,
		cfg:      cfg,
		log:      cfg.Logger,
		tokFree:  make(chan struct{}, 1),
		bufSize:  cfg.MessageBufferSize,
		port:     t.PortID(),
		dumpFree: make(chan struct{}),
	}
	c.unsol.sig = make(chan struct{}, 1)
	// Start sequence numbers at a random value: a reply from an earlier
	// socket, or (FreeBSD) a notification reusing another process's
	// request header, is then unlikely to carry a number in flight.
	c.seq.Store(rand.Uint32())
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
	// Dumps waiting for the dump slot wake and see the Conn closed.
	close(c.dumpFree)
	c.dumpFree = make(chan struct{})
	c.mu.Unlock()
	if c.aux != nil {
		c.aux.close()
	}
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
	if c.isClosed() {
		return &OpError{Op: "join-group", Err: ErrClosed}
	}
	if err := c.t.JoinGroup(g); err != nil {
		return c.transportErr("join-group", err)
	}
	return nil
}

// LeaveGroup leaves multicast group g.
func (c *Conn) LeaveGroup(g uint32) error {
	if c.isClosed() {
		return &OpError{Op: "leave-group", Err: ErrClosed}
	}
	if err := c.t.LeaveGroup(g); err != nil {
		return c.transportErr("leave-group", err)
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
//
// A send to a peer whose receive queue is full (NETLINK_USERSOCK, or a bus
// peer) is retried, with a growing pause, while ctx and the write deadline
// allow, and for at most a second when neither sets a limit; then it fails
// with an error wrapping ErrPeerFull (and EAGAIN). A multicast send on
// Linux reports success once the message went to the group's members (see
// quirks.go).
func (c *Conn) Send(ctx context.Context, m Message) (Header, error) {
	if m.Header.Sequence == 0 {
		m.Header.Sequence = c.nextSeq()
	}
	if err := c.send(ctx, "send", &m); err != nil {
		return Header{}, err
	}
	m.Header.Length = uint32(HeaderLen + len(m.Data))
	return m.Header, nil
}

func (c *Conn) send(ctx context.Context, op string, m *Message) error {
	bp := c.sbufs.get()
	if bp == nil {
		bp = new([]byte)
	}
	b, err := appendMessage((*bp)[:0], m)
	if err == nil {
		err = c.t.Send(ctx, b, m.Addr)
		c.sends.Add(1)
	}
	if cap(b) <= 1<<20 {
		*bp = b
		c.sbufs.put(bp)
	}
	if err != nil {
		if c.isClosed() {
			err = ErrClosed
		}
		return &OpError{Op: op, Err: err, Sequence: m.Header.Sequence}
	}
	return nil
}

// transportErr wraps an error of the transport in an OpError; on a
// closed Conn the error is ErrClosed, as for every other call, whatever the
// transport said.
func (c *Conn) transportErr(op string, err error) error {
	if c.isClosed() {
		err = ErrClosed
	}
	return wrapOp(op, err)
}

func (c *Conn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// Receive returns the next messages that no request claimed: multicast
// notifications, replies to Send, requests from bus peers, and late replies
// (a message that arrived for a request after the request ended, such as a
// reply that follows its ACK on a protocol the quirks table does not know).
// The messages are copies the caller owns.
//
// Losses are reported in their place in the stream, once each, as an
// *OpError: an overrun wraps ErrOverrun, a datagram that did not parse
// wraps ErrMalformed. The Conn stays usable after either; Stats counts them.
// See also ReceiveBorrowed, which does not copy.
func (c *Conn) Receive(ctx context.Context) ([]Message, error) {
	var out []Message
	err := c.receive(ctx, func(m *Message) {
		out = append(out, copyMessage(m))
	})
	return out, err
}

// ReceiveBorrowed is Receive without copies, for service loops: it calls fn
// for each message of the next batch. The message is borrowed: its Data is
// valid only until fn returns. fn must not call ReceiveBorrowed or Receive.
// A batch read by this goroutine costs no allocation per message.
func (c *Conn) ReceiveBorrowed(ctx context.Context, fn func(Message)) error {
	return c.receive(ctx, func(m *Message) { fn(*m) })
}

func (c *Conn) receive(ctx context.Context, fn func(m *Message)) error {
	n := 0
	err := c.run(ctx, &c.unsol, true, nil, func(m *Message) (bool, error) {
		if m.Header.Length == 0 { // a mark
			if n > 0 {
				return true, errRequeue // report it on the next call, in order
			}
			if m.Header.Type == markMalformed {
				return true, &OpError{Op: "receive", Err: fmt.Errorf("%w: %s", ErrMalformed, m.Data)}
			}
			if cause := c.takeMarkCause(m); cause != nil {
				return true, &OpError{Op: "receive", Err: cause}
			}
			return true, &OpError{Op: "receive", Err: ErrOverrun}
		}
		n++
		fn(m)
		return false, nil
	})
	if err != nil {
		var oe *OpError
		if !errors.As(err, &oe) {
			err = &OpError{Op: "receive", Err: err}
		}
	}
	return err
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
// peer) and only replies from that port are taken as its replies. A request
// with NLM_F_ECHO gets its echo among the replies. Protocols whose kernel
// side answers after the ACK (audit) are waited for; see quirks.go.
func (c *Conn) Execute(ctx context.Context, req Message) ([]Message, error) {
	var out []Message
	_, err := c.request(ctx, req, ending{dump: req.Header.Flags&Dump == Dump}, nil, func(m *Message) error {
		out = append(out, copyMessage(m))
		return nil
	})
	return out, err
}

// Do sends the request req and calls fn for each reply. The message passed
// to fn is borrowed: its Data is valid only until fn returns. Do returns the
// final acknowledgement, with any extended-ack warning or cookie. An error
// from fn stops the calls to fn; for a do-request Do still reads up to the
// ACK and then returns that error; a dump is abandoned (see Conn).
func (c *Conn) Do(ctx context.Context, req Message, fn func(Message) error) (Ack, error) {
	return c.request(ctx, req, ending{dump: req.Header.Flags&Dump == Dump}, nil, func(m *Message) error { return fn(*m) })
}

// Query sends req without asking for an acknowledgement and calls fn with
// the first reply, which ends the request; an error reply is returned as an
// *OpError. It saves the kernel an ACK and the Conn a read, so it is the
// fastest request, and it is safe only for requests that always get exactly
// one reply message or an error: a GET of one object (RTM_GETLINK by index,
// CTRL_CMD_GETFAMILY). A request that gets no reply on success (NEW, SET,
// DEL) would wait until ctx ends, and one with several replies would leave
// the rest to Receive. The message is borrowed, as in Do.
func (c *Conn) Query(ctx context.Context, req Message, fn func(Message) error) error {
	req.Header.Flags &^= Acknowledge
	_, err := c.request(ctx, req, ending{noAck: true}, nil, func(m *Message) error { return fn(*m) })
	return err
}

// Dump sends req as a dump request (adding NLM_F_REQUEST|NLM_F_DUMP) and
// returns an iterator over the replies that streams them in constant
// memory: each message is borrowed and valid until the next iteration. An
// error ends the iteration as the last pair; an interrupted dump yields the
// whole (partial) result and then an error wrapping ErrDumpInterrupted.
// Leaving the loop early abandons the rest of the dump (see Conn): the next
// dump on the Conn still succeeds at its first try.
//
// The loop body may make do-requests on the Conn, but not another dump on
// the same kernel socket: Linux runs one dump per socket, so the inner dump
// would wait for the one it runs in, until its context ends or the Conn is
// closed. Use a second Conn for nested dumps (Config.RequestSockets helps
// only while one of its sockets is free).
func (c *Conn) Dump(ctx context.Context, req Message) iter.Seq2[Message, error] {
	return func(yield func(Message, error) bool) {
		req.Header.Flags |= Dump
		stopped := false
		// The data messages of datagrams read by this goroutine go to
		// yield itself (request's yield); the rest through fn.
		_, err := c.request(ctx, req, ending{dump: true}, yield, func(m *Message) error {
			if !yield(*m, nil) {
				stopped = true
				return errStopIteration
			}
			return nil
		})
		if err != nil && !stopped && err != errStopIteration {
			yield(Message{}, err)
		}
	}
}

var errStopIteration = errors.New("iteration stopped")

// request runs req, handing its replies to fn. A dump may also give its
// iterator's yield, which then takes the data messages of datagrams this
// goroutine reads, without fn (a false return ends the dump with
// errStopIteration).
func (c *Conn) request(ctx context.Context, req Message, end ending, yield func(Message, error) bool, fn func(*Message) error) (Ack, error) {
	if ack, ok, err := c.auxRequest(ctx, &req, end, yield, fn); ok {
		return ack, err
	}
	op := "execute"
	req.Header.Flags |= Request
	switch {
	case end.dump:
		op = "dump"
		// Never ask for an ACK on a dump: FreeBSD 13.2 would send a trailing
		// one after NLMSG_DONE.
		req.Header.Flags &^= Acknowledge
	case end.noAck:
		op = "query"
	default:
		req.Header.Flags |= Acknowledge
		end.awaitAck = true
		end.afterAck = c.kernel.repliesAfterAck(req)
	}
	end.echo = req.Header.Flags&Echo != 0
	if req.Header.Sequence == 0 {
		req.Header.Sequence = c.nextSeq()
	}
	seq := req.Header.Sequence
	cl, err := c.register(seq, req.Addr.Port, end)
	if err != nil {
		return Ack{}, &OpError{Op: op, Err: err, Sequence: seq}
	}
	sent, ended := false, false
	defer func() { c.finish(cl, sent && !ended) }()
	if end.dump && c.kernel.oneDump && req.Addr.Port == 0 {
		if err := c.acquireDump(ctx, cl); err != nil {
			return Ack{}, &OpError{Op: op, Err: err, Sequence: seq}
		}
	}
	if err := c.send(ctx, op, &req); err != nil {
		return Ack{}, err
	}
	sent = true

	var (
		ack         Ack
		fnErr       error
		interrupted bool
	)
	// Data messages of a request that a data message cannot complete (every
	// dump, most do-requests) skip the bookkeeping: a dump is hundreds of
	// them per read.
	dataEnds := end.noAck || end.afterAck != afterAckNone
	if !end.dump || dataEnds {
		yield = nil
	}
	err = c.run(ctx, cl, false, yield, func(m *Message) (bool, error) {
		if m.Header.Flags&DumpInterrupted != 0 {
			interrupted = true
		}
		if m.Header.Type >= MinType && !dataEnds {
			if fnErr == nil {
				if fnErr = fn(m); fnErr != nil && end.dump {
					return true, nil // abandon the rest of the dump
				}
			}
			return false, nil
		}
		final := cl.end.observe(m)
		ended = final
		switch m.Header.Type {
		case Error, Done:
			code, ext, perr := ParseError(*m)
			if perr != nil {
				ended = true
				return true, &OpError{Op: op, Err: perr, Sequence: seq}
			}
			if code != 0 {
				return true, &OpError{Op: op, Err: code, ExtAck: ext, Sequence: seq}
			}
			if m.Header.Type == Error || end.dump {
				ack = Ack{ExtAck: ext, Received: true}
				if ack.Message != "" && c.log.IsWarn() {
					c.log.Warn("request succeeded with a warning", "seq", seq, "warning", ack.Message)
				}
			}
			return final, nil
		case Noop, Overrun:
			return final, nil
		}
		if fnErr == nil {
			if fnErr = fn(m); fnErr != nil && end.dump {
				return true, nil // abandon the rest of the dump
			}
		}
		return final, nil
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
	case cl.stopped:
		return ack, errStopIteration
	case interrupted:
		return ack, &OpError{Op: op, Err: ErrDumpInterrupted, Sequence: seq}
	}
	return ack, nil
}

// acquireDump waits until no other dump runs on the Conn's kernel socket
// and makes cl the one that does. A running dump's owner reads it to its
// end; an abandoned one has no owner, so the waiter drains its remains
// without blocking: the kernel produces a dump's next part only when the
// previous one is read, so an empty socket means the abandoned dump is over
// (its final message went by, or was lost to a truncation). The waiter
// never blocks in a read: a read that waits while the slot is freed by
// another goroutine would wait for data that never comes.
func (c *Conn) acquireDump(ctx context.Context, cl *call) error {
	tr, _ := c.t.(transport.TryReceiver)
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return ErrClosed
		}
		holder := c.dumpHolder
		if holder == nil {
			c.dumpHolder, cl.holdsDump = cl, true
			c.dumpGen++
			c.mu.Unlock()
			return nil
		}
		free, abandoned, gen := c.dumpFree, holder.abandoned, c.dumpGen
		c.mu.Unlock()

		if testHookDumpWait != nil {
			testHookDumpWait()
		}
		if !abandoned || tr == nil {
			select {
			case <-free:
			case <-ctx.Done():
				return errDumpWait(ctx)
			}
			continue
		}
		if got, err := c.waitTokOr(ctx, free); err != nil {
			return errDumpWait(ctx)
		} else if !got {
			continue
		}
		err := c.drainAbandoned(ctx, tr, gen)
		c.releaseTok()
		if err != nil {
			return err
		}
	}
}

// drainAbandoned reads what is queued on the socket, without waiting, until
// the abandoned dump that took the slot as dump gen has ended; when the
// socket is empty before that, its end was lost and it is retired. The
// caller holds the token. The dump is known by its generation, not its
// call: between the caller's look at the slot and its getting the token,
// the abandoned dump may have ended and its call, reused, may hold the slot
// for a new dump whose replies are yet to come; retiring that call would
// free the slot under a running dump and hand the call out twice.
func (c *Conn) drainAbandoned(ctx context.Context, tr transport.TryReceiver, gen uint64) error {
	rb := c.getBuf()
	defer c.putBuf(rb)
	for i := 0; i < maxDrainReads; i++ {
		c.mu.Lock()
		over := c.dumpHolder == nil || c.dumpGen != gen
		c.mu.Unlock()
		if over {
			return nil
		}
		info, err := tr.TryRecv(rb.b)
		switch {
		case errors.Is(err, transport.ErrWouldBlock):
			c.mu.Lock()
			if h := c.dumpHolder; h != nil && c.dumpGen == gen && h.abandoned {
				c.retire(h)
			}
			c.mu.Unlock()
			return nil
		case err != nil:
			err = c.readFailed(ctx, nil, rb, err)
			if !errors.Is(err, ErrOverrun) && !errors.Is(err, ErrTruncated) {
				return err
			}
		default:
			c.dispatch(nil, rb, info)
			clear(rb.own)
			rb.own = rb.own[:0]
		}
	}
	return nil
}

// testHookDumpWait, when set by a test, runs in acquireDump between seeing
// the slot taken and waiting for it.
var testHookDumpWait func()

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

func (c *Conn) register(seq, port uint32, end ending) (*call, error) {
	return c.registerAt(nil, seq, port, end)
}

// registerAt registers cl (nil: one from the free list or a new one) for
// seq. A cl given by the caller may have no sig channel when nobody will
// wait on it (Batch's messages without NLM_F_ACK).
func (c *Conn) registerAt(cl *call, seq, port uint32, end ending) (*call, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	if old, dup := c.calls.get(seq); dup {
		if !old.abandoned {
			return nil, fmt.Errorf("sequence number %d already in flight", seq)
		}
		c.retire(old) // an abandoned call's number came round again
	}
	if cl == nil {
		if n := len(c.freeCall); n > 0 {
			cl = c.freeCall[n-1]
			c.freeCall = c.freeCall[:n-1]
		} else {
			cl = &call{sig: make(chan struct{}, 1)}
		}
	}
	cl.seq, cl.port, cl.suspect, cl.end = seq, port, c.congested, end
	cl.stopped = false
	c.calls.put(seq, cl)
	return cl, nil
}

// finish ends the owner's use of cl. A request that was sent and did not
// get its final message is abandoned rather than retired: it stays
// registered, so that what still arrives for it is recognised, discarded
// and counted, and (for a dump) so that the next dump waits for its end.
func (c *Conn) finish(cl *call, abandon bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl.end.completed {
		abandon = false // its end came with messages left after its owner stopped
	}
	if abandon && !c.closed {
		// Messages another reader queued for it may include the end.
		for i := range cl.q {
			c.stats.Discarded++
			if cl.end.observe(&cl.q[i]) {
				abandon = false
				break
			}
		}
		cl.q = nil
	}
	if !abandon || c.closed {
		c.retire(cl)
		return
	}
	cl.abandoned, cl.err, cl.suspect = true, nil, false
	if c.dumpHolder == cl {
		// Its waiters must now drain it themselves: wake them.
		close(c.dumpFree)
		c.dumpFree = make(chan struct{})
	}
	c.abandoned = append(c.abandoned, cl)
	if len(c.abandoned) > maxAbandoned {
		c.retire(c.abandoned[0])
	}
}

// retire forgets cl: it leaves the table (its number goes to the recent
// ring), gives up the dump slot and returns to the free list. Called with
// c.mu held.
func (c *Conn) retire(cl *call) {
	if got, _ := c.calls.get(cl.seq); got == cl {
		c.calls.del(cl.seq)
	}
	if cl.abandoned {
		for i, a := range c.abandoned {
			if a == cl {
				c.abandoned = append(c.abandoned[:i], c.abandoned[i+1:]...)
				break
			}
		}
	}
	c.releaseDump(cl)
	if cl.spare != nil {
		c.putBufLocked(cl.spare)
	}
	c.recent[c.recentN%len(c.recent)] = recentCall{cl.seq, cl.port}
	c.recentN++
	*cl = call{sig: cl.sig}
	if cl.sig == nil {
		return // one of a Batch's, not reusable
	}
	select {
	case <-cl.sig:
	default:
	}
	if len(c.freeCall) < 64 {
		c.freeCall = append(c.freeCall, cl)
	}
}

// releaseDump gives up the dump slot if cl holds it. Called with c.mu held.
func (c *Conn) releaseDump(cl *call) {
	if !cl.holdsDump {
		return
	}
	cl.holdsDump = false
	if c.dumpHolder == cl {
		c.dumpHolder = nil
		close(c.dumpFree)
		c.dumpFree = make(chan struct{})
	}
}

// isRecent reports whether seq and port belong to a request that has
// finished. Another port's message with the same number is not one.
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
	c.calls.each(func(cl *call) {
		if cl.abandoned {
			return
		}
		if cl.err == nil {
			cl.err = err
		}
		signal(cl)
	})
	if unsol {
		if c.unsol.err == nil {
			c.unsol.err = err
		}
		signal(&c.unsol)
	}
}

// Stats counts what the Conn read but did not hand over as a reply or as a
// message of Receive, so that nothing is lost without a trace.
type Stats struct {
	// Overruns counts receive overruns: the socket's (ENOBUFS), a bus
	// overrun mark, and Receive's own queue running full. Each is also
	// reported by Receive, and fails the requests in flight.
	Overruns uint64
	// Truncated counts datagrams longer than the receive buffer.
	Truncated uint64
	// Malformed counts datagrams, or their tails, that did not parse as
	// netlink messages; each is also reported by Receive (ErrMalformed).
	Malformed uint64
	// Discarded counts messages of abandoned requests (a dump left early,
	// a cancelled call) read before their final ACK or DONE.
	Discarded uint64
	// Late counts messages for a request that had already completed; they
	// are handed to Receive.
	Late uint64
	// Absorbed counts ACKs and DONEs of requests that had already
	// completed, which are dropped.
	Absorbed uint64
	// Sends and Reads count the datagrams sent and the reads made (system
	// calls, on a kernel socket), as Batch's cost is measured.
	Sends uint64
	Reads uint64
}

// Stats returns the Conn's counters.
func (c *Conn) Stats() Stats {
	c.mu.Lock()
	st := c.stats
	c.mu.Unlock()
	st.Sends, st.Reads = c.sends.Load(), c.reads.Load()
	if c.aux != nil {
		c.aux.addStats(&st)
	}
	return st
}

func init() {
	seam.TransportOf = func(c any) transport.Transport { return c.(*Conn).t }
	seam.SetKernel = func(c any, protocol int, oneDump, stampsPID bool) {
		c.(*Conn).kernel = kernelFacts{protocol: protocol, oneDump: oneDump, stampsPID: stampsPID}
	}
}
