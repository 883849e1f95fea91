//go:build linux

package netlink_test

import (
	"context"
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/nlbus/netlink"
)

// Process events through the connector (include/uapi/linux/connector.h,
// cn_proc.h). The connector never acknowledges a request, so the
// subscription is a Send, not an Execute; events arrive as multicast
// messages of type NLMSG_DONE on group CN_IDX_PROC, read with Receive.
// Needs CAP_NET_ADMIN; proc events are not per network namespace.
func Example_procEvents() {
	const (
		cnIdxProc         = 1 // CN_IDX_PROC
		cnValProc         = 1 // CN_VAL_PROC
		procCnMcastListen = 1 // PROC_CN_MCAST_LISTEN
		procEventFork     = 0x00000001
		procEventExec     = 0x00000002
		procEventExit     = 0x80000000
		sizeofCnMsg       = 20 // struct cn_msg without its data
	)
	ctx := context.Background()
	c, err := netlink.Dial(unix.NETLINK_CONNECTOR, &netlink.Config{Groups: []uint32{cnIdxProc}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	// struct cn_msg { struct cb_id id {idx, val}; seq; ack; len u16; flags u16 }
	// followed by enum proc_cn_mcast_op.
	sub := make([]byte, sizeofCnMsg+4)
	ne := binary.NativeEndian
	ne.PutUint32(sub[0:], cnIdxProc)
	ne.PutUint32(sub[4:], cnValProc)
	ne.PutUint16(sub[16:], 4)
	ne.PutUint32(sub[20:], procCnMcastListen)
	if _, err := c.Send(ctx, netlink.Message{Header: netlink.Header{Type: netlink.Done}, Data: sub}); err != nil {
		fmt.Println(err)
		return
	}
	for {
		msgs, err := c.Receive(ctx)
		if err != nil {
			fmt.Println(err) // ErrOverrun: events were lost; the Conn reads on
			continue
		}
		for _, m := range msgs {
			// struct proc_event { what u32; cpu u32; timestamp u64; event_data }
			if len(m.Data) < sizeofCnMsg+16+8 {
				continue
			}
			ev := m.Data[sizeofCnMsg:]
			switch ne.Uint32(ev) {
			case procEventFork:
				fmt.Println("fork", ne.Uint32(ev[16+4:]), "->", ne.Uint32(ev[16+12:]))
			case procEventExec:
				fmt.Println("exec", ne.Uint32(ev[16:]))
			case procEventExit:
				fmt.Println("exit", ne.Uint32(ev[16:]))
			}
		}
	}
}
