package bus_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/bus"
	"github.com/nlbus/netlink/genl"
	"github.com/nlbus/netlink/genl/genlctrl"
)

// A service registers the family "greeter" and serves its one command;
// a client resolves it by name and calls it with package genl, as it
// would a kernel family. (The daemon runs in this process here.)
func Example_family() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "nlbus-ex")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "bus.sock")
	l, err := bus.Listen(path, nil)
	if err != nil {
		log.Fatal(err)
	}
	srv := &bus.Server{}
	go srv.Serve(l)
	defer srv.Close()

	// The service.
	svc, err := bus.Dial(&bus.Config{Socket: path})
	if err != nil {
		log.Fatal(err)
	}
	defer svc.Close()
	const cmdGreet, attrName = 1, 1
	fam, err := bus.RegisterFamily(ctx, svc, bus.FamilySpec{
		Name: "greeter", Version: 1, MaxAttr: attrName,
		Ops: []bus.Op{{Cmd: cmdGreet, Flags: genl.CmdCapDo, DoPolicy: &genlctrl.Table{
			Attrs: []genlctrl.Attr{{ID: attrName, Type: genl.TypeNulString, MaxLen: 32}},
		}}},
	})
	if err != nil {
		log.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	go bus.Serve(sctx, svc, fam, map[uint8]bus.Handler{
		cmdGreet: func(ctx context.Context, w *bus.ReplyWriter, r *bus.Request) error {
			ad := netlink.NewAttributeDecoder(r.Attrs)
			for ad.Next() {
				if ad.Type() == attrName {
					name := ad.String()
					return w.Reply(ctx, 0, func(ae *netlink.AttributeEncoder) { ae.String(attrName, "hello, "+name) })
				}
			}
			return &bus.Error{Errno: 22, Msg: "greeter: no name"}
		},
	})

	// A client.
	c, err := bus.Dial(&bus.Config{Socket: path})
	if err != nil {
		log.Fatal(err)
	}
	gc := genl.NewConn(c)
	defer gc.Close()
	var ae netlink.AttributeEncoder
	ae.String(attrName, "bus")
	attrs, _ := ae.Bytes()
	replies, err := gc.ExecuteFamily(ctx, "greeter", genl.Message{Header: genl.Header{Command: cmdGreet}, Data: attrs}, 0)
	if err != nil {
		log.Fatal(err)
	}
	ad := netlink.NewAttributeDecoder(replies[0].Data)
	for ad.Next() {
		fmt.Println(ad.String())
	}
	_, err = gc.ExecuteFamily(ctx, "greeter", genl.Message{Header: genl.Header{Command: cmdGreet}}, 0)
	fmt.Println(err)
	// Output:
	// hello, bus
	// netlink execute: invalid argument: greeter: no name
}
