package genl_test

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/genl"
	"github.com/nlbus/netlink/internal/nettest"
)

// Kernel tests query the host's generic-netlink controller, which is global
// (families are not per network namespace) and read-only here.

func kernelConn(t *testing.T) *genl.Conn {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("skipping: the kernel tests run as root (euid %d)", os.Geteuid())
	}
	c, err := genl.Dial(nil)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func genlTool(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("genl", args...).CombinedOutput()
	require.NoError(t, err, "genl %v: %s", args, out)
	return string(out)
}

// genlFamily is what `genl ctrl list` prints of a family.
type genlFamily struct {
	name                  string
	id, version, hdr, max uint64
	ops                   []genl.Op
	caps                  []bool // whether genl printed the op's capabilities
	groups                []genl.Group
}

var (
	reName   = regexp.MustCompile(`^Name: (\S+)`)
	reID     = regexp.MustCompile(`ID: 0x([0-9a-f]+)\s+Version: 0x([0-9a-f]+)\s+header size: (\d+)\s+max attribs: (\d+)`)
	reOp     = regexp.MustCompile(`^#\d+:\s+ID-0x([0-9a-f]+)`)
	reCaps   = regexp.MustCompile(`^Capabilities \(0x([0-9a-f]+)\)`)
	reGroup  = regexp.MustCompile(`^#\d+:\s+ID-0x([0-9a-f]+)\s+name: (\S+)`)
	rePolicy = regexp.MustCompile(`policy\[(\d+)\]:attr\[(\d+)\]: type=(\S+)(.*)`)
	reOpPol  = regexp.MustCompile(`op (\d+) policies:(?: do=(\d+))?(?: dump=(\d+))?`)
)

func hex(t *testing.T, s string) uint64 {
	v, err := strconv.ParseUint(s, 16, 64)
	require.NoError(t, err)
	return v
}

func parseGenlList(t *testing.T, out string) []genlFamily {
	var fams []genlFamily
	inGroups := false
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		var f *genlFamily
		if len(fams) > 0 {
			f = &fams[len(fams)-1]
		}
		switch m := reName.FindStringSubmatch(line); {
		case m != nil:
			fams = append(fams, genlFamily{name: m[1]})
			inGroups = false
			continue
		}
		if f == nil {
			continue
		}
		if m := reID.FindStringSubmatch(line); m != nil {
			f.id, f.version = hex(t, m[1]), hex(t, m[2])
			f.hdr, _ = strconv.ParseUint(m[3], 10, 32)
			f.max, _ = strconv.ParseUint(m[4], 10, 32)
			continue
		}
		if strings.HasPrefix(line, "multicast groups:") {
			inGroups = true
			continue
		}
		if inGroups {
			if m := reGroup.FindStringSubmatch(line); m != nil {
				f.groups = append(f.groups, genl.Group{ID: uint32(hex(t, m[1])), Name: m[2]})
			}
			continue
		}
		if m := reOp.FindStringSubmatch(line); m != nil {
			f.ops = append(f.ops, genl.Op{ID: uint32(hex(t, m[1]))})
			f.caps = append(f.caps, false)
			continue
		}
		if m := reCaps.FindStringSubmatch(line); m != nil && len(f.ops) > 0 {
			f.ops[len(f.ops)-1].Flags = genl.OpFlags(hex(t, m[1]))
			f.caps[len(f.caps)-1] = true
		}
	}
	require.NoError(t, sc.Err())
	return fams
}

