package uevent_test

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"testing"

	"github.com/nlbus/netlink/uevent"
)

// FuzzParse fuzzes Parse on both framings: it must never panic; an event it
// accepts has an action and an absolute DEVPATH, re-frames (AppendKernel,
// or AppendUdev for udevd's framing) into a datagram that parses to the
// same event, and its Copy does not alias the input.
//
// The committed corpus (testdata/fuzz/FuzzParse) holds uevents captured from
// a Linux 6.18 kernel (a veth pair's add and remove, a queue's add) and a
// libudev message framed by AppendUdev around one of them. When
// NLBUS_PYROUTE2_DIR (or ../testdata/pyroute2) holds pyroute2's
// uevent_*.dump samples (see pyroute2_test.go in the root package), they are
// added as seeds.
func FuzzParse(f *testing.F) {
	f.Add([]byte(vethAdd))
	f.Add(udevMessage(40, 40, "ACTION=add\x00DEVPATH=/d\x00SUBSYSTEM=s\x00SEQNUM=1\x00", 1, 2, 3, 4))
	for _, b := range pyroute2Uevents(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var ev uevent.Event
		if err := uevent.Parse(b, &ev); err != nil {
			return
		}
		if ev.Action == "" || len(ev.DevPath) == 0 || ev.DevPath[0] != '/' {
			t.Fatalf("accepted an event without action or devpath: %q %q", ev.Action, ev.DevPath)
		}
		if ev.Source != uevent.Kernel && ev.Source != uevent.Udev {
			t.Fatalf("source %v", ev.Source)
		}
		var re []byte
		if ev.Source == uevent.Kernel {
			re = ev.AppendKernel(nil)
		} else {
			re = ev.AppendUdev(nil)
		}
		var ev2 uevent.Event
		if err := uevent.Parse(re, &ev2); err != nil {
			t.Fatalf("re-framed event does not parse: %v\n%q", err, re)
		}
		if ev2.Source != ev.Source || ev2.Action != ev.Action || !bytes.Equal(ev2.DevPath, ev.DevPath) ||
			!bytes.Equal(ev2.Subsystem, ev.Subsystem) || ev2.Seqnum != ev.Seqnum || ev2.Udev != ev.Udev ||
			!maps.Equal(ev2.Env(), ev.Env()) {
			t.Fatalf("round trip changed the event:\n%+v\n%+v", ev, ev2)
		}

		env := ev.Env()
		c := ev.Copy()
		in := bytes.Clone(b)
		for i := range b {
			b[i] ^= 0xff
		}
		if !maps.Equal(c.Env(), env) {
			t.Fatalf("the copy aliases the input")
		}
		copy(b, in)
	})
}

// pyroute2Uevents returns the datagrams of pyroute2's uevent samples, when
// NLBUS_PYROUTE2_DIR is set.
func pyroute2Uevents(tb testing.TB) [][]byte {
	dir := os.Getenv("NLBUS_PYROUTE2_DIR")
	if dir == "" {
		dir = filepath.Join("..", "testdata", "pyroute2")
		if _, err := os.Stat(dir); err != nil {
			return nil
		}
	}
	var out [][]byte
	for _, name := range []string{"uevent_kernel_backlight.dump", "uevent_udevd_backlight.dump"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			tb.Fatalf("NLBUS_PYROUTE2_DIR: %v", err)
		}
		out = append(out, hexDump(tb, b))
	}
	return out
}

// hexDump decodes the "xx:xx:..." lines of a pyroute2 dump up to its
// expected-decode section.
func hexDump(tb testing.TB, b []byte) []byte {
	var out []byte
	for line := range bytes.Lines(b) {
		line = bytes.TrimSpace(line)
		if bytes.HasPrefix(line, []byte("#:")) {
			break
		}
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		for tok := range bytes.SplitSeq(line, []byte(":")) {
			if len(tok) != 2 {
				tb.Fatalf("not a hex byte: %q", tok)
			}
			var v byte
			for _, c := range tok {
				v <<= 4
				switch {
				case c >= '0' && c <= '9':
					v |= c - '0'
				case c >= 'a' && c <= 'f':
					v |= c - 'a' + 10
				default:
					tb.Fatalf("not a hex byte: %q", tok)
				}
			}
			out = append(out, v)
		}
	}
	return out
}

// TestPyroute2Uevents parses pyroute2's uevent samples and compares with
// pyroute2's own decode. The file names are pyroute2's: its
// uevent_kernel_backlight.dump holds udevd's libudev framing and
// uevent_udevd_backlight.dump the kernel's. pyroute2's expected decode of
// the first omits its first variable, UDEV_DATABASE_VERSION=1, which the
// bytes hold; the check below includes it.
func TestPyroute2Uevents(t *testing.T) {
	samples := pyroute2Uevents(t)
	if samples == nil {
		t.Skip("skipping: pyroute2's uevent_*.dump samples are neither in NLBUS_PYROUTE2_DIR nor in ../testdata/pyroute2")
	}
	const devpath = "/devices/pci0000:00/0000:00:02.0/drm/card0/card0-eDP-1/intel_backlight"
	var ev uevent.Event
	if err := uevent.Parse(samples[0], &ev); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"ACTION": "change", "DEVPATH": devpath, "SUBSYSTEM": "backlight", "SOURCE": "sysfs",
		"SEQNUM": "19371", "USEC_INITIALIZED": "15584837", "TAGS": ":systemd:seat:",
		"NVME_HOST_IFACE": "none", "CURRENT_TAGS": ":systemd:seat:", "ID_PATH": "pci-0000:00:02.0",
		"ID_PATH_TAG": "pci-0000_00_02_0", "ID_FOR_SEAT": "backlight-pci-0000_00_02_0",
		"SYSTEMD_WANTS":         "systemd-backlight@backlight:intel_backlight.service",
		"UDEV_DATABASE_VERSION": "1",
	}
	if ev.Source != uevent.Udev || ev.Action != uevent.Change || string(ev.DevPath) != devpath ||
		string(ev.Subsystem) != "backlight" || ev.Seqnum != 19371 || !maps.Equal(ev.Env(), want) {
		t.Fatalf("udevd sample: %+v\n%v", ev, ev.Env())
	}
	// The filter words as the bytes read (pyroute2 does not decode them).
	if want := (uevent.UdevHeader{SubsystemHash: 0xc370b302, TagBloom: 0x0208040010c00001}); ev.Udev != want {
		t.Fatalf("udevd sample header: %+#v, want %+#v", ev.Udev, want)
	}

	if err := uevent.Parse(samples[1], &ev); err != nil {
		t.Fatal(err)
	}
	want = map[string]string{"ACTION": "change", "DEVPATH": devpath, "SUBSYSTEM": "backlight", "SOURCE": "sysfs", "SEQNUM": "19372"}
	if ev.Source != uevent.Kernel || ev.Action != uevent.Change || string(ev.DevPath) != devpath || ev.Seqnum != 19372 || !maps.Equal(ev.Env(), want) {
		t.Fatalf("kernel sample: %+v\n%v", ev, ev.Env())
	}
}
