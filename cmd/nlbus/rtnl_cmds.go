package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/compat"
	"github.com/nlbus/netlink/rtnl"
)

func init() {
	register("link", command{args: []string{"list"}, summary: "link list [--json] [--netns NAME]: network interfaces (ip link show)", run: runLinkCmd, flagSets: rtListHelp("link", false, false)})
	register("addr", command{args: []string{"list"}, summary: "addr list [--json] [-4|-6] [--dev NAME]: addresses (ip addr show)", run: runAddrCmd, flagSets: rtListHelp("addr", false, true)})
	register("route", command{args: []string{"list"}, summary: "route list [--json] [-4|-6] [--dev NAME] [--table N]: routes of every table (ip route show table all)", run: runRouteCmd, flagSets: rtListHelp("route", true, true)})
	register("neigh", command{args: []string{"list"}, summary: "neigh list [--json] [-4|-6] [--dev NAME] [--all|--proxy]: ARP and NDP caches (ip neigh show), or the proxy entries (ip neigh show proxy)", run: runNeighCmd, flagSets: rtListHelp("neigh", false, true)})
}

// rtListFlags are the flags shared by the rtnetlink list commands.
type rtListFlags struct {
	fs        *flag.FlagSet
	json      *bool
	four, six *bool
	netns     *string
	table     *string
	dev       *string
	all       *bool
	proxy     *bool
}

func parseRtListFlags(name string, e *env, args []string, withTable, withFamily bool) (*rtListFlags, error) {
	if len(args) == 0 || (args[0] != "list" && args[0] != "show" && args[0] != "ls") {
		return nil, errUsage
	}
	f := newRtListFlags(name, withTable, withFamily)
	f.fs.SetOutput(e.stderr)
	if err := f.fs.Parse(args[1:]); err != nil || f.fs.NArg() != 0 {
		return nil, errUsage
	}
	return f, nil
}

// rtListHelp gives the flag set of "NAME list" to the command's usage.
func rtListHelp(name string, withTable, withFamily bool) func() []*flag.FlagSet {
	return func() []*flag.FlagSet { return []*flag.FlagSet{newRtListFlags(name, withTable, withFamily).fs} }
}

// newRtListFlags declares the flags of "NAME list".
func newRtListFlags(name string, withTable, withFamily bool) *rtListFlags {
	f := &rtListFlags{fs: flag.NewFlagSet(name+" list", flag.ContinueOnError)}
	f.json = f.fs.Bool("json", false, "print JSON with iproute2's keys")
	f.netns = f.fs.String("netns", "", "network namespace `NAME` (/run/netns/NAME; Linux)")
	if withFamily {
		f.four = f.fs.Bool("4", false, "IPv4 only")
		f.six = f.fs.Bool("6", false, "IPv6 only")
		f.dev = f.fs.String("dev", "", "interface `NAME` only")
	}
	if name == "neigh" {
		f.all = f.fs.Bool("all", false, "every entry, NOARP and NONE included (ip neigh show nud all)")
		f.proxy = f.fs.Bool("proxy", false, "the proxy entries instead (ip neigh show proxy)")
	}
	if withTable {
		f.table = f.fs.String("table", "", "routing table `N` only (a number, main, local, default or all; on Linux 0 and unspec are all, as for ip route show)")
	}
	return f
}

// dial opens an rtnl.Conn, in the namespace --netns names.
func (f *rtListFlags) dial() (*rtnl.Conn, error) {
	var cfg netlink.Config
	if *f.netns != "" {
		fd, err := os.Open(filepath.Join("/run/netns", *f.netns))
		if err != nil {
			return nil, err
		}
		defer fd.Close() // the socket stays in the namespace once open
		cfg.NetNS = int(fd.Fd())
	}
	return rtnl.Dial(&cfg)
}

