//go:build linux

package nettest

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseRelease(t *testing.T) {
	tests := []struct {
		rel          string
		major, minor int
		wantErr      bool
	}{
		{rel: "6.18.44-fc-v1147", major: 6, minor: 18},
		{rel: "6.14.0-1-amd64", major: 6, minor: 14},
		{rel: "5.15.0", major: 5, minor: 15},
		{rel: "6.9-rc1", major: 6, minor: 9},
		{rel: "4.19+", major: 4, minor: 19},
		{rel: "6", wantErr: true},
		{rel: "x.1.0", wantErr: true},
		{rel: "6.x", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.rel, func(t *testing.T) {
			major, minor, err := parseRelease(tt.rel)
			if tt.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, [2]int{tt.major, tt.minor}, [2]int{major, minor})
		})
	}
}

func TestVersionAtLeast(t *testing.T) {
	tests := []struct {
		kmaj, kmin, major, minor int
		want                     bool
	}{
		{6, 14, 6, 14, true},
		{6, 18, 6, 14, true},
		{7, 0, 6, 14, true},
		{6, 13, 6, 14, false},
		{5, 20, 6, 14, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, versionAtLeast(tt.kmaj, tt.kmin, tt.major, tt.minor), "%d.%d >= %d.%d", tt.kmaj, tt.kmin, tt.major, tt.minor)
	}
}

func TestRequireKernel(t *testing.T) {
	major, minor, err := KernelVersion()
	require.NoError(t, err)

	r := &recorder{TB: t}
	RequireKernel(r, major, minor, "a feature of this release")
	assert.Empty(t, r.skip, "the running release has its own features")

	r = &recorder{TB: t}
	RequireKernel(r, major+1, 0, "a future feature")
	assert.Contains(t, r.skip, "a future feature needs Linux")
	assert.Empty(t, r.fatal)
}

// fakeTree lays out files (path to content; a path ending in / is a
// directory) under a temporary root.
func fakeTree(t *testing.T, files map[string]string) sysfs {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, p)
		if p[len(p)-1] == '/' {
			require.NoError(t, os.MkdirAll(full, 0o755))
			continue
		}
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		data := []byte(content)
		if filepath.Ext(p) == ".gz" {
			var b bytes.Buffer
			zw := gzip.NewWriter(&b)
			_, err := zw.Write(data)
			require.NoError(t, err)
			require.NoError(t, zw.Close())
			data = b.Bytes()
		}
		require.NoError(t, os.WriteFile(full, data, 0o644))
	}
	return sysfs{root: root, release: "6.1.0-test"}
}

func TestModuleState(t *testing.T) {
	const cfg = "# comment\nCONFIG_VETH=y\nCONFIG_DUMMY=m\n# CONFIG_IFB is not set\n"
	tests := []struct {
		name  string
		files map[string]string
		want  moduleState
	}{
		{"loaded", map[string]string{"/sys/module/veth/": "", "/proc/modules": ""}, stateLoaded},
		{"dash in the name", map[string]string{"/sys/module/nf_tables/": ""}, stateLoaded},
		{"built in per config.gz", map[string]string{"/proc/config.gz": cfg, "/proc/modules": ""}, stateBuiltin},
		{"built in per /boot", map[string]string{"/boot/config-6.1.0-test": cfg, "/proc/modules": ""}, stateBuiltin},
		{"built in per modules.builtin", map[string]string{
			"/lib/modules/6.1.0-test/modules.builtin": "kernel/drivers/net/veth.ko\n", "/proc/modules": "",
		}, stateBuiltin},
		{"loadable per modules.dep", map[string]string{
			"/lib/modules/6.1.0-test/modules.builtin": "kernel/drivers/net/ifb.ko\n",
			"/lib/modules/6.1.0-test/modules.dep":     "kernel/drivers/net/veth.ko.xz:\n", "/proc/modules": "",
		}, stateLoadable},
		{"no module support", map[string]string{}, stateNoModules},
		{"unknown", map[string]string{"/proc/modules": "ext4 1 0 - Live 0x0\n"}, stateUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fakeTree(t, tt.files)
			mod, sym := "veth", "CONFIG_VETH"
			if tt.name == "dash in the name" {
				mod, sym = "nf-tables", "CONFIG_NF_TABLES"
			}
			assert.Equal(t, tt.want, s.state(mod, sym))
		})
	}

	s := fakeTree(t, map[string]string{"/proc/config.gz": cfg, "/proc/modules": ""})
	assert.Equal(t, stateLoadable, s.state("dummy", "CONFIG_DUMMY"))
	assert.Equal(t, stateAbsent, s.state("ifb", "CONFIG_IFB"))
	assert.Equal(t, stateAbsent, s.state("vxcan", "CONFIG_CAN_VXCAN"), "a symbol the config does not mention")
}

