package netlink

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unsafe"

	"github.com/nlbus/netlink/transport"
)

// HeaderLen is the size of a netlink message header (struct nlmsghdr).
const HeaderLen = 16

// Align rounds n up to the netlink alignment of 4 bytes.
func Align(n int) int { return (n + 3) &^ 3 }

// HeaderType is the nlmsg_type of a message. Values below 16 are reserved for
// control messages; protocols and generic-netlink families use the rest.
type HeaderType uint16

// Control message types (include/uapi/linux/netlink.h, FreeBSD
// sys/netlink/netlink.h: identical).
const (
	Noop    HeaderType = 0x1
	Error   HeaderType = 0x2
	Done    HeaderType = 0x3
	Overrun HeaderType = 0x4
)

// MinType is the lowest message type protocols may use (NLMSG_MIN_TYPE).
const MinType HeaderType = 0x10

// String returns the control type's name, or its number.
func (t HeaderType) String() string {
	switch t {
	case Noop:
		return "noop"
	case Error:
		return "error"
	case Done:
		return "done"
	case Overrun:
		return "overrun"
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}

// HeaderFlags is the nlmsg_flags field of a message. The bits from 0x100 up
// mean different things for GET requests, NEW requests, DELETE requests and
// acknowledgements, so several names share a value.
type HeaderFlags uint16

// Message flags.
const (
	Request         HeaderFlags = 0x1
	Multi           HeaderFlags = 0x2
	Acknowledge     HeaderFlags = 0x4
	Echo            HeaderFlags = 0x8
	DumpInterrupted HeaderFlags = 0x10
	DumpFiltered    HeaderFlags = 0x20

	// Modifiers of GET requests.
	Root   HeaderFlags = 0x100
	Match  HeaderFlags = 0x200
	Atomic HeaderFlags = 0x400
	Dump               = Root | Match

	// Modifiers of NEW requests.
	Replace HeaderFlags = 0x100
	Excl    HeaderFlags = 0x200
	Create  HeaderFlags = 0x400
	Append  HeaderFlags = 0x800

	// Modifiers of DELETE requests.
	NonRecursive HeaderFlags = 0x100
	Bulk         HeaderFlags = 0x200

	// Flags of acknowledgements (NLMSG_ERROR).
	Capped  HeaderFlags = 0x100
	AckTLVs HeaderFlags = 0x200
)

var flagNames = [...]struct {
	f    HeaderFlags
	name string
}{
	{Request, "request"},
	{Multi, "multi"},
	{Acknowledge, "ack"},
	{Echo, "echo"},
	{DumpInterrupted, "dump-interrupted"},
	{DumpFiltered, "dump-filtered"},
}

// String lists the flags' names joined by "|". The context-dependent bits
// from 0x100 up print as "root|match" (dump), or as hexadecimal otherwise,
// since their meaning depends on the message type.
func (f HeaderFlags) String() string {
	if f == 0 {
		return "0"
	}
	var parts []string
	for _, n := range flagNames {
		if f&n.f != 0 {
			parts = append(parts, n.name)
			f &^= n.f
		}
	}
	if f&Dump == Dump {
		parts = append(parts, "dump")
		f &^= Dump
	}
	if f != 0 {
		parts = append(parts, "0x"+strconv.FormatUint(uint64(f), 16))
	}
	return strings.Join(parts, "|")
}

// Header is a netlink message header (struct nlmsghdr).
type Header struct {
	// Length of the whole message, header included. Marshal computes it; a
	// parsed header holds the value from the wire.
	Length uint32
	// Type of the message: a control type, a protocol message type or a
	// generic-netlink family ID.
	Type HeaderType
	// Flags of the message.
	Flags HeaderFlags
	// Sequence number; Conn assigns one to requests that leave it 0.
	Sequence uint32
	// PID is the port ID of the sending socket (the kernel rewrites it on
	// FreeBSD); leave it 0 in requests.
	PID uint32
}

// Addr is a netlink address: a port ID and, for multicast, a group.
type Addr = transport.Addr

// Credentials identify the process that sent a message.
type Credentials = transport.Credentials

// Message is a netlink message: a header and its payload.
type Message struct {
	Header Header
	// Data is the payload after the header: a family header (ifinfomsg,
	// genlmsghdr, ...) followed by attributes. In messages a Conn hands to a
	// callback or iterator it is borrowed from the receive buffer and valid
	// only until the callback returns or the iterator advances; Execute and
	// Receive return copies.
	Data []byte
	// Addr is the peer: on a received message, its source (port, and group
	// for multicast); on a sent message, its destination (the zero Addr is
	// the kernel, or the bus controller).
	Addr Addr
	// Creds, when not nil, are the sender's credentials as reported by the
	// transport. Borrowed like Data.
	Creds *Credentials

	// Padding to 64 bytes: the compiler copies a Message of 56 bytes with
	// two overlapping 16-byte moves, and a read of the copy right after
	// (a by-value argument, an iterator's yield) then waits for the stores
	// to drain instead of being served from them.
	_ uint64
}

// Errors of the message codec.
var (
	// ErrShortMessage reports a buffer too short for a header, or a header
	// whose length is below HeaderLen.
	ErrShortMessage = errors.New("netlink: message shorter than its header")
	// ErrMessageLength reports a header whose length runs past the buffer.
	ErrMessageLength = errors.New("netlink: message length exceeds buffer")
)

// MarshalHeader writes h into b[:HeaderLen] in host byte order.
func MarshalHeader(b []byte, h Header) {
	_ = b[HeaderLen-1]
	ne.PutUint32(b[0:4], h.Length)
	ne.PutUint16(b[4:6], uint16(h.Type))
	ne.PutUint16(b[6:8], uint16(h.Flags))
	ne.PutUint32(b[8:12], h.Sequence)
	ne.PutUint32(b[12:16], h.PID)
}

// ParseHeader reads a header from the start of b.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return Header{}, ErrShortMessage
	}
	return Header{
		Length:   ne.Uint32(b[0:4]),
		Type:     HeaderType(ne.Uint16(b[4:6])),
		Flags:    HeaderFlags(ne.Uint16(b[6:8])),
		Sequence: ne.Uint32(b[8:12]),
		PID:      ne.Uint32(b[12:16]),
	}, nil
}

