package rtnl

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync/atomic"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/compat"
)

// Kinds selects object kinds for a Monitor or Resync.
type Kinds uint8

// Object kinds.
const (
	KindLink Kinds = 1 << iota
	KindAddress
	KindRoute
	KindNeighbor

	KindAll = KindLink | KindAddress | KindRoute | KindNeighbor
)

// groups returns the multicast groups carrying the kinds' notifications
// (RTNLGRP_*, the same on Linux and FreeBSD).
func (k Kinds) groups() []uint32 {
	var g []uint32
	if k&KindLink != 0 {
		g = append(g, compat.RtnlgrpLink)
	}
	if k&KindAddress != 0 {
		g = append(g, compat.RtnlgrpIPv4Ifaddr, compat.RtnlgrpIPv6Ifaddr)
	}
	if k&KindRoute != 0 {
		g = append(g, compat.RtnlgrpIPv4Route, compat.RtnlgrpIPv6Route)
	}
	if k&KindNeighbor != 0 {
		g = append(g, compat.RtnlgrpNeigh)
	}
	return g
}

// EventType says what an Event reports.
type EventType uint8

// Event types. Overrun means the kernel dropped notifications: the caller's
// view is stale and should be rebuilt (Conn.Resync).
const (
	NewLink EventType = iota + 1
	DelLink
	NewAddress
	DelAddress
	NewRoute
	DelRoute
	NewNeighbor
	DelNeighbor
	Overrun
)

var eventNames = [...]string{"", "newlink", "dellink", "newaddr", "deladdr", "newroute", "delroute", "newneigh", "delneigh", "overrun"}

// String returns a short name such as "newroute" or "overrun".
func (t EventType) String() string {
	if int(t) < len(eventNames) {
		return eventNames[t]
	}
	return fmt.Sprintf("event(%d)", t)
}

// Event is one change: exactly one of the pointers is set, matching Type,
// except for Overrun, which carries none.
type Event struct {
	Type     EventType
	Link     *Link
	Address  *Address
	Route    *Route
	Neighbor *Neighbor
}

// Monitor delivers the kernel's link, address, route and neighbour
// notifications as typed events, in the order the kernel sent them, from
// one socket subscribed to their groups. When the kernel drops
// notifications (the socket's receive buffer overflowed) the Monitor
// reports an Overrun event and carries on. Linux does not say where the
// loss was, only that there was one; the Overrun comes after every event
// that may predate it (the events still queued when the kernel reported
// it), so a caller that rebuilds its view at the Overrun (Conn.Resync) and
// applies the events after it never applies an older event on top. A
// Monitor is for one goroutine at a time.
type Monitor struct {
	nl      *netlink.Conn
	facts   compat.Facts
	own     bool
	closed  atomic.Bool
	pending []pendingEvent
	head    int
}

type pendingEvent struct {
	ev  Event
	err error
}

// NewMonitor opens a NETLINK_ROUTE socket with cfg (nil: defaults; NetNS
// and SocketReceiveBuffer are honoured) subscribed to the groups of kinds.
func NewMonitor(cfg *netlink.Config, kinds Kinds) (*Monitor, error) {
	var c netlink.Config
	if cfg != nil {
		c = *cfg
	}
	c.Groups = append(append([]uint32(nil), c.Groups...), kinds.groups()...)
	nl, err := netlink.Dial(netlink.Route, &c)
	if err != nil {
		return nil, err
	}
	return &Monitor{nl: nl, facts: compat.Host(), own: true}, nil
}

// NewMonitorConn returns a Monitor over nl, a Conn already subscribed to
// the groups wanted, speaking the dialect of facts. Close does not close nl.
func NewMonitorConn(nl *netlink.Conn, facts compat.Facts) *Monitor {
	return &Monitor{nl: nl, facts: facts}
}

// Close closes the socket if NewMonitor opened it.
func (m *Monitor) Close() error {
	m.closed.Store(true)
	if m.own {
		return m.nl.Close()
	}
	return nil
}

// Netlink returns the underlying connection.
func (m *Monitor) Netlink() *netlink.Conn { return m.nl }

// Next returns the next event, waiting for one until ctx is done. An
// overrun is returned as an Event of type Overrun, never as an error. A
// notification that does not decode is skipped and its error returned; the
// Monitor stays usable. Other errors come from the socket (a cancelled
// context, a closed Conn). After Close, Next returns an error wrapping
// netlink.ErrClosed, even for events it had read before.
func (m *Monitor) Next(ctx context.Context) (Event, error) {
	for {
		if m.closed.Load() {
			m.pending, m.head = nil, 0
			return Event{}, fmt.Errorf("rtnl: monitor: %w", netlink.ErrClosed)
		}
		if m.head < len(m.pending) {
			p := m.pending[m.head]
			m.pending[m.head] = pendingEvent{}
			m.head++
			return p.ev, p.err
		}
		m.pending, m.head = m.pending[:0], 0
		// Messages are decoded straight from the receive buffer: only
		// what the typed values keep is copied.
		err := m.nl.ReceiveBorrowed(ctx, func(msg netlink.Message) {
			ev, ok, err := decodeEvent(m.facts, msg)
			if ok || err != nil {
				m.pending = append(m.pending, pendingEvent{ev, err})
			}
		})
		if err != nil {
			if errors.Is(err, netlink.ErrOverrun) {
				return Event{Type: Overrun}, nil
			}
			return Event{}, err
		}
	}
}

