package nltest_test

import (
	"context"
	"fmt"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/nltest"
)

// A fake kernel that answers a dump with two messages; nltest adds
// NLMSG_DONE, the sequence numbers and the port.
func ExampleDial() {
	const typeGet, typeNew = 18, 16
	c := nltest.Dial(func(req []netlink.Message) ([]netlink.Message, error) {
		if req[0].Header.Type != typeGet {
			return nil, nil
		}
		var ae netlink.AttributeEncoder
		ae.String(1, "eth0")
		eth0, _ := ae.Bytes()
		ae.Reset(nil)
		ae.String(1, "eth1")
		eth1, _ := ae.Bytes()
		return []netlink.Message{
			{Header: netlink.Header{Type: typeNew}, Data: eth0},
			{Header: netlink.Header{Type: typeNew}, Data: eth1},
		}, nil
	})
	defer c.Close()

	req := netlink.Message{Header: netlink.Header{Type: typeGet}}
	for m, err := range c.Dump(context.Background(), req) {
		if err != nil {
			fmt.Println(err)
			return
		}
		ad := netlink.NewAttributeDecoder(m.Data)
		for ad.Next() {
			fmt.Println(m.Header.Flags, ad.String())
		}
	}
	// Output:
	// multi eth0
	// multi eth1
}
