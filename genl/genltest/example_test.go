package genltest_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"syscall"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/genl"
	"github.com/nlbus/netlink/genl/genltest"
)

// Test code that talks to a generic-netlink family without a kernel: the
// family's requests go to the handler, the controller's to genltest.
func ExampleServeFamily() {
	nc, err := genltest.ServeFamily(
		genl.Family{Name: "echo", Version: 1, Ops: []genl.Op{{ID: 1, Flags: genl.CmdCapDo}}},
		func(req genl.Message, _ netlink.Message) ([]genl.Message, error) {
			if req.Header.Command != 1 {
				return nil, syscall.EOPNOTSUPP // sent as NLMSG_ERROR
			}
			return []genl.Message{{Header: req.Header, Data: req.Data}}, nil
		})
	if err != nil {
		log.Fatal(err)
	}
	c := genl.NewConn(nc)
	defer c.Close()
	ctx := context.Background()

	got, err := c.ExecuteFamily(ctx, "echo", genl.Message{Header: genl.Header{Command: 1, Version: 1}, Data: []byte("hello")}, 0)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(got[0].Data))

	_, err = c.ExecuteFamily(ctx, "echo", genl.Message{Header: genl.Header{Command: 9, Version: 1}}, 0)
	var oe *netlink.OpError
	fmt.Println(errors.As(err, &oe) && oe.Err == syscall.EOPNOTSUPP)
	// Output:
	// hello
	// true
}

// A Server announces families added at run time on the controller's notify
// group, as the kernel does when a module registers one.
func ExampleServer_AddFamily() {
	srv := genltest.NewServer(nil)
	nc, err := srv.Dial()
	if err != nil {
		log.Fatal(err)
	}
	c := genl.NewConn(nc)
	defer c.Close()
	ctx := context.Background()
	if err := c.JoinGroup(ctx, "nlctrl", "notify"); err != nil {
		log.Fatal(err)
	}

	if _, err := srv.AddFamily(genltest.Family{Family: genl.Family{Name: "late", Version: 1}}); err != nil {
		log.Fatal(err)
	}
	msgs, err := c.Netlink().Receive(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range msgs {
		gm, err := genl.ParseMessage(m.Data)
		if err != nil {
			log.Fatal(err)
		}
		if gm.Header.Command == genl.CmdNewFamily {
			fmt.Println("new family announced")
		}
	}
	// Output:
	// new family announced
}