func TestKernelListFamiliesMatchesGenlTool(t *testing.T) {
	c := kernelConn(t)
	want := parseGenlList(t, genlTool(t, "ctrl", "list"))
	require.NotEmpty(t, want)
	got, err := c.ListFamilies(context.Background())
	require.NoError(t, err)
	byName := map[string]genl.Family{}
	for _, f := range got {
		byName[f.Name] = f
	}
	assert.Len(t, got, len(want), "as many families as genl ctrl list")
	for _, w := range want {
		t.Run(w.name, func(t *testing.T) {
			f, ok := byName[w.name]
			require.True(t, ok, "family %s missing", w.name)
			assert.Equal(t, w.id, uint64(f.ID), "id")
			assert.Equal(t, w.version, uint64(f.Version), "version")
			assert.Equal(t, w.hdr, uint64(f.HeaderSize), "header size")
			assert.Equal(t, w.max, uint64(f.MaxAttr), "max attribs")
			assert.Len(t, f.Ops, len(w.ops), "operations")
			// iproute2 6.1 prints the capabilities of some families' ops only.
			if len(f.Ops) == len(w.ops) {
				for i, o := range w.ops {
					assert.Equal(t, o.ID, f.Ops[i].ID, "op %d", i)
					if w.caps[i] {
						assert.Equal(t, o.Flags, f.Ops[i].Flags, "op %d flags", o.ID)
					}
				}
			}
			if len(w.groups) == 0 {
				assert.Empty(t, f.Groups)
			} else {
				assert.Equal(t, w.groups, f.Groups, "groups")
			}
		})
	}
}

func TestKernelGetFamily(t *testing.T) {
	c := kernelConn(t)
	ctx := context.Background()
	all, err := c.ListFamilies(ctx)
	require.NoError(t, err)
	for _, name := range []string{"nlctrl", "ethtool", "netdev"} {
		t.Run(name, func(t *testing.T) {
			f, err := c.GetFamily(ctx, name)
			require.NoError(t, err, "the family must exist on this kernel")
			assert.Equal(t, name, f.Name)
			assert.NotEmpty(t, f.Ops)
			for _, l := range all {
				if l.Name == name {
					assert.Equal(t, l, f, "GetFamily agrees with the dump")
				}
			}
			byID, err := c.GetFamilyByID(ctx, f.ID)
			require.NoError(t, err)
			assert.Equal(t, f, byID)
		})
	}
	ctrl, err := c.GetFamily(ctx, "nlctrl")
	require.NoError(t, err)
	assert.Equal(t, genl.CtrlID, ctrl.ID)
	_, ok := ctrl.Group("notify")
	assert.True(t, ok)

	_, err = c.GetFamily(ctx, "no-such-family")
	require.ErrorIs(t, err, os.ErrNotExist)
}

// TestKernelGetFamilyAllocs: decoding a GETFAMILY reply into a Family
// borrows the receive buffer, and the name asked for is the Family's name:
// GetFamily allocates what the Family holds (its ops, its groups and their
// names) and nothing else.
func TestKernelGetFamilyAllocs(t *testing.T) {
	c := kernelConn(t)
	if raceEnabled {
		t.Skip("allocation counts are checked without the race detector, whose sync.Pool drops items at random")
	}
	ctx := context.Background()
	f, err := c.GetFamily(ctx, "nlctrl")
	require.NoError(t, err)
	family := 1 + 1 + len(f.Groups) // ops, groups, group names
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := c.GetFamily(ctx, "nlctrl"); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("%.0f allocations per GetFamily, %d of them the Family's", allocs, family)
	assert.LessOrEqual(t, allocs, float64(family))
}

// TestKernelDoAllocs: a generic-netlink Do to the kernel (GETFAMILY of
// nlctrl through Do, reading the family ID from the borrowed reply)
// allocates nothing once the Conn has served one request.
func TestKernelDoAllocs(t *testing.T) {
	c := kernelConn(t)
	if raceEnabled {
		t.Skip("allocation counts are checked without the race detector, whose sync.Pool drops items at random")
	}
	ctx := context.Background()
	var ae netlink.AttributeEncoder
	ae.String(2, "nlctrl") // CTRL_ATTR_FAMILY_NAME
	attrs, err := ae.Bytes()
	require.NoError(t, err)
	req := genl.Message{Header: genl.Header{Command: genl.CmdGetFamily, Version: 1}, Data: attrs}
	var (
		id uint16
		ad netlink.AttributeDecoder
	)
	fn := func(m genl.Message) error {
		ad.Reset(m.Data)
		for ad.Next() {
			if ad.Type() == 1 { // CTRL_ATTR_FAMILY_ID
				id = ad.Uint16()
			}
		}
		return ad.Err()
	}
	do := func() {
		id = 0
		ack, err := c.Do(ctx, genl.CtrlID, req, 0, fn)
		if err != nil || !ack.Received || id != genl.CtrlID {
			t.Fatalf("Do: ack %v, id %d, error %v", ack.Received, id, err)
		}
	}
	do()
	assert.Zero(t, testing.AllocsPerRun(500, do), "allocations per genl Do")
}

