package netlink

import (
	"fmt"
	"time"

	"github.com/nlbus/netlink/transport"
)

// Option is a boolean socket option, set with Conn.SetOption. It is the
// transport package's type, named here so that users need not import it.
type Option = transport.Option

// Socket options. The kernel sockets have them where the kernel does (see
// package compat for which OS has which); other transports refuse them with
// an error wrapping ErrNotSupported.
const (
	OptionExtendedAck    = transport.OptionExtendedAck    // NETLINK_EXT_ACK
	OptionStrictCheck    = transport.OptionStrictCheck    // NETLINK_GET_STRICT_CHK
	OptionCapAck         = transport.OptionCapAck         // NETLINK_CAP_ACK
	OptionNoENOBUFS      = transport.OptionNoENOBUFS      // NETLINK_NO_ENOBUFS
	OptionBroadcastError = transport.OptionBroadcastError // NETLINK_BROADCAST_ERROR
	OptionListenAllNSID  = transport.OptionListenAllNSID  // NETLINK_LISTEN_ALL_NSID
	OptionPacketInfo     = transport.OptionPacketInfo     // NETLINK_PKTINFO
)

// setup applies the configuration to a new Conn's transport.
func (c *Conn) setup() error {
	if !c.cfg.DisableExtendedAck {
		// Requested where the transport has it, silently left off where
		// not: extended acks are a default, not a demand.
		if os, ok := c.t.(transport.OptionSetter); ok {
			if err := os.SetOption(transport.OptionExtendedAck, true); err != nil {
				c.log.Debug("extended ack unavailable", "error", err)
			}
		}
	}
	if c.cfg.Strict {
		if err := c.SetOption(OptionStrictCheck, true); err != nil {
			return err
		}
	}
	if c.cfg.SocketReceiveBuffer > 0 {
		if err := c.SetReadBuffer(c.cfg.SocketReceiveBuffer); err != nil {
			return err
		}
	}
	if c.cfg.SocketSendBuffer > 0 {
		if err := c.SetWriteBuffer(c.cfg.SocketSendBuffer); err != nil {
			return err
		}
	}
	for _, g := range c.cfg.Groups {
		if err := c.JoinGroup(g); err != nil {
			return err
		}
	}
	return nil
}

// lacks is the error for an optional transport interface the Conn's
// transport does not implement.
func (c *Conn) lacks(what string) error {
	return fmt.Errorf("%s on a %T transport: %w", what, c.t, ErrNotSupported)
}

// SetOption turns a boolean socket option on or off. An option the kernel
// refuses, or a transport without options (the bus, nltest), gives an error
// wrapping ErrNotSupported.
func (c *Conn) SetOption(opt Option, on bool) error {
	if c.isClosed() {
		return &OpError{Op: "set-option", Err: ErrClosed}
	}
	os, ok := c.t.(transport.OptionSetter)
	if !ok {
		return &OpError{Op: "set-option", Err: c.lacks("option " + opt.String())}
	}
	if err := os.SetOption(opt, on); err != nil {
		return c.transportErr("set-option", err)
	}
	return nil
}

// SetReadBuffer sets the socket's receive buffer (SO_RCVBUF) in bytes.
func (c *Conn) SetReadBuffer(bytes int) error {
	if c.isClosed() {
		return &OpError{Op: "set-read-buffer", Err: ErrClosed}
	}
	bs, ok := c.t.(transport.BufferSizer)
	if !ok {
		return &OpError{Op: "set-read-buffer", Err: c.lacks("socket buffer size")}
	}
	if err := bs.SetReadBuffer(bytes); err != nil {
		return c.transportErr("set-read-buffer", err)
	}
	return nil
}

// SetWriteBuffer sets the socket's send buffer (SO_SNDBUF) in bytes.
func (c *Conn) SetWriteBuffer(bytes int) error {
	if c.isClosed() {
		return &OpError{Op: "set-write-buffer", Err: ErrClosed}
	}
	bs, ok := c.t.(transport.BufferSizer)
	if !ok {
		return &OpError{Op: "set-write-buffer", Err: c.lacks("socket buffer size")}
	}
	if err := bs.SetWriteBuffer(bytes); err != nil {
		return c.transportErr("set-write-buffer", err)
	}
	return nil
}

// SetDeadline sets the read and write deadlines; the zero time clears them.
// Contexts are the better tool for one call; a deadline bounds every call.
func (c *Conn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// SetReadDeadline bounds blocking receives.
func (c *Conn) SetReadDeadline(t time.Time) error {
	if c.isClosed() {
		return &OpError{Op: "set-deadline", Err: ErrClosed}
	}
	d, ok := c.t.(transport.Deadliner)
	if !ok {
		return &OpError{Op: "set-deadline", Err: c.lacks("deadline")}
	}
	if err := d.SetReadDeadline(t); err != nil {
		return c.transportErr("set-deadline", err)
	}
	return nil
}

// SetWriteDeadline bounds blocking sends.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	if c.isClosed() {
		return &OpError{Op: "set-deadline", Err: ErrClosed}
	}
	d, ok := c.t.(transport.Deadliner)
	if !ok {
		return &OpError{Op: "set-deadline", Err: c.lacks("deadline")}
	}
	if err := d.SetWriteDeadline(t); err != nil {
		return c.transportErr("set-deadline", err)
	}
	return nil
}
