package genlctrl

import (
	"encoding/binary"
	"syscall"

	"github.com/nlbus/netlink"
)

// The controller encodes its replies by appending to the host's buffer: a
// reply costs no allocation beyond the buffer's growth. Nests are written
// the way Linux writes each of them (with or without NLA_F_NESTED), so
// that the bytes, not only their meaning, match the kernel's nlctrl.

var ne = binary.NativeEndian

const (
	nlaHdrLen    = 4
	nlaFNested   = 0x8000
	nlaFNetOrder = 0x4000
	nlaTypeMask  = ^uint16(nlaFNested | nlaFNetOrder)
	maxAttrLen   = 0xffff
	nlmsgHdrLen  = netlink.HeaderLen
	genlHdrLen   = 4
	ctrlVersion  = 2 // the version nlctrl writes in its genlmsghdr
)

func align4(n int) int { return (n + 3) &^ 3 }

// attr appends an attribute header for n bytes of payload and the room
// for them (zeroed padding included) and returns the payload.
func attr(b []byte, typ uint16, n int) ([]byte, []byte) {
	off := len(b)
	b = append(b, make([]byte, align4(nlaHdrLen+n))...)
	ne.PutUint16(b[off:], uint16(nlaHdrLen+n))
	ne.PutUint16(b[off+2:], typ)
	return b, b[off+nlaHdrLen : off+nlaHdrLen+n]
}

func putU16(b []byte, typ, v uint16) []byte {
	b, p := attr(b, typ, 2)
	ne.PutUint16(p, v)
	return b
}

func putU32(b []byte, typ uint16, v uint32) []byte {
	b, p := attr(b, typ, 4)
	ne.PutUint32(p, v)
	return b
}

func putU64(b []byte, typ uint16, v uint64) []byte {
	b, p := attr(b, typ, 8)
	ne.PutUint64(p, v)
	return b
}

func putString(b []byte, typ uint16, s string) []byte {
	b, p := attr(b, typ, len(s)+1)
	copy(p, s)
	return b
}

// begin opens a nest and returns its offset for end.
func begin(b []byte, typ uint16) ([]byte, int) {
	off := len(b)
	b = append(b, 0, 0, 0, 0)
	ne.PutUint16(b[off+2:], typ)
	return b, off
}

// end closes the nest begun at off; ok is false when it outgrew the 16-bit
// attribute length.
func end(b []byte, off int) bool {
	n := len(b) - off
	if n > maxAttrLen {
		return false
	}
	ne.PutUint16(b[off:], uint16(n))
	return true
}

// beginMsg appends a netlink header (its length filled by endMsg) and a
// genlmsghdr.
func beginMsg(b []byte, typ uint16, flags netlink.HeaderFlags, seq, port uint32, cmd, version uint8) ([]byte, int) {
	off := len(b)
	b = append(b, make([]byte, nlmsgHdrLen)...)
	netlink.MarshalHeader(b[off:], netlink.Header{Type: netlink.HeaderType(typ), Flags: flags, Sequence: seq, PID: port})
	b = append(b, cmd, version, 0, 0)
	return b, off
}

func endMsg(b []byte, off int) []byte {
	ne.PutUint32(b[off:], uint32(len(b)-off))
	return b
}

// AppendError appends to dst the NLMSG_ERROR that answers req from port
// with errno (0: an acknowledgement), as Linux's netlink_ack writes it: the
// negative code, the echoed request (only its header for an
// acknowledgement, flagged NLM_F_CAPPED), then ext's message, offset and
// policy as extended-ack attributes (flagged NLM_F_ACK_TLVS) when ext is
// not nil. req.Data is the request's payload after its netlink header.
func AppendError(dst []byte, req netlink.Message, port uint32, errno syscall.Errno, ext *netlink.ExtAck) []byte {
	var flags netlink.HeaderFlags
	if errno == 0 {
		flags |= netlink.Capped
	}
	off := len(dst)
	dst = append(dst, make([]byte, nlmsgHdrLen+4+nlmsgHdrLen)...)
	ne.PutUint32(dst[off+nlmsgHdrLen:], uint32(-int32(errno)))
	h := req.Header
	h.Length = uint32(nlmsgHdrLen + len(req.Data))
	netlink.MarshalHeader(dst[off+nlmsgHdrLen+4:], h)
	if errno != 0 {
		dst = append(dst, req.Data...)
		for len(dst)%4 != 0 {
			dst = append(dst, 0)
		}
	}
	if ext != nil && (ext.Message != "" || ext.HasOffset || ext.Policy != nil) {
		flags |= netlink.AckTLVs
		if ext.Message != "" {
			dst = putString(dst, 1, ext.Message) // NLMSGERR_ATTR_MSG
		}
		if ext.HasOffset && errno != 0 {
			dst = putU32(dst, 2, ext.Offset) // NLMSGERR_ATTR_OFFS
		}
		if ext.Policy != nil && len(ext.Policy) <= maxAttrLen-nlaHdrLen {
			var p []byte
			dst, p = attr(dst, 4|nlaFNested, len(ext.Policy)) // NLMSGERR_ATTR_POLICY
			copy(p, ext.Policy)
		}
	}
	netlink.MarshalHeader(dst[off:], netlink.Header{
		Length: uint32(len(dst) - off), Type: netlink.Error, Flags: flags,
		Sequence: req.Header.Sequence, PID: port,
	})
	return dst
}

// appendDone appends the NLMSG_DONE that ends a dump.
func appendDone(dst []byte, seq, port uint32) []byte {
	off := len(dst)
	dst = append(dst, make([]byte, nlmsgHdrLen+4)...)
	netlink.MarshalHeader(dst[off:], netlink.Header{
		Length: nlmsgHdrLen + 4, Type: netlink.Done, Flags: netlink.Multi, Sequence: seq, PID: port,
	})
	return dst
}
