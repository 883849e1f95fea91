package bus_test

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/nlbus/netlink/internal/nettest"
)

// nlbusBin is the nlbus binary TestMain builds for the integration tests.
var nlbusBin string

// TestMain runs a helper process when asked (see helper_test.go), builds
// the nlbus binary, and fails the run when the tests leak goroutines or
// file descriptors.
func TestMain(m *testing.M) {
	if h := os.Getenv(helperEnv); h != "" {
		os.Exit(runHelper(h))
	}
	flag.Parse()
	dir, err := os.MkdirTemp("", "nlbus-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Chmod(dir, 0o755) // an unprivileged child runs it too
	nlbusBin = filepath.Join(dir, "nlbus")
	if !testing.Short() {
		out, err := exec.Command("go", "build", "-o", nlbusBin, "../cmd/nlbus").CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "building nlbus: %v\n%s", err, out)
			os.Exit(1)
		}
	}
	code := nettest.RunCheckingLeaks(m)
	os.RemoveAll(dir)
	os.Exit(code)
}
