// Package genltest serves generic-netlink families and their controller from
// memory, over nltest.Mem, so that code using package genl can be tested
// without a kernel.
//
// The controller is package genlctrl's Registry, the very code the nlbus
// daemon runs: GETFAMILY (do by name or ID, and dump), GETPOLICY (dump, by
// family and optionally by operation) with Linux's encoding, errors and
// extended acks, and the notify group, on which it announces families added
// and removed at run time. A Family's Policy is the one exception: a
// canned GETPOLICY answer, sent as given, for testing genl against reply
// shapes of the kernel's (Spec registers it with the controller instead).
// Requests to a served family go to its Handler;
// with Config.Check they are first checked against the family's operations
// and policies, as Linux's genl and the bus check them.
//
//	srv := genltest.NewServer(nil, genltest.Family{
//		Family:  genl.Family{Name: "demo", Version: 1, Ops: []genl.Op{{ID: 1, Flags: genl.CmdCapDo}}},
//		Handler: func(req genl.Message, _ netlink.Message) ([]genl.Message, error) {
//			return []genl.Message{{Header: req.Header, Data: req.Data}}, nil
//		},
//	})
//	nc, _ := srv.Dial()
//	c := genl.NewConn(nc)
//	defer c.Close()
package genltest
