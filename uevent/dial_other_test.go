//go:build !linux

package uevent_test

import (
	"errors"
	"testing"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/uevent"
)

// Kernel uevents are Linux's: elsewhere (FreeBSD's netlink has no
// NETLINK_KOBJECT_UEVENT) Dial says so with an error wrapping
// ErrNotSupported, while Parse and Reader over other transports work.
func TestDialNotSupported(t *testing.T) {
	r, err := uevent.Dial(nil)
	if r != nil {
		r.Close()
	}
	if !errors.Is(err, netlink.ErrNotSupported) {
		t.Fatalf("Dial = %v, want an error wrapping ErrNotSupported", err)
	}
}
