package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/bus"
)

func init() {
	register("send", command{summary: "send a message on the bus: --to PORT | --group N [--data S | --hex H | stdin]", flags: sendFlags})
}

// maxStdin bounds the payload read from standard input.
const maxStdin = 1 << 20

func sendFlags(fs *flag.FlagSet) func(context.Context, *env, []string) error {
	var o sendOptions
	o.socket = busFlags(fs)
	o.to = fs.String("to", "", "destination `PORT`")
	o.group = fs.String("group", "", "destination `GROUP`")
	o.typ = fs.String("type", fmt.Sprintf("%#x", bus.TypeData), "netlink message `TYPE`")
	o.data = fs.String("data", "", "payload `TEXT` (default: standard input)")
	o.hexData = fs.String("hex", "", "payload in `HEX`")
	return func(ctx context.Context, e *env, _ []string) error { return runSend(ctx, e, o) }
}

// sendOptions are send's flags.
type sendOptions struct {
	socket, to, group, typ, data, hexData *string
}

func runSend(ctx context.Context, e *env, o sendOptions) error {
	socket, to, group, typ, data, hexData := o.socket, o.to, o.group, o.typ, o.data, o.hexData
	if (*to == "") == (*group == "") {
		return usageErrorf("give one of --to PORT and --group GROUP")
	}
	var dst netlink.Addr
	if *to != "" {
		v, err := parseUint(*to, 32)
		if err != nil || v == 0 {
			return usageErrorf("--to wants a port number above 0, not %q", *to)
		}
		dst.Port = uint32(v)
	} else {
		v, err := parseUint(*group, 32)
		if err != nil || v == 0 {
			return usageErrorf("--group wants a group number above 0, not %q", *group)
		}
		dst.Group = uint32(v)
	}
	t, err := parseUint(*typ, 16)
	if err != nil {
		return usageErrorf("--type wants a 16-bit number, not %q", *typ)
	}
	var payload []byte
	switch {
	case *hexData != "":
		if payload, err = hex.DecodeString(*hexData); err != nil {
			return fmt.Errorf("--hex: %w", err)
		}
	case *data != "":
		payload = []byte(*data)
	default:
		payload, err = io.ReadAll(io.LimitReader(os.Stdin, maxStdin+1))
		if err != nil {
			return err
		}
		if len(payload) > maxStdin {
			return fmt.Errorf("standard input holds more than %d bytes", maxStdin)
		}
	}
	c, err := bus.Dial(&bus.Config{Socket: *socket})
	if err != nil {
		return err
	}
	defer c.Close()
	// NLM_F_REQUEST without NLM_F_ACK: the daemon answers only a failure.
	h, err := c.Send(ctx, netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(t), Flags: netlink.Request},
		Data:   payload, Addr: dst,
	})
	if err != nil {
		return err
	}
	// The daemon handles a connection's frames in order: once a request
	// sent after the message is answered, any failure of the message has
	// already arrived.
	if _, err := bus.GetStats(ctx, c); err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	msgs, err := c.Receive(rctx)
	if err == nil {
		for _, m := range msgs {
			if m.Header.Type == netlink.Error && m.Header.Sequence == h.Sequence {
				errno, ext, _ := netlink.ParseError(m)
				if errno != 0 {
					return &netlink.OpError{Op: "send", Err: errno, ExtAck: ext, Sequence: h.Sequence}
				}
			}
		}
	} else if !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	fmt.Fprintf(e.stdout, "sent %d bytes from port %d to %s\n", len(payload), c.PortID(), addrString(dst))
	return nil
}

func addrString(a netlink.Addr) string {
	if a.Group != 0 {
		return fmt.Sprintf("group %d", a.Group)
	}
	return fmt.Sprintf("port %d", a.Port)
}
