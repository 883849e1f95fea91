package netlink

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"

	"github.com/nlbus/netlink/compat"
	"github.com/nlbus/netlink/transport"
)

// Sentinel errors. Match them with errors.Is.
var (
	// ErrNotSupported reports an operation, protocol or option that this
	// operating system or kernel does not have.
	ErrNotSupported = compat.ErrNotSupported
	// ErrOverrun reports that a receiver lost messages because its queue
	// was full (ENOBUFS from the kernel, or the bus's overrun mark). The
	// Conn stays usable; state learnt from notifications should be re-read.
	ErrOverrun = transport.ErrOverrun
	// ErrDumpInterrupted reports that the kernel's data changed during a
	// dump (NLM_F_DUMP_INTR): the messages returned with it are a partial,
	// possibly inconsistent result. Retry repeats such a request.
	ErrDumpInterrupted = errors.New("dump interrupted: the data changed during the dump")
	// ErrTruncated reports a datagram longer than the receive buffer; its
	// tail was lost. The buffer grows so the next read fits.
	ErrTruncated = errors.New("message truncated: receive buffer too small")
	// ErrClosed reports use of a closed Conn.
	ErrClosed = errors.New("use of closed netlink connection")
	// ErrMalformed reports a datagram (or its tail) that did not parse as
	// netlink messages; Receive returns it in the place of what was lost.
	ErrMalformed = errors.New("malformed netlink datagram")
	// ErrPeerFull reports a send to a peer whose receive queue stayed full
	// (EAGAIN from NETLINK_USERSOCK, or the bus's answer) until the context
	// or deadline ended the retries. The error also wraps the context's
	// error when the context ended them.
	ErrPeerFull = errors.New("the receiving socket's queue is full")
)

// Extended-ack attribute types (NLMSGERR_ATTR_*, include/uapi/linux/netlink.h;
// FreeBSD sys/netlink/netlink.h has the first three).
const (
	extAckMsg      = 1
	extAckOffs     = 2
	extAckCookie   = 3
	extAckPolicy   = 4
	extAckMissType = 5
	extAckMissNest = 6
)

// ExtAck holds the extended-acknowledgement fields a kernel (or a bus
// service) attached to an error or to a successful acknowledgement.
type ExtAck struct {
	// Message is the human-readable explanation; on a successful ack it is
	// a warning.
	Message string
	// Offset is the byte offset, within the request, of the attribute that
	// caused the error, valid when HasOffset.
	Offset    uint32
	HasOffset bool
	// Cookie is opaque data the handler returned (FreeBSD's NEWLINK returns
	// the new interface's index and name in one).
	Cookie []byte
	// Policy is the raw nested policy (NL_POLICY_TYPE_ATTR_*) of the
	// offending attribute.
	Policy []byte
	// MissingType is the type of a required attribute that was missing,
	// valid when HasMissingType; MissingNest is the offset of the nest it
	// was missing from, valid when HasMissingNest.
	MissingType    uint32
	HasMissingType bool
	MissingNest    uint32
	HasMissingNest bool
}

// Ack is the final acknowledgement of a successful request.
type Ack struct {
	ExtAck
	// Received reports that an acknowledgement (NLMSG_ERROR with code 0)
	// or a dump's NLMSG_DONE ended the request.
	Received bool
}

// Warning returns the ack's warning message, if any.
func (a Ack) Warning() string { return a.Message }

// OpError is the error of a netlink operation. Err holds the cause: for an
// error the kernel or a peer reported in NLMSG_ERROR or NLMSG_DONE, the raw
// errno as a syscall.Errno (unix.Errno), so errors.Is(err, unix.ENOENT) and
// errors.Is(err, os.ErrNotExist) both hold; system-call failures are
// *os.SyscallError values.
type OpError struct {
	// Op is the operation: "dial", "send", "receive", "execute", "dump",
	// "join-group", "set-option", ...
	Op string
	// Err is the cause.
	Err error
	// ExtAck holds the extended-ack fields, if the reply carried any.
	ExtAck
	// Sequence is the sequence number of the request, when there was one.
	Sequence uint32
}

