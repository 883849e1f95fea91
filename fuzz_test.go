package netlink_test

import (
	"bytes"
	"testing"

	"github.com/nlbus/netlink"
)

// The seed corpora under testdata/fuzz were captured from a Linux kernel:
// RTM_GETLINK, RTM_GETADDR and RTM_GETROUTE dump datagrams, a generic
// netlink CTRL_CMD_GETFAMILY reply for nlctrl, an ENODEV error with
// extended ack and an NLMSG_DONE; and from the protocol tests (Linux 6.18):
// an xfrm SA and an xfrm policy dump, a sock_diag TCP listener with every
// INET_DIAG extension, and the attributes after their fixed headers.

// FuzzParseMessages fuzzes the message framing of MessageIter and
// ParseMessages: it must never panic or loop, and re-marshalling the
// messages it accepted reproduces the bytes they came from (padding aside).
func FuzzParseMessages(f *testing.F) {
	f.Add([]byte{})
	f.Add(rawMessage(16, netlink.Done))
	f.Add(rawMessage(0, netlink.Done))
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, err := netlink.ParseMessages(b)
		var it netlink.MessageIter
		it.Reset(b)
		off := 0
		for i := 0; it.Next(); i++ {
			m := it.Message()
			if i >= len(msgs) || m.Header != msgs[i].Header {
				t.Fatalf("MessageIter and ParseMessages disagree at message %d", i)
			}
			if int(m.Header.Length) != netlink.HeaderLen+len(m.Data) {
				t.Fatalf("message %d: length %d with %d payload bytes", i, m.Header.Length, len(m.Data))
			}
			out, merr := netlink.AppendMessage(nil, *m)
			if merr != nil {
				t.Fatalf("re-marshal message %d: %v", i, merr)
			}
			n := int(m.Header.Length)
			if !bytes.Equal(out[:n], b[off:off+n]) {
				t.Fatalf("message %d does not round-trip:\n got %x\nwant %x", i, out[:n], b[off:off+n])
			}
			if it.Offset() <= off {
				t.Fatalf("no progress at offset %d", off)
			}
			off = it.Offset()
		}
		if (err == nil) != (it.Err() == nil) {
			t.Fatalf("errors differ: %v, %v", err, it.Err())
		}
		if err == nil && off != len(b) {
			t.Fatalf("consumed %d of %d bytes without an error", off, len(b))
		}

		var m netlink.Message
		if m.UnmarshalBinary(b) == nil {
			out, merr := m.MarshalBinary()
			if merr != nil || !bytes.Equal(out[:m.Header.Length], b[:m.Header.Length]) {
				t.Fatalf("UnmarshalBinary/MarshalBinary do not round-trip")
			}
		}
	})
}

// FuzzAttributeDecoder fuzzes AttributeDecoder: it walks every attribute,
// descends into each as if it were nested, calls every getter, and checks
// that a well-formed buffer round-trips through AttributeEncoder.Raw.
func FuzzAttributeDecoder(f *testing.F) {
	f.Add([]byte{})
	f.Add(attr(1, 1, 2, 3, 4))
	f.Add(attr(1|netlink.AttrNested, attr(2, 'x', 0)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		walkAttrs(netlink.NewAttributeDecoder(b), 0)

		// All yields what Next reads, and Rest, Offset and Done agree with
		// the position.
		ad := netlink.NewAttributeDecoder(b)
		nx := netlink.NewAttributeDecoder(b)
		for typ, data := range ad.All() {
			if !nx.Next() || nx.Type() != typ || !bytes.Equal(nx.Bytes(), data) {
				t.Fatalf("All and Next disagree at offset %d", nx.Offset())
			}
			if ad.Offset()+len(ad.Rest()) != len(b) || ad.Offset() > len(b) {
				t.Fatalf("offset %d and %d bytes left do not add up to %d", ad.Offset(), len(ad.Rest()), len(b))
			}
			if ad.Done() != (len(ad.Rest()) == 0) {
				t.Fatalf("Done is %v with %d bytes left", ad.Done(), len(ad.Rest()))
			}
		}
		if nx.Next() || (ad.Err() == nil) != (nx.Err() == nil) || !ad.Done() || len(ad.Rest()) != 0 {
			t.Fatalf("All ended differently from Next: %v, %v", ad.Err(), nx.Err())
		}

		// Round trip: re-encode each attribute with its raw type and payload.
		var ae netlink.AttributeEncoder
		ad = netlink.NewAttributeDecoder(b)
		for ad.Next() {
			ae.Raw(ad.TypeFlags(), ad.Bytes())
		}
		if ad.Err() != nil {
			return
		}
		out, err := ae.Bytes()
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if len(out) != netlink.Align(len(b)) {
			t.Fatalf("re-encoded %d bytes from %d", len(out), len(b))
		}
		// Compare all but the padding, which the encoder zeroes.
		ad.Reset(b)
		var od netlink.AttributeDecoder
		od.Reset(out)
		for ad.Next() {
			if !od.Next() || od.TypeFlags() != ad.TypeFlags() || !bytes.Equal(od.Bytes(), ad.Bytes()) {
				t.Fatalf("attribute %d does not round-trip", ad.Type())
			}
		}
		if od.Next() || od.Err() != nil {
			t.Fatalf("re-encoded buffer has extra attributes or an error: %v", od.Err())
		}
	})
}

