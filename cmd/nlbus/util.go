package main

import (
	"encoding/binary"
	"encoding/json"
	"io"

	"github.com/nlbus/netlink/compat"
)

var netlinkNE = binary.NativeEndian

// flagNames names the interface flags (IFF_*) in ifi_flags of OS o. All
// but IFF_MULTICAST have the same bit on Linux and FreeBSD; IFF_MULTICAST is
// 0x1000 on Linux (include/uapi/linux/if.h) and 0x8000 on FreeBSD
// (sys/net/if.h, where 0x1000 is IFF_LINK0).
func flagNames(o compat.OS, raw uint32) []string {
	multicast := uint32(0x1000)
	if o == compat.FreeBSD {
		multicast = 0x8000
	}
	names := []struct {
		bit  uint32
		name string
	}{
		{0x1, "up"}, {0x2, "broadcast"}, {0x8, "loopback"}, {0x10, "pointtopoint"},
		{0x40, "running"}, {0x100, "promisc"}, {multicast, "multicast"},
	}
	out := []string{}
	for _, n := range names {
		if raw&n.bit != 0 {
			out = append(out, n.name)
		}
	}
	return out
}

// flagsJSON is how every command shows a flag word in JSON: the number and
// the names of the bits the command knows, in a fixed order. A bit without a
// name is in Value only. Names is [] (never null) when no known bit is set.
type flagsJSON struct {
	Value uint32   `json:"value"`
	Names []string `json:"names"`
}

// linkFlagsJSON is the JSON form of ifi_flags on OS o.
func linkFlagsJSON(o compat.OS, raw uint32) flagsJSON {
	return flagsJSON{Value: raw, Names: flagNames(o, raw)}
}

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
