package bench

import (
	"encoding/binary"
	"testing"

	mdnl "github.com/mdlayher/netlink"

	"github.com/nlbus/netlink"
)

// msgBuffer is a dump-like buffer of n route-sized messages (a 12-byte
// header body and 48 bytes of attributes each).
func msgBuffer(n int) []byte {
	var b []byte
	for i := range n {
		m := netlink.Message{Header: netlink.Header{Type: 24, Flags: netlink.Multi, Sequence: 7, PID: 99}, Data: make([]byte, 60)}
		m.Data[0] = byte(i)
		b, _ = netlink.AppendMessage(b, m)
	}
	return b
}

// BenchmarkMessageIter walks 100 messages of one buffer: nlbus with
// MessageIter (borrowed), mdlayher with Message.UnmarshalBinary on each
// message's bytes (what its parseMessages does per message, without
// building the slice). Both read every header field and the payload's
// length, so neither skips work. Time per op is for 100 messages.
func BenchmarkMessageIter(b *testing.B) {
	buf := msgBuffer(100)
	b.Run("nlbus", func(b *testing.B) {
		b.ReportAllocs()
		var it netlink.MessageIter
		sum := 0
		for b.Loop() {
			it.Reset(buf)
			for it.Next() {
				m := it.Message()
				sum += int(m.Header.Type) + int(m.Header.Flags) + int(m.Header.Sequence) + int(m.Header.PID) + len(m.Data)
			}
			if it.Err() != nil {
				b.Fatal(it.Err())
			}
		}
		_ = sum
	})
	b.Run("nlbus-header", func(b *testing.B) {
		b.ReportAllocs()
		var it netlink.MessageIter
		sum := 0
		for b.Loop() {
			it.Reset(buf)
			for it.Next() {
				h := it.Header()
				sum += int(h.Type) + int(h.Flags) + int(h.Sequence) + int(h.PID) + len(it.Data())
			}
			if it.Err() != nil {
				b.Fatal(it.Err())
			}
		}
		_ = sum
	})
	b.Run("mdlayher", func(b *testing.B) {
		b.ReportAllocs()
		var m mdnl.Message
		sum := 0
		for b.Loop() {
			for rest := buf; len(rest) >= 16; {
				l := int(binary.NativeEndian.Uint32(rest))
				al := (l + 3) &^ 3
				if err := m.UnmarshalBinary(rest[:al]); err != nil {
					b.Fatal(err)
				}
				sum += int(m.Header.Type) + int(m.Header.Flags) + int(m.Header.Sequence) + int(m.Header.PID) + len(m.Data)
				rest = rest[al:]
			}
		}
		_ = sum
	})
}
