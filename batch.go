package netlink

import (
	"context"
	"errors"
	"slices"

	"github.com/nlbus/netlink/transport"
)

// BatchOptions configures Batch; nil means the defaults.
type BatchOptions struct {
	// OneDatagram sends every message in a single datagram. nf_tables
	// applies a batch (NFNL_MSG_BATCH_BEGIN, the changes,
	// NFNL_MSG_BATCH_END) only when all of it arrives at once. When the
	// datagram is larger than the socket's send buffer, or its ACKs would
	// not fit in the receive buffer, Batch raises them where the transport
	// allows (as root on Linux, beyond the sysctl limits) and otherwise
	// fails with the kernel's EMSGSIZE.
	OneDatagram bool
}

// BatchResult is the outcome of one message of a Batch.
type BatchResult struct {
	// Header is the message's header as sent, with its sequence number.
	Header Header
	// Replies are the replies to the message, copied.
	Replies []Message
	// Ack is the message's acknowledgement: Ack.Received is set when the
	// message carried NLM_F_ACK and was acknowledged.
	Ack Ack
	// Err is the error the message got: an *OpError wrapping the errno
	// (with its extended ack), or the failure that ended the batch before
	// the message's answer arrived.
	Err error
}

// Batch limits: datagrams of at most batchBytes, each with at most
// batchAcks messages that ask for an ACK, so that their ACKs (one datagram
// each, about a kilobyte of socket buffer) fit in a default receive buffer.
const (
	batchBytes   = 64 << 10
	batchAcks    = 64
	ackTruesize  = 1 << 10
	defaultRcvbf = 208 << 10
)

// Batch sends msgs in as few datagrams as fit (one with
// BatchOptions.OneDatagram), each message with its own sequence number
// (assigned where it has none) and NLM_F_REQUEST added, and returns one
// result per message, in order: its header as sent, its replies, its ACK,
// its error with extended ack; msgs itself is not modified. Messages of one
// datagram go to one destination, so a new datagram starts where Addr
// changes.
//
// Flags are the caller's: a message with NLM_F_ACK gets an ACK, one
// without gets an answer only when it fails. On a kernel Conn, Batch ends
// with a NLMSG_NOOP request with NLM_F_ACK: the kernel handles a socket's
// requests in order, so its ACK means every earlier answer has arrived. On
// other transports (the bus) every message is sent with NLM_F_ACK.
//
// The returned error is the first message's error, or the failure that
// ended the batch; results hold the details. Whether the messages before a
// failed one took effect depends on the protocol: an nf_tables batch is
// all or nothing, route changes are not.
func (c *Conn) Batch(ctx context.Context, msgs []Message, opts *BatchOptions) ([]BatchResult, error) {
	var o BatchOptions
	if opts != nil {
		o = *opts
	}
	res := make([]BatchResult, len(msgs))
	if len(msgs) == 0 {
		return res, nil
	}
	msgs = slices.Clone(msgs) // the caller's messages are left as they were
	kernel := c.kernel != (kernelFacts{})
	calls := make([]*call, len(msgs))
	defer func() {
		for _, cl := range calls {
			if cl != nil {
				c.finish(cl, !cl.end.completed && cl.end.awaitAck)
			}
		}
	}()
	acked := 0
	block := make([]call, len(msgs)) // one allocation for all the calls
	for i := range msgs {
		m := &msgs[i]
		m.Header.Flags |= Request
		if !kernel {
			m.Header.Flags |= Acknowledge
		}
		if m.Header.Sequence == 0 {
			m.Header.Sequence = c.nextSeq()
		}
		m.Header.Length = uint32(HeaderLen + len(m.Data))
		res[i].Header = m.Header
		end := ending{awaitAck: m.Header.Flags&Acknowledge != 0, echo: m.Header.Flags&Echo != 0}
		cl := &block[i]
		if end.awaitAck {
			cl.sig = make(chan struct{}, 1) // collect waits on it
		}
		cl, err := c.registerAt(cl, m.Header.Sequence, m.Addr.Port, end)
		if err != nil {
			return res, c.batchFail(res, 0, &OpError{Op: "batch", Err: err, Sequence: m.Header.Sequence})
		}
		calls[i] = cl
		if end.awaitAck {
			acked++
		}
	}
	if o.OneDatagram {
		c.sizeForBatch(msgs, acked)
	}

	var buf []byte
	for start := 0; start < len(msgs); {
		end, n := start, 0
		buf = buf[:0]
		for end < len(msgs) {
			m := msgs[end]
			ack := m.Header.Flags&Acknowledge != 0
			if end > start && !o.OneDatagram && (len(buf)+Align(HeaderLen+len(m.Data)) > batchBytes ||
				(ack && n == batchAcks) || m.Addr != msgs[start].Addr) {
				break
			}
			if end > start && o.OneDatagram && m.Addr != msgs[start].Addr {
				return res, c.batchFail(res, start, &OpError{Op: "batch", Err: errors.New("a single datagram has a single destination"), Sequence: m.Header.Sequence})
			}
			var err error
			if buf, err = AppendMessage(buf, m); err != nil {
				return res, c.batchFail(res, start, &OpError{Op: "batch", Err: err, Sequence: m.Header.Sequence})
			}
			if ack {
				n++
			}
			end++
		}
		if err := c.sendRaw(ctx, buf, msgs[start].Addr); err != nil {
			return res, c.batchFail(res, start, &OpError{Op: "batch", Err: err, Sequence: msgs[start].Header.Sequence})
		}
		// Read this datagram's answers before the next one goes out, so
		// that the ACKs never overrun the receive buffer.
		for i := start; i < end; i++ {
			if calls[i].end.awaitAck {
				if err := c.collect(ctx, calls[i], &res[i]); err != nil {
					return res, c.batchFail(res, i, err)
				}
			}
		}
		start = end
	}
	if kernel && acked < len(msgs) {
		// The barrier: its ACK comes after every earlier answer.
		seq := c.nextSeq()
		bar, err := c.register(seq, msgs[len(msgs)-1].Addr.Port, ending{awaitAck: true})
		if err != nil {
			return res, c.batchFail(res, len(msgs), &OpError{Op: "batch", Err: err})
		}
		calls = append(calls, bar)
		noop := Message{Header: Header{Type: Noop, Flags: Request | Acknowledge, Sequence: seq}, Addr: msgs[len(msgs)-1].Addr}
		buf, _ = AppendMessage(buf[:0], noop)
		if err := c.sendRaw(ctx, buf, noop.Addr); err != nil {
			return res, c.batchFail(res, len(msgs), &OpError{Op: "batch", Err: err})
		}
		var br BatchResult
		if err := c.collect(ctx, bar, &br); err != nil {
			return res, c.batchFail(res, len(msgs), err)
		}
	}
	// Answers to messages without NLM_F_ACK (errors, echoes) were queued
	// for their calls by whoever read them.
	for i, cl := range calls[:len(msgs)] {
		if cl.end.awaitAck {
			continue
		}
		c.mu.Lock()
		q := cl.q
		cl.q = nil
		c.mu.Unlock()
		for j := range q {
			cl.end.observe(&q[j])
			addResult(&res[i], &q[j])
		}
	}
	var first error
	for i := range res {
		if res[i].Err != nil {
			first = res[i].Err
			break
		}
	}
	return res, first
}

