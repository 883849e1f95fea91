package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/bus"
	"github.com/nlbus/netlink/bus/bustest"
	"github.com/nlbus/netlink/genl"
	"github.com/nlbus/netlink/genl/genlctrl"
	"github.com/nlbus/netlink/genl/ynl"
)

// kvDescription describes the family startKV serves.
const kvDescription = `name: kv
protocol: genetlink
attribute-sets:
  - name: entry
    attributes:
      - {name: key, type: string}
      - {name: value, type: u32}
      - {name: meta, type: nest, nested-attributes: meta}
  - name: meta
    attributes:
      - {name: uid, type: u32}
operations:
  list:
    - name: set
      attribute-set: entry
      do:
        request: {attributes: [key, value]}
        reply: {attributes: [key, value]}
    - name: list
      attribute-set: entry
      dump:
        reply: {attributes: [key, value, meta]}
`

// startKV registers family name on srv, with desc as its description, and
// serves it: set (1) stores KEY=VALUE (the daemon checks VALUE <= 100; the
// key "ro" is refused by the service) and replies with both; list (2)
// dumps the entries by key, each with the caller's uid in a nest.
func startKV(t *testing.T, srv *bustest.Server, name string, desc []byte) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	svc := srv.Dial(t, nil)
	pol := &genlctrl.Table{Attrs: []genlctrl.Attr{
		{ID: 1, Type: genl.TypeNulString, MaxLen: 16},
		{ID: 2, Type: genl.TypeU32, HasRange: true, MaxU: 100},
	}}
	rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
	defer rcancel()
	fam, err := bus.RegisterFamily(rctx, svc, bus.FamilySpec{
		Name: name, Version: 1, MaxAttr: 3,
		Ops:         []bus.Op{{Cmd: 1, Flags: genl.CmdCapDo, DoPolicy: pol}, {Cmd: 2, Flags: genl.CmdCapDump}},
		Description: desc,
	})
	require.NoError(t, err)
	var mu sync.Mutex
	store := map[string]uint32{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		bus.Serve(ctx, svc, fam, map[uint8]bus.Handler{
			1: func(ctx context.Context, w *bus.ReplyWriter, r *bus.Request) error {
				var key string
				var val uint32
				ad := netlink.NewAttributeDecoder(r.Attrs)
				for ad.Next() {
					switch ad.Type() {
					case 1:
						key = ad.String()
					case 2:
						val = ad.Uint32()
					}
				}
				if key == "ro" {
					return &bus.Error{Errno: syscall.EPERM, Msg: "kv: key ro is read-only"}
				}
				mu.Lock()
				store[key] = val
				mu.Unlock()
				return w.Reply(ctx, 0, func(ae *netlink.AttributeEncoder) {
					ae.String(1, key)
					ae.Uint32(2, val)
				})
			},
			2: func(ctx context.Context, w *bus.ReplyWriter, r *bus.Request) error {
				mu.Lock()
				keys := make([]string, 0, len(store))
				for k := range store {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				vals := make([]uint32, len(keys))
				for i, k := range keys {
					vals[i] = store[k]
				}
				mu.Unlock()
				for i, k := range keys {
					err := w.Reply(ctx, 0, func(ae *netlink.AttributeEncoder) {
						ae.String(1, k)
						ae.Uint32(2, vals[i])
						ae.Nested(3, func(ae *netlink.AttributeEncoder) error {
							ae.Uint32(1, r.Creds.UID)
							return nil
						})
					})
					if err != nil {
						return err
					}
				}
				return nil
			},
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// nlbus call against a service on an in-test daemon: names from the
// description the family registered, a dump, and refusals by the daemon
// and by the service.
func TestCallOnBus(t *testing.T) {
	srv := bustest.NewServer(t, nil)
	startKV(t, srv, "kv", []byte(kvDescription))
	call := callOn(srv)

	code, out, errOut := call("kv", "set", "key=a", "value=5")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "key: \"a\"\nvalue: 5\n", out)
	code, _, errOut = call("kv", "set", "key=b", "value=0x10")
	require.Equal(t, 0, code, errOut)

	code, out, errOut = call("kv", "list", "--dump", "--json")
	require.Equal(t, 0, code, errOut)
	var entries []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &entries), out)
	uid := float64(os.Geteuid())
	assert.Equal(t, []map[string]any{
		{"key": "a", "value": 5.0, "meta": map[string]any{"uid": uid}},
		{"key": "b", "value": 16.0, "meta": map[string]any{"uid": uid}},
	}, entries)

	code, out, errOut = call("kv", "list", "--dump")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "key: \"a\"\nvalue: 5\nmeta:\n  uid: ")
	assert.Contains(t, out, "\n\nkey: \"b\"\n")

	// The numeric form reaches the same family.
	code, out, errOut = call("kv", "1", "1:str=c", "2:u32=7")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "key: \"c\"\nvalue: 7\n", out, "the spec names the replies of a command given by number")

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"kv", "set", "key=a", "value=500"}, "numerical result out of range"}, // the daemon's policy check
		{[]string{"kv", "set", "key=ro", "value=1"}, "kv: key ro is read-only"},        // the service's error
		{[]string{"kv", "set", "colour=red"}, `unknown attribute "colour" in set "entry"`},
		{[]string{"kv", "delete"}, `family "kv" has no command "delete" (commands: set, list)`},
		{[]string{"kv", "list"}, "takes only a dump (add --dump)"},
		{[]string{"kv", "set", "--dump", "key=a"}, "takes no dump"},
		{[]string{"absent", "set"}, `"absent" not found`},
	} {
		code, out, errOut := call(tc.args...)
		assert.Equal(t, 1, code, "%v: %s", tc.args, out)
		assert.Contains(t, errOut, tc.want, "%v", tc.args)
	}
}

