package compat

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestProbeLinux runs the real probe. It is safe unprivileged: it only opens
// netlink sockets, sets options on them and closes them. Every Linux kernel
// this library supports has NETLINK_ROUTE and NETLINK_GENERIC and accepts
// the five boolean options (EXT_ACK since 4.12, GET_STRICT_CHK since 4.20),
// so anything but success is a failure, not a skip.
func TestProbeLinux(t *testing.T) {
	r := Probe()
	t.Log(r.String())
	require.Equal(t, Linux, r.OS)
	require.Len(t, r.Protocols, 3)
	require.Len(t, r.Options, 5)

	for _, res := range append(append([]Result(nil), r.Protocols...), r.Options...) {
		t.Run(res.Capability.String(), func(t *testing.T) {
			require.NoError(t, res.Err)
			// The kernel agrees with the static table.
			assert.True(t, Supports(Linux, res.Capability))
		})
	}
}
