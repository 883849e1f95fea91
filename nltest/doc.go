// Package nltest runs a netlink.Conn against a function instead of a kernel,
// for tests that need no privileges and no particular operating system.
//
// Dial returns a Conn whose requests are served by a Func. The Func returns
// only the payload messages; nltest completes them the way a kernel would:
// it fills in sequence numbers and the port, ends a do-request with an
// acknowledgement and a dump with NLMSG_DONE, and turns a returned
// syscall.Errno into an NLMSG_ERROR. Options inject the faults real kernels
// produce: replies split across reads, FreeBSD's coalesced reads and
// positive error codes, interrupted dumps, and receive-queue overruns.
//
//	c := nltest.Dial(func(req []netlink.Message) ([]netlink.Message, error) {
//		if req[0].Header.Type != unix.RTM_GETLINK {
//			return nil, unix.EOPNOTSUPP
//		}
//		return []netlink.Message{{Header: netlink.Header{Type: unix.RTM_NEWLINK}, Data: link}}, nil
//	})
//	defer c.Close()
//	msgs, err := c.Execute(ctx, netlink.Message{Header: netlink.Header{Type: unix.RTM_GETLINK, Flags: netlink.Dump}})
//
// Multicast and Overrun inject notifications and overruns into such a Conn
// at any time; Error builds an error reply with extended-ack fields.
package nltest
