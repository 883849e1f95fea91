//go:build linux

package bench

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/nlbus/netlink/bench/internal/testns"
)

// Namespaces of routes, built once per process on first use and deleted by
// TestMain.
var nss struct {
	sync.Mutex
	m map[int]*testns.NS
}

// routesNS returns a namespace holding n routes, skipping the benchmark when
// the process cannot create one.
func routesNS(tb testing.TB, n int) *testns.NS {
	tb.Helper()
	if !testns.IsRoot() {
		tb.Skip("needs root to create a network namespace with routes")
	}
	nss.Lock()
	defer nss.Unlock()
	if ns := nss.m[n]; ns != nil {
		return ns
	}
	ns, err := testns.Create(fmt.Sprintf("nlbench-%d-%d", os.Getpid(), n), n)
	if err != nil {
		tb.Fatalf("building a namespace with %d routes: %v", n, err)
	}
	if nss.m == nil {
		nss.m = make(map[int]*testns.NS)
	}
	nss.m[n] = ns
	return ns
}

func TestMain(m *testing.M) {
	code := m.Run()
	nss.Lock()
	for _, ns := range nss.m {
		if err := ns.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "cleanup:", err)
			code = 1
		}
	}
	nss.Unlock()
	os.Exit(code)
}
