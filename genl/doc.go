// Package genl is generic netlink over any *netlink.Conn: families,
// multicast groups, operations and attribute policies, resolved by name
// through the controller (nlctrl).
//
// The same code talks to the Linux and FreeBSD kernels and to the nlbus
// userspace bus: a Conn addresses the controller at port 0 with message type
// CtrlID (GENL_ID_CTRL) and a family by the ID the controller gives, and
// assumes nothing else about what answers.
//
//	c, err := genl.Dial(nil) // the kernel's NETLINK_GENERIC
//	if err != nil {
//		return err
//	}
//	defer c.Close()
//
//	f, err := c.GetFamily(ctx, "ethtool")
//	if err != nil {
//		return err // a *NotFoundError if the kernel has no ethtool
//	}
//	fmt.Println(f.ID, f.Version, len(f.Ops))
//
//	// Ask the family; replies are genl Messages (header + attributes).
//	var ae netlink.AttributeEncoder
//	// ... encode the request's attributes ...
//	attrs, _ := ae.Bytes()
//	for m, err := range c.Dump(ctx, f.ID, genl.Message{Header: genl.Header{Command: 2, Version: 1}, Data: attrs}) {
//		...
//	}
//
//	// A do-request whose replies are borrowed: no allocation per call.
//	_, err = c.Do(ctx, f.ID, genl.Message{Header: genl.Header{Command: 1, Version: 1}, Data: attrs}, 0,
//		func(m genl.Message) error { ...; return nil })
//
// Every method that addresses a family takes it first, after the context:
// by ID (Execute, Do, Dump) or by name (ExecuteFamily, DoFamily,
// DumpFamily), then the message, then the flags, then the callback.
//
//	// Join a group by name; its messages arrive on c.Netlink().Receive.
//	err = c.JoinGroup(ctx, "ethtool", "monitor")
//
// Family IDs and group IDs are assigned when a family registers, so they are
// always resolved by name. EnableCache keeps a per-Conn cache of families,
// held true by the controller's "notify" group on a second connection, so
// that name lookups after the first cost no round trip; without it, every
// lookup asks the controller. There is no package-level state.
//
// GetPolicy dumps a family's attribute policies (CTRL_CMD_GETPOLICY) into a
// Policy whose String method prints a table. FreeBSD's controller has no
// GETPOLICY: the error then wraps netlink.ErrNotSupported.
//
// Package genltest serves families and a controller from memory, to test
// code that uses this package without a kernel.
package genl
