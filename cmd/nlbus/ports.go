package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/nlbus/netlink/bus"
)

func init() {
	register("ports", command{summary: "list the bus's ports with their owners, groups and counters [--json]", flags: portsFlags})
	register("stats", command{summary: "show the bus daemon's counters [--json]", flags: statsFlags})
}

func portsFlags(fs *flag.FlagSet) func(context.Context, *env, []string) error {
	socket := busFlags(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	return func(ctx context.Context, e *env, _ []string) error { return runPorts(ctx, e, *socket, *asJSON) }
}

func runPorts(ctx context.Context, e *env, socket string, asJSON bool) error {
	c, err := bus.Dial(&bus.Config{Socket: socket})
	if err != nil {
		return err
	}
	defer c.Close()
	ports, err := bus.Ports(ctx, c)
	if err != nil {
		return err
	}
	sort.Slice(ports, func(i, j int) bool { return ports[i].Port < ports[j].Port })
	for i := range ports {
		if ports[i].Groups == nil {
			ports[i].Groups = []uint32{}
		}
		sort.Slice(ports[i].Groups, func(a, b int) bool { return ports[i].Groups[a] < ports[i].Groups[b] })
	}
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(ports)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PORT\tPID\tUID\tGID\tGROUPS\tSENT\tDELIVERED\tDROPPED\tQUEUED")
	for _, p := range ports {
		gs := make([]string, len(p.Groups))
		for i, g := range p.Groups {
			gs[i] = fmt.Sprint(g)
		}
		groups := strings.Join(gs, ",")
		if groups == "" {
			groups = "-"
		}
		if p.Port == c.PortID() {
			groups += " (this command)"
		}
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%s\t%d\t%d\t%d\t%d B / %d\n", p.Port, p.PID, p.UID, p.GID, groups,
			p.Sent, p.Delivered, p.Dropped, p.QueueBytes, p.QueueFrames)
	}
	return tw.Flush()
}

func statsFlags(fs *flag.FlagSet) func(context.Context, *env, []string) error {
	socket := busFlags(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	return func(ctx context.Context, e *env, _ []string) error { return runStats(ctx, e, *socket, *asJSON) }
}

func runStats(ctx context.Context, e *env, socket string, asJSON bool) error {
	c, err := bus.Dial(&bus.Config{Socket: socket})
	if err != nil {
		return err
	}
	defer c.Close()
	st, err := bus.GetStats(ctx, c)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	for _, row := range []struct {
		k string
		v any
	}{
		{"protocol version", st.Version}, {"daemon pid", st.ServerPID},
		{"uptime", fmt.Sprintf("%.1fs", float64(st.UptimeMS)/1000)},
		{"ports", st.Ports}, {"connections accepted", st.Connections},
		{"datagrams routed", st.Routed}, {"frames dropped (overruns)", st.Dropped},
		{"unicasts refused", st.Refused}, {"malformed datagrams", st.BadFrames},
		{"max datagram", fmt.Sprintf("%d bytes", st.MaxDatagram)},
		{"queue limit", fmt.Sprintf("%d bytes per port", st.QueueLimit)},
		{"access rules", accessRules(st.Access)},
		{"access denied", fmt.Sprintf("register %d, call %d, send %d, join %d",
			st.Access.Denied.Register, st.Access.Denied.Call, st.Access.Denied.Send, st.Access.Denied.Join)},
		{"taken back on reload", fmt.Sprintf("%d families and group memberships", st.Access.Revoked)},
	} {
		fmt.Fprintf(tw, "%s:\t%v\n", row.k, row.v)
	}
	if st.Access.Error != "" {
		fmt.Fprintf(tw, "access reload failed:\t%s (the rules above stay in force)\n", st.Access.Error)
	}
	return tw.Flush()
}

func accessRules(a bus.AccessStats) string {
	s := fmt.Sprintf("%d", a.Rules)
	if a.Source != "" {
		s += " from " + a.Source
	}
	return s + fmt.Sprintf(" (%s defaults; rule sets loaded: %d)", a.Defaults, a.Loads)
}
