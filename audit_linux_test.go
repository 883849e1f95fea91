//go:build linux

package netlink_test

import (
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/internal/nettest"
)

// TestKernelAuditGet: the audit subsystem answers AUDIT_GET from a kernel
// thread, usually after the ACK; Execute still returns the status reply.
// Read-only, in the initial namespace (audit has no other); never AUDIT_SET.
func TestKernelAuditGet(t *testing.T) {
	nettest.RequireRoot(t)
	c, err := netlink.Dial(unix.NETLINK_AUDIT, nil)
	if errors.Is(err, netlink.ErrNotSupported) {
		t.Skipf("kernel without audit: %v", err)
	}
	require.NoError(t, err)
	defer c.Close()
	ctx := testContext(t)
	for i := range 20 { // the order of ACK and reply is a race: try it often
		msgs, err := c.Execute(ctx, netlink.Message{Header: netlink.Header{Type: unix.AUDIT_GET}})
		if i == 0 && (errors.Is(err, unix.EPERM) || errors.Is(err, unix.ECONNREFUSED)) {
			t.Skipf("the kernel refuses AUDIT_GET here (containers do): %v", err)
		}
		require.NoError(t, err)
		require.Len(t, msgs, 1, "the status reply, whatever the order of ACK and reply")
		assert.Equal(t, netlink.HeaderType(unix.AUDIT_GET), msgs[0].Header.Type)
		require.GreaterOrEqual(t, len(msgs[0].Data), 8, "struct audit_status")
		enabled := nativeEndian.Uint32(msgs[0].Data[4:])
		assert.LessOrEqual(t, enabled, uint32(2))
		if i == 0 {
			compareAuditctl(t, enabled)
		}
	}
	assert.Zero(t, c.Stats().Late, "no reply was late")
}

// compareAuditctl checks enabled against auditctl -s where it is installed.
func compareAuditctl(t *testing.T, enabled uint32) {
	if _, err := exec.LookPath("auditctl"); err != nil {
		t.Log("auditctl not installed: status not compared")
		return
	}
	out, err := exec.Command("auditctl", "-s").Output()
	require.NoError(t, err)
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "enabled "); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			require.NoError(t, err)
			assert.Equal(t, uint32(n), enabled, "auditctl -s agrees")
			return
		}
	}
	t.Errorf("auditctl -s printed no enabled line: %s", out)
}
