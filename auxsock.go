package netlink

import (
	"context"
	"sync"
)

// auxPool holds the extra request sockets of a kernel Conn
// (Config.RequestSockets).
type auxPool struct {
	idle chan *Conn
	max  int
	dial func() (*Conn, error)
	nsfd int // the pool's copy of Config.NetNS, or 0

	mu     sync.Mutex
	opened []*Conn
	closed bool
}

// busy reports whether c has a request in flight, so that a new one would
// wait behind it on the shared socket.
func (c *Conn) busy() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls.len() > len(c.abandoned) || c.dumpHolder != nil
}

// takeAux returns an idle request socket, opening one while fewer than the
// maximum exist, or nil: then the request uses c's own socket.
func (c *Conn) takeAux() *Conn {
	p := c.aux
	select {
	case a := <-p.idle:
		return a
	default:
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || len(p.opened) >= p.max {
		return nil
	}
	a, err := p.dial()
	if err != nil {
		c.log.Debug("cannot open a request socket", "error", err)
		p.max = len(p.opened) // do not try again
		return nil
	}
	p.opened = append(p.opened, a)
	return a
}

func (c *Conn) putAux(a *Conn) {
	select {
	case c.aux.idle <- a:
	default:
		a.Close()
	}
}

// auxRequest runs the request on a request socket when the Conn has them,
// is busy, and the request may go elsewhere; ok is false when it did not.
func (c *Conn) auxRequest(ctx context.Context, req *Message, end ending, yield func(Message, error) bool, fn func(*Message) error) (Ack, bool, error) {
	if c.aux == nil || req.Addr.Port != 0 || req.Header.Flags&Echo != 0 || !c.busy() {
		return Ack{}, false, nil
	}
	a := c.takeAux()
	if a == nil {
		return Ack{}, false, nil
	}
	defer c.putAux(a)
	ack, err := a.request(ctx, *req, end, yield, fn)
	return ack, true, err
}

// closeAux closes the request sockets.
func (p *auxPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	for _, a := range p.opened {
		a.Close()
	}
	if p.nsfd > 0 {
		closeFD(p.nsfd)
	}
}

// addStats adds the request sockets' counters to st.
func (p *auxPool) addStats(st *Stats) {
	p.mu.Lock()
	opened := append([]*Conn(nil), p.opened...)
	p.mu.Unlock()
	for _, a := range opened {
		s := a.Stats()
		st.Overruns += s.Overruns
		st.Truncated += s.Truncated
		st.Malformed += s.Malformed
		st.Discarded += s.Discarded
		st.Late += s.Late
		st.Absorbed += s.Absorbed
		st.Sends += s.Sends
		st.Reads += s.Reads
	}
}
