package bus

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/genl"
	"github.com/nlbus/netlink/genl/genlctrl"
)

// ErrCallerGone is the cause (context.Cause) of a handler's context that
// Serve cancelled because the caller's port was released: the caller
// closed its connection, died, or bound another port, and no answer can
// reach it. ReplyWriter.Reply fails with an error wrapping it from then on.
var ErrCallerGone = errors.New("nlbus: the caller went away")

// callerGone is the cause Serve gives a handler whose caller went.
type callerGone struct {
	port uint32
	pid  int32
}

func (e *callerGone) Error() string {
	return fmt.Sprintf("%v: port %d (pid %d) was released", ErrCallerGone, e.port, e.pid)
}

func (e *callerGone) Unwrap() error { return ErrCallerGone }

// readAheadCheck is the period of the check that has ServeWith's other
// goroutine read ahead while a handler runs long: a handler that is still
// running at two checks in a row (one to two periods) gets a reader. Waking
// the other goroutine for every request cost a request through the daemon
// a tenth to a third of its time (RegistryCall/genl-ack p50 1.17-1.35x),
// and a timer set and stopped for every request (at 50 µs) a tenth
// (RegistryCall/paired p50 1.10x), as each wakes a thread; the check runs
// only while requests are being served, at most once a period.
const readAheadCheck = time.Millisecond

// Defaults and limits of ServeOptions.
const (
	DefaultServeQueueLen   = 1024
	DefaultServeQueueBytes = 1 << 20
	maxServeQueueLen       = 1 << 20
	maxServeQueueBytes     = 1 << 30
)

// ServeOptions are ServeWith's settings. The zero value, like a nil
// *ServeOptions, is what Serve uses.
type ServeOptions struct {
	// QueueLen bounds the requests Serve holds: the one being served and
	// those read ahead of it (default DefaultServeQueueLen, at most
	// 1<<20). When the queue is full Serve stops reading until a handler
	// is done; what comes meanwhile waits in the daemon's queue for the
	// connection, whose bounds refuse further requests to their callers
	// (EAGAIN, docs/PROTOCOL.md §6 and §13.3) and drop notifications (an
	// overrun, ServeStats.Overruns).
	QueueLen int
	// QueueBytes bounds the payload bytes of the requests held (default
	// DefaultServeQueueBytes, 1 MiB, at most 1 GiB). A request larger than
	// that waits until the queue is empty and is then held alone, in a
	// buffer grown to fit it.
	QueueBytes int
	// Stats, when not nil, is where Serve counts what it does.
	Stats *ServeStats

	// hook, for the tests (export_test.go), hears of the reader's events.
	hook func(ev serveEvent, port uint32)
}

// ServeStats counts what a Serve did, for ServeOptions.Stats. The counters
// are atomic: read them while Serve runs. Several Serves may share one.
// Every request to the family that Serve reads is counted once, as Served,
// Skipped or Abandoned.
type ServeStats struct {
	// Served counts the requests handled: a handler called (those
	// cancelled later included), or EOPNOTSUPP answered for a command
	// without one.
	Served atomic.Uint64
	// Skipped counts the requests read ahead whose caller's port was
	// released before their turn: dropped, neither run nor answered.
	Skipped atomic.Uint64
	// Cancelled counts the handlers whose context was cancelled because
	// their caller's port was released while they ran (or as they
	// returned: a release read in that instant counts too).
	Cancelled atomic.Uint64
	// Abandoned counts the requests read ahead but not run because Serve
	// returned (its context ended, the Conn failed, a handler panicked).
	Abandoned atomic.Uint64
	// Overruns counts the overruns the Conn reported: the daemon dropped
	// messages for the connection because its queue was full. Requests
	// to the family are not among them (the daemon refuses those to their
	// callers instead), but port-release notifications may be: after an
	// overrun Serve may have missed a caller's going, and then serves its
	// requests read ahead as though it were there.
	Overruns atomic.Uint64
	// Unanswered counts the requests whose ACK, NLMSG_DONE or error
	// could not be sent: the Conn failed, or Serve was returning. Their
	// callers get ECONNRESET when the Conn closes (docs/PROTOCOL.md §8).
	Unanswered atomic.Uint64
}

// serveEvent is what ServeOptions.hook hears of.
type serveEvent int

const (
	serveQueued     serveEvent = iota // a request from port was queued
	serveReleased                     // the release of port was handled
	serveReaderDone                   // the reader goroutine ends
)

