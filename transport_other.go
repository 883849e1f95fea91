//go:build !linux && !freebsd

package netlink

import "github.com/nlbus/netlink/transport"

const (
	kernelOneDump   = false
	kernelStampsPID = false
)

// dialKernel reports that this operating system has no kernel netlink (the
// FreeBSD transport lives in transport_freebsd.go).
func dialKernel(protocol int, cfg *Config) (transport.Transport, error) {
	return nil, notSupported("kernel netlink")
}

// dupNetNS: no kernel netlink here (dialKernel refuses first).
func dupNetNS(int) (int, error) { return 0, notSupported("Config.NetNS") }

func closeFD(int) {}
