// Package uevent reads the kernel's device events (uevents) from a
// NETLINK_KOBJECT_UEVENT socket, and udevd's re-broadcast of them.
//
// Uevent datagrams are not netlink messages: the kernel sends NUL-separated
// text, a header "ACTION@DEVPATH" and then KEY=VALUE variables
//
//	add@/devices/virtual/net/veth0\0ACTION=add\0DEVPATH=/devices/virtual/net/veth0\0SUBSYSTEM=net\0SEQNUM=4242\0INTERFACE=veth0\0IFINDEX=5\0
//
// on KernelGroup; udevd, once its rules have run, sends the device's
// properties behind a binary "libudev" header on UdevGroup. Parse reads
// both framings into an Event without copying. A Reader reads datagrams with
// netlink.Conn.ReadDatagram into one reused buffer and parses them into one
// reused Event, so reading costs no allocation per event: its slices are
// valid until the next Read, and Event.Copy keeps one.
//
//	r, err := uevent.Dial(nil) // KernelGroup
//	if err != nil { ... }
//	defer r.Close()
//	for {
//		ev, err := r.Read(ctx)
//		if errors.Is(err, uevent.ErrMalformed) {
//			continue // not a uevent: say so, read on
//		}
//		if err != nil { ... }
//		if ev.Action == uevent.Add && string(ev.Subsystem) == "net" {
//			name, _ := ev.Lookup("INTERFACE")
//			fmt.Printf("new interface %s\n", name)
//		}
//	}
//
// The kernel sends a network device's uevents to the network namespace that
// owns it (netlink.Config.NetNS selects the namespace a Reader listens in);
// other devices' uevents, and udevd's messages, go to the initial namespace.
// Kernel uevents exist on Linux only; on other systems Dial returns an
// error wrapping netlink.ErrNotSupported, while Parse works everywhere.
package uevent
