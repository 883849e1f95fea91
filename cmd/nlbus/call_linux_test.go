//go:build linux

package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/genl"
	"github.com/nlbus/netlink/internal/nettest"
)

const nlctrlSpec = "../../genl/ynl/testdata/nlctrl.yaml"

// callKernelNS makes --kernel talk to the kernel from a namespace of the
// test's own, so that netdev lists only its loopback.
func callKernelNS(t *testing.T) {
	t.Helper()
	ns := nettest.NewNS(t)
	old := dialGenl
	dialGenl = func() (*genl.Conn, error) { return genl.Dial(&netlink.Config{NetNS: ns.FD()}) }
	t.Cleanup(func() { dialGenl = old })
}

// nlbus call --kernel with a spec: the kernel's nlctrl and netdev by names.
func TestCallKernel(t *testing.T) {
	callKernelNS(t)

	code, out, errOut := run("call", "--kernel", "--spec", nlctrlSpec, "nlctrl", "getfamily", "family-name=nlctrl")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "family-name: \"nlctrl\"\nfamily-id: 16\n")
	assert.Contains(t, out, "mcast-groups:\n  1:\n    id: 16\n    name: \"notify\"\n")
	assert.Contains(t, out, "flags: 0xe (cmd-cap-do|cmd-cap-dump|cmd-cap-haspol)")

	// A dump, as JSON: every family, nlctrl and netdev among them.
	code, out, errOut = run("call", "--kernel", "--spec", nlctrlSpec, "nlctrl", "getfamily", "--dump", "--json")
	require.Equal(t, 0, code, errOut)
	var fams []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &fams), out)
	byName := map[string]map[string]any{}
	for _, f := range fams {
		byName[f["family-name"].(string)] = f
	}
	require.Contains(t, byName, "nlctrl")
	require.Contains(t, byName, "netdev")
	assert.Equal(t, 16.0, byName["nlctrl"]["family-id"])
	ops := byName["nlctrl"]["ops"].([]any)
	assert.Equal(t, map[string]any{"id": 3.0, "flags": map[string]any{"value": 14.0, "names": []any{"cmd-cap-do", "cmd-cap-dump", "cmd-cap-haspol"}}}, ops[0])

	// Policies: nest-type-value, by number then name.
	code, out, errOut = run("call", "--kernel", "--spec", nlctrlSpec, "nlctrl", "getpolicy", "--dump", "family-name=nlctrl")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "policy:\n  0:\n    1:\n")
	assert.Contains(t, out, "type: 3 (u16)")

	// netdev in the test's namespace: the loopback only.
	netdev := "testdata/netdev.yaml"
	code, out, errOut = run("call", "--kernel", "--spec", netdev, "netdev", "dev-get", "--dump", "--json")
	require.Equal(t, 0, code, errOut)
	var devs []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &devs), out)
	require.Len(t, devs, 1, out)
	assert.Equal(t, 1.0, devs[0]["ifindex"])
	assert.Contains(t, devs[0], "xdp-features")
	code, out, errOut = run("call", "--kernel", "--spec", netdev, "netdev", "dev-get", "ifindex=1")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "ifindex: 1\n")

	// Without a spec: numbers in, numbers out.
	code, out, errOut = run("call", "--kernel", "nlctrl", "3", "2:str=nlctrl")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "2: 6e6c6374726c00\n1: 1000\n")

	// Errors: the kernel's (with its extended ack), and ours.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--spec", netdev, "netdev", "dev-get", "ifindex=4242"}, "no such device"},
		{[]string{"--spec", netdev, "netdev", "dev-get"}, "missing attribute"},
		{[]string{"--spec", netdev, "netdev", "dev-set"}, `family "netdev" has no command "dev-set" (commands: dev-get)`},
		{[]string{"--spec", netdev, "netdev", "dev-get", "ifname=lo"}, `unknown attribute "ifname" in set "dev"`},
		{[]string{"--spec", netdev, "netdev", "dev-get", "ifindex=lo"}, `"lo" is no 32-bit unsigned number`},
		{[]string{"--spec", netdev, "netdev", "dev-add-ntf"}, "is a notification"},
		{[]string{"--spec", nlctrlSpec, "nlctrl", "getpolicy"}, "takes only a dump (add --dump)"},
		{[]string{"--spec", netdev, "nlctrl", "getfamily"}, `describes family "netdev", not "nlctrl"`},
		{[]string{"nlctrl", "getfamily"}, "no --spec was given"},
		{[]string{"--spec", nlctrlSpec, "nlctrl", "getfamily", "family-name=nope"}, "no such file or directory"},
		{[]string{"--spec", "testdata/absent.yaml", "nlctrl", "getfamily"}, "absent.yaml"},
		{[]string{"nlctrl-absent", "1"}, "nlctrl-absent"},
	} {
		code, out, errOut := run(append([]string{"call", "--kernel"}, tc.args...)...)
		assert.Equal(t, 1, code, "%v: %s", tc.args, out)
		assert.Contains(t, errOut, tc.want, "%v", tc.args)
	}
}
