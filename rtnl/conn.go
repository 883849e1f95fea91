package rtnl

import (
	"context"
	"fmt"
	"iter"
	"runtime"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/compat"
)

// Family is an address family in a portable numbering: the same Go value
// on every OS, translated to the kernel's AF_* number (AF_INET6 is 10 on
// Linux and 28 on FreeBSD) at the edge.
type Family uint8

// Address families.
const (
	// Unspec, in a Filter, means both IPv4 and IPv6.
	Unspec Family = 0
	IPv4   Family = 4
	IPv6   Family = 6
)

// String returns "inet", "inet6" or "unspec", iproute2's names.
func (f Family) String() string {
	switch f {
	case IPv4:
		return "inet"
	case IPv6:
		return "inet6"
	}
	return "unspec"
}

// Conn is a typed rtnetlink connection over a *netlink.Conn. It is safe for
// concurrent use, as the netlink.Conn is. Values it returns are owned by
// the caller.
//
// The listings (Links, Addresses, Routes, Neighbors, Resync) and the
// lookups Route, Address and Neighbor run a dump, and Linux runs one dump
// per socket: one of them started inside another's loop on the same Conn
// waits for that loop to end, so it fails when its context ends (the error
// says what it waited for). Use a second Conn for nested listings. Link and
// LinkByName are single requests and may be called inside a loop.
type Conn struct {
	nl    *netlink.Conn
	facts compat.Facts
	own   bool
}

// Dial opens a NETLINK_ROUTE socket with cfg (nil: defaults; cfg.NetNS
// selects a network namespace on Linux) and returns a Conn over it.
func Dial(cfg *netlink.Config) (*Conn, error) {
	nl, err := netlink.Dial(netlink.Route, cfg)
	if err != nil {
		return nil, err
	}
	return &Conn{nl: nl, facts: compat.Host(), own: true}, nil
}

// NewConn returns a Conn over an existing netlink.Conn that speaks the
// rtnetlink dialect of facts (compat.Host() for a kernel socket; another OS's
// facts for tests with captured messages). Close does not close nl.
func NewConn(nl *netlink.Conn, facts compat.Facts) *Conn {
	return &Conn{nl: nl, facts: facts}
}

// Close closes the netlink.Conn if Dial opened it.
func (c *Conn) Close() error {
	if c.own {
		return c.nl.Close()
	}
	return nil
}

// Netlink returns the underlying connection.
func (c *Conn) Netlink() *netlink.Conn { return c.nl }

// Facts returns the OS dialect the Conn speaks.
func (c *Conn) Facts() compat.Facts { return c.facts }

// MainTable returns the number of the main routing table: 254 on Linux,
// 0 (fib 0) on FreeBSD.
func (c *Conn) MainTable() uint32 { return c.facts.RTTableMain }

// Filter narrows a listing. The zero Filter lists everything: both
// families, every link and every routing table.
type Filter struct {
	// Family keeps IPv4 or IPv6 only; Unspec keeps both.
	Family Family
	// LinkIndex keeps objects of this interface only (a route's output
	// interface, or one of its next hops'); 0 keeps all.
	LinkIndex int
	// Table keeps routes of this table only when HasTable is set (in the
	// OS's numbering; see Conn.MainTable).
	Table    uint32
	HasTable bool
	// Stats asks Links for the per-protocol counters (Linux: the IPv6 and
	// ICMPv6 statistics in IFLA_AF_SPEC). Without it the kernel is told to
	// skip them (RTEXT_FILTER_SKIP_STATS), which makes a link dump about
	// twice as fast, since summing those per-CPU counters is most of its
	// work. The link counters (IFLA_STATS64, Link.Stats) come either way.
	Stats bool
}

// InTable returns a Filter for the routes of table t.
func InTable(t uint32) Filter { return Filter{Table: t, HasTable: true} }

// rawFamily converts a portable family to the kernel's AF_* value.
func rawFamily(f compat.Facts, fam Family) uint8 {
	switch fam {
	case IPv4:
		return uint8(f.AFInet)
	case IPv6:
		return uint8(f.AFInet6)
	}
	return compat.AFUnspec
}

// familyOf converts a kernel AF_* value; ok is false for families other
// than IPv4 and IPv6 (MPLS, bridge, multicast routing, ...).
func familyOf(f compat.Facts, raw uint8) (Family, bool) {
	switch int(raw) {
	case f.AFInet:
		return IPv4, true
	case f.AFInet6:
		return IPv6, true
	}
	return Unspec, false
}

// notSupported returns an error wrapping compat.ErrNotSupported naming op.
func (c *Conn) notSupported(op string) error {
	return fmt.Errorf("rtnl: %s on %s/%s: %w", op, c.facts.OS, runtime.GOARCH, compat.ErrNotSupported)
}

// check reports an error wrapping ErrNotSupported when the OS has no handler
// for message type t.
func (c *Conn) check(op string, t uint16) error {
	if !c.facts.HasRouteMessage(t) {
		return c.notSupported(op)
	}
	return nil
}