func (f *rtListFlags) filter(c *rtnl.Conn, names map[int]string) (rtnl.Filter, error) {
	var flt rtnl.Filter
	if f.four != nil {
		switch {
		case *f.four && *f.six:
			return flt, fmt.Errorf("-4 and -6 together")
		case *f.four:
			flt.Family = rtnl.IPv4
		case *f.six:
			flt.Family = rtnl.IPv6
		}
	}
	if f.dev != nil && *f.dev != "" {
		for i, n := range names {
			if n == *f.dev {
				flt.LinkIndex = i
			}
		}
		if flt.LinkIndex == 0 {
			return flt, fmt.Errorf("no interface %q", *f.dev)
		}
	}
	if f.table != nil && *f.table != "" && *f.table != "all" {
		facts := c.Facts()
		linux := facts.OS == compat.Linux
		switch t := *f.table; {
		case linux && (t == "0" || t == "unspec"):
			// RT_TABLE_UNSPEC: ip route show table 0 lists every table
			// (FreeBSD's table 0 is its main fib, a table like another).
			return flt, nil
		case t == "main":
			flt.Table = facts.RTTableMain
		case t == "local":
			flt.Table = 255
		case linux && t == "default":
			flt.Table = compat.RtTableDefaultLinux
		default:
			n, err := strconv.ParseUint(*f.table, 10, 32)
			if err != nil {
				return flt, fmt.Errorf("bad table %q", *f.table)
			}
			flt.Table = uint32(n)
		}
		flt.HasTable = true
	}
	return flt, nil
}

// rtLinkNames maps interface indexes to names.
func rtLinkNames(ctx context.Context, c *rtnl.Conn) (map[int]string, []rtnl.Link, error) {
	names := map[int]string{}
	var links []rtnl.Link
	for l, err := range c.Links(ctx, rtnl.Filter{}) {
		if err != nil {
			return nil, nil, err
		}
		names[l.Index] = l.Name
		links = append(links, l)
	}
	return names, links, nil
}

// rtUpLinks maps each link's index to whether it is up.
func rtUpLinks(links []rtnl.Link) map[int]bool {
	up := make(map[int]bool, len(links))
	for _, l := range links {
		up[l.Index] = l.Flags&compat.IffUp != 0
	}
	return up
}

// rtJSONArray writes a JSON array one element at a time, so that a listing
// streams instead of being held in memory.
type rtJSONArray struct {
	w   io.Writer
	n   int
	err error
}

func (a *rtJSONArray) add(v any) {
	if a.err != nil {
		return
	}
	sep := ","
	if a.n == 0 {
		sep = "["
	}
	a.n++
	b, err := json.Marshal(v)
	if err != nil {
		a.err = err
		return
	}
	_, a.err = io.WriteString(a.w, sep+string(b))
}

func (a *rtJSONArray) close() error {
	if a.err != nil {
		return a.err
	}
	end := "]\n"
	if a.n == 0 {
		end = "[]\n"
	}
	_, err := io.WriteString(a.w, end)
	return err
}

