package bus_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/bus"
	"github.com/nlbus/netlink/bus/bustest"
	"github.com/nlbus/netlink/genl"
)

func mustAccess(t *testing.T, text string) *bus.Access {
	t.Helper()
	a, err := bus.ParseAccess([]byte(text))
	require.NoError(t, err)
	return a
}

func TestParseAccess(t *testing.T) {
	tests := []struct {
		name, text string
		rules      int
		err        string // "" for success
	}{
		{"empty", "", 0, ""},
		{"only admin groups", "admin_groups: [0, 4242]\n", 0, ""},
		{"every kind", `
rules:
  - {allow: register, family: "example.*", uid: 1000}
  - {deny: call, family: kv, commands: [admin, 3, 0x10, get-stats], user: root}
  - {allow: call, family: [kv, "kv2"], group: "0"}
  - {deny: send, port: ["1-1023", 7000], multicast: 300}
  - {deny: join, family: audit, gid: [5, 6]}
  - {allow: join}
`, 6, ""},
		{"not yaml", "rules: [", 0, "yaml"},
		{"not a mapping", "- a\n", 0, "line 1: the file is a mapping"},
		{"unknown top key", "rule: []\n", 0, `line 1: unknown key "rule"`},
		{"allow and deny", "rules:\n  - {allow: call, deny: call}\n", 0, "line 2: a rule has either allow or deny"},
		{"neither", "rules:\n  - {family: x}\n", 0, "line 2: a rule has either allow or deny"},
		{"two rules of one name", "rules:\n  - {name: r, allow: join}\n  - {name: r, deny: join}\n", 0, `line 3: a second rule named "r"`},
		{"bad verb", "rules:\n  - allow: regster\n", 0, `line 2: "regster" is not register`},
		{"register without family", "rules:\n  - allow: register\n", 0, "names the family"},
		{"key of another kind", "rules:\n  - {allow: register, family: x, port: 5}\n", 0, `unknown key "port" in a register rule`},
		{"bad command", "rules:\n  - {deny: call, commands: [1x]}\n", 0, `command "1x": all, admin, a number 0-255 or a command's name`},
		{"bad command name", "rules:\n  - {deny: call, commands: [\"a b\"]}\n", 0, `command "a b"`},
		{"command out of range", "rules:\n  - {deny: call, commands: 256}\n", 0, `command "256"`},
		{"bad range", "rules:\n  - {deny: send, port: 9-3}\n", 0, `port "9-3" is not a number or a LOW-HIGH range`},
		{"bad uid", "rules:\n  - {deny: send, uid: bob}\n", 0, `uid "bob" is not a number`},
		{"unknown user", "rules:\n  - {deny: send, user: no-such-user-nlbus}\n", 0, `unknown user "no-such-user-nlbus"`},
		{"unknown group", "admin_groups: no-such-group-nlbus\n", 0, `unknown group "no-such-group-nlbus"`},
		{"star inside", "rules:\n  - {allow: register, family: a*b}\n", 0, `family "a*b"`},
		{"twice", "rules:\n  - {allow: register, family: a, family: b}\n", 0, `line 2: "family" given twice`},
		{"nested value", "rules:\n  - {deny: send, port: {a: 1}}\n", 0, "a value or a list"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := bus.ParseAccess([]byte(tc.text))
			if tc.err == "" {
				require.NoError(t, err)
				assert.Equal(t, tc.rules, a.Len())
				return
			}
			require.ErrorIs(t, err, bus.ErrAccessFile)
			assert.Contains(t, err.Error(), tc.err)
			assert.Nil(t, a)
		})
	}
	a := mustAccess(t, "admin_groups: [0, \"4242\"]\n")
	assert.Equal(t, []uint32{0, 4242}, a.AdminGroups())

	_, err := bus.ParseAccess([]byte("rules:\n" + strings.Repeat("  - {allow: join}\n", 4097)))
	require.ErrorIs(t, err, bus.ErrAccessFile)
	assert.Contains(t, err.Error(), "more than 4096 rules")
}

// accessBus is an in-process system bus whose connections the daemon sees
// as the uid and gid set last (root until then).
type accessBus struct {
	*bustest.Server
	uid, gid atomic.Uint32
}

