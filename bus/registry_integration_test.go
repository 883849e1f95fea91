package bus_test

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nlbus/netlink/bus"
	"github.com/nlbus/netlink/genl"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// The registry with the real daemon and a service in its own process:
// resolve and call through genl; a policy violation the service never
// sees; an admin command refused for a child running as uid 65534 (a real
// privilege drop, when the test runs as root); kill -9 of the service with
// a request in flight fails the caller at once, and a subscriber of the
// controller's notify group sees DELFAMILY.
func TestIntegrationRegistry(t *testing.T) {
	needBinary(t)
	ctx := testCtx(t)
	dir := sockDir(t)
	path := filepath.Join(dir, "bus.sock")
	startDaemon(t, path)
	require.NoError(t, os.Chmod(path, 0o666))

	sub := genl.NewConn(dialAt(t, path, nil))
	require.NoError(t, sub.JoinGroup(ctx, "nlctrl", "notify"))

	child := exec.Command(os.Args[0])
	child.Env = append(os.Environ(), helperEnv+"=kvservice", bus.EnvSocket+"="+path)
	stdout, err := child.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, child.Start())
	defer child.Process.Kill()
	lines := bufio.NewReader(stdout)
	readLine := func() string {
		t.Helper()
		type res struct {
			s   string
			err error
		}
		ch := make(chan res, 1)
		go func() { s, err := lines.ReadString('\n'); ch <- res{s, err} }()
		select {
		case r := <-ch:
			require.NoError(t, r.err)
			return strings.TrimSpace(r.s)
		case <-time.After(10 * time.Second):
			t.Fatal("the service printed nothing")
			return ""
		}
	}
	require.Equal(t, "ready", readLine())
	waitCtrl(t, sub.Netlink(), genl.CmdNewFamily, "kvkill")

	gc := genl.NewConn(dialAt(t, path, nil))
	fam, err := gc.GetFamily(ctx, "kvkill")
	require.NoError(t, err)
	_, err = gc.Execute(ctx, fam.ID, genl.Message{Header: genl.Header{Command: kvSet}, Data: kvAttrs(t, "k", 1000)}, 0)
	require.ErrorIs(t, err, unix.ERANGE)
	replies, err := gc.Execute(ctx, fam.ID, genl.Message{Header: genl.Header{Command: kvSet}, Data: kvAttrs(t, "k", 1)}, 0)
	require.NoError(t, err)
	require.Len(t, replies, 1)
	// The first request the service saw is the valid one.
	assert.Equal(t, "got 1", readLine())

	if os.Geteuid() == 0 {
		// A copy of this test binary that uid 65534 may run.
		bin := filepath.Join(dir, "bus.test")
		copyFile(t, os.Args[0], bin)
		cmd := exec.CommandContext(ctx, bin)
		cmd.Env = append(os.Environ(), helperEnv+"=admincall", bus.EnvSocket+"="+path)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, string(out))
		assert.Contains(t, string(out), "operation not permitted")
		// root may.
		_, err = gc.Execute(ctx, fam.ID, genl.Message{Header: genl.Header{Command: kvWipe}}, 0)
		require.NoError(t, err)
		assert.Equal(t, "got 2", readLine())
	} else {
		t.Log("not root: the privilege-drop part is skipped (see TestRegistryAdmin)")
	}

	done := make(chan error, 1)
	go func() {
		_, err := gc.Execute(ctx, fam.ID, genl.Message{Header: genl.Header{Command: kvBlock}}, 0)
		done <- err
	}()
	assert.Equal(t, "got 4", readLine())
	killed := time.Now()
	require.NoError(t, child.Process.Signal(syscall.SIGKILL))
	child.Wait()
	select {
	case err := <-done:
		require.ErrorIs(t, err, unix.ECONNRESET)
		t.Logf("request failed %v after the kill: %v", time.Since(killed), err)
	case <-time.After(5 * time.Second):
		t.Fatal("the caller's request still hangs after the kill")
	}
	waitCtrl(t, sub.Netlink(), genl.CmdDelFamily, "kvkill")
	_, err = gc.GetFamily(ctx, "kvkill")
	require.ErrorIs(t, err, unix.ENOENT)
	out, err := nlbus(t, ctx, path, nil, "families", "--json")
	require.NoError(t, err, out)
	assert.NotContains(t, out, "kvkill")
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	require.NoError(t, err)
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	require.NoError(t, err)
	_, err = io.Copy(out, in)
	require.NoError(t, err)
	require.NoError(t, out.Close())
}