func runLinkCmd(ctx context.Context, e *env, args []string) error {
	f, err := parseRtListFlags("link", e, args, false, false)
	if err != nil {
		return err
	}
	c, err := f.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	names, links, err := rtLinkNames(ctx, c)
	if err != nil {
		return err
	}
	if *f.json {
		out := &rtJSONArray{w: e.stdout}
		up := rtUpLinks(links)
		for _, l := range links {
			j := rtToLinkJSON(l, names, up)
			j.setLinkMode(l)
			out.add(j)
		}
		return out.close()
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INDEX\tNAME\tMTU\tSTATE\tADDRESS\tKIND\tFLAGS")
	for _, l := range links {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\t%s\n", l.Index, l.Name, l.MTU, l.OperState, l.HardwareAddr, l.Kind, strings.Join(rtLinkFlags(l.Flags, false), ","))
	}
	return tw.Flush()
}

// openRtList parses a listing's flags, dials (in --netns when given), reads
// the link names and builds the filter: what every "list" command starts
// with. The caller closes the Conn.
func openRtList(ctx context.Context, name string, e *env, args []string, withTable, withFamily bool) (*rtListFlags, *rtnl.Conn, map[int]string, []rtnl.Link, rtnl.Filter, error) {
	f, err := parseRtListFlags(name, e, args, withTable, withFamily)
	if err != nil {
		return nil, nil, nil, nil, rtnl.Filter{}, err
	}
	c, err := f.dial()
	if err != nil {
		return nil, nil, nil, nil, rtnl.Filter{}, err
	}
	names, links, err := rtLinkNames(ctx, c)
	if err == nil {
		var flt rtnl.Filter
		if flt, err = f.filter(c, names); err == nil {
			return f, c, names, links, flt, nil
		}
	}
	c.Close()
	return nil, nil, nil, nil, rtnl.Filter{}, err
}

func runAddrCmd(ctx context.Context, e *env, args []string) error {
	f, c, names, links, flt, err := openRtList(ctx, "addr", e, args, false, true)
	if err != nil {
		return err
	}
	defer c.Close()
	byLink := map[int][]rtnl.Address{}
	for a, err := range c.Addresses(ctx, flt) {
		if err != nil {
			return err
		}
		byLink[a.Index] = append(byLink[a.Index], a)
	}
	if *f.json {
		out := &rtJSONArray{w: e.stdout}
		up := rtUpLinks(links)
		for _, l := range links {
			if flt.LinkIndex != 0 && l.Index != flt.LinkIndex {
				continue
			}
			j := rtToLinkJSON(l, names, up)
			j.AddrInfo = []rtAddrJSON{}
			for _, a := range byLink[l.Index] {
				j.AddrInfo = append(j.AddrInfo, rtToAddrJSON(a))
			}
			out.add(j)
		}
		return out.close()
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DEV\tFAMILY\tADDRESS\tSCOPE\tLABEL")
	for _, l := range links {
		for _, a := range byLink[l.Index] {
			addr := a.Prefix.String()
			if a.Peer.IsValid() {
				// As ip: the prefix length is the peer's.
				addr = fmt.Sprintf("%s peer %s/%d", a.Prefix.Addr(), a.Peer, a.Prefix.Bits())
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", l.Name, a.Family, addr, rtScopeName(a.Scope), a.Label)
		}
	}
	return tw.Flush()
}

func runRouteCmd(ctx context.Context, e *env, args []string) error {
	f, c, names, _, flt, err := openRtList(ctx, "route", e, args, true, true)
	if err != nil {
		return err
	}
	defer c.Close()
	facts := c.Facts()
	if *f.json {
		out := &rtJSONArray{w: e.stdout}
		for r, err := range c.Routes(ctx, flt) {
			if err != nil {
				return err
			}
			out.add(rtToRouteJSON(facts, r, names, flt.HasTable))
		}
		return out.close()
	}
	for r, err := range c.Routes(ctx, flt) {
		if err != nil {
			return err
		}
		j := rtToRouteJSON(facts, r, names, flt.HasTable)
		var b strings.Builder
		if j.Type != "" {
			b.WriteString(j.Type + " ")
		}
		b.WriteString(j.Dst)
		if j.Gateway != "" {
			b.WriteString(" via " + j.Gateway)
		}
		if j.Dev != "" {
			b.WriteString(" dev " + j.Dev)
		}
		if j.Table != "" {
			b.WriteString(" table " + j.Table)
		}
		if j.Protocol != "" {
			b.WriteString(" proto " + j.Protocol)
		}
		if j.Scope != "" {
			b.WriteString(" scope " + j.Scope)
		}
		if j.PrefSrc != "" {
			b.WriteString(" src " + j.PrefSrc)
		}
		if j.Metric != nil {
			fmt.Fprintf(&b, " metric %d", *j.Metric)
		}
		for _, h := range j.Nexthops {
			fmt.Fprintf(&b, " nexthop via %s dev %s weight %d", h.Gateway, h.Dev, h.Weight)
		}
		if _, err := fmt.Fprintln(e.stdout, b.String()); err != nil {
			return err
		}
	}
	return nil
}

func runNeighCmd(ctx context.Context, e *env, args []string) error {
	f, c, names, _, flt, err := openRtList(ctx, "neigh", e, args, false, true)
	if err != nil {
		return err
	}
	defer c.Close()
	out := &rtJSONArray{w: e.stdout}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	if !*f.json {
		fmt.Fprintln(tw, "ADDRESS\tDEV\tLLADDR\tSTATE")
	}
	list := c.Neighbors
	if *f.proxy {
		list = c.ProxyNeighbors
	}
	for n, err := range list(ctx, flt) {
		if err != nil {
			return err
		}
		if !*f.all && !neighShown(n) {
			continue
		}
		if *f.json {
			j := rtToNeighJSON(n, names)
			if flt.LinkIndex != 0 {
				j.Dev = "" // ip names no device when told one
			}
			out.add(j)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", n.IP, names[n.Index], n.HardwareAddr, strings.Join(n.State.Names(), ","))
	}
	if *f.json {
		return out.close()
	}
	return tw.Flush()
}

// neighShown reports whether ip neigh show (without nud all) lists n: an
// entry in a state other than NOARP and NONE, or a proxy or externally
// learned one.
func neighShown(n rtnl.Neighbor) bool {
	return n.State&^compat.NudNoARP != 0 || n.Flags&(compat.NtfProxy|compat.NtfExtLearned) != 0
}
