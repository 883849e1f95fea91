package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nlbus/netlink/bus"
	"github.com/nlbus/netlink/bus/bustest"
	"github.com/nlbus/netlink/genl"
	"github.com/nlbus/netlink/genl/genlctrl"
	"github.com/nlbus/netlink/genl/genltest"
)

func run(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = runMain(context.Background(), &env{stdout: &o, stderr: &e}, args)
	return code, o.String(), e.String()
}

// fakeController makes the commands' --kernel talk to a genltest server.
func fakeController(t *testing.T, cfg *genltest.Config) {
	t.Helper()
	srv := genltest.NewServer(cfg, genltest.Family{Family: genl.Family{
		Name: "demo", Version: 2, MaxAttr: 3,
		Ops:    []genl.Op{{ID: 1, Flags: genl.CmdCapDo | genl.AdminPerm}},
		Groups: []genl.Group{{Name: "events"}},
	}})
	old := dialGenl
	dialGenl = func() (*genl.Conn, error) {
		nc, err := srv.Dial()
		if err != nil {
			return nil, err
		}
		return genl.NewConn(nc), nil
	}
	t.Cleanup(func() { dialGenl = old })
}

// families and policy ask the bus daemon by default, with the same JSON as
// --kernel.
func TestFamiliesOnBus(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	srv := bustest.NewServer(t, nil)
	svc := srv.Dial(t, nil)
	pol := &genlctrl.Table{Attrs: []genlctrl.Attr{{ID: 1, Type: genl.TypeU32, HasRange: true, MaxU: 9}}}
	fam, err := bus.RegisterFamily(ctx, svc, bus.FamilySpec{
		Name: "demo", Version: 2, MaxAttr: 3,
		Ops:    []bus.Op{{Cmd: 1, Flags: genl.CmdCapDo | genl.AdminPerm, DoPolicy: pol}},
		Groups: []string{"events"},
	})
	require.NoError(t, err)

	code, out, errOut := run("families", "--socket", srv.Path, "--json")
	require.Equal(t, 0, code, errOut)
	var fams []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &fams))
	require.Len(t, fams, 3) // nlctrl, nlbus, demo
	for _, k := range []string{"name", "id", "version", "hdrsize", "maxattr", "ops", "groups"} {
		assert.Contains(t, fams[2], k)
	}
	assert.Equal(t, "demo", fams[2]["name"])
	assert.Equal(t, float64(fam.ID), fams[2]["id"])
	assert.Equal(t, []any{map[string]any{"id": 1.0, "flags": map[string]any{"value": 11.0, "names": []any{"admin-perm", "do", "has-policy"}}}}, fams[2]["ops"])
	g := fams[2]["groups"].([]any)[0].(map[string]any)
	assert.Equal(t, "events", g["name"])
	assert.Equal(t, float64(fam.Groups[0].ID), g["id"])

	code, out, errOut = run("families", "--socket", srv.Path)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "demo\n  id 0x20  version 2  hdrsize 0  maxattr 3")

	code, out, errOut = run("policy", "demo", "--socket", srv.Path, "--json")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, `"u32"`)
	code, out, errOut = run("policy", "demo", "--socket", srv.Path)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "u32")

	code, _, errOut = run("policy", "nope", "--socket", srv.Path)
	assert.Equal(t, 1, code)
	assert.NotEmpty(t, errOut)
	code, _, errOut = run("families", "--socket", srv.Path+".absent")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "no bus daemon at")
}

func TestFamiliesJSON(t *testing.T) {
	fakeController(t, nil)
	code, out, errOut := run("families", "--kernel", "--json")
	require.Equal(t, 0, code, errOut)
	var fams []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &fams))
	require.Len(t, fams, 2)
	for _, k := range []string{"name", "id", "version", "hdrsize", "maxattr", "ops", "groups"} {
		assert.Contains(t, fams[1], k)
	}
	assert.Equal(t, "demo", fams[1]["name"])
	assert.Equal(t, []any{map[string]any{"id": 1.0, "flags": map[string]any{"value": 3.0, "names": []any{"admin-perm", "do"}}}}, fams[1]["ops"])
	g := fams[1]["groups"].([]any)[0].(map[string]any)
	assert.Equal(t, "events", g["name"])
	assert.NotZero(t, g["id"])
	assert.Equal(t, []any{}, fams[1]["groups"].([]any)[1:])

	code, out, _ = run("families", "--kernel")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "demo\n  id 0x11  version 2  hdrsize 0  maxattr 3")
	assert.Contains(t, out, "admin-perm|do")
	assert.Contains(t, out, "groups  events (")
}

func TestKernelFamiliesCommand(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skipf("skipping: kernel tests run as root (euid %d)", os.Geteuid())
	}
	code, out, errOut := run("families", "--kernel", "--json")
	require.Equal(t, 0, code, errOut)
	var fams []familyJSON
	require.NoError(t, json.Unmarshal([]byte(out), &fams))
	list, err := exec.Command("genl", "ctrl", "list").Output()
	require.NoError(t, err)
	assert.Equal(t, strings.Count(string(list), "\nName: ")+boolInt(strings.HasPrefix(string(list), "Name: ")), len(fams))
	names := map[string]bool{}
	for _, f := range fams {
		names[f.Name] = true
	}
	for _, n := range []string{"nlctrl", "ethtool", "netdev"} {
		assert.True(t, names[n], n)
	}

	code, out, errOut = run("policy", "nlctrl", "--kernel")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "nul-string max-len 15")

	code, _, errOut = run("policy", "no-such-family", "--kernel")
	assert.Equal(t, 1, code)
	assert.Equal(t, "nlbus policy: genl: family \"no-such-family\" not found\n", errOut)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