func newAccessBus(t *testing.T, s *bus.Server) *accessBus {
	ab := &accessBus{}
	bus.SetCredsHook(s, func(pid int32, _, _ uint32) (int32, uint32, uint32) {
		return pid, ab.uid.Load(), ab.gid.Load()
	})
	ab.Server = bustest.NewServer(t, s)
	return ab
}

// dialAs connects as uid and gid.
func (ab *accessBus) dialAs(t *testing.T, uid, gid uint32, cfg *netlink.Config) *netlink.Conn {
	ab.uid.Store(uid)
	ab.gid.Store(gid)
	c := ab.Dial(t, cfg)
	ab.uid.Store(0)
	ab.gid.Store(0)
	return c
}

func stats(t *testing.T, ctx context.Context, c *netlink.Conn) bus.Stats {
	t.Helper()
	st, err := bus.GetStats(ctx, c)
	require.NoError(t, err)
	return st
}

func requireDenied(t *testing.T, err error, text string) {
	t.Helper()
	require.ErrorIs(t, err, unix.EPERM)
	assert.Contains(t, err.Error(), text)
}

// The rules of each kind on a system bus, and the defaults where none
// matches: registration, a command refused while another of the family
// works, a group join, a send; the admin groups; the counters.
func TestAccessRules(t *testing.T) {
	ctx := testCtx(t)
	s := &bus.Server{SystemBus: true, AdminGroups: []uint32{4242}, Access: mustAccess(t, `
rules:
  - name: nobody may take user.*
    allow: register
    family: "user.*"
    uid: 65534
  - name: no listing
    deny: call
    family: kvstore
    commands: [list]      # command 3, by the name the service registered
    uid: 65534
  - name: no changes feed
    deny: join
    family: kvstore
    user: nobody
  - name: no port 7000
    deny: send
    port: 7000
    gid: 65534
  - name: group 9999 is not for you
    deny: send
    multicast: ["9000-9999"]
    uid: 65534
  - name: root sends to no client
    deny: send
    port: "4096-99999"
    uid: 0          # the service's answers to its callers are not sends
`)}
	ab := newAccessBus(t, s)
	svc := startKV(t, ab.Server, "kvstore") // root registers
	root := ab.Dial(t, &netlink.Config{Groups: []uint32{9999}})
	sink := ab.Dial(t, nil)
	user := ab.dialAs(t, 65534, 65534, nil)
	admin := ab.dialAs(t, 1234, 4242, nil)

	t.Run("register", func(t *testing.T) {
		_, err := bus.RegisterFamily(ctx, user, kvSpec("squat"))
		requireDenied(t, err, `nlbus: access default denies registering family "squat"; on the system bus only root registers families`)
		_, err = bus.RegisterFamily(ctx, admin, kvSpec("user.admin"))
		requireDenied(t, err, "access default denies")
		fam, err := bus.RegisterFamily(ctx, user, kvSpec("user.kv"))
		require.NoError(t, err)
		assert.Equal(t, "user.kv", fam.Name)
	})

	t.Run("call", func(t *testing.T) {
		gc := genl.NewConn(user)
		calls := svc.calls.Load()
		_, err := gc.Execute(ctx, svc.fam.ID, genl.Message{Header: genl.Header{Command: kvSet}, Data: kvAttrs(t, "k", 1)}, 0)
		require.NoError(t, err, "a command no rule names works")
		for _, err := range gc.Dump(ctx, svc.fam.ID, genl.Message{Header: genl.Header{Command: kvList}}) {
			requireDenied(t, err, `nlbus: access rule "no listing" denies calling command 3 (list) of family "kvstore"`)
		}
		_, err = gc.Execute(ctx, svc.fam.ID, genl.Message{Header: genl.Header{Command: kvWipe}}, 0)
		requireDenied(t, err, "the command is flagged admin: root and the admin groups only")
		assert.Equal(t, calls+1, svc.calls.Load(), "the service saw a refused call")

		// A member of an admin group (here its primary group) may wipe.
		_, err = genl.NewConn(admin).Execute(ctx, svc.fam.ID, genl.Message{Header: genl.Header{Command: kvWipe}}, 0)
		require.NoError(t, err)
		n := 0
		for m, err := range genl.NewConn(admin).Dump(ctx, svc.fam.ID, genl.Message{Header: genl.Header{Command: kvList}}) {
			require.NoError(t, err)
			_ = m
			n++
		}
		assert.Equal(t, 5, n, "the rule names uid 65534 only")
	})

	t.Run("join", func(t *testing.T) {
		fam, err := genl.NewConn(user).GetFamily(ctx, "kvstore")
		require.NoError(t, err)
		require.Len(t, fam.Groups, 1)
		requireDenied(t, user.JoinGroup(fam.Groups[0].ID), `access rule "no changes feed" denies joining group `)
		require.NoError(t, admin.JoinGroup(fam.Groups[0].ID))
		require.NoError(t, user.JoinGroup(300), "a group no rule names")
	})

	t.Run("send", func(t *testing.T) {
		_, err := user.Execute(ctx, netlink.Message{Header: netlink.Header{Type: bus.TypeData, Flags: netlink.Request | netlink.Acknowledge},
			Data: []byte("x"), Addr: netlink.Addr{Port: 7000}})
		requireDenied(t, err, `access rule "no port 7000" denies sending to port 7000`)
		_, err = root.Execute(ctx, netlink.Message{Header: netlink.Header{Type: bus.TypeData, Flags: netlink.Request | netlink.Acknowledge},
			Data: []byte("x"), Addr: netlink.Addr{Port: user.PortID()}})
		requireDenied(t, err, `access rule "root sends to no client" denies sending to port `+fmt.Sprint(user.PortID()))
		// Allowed sends go through.
		_, err = user.Send(ctx, netlink.Message{Header: netlink.Header{Type: bus.TypeData}, Data: []byte("to sink"), Addr: netlink.Addr{Port: sink.PortID()}})
		require.NoError(t, err)
		assert.Equal(t, "to sink", string(recvOne(t, ctx, sink).Data))
		_, err = user.Send(ctx, netlink.Message{Header: netlink.Header{Type: bus.TypeData, Flags: netlink.Request}, Data: []byte("no"), Addr: netlink.Addr{Group: 9999}})
		require.NoError(t, err)
		_, err = admin.Send(ctx, netlink.Message{Header: netlink.Header{Type: bus.TypeData}, Data: []byte("yes"), Addr: netlink.Addr{Group: 9999}})
		require.NoError(t, err)
		assert.Equal(t, "yes", string(recvOne(t, ctx, root).Data), "the refused multicast was delivered")
		// The refused multicast's sender hears why, from the daemon.
		msgs, err := user.Receive(ctx)
		require.NoError(t, err)
		require.Len(t, msgs, 1)
		assert.Equal(t, netlink.Error, msgs[0].Header.Type)
		assert.Equal(t, uint32(0), msgs[0].Addr.Port)
		require.GreaterOrEqual(t, len(msgs[0].Data), 4)
		assert.Equal(t, -int32(unix.EPERM), int32(binary.NativeEndian.Uint32(msgs[0].Data)))
		assert.Contains(t, string(msgs[0].Data), `access rule "group 9999 is not for you" denies sending to group 9999`)
	})

	st := stats(t, ctx, root)
	assert.Equal(t, uint32(6), st.Access.Rules)
	assert.Equal(t, "system", st.Access.Defaults)
	assert.Equal(t, uint64(2), st.Access.Denied.Register)
	assert.Equal(t, uint64(2), st.Access.Denied.Call)
	assert.Equal(t, uint64(1), st.Access.Denied.Join)
	assert.Equal(t, uint64(3), st.Access.Denied.Send)
}

