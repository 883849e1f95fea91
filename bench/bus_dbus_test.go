//go:build linux

package bench

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// The D-Bus comparison: Debian's dbus-daemon (apt-get install dbus-daemon;
// the cells skip with that reason when it is absent) and godbus, with the
// same process layout and 64-byte payloads as the bus benchmarks.

const (
	dbusName  = "org.nlbus.Bench"
	dbusPath  = dbus.ObjectPath("/org/nlbus/Bench")
	dbusIface = "org.nlbus.Bench"
)

// startDBus runs a private dbus-daemon and returns its address.
func startDBus(tb testing.TB) string {
	tb.Helper()
	bin, err := exec.LookPath("dbus-daemon")
	if err != nil {
		tb.Skip("dbus-daemon not installed (apt-get install dbus-daemon): no D-Bus comparison")
	}
	dir := filepath.Dir(sockPath(tb))
	sock := filepath.Join(dir, "dbus.sock")
	conf := filepath.Join(dir, "bus.conf")
	err = os.WriteFile(conf, []byte(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=`+sock+`</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
  <limit name="max_incoming_bytes">1000000000</limit>
  <limit name="max_outgoing_bytes">1000000000</limit>
  <limit name="max_message_size">1000000</limit>
</busconfig>
`), 0o644)
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(bin, "--config-file="+conf, "--nofork", "--print-address")
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	// dbus-daemon warns that it cannot raise its descriptor limit in a
	// container; its standard error is left out.
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		tb.Fatalf("dbus-daemon: %v", err)
	}
	return strings.TrimSpace(addr)
}

// benchService is the D-Bus method the round trip calls.
type benchService struct{}

func (benchService) Ping(b []byte) ([]byte, *dbus.Error) { return b, nil }

// runDBusHelper runs a D-Bus peer role (see runBusHelper).
func runDBusHelper(role, addr string, ready func(), out *bufio.Writer) error {
	conn, err := dbus.Connect(addr)
	if err != nil {
		return err
	}
	switch role {
	case "dbus-service":
		if err := conn.Export(benchService{}, dbusPath, dbusIface); err != nil {
			return err
		}
		if r, err := conn.RequestName(dbusName, dbus.NameFlagDoNotQueue); err != nil || r != dbus.RequestNameReplyPrimaryOwner {
			return fmt.Errorf("request name: %v %v", r, err)
		}
		ready()
		select {}
	case "dbus-sub":
		if err := conn.AddMatchSignal(dbus.WithMatchInterface(dbusIface)); err != nil {
			return err
		}
		ch := make(chan *dbus.Signal, 1<<16)
		conn.Signal(ch)
		ready()
		count := 0
		for s := range ch {
			if s.Name == dbusIface+".End" {
				fmt.Fprintln(out, count)
				out.Flush()
				count = 0
				continue
			}
			count++
		}
	}
	return fmt.Errorf("unknown role %q", role)
}

// BenchmarkDBusMethodCall: a method call with a 64-byte argument and its
// reply through dbus-daemon, from godbus to a godbus service process.
func BenchmarkDBusMethodCall(b *testing.B) {
	addr := startDBus(b)
	startHelper(b, "dbus-service", "", "DBUS_ADDR="+addr)
	conn, err := dbus.Connect(addr)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	obj := conn.Object(dbusName, dbusPath)
	arg := make([]byte, 64)
	lat := make(latencies, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		t0 := time.Now()
		var reply []byte
		if err := obj.Call(dbusIface+".Ping", 0, arg).Store(&reply); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	lat.report(b, time.Since(start))
}

// BenchmarkDBusSignal10: one emitter, 10 subscriber processes matching the
// interface; every signal must reach all 10.
func BenchmarkDBusSignal10(b *testing.B) {
	const subs = 10
	addr := startDBus(b)
	var hs []*helper
	for range subs {
		hs = append(hs, startHelper(b, "dbus-sub", "", "DBUS_ADDR="+addr))
	}
	conn, err := dbus.Connect(addr)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	arg := make([]byte, 64)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if err := conn.Emit(dbusPath, dbusIface+".Data", arg); err != nil {
			b.Fatal(err)
		}
	}
	conn.Emit(dbusPath, dbusIface+".End")
	for i, h := range hs {
		if got := h.count(b); got != b.N {
			b.Fatalf("subscriber %d received %d of %d", i, got, b.N)
		}
	}
	b.ReportMetric(float64(subs*b.N)/time.Since(start).Seconds(), "deliveries/s")
}
