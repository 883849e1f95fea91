package netlink_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log"
	"net/netip"
	"os"

	"github.com/nlbus/netlink"
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