// AppendMessage appends m, header and payload, to b, padded to 4 bytes. The
// header's Length is computed from the payload.
func AppendMessage(b []byte, m Message) ([]byte, error) {
	return appendMessage(b, &m)
}

// appendMessage is AppendMessage without the copy of m.
func appendMessage(b []byte, m *Message) ([]byte, error) {
	l := HeaderLen + len(m.Data)
	if l > maxMessageLen {
		return b, fmt.Errorf("netlink: message of %d bytes exceeds the %d-byte limit", l, maxMessageLen)
	}
	h := m.Header
	h.Length = uint32(l)
	off := len(b)
	b = grow(b, Align(l))
	MarshalHeader(b[off:], h)
	copy(b[off+HeaderLen:], m.Data)
	clear(b[off+l : off+Align(l)])
	return b, nil
}

// MarshalBinary returns the wire form of m.
func (m Message) MarshalBinary() ([]byte, error) {
	return AppendMessage(nil, m)
}

// UnmarshalBinary parses exactly one message from b into m, replacing all
// of m (Addr and Creds are zeroed); Data is copied.
func (m *Message) UnmarshalBinary(b []byte) error {
	var it MessageIter
	it.Reset(b)
	if !it.Next() {
		if it.Err() != nil {
			return it.Err()
		}
		return ErrShortMessage
	}
	got := it.Message()
	if rest := it.Rest(); len(rest) != 0 {
		return fmt.Errorf("netlink: %d trailing bytes after message", len(rest))
	}
	*m = Message{Header: got.Header, Data: append([]byte(nil), got.Data...)}
	return nil
}

// ParseMessages parses every message in b, copying nothing: the returned
// messages' Data alias b.
func ParseMessages(b []byte) ([]Message, error) {
	var msgs []Message
	var it MessageIter
	it.Reset(b)
	for it.Next() {
		msgs = append(msgs, *it.Message())
	}
	return msgs, it.Err()
}

// MessageIter walks the messages in a buffer without copying. Every length is
// checked: a header length below 16 or past the buffer stops the iteration
// with an error, so a malformed buffer can neither panic nor loop forever.
//
//	var it netlink.MessageIter
//	it.Reset(buf)
//	for it.Next() {
//		m := it.Message()
//	}
//	if err := it.Err(); err != nil { ... }
type MessageIter struct {
	b    []byte
	rest []byte // b from the next message on
	cur  []byte // the current message, header included
	err  error
	done bool    // Next returned false
	m    Message // what Message returns
}

// Reset starts iterating over b.
func (it *MessageIter) Reset(b []byte) {
	*it = MessageIter{b: b, rest: b}
}

