package bus_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/bus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// daemon is a real `nlbus serve` process.
type daemon struct {
	cmd  *exec.Cmd
	path string
	log  *bytes.Buffer
	done chan error
}

func needBinary(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: the nlbus binary is not built in -short mode")
	}
}

// sockDir returns a short directory anyone may traverse.
func sockDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "nlbus-it")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o755))
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func startDaemon(t *testing.T, path string, args ...string) *daemon {
	t.Helper()
	d := &daemon{path: path, log: &bytes.Buffer{}, done: make(chan error, 1)}
	d.cmd = exec.Command(nlbusBin, append([]string{"serve", "--log-level", "debug"}, args...)...)
	d.cmd.Env = append(os.Environ(), bus.EnvSocket+"="+path)
	d.cmd.Stderr = d.log
	require.NoError(t, d.cmd.Start())
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() { d.stop(t) })
	deadline := time.Now().Add(10 * time.Second)
	for {
		tr, err := bus.DialTransport(context.Background(), path, 0)
		if err == nil {
			tr.Close()
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("daemon did not come up: %v\n%s", err, d.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (d *daemon) stop(t *testing.T) {
	if d.done == nil {
		return
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		assert.NoError(t, err, "daemon exit; log:\n%s", d.log)
	case <-time.After(10 * time.Second):
		d.cmd.Process.Kill()
		<-d.done
		t.Errorf("daemon did not stop on SIGTERM")
	}
	d.done = nil
}

func dialAt(t *testing.T, path string, cfg *bus.Config) *netlink.Conn {
	t.Helper()
	if cfg == nil {
		cfg = &bus.Config{}
	}
	cfg.Socket = path
	c, err := bus.Dial(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// nlbus runs the binary with the bus at path; cred, when not nil, runs it
// as that user.
func nlbus(t *testing.T, ctx context.Context, path string, cred *syscall.Credential, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(ctx, nlbusBin, args...)
	cmd.Env = append(os.Environ(), bus.EnvSocket+"="+path)
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Processes talk through the real daemon: unicast, multicast, credentials.
func TestIntegrationDelivery(t *testing.T) {
	needBinary(t)
	ctx := testCtx(t)
	path := filepath.Join(sockDir(t), "bus.sock")
	startDaemon(t, path)

	// A listener process on group 300 and port 7777.
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	listener := exec.CommandContext(lctx, nlbusBin, "listen", "--group", "300", "--port", "7777", "--count", "2")
	listener.Env = append(os.Environ(), bus.EnvSocket+"="+path)
	var lout bytes.Buffer
	listener.Stdout = &lout
	stderr, err := listener.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, listener.Start())
	line, err := bufio.NewReader(stderr).ReadString('\n')
	require.NoError(t, err)
	require.Contains(t, line, "listening on port 7777")

	out, err := nlbus(t, ctx, path, nil, "send", "--group", "300", "--data", "to the group")
	require.NoError(t, err, out)
	out, err = nlbus(t, ctx, path, nil, "send", "--to", "7777", "--data", "to the port")
	require.NoError(t, err, out)
	require.NoError(t, listener.Wait())
	lines := strings.Split(strings.TrimSpace(lout.String()), "\n")
	require.Len(t, lines, 2)
	assert.Contains(t, lines[0], "group 300 (pid ")
	assert.Contains(t, lines[0], `"to the group"`)
	assert.Contains(t, lines[1], fmt.Sprintf("uid %d gid %d", os.Geteuid(), os.Getegid()))
	assert.Contains(t, lines[1], `"to the port"`)

	// A send to a port nobody has fails clearly.
	out, err = nlbus(t, ctx, path, nil, "send", "--to", "4242", "--data", "x")
	require.Error(t, err)
	assert.Contains(t, out, "no port 4242 on the bus")
}

// kill -9 of a client process: its port is released, the release is
// announced, and a request it had in flight fails at once for its caller.
func TestIntegrationKill9(t *testing.T) {
	needBinary(t)
	ctx := testCtx(t)
	path := filepath.Join(sockDir(t), "bus.sock")
	startDaemon(t, path)
	watcher := dialAt(t, path, &bus.Config{Netlink: &netlink.Config{Groups: []uint32{bus.GroupPorts}}})
	caller := dialAt(t, path, nil)

	child := exec.Command(os.Args[0])
	child.Env = append(os.Environ(), helperEnv+"=sink", "NLBUS_TEST_PORT=8100", bus.EnvSocket+"="+path)
	stdout, err := child.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, child.Start())
	defer child.Process.Kill()
	lines := bufio.NewReader(stdout)
	line, err := lines.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "ready\n", line)

	done := make(chan error, 1)
	go func() {
		_, err := caller.Execute(ctx, netlink.Message{Header: netlink.Header{Type: 0x30}, Data: []byte("work"), Addr: netlink.Addr{Port: 8100}})
		done <- err
	}()
	line, err = lines.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "got\n", line, "the child never received the request")

	killed := time.Now()
	require.NoError(t, child.Process.Signal(syscall.SIGKILL))
	child.Wait()
	select {
	case err := <-done:
		require.ErrorIs(t, err, unix.ECONNRESET)
		assert.Contains(t, err.Error(), "port 8100 closed before replying")
		t.Logf("request failed %v after the kill", time.Since(killed))
	case <-time.After(5 * time.Second):
		t.Fatal("the caller's request still hangs after the kill")
	}
	var rel bus.PortReleased
	for rel.Port != 8100 {
		m := recvOne(t, ctx, watcher)
		rel, err = bus.ParsePortReleased(m.Data)
		require.NoError(t, err)
	}
	assert.Equal(t, int32(child.Process.Pid), rel.PID)
	again := dialAt(t, path, &bus.Config{Port: 8100})
	assert.Equal(t, uint32(8100), again.PortID())
}

// A daemon restart: connected clients get a clear error at once, the
// socket is removed, and they can dial the new daemon.
func TestIntegrationRestart(t *testing.T) {
	needBinary(t)
	ctx := testCtx(t)
	path := filepath.Join(sockDir(t), "bus.sock")
	d := startDaemon(t, path)
	sub := dialAt(t, path, &bus.Config{Netlink: &netlink.Config{Groups: []uint32{400}}})
	got := make(chan error, 1)
	go func() {
		_, err := sub.Receive(ctx)
		got <- err
	}()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	d.stop(t)
	select {
	case err := <-got:
		require.ErrorIs(t, err, bus.ErrDaemonGone)
		assert.Less(t, time.Since(start), 5*time.Second)
	case <-time.After(5 * time.Second):
		t.Fatal("a subscriber hangs after the daemon stopped")
	}
	_, err := os.Stat(path)
	require.ErrorIs(t, err, os.ErrNotExist, "the socket file was left behind")
	_, err = sub.Receive(ctx)
	require.ErrorIs(t, err, bus.ErrDaemonGone, "the error is not sticky")
	_, err = bus.Dial(&bus.Config{Socket: path})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no bus daemon at "+path)

	startDaemon(t, path)
	c := dialAt(t, path, nil)
	_, err = bus.GetStats(ctx, c)
	require.NoError(t, err)
}

// A stale socket file is replaced; a live daemon is not.
func TestIntegrationStaleAndLiveSocket(t *testing.T) {
	needBinary(t)
	ctx := testCtx(t)
	path := filepath.Join(sockDir(t), "bus.sock")
	// A stale socket: bound, then its listener gone without unlinking.
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET, 0)
	require.NoError(t, err)
	require.NoError(t, unix.Bind(fd, &unix.SockaddrUnix{Name: path}))
	unix.Close(fd)
	startDaemon(t, path)
	out, err := nlbus(t, ctx, path, nil, "serve")
	require.Error(t, err)
	assert.Contains(t, out, "already listening on "+path)
}

// What a non-root client may not do.
func TestIntegrationNonRoot(t *testing.T) {
	needBinary(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root to start a child as another user")
	}
	ctx := testCtx(t)
	nobody := &syscall.Credential{Uid: 65534, Gid: 65534}

	// The system bus's socket is 0660 root:root: nobody cannot connect.
	path := filepath.Join(sockDir(t), "bus.sock")
	startDaemon(t, path)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o660), fi.Mode().Perm())
	out, err := nlbus(t, ctx, path, nobody, "stats")
	require.Error(t, err)
	assert.Contains(t, out, "not allowed to use the bus at "+path)

	// Opened to everyone, nobody may use it but not monitor it nor take a
	// port below 1024.
	require.NoError(t, os.Chmod(path, 0o666))
	out, err = nlbus(t, ctx, path, nobody, "stats")
	require.NoError(t, err, out)
	out, err = nlbus(t, ctx, path, nobody, "monitor", "--count", "1")
	require.Error(t, err)
	assert.Contains(t, out, "operation not permitted")
	assert.Contains(t, out, "monitor group is for root")
	out, err = nlbus(t, ctx, path, nobody, "listen", "--port", "100", "--count", "1")
	require.Error(t, err)
	assert.Contains(t, out, "ports below 1024 are for root")
	// A per-user daemon refuses a private directory someone else made.
	evil := filepath.Join(sockDir(t), "nlbus-65534")
	require.NoError(t, os.Mkdir(evil, 0o777))
	require.NoError(t, os.Chmod(evil, 0o777))
	out, err = nlbus(t, ctx, filepath.Join(evil, "bus.sock"), nobody, "serve")
	require.Error(t, err)
	assert.Contains(t, out, "belongs to uid 0, not to us (uid 65534)")
	// The credentials the daemon reports are the child's.
	c := dialAt(t, path, &bus.Config{Netlink: &netlink.Config{Groups: []uint32{500}}})
	out, err = nlbus(t, ctx, path, nobody, "send", "--group", "500", "--data", "hi")
	require.NoError(t, err, out)
	m := recvOne(t, ctx, c)
	require.NotNil(t, m.Creds)
	assert.Equal(t, uint32(65534), m.Creds.UID)
	assert.Equal(t, uint32(65534), m.Creds.GID)
}