// sendRaw sends the datagram b, already marshalled, to dst.
func (c *Conn) sendRaw(ctx context.Context, b []byte, dst Addr) error {
	err := c.t.Send(ctx, b, dst)
	c.sends.Add(1)
	if err != nil && c.isClosed() {
		err = ErrClosed
	}
	return err
}

// collect reads until cl, a message of a batch, has its ACK or error, and
// records what it got in r.
func (c *Conn) collect(ctx context.Context, cl *call, r *BatchResult) error {
	err := c.run(ctx, cl, false, nil, func(m *Message) (bool, error) {
		final := cl.end.observe(m)
		addResult(r, m)
		return final, nil
	})
	if err != nil {
		var oe *OpError
		if !errors.As(err, &oe) {
			err = &OpError{Op: "batch", Err: err, Sequence: cl.seq}
		}
	}
	return err
}

// addResult records answer m in r.
func addResult(r *BatchResult, m *Message) {
	switch m.Header.Type {
	case Error, Done:
		code, ext, perr := ParseError(*m)
		switch {
		case perr != nil:
			r.Err = &OpError{Op: "batch", Err: perr, Sequence: m.Header.Sequence}
		case code != 0:
			r.Err = &OpError{Op: "batch", Err: code, ExtAck: ext, Sequence: m.Header.Sequence}
		default:
			r.Ack = Ack{ExtAck: ext, Received: true}
		}
	case Noop, Overrun:
	default:
		r.Replies = append(r.Replies, copyMessage(m))
	}
}

// batchFail records err as the result of every message from i on that has
// none, and returns it.
func (c *Conn) batchFail(res []BatchResult, i int, err error) error {
	for ; i < len(res); i++ {
		if res[i].Err == nil && !res[i].Ack.Received {
			res[i].Err = err
		}
	}
	return err
}

// sizeForBatch raises the socket buffers, where the transport can, so that
// a single datagram of msgs and the ACKs of acked messages fit.
func (c *Conn) sizeForBatch(msgs []Message, acked int) {
	bs, ok := c.t.(transport.BufferSizer)
	if !ok {
		return
	}
	size := 0
	for i := range msgs {
		size += Align(HeaderLen + len(msgs[i].Data))
	}
	if size+(64<<10) > defaultRcvbf {
		if err := bs.SetWriteBuffer(size + 64<<10); err != nil {
			c.log.Debug("batch: cannot raise the send buffer", "bytes", size, "error", err)
		}
	}
	if need := acked * ackTruesize * 2; need > defaultRcvbf {
		if err := bs.SetReadBuffer(need); err != nil {
			c.log.Debug("batch: cannot raise the receive buffer", "bytes", need, "error", err)
		}
	}
}
