//go:build !linux && !freebsd

package bus

import (
	"fmt"
	"runtime"

	"github.com/nlbus/netlink/compat"
)

func peerCreds(fd int) (creds, error) {
	return creds{}, fmt.Errorf("nlbus: peer credentials on %s/%s: %w", runtime.GOOS, runtime.GOARCH, compat.ErrNotSupported)
}
