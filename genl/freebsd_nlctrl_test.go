package genl_test

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/genl"
	"github.com/nlbus/netlink/nltest"
)

// freeBSDNlctrl serves requests the way FreeBSD's nlctrl does
// (sys/netlink/netlink_generic.c), through nltest's FreeBSD mode (positive
// errnos, NLMSG_DONE without NLM_F_MULTI, coalesced reads): GETFAMILY only,
// flagged GENL_CMD_CAP_HASPOL, with its notify group numbered from 48;
// any other command gets EOPNOTSUPP.
func freeBSDNlctrl(t *testing.T) *genl.Conn {
	return freeBSDNlctrlGroups(t, []genl.Group{{ID: 48, Name: "notify"}})
}

// freeBSDNlctrlGroups is freeBSDNlctrl with nlctrl advertising groups.
func freeBSDNlctrlGroups(t *testing.T, groups []genl.Group) *genl.Conn {
	ctrl := genl.Family{
		ID: genl.CtrlID, Name: "nlctrl", Version: 2, MaxAttr: 10,
		Ops:    []genl.Op{{ID: uint32(genl.CmdGetFamily), Flags: genl.CmdCapDo | genl.CmdCapDump | genl.CmdCapHasPolicy}},
		Groups: groups,
	}
	attrs, err := ctrl.MarshalAttributes()
	require.NoError(t, err)
	reply := netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(genl.CtrlID)},
		Data:   genl.Message{Header: genl.Header{Command: genl.CmdNewFamily, Version: 2}, Data: attrs}.Append(nil),
	}
	nc := nltest.Dial(func(req []netlink.Message) ([]netlink.Message, error) {
		gm, err := genl.ParseMessage(req[0].Data)
		if err != nil || gm.Header.Command != genl.CmdGetFamily {
			return nil, syscall.EOPNOTSUPP
		}
		if req[0].Header.Flags&netlink.Dump == netlink.Dump {
			return []netlink.Message{reply}, nil
		}
		ad := netlink.NewAttributeDecoder(gm.Data)
		for ad.Next() {
			if ad.Type() == 2 && ad.String() != "nlctrl" { // CTRL_ATTR_FAMILY_NAME
				return nil, syscall.ENOENT
			}
		}
		return []netlink.Message{reply}, nil
	}, nltest.FreeBSD())
	c := genl.NewConn(nc)
	t.Cleanup(func() { c.Close() })
	return c
}

func TestFreeBSDNlctrl(t *testing.T) {
	ctx := context.Background()
	c := freeBSDNlctrl(t)

	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"get family", func(t *testing.T) {
			f, err := c.GetFamily(ctx, "nlctrl")
			require.NoError(t, err)
			assert.Equal(t, genl.CtrlID, f.ID)
			g, ok := f.Group("notify")
			require.True(t, ok)
			assert.Equal(t, uint32(48), g.ID)
		}},
		{"unknown family", func(t *testing.T) {
			_, err := c.GetFamily(ctx, "pfctl")
			var nf *genl.NotFoundError
			require.ErrorAs(t, err, &nf)
			require.ErrorIs(t, err, os.ErrNotExist)
		}},
		{"list", func(t *testing.T) {
			fams, err := c.ListFamilies(ctx)
			require.NoError(t, err)
			require.Len(t, fams, 1)
			assert.Equal(t, "nlctrl", fams[0].Name)
		}},
		{"has-policy without GETPOLICY", func(t *testing.T) {
			f, err := c.GetFamily(ctx, "nlctrl")
			require.NoError(t, err)
			op, ok := f.Op(uint32(genl.CmdGetFamily))
			require.True(t, ok)
			require.True(t, op.HasPolicy(), "FreeBSD flags GETFAMILY as having a policy")
			_, err = c.GetPolicy(ctx, "nlctrl")
			require.ErrorIs(t, err, netlink.ErrNotSupported, "yet has no GETPOLICY")
			require.ErrorIs(t, err, syscall.EOPNOTSUPP)
		}},
		{"group by name", func(t *testing.T) {
			id, err := c.GroupID(ctx, "nlctrl", "notify")
			require.NoError(t, err)
			assert.Equal(t, uint32(48), id, "FreeBSD numbers genl groups from 48")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}

// Where the cache's entries expire (FreeBSD), it does not need the notify
// group: a controller that advertises none still gets a cache.
func TestCacheWithoutNotifyGroup(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		maxAge  time.Duration
		wantErr error
	}{
		{name: "entries that expire", maxAge: time.Second},
		{name: "entries kept until a notification", wantErr: os.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := freeBSDNlctrlGroups(t, nil)
			c.SetCacheMaxAge(tt.maxAge, nil)
			sub := nltest.Dial(func([]netlink.Message) ([]netlink.Message, error) { return nil, syscall.EOPNOTSUPP }, nltest.FreeBSD())
			err := c.EnableCache(ctx, sub)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				var nf *genl.NotFoundError
				require.ErrorAs(t, err, &nf)
				assert.Equal(t, "notify", nf.Group)
				assert.False(t, c.CacheOn())
				sub.Close()
				return
			}
			require.NoError(t, err)
			assert.True(t, c.CacheOn())
			_, err = c.LookupFamily(ctx, "nlctrl")
			require.NoError(t, err)
			_, ok := c.CachedFamily("nlctrl")
			assert.True(t, ok)
		})
	}
}
