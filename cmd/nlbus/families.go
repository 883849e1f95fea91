package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/nlbus/netlink/genl"
)

func init() {
	register("families", command{summary: "list generic-netlink families (like genl ctrl list); needs --kernel", run: runFamilies})
}

// errNoBus is the answer of the commands that will talk to the bus daemon
// by default, until the bus exists.
var errNoBus = errors.New("no bus daemon yet; use --kernel")

// dialGenl opens the kernel's generic-netlink controller; tests replace it
// with a genltest server.
var dialGenl = func() (*genl.Conn, error) { return genl.Dial(nil) }

// familyJSON is the JSON form of a family: flags are the raw
// CTRL_ATTR_OP_FLAGS values.
type familyJSON struct {
	Name    string      `json:"name"`
	ID      uint16      `json:"id"`
	Version uint32      `json:"version"`
	HdrSize uint32      `json:"hdrsize"`
	MaxAttr uint32      `json:"maxattr"`
	Ops     []opJSON    `json:"ops"`
	Groups  []groupJSON `json:"groups"`
}

type opJSON struct {
	ID    uint32 `json:"id"`
	Flags uint32 `json:"flags"`
}

type groupJSON struct {
	ID   uint32 `json:"id"`
	Name string `json:"name"`
}

// genlFlags parses the flags shared by families and policy; dial returns the
// connection --kernel selects.
func genlFlags(name string, e *env, args []string) (fs *flag.FlagSet, asJSON *bool, dial func() (*genl.Conn, error), err error) {
	fs = flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	kernel := fs.Bool("kernel", false, "ask the kernel's controller (the only source until the bus exists)")
	asJSON = fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return nil, nil, nil, errUsage
	}
	dial = func() (*genl.Conn, error) {
		if !*kernel {
			return nil, errNoBus
		}
		return dialGenl()
	}
	return fs, asJSON, dial, nil
}

func runFamilies(ctx context.Context, e *env, args []string) error {
	fs, asJSON, dial, err := genlFlags("families", e, args)
	if err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return errUsage
	}
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
		out := make([]familyJSON, 0, len(fams))
		for _, f := range fams {
			fj := familyJSON{Name: f.Name, ID: f.ID, Version: f.Version, HdrSize: f.HeaderSize, MaxAttr: f.MaxAttr,
				Ops: make([]opJSON, 0, len(f.Ops)), Groups: make([]groupJSON, 0, len(f.Groups))}
			for _, o := range f.Ops {
				fj.Ops = append(fj.Ops, opJSON{ID: o.ID, Flags: uint32(o.Flags)})
			}
			for _, g := range f.Groups {
				fj.Groups = append(fj.Groups, groupJSON{ID: g.ID, Name: g.Name})
			}
			out = append(out, fj)
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	return printFamilies(e.stdout, fams)
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