// do sends a request and waits for its acknowledgement.
func (c *Conn) do(ctx context.Context, op string, typ uint16, flags netlink.HeaderFlags, data []byte) error {
	if err := c.check(op, typ); err != nil {
		return err
	}
	req := netlink.Message{Header: netlink.Header{Type: netlink.HeaderType(typ), Flags: flags}, Data: data}
	if _, err := c.nl.Do(ctx, req, func(netlink.Message) error { return nil }); err != nil {
		return fmt.Errorf("rtnl: %s: %w", op, err)
	}
	return nil
}

// get sends a do-request whose reply is one object and decodes it.
func get[T any](ctx context.Context, c *Conn, op string, typ uint16, data []byte, dec func(compat.Facts, []byte) (T, error)) (T, error) {
	var (
		out  T
		got  bool
		derr error
	)
	if err := c.check(op, typ); err != nil {
		return out, err
	}
	req := netlink.Message{Header: netlink.Header{Type: netlink.HeaderType(typ)}, Data: data}
	_, err := c.nl.Do(ctx, req, func(m netlink.Message) error {
		if got || derr != nil {
			return nil
		}
		out, derr = dec(c.facts, m.Data)
		got = derr == nil
		return nil
	})
	if err == nil {
		err = derr
	}
	if err == nil && !got {
		err = fmt.Errorf("no reply")
	}
	if err != nil {
		return out, fmt.Errorf("rtnl: %s: %w", op, err)
	}
	return out, nil
}

// errSkip, from a decoder, drops a message that is valid but not of a
// kind the listing returns (another address family).
var errSkip = fmt.Errorf("skip")

// list streams a dump, decoding each message with dec and keeping those
// keep accepts.
func list[T any](ctx context.Context, c *Conn, op string, typ uint16, data []byte,
	dec func(compat.Facts, []byte, *T, *arena) error, keep func(*T) bool) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		var ar arena
		if err := c.check(op, typ); err != nil {
			yield(zero, err)
			return
		}
		req := netlink.Message{Header: netlink.Header{Type: netlink.HeaderType(typ)}, Data: data}
		// One value, reused: dec gets a pointer to it, which would make a
		// per-iteration variable escape, one allocation per object.
		v := new(T)
		for m, err := range c.nl.Dump(ctx, req) {
			if err != nil {
				yield(zero, fmt.Errorf("rtnl: %s: %w", op, err))
				return
			}
			if uint16(m.Header.Type) != typ-2 { // RTM_NEWxxx = RTM_GETxxx - 2
				continue
			}
			*v = zero
			if err := dec(c.facts, m.Data, v, &ar); err != nil {
				if err == errSkip {
					continue
				}
				if !yield(zero, fmt.Errorf("rtnl: %s: %w", op, err)) {
					return
				}
				continue
			}
			if keep != nil && !keep(v) {
				continue
			}
			if !yield(*v, nil) {
				return
			}
		}
	}
}

// arenaBlock is the size of the blocks an arena hands out memory from.
const arenaBlock = 16 << 10

// arena hands out the memory that the values of one listing keep, carved
// from blocks of arenaBlock bytes, so that a listing makes one allocation
// per block rather than one per value. A value kept after its listing
// keeps its whole block alive: at most arenaBlock bytes, shared with the
// values listed beside it. An exact arena has one block, given at its
// making, and allocates what does not fit on its own.
type arena struct {
	free  []byte
	exact bool
}

// reserve returns an empty slice with room for n bytes, the arena's next;
// commit takes the bytes then appended to it (within that room) for good.
// Nothing else may be taken from the arena in between.
func (a *arena) reserve(n int) []byte {
	if len(a.free) < n {
		if a.exact || n > arenaBlock/4 {
			return make([]byte, 0, n)
		}
		a.free = make([]byte, arenaBlock)
	}
	return a.free[:0:n]
}

// commit takes b, appended to the last reserve's slice, for good and
// returns it with its capacity cut to its length.
func (a *arena) commit(b []byte) []byte {
	if len(a.free) >= len(b) && len(b) > 0 && &a.free[0] == &b[0] {
		a.free = a.free[len(b):]
	}
	return b[:len(b):len(b)]
}

// alloc returns n zeroed bytes, their capacity n.
func (a *arena) alloc(n int) []byte {
	if n == 0 {
		return nil
	}
	b := a.reserve(n)[:n]
	return a.commit(b)
}

// unpooled adapts a decoder that allocates what it keeps itself.
func unpooled[T any](dec func(compat.Facts, []byte, *T) error) func(compat.Facts, []byte, *T, *arena) error {
	return func(f compat.Facts, b []byte, v *T, _ *arena) error { return dec(f, b, v) }
}

// extra appends the raw attribute at the decoder's position to dst, in wire
// form, so that attributes this package does not decode are kept.
func extra(dst []byte, ad *netlink.AttributeDecoder) []byte {
	var ae netlink.AttributeEncoder
	ae.Reset(dst)
	ae.Raw(ad.TypeFlags(), ad.Bytes())
	b, _ := ae.Bytes()
	return b
}

// Attrs iterates over attributes in wire form, such as the Extra field of a
// typed value: it yields each attribute's type (without the nested and
// byte-order flags) and payload.
func Attrs(b []byte) iter.Seq2[uint16, []byte] {
	return func(yield func(uint16, []byte) bool) {
		ad := netlink.NewAttributeDecoder(b)
		for ad.Next() {
			if !yield(ad.Type(), ad.Bytes()) {
				return
			}
		}
	}
}