// A reload changes the outcome of the next request; what a connection
// holds and may no longer hold (a family, a group) is taken back; a
// failed load keeps the rules and shows why.
func TestAccessReload(t *testing.T) {
	ctx := testCtx(t)
	allowSquat := `
rules:
  - {name: squat, allow: register, family: "squat.*", uid: 65534}
  - {name: no set, deny: call, family: kvstore, commands: 1, uid: 65534}
`
	s := &bus.Server{SystemBus: true, Access: mustAccess(t, allowSquat)}
	ab := newAccessBus(t, s)
	svc := startKV(t, ab.Server, "kvstore")
	root := ab.Dial(t, nil)
	sub := genl.NewConn(ab.Dial(t, nil))
	require.NoError(t, sub.JoinGroup(ctx, "nlctrl", "notify"))
	user := ab.dialAs(t, 65534, 65534, &netlink.Config{Groups: []uint32{300, 301}})
	gc := genl.NewConn(user)

	set := func() error {
		_, err := gc.Execute(ctx, svc.fam.ID, genl.Message{Header: genl.Header{Command: kvSet}, Data: kvAttrs(t, "k", 1)}, 0)
		return err
	}
	requireDenied(t, set(), `access rule "no set"`)
	squat, err := bus.RegisterFamily(ctx, user, kvSpec("squat.kv"))
	require.NoError(t, err)
	waitCtrl(t, sub.Netlink(), genl.CmdNewFamily, "squat.kv")

	// The next rules allow set, take squat.* away and deny group 301.
	s.SetAccess(mustAccess(t, `
rules:
  - {name: not 301, deny: join, multicast: 301}
`))
	require.NoError(t, set())
	waitCtrl(t, sub.Netlink(), genl.CmdDelFamily, "squat.kv")
	_, err = genl.NewConn(root).GetFamily(ctx, "squat.kv")
	require.ErrorIs(t, err, unix.ENOENT)
	ports, err := bus.Ports(ctx, root)
	require.NoError(t, err)
	for _, pi := range ports {
		if pi.Port == user.PortID() {
			assert.Equal(t, []uint32{300}, pi.Groups)
		}
	}
	_, err = bus.RegisterFamily(ctx, user, kvSpec("squat.kv"))
	requireDenied(t, err, "access default")
	// The squatter's connection stays, and its family's ID is gone.
	_, err = gc.Execute(ctx, squat.ID, genl.Message{Header: genl.Header{Command: kvSet}, Data: kvAttrs(t, "k", 1)}, 0)
	require.ErrorIs(t, err, unix.EOPNOTSUPP)

	s.SetAccessError(fmt.Errorf("line 3: broken"))
	st := stats(t, ctx, root)
	assert.Equal(t, "line 3: broken", st.Access.Error)
	assert.Equal(t, uint32(1), st.Access.Rules, "the rules in force stay")
	assert.Equal(t, uint64(2), st.Access.Loads)
	assert.Equal(t, uint64(2), st.Access.Revoked)
	requireDenied(t, user.JoinGroup(301), `access rule "not 301"`)

	s.SetAccess(nil)
	st = stats(t, ctx, root)
	assert.Empty(t, st.Access.Error)
	assert.Zero(t, st.Access.Rules)
	require.NoError(t, user.JoinGroup(301))
}

