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
// Tests never load or unload kernel modules unless the environment variable
// NLBUS_THROWAWAY_MACHINE=1 says the machine is a throwaway one (.ci/run and
// the CI jobs set it). Creating a link of a kind whose driver is not loaded
// loads its module, so RequireLinkKind and RequireModule check /sys/module,
// the kernel's configuration and /lib/modules first, and skip with the reason
// where the test would load one; AddDummy picks a kind that is already there.
// A feature that came with a kernel release is gated with RequireKernel, and
// fails the test on that release or later, rather than skipped on the error
// its absence returns (the same error can be a bug in the request).
//
// The helpers drive iproute2's ip(8), which must be installed. They are for
// tests only and hold no package-level state.
package nettest
