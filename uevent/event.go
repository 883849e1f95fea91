package uevent

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"strings"

	"github.com/nlbus/netlink"
)

// Multicast groups of NETLINK_KOBJECT_UEVENT.
const (
	// KernelGroup (1) carries the kernel's uevents.
	KernelGroup = 1
	// UdevGroup (2) carries udevd's messages, sent after its rules ran.
	UdevGroup = 2
)

// MaxSize is the largest datagram Parse accepts and the size of a Reader's
// buffer. The kernel's uevents fit in 2 KiB (UEVENT_BUFFER_SIZE); udevd
// reads and sends at most 8 KiB.
const MaxSize = 32 << 10

// ErrMalformed reports a datagram that is not a uevent: wrapped by every
// error of Parse.
var ErrMalformed = errors.New("uevent: malformed datagram")

// Action is a uevent's ACTION. The kernel's actions are constants here;
// parsing one costs no allocation.
type Action string

// The kernel's actions (lib/kobject_uevent.c kobject_actions).
const (
	Add     Action = "add"
	Remove  Action = "remove"
	Change  Action = "change"
	Move    Action = "move"
	Online  Action = "online"
	Offline Action = "offline"
	Bind    Action = "bind"
	Unbind  Action = "unbind"
)

func action(b []byte) Action {
	switch string(b) {
	case "add":
		return Add
	case "remove":
		return Remove
	case "change":
		return Change
	case "move":
		return Move
	case "online":
		return Online
	case "offline":
		return Offline
	case "bind":
		return Bind
	case "unbind":
		return Unbind
	}
	return Action(b) // an action this package does not know: copied
}

// Source says who framed an event.
type Source uint8

const (
	// Kernel is the kernel's framing: "ACTION@DEVPATH\0" then the variables.
	Kernel Source = iota + 1
	// Udev is udevd's "libudev" framing (a binary header, then the
	// variables), as sent on UdevGroup.
	Udev
)

// String returns "kernel" or "udev".
func (s Source) String() string {
	switch s {
	case Kernel:
		return "kernel"
	case Udev:
		return "udev"
	}
	return "source(" + strconv.Itoa(int(s)) + ")"
}

// The libudev header (systemd src/libsystemd/sd-device/device-monitor.c,
// struct monitor_netlink_header): "libudev\0", then the magic 0xfeedcafe in
// network byte order, header_size, properties_off and properties_len in host
// byte order, and four filter words in network byte order.
const (
	udevPrefix      = "libudev\x00"
	udevMagic       = uint32(0xfeedcafe)
	udevMinHeader   = 24 // up to properties_len: what locating the variables needs
	udevHeaderSize  = 40 // with the filter words
	offMagic        = 8
	offHeaderSize   = 12
	offPropsOff     = 16
	offPropsLen     = 20
	offSubsysHash   = 24
	offDevtypeHash  = 28
	offTagBloomHigh = 32
	offTagBloomLow  = 36
)

// UdevHeader holds the filter words of udevd's header: MurmurHash2 values of
// the subsystem and device type and a 64-bit bloom filter of the device's
// tags, which udev subscribers match with socket filters.
type UdevHeader struct {
	SubsystemHash uint32
	DevTypeHash   uint32
	TagBloom      uint64
}

// Event is one uevent. Its byte slices are borrowed from the buffer it was
// parsed from (for a Reader's events: valid until the next Read); Copy
// returns an Event that owns its memory.
type Event struct {
	// Source is the framing the event came in.
	Source Source
	// Action is the ACTION variable (for the kernel's framing, the header's
	// action when the variable is absent).
	Action Action
	// DevPath is the DEVPATH variable, under /sys (borrowed).
	DevPath []byte
	// Subsystem is the SUBSYSTEM variable (borrowed); empty when absent.
	Subsystem []byte
	// Seqnum is the SEQNUM variable; 0 when absent.
	Seqnum uint64
	// Udev holds the filter words of udevd's header (Source Udev only).
	Udev UdevHeader
	// Src is the sender, as a Reader received it: the kernel sends from
	// port 0; udevd from its own port. Parse leaves it zero.
	Src netlink.Addr

	env []byte // KEY=VALUE entries, each NUL-terminated (the last may not be)
}