// The monitor's pcap file reads back as netlink records (and tshark, where
// installed, decodes it).
func TestIntegrationPcap(t *testing.T) {
	needBinary(t)
	ctx := testCtx(t)
	dir := sockDir(t)
	path := filepath.Join(dir, "bus.sock")
	startDaemon(t, path)
	pcap := filepath.Join(dir, "bus.pcap")
	mon := exec.CommandContext(ctx, nlbusBin, "monitor", "--pcap", pcap, "--count", "4")
	mon.Env = append(os.Environ(), bus.EnvSocket+"="+path)
	stderr, err := mon.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, mon.Start())
	_, err = bufio.NewReader(stderr).ReadString('\n')
	require.NoError(t, err)
	go io.Copy(io.Discard, stderr)

	a := dialAt(t, path, nil)
	b := dialAt(t, path, nil)
	_, err = a.Send(ctx, netlink.Message{Header: netlink.Header{Type: 0x30, Sequence: 42}, Data: []byte("captured"), Addr: netlink.Addr{Port: b.PortID()}})
	require.NoError(t, err)
	_ = recvOne(t, ctx, b)
	monDone := make(chan error, 1)
	go func() { monDone <- mon.Wait() }()
	for waiting := true; waiting; {
		_, err = bus.GetStats(ctx, a) // traffic until the monitor has its 4 frames
		require.NoError(t, err)
		select {
		case err := <-monDone:
			require.NoError(t, err, "monitor failed")
			waiting = false
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal("the monitor did not finish")
		}
	}
	require.True(t, mon.ProcessState != nil && mon.ProcessState.Success(), "monitor failed")

	raw, err := os.ReadFile(pcap)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(raw), 24)
	le := binary.LittleEndian
	assert.Equal(t, uint32(0xa1b2c3d4), le.Uint32(raw[0:]))
	assert.Equal(t, uint32(253), le.Uint32(raw[20:]))
	recs := raw[24:]
	found := false
	n := 0
	for len(recs) >= 16 {
		incl := int(le.Uint32(recs[8:]))
		require.LessOrEqual(t, 16+incl, len(recs))
		rec := recs[16 : 16+incl]
		require.GreaterOrEqual(t, len(rec), 16+16)
		assert.Equal(t, uint16(824), binary.BigEndian.Uint16(rec[2:]))
		assert.Equal(t, uint16(16), binary.BigEndian.Uint16(rec[14:]))
		msgs, err := netlink.ParseMessages(rec[16:])
		require.NoError(t, err)
		for _, m := range msgs {
			if string(m.Data) == "captured" {
				found = true
				assert.Equal(t, uint16(4), binary.BigEndian.Uint16(rec[0:]), "from a client: outgoing")
			}
		}
		recs = recs[16+incl:]
		n++
	}
	assert.Equal(t, 4, n)
	assert.True(t, found, "the relayed message is not in the capture")

	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Log("tshark not installed; the capture was checked by hand only")
		return
	}
	out, err := exec.CommandContext(ctx, tshark, "-r", pcap, "-V").CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), "Linux netlink (cooked header)")
	assert.Contains(t, string(out), "Netlink")
}

