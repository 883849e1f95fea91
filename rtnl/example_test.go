package rtnl_test

import (
	"context"
	"fmt"
	"log"
	"net/netip"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/compat"
	"github.com/nlbus/netlink/rtnl"
)

// List the IPv4 addresses of every interface: the same program on Linux and
// FreeBSD.
func ExampleConn_Addresses() {
	ctx := context.Background()
	c, err := rtnl.Dial(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	for a, err := range c.Addresses(ctx, rtnl.Filter{Family: rtnl.IPv4}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(a.Index, a.Prefix)
	}
}

// Stream the routes of the main table, however many there are, in constant
// memory.
func ExampleConn_Routes() {
	ctx := context.Background()
	c, err := rtnl.Dial(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	for r, err := range c.Routes(ctx, rtnl.InTable(c.MainTable())) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(r.Dst, r.Gateway, r.OutIndex)
	}
}

// Add a route through a gateway, then replace it.
func ExampleConn_AddRoute() {
	ctx := context.Background()
	c, err := rtnl.Dial(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	r := rtnl.Route{
		Dst:     netip.MustParsePrefix("198.51.100.0/24"),
		Gateway: netip.MustParseAddr("192.0.2.1"),
		Table:   c.MainTable(),
	}
	if err := c.AddRoute(ctx, r); err != nil {
		log.Fatal(err)
	}
	r.Gateway = netip.MustParseAddr("192.0.2.2")
	if err := c.ReplaceRoute(ctx, r); err != nil {
		log.Fatal(err)
	}
}

// Follow link, address, route and neighbour changes; after an overrun,
// rebuild the view from a dump.
func ExampleNewMonitor() {
	ctx := context.Background()
	m, err := rtnl.NewMonitor(nil, rtnl.KindAll)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	c, err := rtnl.Dial(nil) // a second socket for the resync dumps
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	for ev, err := range m.Events(ctx) {
		if err != nil {
			log.Print(err) // a notification that did not decode; go on
			continue
		}
		if ev.Type == rtnl.Overrun {
			for ev, err := range c.Resync(ctx, rtnl.KindAll) {
				if err == nil {
					fmt.Println("resync", ev.Type)
				}
			}
			continue
		}
		fmt.Println(ev.Type)
	}
}

// The portable constants in compat make raw rtnetlink build for FreeBSD as
// well as Linux (golang.org/x/sys/unix has no RTM_* or IFLA_* for FreeBSD).
func Example_rawLinkDump() {
	ctx := context.Background()
	c, err := netlink.Dial(netlink.Route, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	req := netlink.Message{
		Header: netlink.Header{Type: compat.RtmGetLink},
		Data:   make([]byte, compat.SizeofIfInfomsg),
	}
	for m, err := range c.Dump(ctx, req) {
		if err != nil {
			log.Fatal(err)
		}
		if len(m.Data) < compat.SizeofIfInfomsg {
			continue
		}
		ad := netlink.NewAttributeDecoder(m.Data[compat.SizeofIfInfomsg:])
		for ad.Next() {
			if ad.Type() == compat.IflaIfname {
				fmt.Println(ad.String())
			}
		}
	}
}
