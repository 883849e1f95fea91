package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// syncBuffer is a bytes.Buffer a process writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestWalkthrough runs README.md's walkthrough with real processes: the
// daemon (nlbus serve), this service, nlbus listen on the changes group
// and nlbus call, each a program of its own.
func TestWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs nlbus and kvstore (not with -short)")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	for _, pkg := range []string{"github.com/nlbus/netlink/cmd/nlbus", "github.com/nlbus/netlink/examples/kvstore"} {
		out, err := exec.Command("go", "build", "-o", bin+"/", pkg).CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	sockDir, err := os.MkdirTemp("", "kv")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	sock := filepath.Join(sockDir, "bus.sock")
	env := append(os.Environ(), "NLBUS_SOCKET="+sock)

	start := func(name string, args ...string) (*exec.Cmd, *syncBuffer) {
		cmd := exec.Command(filepath.Join(bin, name), args...)
		cmd.Env = env
		out := new(syncBuffer)
		cmd.Stdout, cmd.Stderr = out, out
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd, out
	}
	nlbus := func(args ...string) (string, error) {
		cmd := exec.Command(filepath.Join(bin, "nlbus"), args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
			require.True(t, time.Now().Before(deadline), "waiting for %s", what)
		}
	}

	start("nlbus", "serve")
	waitFor("the daemon", func() bool { _, err := os.Stat(sock); return err == nil })
	svc, svcOut := start("kvstore")
	waitFor("the service", func() bool { out, _ := nlbus("families"); return strings.Contains(out, "kvstore") })

	// The policies, with the commands named by the description.
	out, err := nlbus("policy", "kvstore")
	require.NoError(t, err, out)
	assert.Contains(t, out, "commands: 1 set 2 get 3 delete 4 list\n")

	// A listener on the changes group, by name, JSON.
	lis := exec.Command(filepath.Join(bin, "nlbus"), "listen", "--group", "kvstore/changes", "--count", "2", "--json")
	lis.Env = env
	lisOut, err := lis.StdoutPipe()
	require.NoError(t, err)
	lisErr := new(syncBuffer)
	lis.Stderr = lisErr
	require.NoError(t, lis.Start())
	t.Cleanup(func() { lis.Process.Kill(); lis.Wait() })
	waitFor("the listener", func() bool { return strings.Contains(lisErr.String(), "listening") })

	out, err = nlbus("call", "kvstore", "set", "key=colour", "value=blue")
	require.NoError(t, err, out)
	out, err = nlbus("call", "kvstore", "get", "key=colour")
	require.NoError(t, err, out)
	assert.Equal(t, "key: \"colour\"\nvalue: \"blue\"\n", out)
	out, err = nlbus("call", "kvstore", "set", "key=shape", "value=round")
	require.NoError(t, err, out)

	out, err = nlbus("call", "kvstore", "list", "--dump", "--json")
	require.NoError(t, err, out)
	assert.True(t, strings.HasPrefix(out, "[\n  {\n    \"key\": \"colour\""), "the README shows this layout:\n%s", out)
	var list []map[string]string
	require.NoError(t, json.Unmarshal([]byte(out), &list), out)
	assert.Equal(t, []map[string]string{{"key": "colour", "value": "blue"}, {"key": "shape", "value": "round"}}, list)

	// Errors carry the service's or the daemon's text, exit status 1.
	out, err = nlbus("call", "kvstore", "get", "key=nope")
	require.Error(t, err)
	assert.Contains(t, out, "kvstore: no key nope")
	out, err = nlbus("call", "kvstore", "set", "key="+strings.Repeat("k", 300), "value=v")
	require.Error(t, err)
	assert.Contains(t, out, "policy")
	out, err = nlbus("call", "kvstore", "frob")
	require.Error(t, err)
	assert.Contains(t, out, "frob")

	// The listener saw both sets, decoded by name.
	sc := bufio.NewScanner(lisOut)
	var events []map[string]any
	for sc.Scan() {
		var ev map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &ev), sc.Text())
		events = append(events, ev)
	}
	require.NoError(t, lis.Wait(), lisErr.String())
	require.Len(t, events, 2)
	assert.Equal(t, "kvstore", events[0]["family"])
	assert.Equal(t, "change", events[0]["command"])
	assert.Equal(t, map[string]any{"key": "colour", "value": "blue"}, events[0]["attrs"])
	assert.Equal(t, map[string]any{"key": "shape", "value": "round"}, events[1]["attrs"])
	assert.Contains(t, svcOut.String(), "serving family kvstore")

	// A listener outlives a restart of the service, whose family and
	// group come back with new IDs: it follows them.
	lis2 := exec.Command(filepath.Join(bin, "nlbus"), "listen", "--group", "kvstore/changes", "--count", "1", "--json")
	lis2.Env = env
	lis2Out := new(syncBuffer)
	lis2Err := new(syncBuffer)
	lis2.Stdout, lis2.Stderr = lis2Out, lis2Err
	require.NoError(t, lis2.Start())
	t.Cleanup(func() { lis2.Process.Kill(); lis2.Wait() })
	waitFor("the second listener", func() bool { return strings.Contains(lis2Err.String(), "listening") })
	require.NoError(t, svc.Process.Kill())
	waitFor("the family to go", func() bool { return strings.Contains(lis2Err.String(), "went away") })
	start("kvstore")
	waitFor("the listener to rejoin", func() bool { return strings.Contains(lis2Err.String(), "registered again; joined kvstore/changes") })
	out, err = nlbus("call", "kvstore", "set", "key=after", "value=restart")
	require.NoError(t, err, out)
	require.NoError(t, lis2.Wait(), lis2Err.String())
	assert.Contains(t, lis2Out.String(), `"attrs":{"key":"after","value":"restart"}`)
}
