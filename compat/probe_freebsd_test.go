package compat

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestProbeFreeBSD runs the real probe and checks it against the static
// FreeBSD table. It skips only when netlink itself is missing (13.x without
// kldload netlink), which the probe reports as ErrNotSupported.
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

	for _, res := range append(append([]Result(nil), r.Protocols...), r.Options...) {
		t.Run(res.Capability.String(), func(t *testing.T) {
			if Supports(FreeBSD, res.Capability) {
				assert.NoError(t, res.Err)
			} else {
				assert.ErrorIs(t, res.Err, ErrNotSupported)
			}
		})
	}
}
