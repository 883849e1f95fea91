package uevent_test

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nlbus/netlink/uevent"
)

// vethAdd is the shape of the kernel's uevent for a new veth (as captured
// in kernel_linux_test.go).
const vethAdd = "add@/devices/virtual/net/va\x00ACTION=add\x00DEVPATH=/devices/virtual/net/va\x00SUBSYSTEM=net\x00" +
	"INTERFACE=va\x00IFINDEX=3\x00SEQNUM=5181\x00"

// udevMessage frames env in udevd's libudev header.
func udevMessage(hsize, off uint32, env string, hashes ...uint32) []byte {
	b := []byte("libudev\x00")
	b = binary.BigEndian.AppendUint32(b, 0xfeedcafe)
	b = binary.NativeEndian.AppendUint32(b, hsize)
	b = binary.NativeEndian.AppendUint32(b, off)
	b = binary.NativeEndian.AppendUint32(b, uint32(len(env)))
	for _, h := range hashes {
		b = binary.BigEndian.AppendUint32(b, h)
	}
	for uint32(len(b)) < off {
		b = append(b, 0)
	}
	return append(b, env...)
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want uevent.Event // compared field by field below
		env  map[string]string
	}{
		{
			name: "kernel",
			in:   []byte(vethAdd),
			want: uevent.Event{Source: uevent.Kernel, Action: uevent.Add, DevPath: []byte("/devices/virtual/net/va"), Subsystem: []byte("net"), Seqnum: 5181},
			env:  map[string]string{"ACTION": "add", "DEVPATH": "/devices/virtual/net/va", "SUBSYSTEM": "net", "INTERFACE": "va", "IFINDEX": "3", "SEQNUM": "5181"},
		},
		{
			name: "kernel header only supplies action and devpath",
			in:   []byte("remove@/devices/x\x00SUBSYSTEM=block\x00"),
			want: uevent.Event{Source: uevent.Kernel, Action: uevent.Remove, DevPath: []byte("/devices/x"), Subsystem: []byte("block")},
			env:  map[string]string{"SUBSYSTEM": "block"},
		},
		{
			name: "kernel without trailing NUL, empty entries and values",
			in:   []byte("change@/devices/y\x00\x00ACTION=change\x00DEVPATH=/devices/y\x00EMPTY=\x00LAST=1"),
			want: uevent.Event{Source: uevent.Kernel, Action: uevent.Change, DevPath: []byte("/devices/y")},
			env:  map[string]string{"ACTION": "change", "DEVPATH": "/devices/y", "EMPTY": "", "LAST": "1"},
		},
		{
			name: "repeated variables: the first counts",
			in:   []byte("add@/devices/r\x00SEQNUM=0\x00SEQNUM=x\x00SUBSYSTEM=\x00SUBSYSTEM=net\x00ACTION=move\x00ACTION=add\x00"),
			want: uevent.Event{Source: uevent.Kernel, Action: uevent.Move, DevPath: []byte("/devices/r"), Subsystem: []byte("")},
			env:  map[string]string{"SEQNUM": "0", "SUBSYSTEM": "", "ACTION": "move"},
		},
		{
			name: "unknown action",
			in:   []byte("frob@/devices/z\x00ACTION=frob\x00DEVPATH=/devices/z\x00"),
			want: uevent.Event{Source: uevent.Kernel, Action: "frob", DevPath: []byte("/devices/z")},
			env:  map[string]string{"ACTION": "frob", "DEVPATH": "/devices/z"},
		},
		{
			name: "udev",
			in:   udevMessage(40, 40, "ACTION=add\x00DEVPATH=/devices/virtual/net/va\x00SUBSYSTEM=net\x00SEQNUM=9\x00ID_NET_NAME=va\x00", 0x02b370c3, 0, 0x02080400, 0x10c00001),
			want: uevent.Event{
				Source: uevent.Udev, Action: uevent.Add, DevPath: []byte("/devices/virtual/net/va"), Subsystem: []byte("net"), Seqnum: 9,
				Udev: uevent.UdevHeader{SubsystemHash: 0x02b370c3, TagBloom: 0x0208040010c00001},
			},
			env: map[string]string{"ACTION": "add", "DEVPATH": "/devices/virtual/net/va", "SUBSYSTEM": "net", "SEQNUM": "9", "ID_NET_NAME": "va"},
		},
		{
			name: "udev with a short header and padding after it",
			in:   udevMessage(24, 32, "ACTION=bind\x00DEVPATH=/devices/p\x00"),
			want: uevent.Event{Source: uevent.Udev, Action: uevent.Bind, DevPath: []byte("/devices/p")},
			env:  map[string]string{"ACTION": "bind", "DEVPATH": "/devices/p"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ev uevent.Event
			require.NoError(t, uevent.Parse(tt.in, &ev))
			assert.Equal(t, tt.want.Source, ev.Source)
			assert.Equal(t, tt.want.Action, ev.Action)
			assert.Equal(t, string(tt.want.DevPath), string(ev.DevPath))
			assert.Equal(t, string(tt.want.Subsystem), string(ev.Subsystem))
			assert.Equal(t, tt.want.Seqnum, ev.Seqnum)
			assert.Equal(t, tt.want.Udev, ev.Udev)
			assert.Equal(t, tt.env, ev.Env())

			seen := map[string]bool{}
			for k, v := range ev.Vars() {
				if !seen[string(k)] { // Vars yields repeats too; the first counts
					seen[string(k)] = true
					assert.Equal(t, tt.env[string(k)], string(v))
				}
			}
			assert.Len(t, seen, len(tt.env))
			for k, v := range tt.env {
				got, ok := ev.Lookup(k)
				assert.True(t, ok, k)
				assert.Equal(t, v, string(got))
				assert.Equal(t, v, ev.Get(k))
			}
			_, ok := ev.Lookup("NOPE")
			assert.False(t, ok)
		})
	}
}

