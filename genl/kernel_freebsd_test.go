package genl_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/compat"
	"github.com/nlbus/netlink/genl"
)

// FreeBSD's nlctrl implements GETFAMILY only (sys/netlink/netlink_generic.c):
// these tests run in the FreeBSD VM jobs, read-only, as a user or as root.

func freebsdConn(t *testing.T) *genl.Conn {
	t.Helper()
	c, err := genl.Dial(nil)
	if errors.Is(err, netlink.ErrNotSupported) {
		t.Skipf("kernel netlink unavailable (kldload netlink): %v", err)
	}
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func TestKernelFreeBSDNlctrl(t *testing.T) {
	c := freebsdConn(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	f, err := c.GetFamily(ctx, "nlctrl")
	require.NoError(t, err)
	assert.Equal(t, uint16(0x10), f.ID)
	_, ok := f.Op(3)
	assert.True(t, ok, "nlctrl has CTRL_CMD_GETFAMILY")

	byID, err := c.GetFamilyByID(ctx, f.ID)
	require.NoError(t, err)
	assert.Equal(t, "nlctrl", byID.Name)

	fams, err := c.ListFamilies(ctx)
	require.NoError(t, err)
	names := make([]string, 0, len(fams))
	for _, fam := range fams {
		names = append(names, fam.Name)
		for _, g := range fam.Groups {
			// FreeBSD numbers generic-netlink groups from 48.
			assert.GreaterOrEqual(t, g.ID, uint32(48), "%s/%s", fam.Name, g.Name)
		}
	}
	assert.Contains(t, names, "nlctrl")

	_, err = c.GetFamily(ctx, "no-such-family")
	require.Error(t, err)
	var nf *genl.NotFoundError
	assert.ErrorAs(t, err, &nf)
	assert.ErrorIs(t, err, os.ErrNotExist)
}

// GETFAMILY has GENL_CMD_CAP_HASPOL on FreeBSD, yet nlctrl may have no
// GETPOLICY: GetPolicy agrees with the probe, whichever this release does.
func TestKernelFreeBSDPolicyFollowsProbe(t *testing.T) {
	c := freebsdConn(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	probed, ok := compat.Probe().Lookup(compat.CtrlCmd(genl.CmdGetPolicy))
	require.True(t, ok)
	t.Logf("CTRL_CMD_GETPOLICY on this release: %v", probed.Err)

	f, err := c.GetFamily(ctx, "nlctrl")
	require.NoError(t, err)
	op, ok := f.Op(uint32(genl.CmdGetFamily))
	require.True(t, ok)
	t.Logf("GETFAMILY flags: %v", op.Flags)

	p, err := c.GetPolicy(ctx, "nlctrl")
	if probed.Supported() {
		require.NoError(t, err)
		if op.HasPolicy() {
			_, ok := p.Op(uint32(genl.CmdGetFamily))
			assert.True(t, ok, "GETFAMILY's policy is listed")
		}
		return
	}
	require.ErrorIs(t, probed.Err, netlink.ErrNotSupported)
	require.ErrorIs(t, err, netlink.ErrNotSupported)
}

// On FreeBSD the cache bounds its entries' age: notifications cannot keep
// it true (see EnableCache).
func TestKernelFreeBSDCacheMaxAge(t *testing.T) {
	c := freebsdConn(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// With or without a notify group (EnableCache joins it when nlctrl
	// advertises one), the cache works on FreeBSD: its entries expire.
	sub, err := netlink.Dial(netlink.Generic, nil)
	require.NoError(t, err)
	require.NoError(t, c.EnableCache(ctx, sub))
	assert.Equal(t, genl.FreeBSDCacheMaxAge, c.CacheMaxAge())
	_, err = c.LookupFamily(ctx, "nlctrl")
	require.NoError(t, err)
	_, ok := c.CachedFamily("nlctrl")
	assert.True(t, ok)
}

func TestKernelFreeBSDJoinNotify(t *testing.T) {
	c := freebsdConn(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f, err := c.GetFamily(ctx, "nlctrl")
	require.NoError(t, err)
	if _, ok := f.Group("notify"); !ok {
		t.Skip("this release's nlctrl advertises no notify group")
	}
	require.NoError(t, c.JoinGroup(ctx, "nlctrl", "notify"))
	require.NoError(t, c.LeaveGroup(ctx, "nlctrl", "notify"))
}
