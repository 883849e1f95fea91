package genl

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Header is the generic-netlink header (struct genlmsghdr) that starts the
// payload of every generic-netlink message.
type Header struct {
	// Command is the family-specific command (for nlctrl, CTRL_CMD_*).
	Command uint8
	// Version is the family's interface version.
	Version uint8
	// Reserved is the header's reserved field, in host byte order: zero
	// when sent by the kernel's own families, kept as read so that a decoded
	// message re-encodes to the same bytes.
	Reserved uint16
}

// Message is a generic-netlink message: a Header and the attributes (or a
// family-specific header, see Family.HeaderSize) that follow it.
type Message struct {
	Header Header
	// Data is the payload after the generic-netlink header. In messages
	// handed to an iterator or callback it is borrowed from the receive
	// buffer; Execute returns messages the caller owns.
	Data []byte
}

// ErrShortMessage reports a netlink payload too short for the 4-byte
// generic-netlink header.
var ErrShortMessage = errors.New("genl: message shorter than the generic-netlink header")

// MarshalBinary returns the wire form of m: the header and Data.
func (m Message) MarshalBinary() ([]byte, error) {
	return m.Append(nil), nil
}

// Append appends the wire form of m to b and returns the extended buffer.
func (m Message) Append(b []byte) []byte {
	b = append(b, m.Header.Command, m.Header.Version)
	b = binary.NativeEndian.AppendUint16(b, m.Header.Reserved)
	return append(b, m.Data...)
}

// UnmarshalBinary parses b into m, copying the payload.
func (m *Message) UnmarshalBinary(b []byte) error {
	pm, err := ParseMessage(b)
	if err != nil {
		return err
	}
	m.Header = pm.Header
	m.Data = append([]byte(nil), pm.Data...)
	return nil
}

// ParseMessage parses the payload of a netlink message (netlink.Message.Data)
// without copying: the returned Data aliases b.
func ParseMessage(b []byte) (Message, error) {
	if len(b) < HeaderLen {
		return Message{}, fmt.Errorf("%w: %d bytes", ErrShortMessage, len(b))
	}
	h := Header{Command: b[0], Version: b[1], Reserved: binary.NativeEndian.Uint16(b[2:4])}
	return Message{Header: h, Data: b[HeaderLen:]}, nil
}
