package genl

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nlbus/netlink"
)

// Conn is a generic-netlink connection over a *netlink.Conn: to the kernel
// (Dial) or to any other transport, such as the bus (NewConn). It talks to
// the controller at port 0 with message type CtrlID and assumes nothing
// else about what is on the other side.
//
// All methods are safe for concurrent use.
type Conn struct {
	c     *netlink.Conn
	cache cache
	// cacheMaxAge bounds the age of cached families (0: until a
	// notification); see EnableCache.
	cacheMaxAge time.Duration

	doMu  sync.Mutex
	doers []*doer // idle, at most maxIdleDoers

	mu     sync.Mutex // guards the fields below
	closed bool
	sub    *netlink.Conn
	cancel context.CancelFunc
	done   chan struct{}
}

// NewConn returns a Conn over c. The Conn owns c: Close closes it.
func NewConn(c *netlink.Conn) *Conn {
	return &Conn{c: c, cacheMaxAge: defaultCacheMaxAge()}
}

// Dial opens a kernel NETLINK_GENERIC socket with cfg (nil: defaults) and
// returns a Conn over it.
func Dial(cfg *netlink.Config) (*Conn, error) {
	c, err := netlink.Dial(netlink.Generic, cfg)
	if err != nil {
		return nil, err
	}
	return NewConn(c), nil
}

// Netlink returns the underlying netlink connection, for instance to
// receive the notifications of a group joined with JoinGroup.
func (c *Conn) Netlink() *netlink.Conn { return c.c }

// Close stops the cache's watcher, closes its subscription connection and
// closes the underlying connection. It is safe to call more than once.
func (c *Conn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	sub, cancel, done := c.sub, c.cancel, c.done
	c.mu.Unlock()
	if cancel != nil {
		cancel()
		sub.Close()
		<-done
	}
	return c.c.Close()
}

// request builds the netlink request for msg to family.
func request(msg Message, family uint16, flags netlink.HeaderFlags) netlink.Message {
	data := make([]byte, 0, HeaderLen+len(msg.Data))
	return netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(family), Flags: flags},
		Data:   msg.Append(data),
	}
}

// Every method that addresses a family takes it right after the context,
// by ID (Execute, Do, Dump) or by name (ExecuteFamily, DoFamily,
// DumpFamily), then the message, then the flags, then the callback.

// Execute sends msg to the family with ID family and returns the replies,
// which the caller owns. Flags are added to the request's (NLM_F_REQUEST is
// always set; a request without the Dump flags also gets NLM_F_ACK and its
// acknowledgement is consumed). Errors are *netlink.OpError values wrapping
// the errno the family replied with. An interrupted dump returns its partial
// result with an error wrapping netlink.ErrDumpInterrupted.
func (c *Conn) Execute(ctx context.Context, family uint16, msg Message, flags netlink.HeaderFlags) ([]Message, error) {
	msgs, err := c.c.Execute(ctx, request(msg, family, flags))
	out := make([]Message, 0, len(msgs))
	for _, m := range msgs {
		gm, perr := ParseMessage(m.Data)
		if perr != nil {
			return out, perr
		}
		out = append(out, gm)
	}
	return out, err
}

// Do sends msg to the family with ID family and calls fn for each reply,
// as netlink.Conn.Do does: the Message passed to fn is borrowed (its Data
// is valid only until fn returns), an error from fn stops the calls to fn
// and is returned once the replies are consumed, and the final
// acknowledgement is returned. flags are added as for Execute. Do allocates
// nothing once the Conn has served a request of the same size.
func (c *Conn) Do(ctx context.Context, family uint16, msg Message, flags netlink.HeaderFlags, fn func(Message) error) (netlink.Ack, error) {
	d := c.getDoer()
	d.buf = msg.Append(d.buf[:0])
	d.fn = fn
	ack, err := c.c.Do(ctx, netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(family), Flags: flags},
		Data:   d.buf,
	}, d.nlfn)
	if err == nil {
		err = d.err
	}
	c.putDoer(d)
	return ack, err
}

// doer holds what one Do needs and reuses: the request's buffer and the
// netlink callback, built once, that parses each reply and hands it to fn.
// Conns keep idle ones so that Do allocates nothing.
type doer struct {
	buf  []byte
	fn   func(Message) error
	err  error // a reply that was not a generic-netlink message
	nlfn func(netlink.Message) error

	// GETFAMILY: the request is encoded with ae (into buf), famFn decodes
	// the first reply into fam; name is the name asked for, whose string
	// the Family reuses when the reply carries the same name.
	ae    netlink.AttributeEncoder
	name  string
	fam   Family
	found bool
	famFn func(netlink.Message) error
}