// Next advances to the next message and reports whether there is one. It
// stops at the end of the buffer and at a malformed header, which Err then
// describes. It calls nothing, so that it inlines into the caller's loop.
func (it *MessageIter) Next() bool {
	// splitMessage's walk, written out: through the call, Next costs
	// more than the inliner's budget, or loads the loop of Message()
	// callers with a store it does not need.
	r := it.rest
	if len(r) >= HeaderLen {
		if l := uint(ne.Uint32(r)); l >= HeaderLen && l <= uint(len(r)) {
			it.cur = r[:l:l]
			it.rest = r[min((l+3)&^3, uint(len(r))):]
			return true
		}
	}
	it.cur, it.done = nil, true
	return false
}

// splitMessage returns the first message of b, header included, and what
// follows it (past its padding); ok is false at the end of b or at a
// header whose length does not fit. The Conn's reader walks datagrams with
// it, on locals the compiler keeps in registers; MessageIter.Next has the
// same walk written out.
func splitMessage(b []byte) (m, rest []byte, ok bool) {
	if len(b) < HeaderLen {
		return nil, b, false
	}
	l := uint(ne.Uint32(b))
	if l < HeaderLen || l > uint(len(b)) {
		return nil, b, false
	}
	return b[:l:l], b[min((l+3)&^3, uint(len(b))):], true
}

// malformed describes why the iteration stopped before the end of the
// buffer, or returns nil when it reached the end.
func (it *MessageIter) malformed() error {
	rest := it.rest
	if len(rest) == 0 {
		return nil
	}
	off := len(it.b) - len(rest)
	if len(rest) < HeaderLen {
		return fmt.Errorf("%w: %d bytes left at offset %d", ErrShortMessage, len(rest), off)
	}
	if l := ne.Uint32(rest); l < HeaderLen {
		return fmt.Errorf("%w: length %d at offset %d", ErrShortMessage, l, off)
	}
	return fmt.Errorf("%w: length %d with %d bytes left at offset %d", ErrMessageLength, ne.Uint32(rest), len(rest), off)
}

// Message returns the current message. It is borrowed, like a
// bufio.Scanner's Bytes: the Message is the iterator's own and valid until
// the next call to Message, Next or Reset, and its Data aliases the
// buffer. Copy *m to keep the header. Returning a pointer spares the loop
// a 64-byte copy per message, which costs more than the walk itself (see
// docs/DESIGN.md).
func (it *MessageIter) Message() *Message {
	m := &it.m
	if len(it.cur) >= HeaderLen {
		m.Header = nativeHeader(it.cur)
		m.Data = it.cur[HeaderLen:]
	} else {
		m.Header, m.Data = Header{}, nil
	}
	m.Addr, m.Creds = Addr{}, nil
	return m
}

// nativeHeader returns the header at the start of b (at least HeaderLen
// bytes, at any alignment). Header is nlmsghdr in native byte order, so
// the header is one 16-byte copy: built field by field, a Header copied
// whole right after makes the processor wait for the narrow stores.
func nativeHeader(b []byte) Header {
	var h Header
	*(*[HeaderLen]byte)(unsafe.Pointer(&h)) = [HeaderLen]byte(b)
	return h
}

// Header returns the current message's header. With Data it is the
// cheapest way through a buffer: Message builds the whole Message value,
// which a loop over thousands of messages pays for.
func (it *MessageIter) Header() Header {
	if len(it.cur) < HeaderLen {
		return Header{}
	}
	return nativeHeader(it.cur)
}

// Data returns the current message's payload, which aliases the buffer.
func (it *MessageIter) Data() []byte {
	if len(it.cur) < HeaderLen {
		return nil
	}
	return it.cur[HeaderLen:]
}

// Offset returns the offset in the buffer of the next message: past the
// current message and its padding to 4 bytes.
func (it *MessageIter) Offset() int { return len(it.b) - len(it.rest) }

// Rest returns the bytes not yet iterated.
func (it *MessageIter) Rest() []byte { return it.rest }

// Err returns the error that stopped the iteration, if any: nil while it
// runs and after it reached the end of the buffer.
func (it *MessageIter) Err() error {
	if it.err == nil && it.done {
		it.err = it.malformed()
	}
	return it.err
}

// maxMessageLen caps a single message; nlmsg_len is 32 bits, but no
// transport carries more than this in one datagram.
const maxMessageLen = 1 << 24

var ne = binary.NativeEndian

// grow extends b by n bytes, reusing its capacity when it can.
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b[:len(b)+n]
	}
	nb := make([]byte, len(b)+n, 2*cap(b)+n)
	copy(nb, b)
	return nb
}
