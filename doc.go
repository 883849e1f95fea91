// Package netlink is a portable netlink library: one message and attribute
// codec and one Conn over Linux and FreeBSD kernel netlink, and over any other
// transport.Transport (the nlbus userspace bus uses the same Conn).
//
// A Conn sends requests and matches replies by sequence number and by the
// port the request went to. Execute returns a request's replies (consuming a
// do-request's ACK, so no stale ACK surfaces later); Dump streams a dump in
// constant memory; Receive returns what no request claimed, such as
// multicast notifications.
//
//	c, err := netlink.Dial(netlink.Route, nil)
//	if err != nil {
//		return err
//	}
//	defer c.Close()
//
//	req := netlink.Message{
//		Header: netlink.Header{Type: unix.RTM_GETLINK},
//		Data:   make([]byte, unix.SizeofIfInfomsg),
//	}
//	for m, err := range c.Dump(ctx, req) {
//		if err != nil {
//			return err
//		}
//		var ifi [unix.SizeofIfInfomsg]byte
//		attrs, _ := netlink.Fixed(ifi[:], m.Data)
//		ad := netlink.NewAttributeDecoder(attrs)
//		for ad.Next() {
//			if ad.Type() == unix.IFLA_IFNAME {
//				fmt.Println(ad.String())
//			}
//		}
//	}
//
// # Which call to use
//
//   - Execute: a request and all its replies, copied, in one call. It asks
//     for and consumes the ACK of a do-request, returns a dump whole at
//     NLMSG_DONE, returns the echo of an NLM_F_ECHO request, and waits for
//     replies that some protocols send after the ACK (audit). The default.
//   - Do: Execute without copies: a callback gets each reply, borrowed
//     until it returns, and Do returns the final Ack (its warning and
//     cookie). For hot paths: no allocation per request.
//   - Query: a request without NLM_F_ACK that ends at its first reply.
//     Fastest; only for requests that always get exactly one reply or an
//     error (a GET of one object).
//   - Dump: a dump as an iterator that streams in constant memory; leaving
//     the loop early is fine (the rest is discarded as the Conn reads on).
//     Concurrent dumps on one Linux kernel Conn queue behind each other.
//   - Batch: many messages in few datagrams (nf_tables changes, bulk route
//     changes), one result each.
//   - Send and Receive: anything that is not request and reply: multicast
//     subscriptions, protocols that never ACK (connector: subscribe with
//     Send), messages to or from a peer port (NETLINK_USERSOCK, the bus).
//     Receive also returns requests from bus peers, late replies, and
//     reports losses (ErrOverrun, ErrMalformed) in their place; a service
//     loop uses ReceiveBorrowed, which does not copy.
//   - ReadDatagram: datagrams that are not netlink messages (uevents).
//
// Use separate Conns for requests and for subscriptions, and see quirks.go
// for the protocols that bend the rules.
//
// Errors are *OpError values wrapping the raw errno, so errors.Is(err,
// unix.ENODEV) holds, with every extended-ack field the kernel sent. The
// differences between Linux and FreeBSD (errno sign, NLMSG_DONE flags, reads
// of several datagrams, the sockaddr layout) are absorbed here and in package
// compat; callers write one program for both.
package netlink
