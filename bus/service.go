package bus

import (
	"context"
	"errors"
	"sync/atomic"
	"syscall"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/genl"
)

// RegisterFamily registers spec on the bus c is connected to, with c's
// connection as its owner, and returns the family as the controller reports
// it (ID and group IDs assigned). The family is removed when c closes (or
// its process dies). A name already registered fails with an error
// wrapping EEXIST.
func RegisterFamily(ctx context.Context, c *netlink.Conn, spec FamilySpec) (genl.Family, error) {
	var serr error
	msg, err := ControlMessage(CmdNewFamily, 0, func(ae *netlink.AttributeEncoder) {
		serr = AppendFamilySpec(ae, &spec)
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return genl.Family{}, err
	}
	replies, err := c.Execute(ctx, msg)
	if err != nil {
		return genl.Family{}, err
	}
	for _, m := range replies {
		if m.Header.Type != FamilyID {
			continue
		}
		var f genl.Family
		_, err := ParseControl(m.Data, func(ad *netlink.AttributeDecoder) {
			if ad.Type() == AttrFamilyInfo {
				f.UnmarshalAttributes(ad.Bytes())
			}
		})
		if err == nil && f.ID == 0 {
			err = errors.New("nlbus: new-family reply without the family")
		}
		return f, err
	}
	return genl.Family{}, &netlink.OpError{Op: "register", Err: errNoReply}
}

// UnregisterFamily removes a family that c registered.
func UnregisterFamily(ctx context.Context, c *netlink.Conn, id uint16) error {
	msg, err := ControlMessage(CmdDelFamily, 0, func(ae *netlink.AttributeEncoder) {
		ae.Uint16(AttrFamilyID, id)
	})
	if err != nil {
		return err
	}
	_, err = c.Execute(ctx, msg)
	return err
}

// GetDescription returns the description the family called name
// registered with (FamilySpec.Description: the text of a YNL spec), asking
// the daemon c is connected to. A family that is not on the bus, or that
// registered no description, is an error wrapping ENOENT whose text says
// which. The bytes are the caller's.
func GetDescription(ctx context.Context, c *netlink.Conn, name string) ([]byte, error) {
	msg, err := ControlMessage(CmdGetDescription, 0, func(ae *netlink.AttributeEncoder) {
		ae.String(AttrFamilyName, name)
	})
	if err != nil {
		return nil, err
	}
	replies, err := c.Execute(ctx, msg)
	if err != nil {
		return nil, err
	}
	for _, m := range replies {
		if m.Header.Type != FamilyID {
			continue
		}
		var desc []byte
		_, err := ParseControl(m.Data, func(ad *netlink.AttributeDecoder) {
			if ad.Type() == AttrFamilyDescription {
				desc = ad.CopyBytes()
			}
		})
		if err == nil && desc == nil {
			err = errors.New("nlbus: get-description reply without the description")
		}
		return desc, err
	}
	return nil, &netlink.OpError{Op: "get-description", Err: errNoReply}
}

// Request is a request to a family a service serves. It is borrowed, its
// slices and Creds included: valid only until the Handler returns (Serve
// reuses it and the bytes it points into).
type Request struct {
	// Header is the genl header (command, version).
	Header genl.Header
	// FamilyHeader is the family's own header (FamilySpec.HeaderSize bytes).
	FamilyHeader []byte
	// Attrs are the attributes, already checked by the daemon against the
	// command's policy.
	Attrs []byte
	// Dump is set for a dump request (NLM_F_DUMP).
	Dump bool
	// Port is the caller's port; Creds its credentials, from the daemon.
	Port  uint32
	Creds *netlink.Credentials
	// Message is the whole request.
	Message netlink.Message
}

// Error is a handler's error with an errno: the caller gets it with Msg as
// the extended-ack text. Any other error is sent as EIO with its text.
type Error struct {
	Errno syscall.Errno
	Msg   string
}

func (e *Error) Error() string {
	if e.Msg == "" {
		return e.Errno.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Errno }

// Handler serves one command. It writes replies (one for a do, any number
// for a dump, each sent at once: a dump streams) with w and returns nil
// (the caller then gets the ACK it asked for, or NLMSG_DONE) or an error
// (an NLMSG_ERROR; see Error).
type Handler func(ctx context.Context, w *ReplyWriter, r *Request) error

// ReplyWriter sends a handler's replies to its caller. It is valid only
// during the Handler's call.
type ReplyWriter struct {
	c    *netlink.Conn
	fam  *genl.Family
	req  *Request
	buf  []byte
	ae   netlink.AttributeEncoder
	gone atomic.Pointer[callerGone] // set by Serve's reader when the caller went
}

// Reply sends one reply message with command cmd (0: the request's) and
// the attributes enc writes; in a dump it is one part (NLM_F_MULTI). Once
// the caller's port was released (see ServeWith) it sends nothing and
// returns an error wrapping ErrCallerGone, as does a Reply waiting to send
// (the caller's queue full) when the release comes.
func (w *ReplyWriter) Reply(ctx context.Context, cmd uint8, enc func(ae *netlink.AttributeEncoder)) error {
	if g := w.gone.Load(); g != nil {
		return &netlink.OpError{Op: "reply", Err: g}
	}
	if cmd == 0 {
		cmd = w.req.Header.Command
	}
	w.buf = append(w.buf[:0], cmd, uint8(w.fam.Version), 0, 0)
	w.buf = append(w.buf, make([]byte, w.fam.HeaderSize)...)
	w.ae.Reset(w.buf)
	if enc != nil {
		enc(&w.ae)
	}
	data, err := w.ae.Bytes()
	if err != nil {
		return err
	}
	w.buf = data
	var flags netlink.HeaderFlags
	if w.req.Dump {
		flags = netlink.Multi
	}
	_, err = w.c.Send(ctx, netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(w.fam.ID), Flags: flags,
			Sequence: w.req.Message.Header.Sequence, PID: w.req.Port},
		Data: data, Addr: netlink.Addr{Port: w.req.Port},
	})
	if err != nil {
		// A send that waited for room in the caller's queue ends with
		// the handler's context when the caller goes: say why.
		if g := w.gone.Load(); g != nil {
			return &netlink.OpError{Op: "reply", Err: g}
		}
		if c := context.Cause(ctx); c != nil && errors.Is(c, ErrCallerGone) {
			return &netlink.OpError{Op: "reply", Err: c}
		}
	}
	return err
}

// Publish sends a notification with command cmd to the family's group
// named group.
func (w *ReplyWriter) Publish(ctx context.Context, group string, cmd uint8, enc func(ae *netlink.AttributeEncoder)) error {
	return Publish(ctx, w.c, w.fam, group, cmd, enc)
}

// Publish sends a notification with command cmd and the attributes enc
// writes to the group named group of fam, which c registered.
func Publish(ctx context.Context, c *netlink.Conn, fam *genl.Family, group string, cmd uint8, enc func(ae *netlink.AttributeEncoder)) error {
	g, ok := fam.Group(group)
	if !ok {
		return &netlink.OpError{Op: "publish", Err: syscall.ENOENT}
	}
	b := append(make([]byte, 0, 64), cmd, uint8(fam.Version), 0, 0)
	b = append(b, make([]byte, fam.HeaderSize)...)
	var ae netlink.AttributeEncoder
	ae.Reset(b)
	if enc != nil {
		enc(&ae)
	}
	data, err := ae.Bytes()
	if err != nil {
		return err
	}
	_, err = c.Send(ctx, netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(fam.ID)},
		Data:   data, Addr: netlink.Addr{Group: g.ID},
	})
	return err
}
