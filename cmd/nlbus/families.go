package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/nlbus/netlink/bus"
	"github.com/nlbus/netlink/genl"
)

func init() {
	register("families", command{summary: "list generic-netlink families on the bus (like genl ctrl list); --kernel: the kernel's", flags: familiesFlags})
}

// dialGenl opens the kernel's generic-netlink controller; tests replace it
// with a genltest server.
var dialGenl = func() (*genl.Conn, error) { return genl.Dial(nil) }

// dialBusGenl opens the bus daemon's controller (socket "" is the default).
func dialBusGenl(socket string) (*genl.Conn, error) {
	c, err := bus.Dial(&bus.Config{Socket: socket})
	if err != nil {
		return nil, err
	}
	return genl.NewConn(c), nil
}

// familyJSON is the JSON form of a family.
type familyJSON struct {
	Name    string      `json:"name"`
	ID      uint16      `json:"id"`
	Version uint32      `json:"version"`
	HdrSize uint32      `json:"hdrsize"`
	MaxAttr uint32      `json:"maxattr"`
	Ops     []opJSON    `json:"ops"`
	Groups  []groupJSON `json:"groups"`
}

// opJSON is an operation; Flags is CTRL_ATTR_OP_FLAGS.
type opJSON struct {
	ID    uint32    `json:"id"`
	Flags flagsJSON `json:"flags"`
}

type groupJSON struct {
	ID   uint32 `json:"id"`
	Name string `json:"name"`
}

// genlFlags declares the flags shared by families and policy; dial returns
// the connection they select: the bus daemon's controller, or with
// --kernel the kernel's.
func genlFlags(fs *flag.FlagSet) (asJSON *bool, dial func() (*genl.Conn, error), kernel *bool) {
	socket := busFlags(fs)
	kernel = fs.Bool("kernel", false, "ask the kernel's controller instead of the bus daemon's")
	asJSON = fs.Bool("json", false, "print JSON")
	dial = func() (*genl.Conn, error) {
		if !*kernel {
			return dialBusGenl(*socket)
		}
		return dialGenl()
	}
	return asJSON, dial, kernel
}

func familiesFlags(fs *flag.FlagSet) func(context.Context, *env, []string) error {
	asJSON, dial, _ := genlFlags(fs)
	return func(ctx context.Context, e *env, _ []string) error {
		c, err := dial()
		if err != nil {
			return err
		}
		defer c.Close()
		fams, err := c.ListFamilies(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(e.stdout, familiesJSON(fams))
		}
		return printFamilies(e.stdout, fams)
	}
}

func familiesJSON(fams []genl.Family) []familyJSON {
	out := make([]familyJSON, 0, len(fams))
	for _, f := range fams {
		fj := familyJSON{Name: f.Name, ID: f.ID, Version: f.Version, HdrSize: f.HeaderSize, MaxAttr: f.MaxAttr,
			Ops: make([]opJSON, 0, len(f.Ops)), Groups: make([]groupJSON, 0, len(f.Groups))}
		for _, o := range f.Ops {
			fj.Ops = append(fj.Ops, opJSON{ID: o.ID, Flags: opFlagsJSON(o.Flags)})
		}
		for _, g := range f.Groups {
			fj.Groups = append(fj.Groups, groupJSON{ID: g.ID, Name: g.Name})
		}
		out = append(out, fj)
	}
	return out
}

// opFlagsJSON names the known bits of f (genl.OpFlags.String lists unknown
// ones in hexadecimal; those stay in the value only).
func opFlagsJSON(f genl.OpFlags) flagsJSON {
	names := []string{}
	if f != 0 {
		for _, n := range strings.Split(f.String(), "|") {
			if !strings.HasPrefix(n, "0x") {
				names = append(names, n)
			}
		}
	}
	return flagsJSON{Value: uint32(f), Names: names}
}

func printFamilies(w io.Writer, fams []genl.Family) error {
	for i, f := range fams {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s\n  id %#x  version %d  hdrsize %d  maxattr %d\n", f.Name, f.ID, f.Version, f.HeaderSize, f.MaxAttr)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		if len(f.Ops) > 0 {
			fmt.Fprintln(tw, "  op\tflags")
			for _, o := range f.Ops {
				fmt.Fprintf(tw, "  %d\t%s\n", o.ID, o.Flags)
			}
		}
		if len(f.Groups) > 0 {
			names := make([]string, 0, len(f.Groups))
			for _, g := range f.Groups {
				names = append(names, fmt.Sprintf("%s (%d)", g.Name, g.ID))
			}
			fmt.Fprintf(tw, "  groups\t%s\n", strings.Join(names, ", "))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}
