package main

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/nlbus/netlink/compat"
)

// IFF_MULTICAST is 0x1000 on Linux (include/uapi/linux/if.h) but 0x8000 on
// FreeBSD (sys/net/if.h), where 0x1000 is IFF_LINK0.
func TestFlagNamesPerOS(t *testing.T) {
	tests := []struct {
		name string
		os   compat.OS
		raw  uint32
		want []string
	}{
		{"linux multicast", compat.Linux, 0x1 | 0x1000, []string{"up", "multicast"}},
		{"linux 0x8000 is not multicast", compat.Linux, 0x8000, []string{}},
		{"freebsd multicast", compat.FreeBSD, 0x1 | 0x8000, []string{"up", "multicast"}},
		{"freebsd link0 is not multicast", compat.FreeBSD, 0x1000, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, flagNames(tt.os, tt.raw))
		})
	}
}
