package bus

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Wire constants of the bus protocol (docs/PROTOCOL.md).
const (
	// Version is the protocol version this package speaks.
	Version = 1
	// EnvelopeLen is the size of the envelope that starts every frame.
	EnvelopeLen = 32
	// Magic is the first two bytes of every envelope: "nb".
	magic0, magic1 = 'n', 'b'

	// DefaultMaxDatagram is the largest datagram the daemon accepts and sends
	// unless configured otherwise, envelope included.
	DefaultMaxDatagram = 32 << 10
	// MinMaxDatagram and MaxMaxDatagram bound Server.MaxDatagram.
	MinMaxDatagram = 4 << 10
	MaxMaxDatagram = 1 << 20
)

// Envelope flags.
const (
	// FlagCreds: PID, UID and GID hold the sender's credentials.
	FlagCreds uint8 = 0x01
	// FlagOverrun: the frame is an overrun notice (its message is an
	// NLMSG_OVERRUN carrying the drop counts).
	FlagOverrun uint8 = 0x02
	// FlagMonitor: the frame is a monitor copy of traffic between others.
	FlagMonitor uint8 = 0x04
	// FlagTransport: the frame is a control request of the client transport
	// itself (join, leave, bind); the daemon marks its reply with it too, so
	// the transport can take the reply out of the stream its Conn reads.
	FlagTransport uint8 = 0x08

	knownFlags = FlagCreds | FlagOverrun | FlagMonitor | FlagTransport
)

var ne = binary.NativeEndian // host byte order, like the netlink messages

// Envelope is the header of a frame: the bus's sockaddr_nl. Its integers
// are in host byte order, like those of the netlink messages after it.
type Envelope struct {
	Flags uint8
	// Length is the frame's length, envelope included.
	Length uint32
	// Src is the sending port (stamped by the daemon), Dst the destination
	// port, Group the destination group (0: unicast).
	Src, Dst, Group uint32
	// PID, UID and GID are the sender's credentials when FlagCreds is set.
	PID      int32
	UID, GID uint32
}

// Errors of the envelope codec.
var (
	ErrShortFrame   = errors.New("nlbus: frame shorter than its envelope")
	ErrBadMagic     = errors.New("nlbus: bad envelope magic (not an nlbus frame)")
	ErrVersion      = errors.New("nlbus: protocol version not supported")
	ErrFrameLength  = errors.New("nlbus: frame length does not match the datagram")
	ErrUnknownFlags = errors.New("nlbus: unknown envelope flags")
)

// PutEnvelope writes e into b[:EnvelopeLen].
func PutEnvelope(b []byte, e Envelope) {
	_ = b[EnvelopeLen-1]
	b[0], b[1], b[2], b[3] = magic0, magic1, Version, e.Flags
	ne.PutUint32(b[4:], e.Length)
	ne.PutUint32(b[8:], e.Src)
	ne.PutUint32(b[12:], e.Dst)
	ne.PutUint32(b[16:], e.Group)
	ne.PutUint32(b[20:], uint32(e.PID))
	ne.PutUint32(b[24:], e.UID)
	ne.PutUint32(b[28:], e.GID)
}

// ParseEnvelope reads the envelope at the start of b. It checks the magic,
// the version (an error wrapping ErrVersion names both), the flags, and
// that the frame's length is at least EnvelopeLen and fits in b. It does not
// look at the messages.
func ParseEnvelope(b []byte) (Envelope, error) {
	if len(b) < EnvelopeLen {
		return Envelope{}, fmt.Errorf("%w: %d bytes", ErrShortFrame, len(b))
	}
	if b[0] != magic0 || b[1] != magic1 {
		return Envelope{}, ErrBadMagic
	}
	if b[2] != Version {
		return Envelope{}, fmt.Errorf("%w: frame has version %d, this side speaks %d", ErrVersion, b[2], Version)
	}
	e := Envelope{
		Flags:  b[3],
		Length: ne.Uint32(b[4:]),
		Src:    ne.Uint32(b[8:]),
		Dst:    ne.Uint32(b[12:]),
		Group:  ne.Uint32(b[16:]),
		PID:    int32(ne.Uint32(b[20:])),
		UID:    ne.Uint32(b[24:]),
		GID:    ne.Uint32(b[28:]),
	}
	if e.Flags&^knownFlags != 0 {
		return Envelope{}, fmt.Errorf("%w: %#x", ErrUnknownFlags, e.Flags&^knownFlags)
	}
	if e.Length < EnvelopeLen || uint64(e.Length) > uint64(len(b)) {
		return Envelope{}, fmt.Errorf("%w: envelope says %d bytes, %d present", ErrFrameLength, e.Length, len(b))
	}
	return e, nil
}

// SplitFrames calls fn for each frame of a datagram the daemon sent (it may
// pack several). It stops at the first malformed frame and returns its error.
func SplitFrames(b []byte, fn func(e Envelope, payload []byte) bool) error {
	for len(b) > 0 {
		e, err := ParseEnvelope(b)
		if err != nil {
			return err
		}
		if !fn(e, b[EnvelopeLen:e.Length]) {
			return nil
		}
		b = b[e.Length:]
	}
	return nil
}
