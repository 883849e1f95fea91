package netlink

import "github.com/nlbus/netlink/internal/seam"

// SetKernelFacts makes a Conn over a fake transport match replies as a
// Linux (oneDump) or FreeBSD (stampsPID) kernel socket of protocol does.
func SetKernelFacts(c *Conn, protocol int, oneDump, stampsPID bool) {
	seam.SetKernel(c, protocol, oneDump, stampsPID)
}
