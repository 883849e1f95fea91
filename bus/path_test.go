package bus

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaultPath(t *testing.T) {
	tmp := os.TempDir()
	for _, tc := range []struct {
		euid      int
		xdg, goos string
		want      string
	}{
		{0, "/run/user/0", "linux", "/run/nlbus/bus.sock"},
		{0, "", "freebsd", "/var/run/nlbus/bus.sock"},
		{1000, "/run/user/1000", "linux", "/run/user/1000/nlbus/bus.sock"},
		{1000, "", "linux", filepath.Join(tmp, "nlbus-1000", "bus.sock")},
		{1000, "relative", "freebsd", filepath.Join(tmp, "nlbus-1000", "bus.sock")},
	} {
		assert.Equal(t, tc.want, defaultPath(tc.euid, tc.xdg, tc.goos), "%+v", tc)
	}
	t.Setenv(EnvSocket, "/somewhere/else.sock")
	assert.Equal(t, "/somewhere/else.sock", SocketPath())
}

// A client with no socket named tries its own bus, then (not root) the
// system bus; $NLBUS_SOCKET alone when set.
func TestClientPaths(t *testing.T) {
	assert.Equal(t, []string{"/run/nlbus/bus.sock"}, clientPaths("", 0, "", "linux"))
	assert.Equal(t, []string{"/run/user/1000/nlbus/bus.sock", "/run/nlbus/bus.sock"}, clientPaths("", 1000, "/run/user/1000", "linux"))
	assert.Equal(t, []string{"/run/user/1000/nlbus/bus.sock", "/var/run/nlbus/bus.sock"}, clientPaths("", 1000, "/run/user/1000", "freebsd"))
	assert.Equal(t, []string{"/x.sock"}, clientPaths("/x.sock", 1000, "", "linux"))
}

func TestListenRefusesNonSocket(t *testing.T) {
	dir, err := os.MkdirTemp("", "nlbus")
	require.NoError(t, err)
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "bus.sock")
	require.NoError(t, os.WriteFile(path, []byte("precious"), 0o600))
	_, err = Listen(path, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not a socket")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "precious", string(b))
}