func newDoer() *doer {
	d := new(doer)
	d.nlfn = func(m netlink.Message) error {
		gm, err := ParseMessage(m.Data)
		if err != nil {
			d.err = err
			return err
		}
		return d.fn(gm)
	}
	d.famFn = func(m netlink.Message) error {
		if d.found {
			return nil
		}
		gm, err := ParseMessage(m.Data)
		if err != nil {
			return err
		}
		if err := d.fam.unmarshal(gm.Data, d.name); err != nil {
			return err
		}
		d.found = true
		return nil
	}
	return d
}

// Bounds of the idle doers a Conn keeps: how many (one per goroutine that
// calls Do at once, up to this), and how large a request buffer (a rare
// huge request does not pin its buffer).
const (
	maxIdleDoers     = 16
	maxPooledRequest = 64 << 10
)

func (c *Conn) getDoer() *doer {
	c.doMu.Lock()
	if n := len(c.doers); n > 0 {
		d := c.doers[n-1]
		c.doers = c.doers[:n-1]
		c.doMu.Unlock()
		return d
	}
	c.doMu.Unlock()
	return newDoer()
}

func (c *Conn) putDoer(d *doer) {
	d.fn, d.err, d.name, d.fam = nil, nil, "", Family{}
	d.ae.Reset(nil)
	if cap(d.buf) > maxPooledRequest {
		d.buf = nil
	}
	c.doMu.Lock()
	if len(c.doers) < maxIdleDoers {
		c.doers = append(c.doers, d)
	}
	c.doMu.Unlock()
}

// Dump sends msg as a dump request to the family with ID family and returns
// an iterator over the replies. Each message is borrowed: its Data is valid
// until the next iteration. An error ends the iteration as the last pair;
// breaking out early abandons the rest of the dump, which the underlying
// netlink.Conn discards as it reads on (the next dump still succeeds at its
// first try).
func (c *Conn) Dump(ctx context.Context, family uint16, msg Message) iter.Seq2[Message, error] {
	return func(yield func(Message, error) bool) {
		for m, err := range c.c.Dump(ctx, request(msg, family, 0)) {
			if err != nil {
				yield(Message{}, err)
				return
			}
			gm, perr := ParseMessage(m.Data)
			if perr != nil {
				yield(Message{}, perr)
				return
			}
			if !yield(gm, nil) {
				return
			}
		}
	}
}

// ExecuteFamily is Execute addressed by family name, resolved through the
// cache (see EnableCache) or the controller.
func (c *Conn) ExecuteFamily(ctx context.Context, family string, msg Message, flags netlink.HeaderFlags) ([]Message, error) {
	f, err := c.resolve(ctx, family)
	if err != nil {
		return nil, err
	}
	return c.Execute(ctx, f.ID, msg, flags)
}

// DoFamily is Do addressed by family name, resolved through the cache (see
// EnableCache) or the controller. With the cache on and the family cached,
// it allocates nothing either.
func (c *Conn) DoFamily(ctx context.Context, family string, msg Message, flags netlink.HeaderFlags, fn func(Message) error) (netlink.Ack, error) {
	f, err := c.resolve(ctx, family)
	if err != nil {
		return netlink.Ack{}, err
	}
	return c.Do(ctx, f.ID, msg, flags, fn)
}

// DumpFamily is Dump addressed by family name, resolved through the cache
// (see EnableCache) or the controller.
func (c *Conn) DumpFamily(ctx context.Context, family string, msg Message) iter.Seq2[Message, error] {
	return func(yield func(Message, error) bool) {
		f, err := c.resolve(ctx, family)
		if err != nil {
			yield(Message{}, err)
			return
		}
		for m, err := range c.Dump(ctx, f.ID, msg) {
			if !yield(m, err) {
				return
			}
		}
	}
}

// ctrlRequest encodes a controller request into buf, growing it if needed.
func ctrlRequest(buf []byte, cmd uint8, enc func(ae *netlink.AttributeEncoder)) ([]byte, error) {
	var ae netlink.AttributeEncoder
	ae.Reset(append(buf[:0], cmd, 1, 0, 0))
	enc(&ae)
	return ae.Bytes()
}

