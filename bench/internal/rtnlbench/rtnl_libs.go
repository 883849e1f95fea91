//go:build linux

// Package rtnlbench holds the typed-listing code that the rtnl benchmarks
// and cmd/rtnlpeak share, one function per library, so that both measure
// the same work: every route (or link) decoded into the library's typed
// value.
package rtnlbench

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os/exec"
	"strings"

	"github.com/jsimonetti/rtnetlink/v2"
	mdnl "github.com/mdlayher/netlink"
	vnl "github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/bench/internal/dumps"
	"github.com/nlbus/netlink/rtnl"
)

// RouteLibs and LinkLibs list the implementations in table order.
var (
	RouteLibs = []string{"rtnl", "vishvananda", "jsimonetti", "ip-json"}
	LinkLibs  = []string{"rtnl", "rtnl-stats", "vishvananda", "jsimonetti", "raw"}
)

// Lister lists once and returns how many objects it saw.
type Lister struct {
	List  func() (int, error)
	Close func()
}

// Routes opens lib in the namespace nsfd (named nsName, for ip) and returns
// a lister of its IPv4 routes, typed.
func Routes(lib string, nsfd int, nsName string) (*Lister, error) {
	ctx := context.Background()
	switch lib {
	case "rtnl":
		// Streamed: each route is decoded into an rtnl.Route and dropped.
		c, err := rtnl.Dial(&netlink.Config{NetNS: nsfd})
		if err != nil {
			return nil, err
		}
		return &Lister{List: func() (int, error) {
			n := 0
			for r, err := range c.Routes(ctx, rtnl.Filter{Family: rtnl.IPv4}) {
				if err != nil {
					return n, err
				}
				if r.Dst.IsValid() {
					n++
				}
			}
			return n, nil
		}, Close: func() { c.Close() }}, nil
	case "vishvananda":
		h, err := vnl.NewHandleAt(netns.NsHandle(nsfd), unix.NETLINK_ROUTE)
		if err != nil {
			return nil, err
		}
		return &Lister{List: func() (int, error) {
			rs, err := h.RouteList(nil, vnl.FAMILY_V4)
			return len(rs), err
		}, Close: h.Close}, nil
	case "jsimonetti":
		c, err := rtnetlink.Dial(&mdnl.Config{NetNS: nsfd})
		if err != nil {
			return nil, err
		}
		return &Lister{List: func() (int, error) {
			rs, err := c.Route.List()
			n := 0
			for i := range rs {
				if rs[i].Family == unix.AF_INET {
					n++
				}
			}
			return n, err
		}, Close: func() { c.Close() }}, nil
	case "ip-json":
		return &Lister{List: func() (int, error) {
			var out bytes.Buffer
			cmd := exec.Command("ip", "-n", nsName, "-j", "-4", "route", "show", "table", "all")
			cmd.Stdout = &out
			if err := cmd.Run(); err != nil {
				return 0, err
			}
			return bytes.Count(out.Bytes(), []byte(`"dst":`)), nil
		}, Close: func() {}}, nil
	}
	return nil, fmt.Errorf("unknown library %q (have %s)", lib, strings.Join(RouteLibs, ", "))
}

// Links opens lib in the namespace nsfd and returns a lister of its links,
// typed.
func Links(lib string, nsfd int) (*Lister, error) {
	ctx := context.Background()
	switch lib {
	case "rtnl", "rtnl-stats":
		// rtnl-stats also asks for the per-protocol counters, as
		// vishvananda and jsimonetti get them.
		c, err := rtnl.Dial(&netlink.Config{NetNS: nsfd})
		if err != nil {
			return nil, err
		}
		flt := rtnl.Filter{Stats: lib == "rtnl-stats"}
		return &Lister{List: func() (int, error) {
			n := 0
			for l, err := range c.Links(ctx, flt) {
				if err != nil {
					return n, err
				}
				if l.Name != "" {
					n++
				}
			}
			return n, nil
		}, Close: func() { c.Close() }}, nil
	case "vishvananda":
		h, err := vnl.NewHandleAt(netns.NsHandle(nsfd), unix.NETLINK_ROUTE)
		if err != nil {
			return nil, err
		}
		return &Lister{List: func() (int, error) {
			ls, err := h.LinkList()
			return len(ls), err
		}, Close: h.Close}, nil
	case "jsimonetti":
		c, err := rtnetlink.Dial(&mdnl.Config{NetNS: nsfd})
		if err != nil {
			return nil, err
		}
		return &Lister{List: func() (int, error) {
			ls, err := c.Link.List()
			return len(ls), err
		}, Close: func() { c.Close() }}, nil
	case "raw":
		// The floor: the same request as rtnl's (stats skipped), read with
		// plain system calls, messages counted, nothing decoded.
		r, err := dumps.DialRaw(unix.NETLINK_ROUTE, nsfd)
		if err != nil {
			return nil, err
		}
		req := make([]byte, unix.SizeofIfInfomsg+8)
		binary.NativeEndian.PutUint16(req[unix.SizeofIfInfomsg:], 8)
		binary.NativeEndian.PutUint16(req[unix.SizeofIfInfomsg+2:], unix.IFLA_EXT_MASK)
		binary.NativeEndian.PutUint32(req[unix.SizeofIfInfomsg+4:], 1<<3) // RTEXT_FILTER_SKIP_STATS
		return &Lister{List: func() (int, error) {
			n := 0
			err := r.Do(unix.RTM_GETLINK, unix.NLM_F_DUMP, req, func(typ uint16, _ []byte) {
				if typ == unix.RTM_NEWLINK {
					n++
				}
			})
			return n, err
		}, Close: func() { r.Close() }}, nil
	}
	return nil, fmt.Errorf("unknown library %q (have %s)", lib, strings.Join(LinkLibs, ", "))
}
