package compat

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestProbeLinux runs the real probe. It is safe unprivileged: it only opens
// netlink sockets, sets options on them, asks nlctrl for its policy and
// closes them. Every Linux kernel this library supports has NETLINK_ROUTE
// and NETLINK_GENERIC, accepts the five Linux boolean options (EXT_ACK since
// 4.12, GET_STRICT_CHK since 4.20) and has CTRL_CMD_GETPOLICY (5.10), and
// none has FreeBSD's NETLINK_MSG_INFO: the probe agrees with the static
// table everywhere, and a disagreement is a failure, not a skip.
func TestProbeLinux(t *testing.T) {
	r := Probe()
	t.Log(r.String())
	require.Equal(t, Linux, r.OS)
	require.Len(t, r.Protocols, 3)
	require.Len(t, r.Options, 6)
	require.Len(t, r.Ctrl, 1)

	for _, res := range append(append(append([]Result(nil), r.Protocols...), r.Options...), r.Ctrl...) {
		t.Run(res.Capability.String(), func(t *testing.T) {
			if Supports(Linux, res.Capability) {
				require.NoError(t, res.Err)
			} else {
				require.ErrorIs(t, res.Err, ErrNotSupported)
			}
			assert.False(t, releaseDependent(Linux, res.Capability))
		})
	}
}
