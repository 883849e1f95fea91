package bus

import (
	"fmt"
	"strings"
	"testing"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/genl"
	"github.com/nlbus/netlink/genl/genlctrl"
)

// BenchmarkAccessCall is the daemon's own cost of the access rules on a
// call to a family: routeCall (the rules, then the registry's checks) for
// a caller with uid 1000, with no rules, with 100 rules of which only the
// last names the caller (the others are left out when the caller's view
// is built), and with 100 rules for everyone of which the first 99 are
// about other families (each call scans them). bench/ has the round trip
// through a real daemon (BenchmarkBusAccess).
func BenchmarkAccessCall(b *testing.B) {
	var others, anyone strings.Builder
	others.WriteString("rules:\n")
	anyone.WriteString("rules:\n")
	for i := range 99 {
		fmt.Fprintf(&others, "  - {deny: call, family: bench, uid: %d}\n", 200000+i)
		fmt.Fprintf(&anyone, "  - {deny: call, family: other%d}\n", i)
	}
	last := "  - {allow: call, family: bench, uid: 1000}\n"
	for _, tc := range []struct{ name, rules string }{
		{"none", ""}, {"100-others", others.String() + last}, {"100-anyone", anyone.String() + last},
	} {
		b.Run(tc.name, func(b *testing.B) {
			a, err := ParseAccess([]byte(tc.rules))
			if err != nil {
				b.Fatal(err)
			}
			s := &Server{Access: a}
			s.init()
			p := newPeer(s, acceptedConn{}, creds{PID: 1, UID: 1000, GID: 1000})
			s.r.add(p)
			info, _, err := s.reg.Register(genlctrl.Family{Name: "bench", Owner: 5000, Ops: []genlctrl.Op{
				{Cmd: 1, Flags: genl.CmdCapDo}, {Cmd: 2, Flags: genl.CmdCapDo | genl.AdminPerm},
			}})
			if err != nil {
				b.Fatal(err)
			}
			m := netlink.Message{Header: netlink.Header{Type: netlink.HeaderType(info.ID), Flags: netlink.Request | netlink.Acknowledge}, Data: []byte{1, 1, 0, 0}}
			if owner, ref := p.routeCall(m); ref != nil || owner != 5000 {
				b.Fatalf("routeCall: %d, %+v", owner, ref)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				p.routeCall(m)
			}
		})
	}
}