// A per-user bus (the default of a bare Server): its owner and root may do
// everything, others only what the system bus lets anyone do.
func TestAccessUserBusDefaults(t *testing.T) {
	ctx := testCtx(t)
	ab := newAccessBus(t, &bus.Server{})
	other := ab.dialAs(t, 65533, 65533, nil)
	_, err := bus.RegisterFamily(ctx, other, kvSpec("mine"))
	requireDenied(t, err, "only the bus's owner and root register families")
	_, err = bus.RegisterFamily(ctx, ab.Dial(t, nil), kvSpec("mine"))
	require.NoError(t, err)
	st := stats(t, ctx, other)
	assert.Equal(t, "user", st.Access.Defaults)
	assert.Equal(t, uint64(1), st.Access.Denied.Register)
}

// The file's admin_groups, like Server.AdminGroups (issue 9): their
// members may call commands flagged admin; others may not.
func TestAccessAdminGroupsFile(t *testing.T) {
	ctx := testCtx(t)
	ab := newAccessBus(t, &bus.Server{SystemBus: true, Access: mustAccess(t, "admin_groups: [4343]\n")})
	svc := startKV(t, ab.Server, "kvstore")
	wipe := func(c *netlink.Conn) error {
		_, err := genl.NewConn(c).Execute(ctx, svc.fam.ID, genl.Message{Header: genl.Header{Command: kvWipe}}, 0)
		return err
	}
	require.NoError(t, wipe(ab.dialAs(t, 1000, 4343, nil)))
	requireDenied(t, wipe(ab.dialAs(t, 1000, 1000, nil)), "flagged admin")
	assert.Equal(t, int32(1), svc.calls.Load())
}