// Socket activation: the daemon serves a listener passed as descriptor 3
// (LISTEN_PID/LISTEN_FDS), logs JSON when asked, and leaves the socket file
// to its owner when it stops.
func TestIntegrationSocketActivation(t *testing.T) {
	needBinary(t)
	ctx := testCtx(t)
	path := filepath.Join(sockDir(t), "bus.sock")
	l, err := bus.Listen(path, nil)
	require.NoError(t, err)
	defer l.Close()
	f, err := l.File()
	require.NoError(t, err)
	defer f.Close()
	var log bytes.Buffer
	cmd := exec.Command("/bin/sh", "-c", `LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" serve --log-format json`, nlbusBin)
	cmd.ExtraFiles = []*os.File{f}
	cmd.Env = append(os.Environ(), bus.EnvSocket+"="+path+".unused")
	cmd.Stderr = &log
	require.NoError(t, cmd.Start())
	c := dialAt(t, path, nil)
	st, err := bus.GetStats(ctx, c)
	require.NoError(t, err)
	assert.Equal(t, int32(cmd.Process.Pid), st.ServerPID)
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Wait())
	assert.Contains(t, log.String(), `"socket":"(socket activation)"`)
	_, err = os.Stat(path)
	assert.NoError(t, err, "the activated daemon removed a socket file it does not own")
}
