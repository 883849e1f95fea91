// Package genlctrl is the generic-netlink controller as a component: a
// family registry and the controller protocol of Linux's nlctrl, with no
// transport. The nlbus daemon runs it at port 0 with message type
// genl.CtrlID (GENL_ID_CTRL), and package genltest serves it from memory to
// tests: one implementation, so that what tests see is what the bus does.
//
// A Registry holds the families. Register takes a family as a kernel module
// declares one (name, version, header size, operations with their do/dump
// and admin flags, per-operation attribute policies in Linux's policy model,
// named multicast groups), allocates its ID and group IDs and returns the
// notifications to send on the controller's notify group (NEWFAMILY, then
// NEWMCAST_GRP per group); Unregister removes it (DELMCAST_GRP per group,
// then DELFAMILY).
//
// Handle answers a request to the controller by appending whole netlink
// messages to the host's buffer: CTRL_CMD_GETFAMILY by name, by ID or as a
// dump, and CTRL_CMD_GETPOLICY dumps (per-operation table indexes, then
// the tables, numbered and encoded as Linux's netlink_policy_dump_* does),
// with Linux's errors and extended-ack texts. Check validates a request to a
// registered family before the host passes it to the family's owner, as
// Linux's genl does before calling a handler: the command, the admin
// permission and the attributes against the command's policy.
//
// The daemon's use, in short:
//
//	reg := genlctrl.New(&genlctrl.Config{NotifyGroup: 0x80000000, FirstGroup: 0x80000001})
//
//	// A service registers; the daemon sends the notifications to the
//	// members of reg.NotifyGroup() and remembers the owner of f.ID.
//	f, notes, err := reg.Register(genlctrl.Family{
//		Name: "kvstore", Version: 1, Owner: port,
//		Ops: []genlctrl.Op{
//			{Cmd: 1, Flags: genl.CmdCapDo, DoPolicy: kv},
//			{Cmd: 2, Flags: genl.CmdCapDo | genl.AdminPerm, DoPolicy: kv},
//			{Cmd: 3, Flags: genl.CmdCapDump},
//		},
//		Groups: []genl.Group{{Name: "changes"}},
//	})
//
//	// A request to port 0:
//	switch {
//	case uint16(m.Header.Type) == genl.CtrlID:
//		reply = reg.Handle(reply, m, srcPort)
//	default:
//		owner, ref := reg.Route(m, genlctrl.Caller{Admin: isRoot})
//		if ref != nil {
//			reply = genlctrl.AppendError(reply, m, srcPort, ref.Errno, &ref.ExtAck)
//			break
//		}
//		// relay m to port owner, with srcPort and the credentials
//	}
//
//	// The owner's connection closed:
//	notes = reg.UnregisterOwner(port)
//
// Where the bus deliberately differs from Linux: a GETPOLICY dump names a
// dump-only operation by its own command number (Linux 6.x writes 0 there;
// package genl reads both), and error replies always echo the whole request
// and carry the extended-ack attributes (Linux does so unless the socket
// set NETLINK_CAP_ACK, or did not set NETLINK_EXT_ACK).
package genlctrl
