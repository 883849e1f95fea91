package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/bus"
	"github.com/nlbus/netlink/genl"
	"github.com/nlbus/netlink/genl/ynl"
)

func init() {
	register("listen", command{summary: "print messages from the bus: --group N or FAMILY/GROUP (repeatable) [--port P] [--count N] [--json]", flags: listenFlags,
		details: "A group is a number, or a family's group by name (kvstore/changes): its\nmessages are then decoded by the names of the family's description, when\nit registered one."})
}

// groupList is a repeatable --group flag: numbers, or FAMILY/GROUP names
// resolved once connected.
type groupList struct {
	nums  []uint32
	named []familyGroup
}

// familyGroup is a family's multicast group by name.
type familyGroup struct{ family, group string }

func (g *groupList) String() string { return fmt.Sprint(g.nums, g.named) }
func (g *groupList) Set(s string) error {
	if fam, grp, ok := strings.Cut(s, "/"); ok {
		if fam == "" || grp == "" {
			return fmt.Errorf("want FAMILY/GROUP, not %q", s)
		}
		g.named = append(g.named, familyGroup{fam, grp})
		return nil
	}
	v, err := parseUint(s, 32)
	if err != nil || v == 0 {
		return fmt.Errorf("want a group number above 0 or FAMILY/GROUP, not %q", s)
	}
	g.nums = append(g.nums, uint32(v))
	return nil
}

// groupDecoder decodes the messages of a family's group by its
// description.
type groupDecoder struct {
	name string // FAMILY/GROUP
	fg   familyGroup
	fam  genl.Family
	spec *ynl.Spec // nil: no description
}

// groupWatch keeps listen joined to families' groups by name.
type groupWatch struct {
	c        *netlink.Conn
	gc       *genl.Conn
	stderr   io.Writer
	notify   uint32                   // the controller's notify group, when watching
	decoders map[uint32]*groupDecoder // by group ID
	all      []familyGroup            // as asked for
}

// join resolves fg, joins its group and returns the group's ID.
func (w *groupWatch) join(ctx context.Context, fg familyGroup) (uint32, error) {
	fam, err := w.gc.GetFamily(ctx, fg.family)
	if err != nil {
		return 0, err
	}
	g, ok := fam.Group(fg.group)
	if !ok {
		return 0, fmt.Errorf("family %q has no group %q", fg.family, fg.group)
	}
	spec, err := fetchSpec(ctx, w.c, fg.family)
	if err != nil {
		return 0, err
	}
	if err := w.c.JoinGroup(g.ID); err != nil {
		return 0, err
	}
	w.decoders[g.ID] = &groupDecoder{name: fg.family + "/" + fg.group, fg: fg, fam: fam, spec: spec}
	return g.ID, nil
}

// controller handles a notification of the controller: a watched family
// removed is said on stderr; registered again, its group is joined anew.
func (w *groupWatch) controller(ctx context.Context, m netlink.Message) error {
	gm, err := genl.ParseMessage(m.Data)
	if err != nil {
		return nil // not one to act on
	}
	var f genl.Family
	if f.UnmarshalAttributes(gm.Data) != nil {
		return nil
	}
	for id, d := range w.decoders {
		if d.fg.family != f.Name {
			continue
		}
		switch gm.Header.Command {
		case genl.CmdDelFamily:
			delete(w.decoders, id)
			w.c.LeaveGroup(id)
			fmt.Fprintf(w.stderr, "family %s went away; waiting for it to be registered again\n", f.Name)
		}
	}
	if gm.Header.Command != genl.CmdNewFamily {
		return nil
	}
	for _, fg := range w.wanted(f.Name) {
		id, err := w.join(ctx, fg)
		if err != nil {
			fmt.Fprintf(w.stderr, "family %s registered again, but: %v\n", f.Name, err)
			continue
		}
		fmt.Fprintf(w.stderr, "family %s registered again; joined %s/%s (group %d)\n", f.Name, fg.family, fg.group, id)
	}
	return nil
}

// wanted returns the groups of family asked for on the command line and
// not joined now.
func (w *groupWatch) wanted(family string) []familyGroup {
	var out []familyGroup
	for _, fg := range w.all {
		if fg.family != family {
			continue
		}
		joined := false
		for _, d := range w.decoders {
			if d.fg == fg {
				joined = true
			}
		}
		if !joined {
			out = append(out, fg)
		}
	}
	return out
}

// decode returns the command's name (or number) and the attributes of m,
// a message of the decoder's family.
func (d *groupDecoder) decode(m netlink.Message) (string, ynl.Fields, error) {
	gm, err := genl.ParseMessage(m.Data)
	if err != nil {
		return "", nil, err
	}
	hdr := int(d.fam.HeaderSize)
	if len(gm.Data) < hdr {
		return "", nil, fmt.Errorf("%d bytes, shorter than the family header (%d)", len(gm.Data), hdr)
	}
	cmd := strconv.Itoa(int(gm.Header.Command))
	var set *ynl.AttrSet
	if d.spec != nil {
		for _, op := range d.spec.Ops {
			if op.ReplyValue == gm.Header.Command && (op.Notify || set == nil) {
				cmd, set = op.Name, op.Set
			}
		}
	}
	fs, err := ynl.Decode(set, gm.Data[hdr:])
	return cmd, fs, err
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
	// For a family's group (--group FAMILY/GROUP): the names.
	Family  string     `json:"family,omitempty"`
	Command string     `json:"command,omitempty"`
	Attrs   ynl.Fields `json:"attrs,omitempty"`
}

