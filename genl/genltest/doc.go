// Package genltest serves generic-netlink families and their controller from
// memory, over nltest.Mem, so that code using package genl can be tested
// without a kernel.
//
// A Server plays the controller (nlctrl) the way Linux's does: GETFAMILY (do
// by name or ID, and dump), GETPOLICY (dump, by family and optionally by
// operation), and the notify group, on which it announces families added
// and removed at run time. Requests to a served family go to its Handler.
//
//	srv := genltest.NewServer(genltest.Family{
//		Family:  genl.Family{Name: "demo", Version: 1, Ops: []genl.Op{{ID: 1, Flags: genl.CmdCapDo}}},
//		Handler: func(req genl.Message, _ netlink.Message) ([]genl.Message, error) {
//			return []genl.Message{{Header: req.Header, Data: req.Data}}, nil
//		},
//	})
//	nc, _ := srv.Dial()
//	c := genl.NewConn(nc)
//	defer c.Close()
package genltest
