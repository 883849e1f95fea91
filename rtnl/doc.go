// Package rtnl is typed rtnetlink: links, addresses, routes and neighbours
// with the same API on Linux and FreeBSD.
//
// A Conn lists objects as streaming iterators over one dump (constant
// memory however large the table), gets, adds, replaces and deletes them.
// Values are portable: address families are IPv4 and IPv6 whatever the
// OS's AF_INET6, interface flags and link types come from compat, and
// tables are the OS's own numbers (Conn.MainTable is 254 on Linux, 0 on
// FreeBSD). Decoding copies only what a typed value keeps; attributes it
// does not decode are kept in wire form in the value's Extra field. An
// operation the OS lacks returns an error wrapping compat.ErrNotSupported.
//
//	c, err := rtnl.Dial(nil)
//	if err != nil { ... }
//	defer c.Close()
//	for r, err := range c.Routes(ctx, rtnl.Filter{Family: rtnl.IPv4}) {
//		if err != nil { ... }
//		fmt.Println(r.Dst, r.Gateway, r.OutIndex, r.Table)
//	}
//	err = c.AddRoute(ctx, rtnl.Route{Dst: netip.MustParsePrefix("10.9.0.0/16"),
//		Gateway: netip.MustParseAddr("192.0.2.1"), Table: c.MainTable()})
//
// A Monitor subscribes one socket to the link, address, route and
// neighbour groups and returns typed events in the kernel's order. When the
// kernel drops notifications it returns an Overrun event and goes on; the
// caller rebuilds its view with Conn.Resync (a dump of everything, as
// events):
//
//	m, err := rtnl.NewMonitor(nil, rtnl.KindAll)
//	for ev, err := range m.Events(ctx) {
//		if ev.Type == rtnl.Overrun {
//			for ev, err := range c.Resync(ctx, rtnl.KindAll) { ... }
//		}
//	}
package rtnl
