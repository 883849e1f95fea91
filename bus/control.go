package bus

import (
	"fmt"

	"github.com/nlbus/netlink"
)

// The bus-control family: generic netlink messages (a 4-byte genlmsghdr and
// attributes) of type FamilyID sent to port 0. See docs/PROTOCOL.md.
const (
	// FamilyID is the message type of bus-control messages. 0x10 is the
	// generic-netlink controller (GENL_ID_CTRL), 0x12-0x1f are kept for
	// later bus use, and families registered on the bus get IDs from 0x20.
	FamilyID = 0x11
	// FamilyName is the family's name.
	FamilyName = "nlbus"
	// FamilyVersion is the genlmsghdr version the daemon sends.
	FamilyVersion = 1
	// TypeData is the message type `nlbus send` gives a raw payload unless
	// told otherwise; the daemon relays every type alike.
	TypeData = 0x12
)

// Bus-control commands (genlmsghdr.cmd).
const (
	CmdHello        = 1 // daemon → client on accept; a request returns it again
	CmdBind         = 2 // AttrPort: move to that port (EADDRINUSE if taken)
	CmdJoin         = 3 // AttrGroup
	CmdLeave        = 4 // AttrGroup
	CmdGetPort      = 5 // dump (or AttrPort): one message per port
	CmdGetStats     = 6 // the daemon's counters
	CmdPortReleased = 7 // notification on GroupPorts
)

// Bus-control attributes.
const (
	AttrVersion     = 1  // u32 protocol version
	AttrPort        = 2  // u32
	AttrGroup       = 3  // u32
	AttrMaxDatagram = 4  // u32 bytes, envelope included
	AttrPID         = 5  // s32
	AttrUID         = 6  // u32
	AttrGID         = 7  // u32
	AttrGroups      = 8  // nested: AttrGroup per group joined
	AttrSent        = 9  // u64 datagrams the port sent
	AttrDelivered   = 10 // u64 datagrams delivered to the port
	AttrDropped     = 11 // u64 datagrams dropped for the port (its overruns)
	AttrQueueBytes  = 12 // u32 bytes queued for the port now
	AttrQueueFrames = 13 // u32 frames queued for the port now
	AttrUptime      = 14 // u64 milliseconds since the daemon started
	AttrPorts       = 15 // u32 ports bound now
	AttrConnections = 16 // u64 connections accepted since start
	AttrRouted      = 17 // u64 datagrams routed
	AttrBadFrames   = 18 // u64 malformed datagrams received
	AttrRefused     = 19 // u64 unicasts refused (no port, queue full)
	AttrQueueLimit  = 20 // u32 per-port queue limit in bytes
	AttrServerPID   = 21 // s32 process ID of the daemon
	// AttrAccess (in the stats) nests the access rules' counters, Access*.
	// 22-39 are the registry's (family.go) and kept for it.
	AttrAccess = 40
)

// Attributes nested in AttrAccess.
const (
	AccessRules          = 1  // u32 rules in force
	AccessSource         = 2  // string: the file they came from
	AccessLoads          = 3  // u64 rule sets put in force (the first load and each reload)
	AccessError          = 4  // string: why the last reload failed (absent when it worked)
	AccessDeniedRegister = 5  // u64 registrations denied
	AccessDeniedCall     = 6  // u64 calls denied
	AccessDeniedSend     = 7  // u64 sends denied
	AccessDeniedJoin     = 8  // u64 joins denied
	AccessRevoked        = 9  // u64 families and group memberships taken back by a reload
	AccessDefaults       = 10 // string: "system" or "user", the defaults when no rule matches
)

// Well-known groups. Groups 1-15 are the daemon's; 0x80000000 is the
// controller's notify group (NotifyGroup) and the registry allocates
// family groups from 0x80000001; applications use 16-0x7fffffff.
const (
	// GroupPorts carries CmdPortReleased notifications; anyone may join.
	GroupPorts = 1
	// GroupMonitor receives a copy of every frame the daemon relays; only
	// root (or Server.MonitorGID) may join.
	GroupMonitor = 2
	// maxReservedGroup is the last group number the daemon keeps.
	maxReservedGroup = 15
)

// Ports below FirstAutoPort are never assigned automatically; ports below
// 1024 may only be bound by root.
const (
	FirstAutoPort   = 4096
	maxPrivPort     = 1023
	genlHeaderLen   = 4
	maxControlAttrs = 64
)

// ControlMessage builds a bus-control request with command cmd and the
// attributes enc writes (enc may be nil).
func ControlMessage(cmd uint8, flags netlink.HeaderFlags, enc func(ae *netlink.AttributeEncoder)) (netlink.Message, error) {
	b := []byte{cmd, FamilyVersion, 0, 0}
	var ae netlink.AttributeEncoder
	ae.Reset(b)
	if enc != nil {
		enc(&ae)
	}
	data, err := ae.Bytes()
	if err != nil {
		return netlink.Message{}, err
	}
	return netlink.Message{
		Header: netlink.Header{Type: FamilyID, Flags: netlink.Request | flags},
		Data:   data,
	}, nil
}

// controlHeader splits a bus-control payload into its command and attributes.
func controlHeader(data []byte) (cmd uint8, attrs []byte, err error) {
	if len(data) < genlHeaderLen {
		return 0, nil, fmt.Errorf("bus-control message of %d bytes has no genl header", len(data))
	}
	return data[0], data[genlHeaderLen:], nil
}

