package genl_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/genl"
	"github.com/nlbus/netlink/genl/genltest"
)

// Resolve a family by name, then call one of its operations by name. A
// genltest server plays the controller here so that the output is fixed;
// against the kernel, genl.Dial(nil) replaces the first lines.
func ExampleConn_GetFamily() {
	srv := genltest.NewServer(nil, genltest.Family{
		Family: genl.Family{
			Name: "demo", Version: 2,
			Ops:    []genl.Op{{ID: 1, Flags: genl.CmdCapDo | genl.AdminPerm}},
			Groups: []genl.Group{{Name: "events"}},
		},
		Handler: func(req genl.Message, _ netlink.Message) ([]genl.Message, error) {
			return []genl.Message{{Header: req.Header, Data: []byte("pong")}}, nil
		},
	})
	nc, err := srv.Dial()
	if err != nil {
		log.Fatal(err)
	}
	c := genl.NewConn(nc)
	defer c.Close()
	ctx := context.Background()

	f, err := c.GetFamily(ctx, "demo")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: version %d, %d op(s), group %q\n", f.Name, f.Version, len(f.Ops), f.Groups[0].Name)
	fmt.Println("op 1:", f.Ops[0].Flags)

	replies, err := c.ExecuteFamily(ctx, "demo", genl.Message{Header: genl.Header{Command: 1, Version: 2}}, 0)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("reply:", string(replies[0].Data))

	_, err = c.GetFamily(ctx, "no-such-family")
	var nf *genl.NotFoundError
	fmt.Println(errors.As(err, &nf), errors.Is(err, os.ErrNotExist))
	// Output:
	// demo: version 2, 1 op(s), group "events"
	// op 1: admin-perm|do
	// reply: pong
	// true true
}

// A family's operations and groups, listed like genl ctrl list.
func ExampleConn_ListFamilies() {
	srv := genltest.NewServer(nil, genltest.Family{Family: genl.Family{
		Name: "demo", Version: 1, Ops: []genl.Op{{ID: 1, Flags: genl.CmdCapDump}},
	}})
	nc, err := srv.Dial()
	if err != nil {
		log.Fatal(err)
	}
	c := genl.NewConn(nc)
	defer c.Close()

	fams, err := c.ListFamilies(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range fams {
		fmt.Printf("%s version %d ops %d\n", f.Name, f.Version, len(f.Ops))
	}
	// Output:
	// nlctrl version 2 ops 2
	// demo version 1 ops 1
}

// Against the kernel: resolve ethtool by name. This needs Linux or FreeBSD,
// so it only compiles here.
func ExampleDial() {
	c, err := genl.Dial(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	f, err := c.GetFamily(context.Background(), "ethtool")
	if errors.Is(err, os.ErrNotExist) {
		fmt.Println("no ethtool family in this kernel")
		return
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(f.ID, f.Version, len(f.Ops))
}