func TestUsable(t *testing.T) {
	tests := []struct {
		name      string
		st        moduleState
		throwaway bool
		want      bool
		why       string
	}{
		{"loaded", stateLoaded, false, true, ""},
		{"builtin", stateBuiltin, false, true, ""},
		{"no modules", stateNoModules, false, true, ""},
		{"loadable", stateLoadable, false, false, "module veth is not loaded and tests load no modules unless NLBUS_THROWAWAY_MACHINE=1"},
		{"loadable on a throwaway machine", stateLoadable, true, true, ""},
		{"absent", stateAbsent, false, false, "this kernel is built without CONFIG_VETH"},
		{"absent on a throwaway machine", stateAbsent, true, false, "this kernel is built without CONFIG_VETH"},
		{"unknown", stateUnknown, false, false, "cannot tell whether module veth is loaded"},
		{"unknown on a throwaway machine", stateUnknown, true, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, why := usable(tt.st, "veth", "CONFIG_VETH", tt.throwaway)
			assert.Equal(t, tt.want, ok)
			if tt.why == "" {
				assert.Empty(t, why)
			} else {
				assert.Contains(t, why, tt.why)
			}
		})
	}
}

func TestDummyKinds(t *testing.T) {
	tests := []struct {
		name      string
		config    string
		throwaway bool
		want      []string
		why       string
	}{
		{"both built in", "CONFIG_DUMMY=y\nCONFIG_IFB=y\n", false, []string{"dummy", "ifb"}, ""},
		{"ifb when dummy is left out", "CONFIG_IFB=y\n", false, []string{"ifb"}, ""},
		{"modules not loaded", "CONFIG_DUMMY=m\nCONFIG_IFB=m\n", false, nil, "module dummy is not loaded"},
		{"modules on a throwaway machine", "CONFIG_DUMMY=m\nCONFIG_IFB=m\n", true, []string{"dummy", "ifb"}, ""},
		{"neither", "", true, nil, "built without CONFIG_DUMMY (module dummy); this kernel is built without CONFIG_IFB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fakeTree(t, map[string]string{"/proc/config.gz": tt.config, "/proc/modules": ""})
			kinds, err := dummyKinds(s, tt.throwaway)
			if tt.why != "" {
				require.ErrorIs(t, err, errNoKind)
				assert.Contains(t, err.Error(), tt.why)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, kinds)
		})
	}
}

func TestLinkKindModule(t *testing.T) {
	for kind, want := range map[string][2]string{
		"veth":      {"veth", "CONFIG_VETH"},
		"dummy":     {"dummy", "CONFIG_DUMMY"},
		"ifb":       {"ifb", "CONFIG_IFB"},
		"wireguard": {"wireguard", "CONFIG_WIREGUARD"},
		"bond":      {"bonding", "CONFIG_BONDING"},
		"vrf":       {"vrf", "CONFIG_NET_VRF"},
	} {
		m, s := linkKindModule(kind)
		assert.Equal(t, want, [2]string{m, s}, kind)
	}
}

func TestRequireThrowaway(t *testing.T) {
	t.Setenv(ThrowawayEnv, "")
	r := &recorder{TB: t}
	RequireThrowaway(r, "load module foo")
	assert.Contains(t, r.skip, "would load module foo")
	assert.Contains(t, r.skip, ThrowawayEnv+"=1")

	t.Setenv(ThrowawayEnv, "1")
	r = &recorder{TB: t}
	RequireThrowaway(r, "load module foo")
	assert.Empty(t, r.skip)
}
