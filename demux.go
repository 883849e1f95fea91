package netlink

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	"github.com/nlbus/netlink/transport"
)

// run delivers the messages of cl to handle until handle reports done or
// fails. Messages come from cl's queue (copies another reader made) or from
// reads this goroutine makes while holding the read token; in that case they
// are borrowed from a receive buffer the goroutine keeps until it has handled
// them, after giving the token back, so that handle may itself use the Conn.
// With batch set, run returns after the first non-empty batch. yield, when
// not nil (a dump's iterator), takes the data messages of datagrams read
// here, all cl's, before handle would; when it returns false, cl.stopped
// is set and the call ends.
func (c *Conn) run(ctx context.Context, cl *call, batch bool, yield func(Message, error) bool, handle func(m *Message) (bool, error)) error {
	for {
		var rb *rbuf
		c.mu.Lock()
		q, ferr := cl.q, cl.err
		cl.q = nil
		if cl == &c.unsol {
			q = c.takeUnsol(q)
		}
		if len(q) == 0 && ferr == nil {
			// Nothing for cl yet: take the token now if it is free (the
			// usual case of a Conn used by one goroutine). Under c.mu
			// nothing can be queued for cl after the check above, since
			// only the token's holder dispatches.
			if c.tryTok() {
				rb = c.getBufLocked()
			}
		}
		c.mu.Unlock()
		if rb == nil {
			if done, err := c.deliver(cl, q, handle); done {
				return err
			}
			if ferr != nil {
				if cl == &c.unsol && !errors.Is(ferr, ErrClosed) {
					// A transient failure is reported once: here, not
					// when a message queued before it ended the call.
					c.mu.Lock()
					if cl.err == ferr {
						cl.err = nil
					}
					c.mu.Unlock()
				}
				return ferr
			}
			if batch && len(q) > 0 {
				return nil
			}

			// Wait for the token, a message or ctx.
			if got, err := c.waitTokOr(ctx, cl.sig); err != nil {
				return err
			} else if !got {
				continue
			}

			// This goroutine is the reader. Something may have been
			// queued for it between the check above and taking the token.
			c.mu.Lock()
			pending := len(cl.q) > 0 || cl.err != nil
			if !pending {
				rb = c.getBufLocked()
			}
			c.mu.Unlock()
			if pending {
				c.releaseTok()
				continue
			}
		}
		info, err := c.t.Recv(ctx, rb.b)
		switch {
		case err != nil:
			err = c.readFailed(ctx, cl, rb, err)
		case c.ownedBy(cl, rb.b, info):
			// The whole datagram is this call's (a dump's usual case):
			// hand it over without the lock and without a copy of its
			// message headers.
			c.reads.Add(1)
			c.releaseTok()
			done, err := c.deliverDatagram(cl, rb, info, yield, handle)
			if done && cl != &c.unsol && cl.spare == nil {
				// The call's last read: its buffer goes back when the
				// call is retired, under that lock.
				cl.spare = rb
				return err
			}
			c.putBuf(rb)
			if done {
				return err
			}
			continue
		default:
			err = c.dispatch(cl, rb, info)
		}
		c.releaseTok()
		if err != nil {
			c.putBuf(rb)
			if errors.Is(err, ErrOverrun) && cl != &c.unsol {
				continue
			}
			return err
		}
		n := len(rb.own)
		done, err := c.deliver(cl, rb.own, handle)
		c.putBuf(rb)
		if done {
			return err
		}
		if batch && n > 0 {
			return nil
		}
	}
}

// tryTok takes the read token if it is free.
func (c *Conn) tryTok() bool { return c.reading.CompareAndSwap(false, true) }

// releaseTok gives the read token back and wakes a goroutine waiting for
// it. A waiter counts itself in tokWaiters before its last try, and this
// clears reading before it reads the count, so either the waiter's try
// sees the token free or this sees the waiter and wakes it.
func (c *Conn) releaseTok() {
	c.reading.Store(false)
	if c.tokWaiters.Load() > 0 {
		select {
		case c.tokFree <- struct{}{}:
		default: // a wake-up is pending already
		}
	}
}

