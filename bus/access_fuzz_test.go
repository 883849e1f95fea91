package bus_test

import (
	"os"
	"testing"

	"github.com/nlbus/netlink/bus"
)

// FuzzParseAccess: the access-file parser never panics on any input, and
// what it accepts holds no more rules than the limit. Names resolve
// against a fixed user database (ParseAccessNoNSS): the system's name
// services may take seconds to say a random name is unknown.
func FuzzParseAccess(f *testing.F) {
	if b, err := os.ReadFile("../dist/access.yaml.example"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("rules:\n  - {allow: register, family: \"a.*\", uid: [0, 1]}\n  - {deny: send, port: \"1-9\", multicast: 300}\n"))
	f.Add([]byte("admin_groups: 0\nrules: [{deny: call, commands: [admin, 3, set]}, {allow: join, family: x}]\n"))
	f.Add([]byte("rules:\n  - &a {allow: join}\n  - *a\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := bus.ParseAccessNoNSS(b)
		if err != nil {
			return
		}
		if a.Len() > 4096 {
			t.Fatalf("%d rules accepted", a.Len())
		}
	})
}
