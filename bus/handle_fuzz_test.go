package bus

import (
	"testing"

	"github.com/nlbus/netlink"
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

	f.Fuzz(func(t *testing.T, d []byte) {
		s := &Server{MaxBadFrames: 1 << 30, QueueBytes: 64 << 10}
		s.init()
		p := newPeer(s, nil, nil, creds{PID: 1})
		q := newPeer(s, nil, nil, creds{PID: 2})
		s.r.add(p)
		s.r.add(q)
		s.r.bind(q, 5000)
		s.r.join(q, 100, maxGroups)
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
