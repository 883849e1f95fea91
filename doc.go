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
// Errors are *OpError values wrapping the raw errno, so errors.Is(err,
// unix.ENODEV) holds, with every extended-ack field the kernel sent. The
// differences between Linux and FreeBSD (errno sign, NLMSG_DONE flags, reads
// of several datagrams, the sockaddr layout) are absorbed here and in package
// compat; callers write one program for both.
package netlink
