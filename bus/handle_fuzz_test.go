package bus

import (
	"testing"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/genl"
	"github.com/nlbus/netlink/genl/genlctrl"
)

// FuzzHandle feeds any datagram to the daemon's router, from a peer
// without a socket, with another peer bound and in a group: it never
// panics, and everything it queues is well-formed frames within the bounds.
func FuzzHandle(f *testing.F) {
	good, _ := netlink.AppendMessage(nil, netlink.Message{Header: netlink.Header{Type: 0x30, Flags: netlink.Request | netlink.Acknowledge, Sequence: 1}, Data: []byte("abcd")})
	for _, e := range []Envelope{{Dst: 5000}, {Group: 100}, {}, {Flags: FlagTransport}, {Group: 1}, {Dst: 9}} {
		b := make([]byte, EnvelopeLen+len(good))
		e.Length = uint32(len(b))
		PutEnvelope(b, e)
		copy(b[EnvelopeLen:], good)
		f.Add(b)
	}
	ctl, _ := ControlMessage(CmdJoin, netlink.Acknowledge, func(ae *netlink.AttributeEncoder) { ae.Uint32(AttrGroup, 2) })
	cb, _ := netlink.AppendMessage(nil, ctl)
	b := make([]byte, EnvelopeLen+len(cb))
	PutEnvelope(b, Envelope{Length: uint32(len(b))})
	copy(b[EnvelopeLen:], cb)
	f.Add(b)
	// The registry: a request to the family q owns (type 0x20), the
	// controller (a GETFAMILY dump), a registration.
	add := func(m netlink.Message) {
		mb, _ := netlink.AppendMessage(nil, m)
		b := make([]byte, EnvelopeLen+len(mb))
		PutEnvelope(b, Envelope{Length: uint32(len(b))})
		copy(b[EnvelopeLen:], mb)
		f.Add(b)
	}
	add(netlink.Message{Header: netlink.Header{Type: FirstFamilyID, Flags: netlink.Request | netlink.Acknowledge, Sequence: 2}, Data: []byte{1, 1, 0, 0, 8, 0, 1, 0, 5, 0, 0, 0}})
	add(netlink.Message{Header: netlink.Header{Type: 0x10, Flags: netlink.Request | netlink.Dump, Sequence: 3}, Data: []byte{3, 1, 0, 0}})
	reg, _ := ControlMessage(CmdNewFamily, netlink.Acknowledge, func(ae *netlink.AttributeEncoder) {
		AppendFamilySpec(ae, &FamilySpec{Name: "g", Ops: []Op{{Cmd: 1, Flags: genl.CmdCapDo, DoPolicy: &genlctrl.Table{Attrs: []genlctrl.Attr{{ID: 1, Type: genl.TypeU8}}}}}, Groups: []string{"x"}})
	})
	add(reg)

	f.Fuzz(func(t *testing.T, d []byte) {
		s := &Server{MaxBadFrames: 1 << 30, QueueBytes: 64 << 10}
		s.init()
		p := newPeer(s, acceptedConn{}, creds{PID: 1})
		q := newPeer(s, acceptedConn{}, creds{PID: 2})
		s.r.add(p)
		s.r.add(q)
		s.r.bind(q, 5000)
		s.r.join(q, 100, maxGroups)
		s.r.join(q, NotifyGroup, maxGroups)
		if _, _, err := s.reg.Register(genlctrl.Family{Name: "f", Owner: 5000, Ops: []genlctrl.Op{
			{Cmd: 1, Flags: genl.CmdCapDo | genl.CmdCapDump, DoPolicy: &genlctrl.Table{Attrs: []genlctrl.Attr{{ID: 1, Type: genl.TypeU32}}}},
		}}); err != nil {
			t.Fatal(err)
		}
		q.families.Add(1)
		rs := newRouteState()
		p.handle(d, false, rs)
		p.handle(d, true, rs)
		clear(rs.touched)
		for _, x := range []*peer{p, q} {
			x.mu.Lock()
			out := x.out
			if x.qBytes > s.qBytes+headroomBytes+EnvelopeLen+overrunLen {
				t.Fatalf("queue of %d bytes past its bound", x.qBytes)
			}
			x.mu.Unlock()
			err := SplitFrames(out, func(e Envelope, payload []byte) bool {
				if _, err := netlink.ParseMessages(payload); err != nil {
					t.Fatalf("the daemon queued a malformed frame: %v", err)
				}
				return true
			})
			if err != nil {
				t.Fatalf("the daemon queued a malformed frame: %v", err)
			}
		}
	})
}
