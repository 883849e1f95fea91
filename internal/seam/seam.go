// Package seam lets the project's own packages (nltest, genltest) reach the
// transport under a *netlink.Conn without exporting it to users. Package
// netlink sets TransportOf once, in its init function; nothing else writes it.
package seam

import "github.com/nlbus/netlink/transport"

// TransportOf returns the transport of conn, a *netlink.Conn.
var TransportOf func(conn any) transport.Transport

// SetKernel makes conn, a *netlink.Conn, match replies as a kernel socket
// of the given protocol does on Linux (oneDump) or FreeBSD (stampsPID), so
// that a fake kernel (nltest) is held to the same rules as the real one.
var SetKernel func(conn any, protocol int, oneDump, stampsPID bool)