func TestParseMalformed(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "no NUL"},
		{"no NUL", []byte("add@/devices/x"), "no NUL"},
		{"netlink message", []byte{20, 0, 0, 0, 3, 0, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, "not ACTION@/DEVPATH"},
		{"no at", []byte("add/devices/x\x00"), "not ACTION@/DEVPATH"},
		{"empty action", []byte("@/devices/x\x00"), "not ACTION@/DEVPATH"},
		{"relative devpath", []byte("add@devices/x\x00"), "not ACTION@/DEVPATH"},
		{"no equals", []byte("add@/d\x00ACTION=add\x00JUNK\x00"), "without '='"},
		{"empty key", []byte("add@/d\x00=v\x00"), "without a key"},
		{"bad seqnum", []byte("add@/d\x00SEQNUM=12a\x00"), "SEQNUM"},
		{"seqnum overflow", []byte("add@/d\x00SEQNUM=18446744073709551616\x00"), "SEQNUM"},
		{"empty action variable", []byte("add@/d\x00ACTION=\x00"), "no ACTION"},
		{"action with at", []byte("add@/d\x00ACTION=a@b\x00"), "contains '@'"},
		{"relative devpath variable", []byte("add@/d\x00DEVPATH=d\x00"), "not absolute"},
		{"udev short", []byte("libudev\x00\xfe\xed\xca\xfe"), "libudev header"},
		{"udev magic", udevMessage(40, 40, "ACTION=add\x00DEVPATH=/d\x00")[:12:12], "libudev header"},
		{"udev wrong magic", append([]byte("libudev\x00\xca\xfe\xfe\xed"), make([]byte, 40)...), "magic"},
		{"udev properties past end", func() []byte {
			b := udevMessage(40, 40, "ACTION=add\x00DEVPATH=/d\x00", 0, 0, 0, 0)
			binary.NativeEndian.PutUint32(b[20:], 1000)
			return b
		}(), "outside"},
		{"udev offset wraps", func() []byte {
			b := udevMessage(40, 40, "ACTION=add\x00DEVPATH=/d\x00", 0, 0, 0, 0)
			binary.NativeEndian.PutUint32(b[16:], 0xffffffff)
			binary.NativeEndian.PutUint32(b[20:], 2)
			return b
		}(), "outside"},
		{"udev offset inside header", udevMessage(40, 16, ""), "outside"},
		{"udev no devpath", udevMessage(40, 40, "ACTION=add\x00", 0, 0, 0, 0), "no DEVPATH"},
		{"too long", append([]byte("add@/d\x00X="), make([]byte, uevent.MaxSize)...), "exceeds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ev uevent.Event
			err := uevent.Parse(tt.in, &ev)
			require.ErrorIs(t, err, uevent.ErrMalformed)
			assert.Contains(t, err.Error(), tt.want)
			assert.Equal(t, strings.ToLower(err.Error()[:1]), err.Error()[:1])
		})
	}
}

