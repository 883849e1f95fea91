// Command kvstore is an example service on the nlbus bus: it registers the
// generic-netlink family "kvstore" (see package kv) and serves it until
// interrupted. Reach it with `nlbus call kvstore ...` or with package genl;
// README.md walks through it.
//
//	go run ./examples/kvstore [--socket PATH]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/nlbus/netlink/bus"
	"github.com/nlbus/netlink/examples/kvstore/kv"
)

func main() {
	socket := flag.String("socket", "", "the daemon's socket (default $"+bus.EnvSocket+", else "+bus.SocketPath()+")")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *socket); err != nil {
		fmt.Fprintln(os.Stderr, "kvstore:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, socket string) error {
	c, err := bus.DialContext(ctx, &bus.Config{Socket: socket})
	if err != nil {
		return err
	}
	defer c.Close()
	fam, err := kv.Register(ctx, c)
	if err != nil {
		return fmt.Errorf("registering %s: %w", kv.Family, err)
	}
	fmt.Fprintf(os.Stderr, "kvstore: serving family %s (id %#x) on port %d\n", fam.Name, fam.ID, c.PortID())
	err = kv.NewStore().Serve(ctx, c, fam)
	if ctx.Err() != nil {
		return nil
	}
	return err
}