// PortInfo describes one port, as CmdGetPort reports it.
type PortInfo struct {
	Port        uint32   `json:"port"`
	PID         int32    `json:"pid"`
	UID         uint32   `json:"uid"`
	GID         uint32   `json:"gid"`
	Groups      []uint32 `json:"groups"`
	Sent        uint64   `json:"sent"`
	Delivered   uint64   `json:"delivered"`
	Dropped     uint64   `json:"dropped"`
	QueueBytes  uint32   `json:"queue_bytes"`
	QueueFrames uint32   `json:"queue_frames"`
}

// Stats are the daemon's counters, as CmdGetStats reports them.
type Stats struct {
	Version     uint32 `json:"version"`
	ServerPID   int32  `json:"server_pid"`
	UptimeMS    uint64 `json:"uptime_ms"`
	Ports       uint32 `json:"ports"`
	Connections uint64 `json:"connections"`
	Routed      uint64 `json:"routed"`
	Dropped     uint64 `json:"dropped"`
	Refused     uint64 `json:"refused"`
	BadFrames   uint64 `json:"bad_frames"`
	MaxDatagram uint32 `json:"max_datagram"`
	QueueLimit  uint32 `json:"queue_limit"`
	// Access are the access rules' counters (AttrAccess).
	Access AccessStats `json:"access"`
}

// Hello is what the daemon tells a client when it connects.
type Hello struct {
	Version     uint32
	Port        uint32
	MaxDatagram uint32
}

// ParseControl decodes the attributes of a bus-control message payload
// (genl header included) into cmd and fn's calls. It never panics: it
// stops at the first malformed attribute and returns its error, and at
// most maxControlAttrs attributes are looked at.
func ParseControl(data []byte, fn func(ad *netlink.AttributeDecoder)) (cmd uint8, err error) {
	cmd, attrs, err := controlHeader(data)
	if err != nil {
		return 0, err
	}
	ad := netlink.NewAttributeDecoder(attrs)
	for n := 0; ad.Next(); n++ {
		if n == maxControlAttrs {
			return cmd, fmt.Errorf("more than %d attributes", maxControlAttrs)
		}
		fn(ad)
	}
	return cmd, ad.Err()
}

// ParsePortInfo decodes a CmdGetPort message payload.
func ParsePortInfo(data []byte) (PortInfo, error) {
	var p PortInfo
	_, err := ParseControl(data, func(ad *netlink.AttributeDecoder) {
		switch ad.Type() {
		case AttrPort:
			p.Port = ad.Uint32()
		case AttrPID:
			p.PID = ad.Int32()
		case AttrUID:
			p.UID = ad.Uint32()
		case AttrGID:
			p.GID = ad.Uint32()
		case AttrSent:
			p.Sent = ad.Uint64()
		case AttrDelivered:
			p.Delivered = ad.Uint64()
		case AttrDropped:
			p.Dropped = ad.Uint64()
		case AttrQueueBytes:
			p.QueueBytes = ad.Uint32()
		case AttrQueueFrames:
			p.QueueFrames = ad.Uint32()
		case AttrGroups:
			ad.Nested(func(nad *netlink.AttributeDecoder) error {
				for nad.Next() {
					if nad.Type() == AttrGroup && len(p.Groups) < 1<<16 {
						p.Groups = append(p.Groups, nad.Uint32())
					}
				}
				return nil
			})
		}
	})
	return p, err
}

// ParseStats decodes a CmdGetStats reply payload.
func ParseStats(data []byte) (Stats, error) {
	var s Stats
	_, err := ParseControl(data, func(ad *netlink.AttributeDecoder) {
		switch ad.Type() {
		case AttrVersion:
			s.Version = ad.Uint32()
		case AttrServerPID:
			s.ServerPID = ad.Int32()
		case AttrUptime:
			s.UptimeMS = ad.Uint64()
		case AttrPorts:
			s.Ports = ad.Uint32()
		case AttrConnections:
			s.Connections = ad.Uint64()
		case AttrRouted:
			s.Routed = ad.Uint64()
		case AttrDropped:
			s.Dropped = ad.Uint64()
		case AttrRefused:
			s.Refused = ad.Uint64()
		case AttrBadFrames:
			s.BadFrames = ad.Uint64()
		case AttrMaxDatagram:
			s.MaxDatagram = ad.Uint32()
		case AttrQueueLimit:
			s.QueueLimit = ad.Uint32()
		case AttrAccess:
			parseAccessStats(ad, &s.Access)
		}
	})
	return s, err
}

// ParseHello decodes a CmdHello payload.
func ParseHello(data []byte) (Hello, error) {
	var h Hello
	cmd, err := ParseControl(data, func(ad *netlink.AttributeDecoder) {
		switch ad.Type() {
		case AttrVersion:
			h.Version = ad.Uint32()
		case AttrPort:
			h.Port = ad.Uint32()
		case AttrMaxDatagram:
			h.MaxDatagram = ad.Uint32()
		}
	})
	if err == nil && cmd != CmdHello {
		err = fmt.Errorf("command %d is not hello", cmd)
	}
	return h, err
}

// PortReleased is the payload of a CmdPortReleased notification.
type PortReleased struct {
	Port     uint32
	PID      int32
	UID, GID uint32
}

// ParsePortReleased decodes a CmdPortReleased payload.
func ParsePortReleased(data []byte) (PortReleased, error) {
	var r PortReleased
	cmd, err := ParseControl(data, func(ad *netlink.AttributeDecoder) {
		switch ad.Type() {
		case AttrPort:
			r.Port = ad.Uint32()
		case AttrPID:
			r.PID = ad.Int32()
		case AttrUID:
			r.UID = ad.Uint32()
		case AttrGID:
			r.GID = ad.Uint32()
		}
	})
	if err == nil && cmd != CmdPortReleased {
		err = fmt.Errorf("command %d is not port-released", cmd)
	}
	return r, err
}
