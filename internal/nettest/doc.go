// Package nettest holds helpers for privileged tests that talk to the Linux
// kernel: each test gets its own network namespace, so nothing a test does
// touches the host's interfaces, addresses or routes.
//
// RequireRoot skips a test, and says why, when it does not run as root; as
// root, a missing kernel feature the test depends on is a failure, never a
// skip. NewNS creates a uniquely named namespace (nlt-<random>) with lo up
// and removes it when the test ends:
//
//	func TestKernelSomething(t *testing.T) {
//		nettest.RequireRoot(t)
//		ns := nettest.NewNS(t)
//		ns.AddDummy(t, "d0")
//		ns.Run(t, "link", "set", "d0", "up")
//		c, err := netlink.Dial(netlink.Route, &netlink.Config{NetNS: ns.FD()})
//		...
//	}
//
// The helpers drive iproute2's ip(8), which must be installed. They are for
// tests only and hold no package-level state.
package nettest
