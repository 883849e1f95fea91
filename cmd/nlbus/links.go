package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"text/tabwriter"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/compat"
)

func init() {
	register("links", command{summary: "list the kernel's network interfaces (RTM_GETLINK dump)", flags: linksFlags})
}

// rtnetlink values shared by Linux (include/uapi/linux/rtnetlink.h,
// if_link.h) and FreeBSD (sys/netlink/route/common.h, interface.h).
const (
	rtmGetLink      = 18
	sizeofIfInfomsg = 16
	iflaAddress     = 1
	iflaIfname      = 3
	iflaMTU         = 4
)

// link is an interface; Flags is ifi_flags (IFF_*).
type link struct {
	Index int       `json:"index"`
	Name  string    `json:"name"`
	MTU   uint32    `json:"mtu"`
	Flags flagsJSON `json:"flags"`
	Addr  string    `json:"address,omitempty"`
}

func linksFlags(fs *flag.FlagSet) func(context.Context, *env, []string) error {
	asJSON := fs.Bool("json", false, "print JSON")
	return func(ctx context.Context, e *env, _ []string) error {
		c, err := netlink.Dial(netlink.Route, nil)
		if err != nil {
			return err
		}
		defer c.Close()
		links, err := dumpLinks(ctx, c)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(e.stdout, links)
		}
		return printLinks(e.stdout, links)
	}
}

func printLinks(w io.Writer, links []link) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INDEX\tNAME\tMTU\tADDRESS\tFLAGS")
	for _, l := range links {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\n", l.Index, l.Name, l.MTU, l.Addr, strings.Join(l.Flags.Names, ","))
	}
	return tw.Flush()
}

func dumpLinks(ctx context.Context, c *netlink.Conn) ([]link, error) {
	req := netlink.Message{
		Header: netlink.Header{Type: rtmGetLink},
		Data:   make([]byte, sizeofIfInfomsg),
	}
	links := []link{}
	for m, err := range c.Dump(ctx, req) {
		if err != nil {
			return links, err
		}
		var ifi [sizeofIfInfomsg]byte
		rest, short := netlink.Fixed(ifi[:], m.Data)
		if short {
			return links, fmt.Errorf("short ifinfomsg of %d bytes", len(m.Data))
		}
		l := link{
			Index: int(int32(netlinkNE.Uint32(ifi[4:8]))),
			Flags: linkFlagsJSON(compat.Current(), netlinkNE.Uint32(ifi[8:12])),
		}
		ad := netlink.NewAttributeDecoder(rest)
		for ad.Next() {
			switch ad.Type() {
			case iflaIfname:
				l.Name = ad.String()
			case iflaMTU:
				l.MTU = ad.Uint32()
			case iflaAddress:
				l.Addr = net.HardwareAddr(ad.Bytes()).String()
			}
		}
		if err := ad.Err(); err != nil {
			return links, err
		}
		links = append(links, l)
	}
	return links, nil
}
