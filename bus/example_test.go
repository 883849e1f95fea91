package bus_test

import (
	"context"
	"fmt"
	"log"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/bus"
)

// A service on port 7000 answers each request with an echo and an ACK;
// it needs a running daemon, so this example only compiles.
func Example_service() {
	ctx := context.Background()
	c, err := bus.Dial(&bus.Config{Port: 7000})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	for {
		msgs, err := c.Receive(ctx)
		if err != nil {
			log.Fatal(err)
		}
		for _, m := range msgs {
			fmt.Printf("request from port %d (uid %d)\n", m.Addr.Port, m.Creds.UID)
			c.Send(ctx, netlink.Message{Header: netlink.Header{Type: m.Header.Type, Sequence: m.Header.Sequence}, Data: m.Data, Addr: m.Addr})
			ack := make([]byte, 4+netlink.HeaderLen)
			netlink.MarshalHeader(ack[4:], m.Header)
			c.Send(ctx, netlink.Message{Header: netlink.Header{Type: netlink.Error, Flags: netlink.Capped, Sequence: m.Header.Sequence}, Data: ack, Addr: m.Addr})
		}
	}
}

// A client calls that service.
func Example_client() {
	ctx := context.Background()
	c, err := bus.Dial(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	replies, err := c.Execute(ctx, netlink.Message{Header: netlink.Header{Type: 0x30}, Data: []byte("hi"), Addr: netlink.Addr{Port: 7000}})
	if err != nil {
		log.Fatal(err) // ECONNREFUSED: nobody has port 7000; ECONNRESET: it went away
	}
	fmt.Println(len(replies))
}