// GetFamily asks the controller for the family called name (a round trip
// every call; see LookupFamily for the cached lookup). An unknown name gives
// a *NotFoundError; a name no family can have (empty, longer than NameMax,
// or holding a NUL) an error wrapping os.ErrInvalid, without asking.
func (c *Conn) GetFamily(ctx context.Context, name string) (Family, error) {
	if err := checkName(name); err != nil {
		return Family{}, fmt.Errorf("genl: get family %q: %w", name, err)
	}
	d := c.getDoer()
	d.ae.Reset(append(d.buf[:0], CmdGetFamily, 1, 0, 0))
	d.ae.String(attrFamilyName, name)
	d.name = name
	return c.lookup(ctx, d, NotFoundError{Family: name})
}

// GetFamilyByID asks the controller for the family with ID id. An unknown
// ID gives a *NotFoundError; an ID below CtrlID, which no family can have,
// an error wrapping os.ErrInvalid, without asking.
func (c *Conn) GetFamilyByID(ctx context.Context, id uint16) (Family, error) {
	if id < CtrlID {
		return Family{}, fmt.Errorf("genl: get family id %d: %w: family IDs start at %d (GENL_ID_CTRL)", id, os.ErrInvalid, CtrlID)
	}
	d := c.getDoer()
	d.ae.Reset(append(d.buf[:0], CmdGetFamily, 1, 0, 0))
	d.ae.Uint16(attrFamilyID, id)
	return c.lookup(ctx, d, NotFoundError{ID: id})
}

// lookup sends the GETFAMILY request d.ae holds and gives d back. key names
// the family asked for (by name or by ID); it becomes the *NotFoundError
// when the controller knows no such family, and is built into nothing on
// success.
func (c *Conn) lookup(ctx context.Context, d *doer, key NotFoundError) (Family, error) {
	f, err := c.getFamily(ctx, d)
	c.putDoer(d)
	switch {
	case err == nil:
		return f, nil
	case isNoEntry(err) || errors.Is(err, errNoReply):
		nf := new(NotFoundError) // a copy: taking &key would move it to the heap on every call
		*nf = key
		nf.Err = err
		return Family{}, nf
	case key.Family != "":
		return Family{}, fmt.Errorf("genl: get family %q: %w", key.Family, err)
	}
	return Family{}, fmt.Errorf("genl: get family id %d: %w", key.ID, err)
}

// checkName reports a name no family can have, wrapping os.ErrInvalid.
func checkName(name string) error {
	if name == "" || len(name) > NameMax || strings.IndexByte(name, 0) >= 0 {
		return errInvalidName
	}
	return nil
}

var errInvalidName = fmt.Errorf("%w: a family name is 1 to %d bytes without NUL", os.ErrInvalid, NameMax)

var errNoReply = errors.New("the controller acknowledged without a reply")

// getFamily sends the GETFAMILY request d.ae holds and decodes the reply
// straight from the receive buffer into the Family it returns. A GETFAMILY
// of one family always gets exactly one reply or an error (Linux, FreeBSD
// and the bus), so it asks for no ACK (netlink.Conn.Query): one read fewer.
func (c *Conn) getFamily(ctx context.Context, d *doer) (Family, error) {
	data, err := d.ae.Bytes()
	if err != nil {
		return Family{}, err
	}
	d.buf = data // keep the buffer, grown or not
	d.fam, d.found = Family{}, false
	req := netlink.Message{Header: netlink.Header{Type: netlink.HeaderType(CtrlID)}, Data: data}
	err = c.c.Query(ctx, req, d.famFn)
	f, found := d.fam, d.found
	if err == nil && !found {
		err = errNoReply
	}
	return f, err
}

// ListFamilies dumps the controller's families. With the cache enabled, it
// also refreshes the cache.
func (c *Conn) ListFamilies(ctx context.Context) ([]Family, error) {
	gen, on := c.cache.generation()
	data, err := ctrlRequest(nil, CmdGetFamily, func(*netlink.AttributeEncoder) {})
	if err != nil {
		return nil, err
	}
	var out []Family
	req := netlink.Message{Header: netlink.Header{Type: netlink.HeaderType(CtrlID)}, Data: data}
	for m, err := range c.c.Dump(ctx, req) {
		if err != nil {
			return out, fmt.Errorf("genl: list families: %w", err)
		}
		gm, err := ParseMessage(m.Data)
		if err != nil {
			return out, err
		}
		var f Family
		if err := f.UnmarshalAttributes(gm.Data); err != nil {
			return out, err
		}
		out = append(out, f)
	}
	if on {
		for i := range out {
			f := out[i].Clone()
			c.cache.store(&f, gen)
		}
	}
	return out, nil
}

