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
