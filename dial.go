package netlink

import (
	"fmt"
	"runtime"
)

// Netlink protocols (the third argument of socket(2)); the values are the same
// on Linux and FreeBSD, which has Route and Generic only.
const (
	Route    = 0  // NETLINK_ROUTE: links, addresses, routes, neighbours
	Usersock = 2  // NETLINK_USERSOCK: Linux only
	Generic  = 16 // NETLINK_GENERIC: generic netlink families
)

// Dial opens a kernel netlink socket of the given protocol (Route, Generic,
// or on Linux any NETLINK_* value), bound to cfg.PID (0: the kernel picks),
// in cfg.NetNS when set, and returns a Conn over it. On an operating system
// without kernel netlink the error wraps ErrNotSupported.
func Dial(protocol int, cfg *Config) (*Conn, error) {
	conf := cfg.orDefault()
	t, err := dialKernel(protocol, &conf)
	if err != nil {
		return nil, &OpError{Op: "dial", Err: err}
	}
	c := newConn(t, conf)
	c.kernel = kernelFacts{protocol: protocol, oneDump: kernelOneDump, stampsPID: kernelStampsPID}
	if err := c.setup(); err != nil {
		t.Close()
		return nil, err
	}
	if conf.RequestSockets > 0 {
		p := &auxPool{
			idle: make(chan *Conn, conf.RequestSockets),
			max:  conf.RequestSockets,
		}
		if conf.NetNS > 0 {
			// The request sockets open later, on first need, in the
			// namespace: a copy of the descriptor, since the caller may
			// close theirs after Dial (and its number be reused).
			if p.nsfd, err = dupNetNS(conf.NetNS); err != nil {
				t.Close()
				return nil, &OpError{Op: "dial", Err: err}
			}
		}
		p.dial = func() (*Conn, error) {
			aconf := conf
			aconf.Groups, aconf.PID, aconf.RequestSockets, aconf.NetNS = nil, 0, 0, p.nsfd
			return Dial(protocol, &aconf)
		}
		c.aux = p
	}
	return c, nil
}

func notSupported(op string) error {
	return fmt.Errorf("%s on %s/%s: %w", op, runtime.GOOS, runtime.GOARCH, ErrNotSupported)
}