func TestKernelPolicies(t *testing.T) {
	c := kernelConn(t)
	ctx := context.Background()
	for _, name := range []string{"nlctrl", "ethtool", "netdev"} {
		t.Run(name, func(t *testing.T) {
			p, err := c.GetPolicy(ctx, name)
			require.NoError(t, err)
			require.NotEmpty(t, p.Ops)
			require.NotEmpty(t, p.Tables)
			// Every table referred to is listed, those without attributes
			// too (netdev's op 1 dump table).
			for _, o := range p.Ops {
				if o.HasDo {
					_, ok := p.Table(o.Do)
					assert.True(t, ok, "op %d do table %d", o.Op, o.Do)
				}
				if o.HasDump {
					_, ok := p.Table(o.Dump)
					assert.True(t, ok, "op %d dump table %d", o.Op, o.Dump)
				}
			}
			f, err := c.GetFamily(ctx, name)
			require.NoError(t, err)
			assert.Equal(t, f.ID, p.FamilyID)
			// Every operation with a policy has an entry, under its own number.
			for _, o := range f.Ops {
				_, ok := p.Op(o.ID)
				assert.Equal(t, o.HasPolicy(), ok, "op %d", o.ID)
			}
			compareWithGenlTool(t, p, genlTool(t, "ctrl", "policy", "name", name))
		})
	}
	p, err := c.GetPolicy(ctx, "nlctrl")
	require.NoError(t, err)
	op, ok := p.Op(uint32(genl.CmdGetFamily))
	require.True(t, ok)
	require.True(t, op.HasDo)
	tab, ok := p.Table(op.Do)
	require.True(t, ok)
	a, ok := tab.Attr(2) // CTRL_ATTR_FAMILY_NAME
	require.True(t, ok)
	assert.Equal(t, genl.TypeNulString, a.Type)
	assert.Equal(t, uint32(genl.NameMax), a.MaxLength, "GENL_NAMSIZ - 1")

	one, err := c.GetOpPolicy(ctx, "nlctrl", uint32(genl.CmdGetPolicy))
	require.NoError(t, err)
	require.Len(t, one.Ops, 1)
	assert.Equal(t, uint32(genl.CmdGetPolicy), one.Ops[0].Op)
	assert.True(t, one.Ops[0].HasDump)

	// VFS_DQUOT has no operations, hence no policy (ENODATA).
	empty, err := c.GetPolicy(ctx, "VFS_DQUOT")
	require.NoError(t, err)
	assert.Empty(t, empty.Tables)
}

