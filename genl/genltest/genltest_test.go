package genltest_test

import (
	"context"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/genl"
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
