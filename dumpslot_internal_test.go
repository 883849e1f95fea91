package netlink

import (
	"context"
	"testing"
	"time"

	"github.com/nlbus/netlink/transport"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// emptySocket is a transport whose socket never has anything queued.
type emptySocket struct{ closed chan struct{} }

func (e *emptySocket) Send(context.Context, []byte, transport.Addr) error { return nil }
func (e *emptySocket) Recv(ctx context.Context, _ []byte) (transport.Info, error) {
	select {
	case <-ctx.Done():
		return transport.Info{}, ctx.Err()
	case <-e.closed:
		return transport.Info{}, context.Canceled
	}
}
func (e *emptySocket) TryRecv([]byte) (transport.Info, error) {
	return transport.Info{}, transport.ErrWouldBlock
}
func (e *emptySocket) PortID() uint32          { return 77 }
func (e *emptySocket) JoinGroup(uint32) error  { return nil }
func (e *emptySocket) LeaveGroup(uint32) error { return nil }
func (e *emptySocket) Close() error            { close(e.closed); return nil }

// A dump waiter that saw an abandoned dump hold the slot, then waited for
// the read token, must not retire what holds the slot when it gets the
// token: meanwhile the abandoned dump may have ended and its call, reused
// from the free list, may hold the slot for a new dump whose owner is
// waiting for its replies. Retiring that live call freed the kernel
// socket's dump slot under a running dump (the next dump got EBUSY) and
// put the call on the free list twice, so that two later requests shared
// it and got each other's replies.
func TestDumpWaiterDoesNotRetireReusedCall(t *testing.T) {
	c := newConn(&emptySocket{closed: make(chan struct{})}, (&Config{}).orDefault())
	c.kernel.oneDump = true
	defer c.Close()
	ctx := context.Background()

	// An abandoned dump holds the slot.
	old, err := c.register(100, 0, ending{dump: true})
	require.NoError(t, err)
	require.NoError(t, c.acquireDump(ctx, old))
	c.finish(old, true)
	require.True(t, old.abandoned)

	// Right after the waiter saw the abandoned dump hold the slot, and
	// before it takes the read token, a reader reads that dump's DONE (the
	// call is retired) and a new dump reuses the call and takes the free
	// slot.
	var live *call
	testHookDumpWait = func() {
		testHookDumpWait = nil
		c.mu.Lock()
		c.retire(old)
		c.mu.Unlock()
		var err error
		live, err = c.register(102, 0, ending{dump: true})
		require.NoError(t, err)
		require.Same(t, old, live, "the free list gives the retired call back")
		require.NoError(t, c.acquireDump(ctx, live))
	}
	t.Cleanup(func() { testHookDumpWait = nil })

	waiter, err := c.register(101, 0, ending{dump: true})
	require.NoError(t, err)
	acquired := make(chan error, 1)
	go func() { acquired <- c.acquireDump(ctx, waiter) }()

	select {
	case err := <-acquired:
		t.Fatalf("the waiter took the slot of a running dump (err %v)", err)
	case <-time.After(100 * time.Millisecond):
	}
	c.mu.Lock()
	assert.Same(t, live, c.dumpHolder, "the running dump keeps its slot")
	got, ok := c.calls.get(102)
	assert.True(t, ok && got == live, "the running dump stays registered")
	c.mu.Unlock()

	// The running dump ends: now the waiter gets the slot.
	c.finish(live, false)
	select {
	case err := <-acquired:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("the waiter did not get the slot")
	}
	c.mu.Lock()
	assert.Same(t, waiter, c.dumpHolder)
	c.mu.Unlock()
}