func listenFlags(fs *flag.FlagSet) func(context.Context, *env, []string) error {
	socket := busFlags(fs)
	groups := new(groupList)
	fs.Var(groups, "group", "`GROUP` to join (repeatable)")
	port := fs.Uint("port", 0, "`PORT` to bind (to receive unicast there)")
	count := fs.Int("count", 0, "stop after `N` messages (0: never)")
	asJSON := fs.Bool("json", false, "print one JSON object per message")
	return func(ctx context.Context, e *env, _ []string) error {
		if len(groups.nums)+len(groups.named) == 0 && *port == 0 {
			return usageErrorf("give --group GROUP, --port PORT or both")
		}
		return runListen(ctx, e, *socket, groups, uint32(*port), *count, *asJSON)
	}
}

func runListen(ctx context.Context, e *env, socket string, groups *groupList, port uint32, count int, asJSON bool) error {
	c, err := bus.Dial(&bus.Config{Socket: socket, Port: port, Netlink: &netlink.Config{Groups: groups.nums}})
	if err != nil {
		return err
	}
	defer c.Close()
	joined := slices.Clone(groups.nums)
	w := &groupWatch{c: c, gc: genl.NewConn(c), stderr: e.stderr, decoders: map[uint32]*groupDecoder{}, all: groups.named}
	if len(groups.named) > 0 {
		// The controller's notify group tells when a family goes and
		// comes back (a service restarted gets new IDs): the listener
		// then joins the new group rather than go deaf.
		notify, err := w.gc.GroupID(ctx, "nlctrl", "notify")
		if err != nil {
			return fmt.Errorf("the controller's notify group: %w", err)
		}
		if err := c.JoinGroup(notify); err != nil {
			return err
		}
		w.notify = notify
		for _, fg := range groups.named {
			id, err := w.join(ctx, fg)
			if err != nil {
				return err
			}
			joined = append(joined, id)
		}
	}
	fmt.Fprintf(e.stderr, "listening on port %d, groups %v\n", c.PortID(), joined)
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
			if w.notify != 0 && m.Addr.Group == w.notify {
				if err := w.controller(ctx, m); err != nil {
					return err
				}
				continue
			}
			if d := w.decoders[m.Addr.Group]; d != nil && m.Addr.Group != 0 {
				printFamilyMessage(e.stdout, d, m, asJSON)
			} else {
				printMessage(e.stdout, m, asJSON)
			}
			seen++
			if count != 0 && seen == count {
				break
			}
		}
	}
	return nil
}

// messageOf is m's JSON form, without the names of a family's message.
func messageOf(m netlink.Message) messageJSON {
	var cr netlink.Credentials
	if m.Creds != nil {
		cr = *m.Creds
	}
	return messageJSON{
		Port: m.Addr.Port, Group: m.Addr.Group, PID: cr.PID, UID: cr.UID, GID: cr.GID,
		Type: uint16(m.Header.Type), Flags: uint16(m.Header.Flags), Seq: m.Header.Sequence, Data: string(m.Data),
	}
}

// printJSON prints one message as a line of JSON.
func printJSON(w io.Writer, mj messageJSON) {
	b, _ := json.Marshal(mj)
	fmt.Fprintf(w, "%s\n", b)
}

// credsText is the sender's credentials as text.
func credsText(m netlink.Message) string {
	if m.Creds == nil {
		return "creds unknown"
	}
	return fmt.Sprintf("pid %d uid %d gid %d", m.Creds.PID, m.Creds.UID, m.Creds.GID)
}

func printMessage(w io.Writer, m netlink.Message, asJSON bool) {
	if asJSON {
		printJSON(w, messageOf(m))
		return
	}
	from := fmt.Sprintf("port %d", m.Addr.Port)
	if m.Addr.Group != 0 {
		from += fmt.Sprintf(" group %d", m.Addr.Group)
	}
	fmt.Fprintf(w, "from %s (%s) type %#x flags %s seq %d len %d: %s\n",
		from, credsText(m), uint16(m.Header.Type), m.Header.Flags, m.Header.Sequence, len(m.Data), payloadString(m.Data))
}

// printFamilyMessage prints a message of a family's group by names: the
// command and the attributes (by number without a description).
func printFamilyMessage(w io.Writer, d *groupDecoder, m netlink.Message, asJSON bool) {
	cmd, fs, err := d.decode(m)
	if err != nil {
		printMessage(w, m, asJSON) // undecodable: shown raw
		return
	}
	if asJSON {
		mj := messageOf(m)
		mj.Family, mj.Command, mj.Attrs = d.fam.Name, cmd, fs
		printJSON(w, mj)
		return
	}
	fmt.Fprintf(w, "%s from port %d (%s): %s\n", d.name, m.Addr.Port, credsText(m), cmd)
	var b strings.Builder
	fs.Text(&b)
	for _, line := range strings.SplitAfter(b.String(), "\n") {
		if line != "" {
			fmt.Fprintf(w, "  %s", line)
		}
	}
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
