// Package transport is the seam between a netlink.Conn and the socket that moves
// its bytes.
//
// A Transport moves buffers of whole netlink messages, together with their
// addresses: on receive, the source port (and multicast group) of what was read;
// on send, the destination port or group. The kernel sockets of package netlink
// (Linux and FreeBSD) implement it, the bus client (package bus) implements it,
// and nltest.Mem is an in-memory implementation with fault injection for tests.
//
// The interface holds only what every transport has. What only some
// transports mean (socket options, socket buffer sizes, deadlines, a read that
// does not block) is an optional interface of its own, which netlink.Conn
// discovers with a type assertion; a Conn asked for one its transport lacks
// returns an error wrapping compat.ErrNotSupported. Implement an optional
// interface only when the transport really does what it says.
//
// A Transport never parses netlink attributes, and only looks at message
// headers when it must to frame reads.
package transport

import (
	"context"
	"errors"
	"strconv"
	"time"
)

// Addr is a netlink address: a port ID (0 is the kernel or the bus daemon) and,
// for multicast traffic, a group number. A zero Group means unicast.
type Addr struct {
	Port  uint32
	Group uint32
}

// Credentials identify the process that sent a message, when the transport
// knows it (the bus stamps them; Linux can report SCM_CREDENTIALS).
type Credentials struct {
	PID int32
	UID uint32
	GID uint32
}

// Info describes one Recv.
type Info struct {
	// N is the number of bytes placed in the buffer.
	N int
	// Src is the source of the bytes read.
	Src Addr
	// Truncated reports that the datagram was longer than the buffer and its
	// tail was lost; Size then holds its real length when the transport knows it.
	Truncated bool
	Size      int
	// Creds holds the sender's credentials when HasCreds is true.
	Creds    Credentials
	HasCreds bool
}

// Option names a boolean socket option a transport may support.
type Option int

// Options understood by transports. A transport that cannot apply one returns
// an error wrapping compat.ErrNotSupported.
const (
	OptionExtendedAck Option = iota + 1
	OptionStrictCheck
	OptionCapAck
	OptionNoENOBUFS
	OptionBroadcastError
	OptionListenAllNSID
	OptionPacketInfo
)

var optionNames = [...]string{
	OptionExtendedAck:    "extended-ack",
	OptionStrictCheck:    "strict-check",
	OptionCapAck:         "cap-ack",
	OptionNoENOBUFS:      "no-enobufs",
	OptionBroadcastError: "broadcast-error",
	OptionListenAllNSID:  "listen-all-nsid",
	OptionPacketInfo:     "packet-info",
}

// String returns the option's name.
func (o Option) String() string {
	if o > 0 && int(o) < len(optionNames) {
		return optionNames[o]
	}
	return "option(" + strconv.Itoa(int(o)) + ")"
}

// Errors a Transport reports with a meaning netlink.Conn understands.
var (
	// ErrOverrun reports that the receiver lost messages because its queue was
	// full (ENOBUFS on a kernel socket). The transport stays usable.
	ErrOverrun = errors.New("receive queue overrun, messages were lost")
)

// ErrWouldBlock is returned by TryRecv when nothing is queued.
var ErrWouldBlock = errors.New("no data queued")

// Transport moves buffers of whole netlink messages.
//
// The contract:
//   - One Recv returns whole messages (never a part of one) that all come from
//     one source, reported in Info.Src. A kernel socket returns one datagram;
//     FreeBSD may return several datagrams of the kernel's in one read, which
//     is allowed because they share a source.
//   - A datagram longer than the buffer is reported (Info.Truncated), never
//     silently cut.
//   - An overrun (the receiver's queue was full and messages were lost)
//     returns an error wrapping ErrOverrun with Info.N == 0; the transport
//     stays usable.
//   - One goroutine may be in Recv concurrently with any number in Send and
//     the other methods; netlink.Conn never calls Recv from two goroutines at
//     once. Close unblocks a pending Recv and Send.
type Transport interface {
	// Send writes b, one or more whole netlink messages, as one datagram to dst.
	Send(ctx context.Context, b []byte, dst Addr) error
	// Recv reads whole messages into b. It blocks until data arrives, ctx is
	// done, a read deadline passes (Deadliner) or the transport is closed.
	Recv(ctx context.Context, b []byte) (Info, error)
	// PortID is the port the transport is bound to.
	PortID() uint32
	// JoinGroup and LeaveGroup change multicast membership; any group number
	// the transport supports is valid, including those above 32.
	JoinGroup(group uint32) error
	LeaveGroup(group uint32) error
	// Close releases the transport and unblocks pending calls.
	Close() error
}

// TryReceiver is implemented by transports that can read without blocking.
// After an overrun, netlink.Conn uses it to empty the socket's queue, which
// is what makes a Linux kernel socket leave its congested state (in which it
// drops even unicast replies).
type TryReceiver interface {
	// TryRecv is Recv that returns ErrWouldBlock instead of waiting.
	TryRecv(b []byte) (Info, error)
}

// OptionSetter is implemented by transports with boolean socket options (the
// kernel sockets). An option the transport cannot apply gives an error
// wrapping compat.ErrNotSupported.
type OptionSetter interface {
	SetOption(opt Option, on bool) error
}

// BufferSizer is implemented by transports whose socket buffers can be sized
// (SO_RCVBUF and SO_SNDBUF on the kernel sockets), in bytes.
type BufferSizer interface {
	SetReadBuffer(bytes int) error
	SetWriteBuffer(bytes int) error
}

// Deadliner is implemented by transports whose blocking calls can be bounded
// by a time; the zero time means no deadline.
type Deadliner interface {
	SetReadDeadline(t time.Time) error
	SetWriteDeadline(t time.Time) error
}
