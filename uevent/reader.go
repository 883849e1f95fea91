package uevent

import (
	"context"
	"fmt"
	"slices"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/compat"
)

// Protocol is NETLINK_KOBJECT_UEVENT, the protocol Dial opens (Linux only).
const Protocol = compat.NetlinkKobjectUevent

// Reader reads uevents from a NETLINK_KOBJECT_UEVENT Conn into one reused
// buffer. A Reader is for one goroutine at a time; the Conn it reads must
// not be read by anything else (see netlink.Conn.ReadDatagram).
type Reader struct {
	c   *netlink.Conn
	buf []byte
	ev  Event
}

// Dial opens a NETLINK_KOBJECT_UEVENT socket with cfg and returns a Reader
// over it. With a nil cfg, or one without Groups, it joins KernelGroup;
// join UdevGroup for udevd's messages, which udevd sends only in the
// initial network namespace. cfg.NetNS opens the socket in another network
// namespace: the kernel sends a network device's uevents to the namespace
// that owns the device. On systems without kernel netlink, or without this
// protocol (FreeBSD), the error wraps netlink.ErrNotSupported.
func Dial(cfg *netlink.Config) (*Reader, error) {
	var conf netlink.Config
	if cfg != nil {
		conf = *cfg
	}
	if len(conf.Groups) == 0 {
		conf.Groups = []uint32{KernelGroup}
	} else {
		conf.Groups = slices.Clone(conf.Groups)
	}
	c, err := netlink.Dial(Protocol, &conf)
	if err != nil {
		return nil, fmt.Errorf("uevent: %w", err)
	}
	return NewReader(c), nil
}

// NewReader returns a Reader over c, a Conn on NETLINK_KOBJECT_UEVENT (or
// any transport that delivers uevent datagrams, such as nltest.Mem) that has
// joined the groups to read. The Reader owns c from then on: Close closes it.
func NewReader(c *netlink.Conn) *Reader {
	return &Reader{c: c, buf: make([]byte, MaxSize)}
}

// Read waits for the next datagram and returns it parsed. The Event and the
// slices in it are borrowed from the Reader: valid until the next Read (use
// Event.Copy to keep one). Reading costs no allocation.
//
// A datagram that is not a uevent returns an error wrapping ErrMalformed;
// one longer than MaxSize an error wrapping netlink.ErrTruncated; a socket
// overrun (events were lost) an error wrapping netlink.ErrOverrun. After
// any of these the Reader stays usable: read on. Errors of the Conn
// (closed, context done) are returned as the Conn reports them.
func (r *Reader) Read(ctx context.Context) (*Event, error) {
	n, src, err := r.c.ReadDatagram(ctx, r.buf)
	if err != nil {
		return nil, fmt.Errorf("uevent: %w", err)
	}
	if err := Parse(r.buf[:n], &r.ev); err != nil {
		return nil, fmt.Errorf("%w (from port %d, group %d)", err, src.Port, src.Group)
	}
	r.ev.Src = src
	return &r.ev, nil
}

// Conn returns the Conn the Reader reads, for socket options and deadlines.
func (r *Reader) Conn() *netlink.Conn { return r.c }

// Close closes the Reader's Conn, which ends a Read in progress.
func (r *Reader) Close() error { return r.c.Close() }
