// Package bus is the nlbus userspace netlink bus: processes exchange
// ordinary netlink messages, addressed by port ID and multicast group,
// through a daemon, on Linux and FreeBSD alike.
//
// A client gets a *netlink.Conn with Dial and uses it as it would a kernel
// Conn (Send, Receive, Execute, Do, Dump, JoinGroup, Batch); the sender's
// port arrives in Message.Addr and its credentials in Message.Creds, both
// stamped by the daemon, so no client can speak as another. The daemon is
// port 0, as the kernel is: bus control (Ports, GetStats, and the joins and
// binds the transport does for the Conn) is generic netlink to port 0.
//
// The daemon is also a generic-netlink controller (nlctrl, type 0x10 at
// port 0): a service registers a family with RegisterFamily and serves it
// with Serve (a Handler per command, replies and dump parts streamed by a
// ReplyWriter, notifications with Publish); clients resolve and call it
// with package genl as they would a kernel family. The daemon checks each
// request against the family's commands, admin flags and attribute
// policies before the service sees it, and the family goes when the
// registering connection does.
//
// Serve runs the handlers one at a time, in order, and reads ahead into a
// bounded queue while one runs (ServeWith and ServeOptions: 1024 requests
// and 1 MiB by default; when full it stops reading, dropping nothing). It
// joins GroupPorts to learn when a caller goes: that caller's queued
// requests are dropped, its running handler's context is cancelled with a
// cause wrapping ErrCallerGone and its Reply fails, while a new owner of
// the same port number is served. A release is seen in its place in the
// stream, and one may be missed after an overrun. A handler's context
// ends when the handler returns; a handler's panic comes out of Serve as a
// *HandlerPanic. ServeStats counts what was served, skipped, cancelled,
// abandoned and left unanswered, and the overruns. docs/BUS.md has the
// details.
//
// Access rules (ParseAccess, LoadAccess, Server.Access and SetAccess; the
// format is in docs/BUS.md) decide who may register a family name, call
// its commands, send to a port or group and join a group; denials are
// EPERM with the rule's name, counted in the stats.
//
// Server is the daemon (`nlbus serve` runs one); Listen creates its socket
// and SocketPath says where clients look for it; package bustest runs one
// in-process for tests. The wire protocol is docs/PROTOCOL.md.
//
//	c, err := bus.Dial(&bus.Config{Port: 7000}) // or nil: any port
//	if err != nil { ... }
//	defer c.Close()
//	msgs, err := c.Receive(ctx) // requests and messages from other ports
//
// Concurrency: a Server serves any number of connections; a Transport
// allows one reader together with any number of senders, as
// transport.Transport requires.
package bus