// Parse parses one uevent datagram, as the kernel (KernelGroup) or udevd
// (UdevGroup) sends it, into ev without copying: ev's slices alias b.
//
// An event must have an ACTION without '@' and an absolute DEVPATH, and
// every variable must read KEY=VALUE with a non-empty key, so that every
// parsed event can be framed again (AppendKernel); of a repeated variable
// the first counts. A datagram that is not such a uevent returns an error
// wrapping ErrMalformed, and ev is left unspecified. Parse allocates
// nothing for the kernel's actions.
func Parse(b []byte, ev *Event) error {
	*ev = Event{}
	if len(b) > MaxSize {
		return malformed("datagram of %d bytes exceeds %d", len(b), MaxSize)
	}
	var hdrAction, hdrPath []byte
	if bytes.HasPrefix(b, []byte(udevPrefix)) {
		if err := parseUdevHeader(b, ev); err != nil {
			return err
		}
	} else {
		i := bytes.IndexByte(b, 0)
		if i < 0 {
			return malformed("no NUL after the header")
		}
		at := bytes.IndexByte(b[:i], '@')
		if at <= 0 || at+1 >= i || b[at+1] != '/' {
			return malformed("header %q is not ACTION@/DEVPATH", truncate(b[:i]))
		}
		hdrAction, hdrPath = b[:at], b[at+1:i]
		ev.Source, ev.env = Kernel, b[i+1:]
	}

	var haveAction, havePath, haveSubsystem, haveSeqnum bool
	for k, v := range ev.vars() {
		if len(k) == 0 {
			return malformed("variable %q without a key", truncate(v))
		}
		if v == nil {
			return malformed("variable %q without '='", truncate(k))
		}
		switch string(k) {
		case "ACTION":
			if !haveAction {
				ev.Action, haveAction = action(v), true
			}
		case "DEVPATH":
			if !havePath {
				ev.DevPath, havePath = v, true
			}
		case "SUBSYSTEM":
			if !haveSubsystem {
				ev.Subsystem, haveSubsystem = v, true
			}
		case "SEQNUM":
			if !haveSeqnum {
				n, err := parseUint(v)
				if err != nil {
					return malformed("SEQNUM %q is not a number", truncate(v))
				}
				ev.Seqnum, haveSeqnum = n, true
			}
		}
	}
	if !haveAction && hdrAction != nil {
		ev.Action, haveAction = action(hdrAction), true
	}
	if !havePath && hdrPath != nil {
		ev.DevPath, havePath = hdrPath, true
	}
	switch {
	case !haveAction || ev.Action == "":
		return malformed("no ACTION")
	case strings.Contains(string(ev.Action), "@"):
		return malformed("ACTION %q contains '@'", truncate([]byte(ev.Action)))
	case !havePath || len(ev.DevPath) == 0:
		return malformed("no DEVPATH")
	case ev.DevPath[0] != '/':
		return malformed("DEVPATH %q is not absolute", truncate(ev.DevPath))
	}
	return nil
}

func parseUdevHeader(b []byte, ev *Event) error {
	if len(b) < udevMinHeader {
		return malformed("libudev header of %d bytes, need %d", len(b), udevMinHeader)
	}
	if m := binary.BigEndian.Uint32(b[offMagic:]); m != udevMagic {
		return malformed("libudev magic %#x, want %#x", m, udevMagic)
	}
	hsize := uint64(ne.Uint32(b[offHeaderSize:]))
	off := uint64(ne.Uint32(b[offPropsOff:]))
	n := uint64(ne.Uint32(b[offPropsLen:]))
	if off < udevMinHeader || off+n > uint64(len(b)) {
		return malformed("libudev properties at %d+%d outside the %d-byte datagram", off, n, len(b))
	}
	if hsize >= udevHeaderSize && off >= udevHeaderSize {
		ev.Udev = UdevHeader{
			SubsystemHash: binary.BigEndian.Uint32(b[offSubsysHash:]),
			DevTypeHash:   binary.BigEndian.Uint32(b[offDevtypeHash:]),
			TagBloom:      uint64(binary.BigEndian.Uint32(b[offTagBloomHigh:]))<<32 | uint64(binary.BigEndian.Uint32(b[offTagBloomLow:])),
		}
	}
	ev.Source, ev.env = Udev, b[off:off+n]
	return nil
}

var ne = binary.NativeEndian

