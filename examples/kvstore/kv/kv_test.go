package kv_test

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/bus/bustest"
	"github.com/nlbus/netlink/examples/kvstore/kv"
	"github.com/nlbus/netlink/genl"
)

// start runs a bus daemon and the kvstore service in this process, and
// returns a genl client on the bus.
func start(t *testing.T) (context.Context, *genl.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	srv := bustest.NewServer(t, nil)
	svc := srv.Dial(t, nil)
	fam, err := kv.Register(ctx, svc)
	require.NoError(t, err)
	done := make(chan error, 1)
	sctx, stop := context.WithCancel(ctx)
	go func() { done <- kv.NewStore().Serve(sctx, svc, fam) }()
	t.Cleanup(func() {
		stop()
		assert.ErrorIs(t, <-done, context.Canceled)
	})
	return ctx, genl.NewConn(srv.Dial(t, nil))
}

func attrs(t *testing.T, kvs ...any) []byte {
	t.Helper()
	var ae netlink.AttributeEncoder
	for i := 0; i < len(kvs); i += 2 {
		ae.String(uint16(kvs[i].(int)), kvs[i+1].(string))
	}
	b, err := ae.Bytes()
	require.NoError(t, err)
	return b
}

func decode(t *testing.T, data []byte) map[uint16]string {
	t.Helper()
	m := map[uint16]string{}
	ad := netlink.NewAttributeDecoder(data)
	for ad.Next() {
		m[ad.Type()] = ad.String()
	}
	require.NoError(t, ad.Err())
	return m
}

func call(ctx context.Context, c *genl.Conn, cmd uint8, data []byte) ([]genl.Message, error) {
	return c.ExecuteFamily(ctx, kv.Family, genl.Message{Header: genl.Header{Command: cmd, Version: kv.Version}, Data: data}, 0)
}

func TestSetGetDelete(t *testing.T) {
	ctx, c := start(t)
	_, err := call(ctx, c, kv.CmdSet, attrs(t, kv.AttrKey, "colour", kv.AttrValue, "blue"))
	require.NoError(t, err)
	got, err := call(ctx, c, kv.CmdGet, attrs(t, kv.AttrKey, "colour"))
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, map[uint16]string{kv.AttrKey: "colour", kv.AttrValue: "blue"}, decode(t, got[0].Data))

	_, err = call(ctx, c, kv.CmdDelete, attrs(t, kv.AttrKey, "colour"))
	require.NoError(t, err)
	_, err = call(ctx, c, kv.CmdGet, attrs(t, kv.AttrKey, "colour"))
	require.ErrorIs(t, err, syscall.ENOENT)
	assert.Contains(t, err.Error(), "kvstore: no key colour")
	_, err = call(ctx, c, kv.CmdDelete, attrs(t, kv.AttrKey, "colour"))
	require.ErrorIs(t, err, syscall.ENOENT)
}

// The daemon refuses what breaks the registered policy before the service
// sees it; the service refuses what the policy cannot say.
func TestRefusals(t *testing.T) {
	ctx, c := start(t)
	// Over-long key and value: the kernel's errnos (EINVAL for a
	// NUL-terminated string, ERANGE for a plain one) and text.
	_, err := call(ctx, c, kv.CmdSet, attrs(t, kv.AttrKey, strings.Repeat("k", kv.MaxKey+1), kv.AttrValue, "v"))
	require.ErrorIs(t, err, syscall.EINVAL)
	assert.Contains(t, err.Error(), "policy")
	_, err = call(ctx, c, kv.CmdSet, attrs(t, kv.AttrKey, "k", kv.AttrValue, strings.Repeat("v", kv.MaxValue+1)))
	require.ErrorIs(t, err, syscall.ERANGE)
	assert.Contains(t, err.Error(), "policy")
	_, err = call(ctx, c, kv.CmdSet, attrs(t, kv.AttrKey, "k"))
	require.ErrorIs(t, err, syscall.EINVAL)
	assert.Contains(t, err.Error(), "value attribute missing")
	_, err = call(ctx, c, kv.CmdGet, nil)
	require.ErrorIs(t, err, syscall.EINVAL)
	_, err = call(ctx, c, 9, nil)
	require.ErrorIs(t, err, syscall.EOPNOTSUPP)
	// A dump of a do-only command.
	for _, err := range c.DumpFamily(ctx, kv.Family, genl.Message{Header: genl.Header{Command: kv.CmdGet}}) {
		require.ErrorIs(t, err, syscall.EOPNOTSUPP)
	}
}

func TestListAndChanges(t *testing.T) {
	ctx, c := start(t)
	sub := c // the same connection hears the changes it causes
	require.NoError(t, sub.JoinGroup(ctx, kv.Family, kv.GroupChanges))

	const n = 2000
	for i := range n {
		_, err := call(ctx, c, kv.CmdSet, attrs(t, kv.AttrKey, fmt.Sprintf("key%05d", i), kv.AttrValue, fmt.Sprint(i)))
		require.NoError(t, err)
	}
	_, err := call(ctx, c, kv.CmdDelete, attrs(t, kv.AttrKey, "key00007"))
	require.NoError(t, err)

	// Every change arrived on the group, in order, the delete without a value.
	var changes []map[uint16]string
	for len(changes) < n+1 {
		msgs, err := c.Netlink().Receive(ctx)
		require.NoError(t, err)
		for _, m := range msgs {
			require.NotZero(t, m.Addr.Group)
			gm, err := genl.ParseMessage(m.Data)
			require.NoError(t, err)
			require.Equal(t, uint8(kv.CmdChange), gm.Header.Command)
			changes = append(changes, decode(t, gm.Data))
		}
	}
	assert.Equal(t, map[uint16]string{kv.AttrKey: "key00000", kv.AttrValue: "0"}, changes[0])
	assert.Equal(t, map[uint16]string{kv.AttrKey: "key00007"}, changes[n])

	var keys []string
	for m, err := range c.DumpFamily(ctx, kv.Family, genl.Message{Header: genl.Header{Command: kv.CmdList}}) {
		require.NoError(t, err)
		keys = append(keys, decode(t, m.Data)[kv.AttrKey])
	}
	require.Len(t, keys, n-1)
	assert.Equal(t, "key00000", keys[0])
	assert.Equal(t, "key00008", keys[7])
	assert.Equal(t, "key01999", keys[n-2])

	// A prefix narrows the listing.
	keys = keys[:0]
	for m, err := range c.DumpFamily(ctx, kv.Family, genl.Message{Header: genl.Header{Command: kv.CmdList}, Data: attrs(t, kv.AttrPrefix, "key001")}) {
		require.NoError(t, err)
		keys = append(keys, decode(t, m.Data)[kv.AttrKey])
	}
	assert.Len(t, keys, 100)
}
