package compat

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestProbeFreeBSD runs the real probe and checks it against the static
// FreeBSD table, except where the answer changes between releases
// (NETLINK_MSG_INFO, CTRL_CMD_GETPOLICY): there the probe is the authority
// and the test only requires a clear answer. It skips only when netlink
// itself is missing (13.x without kldload netlink), which the probe reports
// as ErrNotSupported.
func TestProbeFreeBSD(t *testing.T) {
	r := Probe()
	t.Log(r.String())
	require.Equal(t, FreeBSD, r.OS)
	route, ok := r.Lookup(Protocol(NetlinkRoute))
	require.True(t, ok)
	if route.Err != nil {
		require.ErrorIs(t, route.Err, ErrNotSupported, "netlink present but unusable")
		t.Skipf("netlink not available: %v", route.Err)
	}
	require.Len(t, r.Ctrl, 1)

	for _, res := range append(append(append([]Result(nil), r.Protocols...), r.Options...), r.Ctrl...) {
		t.Run(res.Capability.String(), func(t *testing.T) {
			switch {
			case releaseDependent(FreeBSD, res.Capability):
				if res.Err != nil {
					assert.ErrorIs(t, res.Err, ErrNotSupported, "missing, not failing")
				}
				t.Logf("this release: %v", res.Err)
			case Supports(FreeBSD, res.Capability):
				assert.NoError(t, res.Err)
			default:
				assert.ErrorIs(t, res.Err, ErrNotSupported)
			}
		})
	}
}
