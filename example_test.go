package netlink_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log"
	"net/netip"
	"os"
	"syscall"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/nltest"
)

// Route-protocol numbers, the same on Linux and FreeBSD
// (include/uapi/linux/rtnetlink.h, sys/netlink/route/).
const (
	rtmGetLink    = 18 // RTM_GETLINK
	rtmNewAddr    = 20 // RTM_NEWADDR
	sizeofIfInfo  = 16 // struct ifinfomsg
	sizeofIfAddr  = 8  // struct ifaddrmsg
	iflaIfname    = 3  // IFLA_IFNAME
	iflaMTU       = 4  // IFLA_MTU
	iflaLinkinfo  = 18 // IFLA_LINKINFO
	iflaInfoKind  = 1  // IFLA_INFO_KIND
	ifaAddress    = 1  // IFA_ADDRESS
	ifaLocal      = 2  // IFA_LOCAL
	afInet        = 2  // AF_INET
	loopbackIndex = 1
)

// Dump the kernel's network interfaces and print their names.
func ExampleConn_Dump() {
	c, err := netlink.Dial(netlink.Route, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	req := netlink.Message{
		Header: netlink.Header{Type: rtmGetLink},
		Data:   make([]byte, sizeofIfInfo),
	}
	for m, err := range c.Dump(context.Background(), req) {
		if err != nil {
			log.Fatal(err)
		}
		var ifi [sizeofIfInfo]byte
		attrs, short := netlink.Fixed(ifi[:], m.Data)
		if short {
			continue
		}
		ad := netlink.NewAttributeDecoder(attrs)
		for ad.Next() {
			if ad.Type() == iflaIfname {
				fmt.Println(ad.String()) // m is borrowed: copy what you keep
			}
		}
		if err := ad.Err(); err != nil {
			log.Fatal(err)
		}
	}
}

// Add an address to an interface and inspect the kernel's answer: the
// error is an *OpError wrapping the raw errno, with any extended-ack text.
func ExampleConn_Execute() {
	c, err := netlink.Dial(netlink.Route, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	ifa := make([]byte, sizeofIfAddr)
	ifa[0], ifa[1] = afInet, 24 // family, prefix length
	binary.NativeEndian.PutUint32(ifa[4:], loopbackIndex)

	var ae netlink.AttributeEncoder
	ae.Reset(ifa)
	ae.Addr(ifaLocal, netip.MustParseAddr("192.0.2.1"))
	ae.Addr(ifaAddress, netip.MustParseAddr("192.0.2.1"))
	data, err := ae.Bytes()
	if err != nil {
		log.Fatal(err)
	}

	_, err = c.Execute(context.Background(), netlink.Message{
		Header: netlink.Header{Type: rtmNewAddr, Flags: netlink.Create | netlink.Excl},
		Data:   data,
	})
	var oe *netlink.OpError
	switch {
	case errors.Is(err, os.ErrExist):
		fmt.Println("already there")
	case errors.As(err, &oe):
		fmt.Println(oe.Err, oe.Message)
	case err != nil:
		log.Fatal(err)
	}
}

// Encode attributes, nested ones included, and decode them again. Decoding
// borrows from the buffer and allocates nothing.
func ExampleAttributeEncoder() {
	var ae netlink.AttributeEncoder
	ae.String(iflaIfname, "veth0")
	ae.Uint32(iflaMTU, 1500)
	ae.Nested(iflaLinkinfo, func(ae *netlink.AttributeEncoder) error {
		ae.String(iflaInfoKind, "veth")
		return nil
	})
	b, err := ae.Bytes()
	if err != nil {
		log.Fatal(err)
	}

	var ad netlink.AttributeDecoder
	ad.Reset(b)
	for ad.Next() {
		switch ad.Type() {
		case iflaIfname:
			fmt.Println("name:", ad.String())
		case iflaMTU:
			fmt.Println("mtu:", ad.Uint32())
		case iflaLinkinfo:
			nd := ad.NestedDecoder()
			for nd.Next() {
				if nd.Type() == iflaInfoKind {
					fmt.Println("kind:", nd.String())
				}
			}
			if err := nd.Err(); err != nil {
				log.Fatal(err)
			}
		}
	}
	if err := ad.Err(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// name: veth0
	// mtu: 1500
	// kind: veth
}

// The Dump loop above, against nltest's fake kernel instead of a real one so
// that the output is fixed: the fake answers RTM_GETLINK with two interfaces,
// and nltest adds what a kernel adds (sequence numbers, NLM_F_MULTI,
// NLMSG_DONE).
func ExampleConn_Dump_nltest() {
	const rtmNewLink = 16 // RTM_NEWLINK
	link := func(index uint32, name string) netlink.Message {
		ifi := make([]byte, sizeofIfInfo)
		binary.NativeEndian.PutUint32(ifi[4:], index) // ifi_index
		var ae netlink.AttributeEncoder
		ae.Reset(ifi)
		ae.String(iflaIfname, name)
		data, err := ae.Bytes()
		if err != nil {
			log.Fatal(err)
		}
		return netlink.Message{Header: netlink.Header{Type: rtmNewLink}, Data: data}
	}
	c := nltest.Dial(func(req []netlink.Message) ([]netlink.Message, error) {
		if req[0].Header.Type != rtmGetLink {
			return nil, syscall.EOPNOTSUPP
		}
		return []netlink.Message{link(1, "lo"), link(2, "eth0")}, nil
	})
	defer c.Close()

	req := netlink.Message{Header: netlink.Header{Type: rtmGetLink}, Data: make([]byte, sizeofIfInfo)}
	for m, err := range c.Dump(context.Background(), req) {
		if err != nil {
			log.Fatal(err)
		}
		var ifi [sizeofIfInfo]byte
		attrs, short := netlink.Fixed(ifi[:], m.Data) // never slice before checking
		if short {
			log.Fatalf("short ifinfomsg: %d bytes", len(m.Data))
		}
		ad := netlink.NewAttributeDecoder(attrs)
		for ad.Next() {
			if ad.Type() == iflaIfname {
				fmt.Println(binary.NativeEndian.Uint32(ifi[4:]), ad.String())
			}
		}
		if err := ad.Err(); err != nil {
			log.Fatal(err)
		}
	}
	// Output:
	// 1 lo
	// 2 eth0
}

// Execute asks for an acknowledgement on every do-request and consumes it:
// a request that succeeds returns no replies and a nil error, one that fails
// returns an *OpError with the raw errno and the extended-ack fields. Do
// returns the acknowledgement itself, with any warning the kernel attached.
// Here nltest plays a kernel that adds an address once.
func ExampleConn_Execute_ack() {
	added := map[string]bool{}
	c := nltest.Dial(func(req []netlink.Message) ([]netlink.Message, error) {
		key := string(req[0].Data)
		if added[key] {
			return []netlink.Message{nltest.Error(syscall.EEXIST, req[0], &netlink.ExtAck{Message: "address already assigned"})}, nil
		}
		added[key] = true
		return nil, nil // nltest sends the ACK
	})
	defer c.Close()

	ifa := make([]byte, sizeofIfAddr)
	ifa[0], ifa[1] = afInet, 24 // family, prefix length
	binary.NativeEndian.PutUint32(ifa[4:], loopbackIndex)
	req := netlink.Message{
		Header: netlink.Header{Type: rtmNewAddr, Flags: netlink.Create | netlink.Excl},
		Data:   ifa,
	}

	msgs, err := c.Execute(context.Background(), req)
	fmt.Println("first:", len(msgs), "replies, error", err)

	_, err = c.Execute(context.Background(), req)
	var oe *netlink.OpError
	if errors.As(err, &oe) {
		fmt.Println("second:", errors.Is(err, os.ErrExist), oe.Err == syscall.EEXIST, oe.Message)
	}

	ack, err := c.Do(context.Background(), netlink.Message{Header: netlink.Header{Type: rtmNewAddr}}, func(netlink.Message) error { return nil })
	fmt.Println("do:", ack.Received, err)
	// Output:
	// first: 0 replies, error <nil>
	// second: true true address already assigned
	// do: true <nil>
}

// Notifications arrive through Receive with the group they were sent to.
// nltest.Multicast plays the kernel announcing a new interface to
// RTNLGRP_LINK (group 1).
func ExampleConn_Receive() {
	const (
		rtnlgrpLink = 1  // RTNLGRP_LINK
		rtmNewLink  = 16 // RTM_NEWLINK
	)
	c := nltest.Dial(func([]netlink.Message) ([]netlink.Message, error) { return nil, nil })
	defer c.Close()
	if err := c.JoinGroup(rtnlgrpLink); err != nil {
		log.Fatal(err)
	}

	var ae netlink.AttributeEncoder
	ae.Reset(make([]byte, sizeofIfInfo))
	ae.String(iflaIfname, "veth0")
	data, err := ae.Bytes()
	if err != nil {
		log.Fatal(err)
	}
	if err := nltest.Multicast(c, rtnlgrpLink, netlink.Message{Header: netlink.Header{Type: rtmNewLink}, Data: data}); err != nil {
		log.Fatal(err)
	}

	msgs, err := c.Receive(context.Background())
	if err != nil {
		log.Fatal(err) // errors.Is(err, netlink.ErrOverrun): re-read the state
	}
	for _, m := range msgs {
		var ifi [sizeofIfInfo]byte
		attrs, short := netlink.Fixed(ifi[:], m.Data)
		if short {
			continue
		}
		ad := netlink.NewAttributeDecoder(attrs)
		for ad.Next() {
			if ad.Type() == iflaIfname {
				fmt.Printf("group %d: type %d %s\n", m.Addr.Group, m.Header.Type, ad.String())
			}
		}
	}
	// Output:
	// group 1: type 16 veth0
}
