package nltest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"syscall"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/internal/seam"
	"github.com/nlbus/netlink/transport"
)

// Func serves the requests of one datagram (a Conn sends one request per
// datagram, so req usually holds one message) and returns the reply
// messages, without the final ACK or NLMSG_DONE, which Dial adds. It may
// return a complete reply instead, ending with an NLMSG_ERROR (see Error)
// or, for a dump, an NLMSG_DONE; Dial then adds nothing.
//
// A returned syscall.Errno is sent as an NLMSG_ERROR after the replies; any
// other error fails the Send of the request. The messages of req alias a
// copy of the datagram that fn may keep. Calls are serialised by the Conn.
type Func func(req []netlink.Message) ([]netlink.Message, error)

// Option configures Dial.
type Option func(*options)

type options struct {
	port        uint32
	split       bool
	freebsd     bool
	interrupt   int
	overruns    int
	cfg         *netlink.Config
	unsupported []transport.Option
}

// DefaultPort is the port ID of a Conn from Dial without the Port option.
const DefaultPort = 1

// Port sets the Conn's port ID, which also fills the PID of replies.
func Port(p uint32) Option { return func(o *options) { o.port = p } }

// Split delivers every reply message in a read of its own, as a multipart
// reply spread over several datagrams arrives.
func Split() Option { return func(o *options) { o.split = true } }

// FreeBSD behaves like a FreeBSD kernel: reads return as many whole
// messages as fit in the buffer, from several replies at once; error codes
// in NLMSG_ERROR and NLMSG_DONE are positive; NLMSG_DONE carries no
// NLM_F_MULTI.
func FreeBSD() Option { return func(o *options) { o.freebsd = true } }

// InterruptDumps sets NLM_F_DUMP_INTR on every reply of the next n dumps
// (n < 0: all dumps), as a kernel does when the data changed during a dump.
func InterruptDumps(n int) Option { return func(o *options) { o.interrupt = n } }

// Overruns makes the replies to the next n requests come after a receive
// overrun (ENOBUFS), as if notifications had been lost just before them.
func Overruns(n int) Option { return func(o *options) { o.overruns = n } }

// WithConfig sets the Conn's configuration.
func WithConfig(cfg *netlink.Config) Option { return func(o *options) { o.cfg = cfg } }

// Unsupported makes SetOption fail with an error wrapping
// netlink.ErrNotSupported for opts.
func Unsupported(opts ...transport.Option) Option {
	return func(o *options) { o.unsupported = append(o.unsupported, opts...) }
}

// Dial returns a Conn over an in-memory transport whose requests fn serves.
// The caller closes the Conn. Dial panics if the Conn cannot be set up,
// which only a Config asking for an option made Unsupported causes.
func Dial(fn Func, opts ...Option) *netlink.Conn {
	o := options{port: DefaultPort}
	for _, opt := range opts {
		opt(&o)
	}
	s := &server{fn: fn, o: o}
	mem := NewMem(s.serve, MemConfig{
		Port:        o.port,
		Split:       o.split,
		Coalesce:    o.freebsd,
		Unsupported: o.unsupported,
	})
	c, err := netlink.NewConn(mem, o.cfg)
	if err != nil {
		panic(fmt.Sprintf("nltest: %v", err))
	}
	// Hold the Conn to a kernel socket's rules: on Linux one dump at a
	// time, on FreeBSD replies that must carry the Conn's port.
	seam.SetKernel(c, 0, !o.freebsd, o.freebsd)
	return c
}

type server struct {
	fn Func

	mu sync.Mutex // guards o's counters
	o  options
}

func (s *server) serve(b []byte, dst transport.Addr) ([]Read, error) {
	reqs, err := netlink.ParseMessages(b)
	if err != nil {
		return nil, fmt.Errorf("nltest: malformed request: %w", err)
	}
	if len(reqs) == 0 {
		return nil, errors.New("nltest: empty request")
	}
	replies, err := s.fn(reqs)
	var errno syscall.Errno
	switch {
	case errors.As(err, &errno):
		replies = append(replies, Error(errno, reqs[0], nil))
	case err != nil:
		return nil, err
	}

	s.mu.Lock()
	dump := reqs[0].Header.Flags&netlink.Dump == netlink.Dump
	interrupt := false
	if dump && s.o.interrupt != 0 {
		interrupt = true
		if s.o.interrupt > 0 {
			s.o.interrupt--
		}
	}
	overrun := s.o.overruns > 0
	if overrun {
		s.o.overruns--
	}
	s.mu.Unlock()

	out, err := s.complete(reqs[0], replies, dump, interrupt)
	if err != nil {
		return nil, err
	}
	var reads []Read
	if overrun {
		reads = append(reads, Read{Overrun: true})
	}
	return append(reads, Read{Data: out, Src: transport.Addr{Port: dst.Port}}), nil
}