// parseUint parses a decimal number without allocating.
func parseUint(b []byte) (uint64, error) {
	if len(b) == 0 || len(b) > 20 {
		return 0, strconv.ErrSyntax
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, strconv.ErrSyntax
		}
		d := uint64(c - '0')
		if n > (1<<64-1-d)/10 {
			return 0, strconv.ErrRange
		}
		n = n*10 + d
	}
	return n, nil
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// truncate shortens what an error quotes from the wire.
func truncate(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

// vars iterates over the raw entries: key and value (nil when the entry has
// no '='). Empty entries (two NULs in a row) are skipped.
func (ev *Event) vars() iter.Seq2[[]byte, []byte] {
	return func(yield func([]byte, []byte) bool) {
		rest := ev.env
		for len(rest) > 0 {
			entry := rest
			if i := bytes.IndexByte(rest, 0); i >= 0 {
				entry, rest = rest[:i], rest[i+1:]
			} else {
				rest = nil
			}
			if len(entry) == 0 {
				continue
			}
			k, v := entry, []byte(nil)
			if i := bytes.IndexByte(entry, '='); i >= 0 {
				k, v = entry[:i], entry[i+1:]
			}
			if !yield(k, v) {
				return
			}
		}
	}
}

// Vars returns an iterator over the event's variables in the order they
// came, ACTION, DEVPATH, SUBSYSTEM and SEQNUM included: key and value, both
// borrowed like the Event's other slices. It costs no allocation.
func (ev *Event) Vars() iter.Seq2[[]byte, []byte] { return ev.vars() }

// Lookup returns the value of the first variable named key (borrowed) and
// whether there is one.
func (ev *Event) Lookup(key string) ([]byte, bool) {
	for k, v := range ev.vars() {
		if string(k) == key {
			return v, true
		}
	}
	return nil, false
}

// Get returns the value of the variable named key as a string (a copy), or
// "" when there is none.
func (ev *Event) Get(key string) string {
	v, _ := ev.Lookup(key)
	return string(v)
}

// Env returns every variable in a new map; for a repeated key the first
// value wins.
func (ev *Event) Env() map[string]string {
	m := make(map[string]string)
	for k, v := range ev.vars() {
		if _, dup := m[string(k)]; !dup {
			m[string(k)] = string(v)
		}
	}
	return m
}

// Copy returns an Event that owns its memory (one allocation for the
// variables), safe to keep after the buffer ev was parsed from is reused.
func (ev *Event) Copy() Event {
	c := *ev
	env := bytes.Clone(ev.env)
	c.env = env
	c.DevPath = rebase(ev.DevPath, ev.env, env)
	c.Subsystem = rebase(ev.Subsystem, ev.env, env)
	return c
}

// rebase returns the slice of dst at the position s has in src, or a copy
// of s when s lies outside src (a DEVPATH taken from the kernel's header).
func rebase(s, src, dst []byte) []byte {
	if s == nil {
		return nil
	}
	if len(src) > 0 && len(s) > 0 {
		start := cap(src) - cap(s)
		if start >= 0 && start+len(s) <= len(src) && &src[start] == &s[0] {
			return dst[start : start+len(s) : start+len(s)]
		}
	}
	return bytes.Clone(s)
}

// AppendKernel appends ev in the kernel's framing ("ACTION@DEVPATH\0", then
// each variable NUL-terminated) and returns the extended buffer; Parse reads
// it back. It is for tests and for relaying events.
func (ev *Event) AppendKernel(b []byte) []byte {
	b = append(b, ev.Action...)
	b = append(b, '@')
	b = append(b, ev.DevPath...)
	b = append(b, 0)
	return ev.appendEnv(b)
}

func (ev *Event) appendEnv(b []byte) []byte {
	for k, v := range ev.vars() {
		b = append(b, k...)
		b = append(b, '=')
		b = append(b, v...)
		b = append(b, 0)
	}
	return b
}

// AppendUdev appends ev in udevd's "libudev" framing, with ev.Udev as the
// header's filter words, and returns the extended buffer; Parse reads it
// back.
func (ev *Event) AppendUdev(b []byte) []byte {
	start := len(b)
	b = append(b, udevPrefix...)
	b = binary.BigEndian.AppendUint32(b, udevMagic)
	b = ne.AppendUint32(b, udevHeaderSize)
	b = ne.AppendUint32(b, udevHeaderSize)
	b = ne.AppendUint32(b, 0) // properties_len, set below
	b = binary.BigEndian.AppendUint32(b, ev.Udev.SubsystemHash)
	b = binary.BigEndian.AppendUint32(b, ev.Udev.DevTypeHash)
	b = binary.BigEndian.AppendUint32(b, uint32(ev.Udev.TagBloom>>32))
	b = binary.BigEndian.AppendUint32(b, uint32(ev.Udev.TagBloom))
	b = ev.appendEnv(b)
	ne.PutUint32(b[start+offPropsLen:], uint32(len(b)-start-udevHeaderSize))
	return b
}