// A family without a description is called by numbers; --spec names it.
func TestCallWithoutDescription(t *testing.T) {
	srv := bustest.NewServer(t, nil)
	startKV(t, srv, "kv", nil)
	call := callOn(srv)

	code, out, errOut := call("kv", "1", "1:str=a", "2:u32=5")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "1: 6100\n2: 05000000\n", out)
	code, out, errOut = call("kv", "2", "--dump", "--json")
	require.Equal(t, 0, code, errOut)
	var entries []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &entries), out)
	require.Len(t, entries, 1)
	assert.Equal(t, "6100", entries[0]["1"])
	assert.Contains(t, entries[0]["3"], "1", "an unknown nest is shown nested, by numbers")

	code, _, errOut = call("kv", "set", "key=a")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, `family "kv" has no names (it registered no description)`)
	code, _, errOut = call("kv", "1", "key=a")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "there is no spec; use the numeric form N:TYPE=VALUE")

	spec := filepath.Join(t.TempDir(), "kv.yaml")
	require.NoError(t, os.WriteFile(spec, []byte(kvDescription), 0o600))
	code, out, errOut = call("--spec", spec, "kv", "set", "key=b", "value=6")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "key: \"b\"\nvalue: 6\n", out)

	// A spec whose fixed header the family does not have is refused.
	legacy := filepath.Join(t.TempDir(), "legacy.yaml")
	require.NoError(t, os.WriteFile(legacy, []byte(kvDescription+`  fixed-header: hdr
definitions:
  - {name: hdr, type: struct, members: [{name: ifindex, type: u32}]}
`), 0o600))
	code, _, errOut = call("--spec", legacy, "kv", "set", "key=b")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, `the spec's fixed header is 4 bytes, family "kv"'s 0`)
}

func TestCallUsage(t *testing.T) {
	code, out, _ := run("call", "-h")
	require.Equal(t, 0, code)
	for _, want := range []string{"usage: nlbus call FAMILY COMMAND [ARG...] [flags]", "-dump", "-json", "-spec FILE", "-kernel", "-socket", "N:TYPE=VALUE", "NEST.NAME=VALUE"} {
		assert.Contains(t, out, want)
	}
	code, _, errOut := run("call", "kv")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "missing COMMAND")
}

// A --spec that never ends (a FIFO, /dev/zero) is read only up to the
// largest spec and refused, not read into memory without bound.
func TestCallSpecUnbounded(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "spec.fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	written := make(chan int64, 1)
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			written <- -1
			return
		}
		defer f.Close()
		chunk := make([]byte, 64<<10)
		var n int64
		for n < 16*ynl.MaxSpecSize { // stands for "forever"
			m, err := f.Write(chunk)
			n += int64(m)
			if err != nil {
				break
			}
		}
		written <- n
	}()
	code, _, errOut := run("call", "--spec", fifo, "kv", "get")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "larger than")
	n := <-written
	assert.Less(t, n, int64(4*ynl.MaxSpecSize), "the reader stopped after MaxSpecSize bytes")
}

// callOn runs nlbus call against srv's socket.
func callOn(srv *bustest.Server) func(args ...string) (int, string, string) {
	return func(args ...string) (int, string, string) {
		return run(append([]string{"call", "--socket", srv.Path}, args...)...)
	}
}
