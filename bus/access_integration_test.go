package bus_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/bus"
	"github.com/nlbus/netlink/genl"
)

// reload rewrites the daemon's access file, sends SIGHUP and waits until
// the stats say the daemon has tried it: its rule sets loaded reach
// loads, or, for a file that should fail, a load error shows.
func (d *daemon) reload(t *testing.T, c *netlink.Conn, file, text string, loads uint64) bus.Stats {
	t.Helper()
	require.NoError(t, os.WriteFile(file, []byte(text), 0o644))
	require.NoError(t, d.cmd.Process.Signal(syscall.SIGHUP))
	ctx := testCtx(t)
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := bus.GetStats(ctx, c)
		require.NoError(t, err)
		if st.Access.Loads >= loads && (loads > 0 || st.Access.Error != "") {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("the daemon did not reload %s: %+v", file, st.Access)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// SIGHUP reloads the rules without dropping a connection and changes the
// outcome of the next request; a file that does not parse keeps the rules
// in force and says why in the log and the stats.
func TestIntegrationAccessReload(t *testing.T) {
	needBinary(t)
	ctx := testCtx(t)
	dir := sockDir(t)
	path := filepath.Join(dir, "bus.sock")
	file := filepath.Join(dir, "access.yaml")
	require.NoError(t, os.WriteFile(file, []byte("rules:\n  - {name: not 300, deny: join, multicast: 300}\n"), 0o644))
	d := startDaemon(t, path, "--access", file)
	c := dialAt(t, path, nil)

	requireDenied(t, c.JoinGroup(300), `nlbus: access rule "not 300" denies joining group 300`)
	st := d.reload(t, c, file, "rules:\n  - {name: not 301, deny: join, multicast: 301}\n", 2)
	assert.Equal(t, uint32(1), st.Access.Rules)
	assert.Equal(t, file, st.Access.Source)
	require.NoError(t, c.JoinGroup(300), "the same connection, the new rules")
	requireDenied(t, c.JoinGroup(301), `access rule "not 301"`)

	st = d.reload(t, c, file, "rules:\n  - {name: broken, deny: jion}\n", 0)
	assert.Contains(t, st.Access.Error, `line 2: "jion" is not register, call, send or join`)
	assert.Equal(t, uint64(2), st.Access.Loads)
	requireDenied(t, c.JoinGroup(301), `access rule "not 301"`)
	out, err := nlbus(t, ctx, path, nil, "stats")
	require.NoError(t, err, out)
	assert.Contains(t, out, "access reload failed:")
	assert.Contains(t, out, "(the rules above stay in force)")
	assert.Regexp(t, `access denied: +register 0, call 0, send 0, join 3`, out)

	d.stop(t)
	log := d.log.String()
	assert.Contains(t, log, "access rules not reloaded; the rules in force stay")
	assert.Contains(t, log, `access denied: uid=`+strconv.Itoa(os.Getuid()))
	assert.Contains(t, log, `what="joining group 301" rule="\"not 301\""`)
}

// A process of another user (uid 65534, a real privilege drop) may not
// register a family on the system bus until a rule names its uid; when the
// rules change again, the family it holds is taken back.
func TestIntegrationAccessRegister(t *testing.T) {
	needBinary(t)
	if os.Geteuid() != 0 {
		t.Skip("the daemon must run as root to be the system bus, and the test drops privileges in a child (see TestAccessRules for the same checks in process)")
	}
	ctx := testCtx(t)
	dir := sockDir(t)
	path := filepath.Join(dir, "bus.sock")
	file := filepath.Join(dir, "access.yaml")
	base := "rules:\n  - {name: only x.*, allow: register, family: \"x.*\", uid: 1}\n"
	require.NoError(t, os.WriteFile(file, []byte(base), 0o644))
	d := startDaemon(t, path, "--access", file)
	require.NoError(t, os.Chmod(path, 0o666))
	root := dialAt(t, path, nil)
	gc := genl.NewConn(root)

	bin := filepath.Join(dir, "bus.test")
	copyFile(t, os.Args[0], bin)
	child := func(hold bool) *exec.Cmd {
		cmd := exec.CommandContext(ctx, bin)
		cmd.Env = append(os.Environ(), helperEnv+"=register", bus.EnvSocket+"="+path, "NLBUS_TEST_FAMILY=nobody.svc")
		if hold {
			cmd.Env = append(cmd.Env, "NLBUS_TEST_HOLD=1")
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		return cmd
	}
	out, err := child(false).CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), "operation not permitted")
	assert.Contains(t, string(out), `access default denies registering family "nobody.svc"; on the system bus only root registers families`)

	d.reload(t, root, file, base+"  - {name: nobody's, allow: register, family: \"nobody.*\", uid: 65534}\n", 2)
	squatter := child(true)
	stdin, err := squatter.StdinPipe()
	require.NoError(t, err)
	stdout, err := squatter.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, squatter.Start())
	defer squatter.Wait()
	defer stdin.Close()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "ready\n", line)
	_, err = gc.GetFamily(ctx, "nobody.svc")
	require.NoError(t, err)

	st := d.reload(t, root, file, base, 3)
	assert.Equal(t, uint64(1), st.Access.Revoked)
	_, err = gc.GetFamily(ctx, "nobody.svc")
	require.ErrorIs(t, err, unix.ENOENT, "the squatter keeps a name it may no longer register")
	assert.Equal(t, uint64(1), st.Access.Denied.Register)
}
