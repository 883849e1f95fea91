package bus

import (
	"encoding/binary"
	"fmt"
	"io"
	"time"
)

// Pcap constants: a classic pcap file of link type LINKTYPE_NETLINK (253),
// each record a 16-byte cooked header (the SLL v1 layout, big-endian) then
// the netlink messages as they were on the bus.
const (
	pcapMagic       = 0xa1b2c3d4
	pcapSnapLen     = 1 << 20
	linkTypeNetlink = 253
	arphrdNetlink   = 824
	// PcapProtocol is the netlink protocol written in the cooked header:
	// NETLINK_GENERIC (16), so that Wireshark decodes the generic-netlink
	// header of bus-control (and, later, registered families') messages.
	PcapProtocol = 16
	// Packet types of the cooked header, as nlmon uses them: to a client
	// from the daemon (PACKET_HOST), or sent by a client (PACKET_OUTGOING).
	pcapFromDaemon = 0
	pcapFromClient = 4
)

// PcapWriter writes frames seen by a monitor as a pcap file Wireshark and
// tshark open as netlink.
type PcapWriter struct {
	w   io.Writer
	buf []byte
}

// NewPcapWriter writes the pcap file header to w.
func NewPcapWriter(w io.Writer) (*PcapWriter, error) {
	h := make([]byte, 24)
	binary.LittleEndian.PutUint32(h[0:], pcapMagic)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], pcapSnapLen)
	binary.LittleEndian.PutUint32(h[20:], linkTypeNetlink)
	if _, err := w.Write(h); err != nil {
		return nil, fmt.Errorf("nlbus: pcap header: %w", err)
	}
	return &PcapWriter{w: w}, nil
}

// WriteFrame writes one record: the frame's messages, stamped ts, marked as
// from the daemon (source port 0) or from a client.
func (p *PcapWriter) WriteFrame(ts time.Time, e Envelope, payload []byte) error {
	n := 16 + len(payload)
	if cap(p.buf) < 16+n {
		p.buf = make([]byte, 16+n)
	}
	b := p.buf[:16+n]
	binary.LittleEndian.PutUint32(b[0:], uint32(ts.Unix()))
	binary.LittleEndian.PutUint32(b[4:], uint32(ts.Nanosecond()/1000))
	binary.LittleEndian.PutUint32(b[8:], uint32(n))
	binary.LittleEndian.PutUint32(b[12:], uint32(n))
	c := b[16:32]
	clear(c)
	typ := uint16(pcapFromClient)
	if e.Src == 0 {
		typ = pcapFromDaemon
	}
	binary.BigEndian.PutUint16(c[0:], typ)
	binary.BigEndian.PutUint16(c[2:], arphrdNetlink)
	binary.BigEndian.PutUint16(c[14:], PcapProtocol)
	copy(b[32:], payload)
	_, err := p.w.Write(b)
	return err
}
