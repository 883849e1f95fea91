package netlink_test

import (
	"os"
	"testing"

	"github.com/nlbus/netlink/internal/nettest"
)

// TestMain fails the run when the tests leak goroutines or file descriptors.
func TestMain(m *testing.M) { os.Exit(nettest.RunCheckingLeaks(m)) }
