package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/bus"
)

func init() {
	register("monitor", command{summary: "print (or --pcap FILE) every frame the bus relays (root or --monitor-gid); --kernel: kernel rtnetlink events", args: []string{"[--kernel]"}, run: runMonitor, flagSets: func() []*flag.FlagSet {
		b, _, _, _ := monitorFlags()
		k, _, _, _ := kernelMonitorFlags()
		return []*flag.FlagSet{b, k}
	}})
}

// monitorFlags declares the flags of the bus monitor.
func monitorFlags() (fs *flag.FlagSet, socket, pcapFile *string, count *int) {
	fs = flag.NewFlagSet("monitor", flag.ContinueOnError)
	socket = busFlags(fs)
	pcapFile = fs.String("pcap", "", "write a pcap file (link type NETLINK) instead of printing")
	count = fs.Int("count", 0, "stop after this many frames (0: never)")
	return fs, socket, pcapFile, count
}

func runMonitor(ctx context.Context, e *env, args []string) error {
	if rest, kernel := cutKernelFlag(args, "--kernel"); kernel {
		return runKernelMonitor(ctx, e, rest) // monitor_kernel.go
	}
	fs, socket, pcapFile, count := monitorFlags()
	fs.SetOutput(e.stderr)
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 {
		return errUsage
	}
	t, err := bus.DialTransport(ctx, *socket, 0)
	if err != nil {
		return err
	}
	defer t.Close()
	if err := t.JoinGroup(bus.GroupMonitor); err != nil {
		return fmt.Errorf("joining the monitor group: %w", err)
	}
	var pw *bus.PcapWriter
	var bw *bufio.Writer
	if *pcapFile != "" {
		f, err := os.Create(*pcapFile)
		if err != nil {
			return err
		}
		defer f.Close()
		bw = bufio.NewWriter(f)
		defer bw.Flush()
		if pw, err = bus.NewPcapWriter(bw); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stderr, "monitoring from port %d\n", t.PortID())
	for n := 0; *count == 0 || n < *count; {
		env, payload, err := t.RecvFrame(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var oe *bus.OverrunError
			if errors.As(err, &oe) {
				fmt.Fprintf(e.stderr, "overrun: the monitor lost %d frames\n", oe.Lost)
				continue
			}
			return err
		}
		if env.Flags&bus.FlagMonitor == 0 {
			continue // not a copy: a reply to this monitor itself
		}
		n++
		if pw != nil {
			if err := pw.WriteFrame(time.Now(), env, payload); err != nil {
				return err
			}
			if bw.Buffered() > 32<<10 {
				bw.Flush()
			}
			continue
		}
		printFrame(e, env, payload)
	}
	return nil
}

func printFrame(e *env, env bus.Envelope, payload []byte) {
	to := fmt.Sprintf("port %d", env.Dst)
	if env.Group != 0 {
		to = fmt.Sprintf("group %d", env.Group)
	}
	who := ""
	if env.Flags&bus.FlagCreds != 0 {
		who = fmt.Sprintf(" (pid %d uid %d)", env.PID, env.UID)
	}
	var it netlink.MessageIter
	it.Reset(payload)
	for it.Next() {
		m := it.Message()
		fmt.Fprintf(e.stdout, "%d%s -> %s: type %#x flags %s seq %d len %d: %s\n", env.Src, who, to,
			uint16(m.Header.Type), m.Header.Flags, m.Header.Sequence, len(m.Data), payloadString(m.Data))
	}
}
