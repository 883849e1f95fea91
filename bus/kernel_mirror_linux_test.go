//go:build linux

package bus_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/bus"
	"github.com/nlbus/netlink/bus/bustest"
	"github.com/nlbus/netlink/genl"
	"github.com/nlbus/netlink/genl/genltest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The differential test of the registry against the kernel's nlctrl:
// every generic-netlink family of the running kernel, as the kernel
// reports it, is registered on a bus daemon and read back through the same
// genl code; the answers must be the kernel's, but for the IDs the bus
// allocates.

// mirrorBus starts the daemon of the mirror test: the nlbus binary (built
// by TestMain) in its own process, or in -short mode an in-process server.
func mirrorBus(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		return bustest.NewServer(t, nil).Path
	}
	path := filepath.Join(sockDir(t), "bus.sock")
	startDaemon(t, path)
	return path
}

// busSpecOf turns a kernel family and its policy into a registration:
// genltest.Spec reads the policy into genlctrl tables (shared where the
// kernel shares them); the bus allocates the IDs and adds HASPOL itself.
func busSpecOf(f genl.Family, p *genl.Policy) (bus.FamilySpec, error) {
	cf, err := genltest.Spec(f, p)
	if err != nil {
		return bus.FamilySpec{}, err
	}
	spec := bus.FamilySpec{Name: cf.Name, Version: cf.Version, HeaderSize: cf.HeaderSize, MaxAttr: cf.MaxAttr}
	for _, o := range cf.Ops {
		spec.Ops = append(spec.Ops, bus.Op{Cmd: o.Cmd, Flags: o.Flags &^ genl.CmdCapHasPolicy, DoPolicy: o.DoPolicy, DumpPolicy: o.DumpPolicy})
	}
	for _, g := range cf.Groups {
		spec.Groups = append(spec.Groups, g.Name)
	}
	return spec, nil
}

// specAttrs is the number of top-level attributes of spec's registration
// message (name, version, header size, maxattr, a table, an op or a group
// each), or -1 when it does not encode.
func specAttrs(spec bus.FamilySpec) int {
	var ae netlink.AttributeEncoder
	if err := bus.AppendFamilySpec(&ae, &spec); err != nil {
		return -1
	}
	b, err := ae.Bytes()
	if err != nil {
		return -1
	}
	n := 0
	for ad := netlink.NewAttributeDecoder(b); ad.Next(); {
		n++
	}
	return n
}

// onBus is the kernel family k as the bus should report it: the bus's
// family ID, and the group IDs the bus allocated (by name).
func onBus(t *testing.T, k, reg genl.Family) genl.Family {
	t.Helper()
	want := k
	want.ID = reg.ID
	want.Ops = slices.Clone(k.Ops)
	want.Groups = slices.Clone(k.Groups)
	for i, g := range want.Groups {
		bg, ok := reg.Group(g.Name)
		if assert.True(t, ok, "group %q registered", g.Name) {
			assert.GreaterOrEqual(t, bg.ID, uint32(bus.FirstFamilyGroup), "group %q: allocated by the bus", g.Name)
			want.Groups[i].ID = bg.ID
		}
	}
	return want
}

// policyOnBus is the kernel's policy with the bus's family ID (none when
// the answer had no message: a family without policies).
func policyOnBus(p *genl.Policy, id uint16) *genl.Policy {
	if p == nil {
		return nil
	}
	q := *p
	if q.FamilyID != 0 {
		q.FamilyID = id
	}
	return &q
}

// Controller attributes (CTRL_ATTR_*) of the raw requests below.
const (
	ctrlAttrFamilyID   = 1
	ctrlAttrFamilyName = 2
	ctrlAttrOp         = 10
)

// ctrlAnswer is one controller's answer to a raw request: the payloads of
// its replies and how it ended.
type ctrlAnswer struct {
	payloads int
	errno    syscall.Errno
	ext      netlink.ExtAck
}

