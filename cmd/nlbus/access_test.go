package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nlbus/netlink/bus"
	"github.com/nlbus/netlink/bus/bustest"
)

func TestCheckAccess(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	require.NoError(t, os.WriteFile(good, []byte("admin_groups: [0]\nrules:\n  - {allow: register, family: \"a.*\", uid: 0}\n"), 0o644))
	code, out, errOut := run("serve", "--check-access", good)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, good+": 1 rule, admin groups [0]: OK")

	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("rules:\n  - {allow: register}\n"), 0o644))
	code, _, errOut = run("serve", "--check-access", bad)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, bad+": nlbus: access rules: line 2: a register rule names the family")

	code, _, errOut = run("serve", "--check-access", filepath.Join(dir, "absent.yaml"))
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "no such file")

	// The example shipped in dist/ is valid.
	code, _, errOut = run("serve", "--check-access", "../../dist/access.yaml.example")
	assert.Equal(t, 0, code, errOut)

	code, _, errOut = run("serve", "--admin-group", "no-such-group-nlbus", "--socket", filepath.Join(dir, "s"))
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "--admin-group")
}

func TestParseGroups(t *testing.T) {
	gs, err := parseGroups("0, 4242,,root")
	require.NoError(t, err)
	assert.Equal(t, []uint32{0, 4242, 0}, gs)
	gs, err = parseGroups("")
	require.NoError(t, err)
	assert.Empty(t, gs)
}

func TestStatsAccess(t *testing.T) {
	s := &bus.Server{SystemBus: true}
	srv := bustest.NewServer(t, s)
	a, err := bus.ParseAccess([]byte("rules:\n  - {deny: join, multicast: 300}\n"))
	require.NoError(t, err)
	a.Source = "/etc/nlbus/access.yaml"
	s.SetAccess(a)
	s.SetAccessError(assert.AnError)
	code, out, errOut := run("stats", "--socket", srv.Path)
	require.Equal(t, 0, code, errOut)
	assert.Regexp(t, `access rules: +1 from /etc/nlbus/access.yaml \(system defaults; rule sets loaded: 1\)`, out)
	assert.Regexp(t, `access denied: +register 0, call 0, send 0, join 0`, out)
	assert.Regexp(t, `access reload failed: +`+assert.AnError.Error()+` \(the rules above stay in force\)`, out)
}
