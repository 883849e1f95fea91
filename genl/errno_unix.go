//go:build unix

package genl

import (
	"errors"

	"golang.org/x/sys/unix"
)

// Errors a controller replies with, in the host's numbering: the kernel
// reports errnos in its own OS's numbers, and the bus in the host's.

// isNotSupported reports a controller that lacks a command: EOPNOTSUPP
// (Linux 95; FreeBSD's ENOTSUP, 45) or ENOTSUP where it differs (macOS).
func isNotSupported(err error) bool {
	return errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOTSUP)
}

// isNoEntry reports an unknown family or operation (ENOENT).
func isNoEntry(err error) bool { return errors.Is(err, unix.ENOENT) }
