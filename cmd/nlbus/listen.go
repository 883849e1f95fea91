package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/bus"
)

func init() {
	register("listen", command{summary: "print messages from the bus: --group N (repeatable) [--port P] [--count N] [--json]", flags: listenFlags})
}

// groupList is a repeatable --group flag.
type groupList []uint32

func (g *groupList) String() string { return fmt.Sprint(*g) }
func (g *groupList) Set(s string) error {
	v, err := parseUint(s, 32)
	if err != nil || v == 0 {
		return fmt.Errorf("want a group number above 0, not %q", s)
	}
	*g = append(*g, uint32(v))
	return nil
}

// messageJSON is how listen --json prints a message.
type messageJSON struct {
	Port  uint32 `json:"port"`
	Group uint32 `json:"group,omitempty"`
	PID   int32  `json:"pid"`
	UID   uint32 `json:"uid"`
	GID   uint32 `json:"gid"`
	Type  uint16 `json:"type"`
	Flags uint16 `json:"flags"`
	Seq   uint32 `json:"seq"`
	Data  string `json:"data"`
}

func listenFlags(fs *flag.FlagSet) func(context.Context, *env, []string) error {
	socket := busFlags(fs)
	groups := new(groupList)
	fs.Var(groups, "group", "`GROUP` to join (repeatable)")
	port := fs.Uint("port", 0, "`PORT` to bind (to receive unicast there)")
	count := fs.Int("count", 0, "stop after `N` messages (0: never)")
	asJSON := fs.Bool("json", false, "print one JSON object per message")
	return func(ctx context.Context, e *env, _ []string) error {
		if len(*groups) == 0 && *port == 0 {
			return usageErrorf("give --group GROUP, --port PORT or both")
		}
		return runListen(ctx, e, *socket, *groups, uint32(*port), *count, *asJSON)
	}
}

func runListen(ctx context.Context, e *env, socket string, groups groupList, port uint32, count int, asJSON bool) error {
	c, err := bus.Dial(&bus.Config{Socket: socket, Port: port, Netlink: &netlink.Config{Groups: groups}})
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Fprintf(e.stderr, "listening on port %d, groups %v\n", c.PortID(), []uint32(groups))
	seen := 0
	for count == 0 || seen < count {
		msgs, err := c.Receive(ctx)
		if errors.Is(err, netlink.ErrOverrun) {
			fmt.Fprintf(e.stderr, "overrun: %v\n", err)
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		for _, m := range msgs {
			printMessage(e.stdout, m, asJSON)
			seen++
			if count != 0 && seen == count {
				break
			}
		}
	}
	return nil
}

func printMessage(w io.Writer, m netlink.Message, asJSON bool) {
	var cr netlink.Credentials
	if m.Creds != nil {
		cr = *m.Creds
	}
	if asJSON {
		b, _ := json.Marshal(messageJSON{
			Port: m.Addr.Port, Group: m.Addr.Group, PID: cr.PID, UID: cr.UID, GID: cr.GID,
			Type: uint16(m.Header.Type), Flags: uint16(m.Header.Flags), Seq: m.Header.Sequence, Data: string(m.Data),
		})
		fmt.Fprintf(w, "%s\n", b)
		return
	}
	from := fmt.Sprintf("port %d", m.Addr.Port)
	if m.Addr.Group != 0 {
		from += fmt.Sprintf(" group %d", m.Addr.Group)
	}
	creds := "creds unknown"
	if m.Creds != nil {
		creds = fmt.Sprintf("pid %d uid %d gid %d", cr.PID, cr.UID, cr.GID)
	}
	fmt.Fprintf(w, "from %s (%s) type %#x flags %s seq %d len %d: %s\n",
		from, creds, uint16(m.Header.Type), m.Header.Flags, m.Header.Sequence, len(m.Data), payloadString(m.Data))
}

// payloadString quotes printable text and shows anything else in hex.
func payloadString(b []byte) string {
	if utf8.Valid(b) {
		printable := true
		for _, r := range string(b) {
			if r < 0x20 && r != '\n' && r != '\t' {
				printable = false
				break
			}
		}
		if printable {
			return strconv.Quote(string(b))
		}
	}
	return fmt.Sprintf("%x", b)
}