// Events returns an iterator over Next's events. It ends only when ctx is
// done or the socket fails; decoding errors are yielded and iteration goes
// on.
func (m *Monitor) Events(ctx context.Context) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		for {
			ev, err := m.Next(ctx)
			if err != nil && (ctx.Err() != nil || errors.Is(err, netlink.ErrClosed)) {
				yield(ev, err)
				return
			}
			if !yield(ev, err) {
				return
			}
		}
	}
}

// DecodeEvent decodes a notification of the OS f; ok is false for message
// types and families a Monitor does not report.
func DecodeEvent(f compat.Facts, msg netlink.Message) (ev Event, ok bool, err error) {
	return decodeEvent(f, msg)
}

func decodeEvent(f compat.Facts, msg netlink.Message) (Event, bool, error) {
	var err error
	switch t := uint16(msg.Header.Type); t {
	case compat.RtmNewLink, compat.RtmDelLink:
		l := new(Link)
		if err = decodeLink(f, msg.Data, l, nil); err == nil {
			return Event{Type: pick(t == compat.RtmNewLink, NewLink, DelLink), Link: l}, true, nil
		}
	case compat.RtmNewAddr, compat.RtmDelAddr:
		a := new(Address)
		if err = decodeAddress(f, msg.Data, a); err == nil {
			return Event{Type: pick(t == compat.RtmNewAddr, NewAddress, DelAddress), Address: a}, true, nil
		}
	case compat.RtmNewRoute, compat.RtmDelRoute:
		r := new(Route)
		if err = decodeRoute(f, msg.Data, r); err == nil {
			return Event{Type: pick(t == compat.RtmNewRoute, NewRoute, DelRoute), Route: r}, true, nil
		}
	case compat.RtmNewNeigh, compat.RtmDelNeigh:
		n := new(Neighbor)
		if err = decodeNeighbor(f, msg.Data, n); err == nil {
			return Event{Type: pick(t == compat.RtmNewNeigh, NewNeighbor, DelNeighbor), Neighbor: n}, true, nil
		}
	default:
		return Event{}, false, nil
	}
	if err == errSkip {
		return Event{}, false, nil
	}
	return Event{}, false, fmt.Errorf("rtnl: decode %s notification: %w", msg.Header.Type, err)
}

func pick(c bool, a, b EventType) EventType {
	if c {
		return a
	}
	return b
}

// Resync lists the current state of the kinds as New* events (links, then
// addresses, routes and neighbours), for a caller that rebuilds its view
// after an Overrun. Use a Conn other than the Monitor's. A dump the kernel
// flags as interrupted (the data changed during it, so it may have skipped
// objects) is run again, up to four times in all, so its New* events may
// come more than once; a failed dump is yielded as an error and Resync goes
// on with the next kind.
//
// The Monitor delivers an Overrun after every event that may predate the
// loss, so a caller that replaces its view with Resync's and then applies
// the events after the Overrun converges on the kernel's state.
func (c *Conn) Resync(ctx context.Context, kinds Kinds) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		if kinds&KindLink != 0 && !resync(ctx, func() iter.Seq2[Link, error] { return c.Links(ctx, Filter{}) }, NewLink, func(ev *Event, l *Link) { ev.Link = l }, yield) {
			return
		}
		if kinds&KindAddress != 0 && !resync(ctx, func() iter.Seq2[Address, error] { return c.Addresses(ctx, Filter{}) }, NewAddress, func(ev *Event, a *Address) { ev.Address = a }, yield) {
			return
		}
		if kinds&KindRoute != 0 && !resync(ctx, func() iter.Seq2[Route, error] { return c.Routes(ctx, Filter{}) }, NewRoute, func(ev *Event, r *Route) { ev.Route = r }, yield) {
			return
		}
		if kinds&KindNeighbor != 0 {
			resync(ctx, func() iter.Seq2[Neighbor, error] { return c.Neighbors(ctx, Filter{}) }, NewNeighbor, func(ev *Event, n *Neighbor) { ev.Neighbor = n }, yield)
		}
	}
}

// resyncAttempts bounds how many times Resync runs one kind's dump that
// the kernel flags as interrupted.
const resyncAttempts = 4

func resync[T any](ctx context.Context, list func() iter.Seq2[T, error], typ EventType, set func(*Event, *T), yield func(Event, error) bool) bool {
	for attempt := 1; ; attempt++ {
		interrupted := false
		for v, err := range list() {
			if err != nil {
				// An interrupted dump may have skipped objects that did
				// not change: run it again rather than leave the caller
				// a view with holes.
				if errors.Is(err, netlink.ErrDumpInterrupted) && attempt < resyncAttempts && ctx.Err() == nil {
					interrupted = true
					break
				}
				return yield(Event{}, err) && ctx.Err() == nil
			}
			ev := Event{Type: typ}
			set(&ev, &v)
			if !yield(ev, nil) {
				return false
			}
		}
		if !interrupted {
			return true
		}
	}
}
