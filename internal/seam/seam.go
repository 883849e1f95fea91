// Package seam lets the project's own packages (nltest, genltest) reach the
// transport under a *netlink.Conn without exporting it to users. Package
// netlink sets TransportOf once, in its init function; nothing else writes it.
package seam

import "github.com/nlbus/netlink/transport"

// TransportOf returns the transport of conn, a *netlink.Conn.
var TransportOf func(conn any) transport.Transport
