//go:build !linux && !freebsd

package netlink_test

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/nlbus/netlink"
)

// On an OS without kernel netlink the package builds, and Dial says so with
// an error wrapping ErrNotSupported that names GOOS/GOARCH.
func TestDialNotSupported(t *testing.T) {
	for _, proto := range []int{netlink.Route, netlink.Generic} {
		c, err := netlink.Dial(proto, nil)
		if c != nil {
			c.Close()
		}
		if !errors.Is(err, netlink.ErrNotSupported) {
			t.Fatalf("Dial(%d) = %v, want an error wrapping ErrNotSupported", proto, err)
		}
		if !strings.Contains(err.Error(), runtime.GOOS+"/"+runtime.GOARCH) {
			t.Errorf("error %q does not name %s/%s", err, runtime.GOOS, runtime.GOARCH)
		}
	}
}
