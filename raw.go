package netlink

import (
	"context"
	"errors"
	"fmt"
)

// ReadDatagram reads one datagram into b exactly as the transport delivers
// it, without parsing it as netlink messages, and returns its length and
// source. It is the way to read protocols whose datagrams are not netlink
// messages, such as NETLINK_KOBJECT_UEVENT (plain text; see package uevent).
//
// A datagram longer than b is an error wrapping ErrTruncated (the first
// len(b) bytes are in b); an overrun is an error wrapping ErrOverrun. The
// call waits while another goroutine reads the Conn, and reads whatever
// arrives next: a Conn read with ReadDatagram must not also be used for
// requests or Receive, whose messages it would take.
func (c *Conn) ReadDatagram(ctx context.Context, b []byte) (int, Addr, error) {
	if len(b) == 0 {
		return 0, Addr{}, &OpError{Op: "read-datagram", Err: errors.New("empty buffer")}
	}
	if err := c.waitTok(ctx); err != nil {
		return 0, Addr{}, &OpError{Op: "read-datagram", Err: err}
	}
	info, err := c.t.Recv(ctx, b)
	c.releaseTok()
	if err != nil {
		if c.isClosed() {
			err = ErrClosed
		}
		return 0, Addr{}, &OpError{Op: "read-datagram", Err: err}
	}
	n := min(max(info.N, 0), len(b))
	if info.Truncated {
		cause := fmt.Errorf("%w: datagram longer than the %d-byte buffer", ErrTruncated, len(b))
		if info.Size > 0 {
			cause = fmt.Errorf("%w: datagram of %d bytes, buffer of %d", ErrTruncated, info.Size, len(b))
		}
		return n, info.Src, &OpError{Op: "read-datagram", Err: cause}
	}
	return n, info.Src, nil
}