// LookupFamily returns the family called name from the cache, asking the
// controller (and caching the answer) on a miss. Without EnableCache it is
// GetFamily. The result is the caller's own copy.
func (c *Conn) LookupFamily(ctx context.Context, name string) (Family, error) {
	f, err := c.resolve(ctx, name)
	if err != nil {
		return Family{}, err
	}
	return f.Clone(), nil
}

// resolve returns the family called name; the result may be the cache's
// entry, which must not be modified.
func (c *Conn) resolve(ctx context.Context, name string) (*Family, error) {
	f, gen, on := c.cache.lookup(name)
	if f != nil {
		return f, nil
	}
	nf, err := c.GetFamily(ctx, name)
	if err != nil {
		return nil, err
	}
	if on {
		c.cache.store(&nf, gen)
	}
	return &nf, nil
}

// GroupID returns the ID of the multicast group called group of the family
// called family, resolved through the cache or the controller; join it on
// any connection of the same transport with netlink.Conn.JoinGroup. An
// unknown family or group gives a *NotFoundError.
func (c *Conn) GroupID(ctx context.Context, family, group string) (uint32, error) {
	f, err := c.resolve(ctx, family)
	if err != nil {
		return 0, err
	}
	g, ok := f.Group(group)
	if !ok {
		return 0, &NotFoundError{Family: family, Group: group}
	}
	return g.ID, nil
}

// JoinGroup joins, on the underlying connection, the multicast group called
// group of the family called family. Its messages then arrive through
// Netlink().Receive.
func (c *Conn) JoinGroup(ctx context.Context, family, group string) error {
	id, err := c.GroupID(ctx, family, group)
	if err != nil {
		return err
	}
	return c.c.JoinGroup(id)
}

// LeaveGroup leaves the multicast group called group of the family called
// family.
func (c *Conn) LeaveGroup(ctx context.Context, family, group string) error {
	id, err := c.GroupID(ctx, family, group)
	if err != nil {
		return err
	}
	return c.c.LeaveGroup(id)
}

// GetPolicy dumps the policies of every operation of the family called
// family (CTRL_CMD_GETPOLICY). A family without policies gives an empty
// Policy. A controller without GETPOLICY (FreeBSD's) gives an error
// wrapping netlink.ErrNotSupported; an unknown family a *NotFoundError.
func (c *Conn) GetPolicy(ctx context.Context, family string) (*Policy, error) {
	return c.getPolicy(ctx, family, 0, false)
}

// GetOpPolicy is GetPolicy restricted to operation op: its OpPolicy and the
// tables reachable from it.
func (c *Conn) GetOpPolicy(ctx context.Context, family string, op uint32) (*Policy, error) {
	return c.getPolicy(ctx, family, op, true)
}

func (c *Conn) getPolicy(ctx context.Context, family string, op uint32, hasOp bool) (*Policy, error) {
	if err := checkName(family); err != nil {
		return nil, fmt.Errorf("genl: policy of %q: %w", family, err)
	}
	data, err := ctrlRequest(nil, CmdGetPolicy, func(ae *netlink.AttributeEncoder) {
		ae.String(attrFamilyName, family)
		if hasOp {
			ae.Uint32(attrOp, op)
		}
	})
	if err != nil {
		return nil, err
	}
	var pb policyBuilder
	req := netlink.Message{Header: netlink.Header{Type: netlink.HeaderType(CtrlID)}, Data: data}
	for m, err := range c.c.Dump(ctx, req) {
		if err != nil {
			switch {
			case isNotSupported(err):
				return nil, fmt.Errorf("genl: policy of %q: the controller has no CTRL_CMD_GETPOLICY: %w: %w", family, netlink.ErrNotSupported, err)
			case isNoEntry(err):
				if hasOp {
					return nil, fmt.Errorf("genl: policy of %q: no operation %d: %w", family, op, err)
				}
				return nil, &NotFoundError{Family: family, Err: err}
			case isNoData(err):
				p := pb.finish()
				p.Family = family
				return p, nil
			}
			return nil, fmt.Errorf("genl: policy of %q: %w", family, err)
		}
		gm, err := ParseMessage(m.Data)
		if err != nil {
			return nil, err
		}
		if err := pb.add(gm.Data); err != nil {
			return nil, err
		}
	}
	if hasOp {
		pb.remapOps([]Op{{ID: op}})
	} else if slices.ContainsFunc(pb.p.Ops, func(o OpPolicy) bool { return o.Op == 0 }) {
		f, err := c.GetFamily(ctx, family)
		if err != nil {
			return nil, err
		}
		pb.remapOps(f.Ops)
	}
	p := pb.finish()
	p.Family = family
	return p, nil
}