// waitTokOr takes the read token, waiting for it until other is ready or
// ctx ends: got reports whether it was taken, err is ctx's error. A wake-up
// may find the token taken again; the caller then tries again.
func (c *Conn) waitTokOr(ctx context.Context, other <-chan struct{}) (got bool, err error) {
	if c.tryTok() {
		return true, nil
	}
	c.tokWaiters.Add(1)
	defer c.tokWaiters.Add(-1)
	if c.tryTok() { // a release before the count was seen
		return true, nil
	}
	select {
	case <-other:
		return false, nil
	case <-c.tokFree:
		return c.tryTok(), nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// waitTok takes the read token, waiting for it until ctx ends.
func (c *Conn) waitTok(ctx context.Context) error {
	for {
		got, err := c.waitTokOr(ctx, nil)
		if got || err != nil {
			return err
		}
	}
}

// deliver hands ms to handle in order. When handle ends the call early,
// Receive's messages not yet returned go back to its queue, copied.
func (c *Conn) deliver(cl *call, ms []Message, handle func(m *Message) (bool, error)) (bool, error) {
	for i := range ms {
		done, err := handle(&ms[i])
		if !done && err == nil {
			continue
		}
		rest := ms[i+1:]
		if err == errRequeue {
			rest, err = ms[i:], nil
		}
		if len(rest) > 0 {
			if cl == &c.unsol {
				c.requeue(rest)
			} else {
				c.leftover(cl, rest)
			}
		}
		return true, err
	}
	return false, nil
}

// leftover accounts for messages of cl that came after the one that ended
// its owner's interest (a dump left early): they are discarded, and one of
// them may be the request's end.
func (c *Conn) leftover(cl *call, ms []Message) {
	for i := range ms {
		cl.end.observe(&ms[i])
	}
	c.mu.Lock()
	c.stats.Discarded += uint64(len(ms))
	c.mu.Unlock()
}

// ownedBy reports whether every message of the datagram b read with info
// is cl's, so that the reader may deliver it straight from the buffer.
// Anything unusual (truncation, a group, another port, a
// malformed message, a peer's request, FreeBSD's pid check) takes the
// general path, dispatch. Called by cl's owner, which holds the token.
func (c *Conn) ownedBy(cl *call, b []byte, info transport.Info) bool {
	if cl == &c.unsol || info.Truncated || info.Src.Group != 0 ||
		info.Src.Port != cl.port || info.N <= 0 || info.N > len(b) {
		return false
	}
	seq, peer, pid := cl.seq, info.Src.Port != 0, c.port
	checkPID := c.kernel.stampsPID
	for rest := b[:info.N]; ; {
		h, next, ok := splitMessage(rest)
		if !ok {
			return len(rest) == 0 // else malformed: dispatch says so
		}
		if ne.Uint32(h[8:12]) != seq ||
			(peer && HeaderFlags(ne.Uint16(h[6:8]))&Request != 0) ||
			(checkPID && ne.Uint32(h[12:16]) != pid) {
			return false
		}
		rest = next
	}
}

// deliverDatagram hands the messages of b, all cl's (ownedBy), to handle.
// It fills a batch of messages before handing out the first: a message
// copied whole (by handle, or an iterator's yield) right after its fields
// were stored one by one makes the processor wait for those stores, and a
// dump is hundreds of messages per read.
func (c *Conn) deliverDatagram(cl *call, rb *rbuf, info transport.Info, yield func(Message, error) bool, handle func(m *Message) (bool, error)) (bool, error) {
	b := rb.b[:info.N]
	var creds *Credentials
	if info.HasCreds {
		rb.info = info
		creds = &rb.info.Creds
	}
	// While a message is out with the caller, cur is its index in the
	// batch, n the batch's size and rest what follows the batch. A caller
	// that panics ends its call early, as a break would: the rest of the
	// datagram is discarded and its end (a dump's DONE in the same
	// datagram) noted, so that the call is retired and its dump slot freed
	// rather than left waiting for an end this read already consumed.
	cur, batch := -1, 0
	var rest []byte
	defer func() {
		if cur >= 0 {
			c.discardRest(cl, rb.msgs[cur+1:batch], rest)
		}
	}()
	for {
		// On locals the compiler keeps in registers (not the ones the
		// deferred function reads).
		n := 0
		for n < len(rb.msgs) {
			mb, next, ok := splitMessage(b)
			if !ok {
				b = nil // the end: ownedBy let no malformed datagram through
				break
			}
			m := &rb.msgs[n]
			m.Header = nativeHeader(mb)
			m.Data = mb[HeaderLen:]
			m.Addr = info.Src
			m.Creds = creds
			b = next
			n++
		}
		if n == 0 {
			return false, nil
		}
		batch, rest = n, b
		for i := range n {
			m := &rb.msgs[i]
			var done bool
			var err error
			cur = i
			if yield != nil && m.Header.Type >= MinType && m.Header.Flags&DumpInterrupted == 0 {
				// A dump's data message, straight to its iterator's
				// loop body, without the request's bookkeeping.
				if yield(*m, nil) {
					continue
				}
				cl.stopped = true
				done = true // abandon the rest of the dump
			} else {
				if m.Header.Type == Done || m.Header.Type == Error {
					c.mu.Lock()
					c.endOfDump(cl, m)
					c.mu.Unlock()
				}
				if done, err = handle(m); !done && err == nil {
					continue
				}
			}
			cur = -1
			if i+1 < n || len(b) > 0 {
				c.discardRest(cl, rb.msgs[i+1:n], b)
			}
			return true, err
		}
		cur = -1
	}
}

// discardRest accounts for the messages of cl's datagram after the one
// that ended its owner's interest: ms, the rest of a batch, then those
// still in b. They are discarded (counted), and one of them may be the
// request's end.
func (c *Conn) discardRest(cl *call, ms []Message, b []byte) {
	left := 0
	for j := range ms {
		cl.end.observe(&ms[j])
		left++
	}
	var it MessageIter
	for it.Reset(b); it.Next(); {
		m := it.Message()
		cl.end.observe(m)
		left++
	}
	if left > 0 {
		c.mu.Lock()
		c.stats.Discarded += uint64(left)
		c.mu.Unlock()
	}
}

// takeUnsol returns the next batch of Receive's queue q, leaving the rest
// queued: the messages before the first mark, or that mark alone (Receive
// reports a loss or a malformed datagram in its place, as a call of its
// own). Taking only that much, rather than the whole queue and putting the
// rest back, keeps a queue of many marks from being copied once per mark.
// Called with c.mu held.
func (c *Conn) takeUnsol(q []Message) []Message {
	k := len(q)
	for i := range q {
		if q[i].Header.Length == 0 { // a mark
			k = max(i, 1)
			break
		}
	}
	if k < len(q) {
		c.unsol.q = q[k:]
	}
	for i := range q[:k] {
		c.unsolLen -= queuedBytes(&q[i])
	}
	if c.unsol.q == nil {
		c.unsolLen = 0 // nothing queued: no drift can outlive a drain
	}
	return q[:k:k]
}

// requeue puts messages Receive did not return back at the head of its
// queue, copying them (they may be borrowed from a receive buffer).
func (c *Conn) requeue(ms []Message) {
	q := make([]Message, 0, len(ms))
	for i := range ms {
		q = append(q, copyMessage(&ms[i]))
	}
	c.mu.Lock()
	c.unsol.q = append(q, c.unsol.q...)
	for i := range q {
		c.unsolLen += queuedBytes(&q[i])
	}
	c.mu.Unlock()
	signal(&c.unsol)
}

func (c *Conn) getBuf() *rbuf {
	c.mu.Lock()
	rb := c.getBufLocked()
	c.mu.Unlock()
	return rb
}

// getBufLocked returns a receive buffer; c.mu is held.
func (c *Conn) getBufLocked() *rbuf {
	if n := len(c.freeBufs); n > 0 {
		rb := c.freeBufs[n-1]
		c.freeBufs = c.freeBufs[:n-1]
		if len(rb.b) >= c.bufSize {
			return rb
		}
	}
	return &rbuf{b: make([]byte, c.bufSize)}
}

func (c *Conn) putBuf(rb *rbuf) {
	c.mu.Lock()
	c.putBufLocked(rb)
	c.mu.Unlock()
}

// putBufLocked is putBuf with c.mu held.
func (c *Conn) putBufLocked(rb *rbuf) {
	clear(rb.own)
	rb.own = rb.own[:0]
	if len(c.freeBufs) < 4 {
		c.freeBufs = append(c.freeBufs, rb)
	}
}

// readFailed handles a failed read of self's goroutine.
func (c *Conn) readFailed(ctx context.Context, self *call, rb *rbuf, err error) error {
	switch {
	case errors.Is(err, ErrOverrun):
		oe := &OpError{Op: "receive", Err: err}
		c.overrun(self, rb, oe)
		if self == &c.unsol {
			// Receive takes the overrun from its queue, after the
			// messages the drain read.
			return nil
		}
		return oe
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case ctx.Err() != nil:
		// The read failed otherwise while ctx ended: a Close racing the
		// cancellation closed the descriptor under it. Say one of the
		// two, never the descriptor's own error.
		if c.isClosed() {
			return ErrClosed
		}
		return ctx.Err()
	}
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) && ne.Timeout() {
		return &OpError{Op: "receive", Err: err}
	}
	if c.isClosed() {
		err = ErrClosed
	}
	// The transport failed: no one will get replies any more. Receive
	// learns it from the error returned here when it is the reader, so
	// its queue is not failed as well (it would report it twice).
	oe := &OpError{Op: "receive", Err: err}
	c.mu.Lock()
	c.failLocked(oe, self != &c.unsol)
	c.mu.Unlock()
	return oe
}

// maxDrainReads bounds the reads of one drain after an overrun.
const maxDrainReads = 1 << 12

// overrun handles lost messages. Any reply in flight may have been lost (a
// congested Linux socket drops unicast replies too), so the requests in
// flight fail with oe rather than wait forever. Then the socket is read
// until it is empty, which is what ends the kernel's congestion; requests
// made during the drain whose reply did not arrive fail as well.
//
// Receive gets the overrun, with the transport's error, in the stream. For
// a kernel socket's ENOBUFS that is after the messages the drain read:
// Linux reports ENOBUFS at the start of the next read, ahead of the
// messages that were queued before the loss, and drops later messages
// without another report until a read finds the queue empty, so the loss
// lies somewhere among what the drain reads. A caller that rebuilds its
// view on an overrun (a dump) must see the overrun after every message that
// may predate the loss, or it would apply stale messages on top of the
// fresh view.
func (c *Conn) overrun(self *call, rb *rbuf, oe *OpError) {
	c.log.Debug("receive overrun")
	// A transport that reports a loss where it happened (the bus daemon
	// tells a client in its stream) gets the mark in place, before what
	// the drain reads; a kernel socket's ENOBUFS gets it after.
	after := errors.Is(oe.Err, syscall.ENOBUFS)
	c.mu.Lock()
	c.stats.Overruns++
	if !after {
		c.queueOverrun(oe.Err)
	}
	c.failLocked(oe, false)
	c.congested = true
	c.mu.Unlock()
	if tr, ok := c.t.(transport.TryReceiver); ok {
		for i := 0; i < maxDrainReads; i++ {
			info, err := tr.TryRecv(rb.b)
			if errors.Is(err, ErrOverrun) {
				// Another loss while draining: a kernel's ENOBUFS is
				// covered by the mark after the drain; a report in the
				// stream (the bus daemon's, with its count) goes where
				// it was read, as the first one did.
				c.mu.Lock()
				c.stats.Overruns++
				if errors.Is(err, syscall.ENOBUFS) {
					after = true
				} else {
					c.queueOverrun(err)
				}
				c.mu.Unlock()
				continue
			}
			if err != nil {
				break
			}
			c.dispatch(nil, rb, info)
		}
	}
	c.mu.Lock()
	if after {
		c.queueOverrun(oe.Err)
	}
	c.congested = false
	c.calls.each(func(cl *call) {
		if cl.suspect && !cl.abandoned && len(cl.q) == 0 && cl.err == nil {
			cl.err = oe
			signal(cl)
		}
		cl.suspect = false
	})
	c.mu.Unlock()
}

// dispatch hands out the messages of one read: those of self stay in rb.own
// (borrowed), those of other calls are copied to their queues, and the rest
// go to Receive's queue.
func (c *Conn) dispatch(self *call, rb *rbuf, info transport.Info) error {
	if info.N < 0 || info.N > len(rb.b) {
		// A transport that reports more than it could have read: keep what
		// the buffer holds and treat the rest as lost.
		info.N, info.Truncated = len(rb.b), true
	}
	b := rb.b[:info.N]
	rb.info = info
	var creds *Credentials
	if info.HasCreds {
		creds = &rb.info.Creds
	}

	var it MessageIter
	it.Reset(b)
	// A dump datagram holds hundreds of messages of one request: remember
	// the last match instead of looking each one up.
	var last *call
	c.reads.Add(1)
	c.mu.Lock()
	for it.Next() {
		m := it.Message()
		m.Addr = info.Src
		m.Creds = creds
		var target *call
		if last != nil && m.Header.Sequence == last.seq && info.Src.Group == 0 && !c.isPeerRequest(m) {
			target = last
		} else {
			target = c.match(m)
			if target != &c.unsol {
				last = target
			}
		}
		switch {
		case target == nil: // absorbed
		case target.abandoned:
			c.stats.Discarded++
			if target.end.observe(m) {
				c.retire(target)
				last = nil
			}
		case target == self:
			c.endOfDump(target, m)
			rb.own = append(rb.own, *m)
		case target == &c.unsol:
			c.queueUnsol(m)
		default:
			c.endOfDump(target, m)
			target.q = append(target.q, copyMessage(m))
			signal(target)
		}
	}
	var failErr error
	if info.Truncated {
		c.stats.Truncated++
		// The tail of the datagram is lost, and with it possibly a reply of
		// any call in flight: fail them rather than let them wait forever.
		if info.Size > c.bufSize && info.Size <= maxMessageLen {
			c.bufSize = info.Size
		} else if c.bufSize < maxMessageLen/2 {
			c.bufSize *= 2
		}
		cause := fmt.Errorf("%w: datagram longer than the %d-byte buffer", ErrTruncated, len(rb.b))
		if info.Size > 0 {
			cause = fmt.Errorf("%w: datagram of %d bytes, buffer of %d", ErrTruncated, info.Size, len(rb.b))
		}
		failErr = &OpError{Op: "receive", Err: cause}
		c.failLocked(failErr, false)
		if self != &c.unsol || len(rb.own) > 0 {
			// Receive learns of the loss from the mark, unless it is the
			// reader and gets failErr itself below.
			c.queueMark(overrunMark)
		}
	} else if it.Err() != nil {
		// Not netlink, or damaged: Receive reports it in its place.
		c.stats.Malformed++
		desc := fmt.Sprintf("%d-byte datagram from port %d, group %d, unreadable from offset %d: %v",
			info.N, info.Src.Port, info.Src.Group, it.Offset(), it.Err())
		c.log.Debug("malformed datagram", "detail", desc)
		// Reports count against the queue's bound like messages: a flood
		// of garbage (anyone may send to a USERSOCK port) becomes one
		// overrun, not unbounded memory.
		mark := Message{Header: Header{Type: markMalformed}, Data: []byte(desc)}
		if c.admit(queuedBytes(&mark)) {
			c.queueMark(mark)
		}
	}
	c.mu.Unlock()
	if failErr != nil && len(rb.own) == 0 {
		return failErr
	}
	return nil
}

// match returns the call m belongs to, nil to absorb it, or &c.unsol.
// Called with c.mu held.
func (c *Conn) match(m *Message) *call {
	if c.isPeerRequest(m) {
		// A request from another port (a bus service's caller) is never a
		// reply, whatever its sequence number.
		return &c.unsol
	}
	seq := m.Header.Sequence
	cl, ok := c.calls.get(seq)
	if m.Addr.Group == 0 {
		if ok && cl.port == m.Addr.Port && (!c.kernel.stampsPID || m.Header.PID == c.port) {
			return cl
		}
		if seq != 0 && c.isRecent(seq, m.Addr.Port) {
			if m.Header.Type == Error || m.Header.Type == Done {
				c.stats.Absorbed++
				return nil
			}
			c.stats.Late++
			if c.log.IsTrace() {
				c.log.Trace("late reply for Receive", "seq", seq, "type", m.Header.Type)
			}
		}
		return &c.unsol
	}
	// Linux sends the echo of an NLM_F_ECHO request to the requester as a
	// unicast copy of the group notification, marked with the group.
	if ok && cl.end.echo && m.Header.PID == c.port && cl.port == m.Addr.Port {
		return cl
	}
	return &c.unsol
}

// isPeerRequest reports a request from another process (a bus peer, a
// NETLINK_USERSOCK socket): the kernel (port 0) never sends requests.
func (c *Conn) isPeerRequest(m *Message) bool {
	return m.Header.Flags&Request != 0 && m.Addr.Port != 0
}

// endOfDump gives up the dump slot as soon as a dump's final message has
// been read, before its owner gets to it: the kernel's dump is over.
// Called with c.mu held.
func (c *Conn) endOfDump(cl *call, m *Message) {
	if cl.holdsDump && (m.Header.Type == Done || m.Header.Type == Error) {
		c.releaseDump(cl)
	}
}

// queueUnsol queues a copy of m for Receive or, when the queue is full
// (Config.QueueLimit), an overrun mark in its place. Called with c.mu held.
func (c *Conn) queueUnsol(m *Message) {
	if !c.admit(queuedBytes(m)) {
		return
	}
	c.unsol.q = append(c.unsol.q, copyMessage(m))
	signal(&c.unsol)
}

// admit counts n more bytes in Receive's queue when they fit
// Config.QueueLimit; past it, it queues an overrun in their place and
// reports false. Called with c.mu held.
func (c *Conn) admit(n int) bool {
	if c.unsolLen+n > c.cfg.QueueLimit {
		c.stats.Overruns++
		c.queueMark(overrunMark)
		return false
	}
	c.unsolLen += n
	return true
}

// queuedBytes is what m counts against Config.QueueLimit: its length, or
// nothing for an overrun mark.
func queuedBytes(m *Message) int {
	if m.Header.Length == 0 && m.Header.Type == 0 {
		return 0
	}
	return len(m.Data) + HeaderLen
}

// queueMark queues a mark for Receive: an overrun (never two in a row) or
// a malformed datagram. Called with c.mu held.
func (c *Conn) queueMark(mark Message) {
	if mark.Header.Type == 0 {
		if n := len(c.unsol.q); n > 0 && c.unsol.q[n-1].Header.Length == 0 && c.unsol.q[n-1].Header.Type == 0 {
			return
		}
	}
	c.unsol.q = append(c.unsol.q, mark)
	signal(&c.unsol)
}

// queueOverrun queues an overrun mark for Receive that reports cause, the
// transport's error. Two kernel overruns with nothing between them are one
// (the first is where the loss began); a report that counts what it lost
// (the bus daemon's) is never folded into another, so that no count goes
// unreported. Called with c.mu held.
func (c *Conn) queueOverrun(cause error) {
	if n := len(c.unsol.q); n > 0 && c.unsol.q[n-1].Header.Length == 0 && c.unsol.q[n-1].Header.Type == 0 {
		last := &c.unsol.q[n-1]
		if last.Header.Sequence == 0 {
			last.Header.Sequence = c.keepMarkCause(cause)
			return
		}
		if errors.Is(cause, syscall.ENOBUFS) {
			return
		}
	}
	mark := overrunMark
	mark.Header.Sequence = c.keepMarkCause(cause)
	c.unsol.q = append(c.unsol.q, mark)
	signal(&c.unsol)
}

// keepMarkCause files cause for a mark and returns its key (never 0).
// Called with c.mu held.
func (c *Conn) keepMarkCause(cause error) uint32 {
	c.markSeq++
	if c.markSeq == 0 {
		c.markSeq = 1
	}
	if c.markCauses == nil {
		c.markCauses = make(map[uint32]error)
	}
	c.markCauses[c.markSeq] = cause
	return c.markSeq
}

// takeMarkCause returns and forgets the cause filed for the overrun mark
// m, or nil.
func (c *Conn) takeMarkCause(m *Message) error {
	if m.Header.Sequence == 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cause := c.markCauses[m.Header.Sequence]
	delete(c.markCauses, m.Header.Sequence)
	return cause
}