// complete adds what a kernel adds to replies, and marshals them.
func (s *server) complete(req netlink.Message, replies []netlink.Message, dump, interrupt bool) ([]byte, error) {
	last := netlink.HeaderType(0)
	if n := len(replies); n > 0 {
		last = replies[n-1].Header.Type
	}
	switch {
	case dump && last != netlink.Done && last != netlink.Error:
		replies = append(replies, netlink.Message{
			Header: netlink.Header{Type: netlink.Done},
			Data:   make([]byte, 4),
		})
	case !dump && last != netlink.Error:
		replies = append(replies, Error(0, req, nil))
	}
	var b []byte
	for _, m := range replies {
		if m.Header.Sequence == 0 {
			m.Header.Sequence = req.Header.Sequence
		}
		if m.Header.PID == 0 {
			m.Header.PID = s.o.port
		}
		if dump && m.Header.Type != netlink.Error {
			m.Header.Flags |= netlink.Multi
		}
		if interrupt {
			m.Header.Flags |= netlink.DumpInterrupted
		}
		if s.o.freebsd {
			m = freeBSD(m)
		}
		var err error
		if b, err = netlink.AppendMessage(b, m); err != nil {
			return nil, fmt.Errorf("nltest: %w", err)
		}
	}
	return b, nil
}

// freeBSD rewrites m as a FreeBSD kernel sends it.
func freeBSD(m netlink.Message) netlink.Message {
	switch m.Header.Type {
	case netlink.Done:
		m.Header.Flags &^= netlink.Multi
	case netlink.Error:
	default:
		return m
	}
	if len(m.Data) >= 4 {
		if code := int32(ne.Uint32(m.Data)); code < 0 {
			d := append([]byte(nil), m.Data...)
			ne.PutUint32(d, uint32(-code))
			m.Data = d
		}
	}
	return m
}

// Error returns the NLMSG_ERROR a Linux kernel sends to reject req with
// errno (0 for an acknowledgement): the negative code, then the echoed
// request (only its header for an acknowledgement, flagged NLM_F_CAPPED),
// then ext's fields as extended-ack attributes (flagged NLM_F_ACK_TLVS)
// when ext is not nil. Sequence and PID are left for Dial to fill.
func Error(errno syscall.Errno, req netlink.Message, ext *netlink.ExtAck) netlink.Message {
	var ae netlink.AttributeEncoder
	b := make([]byte, 4, 4+netlink.HeaderLen+len(req.Data)+64)
	ne.PutUint32(b, uint32(-int32(errno)))
	h := req.Header
	h.Length = uint32(netlink.HeaderLen + len(req.Data))
	var flags netlink.HeaderFlags
	b = append(b, make([]byte, netlink.HeaderLen)...)
	netlink.MarshalHeader(b[4:], h)
	if errno == 0 {
		flags |= netlink.Capped
	} else {
		b = append(b, req.Data...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
	}
	if ext != nil {
		flags |= netlink.AckTLVs
		ae.Reset(b)
		if ext.Message != "" {
			ae.String(1, ext.Message)
		}
		if ext.HasOffset {
			ae.Uint32(2, ext.Offset)
		}
		if ext.Cookie != nil {
			ae.Raw(3, ext.Cookie)
		}
		if ext.Policy != nil {
			ae.Raw(4|netlink.AttrNested, ext.Policy)
		}
		if ext.HasMissingType {
			ae.Uint32(5, ext.MissingType)
		}
		if ext.HasMissingNest {
			ae.Uint32(6, ext.MissingNest)
		}
		b, _ = ae.Bytes() // too long only with a cookie or policy over 64 KiB
	}
	return netlink.Message{
		Header: netlink.Header{Type: netlink.Error, Flags: flags, Sequence: req.Header.Sequence},
		Data:   b,
	}
}

// Multicast delivers msgs, in one datagram from the kernel, to group on c,
// a Conn from Dial (or any Conn over a Mem). Conns receive them
// with Receive whether or not they joined the group.
func Multicast(c *netlink.Conn, group uint32, msgs ...netlink.Message) error {
	mem, err := MemOf(c)
	if err != nil {
		return err
	}
	if group == 0 {
		return errors.New("nltest: group 0 is not a multicast group")
	}
	var b []byte
	for _, m := range msgs {
		if b, err = netlink.AppendMessage(b, m); err != nil {
			return fmt.Errorf("nltest: %w", err)
		}
	}
	mem.Inject(Read{Data: b, Src: transport.Addr{Group: group}})
	return nil
}

// Overrun makes the next read of c, a Conn from Dial, fail with an overrun
// (ENOBUFS), as if the kernel had dropped notifications.
func Overrun(c *netlink.Conn) error {
	mem, err := MemOf(c)
	if err != nil {
		return err
	}
	mem.Inject(Read{Overrun: true})
	return nil
}

// MemOf returns the Mem under c, a Conn from Dial or from netlink.NewConn
// over a Mem, so that a test can inject reads or inspect what was sent.
func MemOf(c *netlink.Conn) (*Mem, error) {
	t := seam.TransportOf(c)
	mem, ok := t.(*Mem)
	if !ok {
		return nil, fmt.Errorf("nltest: the Conn's transport is a %T, not a *nltest.Mem", t)
	}
	return mem, nil
}

var ne = binary.NativeEndian