func TestEventCopy(t *testing.T) {
	for _, in := range [][]byte{
		[]byte(vethAdd),
		[]byte("remove@/devices/x\x00SUBSYSTEM=block\x00"), // DEVPATH from the header
		udevMessage(40, 40, "ACTION=add\x00DEVPATH=/d\x00SUBSYSTEM=s\x00", 1, 2, 3, 4),
	} {
		buf := bytes.Clone(in)
		var ev uevent.Event
		require.NoError(t, uevent.Parse(buf, &ev))
		want := ev.Env()
		c := ev.Copy()
		devpath, subsystem := string(ev.DevPath), string(ev.Subsystem)
		for i := range buf {
			buf[i] = 'X'
		}
		assert.Equal(t, want, c.Env(), "the copy's variables survive the buffer")
		assert.Equal(t, devpath, string(c.DevPath))
		assert.Equal(t, subsystem, string(c.Subsystem))
		assert.Equal(t, ev.Action, c.Action)
		assert.Equal(t, ev.Seqnum, c.Seqnum)
		assert.Equal(t, ev.Udev, c.Udev)
	}
}

func TestAppendRoundTrip(t *testing.T) {
	var ev uevent.Event
	require.NoError(t, uevent.Parse([]byte(vethAdd), &ev))
	ev.Udev = uevent.UdevHeader{SubsystemHash: 7, DevTypeHash: 8, TagBloom: 1<<63 | 9}

	assert.Equal(t, []byte(vethAdd), ev.AppendKernel(nil), "the kernel framing re-encodes byte for byte")

	b := ev.AppendUdev([]byte("prefix"))
	require.True(t, bytes.HasPrefix(b, []byte("prefix")))
	var got uevent.Event
	require.NoError(t, uevent.Parse(b[len("prefix"):], &got))
	assert.Equal(t, uevent.Udev, got.Source)
	assert.Equal(t, ev.Udev, got.Udev)
	assert.Equal(t, ev.Env(), got.Env())
	assert.Equal(t, ev.Seqnum, got.Seqnum)
}

func TestSourceString(t *testing.T) {
	assert.Equal(t, "kernel", uevent.Kernel.String())
	assert.Equal(t, "udev", uevent.Udev.String())
	assert.Equal(t, "source(9)", uevent.Source(9).String())
}

func TestAllocsParse(t *testing.T) {
	kernel, udev := []byte(vethAdd), udevMessage(40, 40, "ACTION=add\x00DEVPATH=/d\x00SUBSYSTEM=s\x00SEQNUM=1\x00", 1, 2, 3, 4)
	var ev uevent.Event
	n := 0
	allocs := testing.AllocsPerRun(100, func() {
		for _, b := range [][]byte{kernel, udev} {
			if err := uevent.Parse(b, &ev); err != nil {
				panic(err)
			}
			for k, v := range ev.Vars() {
				n += len(k) + len(v)
			}
			v, _ := ev.Lookup("SUBSYSTEM")
			n += len(v)
		}
	})
	assert.Zero(t, allocs)
	assert.NotZero(t, n)
}
