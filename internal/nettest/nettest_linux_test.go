//go:build linux

package nettest

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// recorder is a testing.TB that records Skipf and Fatalf instead of stopping
// the goroutine, to test the helpers' own failure paths.
type recorder struct {
	testing.TB
	skip, fatal string
}

func (r *recorder) Skipf(format string, args ...any)  { r.skip = fmt.Sprintf(format, args...) }
func (r *recorder) Fatalf(format string, args ...any) { r.fatal = fmt.Sprintf(format, args...) }

func TestNetNSRequireRoot(t *testing.T) {
	tests := []struct {
		name     string
		euid     int
		wantSkip bool
	}{
		{name: "nobody skips", euid: 65534, wantSkip: true},
		{name: "user skips", euid: 1000, wantSkip: true},
		{name: "root runs", euid: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{TB: t}
			requireRoot(r, tt.euid)
			if !tt.wantSkip {
				assert.Empty(t, r.skip)
				return
			}
			assert.Contains(t, r.skip, "needs root")
			assert.Contains(t, r.skip, fmt.Sprintf("euid %d", tt.euid))
			assert.Empty(t, r.fatal, "a non-root run skips, it never fails")
		})
	}
}

func TestNetNSLifecycle(t *testing.T) {
	RequireRoot(t)
	var self unix.Stat_t
	require.NoError(t, unix.Stat("/proc/self/ns/net", &self))

	var name, path string
	t.Run("create", func(t *testing.T) {
		ns := NewNS(t)
		name, path = ns.Name, ns.Path()
		assert.True(t, strings.HasPrefix(ns.Name, NamePrefix), "name %q", ns.Name)
		assert.Equal(t, "/run/netns/"+ns.Name, path)

		var st, mnt unix.Stat_t
		require.NoError(t, unix.Fstat(ns.FD(), &st))
		require.NoError(t, unix.Stat(path, &mnt))
		assert.Equal(t, mnt.Ino, st.Ino, "FD is the namespace at Path")
		assert.NotEqual(t, self.Ino, st.Ino, "the namespace is not the test's own")

		assert.Contains(t, string(hostOutput(t, "netns", "list")), ns.Name)
		links := ns.Links(t)
		require.Len(t, links, 1, "a new namespace has only lo")
		assert.Equal(t, "lo", links[0].Name)
		assert.Contains(t, links[0].Flags, "UP", "NewNS brings lo up")

		other := NewNS(t)
		assert.NotEqual(t, ns.Name, other.Name)
	})
	require.NotEmpty(t, name)
	_, err := os.Stat(path)
	assert.ErrorIs(t, err, os.ErrNotExist, "cleanup removes the namespace")
	assert.NotContains(t, string(hostOutput(t, "netns", "list")), name)
}

func TestNetNSCommands(t *testing.T) {
	ns := NewNS(t)
	kind := ns.AddDummy(t, "d0")
	assert.Contains(t, []string{"dummy", "ifb"}, kind)
	assert.Equal(t, kind, ns.AddDummy(t, "d1"), "the kind found first is kept")

	ns.Run(t, "link", "set", "d0", "up", "mtu", "1400")
	ns.Batch(t, []string{
		"link add b0 type " + kind,
		"link add b1 type " + kind,
		"addr add 10.9.0.1/16 dev d0",
	})
	byName := map[string]Link{}
	for _, l := range ns.Links(t) {
		byName[l.Name] = l
	}
	for _, n := range []string{"lo", "d0", "d1", "b0", "b1"} {
		assert.Contains(t, byName, n)
	}
	assert.Equal(t, 1400, byName["d0"].MTU)
	assert.Contains(t, byName["d0"].Flags, "UP")

	assert.Contains(t, string(ns.Output(t, "addr", "show", "dev", "d0")), "10.9.0.1/16")
	assert.Contains(t, string(ns.Exec(t, "cat", "/proc/net/dev")), "b1:", "Exec runs inside the namespace")
	assert.NotContains(t, string(hostOutput(t, "link", "show")), ns.Name)

	t.Run("errors fail the test", func(t *testing.T) {
		r := &recorder{TB: t}
		ns.Batch(r, []string{"link add b2 type " + kind, "link add b2 type " + kind})
		assert.Contains(t, r.fatal, "-batch")
		assert.Contains(t, r.fatal, "exists", "the failure carries ip's standard error")

		r = &recorder{TB: t}
		ns.Run(r, "link", "set", "nonexistent0", "up")
		assert.Contains(t, r.fatal, "nonexistent0")
	})
}

// hostOutput runs ip args... in the test process's namespace; read-only commands only.
func hostOutput(t testing.TB, args ...string) []byte {
	t.Helper()
	return run(t, nil, "ip", args...)
}
