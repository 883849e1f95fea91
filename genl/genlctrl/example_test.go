package genlctrl_test

import (
	"fmt"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/genl"
	"github.com/nlbus/netlink/genl/genlctrl"
)

func Example() {
	reg := genlctrl.New(nil)
	key := &genlctrl.Table{Attrs: []genlctrl.Attr{
		{ID: 1, Type: genl.TypeNulString, MaxLen: 64}, // key
		{ID: 2, Type: genl.TypeBinary, MaxLen: 1024},  // value
	}}
	f, notes, err := reg.Register(genlctrl.Family{
		Name: "kvstore", Version: 1,
		Ops: []genlctrl.Op{
			{Cmd: 1, Flags: genl.CmdCapDo, DoPolicy: key},                  // get
			{Cmd: 2, Flags: genl.CmdCapDo | genl.AdminPerm, DoPolicy: key}, // set
			{Cmd: 3, Flags: genl.CmdCapDump},                               // list
		},
		Groups: []genl.Group{{Name: "changes"}},
	})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s: id %#x, group %q %#x, %d notifications\n", f.Name, f.ID, f.Groups[0].Name, f.Groups[0].ID, len(notes))

	// A set request from a caller who is not an administrator.
	var ae netlink.AttributeEncoder
	ae.Reset([]byte{2, 1, 0, 0}) // genlmsghdr: command 2, version 1
	ae.String(1, "colour")
	data, _ := ae.Bytes()
	req := netlink.Message{Header: netlink.Header{Type: netlink.HeaderType(f.ID), Flags: netlink.Request | netlink.Acknowledge}, Data: data}
	fmt.Println(reg.Check(req, genlctrl.Caller{Admin: false}))
	fmt.Println(reg.Check(req, genlctrl.Caller{Admin: true}))

	// Output:
	// kvstore: id 0x20, group "changes" 0x11, 2 notifications
	// genlctrl: operation not permitted
	// <nil>
}