// Serve is ServeWith with the default options.
func Serve(ctx context.Context, c *netlink.Conn, fam genl.Family, handlers map[uint8]Handler) error {
	return ServeWith(ctx, c, fam, handlers, nil)
}

// ServeWith reads the requests to fam (which c registered) and calls the
// handler of each one's command, one request at a time and in the order
// they came, until ctx ends (it returns ctx.Err()), c fails (it returns
// the error) or a handler panics (ServeWith panics with a *HandlerPanic
// holding the value and the handler's stack, once nothing of it runs any
// more) or calls runtime.Goexit (ErrHandlerGoexit). A command without a handler is answered EOPNOTSUPP (the
// daemon already refuses commands the family did not register). Messages
// that are not requests to fam are ignored. ServeWith must be c's only
// reader while it runs; handlers may use c (Reply, Publish, and requests
// of their own).
//
// While a handler runs, ServeWith reads ahead: up to opts.QueueLen
// requests and opts.QueueBytes bytes, copied out of the receive buffer;
// when that is full it stops reading until a handler is done. Two
// goroutines take turns (ServeWith's and one it starts): the one that
// reads a request runs its handler, and once the handler has run for
// 1-2 ms the other reads meanwhile, so that a request that finds the
// service idle is served without a goroutine switch. Handlers may run on
// either goroutine, never two at once, and their answers go in the
// requests' order. The second goroutine is gone when ServeWith returns, and the
// requests read that did not run are lost to a later Serve on c (counted
// as Abandoned; their callers learn of it when c closes,
// docs/PROTOCOL.md §8).
//
// Callers that go: ServeWith joins GroupPorts on c (and leaves it when it
// returns; an access rule that denies joining group 1 makes it fail).
// When a caller's port is released (its connection closed, or it bound
// another port), the requests from that port read before the release are
// dropped (Skipped), and a handler running for one has its context
// cancelled with a cause wrapping ErrCallerGone (context.Cause), its
// Reply fails with such an error, and neither its error nor its ACK or
// NLMSG_DONE is sent. Requests read after the release, from a new owner of
// the same port number, are served. Two limits: a release is seen only once
// everything queued before it has been read, so while the queue is full the
// requests ahead of it still run; and after an overrun (ServeStats.Overruns)
// a release may have been missed.
//
// A handler's context ends when the handler returns. Each request costs
// three allocations, all of them the handler's context
// (context.WithCancelCause: its struct and cancel function, and its Done
// channel once something waits on it, as a Reply does); reading and
// queueing allocate nothing (TestServeAllocations).
func ServeWith(ctx context.Context, c *netlink.Conn, fam genl.Family, handlers map[uint8]Handler, opts *ServeOptions) error {
	var o ServeOptions
	if opts != nil {
		o = *opts
	}
	switch {
	case o.QueueLen < 0 || o.QueueLen > maxServeQueueLen:
		return fmt.Errorf("nlbus: ServeOptions.QueueLen %d is outside 0-%d", o.QueueLen, maxServeQueueLen)
	case o.QueueBytes < 0 || o.QueueBytes > maxServeQueueBytes:
		return fmt.Errorf("nlbus: ServeOptions.QueueBytes %d is outside 0-%d", o.QueueBytes, maxServeQueueBytes)
	}
	if o.QueueLen == 0 {
		o.QueueLen = DefaultServeQueueLen
	}
	if o.QueueBytes == 0 {
		o.QueueBytes = DefaultServeQueueBytes
	}
	if o.Stats == nil {
		o.Stats = new(ServeStats)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.JoinGroup(GroupPorts); err != nil {
		return err
	}
	s := &server{
		c: c, fam: fam, hl: genlHeaderLen + int(fam.HeaderSize), handlers: handlers,
		stats: o.Stats, hook: o.hook,
		q:    newReqQueue(o.QueueLen, o.QueueBytes),
		poke: [2]chan struct{}{make(chan struct{}, 1), make(chan struct{}, 1)},
		room: make(chan struct{}, 1),
	}
	s.wk.w = ReplyWriter{c: c, fam: &s.fam, req: &s.wk.req}
	s.checker = time.AfterFunc(time.Hour, s.check)
	s.checker.Stop()
	s.base, s.stop = context.WithCancelCause(ctx)
	s.done = s.base.Done()
	s.wg.Add(1)
	go func() {
		defer func() {
			if s.hook != nil {
				s.hook(serveReaderDone, 0)
			}
			s.wg.Done()
		}()
		s.loop(1)
	}()
	defer func() {
		if !s.returned {
			s.shutdown() // a handler called runtime.Goexit: the other goroutine ends first
		}
	}()
	s.loop(0)
	s.returned = true
	s.shutdown()
	if s.panicked != nil {
		panic(s.panicked)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.err
}

// HandlerPanic is what ServeWith panics with when a handler panicked.
type HandlerPanic struct {
	// Value is what the handler panicked with.
	Value any
	// Stack is the handler's goroutine's stack when it panicked.
	Stack []byte
}

func (p *HandlerPanic) Error() string {
	return fmt.Sprintf("nlbus: a Serve handler panicked: %v\n\n%s", p.Value, p.Stack)
}

// Unwrap returns Value when it is an error.
func (p *HandlerPanic) Unwrap() error {
	err, _ := p.Value.(error)
	return err
}

// ErrHandlerGoexit is what ServeWith returns when a handler called
// runtime.Goexit on the goroutine ServeWith started. On ServeWith's own
// goroutine, Goexit ends that goroutine, as it would any function; which
// of the two runs a handler is not to be relied on.
var ErrHandlerGoexit = errors.New("nlbus: a Serve handler called runtime.Goexit")

// server is one ServeWith: two goroutines (loop 0, ServeWith's, and loop
// 1) that take turns reading c into q (take) and running the handlers of
// q's requests, one handler at a time, in q's order.
type server struct {
	c        *netlink.Conn
	fam      genl.Family
	hl       int // genl header and family header
	handlers map[uint8]Handler
	stats    *ServeStats
	hook     func(serveEvent, uint32)
	wg       sync.WaitGroup // the reader

	base context.Context // ends when ServeWith stops: ctx's end, c's failure, a panic
	stop context.CancelCauseFunc
	done <-chan struct{} // base.Done()

	mu sync.Mutex // guards the fields below
	q  reqQueue
	// serving: q's front is being served (from its handler's call to the
	// end of its answer); inHandler: its handler has not returned yet.
	serving, inHandler bool
	reading            bool                    // a goroutine is reading c
	cancel             context.CancelCauseFunc // the running handler's context
	full               bool                    // the reader waits on room
	err                error                   // the Conn's failure
	panicked           *HandlerPanic           // a handler's panic, for ServeWith

	// poke[i] wakes loop i when it waits: there may be something for it
	// to read or serve.
	poke [2]chan struct{}
	room chan struct{} // a request left the queue
	who  int           // the reading loop's number, for take

	// The read-ahead check (check), under mu: gen counts the requests
	// served, servingLoop is the serving loop's number, checking says the
	// checker is set, and checkGen is gen when it was set or last ran.
	checker       *time.Timer
	gen, checkGen uint64
	servingLoop   int
	checking      bool

	returned bool   // loop 0 returned (ServeWith's goroutine did not Goexit)
	wk       worker // the serving loop's, while it serves
}

// worker is what the serving loop uses to serve a request; the handler
// borrows it. One is enough: a loop answers its request before it lets
// go of serving.
type worker struct {
	w      ReplyWriter
	req    Request
	creds  netlink.Credentials
	errBuf []byte
}

// take handles one message the reader read: a request to the family is
// queued (waiting for room), a port's release is applied to the queue and
// the running handler; anything else is ignored.
func (s *server) take(m netlink.Message) {
	h := &m.Header
	if m.Addr.Group == GroupPorts {
		if uint16(h.Type) == FamilyID && m.Addr.Port == 0 {
			s.released(m.Data)
		}
		return
	}
	if uint16(h.Type) != s.fam.ID || h.Flags&netlink.Request == 0 || m.Addr.Group != 0 {
		return
	}
	if len(m.Data) < s.hl {
		return // the daemon checked it; not from the daemon then
	}
	s.mu.Lock()
	for !s.q.push(&m) {
		s.full = true
		s.mu.Unlock()
		s.wake(1 - s.who) // the queue is full: the other loop serves it
		select {
		case <-s.room:
		case <-s.done:
			s.stats.Abandoned.Add(1)
			return
		}
		s.mu.Lock()
	}
	s.mu.Unlock()
	if s.hook != nil {
		s.hook(serveQueued, m.Addr.Port)
	}
}

// released applies a PORT_RELEASED notification: the requests of that
// port read so far are dropped, and its running handler is cancelled.
func (s *server) released(data []byte) {
	r, err := ParsePortReleased(data)
	if err != nil {
		return
	}
	s.mu.Lock()
	from := 0
	if s.serving {
		from = 1
		if e := s.q.front(); e.port == r.Port && s.wk.w.gone.Load() == nil {
			cause := &callerGone{port: r.Port, pid: r.PID}
			// The context first: a Reply that sees gone finds the
			// handler's context cancelled with its cause.
			if s.inHandler {
				s.cancel(cause)
				s.stats.Cancelled.Add(1)
			}
			s.wk.w.gone.Store(cause)
		}
	}
	if n := s.q.markGone(r.Port, from); n > 0 {
		s.stats.Skipped.Add(uint64(n))
	}
	s.mu.Unlock()
	if s.hook != nil {
		s.hook(serveReleased, r.Port)
	}
}

// loop is the work of goroutine me (0 or 1) until base ends: serve q's
// front if nobody does, else read c if nobody does, else wait to be
// poked. The goroutine that read a request serves it itself, and has the
// other read meanwhile if the handler takes long (readAheadCheck), so
// that a request that finds the service idle runs without a switch of
// goroutines on its way.
func (s *server) loop(me int) {
	take := s.take // one method value for the whole loop
	for {
		s.mu.Lock()
		for s.q.n > 0 && s.q.front().gone && !s.serving {
			s.popLocked()
		}
		switch {
		case s.base.Err() != nil:
			s.mu.Unlock()
			s.wake(1 - me) // it may wait: base's end is for both
			return
		case s.q.n > 0 && !s.serving:
			other := !s.reading
			if !s.serveLocked(me, other) {
				return // the handler panicked or called Goexit
			}
		case !s.reading:
			s.reading, s.who = true, me
			s.mu.Unlock()
			err := s.c.ReceiveBorrowed(s.base, take)
			s.mu.Lock()
			s.reading = false
			s.mu.Unlock()
			if err != nil && !s.readFailed(err) {
				return
			}
		default:
			s.mu.Unlock()
			select {
			case <-s.poke[me]:
			case <-s.done:
			}
		}
	}
}

// check runs readAheadCheck after the checker was set: if the request
// served then (checkGen) is still being served and nobody reads, the loop
// that does not serve is poked to read; while other requests are being
// served it checks again a period later; otherwise it stops.
func (s *server) check() {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.serving && !s.reading && s.gen == s.checkGen:
		s.wake(1 - s.servingLoop)
		s.checking = false
	case s.serving && !s.reading:
		s.checkGen = s.gen
		s.checker.Reset(readAheadCheck)
	default:
		s.checking = false
	}
}

// wake pokes loop i.
func (s *server) wake(i int) {
	select {
	case s.poke[i] <- struct{}{}:
	default:
	}
}

// readFailed handles a failed read, and reports whether to go on.
func (s *server) readFailed(err error) bool {
	if s.base.Err() != nil {
		return false
	}
	var oe *netlink.OpError
	if errors.As(err, &oe) {
		if errors.Is(err, netlink.ErrOverrun) {
			s.stats.Overruns.Add(1)
			return true
		}
		if errors.Is(err, netlink.ErrMalformed) {
			return true
		}
	}
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
	s.stop(err)
	return false
}

// serveLocked serves q's front on loop me, called with mu held, which it
// releases; pokeOther: nobody reads, so the other loop is poked to. It
// reports false when the handler did not return (a panic, recorded for
// ServeWith, or runtime.Goexit): the loop ends.
func (s *server) serveLocked(me int, pokeOther bool) (ok bool) {
	ctx, cancel := context.WithCancelCause(s.base)
	s.serving, s.inHandler, s.cancel = true, true, cancel
	s.gen++
	s.servingLoop = me
	wk := &s.wk
	wk.w.gone.Store(nil)
	wk.setRequest(&s.q, s.q.front(), s.hl)
	if pokeOther && !s.checking {
		// Nobody reads while the handler runs: the other loop will if
		// the handler runs long (check). A short handler costs no switch
		// of goroutines: this loop reads next.
		s.checking, s.checkGen = true, s.gen
		s.checker.Reset(readAheadCheck)
	}
	s.mu.Unlock()

	s.stats.Served.Add(1)
	var herr error
	returned := false
	defer func() {
		if returned {
			return
		}
		cancel(nil)
		v := recover()
		s.mu.Lock()
		if v != nil {
			s.panicked = &HandlerPanic{Value: v, Stack: debug.Stack()}
		}
		s.mu.Unlock()
		if v != nil {
			s.stop(s.panicked)
			return // loop ends; ServeWith panics once both are done
		}
		s.stop(ErrHandlerGoexit)
		if me == 1 {
			s.mu.Lock()
			s.err = ErrHandlerGoexit
			s.mu.Unlock()
		}
	}()
	if fn := s.handlers[wk.req.Header.Command]; fn != nil {
		herr = fn(ctx, &wk.w, &wk.req)
	} else {
		herr = &Error{Errno: syscall.EOPNOTSUPP, Msg: "nlbus: the service has no handler for this command"}
	}
	returned = true
	s.mu.Lock()
	s.inHandler = false // a release from now on cancels nothing (Cancelled)
	s.mu.Unlock()
	cancel(nil) // the handler's context ends with it
	out := wk.answer(herr)
	// The answer goes before the next request is served (it holds the
	// serving role until then): answers keep the requests' order.
	if oh, err := netlink.ParseHeader(out); wk.w.gone.Load() == nil && err == nil {
		if _, err := s.c.Send(s.base, netlink.Message{Header: oh, Data: out[netlink.HeaderLen:], Addr: netlink.Addr{Port: wk.req.Port}}); err != nil {
			s.stats.Unanswered.Add(1)
		}
	}

	s.mu.Lock()
	s.serving, s.inHandler, s.cancel = false, false, nil
	s.popLocked()
	s.mu.Unlock()
	return true
}

// setRequest points wk.req at e, borrowing its bytes from q; hl is the
// length of the genl and family headers.
func (wk *worker) setRequest(q *reqQueue, e *queuedReq, hl int) {
	data := q.payload(e)
	var creds *netlink.Credentials
	if e.hasCreds {
		wk.creds = e.creds
		creds = &wk.creds
	}
	wk.req = Request{
		Header:       genl.Header{Command: data[0], Version: data[1]},
		FamilyHeader: data[genlHeaderLen:hl],
		Attrs:        data[hl:],
		Dump:         e.hdr.Flags&netlink.Dump == netlink.Dump,
		Port:         e.port,
		Creds:        creds,
		Message:      netlink.Message{Header: e.hdr, Data: data, Addr: netlink.Addr{Port: e.port}, Creds: creds},
	}
}

// answer builds, in errBuf, what ends wk.req for its caller after the
// handler returned herr: an NLMSG_ERROR, NLMSG_DONE, an ACK, or nothing.
func (wk *worker) answer(herr error) []byte {
	m, h := &wk.req.Message, &wk.req.Message.Header
	var out []byte
	switch {
	case herr != nil:
		errno := syscall.EIO
		var be *Error
		var en syscall.Errno
		switch {
		case errors.As(herr, &be):
			errno = be.Errno
		case errors.As(herr, &en):
			errno = en
		}
		out = genlctrl.AppendError(wk.errBuf[:0], *m, wk.req.Port, errno, &netlink.ExtAck{Message: herr.Error()})
	case wk.req.Dump:
		out = append(wk.errBuf[:0], make([]byte, 20)...)
		netlink.MarshalHeader(out, netlink.Header{Length: 20, Type: netlink.Done, Flags: netlink.Multi, Sequence: h.Sequence, PID: wk.req.Port})
	case h.Flags&netlink.Acknowledge != 0:
		out = genlctrl.AppendError(wk.errBuf[:0], *m, wk.req.Port, 0, nil)
	}
	wk.errBuf = out
	return out
}

// popLocked removes q's front and wakes the reader if it waits for room.
func (s *server) popLocked() {
	s.q.pop()
	if s.full {
		s.full = false
		select {
		case s.room <- struct{}{}:
		default:
		}
	}
}

// shutdown stops the reader and waits for it, then counts what was left
// queued and leaves GroupPorts (unless c failed, or a handler panicked).
func (s *server) shutdown() {
	s.stop(nil)
	s.wg.Wait()
	s.checker.Stop()
	s.mu.Lock()
	left := 0
	for i := 0; i < s.q.n; i++ {
		if e := &s.q.ents[(s.q.head+i)%len(s.q.ents)]; !e.gone && !(i == 0 && s.serving) {
			left++
		}
	}
	failed := s.err != nil
	s.mu.Unlock()
	if left > 0 {
		s.stats.Abandoned.Add(uint64(left))
	}
	if !failed && s.returned {
		s.c.LeaveGroup(GroupPorts)
	}
}
