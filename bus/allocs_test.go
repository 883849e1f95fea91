package bus_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/bus"
	"github.com/nlbus/netlink/bus/bustest"
	"github.com/nlbus/netlink/transport"
	"github.com/stretchr/testify/require"
)

// A unicast through the daemon costs no allocation anywhere: the client's
// Send and Recv, and the daemon's read, routing and write (the daemon runs
// in this process, so its allocations count too); nor do access rules that
// the daemon checks on the way.
func TestUnicastAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation budgets are not checked under the race detector, which allocates itself")
	}
	access, err := bus.ParseAccess([]byte(`
rules:
  - {deny: send, port: "1-1023"}
  - {deny: send, multicast: 300}
  - {allow: send}
`))
	require.NoError(t, err)
	for _, s := range []*bus.Server{{}, {Access: access}} {
		t.Run(fmt.Sprintf("rules=%d", s.Access.Len()), func(t *testing.T) { unicastAllocations(t, s) })
	}
}

func unicastAllocations(t *testing.T, s *bus.Server) {
	ctx := context.Background()
	srv := bustest.NewServer(t, s)
	tr, err := bus.DialTransport(ctx, srv.Path, 0)
	require.NoError(t, err)
	defer tr.Close()
	msg, err := netlink.AppendMessage(nil, netlink.Message{Header: netlink.Header{Type: 0x30, Sequence: 1}, Data: make([]byte, 48)})
	require.NoError(t, err)
	dst := transport.Addr{Port: tr.PortID()}
	buf := make([]byte, 64<<10)
	roundTrip := func() {
		if err := tr.Send(ctx, msg, dst); err != nil {
			t.Fatal(err)
		}
		info, err := tr.Recv(ctx, buf)
		if err != nil || info.N != len(msg) || info.Src.Port != tr.PortID() {
			t.Fatalf("recv: %+v, %v", info, err)
		}
	}
	for range 100 {
		roundTrip() // warm the buffers and the poller up
	}
	if allocs := testing.AllocsPerRun(500, roundTrip); allocs != 0 {
		t.Errorf("%.2f allocations per unicast, want 0", allocs)
	}
}