func walkAttrs(ad *netlink.AttributeDecoder, depth int) {
	if depth > netlink.MaxNestingDepth+1 {
		panic("nesting limit not enforced")
	}
	for ad.Next() {
		_ = ad.Type()
		_ = ad.IsNested()
		_ = ad.Len()
		_ = ad.CopyBytes()
		_ = ad.String()
		_ = ad.StringBytes()
		nd := ad.NestedDecoder()
		walkAttrs(&nd, depth+1)
		// The getters fail on a size mismatch, which ends the walk of this
		// level; run each on a copy of the decoder positioned here.
		for _, get := range getters {
			c := *ad
			get(&c)
		}
		c := *ad
		c.Nested(func(nad *netlink.AttributeDecoder) error {
			for nad.Next() { // NestedDecoder above already walked it all
			}
			return nil
		})
	}
	_ = ad.Err()
}

var getters = []func(ad *netlink.AttributeDecoder){
	func(ad *netlink.AttributeDecoder) { ad.Uint8() },
	func(ad *netlink.AttributeDecoder) { ad.Uint16() },
	func(ad *netlink.AttributeDecoder) { ad.Uint32() },
	func(ad *netlink.AttributeDecoder) { ad.Uint64() },
	func(ad *netlink.AttributeDecoder) { ad.Int8() },
	func(ad *netlink.AttributeDecoder) { ad.Int16() },
	func(ad *netlink.AttributeDecoder) { ad.Int32() },
	func(ad *netlink.AttributeDecoder) { ad.Int64() },
	func(ad *netlink.AttributeDecoder) { ad.Uint() },
	func(ad *netlink.AttributeDecoder) { ad.Int() },
	func(ad *netlink.AttributeDecoder) { ad.Flag() },
	func(ad *netlink.AttributeDecoder) { ad.Addr() },
	func(ad *netlink.AttributeDecoder) { ad.Uint16BE() },
	func(ad *netlink.AttributeDecoder) { ad.Uint32BE() },
	func(ad *netlink.AttributeDecoder) { ad.Uint64BE() },
	func(ad *netlink.AttributeDecoder) { ad.HardwareAddr() },
	func(ad *netlink.AttributeDecoder) { ad.CopyHardwareAddr() },
}

// FuzzParseError fuzzes ParseError on the payload of an NLMSG_ERROR (or,
// with done set, an NLMSG_DONE) with any flags: it must never panic, and
// the fields it returns must not alias the input.
func FuzzParseError(f *testing.F) {
	f.Add(false, uint16(0), []byte{})
	f.Add(true, uint16(netlink.Multi), []byte{0xed, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, done bool, flags uint16, data []byte) {
		typ := netlink.Error
		if done {
			typ = netlink.Done
		}
		m := netlink.Message{Header: netlink.Header{Type: typ, Flags: netlink.HeaderFlags(flags)}, Data: data}
		errno, ext, err := netlink.ParseError(m)
		if err != nil {
			if errno != 0 {
				t.Fatalf("errno %d with error %v", errno, err)
			}
			return
		}
		if int64(errno) < 0 || int64(errno) > 1<<31-1 {
			t.Fatalf("errno %d out of range", errno)
		}
		if len(ext.Cookie) > len(data) || len(ext.Policy) > len(data) || len(ext.Message) > len(data) {
			t.Fatalf("ext-ack fields larger than the input")
		}
		cookie, policy, msg := bytes.Clone(ext.Cookie), bytes.Clone(ext.Policy), ext.Message
		for i := range data {
			data[i] ^= 0xff
		}
		if !bytes.Equal(cookie, ext.Cookie) || !bytes.Equal(policy, ext.Policy) || msg != ext.Message {
			t.Fatalf("the ext-ack fields alias the input")
		}
	})
}
