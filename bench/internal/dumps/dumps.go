//go:build linux

// Package dumps holds the request code the benchmarks and cmd/peakmem share,
// one function per library, so that both measure exactly the same work.
package dumps

import (
	"context"
	"fmt"

	mdnl "github.com/mdlayher/netlink"
	vnl "github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/nlbus/netlink"
)

// Libs lists the implementations, in the order tables print them.
var Libs = []string{"nlbus", "mdlayher", "vishvananda", "raw"}

// rtmsgInet is struct rtmsg with rtm_family = AF_INET: the payload of an
// IPv4 RTM_GETROUTE dump request.
var rtmsgInet = [unix.SizeofRtMsg]byte{0: unix.AF_INET}

// RouteRequestData returns the payload of the IPv4 route dump request.
func RouteRequestData() []byte { return rtmsgInet[:] }

// Nlbus streams an IPv4 route dump through Conn.Dump and counts the
// RTM_NEWROUTE messages; nothing is copied.
func Nlbus(ctx context.Context, c *netlink.Conn) (int, error) {
	n := 0
	req := netlink.Message{
		Header: netlink.Header{Type: unix.RTM_GETROUTE},
		Data:   rtmsgInet[:],
	}
	for m, err := range c.Dump(ctx, req) {
		if err != nil {
			return n, err
		}
		if m.Header.Type == unix.RTM_NEWROUTE {
			n++
		}
	}
	return n, nil
}

// Mdlayher runs the dump with mdlayher/netlink's Conn.Execute, which returns
// every message (copied) once the dump is over.
func Mdlayher(c *mdnl.Conn) (int, error) {
	msgs, err := c.Execute(mdnl.Message{
		Header: mdnl.Header{
			Type:  unix.RTM_GETROUTE,
			Flags: mdnl.Request | mdnl.Dump,
		},
		Data: rtmsgInet[:],
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for i := range msgs {
		if msgs[i].Header.Type == unix.RTM_NEWROUTE {
			n++
		}
	}
	return n, nil
}

// Vishvananda lists IPv4 routes with Handle.RouteList: typed (every message
// decoded into a netlink.Route and kept in a slice), and filtered client side
// to the main table, as that library does.
func Vishvananda(h *vnl.Handle) (int, error) {
	rs, err := h.RouteList(nil, vnl.FAMILY_V4)
	return len(rs), err
}

// Raw runs the dump on a plain x/sys socket (see Raw.Dump).
func RawDump(r *Raw) (int, error) {
	n := 0
	err := r.Do(unix.RTM_GETROUTE, unix.NLM_F_DUMP, rtmsgInet[:], func(typ uint16, _ []byte) {
		if typ == unix.RTM_NEWROUTE {
			n++
		}
	})
	return n, err
}

// Check verifies that a count is plausible for a namespace of routes routes.
func Check(lib string, got, routes int) error {
	if got < routes || got > routes+16 {
		return fmt.Errorf("%s: dump returned %d routes, want %d (+ a few local ones)", lib, got, routes)
	}
	return nil
}