// compareWithGenlTool checks every "policy[i]:attr[j]: type=T" line of
// `genl ctrl policy` against p, and the operations' tables (genl shows a
// dump-only operation as op 0, the kernel's quirk, so those are skipped).
func compareWithGenlTool(t *testing.T, p *genl.Policy, out string) {
	n := 0
	for _, line := range strings.Split(out, "\n") {
		if m := rePolicy.FindStringSubmatch(line); m != nil {
			idx, _ := strconv.ParseUint(m[1], 10, 32)
			attr, _ := strconv.ParseUint(m[2], 10, 16)
			tab, ok := p.Table(uint32(idx))
			require.True(t, ok, "table %d", idx)
			a, ok := tab.Attr(uint16(attr))
			require.True(t, ok, "policy %d attr %d", idx, attr)
			if m[3] == "unknown" {
				// iproute2 6.1 predates NL_ATTR_TYPE_SINT and _UINT (Linux 6.8).
				assert.Contains(t, []genl.AttrType{genl.TypeSint, genl.TypeUint}, a.Type, line)
			} else {
				assert.Equal(t, strings.ReplaceAll(strings.ToUpper(a.Type.String()), "-", "_"), m[3], line)
			}
			if ml := regexp.MustCompile(`max len:(\d+)`).FindStringSubmatch(m[4]); ml != nil {
				assert.Equal(t, ml[1], strconv.FormatUint(uint64(a.MaxLength), 10), line)
			}
			n++
		}
		if m := reOpPol.FindStringSubmatch(line); m != nil && m[1] != "0" {
			op, _ := strconv.ParseUint(m[1], 10, 32)
			o, ok := p.Op(uint32(op))
			require.True(t, ok, line)
			if m[2] != "" {
				assert.Equal(t, m[2], strconv.FormatUint(uint64(o.Do), 10), line)
			}
			if m[3] != "" {
				assert.Equal(t, m[3], strconv.FormatUint(uint64(o.Dump), 10), line)
			}
		}
	}
	total := 0
	for _, tab := range p.Tables {
		total += len(tab.Attrs)
	}
	assert.Equal(t, total, n, "as many attributes as genl ctrl policy shows")
}

// TestKernelNotify joins nlctrl's notify group through EnableCache and waits
// for the NEWFAMILY that loading a module with a generic-netlink family
// sends. It needs a kernel with loadable modules and such a module that is
// not loaded yet; the module is unloaded afterwards. Loading and unloading
// modules is for throwaway machines only (NLBUS_THROWAWAY_MACHINE=1).
func TestKernelNotify(t *testing.T) {
	c := kernelConn(t)
	nettest.RequireThrowaway(t, "load and unload a kernel module to make nlctrl announce a family")
	ctx := context.Background()
	sub, err := netlink.Dial(netlink.Generic, nil)
	require.NoError(t, err)
	require.NoError(t, c.EnableCache(ctx, sub), "joining nlctrl's notify group")
	require.True(t, c.CacheOn())
	assert.Zero(t, c.CacheMaxAge(), "Linux's notifications keep the cache true: no age bound")

	if _, err := os.Stat("/proc/modules"); err != nil {
		t.Skip("skipping the notification: this kernel has no loadable modules (no /proc/modules), so no generic-netlink family can be registered at run time to make nlctrl send one")
	}
	loaded, _ := os.ReadFile("/proc/modules")
	var mod, family string
	for _, cand := range [][2]string{{"psample", "psample"}, {"gtp", "gtp"}, {"macsec", "macsec"}, {"team", "team"}, {"wireguard", "wireguard"}, {"l2tp_netlink", "l2tp"}, {"fou", "fou"}, {"nbd", "nbd"}} {
		if bytes.Contains(loaded, []byte(cand[0]+" ")) {
			continue
		}
		if exec.Command("modprobe", "-n", cand[0]).Run() == nil {
			mod, family = cand[0], cand[1]
			break
		}
	}
	if mod == "" {
		t.Skip("skipping the notification: no unloaded module with a generic-netlink family is available to load")
	}
	gen := c.CacheGeneration()
	require.NoError(t, exec.Command("modprobe", mod).Run())
	t.Cleanup(func() { exec.Command("modprobe", "-r", mod).Run() })
	// The announcement does not fill the cache (it makes the cache forget
	// the family), so its arrival shows as a change of generation.
	require.Eventually(t, func() bool { return c.CacheGeneration() > gen }, 5*time.Second, 10*time.Millisecond,
		"NEWFAMILY for %s on nlctrl's notify group", family)
	_, err = c.LookupFamily(ctx, family)
	require.NoError(t, err)
	_, ok := c.CachedFamily(family)
	assert.True(t, ok, "cached once looked up")
}
