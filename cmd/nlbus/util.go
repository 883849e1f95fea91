package main

import (
	"encoding/binary"
)

var netlinkNE = binary.NativeEndian

// flagNames names the interface flags (IFF_*) shared by Linux and FreeBSD.
func flagNames(raw uint32) []string {
	names := []struct {
		bit  uint32
		name string
	}{
		{0x1, "up"}, {0x2, "broadcast"}, {0x8, "loopback"}, {0x10, "pointtopoint"},
		{0x40, "running"}, {0x100, "promisc"}, {0x1000, "multicast"},
	}
	var out []string
	for _, n := range names {
		if raw&n.bit != 0 {
			out = append(out, n.name)
		}
	}
	return out
}
