package genltest_test

import (
	"context"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/genl"
	"github.com/nlbus/netlink/genl/genlctrl"
	"github.com/nlbus/netlink/genl/genltest"
)

func TestServeFamily(t *testing.T) {
	ctx := context.Background()
	nc, err := genltest.ServeFamily(genl.Family{Name: "svc", Version: 1, Ops: []genl.Op{{ID: 1, Flags: genl.CmdCapDo}}},
		func(req genl.Message, _ netlink.Message) ([]genl.Message, error) {
			if req.Header.Command != 1 {
				return nil, syscall.EOPNOTSUPP
			}
			return []genl.Message{{Header: req.Header, Data: []byte("pong")}}, nil
		})
	require.NoError(t, err)
	c := genl.NewConn(nc)
	defer c.Close()

	got, err := c.ExecuteFamily(ctx, "svc", genl.Message{Header: genl.Header{Command: 1, Version: 1}}, 0)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "pong", string(got[0].Data))

	_, err = c.ExecuteFamily(ctx, "svc", genl.Message{Header: genl.Header{Command: 2}}, 0)
	require.ErrorIs(t, err, syscall.EOPNOTSUPP)

	_, err = c.Execute(ctx, 0x7ff, genl.Message{}, 0)
	require.ErrorIs(t, err, syscall.ENOENT, "an unknown family ID")
}

func TestServerRejectsDuplicates(t *testing.T) {
	srv := genltest.NewServer(nil)
	_, err := srv.AddFamily(genltest.Family{Family: genl.Family{Name: "nlctrl"}})
	require.Error(t, err)
	_, err = srv.AddFamily(genltest.Family{Family: genl.Family{Name: "this-name-is-too-long"}})
	require.Error(t, err)
	require.Error(t, srv.RemoveFamily("nlctrl"))
	require.Error(t, srv.Multicast("nope", "g"))
}

// TestServerCheck: with Config.Check, requests are checked by the
// controller before the Handler sees them, and the refusal reaches genl
// with Linux's extended ack.
func TestServerCheck(t *testing.T) {
	ctx := context.Background()
	pol := &genlctrl.Table{Attrs: []genlctrl.Attr{{ID: 1, Type: genl.TypeU32, HasRange: true, MinU: 1, MaxU: 9}}}
	seen := 0
	for _, cfg := range []genltest.Config{{Check: true}, {Check: true, Unprivileged: true}} {
		srv := genltest.NewServer(&cfg, genltest.Family{
			Spec: &genlctrl.Family{Name: "svc", Ops: []genlctrl.Op{
				{Cmd: 1, Flags: genl.CmdCapDo, DoPolicy: pol},
				{Cmd: 2, Flags: genl.CmdCapDo | genl.AdminPerm},
			}},
			Handler: func(req genl.Message, _ netlink.Message) ([]genl.Message, error) {
				seen++
				return nil, nil
			},
		})
		nc, err := srv.Dial()
		require.NoError(t, err)
		c := genl.NewConn(nc)
		f, err := c.GetFamily(ctx, "svc")
		require.NoError(t, err)
		assert.Equal(t, genl.CmdCapDo|genl.CmdCapHasPolicy, f.Ops[0].Flags)

		var ae netlink.AttributeEncoder
		ae.Uint32(1, 10)
		attrs, _ := ae.Bytes()
		_, err = c.ExecuteFamily(ctx, "svc", genl.Message{Header: genl.Header{Command: 1}, Data: attrs}, 0)
		require.ErrorIs(t, err, syscall.ERANGE)
		var oe *netlink.OpError
		require.ErrorAs(t, err, &oe)
		assert.Equal(t, "integer out of range", oe.Message)
		assert.Equal(t, uint32(16+4), oe.Offset)

		_, err = c.ExecuteFamily(ctx, "svc", genl.Message{Header: genl.Header{Command: 3}}, 0)
		require.ErrorIs(t, err, syscall.EOPNOTSUPP)

		_, err = c.ExecuteFamily(ctx, "svc", genl.Message{Header: genl.Header{Command: 2}}, 0)
		if cfg.Unprivileged {
			require.ErrorIs(t, err, syscall.EPERM)
		} else {
			require.NoError(t, err)
		}
		require.NoError(t, c.Close())
	}
	assert.Equal(t, 1, seen, "only the admin's request reached the handler")
}