func askCtrl(t *testing.T, ctx context.Context, c *netlink.Conn, cmd uint8, dump bool, attrs func(ae *netlink.AttributeEncoder)) ctrlAnswer {
	t.Helper()
	var ae netlink.AttributeEncoder
	ae.Reset([]byte{cmd, 1, 0, 0})
	if attrs != nil {
		attrs(&ae)
	}
	data, err := ae.Bytes()
	require.NoError(t, err)
	var flags netlink.HeaderFlags
	if dump {
		flags = netlink.Dump
	}
	msgs, err := c.Execute(ctx, netlink.Message{Header: netlink.Header{Type: netlink.HeaderType(genl.CtrlID), Flags: flags}, Data: data})
	a := ctrlAnswer{payloads: len(msgs)}
	if err != nil {
		var oe *netlink.OpError
		require.ErrorAs(t, err, &oe)
		require.True(t, errors.As(oe.Err, &a.errno), "%v", err)
		a.ext = oe.ExtAck
	}
	return a
}

// TestKernelMirrorOnBus registers every kernel generic-netlink family on a
// bus daemon, as the kernel reports it (name, version, header size,
// maxattr, operations with their flags and do/dump policies, groups), and
// checks that genl, over a bus connection, reads from the daemon what it
// reads from the kernel: GETFAMILY by name and by ID, the GETFAMILY dump,
// GETPOLICY of each family and of each operation. The IDs differ (the bus
// allocates them) and are mapped. A family the bus cannot hold (a
// recursive policy) is skipped with the reason; most must mirror. Then a
// few refused requests get the same errno and extended ack from both.
func TestKernelMirrorOnBus(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skipf("skipping: the kernel's policies are read as root (euid %d)", os.Geteuid())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	knl, err := netlink.Dial(netlink.Generic, nil)
	require.NoError(t, err)
	kc := genl.NewConn(knl)
	defer kc.Close()

	fams, err := kc.ListFamilies(ctx)
	require.NoError(t, err)
	policies := map[string]*genl.Policy{}
	for _, f := range fams {
		p, err := kc.GetPolicy(ctx, f.Name)
		require.NoError(t, err, f.Name)
		policies[f.Name] = p
	}

	path := mirrorBus(t)
	owner := dialAt(t, path, nil)
	registered := map[string]genl.Family{} // by name, as RegisterFamily returned it
	var mirrored, skipped []string
	for _, f := range fams {
		if f.Name == "nlctrl" {
			continue // the daemon is the controller itself (compared below)
		}
		spec, err := busSpecOf(f, policies[f.Name])
		if err == nil {
			var reg genl.Family
			reg, err = bus.RegisterFamily(ctx, owner, spec)
			if err == nil {
				registered[f.Name] = reg
				mirrored = append(mirrored, f.Name)
				continue
			}
		}
		// A family the bus cannot hold (a policy that nests itself, say)
		// is logged with the size of its registration. ethtool's (113
		// top-level attributes) once failed here: registrations are no
		// longer held to the 64 attributes of other bus-control messages.
		n := -1
		if spec.Name != "" {
			n = specAttrs(spec)
		}
		t.Logf("%s: not mirrored (%d top-level registration attributes): %v", f.Name, n, err)
		skipped = append(skipped, f.Name)
	}
	t.Logf("kernel families: %d; mirrored on the bus: %d; skipped: %d %v", len(fams), len(mirrored), len(skipped), skipped)
	require.NotEmpty(t, mirrored)
	assert.GreaterOrEqual(t, len(mirrored), 4*(len(fams)-1)/5, "most kernel families mirror on the bus")

	bc := genl.NewConn(dialAt(t, path, nil))
	defer bc.Close()

	// The registration's reply is the family as GETFAMILY reports it.
	kernelByName := map[string]genl.Family{}
	for _, f := range fams {
		kernelByName[f.Name] = f
	}
	for name, reg := range registered {
		assert.GreaterOrEqual(t, reg.ID, uint16(bus.FirstFamilyID), name)
		assert.Equal(t, onBus(t, kernelByName[name], reg), reg, "%s: RegisterFamily's reply", name)
	}

	// GETFAMILY's dump: nlctrl, nlbus and every mirrored family.
	list, err := bc.ListFamilies(ctx)
	require.NoError(t, err)
	listed := map[string]genl.Family{}
	for _, f := range list {
		listed[f.Name] = f
	}
	assert.Len(t, list, len(mirrored)+2, "ListFamilies: nlctrl, nlbus and the mirrored families")
	assert.Contains(t, listed, "nlbus")
	for _, name := range mirrored {
		want := onBus(t, kernelByName[name], registered[name])
		assert.Equal(t, want, listed[name], "%s: ListFamilies", name)
	}

	// nlctrl is the kernel's but for its notify group's ID.
	kctrl := kernelByName["nlctrl"]
	bctrl, err := bc.GetFamily(ctx, "nlctrl")
	require.NoError(t, err)
	wctrl := kctrl
	wctrl.Groups = slices.Clone(kctrl.Groups)
	for i := range wctrl.Groups {
		if wctrl.Groups[i].Name == "notify" {
			wctrl.Groups[i].ID = bus.NotifyGroup
		}
	}
	assert.Equal(t, wctrl, bctrl, "nlctrl")

	for _, name := range mirrored {
		t.Run(name, func(t *testing.T) {
			k := kernelByName[name]
			want := onBus(t, k, registered[name])
			got, err := bc.GetFamily(ctx, name)
			require.NoError(t, err)
			assert.Equal(t, want, got, "GetFamily")
			byID, err := bc.GetFamilyByID(ctx, want.ID)
			require.NoError(t, err)
			assert.Equal(t, want, byID, "GetFamilyByID")

			kp := policies[name]
			bp, err := bc.GetPolicy(ctx, name)
			require.NoError(t, err)
			assert.Equal(t, policyOnBus(kp, want.ID), bp, "GetPolicy")
			for _, o := range k.Ops {
				if !o.HasPolicy() {
					continue
				}
				kop, kerr := kc.GetOpPolicy(ctx, name, o.ID)
				bop, berr := bc.GetOpPolicy(ctx, name, o.ID)
				if kerr != nil || berr != nil {
					assert.Equal(t, kerr != nil, berr != nil, "op %d: kernel %v, bus %v", o.ID, kerr, berr)
					continue
				}
				// Linux leaves out of a one-operation dump a dump table
				// without attributes that its full dump shows (netdev); the
				// bus answers both from one description, as the full dump.
				if quirk, err := genltest.LoneDumpQuirk(kp, o.ID, kop, bop); quirk || err != nil {
					require.NoError(t, err)
					t.Logf("op %d: the kernel's own dumps disagree: alone %+v, full %+v", o.ID, kop.Ops, kp.Ops)
				}
				assert.Equal(t, policyOnBus(kop, want.ID), bop, "GetOpPolicy %d", o.ID)
			}
		})
	}

	// Requests both controllers refuse: the same errno and extended ack.
	name := mirrored[0]
	var unknownOp uint32 = 1
	for slices.ContainsFunc(kernelByName[name].Ops, func(o genl.Op) bool { return o.ID == unknownOp }) {
		unknownOp++
	}
	refusals := []struct {
		what  string
		cmd   uint8
		dump  bool
		attrs func(ae *netlink.AttributeEncoder)
	}{
		{"getfamily of an unknown name", genl.CmdGetFamily, false, func(ae *netlink.AttributeEncoder) { ae.String(ctrlAttrFamilyName, "no-such-family") }},
		{"getfamily of an unknown id", genl.CmdGetFamily, false, func(ae *netlink.AttributeEncoder) { ae.Uint16(ctrlAttrFamilyID, 0xfe0f) }},
		{"getfamily without attributes", genl.CmdGetFamily, false, nil},
		{"getpolicy of an unknown family", genl.CmdGetPolicy, true, func(ae *netlink.AttributeEncoder) { ae.String(ctrlAttrFamilyName, "no-such-family") }},
		{"getpolicy of an unknown op of " + name, genl.CmdGetPolicy, true, func(ae *netlink.AttributeEncoder) {
			ae.String(ctrlAttrFamilyName, name)
			ae.Uint32(ctrlAttrOp, unknownOp)
		}},
		{"getpolicy without a family", genl.CmdGetPolicy, true, nil},
	}
	for _, r := range refusals {
		t.Run(r.what, func(t *testing.T) {
			k := askCtrl(t, ctx, knl, r.cmd, r.dump, r.attrs)
			b := askCtrl(t, ctx, bc.Netlink(), r.cmd, r.dump, r.attrs)
			t.Logf("kernel: %v %+v; bus: %v %+v", k.errno, k.ext, b.errno, b.ext)
			require.NotZero(t, k.errno, "the kernel refuses it")
			assert.Equal(t, k.errno, b.errno, "errno")
			assert.Equal(t, k.ext, b.ext, "extended ack")
			assert.Equal(t, k.payloads, b.payloads, "replies before the error")
		})
	}
}
