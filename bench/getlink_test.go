//go:build linux

package bench

import (
	"context"
	"testing"

	mdnl "github.com/mdlayher/netlink"
	vnl "github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/bench/internal/dumps"
)

// ifinfoLo is struct ifinfomsg asking for ifindex 1 (lo).
var ifinfoLo = func() (b [unix.SizeofIfInfomsg]byte) {
	he.PutUint32(b[4:], 1)
	return b
}()

// BenchmarkGetLink is a do-request: RTM_GETLINK for ifindex 1 in the
// current namespace (read-only, no privilege needed), on one socket opened
// before the loop.
//
// nlbus and raw send NLM_F_ACK and read the reply and the ACK (two
// recvmsg). mdlayher must not ask for the ACK: its Execute returns at the
// reply and the ACK would surface as a stale message on the next call
// (mdlayher/netlink #167), so it does one recvmsg. vishvananda asks for
// the ACK but returns at the reply and skips the previous call's stale ACK
// on its next one (two recvmsg, the ACK read a call late); it also decodes
// the reply into a typed Link. raw-noack is the floor of the one-recvmsg
// variant; raw-poll is raw with the socket in the Go runtime poller, which
// nlbus, mdlayher and vishvananda all use (see dumps.Raw).
func BenchmarkGetLink(b *testing.B) {
	ctx := context.Background()
	req := netlink.Message{
		Header: netlink.Header{Type: unix.RTM_GETLINK},
		Data:   ifinfoLo[:],
	}
	b.Run("nlbus-execute", func(b *testing.B) {
		c, err := netlink.Dial(netlink.Route, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		b.ReportAllocs()
		for b.Loop() {
			msgs, err := c.Execute(ctx, req)
			if err != nil {
				b.Fatal(err)
			}
			if len(msgs) != 1 || msgs[0].Header.Type != unix.RTM_NEWLINK {
				b.Fatalf("got %d messages", len(msgs))
			}
		}
	})
	b.Run("nlbus-do", func(b *testing.B) {
		c, err := netlink.Dial(netlink.Route, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		b.ReportAllocs()
		n := 0
		fn := func(m netlink.Message) error {
			if m.Header.Type == unix.RTM_NEWLINK {
				n++
			}
			return nil
		}
		for b.Loop() {
			if _, err := c.Do(ctx, req, fn); err != nil {
				b.Fatal(err)
			}
		}
		if n != b.N {
			b.Fatalf("%d replies for %d requests", n, b.N)
		}
	})
	b.Run("mdlayher", func(b *testing.B) {
		c, err := mdnl.Dial(unix.NETLINK_ROUTE, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		mreq := mdnl.Message{
			Header: mdnl.Header{Type: unix.RTM_GETLINK, Flags: mdnl.Request},
			Data:   ifinfoLo[:],
		}
		b.ReportAllocs()
		for b.Loop() {
			msgs, err := c.Execute(mreq)
			if err != nil {
				b.Fatal(err)
			}
			if len(msgs) != 1 {
				b.Fatalf("got %d messages", len(msgs))
			}
		}
	})
	b.Run("vishvananda", func(b *testing.B) {
		h, err := vnl.NewHandle(unix.NETLINK_ROUTE)
		if err != nil {
			b.Fatal(err)
		}
		defer h.Close()
		b.ReportAllocs()
		for b.Loop() {
			l, err := h.LinkByIndex(1)
			if err != nil {
				b.Fatal(err)
			}
			if l.Attrs().Index != 1 {
				b.Fatalf("got link %d", l.Attrs().Index)
			}
		}
	})
	raw := func(flags uint16, dial func(proto, nsfd int) (*dumps.Raw, error)) func(b *testing.B) {
		return func(b *testing.B) {
			r, err := dial(unix.NETLINK_ROUTE, 0)
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			b.ReportAllocs()
			n := 0
			fn := func(typ uint16, _ []byte) {
				if typ == unix.RTM_NEWLINK {
					n++
				}
			}
			for b.Loop() {
				if err := r.Do(unix.RTM_GETLINK, flags, ifinfoLo[:], fn); err != nil {
					b.Fatal(err)
				}
			}
			if n != b.N {
				b.Fatalf("%d replies for %d requests", n, b.N)
			}
		}
	}
	b.Run("raw", raw(unix.NLM_F_ACK, dumps.DialRaw))
	b.Run("raw-poll", raw(unix.NLM_F_ACK, dumps.DialRawPoll))
	b.Run("raw-noack", raw(0, dumps.DialRaw))
}
