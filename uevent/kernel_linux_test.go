//go:build linux

package uevent_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/internal/nettest"
	"github.com/nlbus/netlink/uevent"
)

// requireVeth makes sure creating a veth pair loads no kernel module: the
// test creates one only when veth is loaded or built in, or when the kernel
// cannot load modules at all (then ip's failure fails the test). Otherwise it
// loads the module only on a machine declared disposable
// (NLBUS_THROWAWAY_MACHINE=1), and skips, saying so, elsewhere.
func requireVeth(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/sys/module/veth"); err == nil {
		return // loaded, or built in with parameters
	}
	if _, err := os.Stat("/proc/sys/kernel/modprobe"); errors.Is(err, os.ErrNotExist) {
		return // no module support: veth is built in or absent
	}
	if builtIn("CONFIG_VETH=y", "kernel/drivers/net/veth.ko") {
		return
	}
	if os.Getenv("NLBUS_THROWAWAY_MACHINE") == "1" {
		if out, err := exec.Command("modprobe", "veth").CombinedOutput(); err != nil {
			t.Fatalf("modprobe veth: %v: %s", err, out)
		}
		return
	}
	t.Skip("skipping: veth is neither loaded nor built in, and creating a pair would load the module; set NLBUS_THROWAWAY_MACHINE=1 to allow it")
}

// builtIn reports whether the running kernel's configuration (/proc/config.gz)
// has option, or its modules.builtin lists module.
func builtIn(option, module string) bool {
	if f, err := os.Open("/proc/config.gz"); err == nil {
		defer f.Close()
		if zr, err := gzip.NewReader(f); err == nil {
			if cfg, err := io.ReadAll(zr); err == nil && bytes.Contains(cfg, []byte("\n"+option+"\n")) {
				return true
			}
		}
	}
	var uts unix.Utsname
	if unix.Uname(&uts) != nil {
		return false
	}
	list, err := os.ReadFile("/lib/modules/" + unix.ByteSliceToString(uts.Release[:]) + "/modules.builtin")
	return err == nil && bytes.Contains(list, []byte(module))
}

// TestKernelUeventVeth opens a uevent socket inside a new network namespace,
// creates a veth pair there, and checks the kernel's add events for both
// ends (the kernel sends a network device's uevents to the namespace that
// owns it, so nothing from the host's devices interferes).
func TestKernelUeventVeth(t *testing.T) {
	ns := nettest.NewNS(t)
	requireVeth(t)
	r, err := uevent.Dial(&netlink.Config{NetNS: ns.FD()})
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })

	ns.Run(t, "link", "add", "ua", "type", "veth", "peer", "name", "ub")
	want := map[string]int{"ua": 0, "ub": 0}
	for _, l := range ns.Links(t) {
		if _, ok := want[l.Name]; ok {
			want[l.Name] = l.Index
		}
	}

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	got := map[string]uevent.Event{}
	var lastSeq uint64
	for len(got) < len(want) {
		ev, err := r.Read(ctx)
		require.NoError(t, err, "waiting for the add events of ua and ub (have %d)", len(got))
		assert.Equal(t, uevent.Kernel, ev.Source)
		assert.Zero(t, ev.Src.Port, "the kernel sends from port 0")
		assert.Equal(t, uint32(uevent.KernelGroup), ev.Src.Group)
		assert.Greater(t, ev.Seqnum, lastSeq, "sequence numbers increase")
		lastSeq = ev.Seqnum
		if ev.Action != uevent.Add || string(ev.Subsystem) != "net" {
			continue // the queues' events (SUBSYSTEM=queues)
		}
		name := ev.Get("INTERFACE")
		if _, ok := want[name]; ok {
			got[name] = ev.Copy()
		}
	}
	for name, index := range want {
		ev := got[name]
		assert.Equal(t, "/devices/virtual/net/"+name, string(ev.DevPath))
		assert.Equal(t, "net", string(ev.Subsystem))
		assert.Equal(t, uevent.Add, ev.Action)
		assert.Equal(t, "add", ev.Get("ACTION"))
		assert.Equal(t, name, ev.Get("INTERFACE"))
		assert.NotZero(t, index)
		assert.Equal(t, strconv.Itoa(index), ev.Get("IFINDEX"), "IFINDEX of %s is what ip reports", name)
	}

	// Deleting one end removes both: two remove events.
	ns.Run(t, "link", "del", "ua")
	removed := map[string]bool{}
	for len(removed) < 2 {
		ev, err := r.Read(ctx)
		require.NoError(t, err, "waiting for the remove events")
		if ev.Action == uevent.Remove && string(ev.Subsystem) == "net" {
			removed[ev.Get("INTERFACE")] = true
		}
	}
	assert.Equal(t, map[string]bool{"ua": true, "ub": true}, removed)

	// Nothing else is pending for long: a read with a short deadline ends.
	sctx, scancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer scancel()
	for {
		if _, err := r.Read(sctx); err != nil {
			require.True(t, errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded), "%v", err)
			break
		}
	}
}