// Error implements error.
func (e *OpError) Error() string {
	if e == nil {
		return "<nil>"
	}
	var b strings.Builder
	b.WriteString("netlink ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString("unknown error")
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.HasOffset {
		b.WriteString(" (offset ")
		b.WriteString(strconv.FormatUint(uint64(e.Offset), 10))
		b.WriteString(")")
	}
	if e.HasMissingType {
		b.WriteString(" (missing attribute ")
		b.WriteString(strconv.FormatUint(uint64(e.MissingType), 10))
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *OpError) Unwrap() error { return e.Err }

// Timeout reports whether the error is a deadline or context timeout.
func (e *OpError) Timeout() bool {
	var t interface{ Timeout() bool }
	if errors.As(e.Err, &t) {
		return t.Timeout()
	}
	return errors.Is(e.Err, context.DeadlineExceeded)
}

// errnoOf turns the signed code of NLMSG_ERROR or NLMSG_DONE into an errno.
// Linux sends negative codes, FreeBSD positive ones: this is the one place
// where the sign is normalised.
func errnoOf(code int32) syscall.Errno {
	if code < 0 {
		code = -code
	}
	if code < 0 { // math.MinInt32 has no positive counterpart
		code = 0x7fffffff
	}
	return syscall.Errno(code)
}

// ParseError decodes an acknowledgement or error (NLMSG_ERROR) or the end of a
// dump (NLMSG_DONE). It returns the errno (0 for success), and the extended-ack
// fields. The extended-ack TLVs are parsed whenever bytes remain after the
// echoed request, whether or not NLM_F_ACK_TLVS is set (FreeBSD sends the
// cookie without it). Copied fields (Cookie, Policy) do not alias m.Data.
func ParseError(m Message) (syscall.Errno, ExtAck, error) {
	var ext ExtAck
	b := m.Data
	switch m.Header.Type {
	case Error, Done:
	default:
		return 0, ext, fmt.Errorf("netlink: message type %s is not an error or done", m.Header.Type)
	}
	if len(b) < 4 {
		if m.Header.Type == Done {
			return 0, ext, nil // a bare NLMSG_DONE
		}
		return 0, ext, fmt.Errorf("%w: error message of %d bytes", ErrShortMessage, len(b))
	}
	code := errnoOf(int32(ne.Uint32(b)))
	tlvs := b[4:]
	if m.Header.Type == Error {
		// The echoed request follows: its header always, its payload unless
		// the ack is capped.
		if len(tlvs) < HeaderLen {
			return code, ext, nil
		}
		skip := HeaderLen
		if m.Header.Flags&Capped == 0 {
			inner := int(ne.Uint32(tlvs))
			if inner >= HeaderLen {
				skip = Align(inner)
			}
		}
		if skip > len(tlvs) {
			return code, ext, nil
		}
		tlvs = tlvs[skip:]
	}
	if len(tlvs) >= attrHeaderLen {
		ext = parseExtAck(tlvs)
	}
	return code, ext, nil
}

func parseExtAck(b []byte) ExtAck {
	var ext ExtAck
	var ad AttributeDecoder
	ad.Reset(b)
	for ad.Next() {
		switch ad.Type() {
		case extAckMsg:
			ext.Message = ad.String()
		case extAckOffs:
			if ad.Len() == 4 {
				ext.Offset, ext.HasOffset = ad.Uint32(), true
			}
		case extAckCookie:
			ext.Cookie = ad.CopyBytes()
		case extAckPolicy:
			ext.Policy = ad.CopyBytes()
		case extAckMissType:
			if ad.Len() == 4 {
				ext.MissingType, ext.HasMissingType = ad.Uint32(), true
			}
		case extAckMissNest:
			if ad.Len() == 4 {
				ext.MissingNest, ext.HasMissingNest = ad.Uint32(), true
			}
		}
	}
	// A malformed trailer is ignored: the errno is what matters, and the
	// fields decoded before the damage are kept.
	return ext
}

// Retry calls fn up to attempts times while it fails with ErrDumpInterrupted,
// and returns the last result: on the final failure, the partial result
// together with the error. It stops early when ctx is done.
func Retry[T any](ctx context.Context, attempts int, fn func(context.Context) (T, error)) (T, error) {
	if attempts < 1 {
		attempts = 1
	}
	var v T
	var err error
	for i := 0; i < attempts; i++ {
		v, err = fn(ctx)
		if !errors.Is(err, ErrDumpInterrupted) {
			return v, err
		}
		if ctx.Err() != nil {
			return v, err
		}
	}
	return v, err
}

// wrapOp wraps err in an *OpError for op, unless the transport already
// returned one for the same operation (the bus transport's group calls do,
// with the daemon's extended-ack text).
func wrapOp(op string, err error) error {
	var oe *OpError
	if errors.As(err, &oe) && oe.Op == op {
		return err
	}
	return &OpError{Op: op, Err: err}
}

// errDumpWait is the error of a dump whose context ended while it waited
// for the socket's running dump: it says so, as a dump started in another
// dump's loop body on the same Conn waits for it forever. Not inlined: it
// is never on a request's path, and acquireDump stays the size it was.
//
//go:noinline
func errDumpWait(ctx context.Context) error {
	return &dumpWaitError{ctx.Err()}
}

// dumpWaitError wraps the context's error of a dump that waited for the
// socket's running dump.
type dumpWaitError struct{ err error }

func (e *dumpWaitError) Error() string {
	return "waiting for the dump already running on this socket (a dump started in another dump's loop on the same Conn waits for it to end): " + e.err.Error()
}

func (e *dumpWaitError) Unwrap() error { return e.err }
