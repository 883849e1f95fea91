package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/rtnl"
)

// cutKernelFlag removes every occurrence of name (or -name) from args and reports
// whether there was one.
func cutKernelFlag(args []string, name string) ([]string, bool) {
	var out []string
	found := false
	for _, a := range args {
		if a == name || a == strings.TrimPrefix(name, "-") {
			found = true
			continue
		}
		out = append(out, a)
	}
	return out, found
}

// runKernelMonitor prints the kernel's link, address, route and neighbour
// notifications, one per line, until ctx ends (nlbus monitor --kernel).
// Arguments: [--json] [--netns NAME] [--no-resync] [link] [addr] [route]
// [neigh] (no kind: all). After an overrun it prints an "overrun" line and,
// unless --no-resync, the current state as "resync" events.
// kernelMonitorFlags declares the flags of monitor --kernel.
func kernelMonitorFlags() (fs *flag.FlagSet, asJSON *bool, netns *string, noResync *bool) {
	fs = flag.NewFlagSet("monitor --kernel [link|addr|route|neigh...]", flag.ContinueOnError)
	asJSON = fs.Bool("json", false, "print one JSON object per event, with iproute2's keys")
	netns = fs.String("netns", "", "network namespace `NAME` (/run/netns/NAME; Linux)")
	noResync = fs.Bool("no-resync", false, "after an overrun, do not dump the current state")
	return fs, asJSON, netns, noResync
}

func runKernelMonitor(ctx context.Context, e *env, args []string) error {
	fs, asJSON, netns, noResync := kernelMonitorFlags()
	fs.SetOutput(e.stderr)
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	var kinds rtnl.Kinds
	for _, k := range fs.Args() {
		switch k {
		case "link":
			kinds |= rtnl.KindLink
		case "addr", "address":
			kinds |= rtnl.KindAddress
		case "route":
			kinds |= rtnl.KindRoute
		case "neigh":
			kinds |= rtnl.KindNeighbor
		default:
			return errUsage
		}
	}
	if kinds == 0 {
		kinds = rtnl.KindAll
	}
	var cfg netlink.Config
	if *netns != "" {
		f, err := os.Open(filepath.Join("/run/netns", *netns))
		if err != nil {
			return err
		}
		defer f.Close()
		cfg.NetNS = int(f.Fd())
	}
	m, err := rtnl.NewMonitor(&cfg, kinds)
	if err != nil {
		return err
	}
	defer m.Close()
	c, err := rtnl.Dial(&cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	names, _, err := rtLinkNames(ctx, c)
	if err != nil {
		return err
	}
	p := &rtEventPrinter{e: e, json: *asJSON, names: names, c: c}
	for ev, err := range m.Events(ctx) {
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, netlink.ErrClosed) {
				return err
			}
			fmt.Fprintf(e.stderr, "nlbus monitor: %s\n", oneLine(err))
			continue
		}
		if err := p.print("", ev); err != nil {
			return err
		}
		if ev.Type == rtnl.Overrun && !*noResync {
			for rev, err := range c.Resync(ctx, kinds) {
				if err != nil {
					fmt.Fprintf(e.stderr, "nlbus monitor: resync: %s\n", oneLine(err))
					continue
				}
				if err := p.print("resync", rev); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

type rtEventPrinter struct {
	e     *env
	json  bool
	names map[int]string
	c     *rtnl.Conn
}

// print writes one event; label replaces the event name (for resync).
func (p *rtEventPrinter) print(label string, ev rtnl.Event) error {
	name := ev.Type.String()
	if label != "" {
		name = label
	}
	var obj any
	facts := p.c.Facts()
	switch {
	case ev.Link != nil:
		if ev.Type == rtnl.DelLink {
			defer delete(p.names, ev.Link.Index)
		} else {
			p.names[ev.Link.Index] = ev.Link.Name
		}
		obj = rtToLinkJSON(*ev.Link, p.names, nil)
	case ev.Address != nil:
		j := rtToAddrJSON(*ev.Address)
		obj = struct {
			Index int    `json:"ifindex"`
			Dev   string `json:"dev"`
			rtAddrJSON
		}{ev.Address.Index, p.names[ev.Address.Index], j}
	case ev.Route != nil:
		obj = rtToRouteJSON(facts, *ev.Route, p.names, false)
	case ev.Neighbor != nil:
		obj = rtToNeighJSON(*ev.Neighbor, p.names)
	}
	if p.json {
		b, err := json.Marshal(struct {
			Event string `json:"event"`
			Obj   any    `json:"object,omitempty"`
		}{name, obj})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(p.e.stdout, string(b))
		return err
	}
	if obj == nil {
		_, err := fmt.Fprintln(p.e.stdout, name)
		return err
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(p.e.stdout, "%s %s\n", name, b)
	return err
}
