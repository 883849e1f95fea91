package genlctrl

import (
	"bytes"
	"syscall"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/genl"
)

// Validation says how strictly an operation's attributes are checked, as
// the validate field of Linux's struct genl_ops does (GENL_DONT_VALIDATE_*).
// The zero value is Linux's default for new families: strict.
type Validation uint8

// Validation flags.
const (
	// DontValidateStrict checks do requests liberally: unknown attribute
	// types, attributes without a policy, trailing bytes, integers longer
	// than their type and a missing NLA_F_NESTED are let through.
	DontValidateStrict Validation = 1 << 0
	// DontValidateDump does not check dump requests at all.
	DontValidateDump Validation = 1 << 1
	// DontValidateDumpStrict checks dump requests liberally.
	DontValidateDumpStrict Validation = 1 << 2
)

// Refusal is a request refused before it reached a family: the errno to
// answer with and the extended acknowledgement Linux's genl gives for it
// (Message, and for a bad attribute its Offset from the start of the
// netlink header and its Policy).
type Refusal struct {
	Errno syscall.Errno
	netlink.ExtAck
}

// Error implements error.
func (r *Refusal) Error() string {
	if r.Message != "" {
		return "genlctrl: " + r.Errno.Error() + ": " + r.Message
	}
	return "genlctrl: " + r.Errno.Error()
}

// Unwrap returns the errno.
func (r *Refusal) Unwrap() error { return r.Errno }

// validator checks attributes the way Linux's __nla_validate_parse does.
type validator struct {
	strict bool
	msg    []byte // the whole netlink message: offsets are taken from its start
	ref    *Refusal
}

func (v *validator) fail(errno syscall.Errno, text string, at int, a *Attr) bool {
	v.ref = &Refusal{Errno: errno}
	v.ref.Message = text
	if at >= 0 {
		v.ref.Offset, v.ref.HasOffset = uint32(at), true
	}
	if a != nil {
		v.ref.Policy = appendAttrPolicy(nil, a, nil, 0, false)
	}
	return false
}

// attrs validates the attributes in v.msg[off:off+n] against t.
func (v *validator) attrs(off, n int, t *table, depth int) bool {
	if depth >= maxDepth {
		return v.fail(syscall.EINVAL, "allowed policy recursion depth exceeded", -1, nil)
	}
	rem := n
	for rem >= nlaHdrLen {
		b := v.msg[off:]
		l := int(ne.Uint16(b))
		if l < nlaHdrLen || l > rem {
			break
		}
		typ := ne.Uint16(b[2:])
		id := typ & nlaTypeMask
		if id == 0 || id > t.max {
			if v.strict {
				return v.fail(syscall.EINVAL, "Unknown attribute type", off, nil)
			}
		} else if !v.one(off, l, typ, t, depth) {
			return false
		}
		step := align4(l)
		rem -= step
		off += step
	}
	if rem > 0 && v.strict {
		return v.fail(syscall.EINVAL, "bytes leftover after parsing attributes", -1, nil)
	}
	return true
}

// one validates the attribute at off, l bytes long with its header.
func (v *validator) one(off, l int, typ uint16, t *table, depth int) bool {
	const failed = "Attribute failed policy validation"
	a := t.attr(typ & nlaTypeMask)
	if a == nil { // within MaxAttr but without a policy: NLA_UNSPEC
		if v.strict {
			return v.fail(syscall.EINVAL, "Unsupported attribute", off, nil)
		}
		return true
	}
	data := v.msg[off+nlaHdrLen : off+l]
	n := len(data)
	if size := fixedSize(a.Type); size != 0 && n != size && v.strict {
		return v.fail(syscall.EINVAL, "invalid attribute length", off, a)
	}
	nested := a.Type == genl.TypeNested || a.Type == genl.TypeNestedArray
	if v.strict {
		if nested && typ&nlaFNested == 0 {
			return v.fail(syscall.EINVAL, "NLA_F_NESTED is missing", off, a)
		}
		if !nested && typ&nlaFNested != 0 {
			return v.fail(syscall.EINVAL, "NLA_F_NESTED not expected", off, a)
		}
	}
	switch a.Type {
	case genl.TypeFlag:
		if n > 0 {
			return v.fail(syscall.ERANGE, failed, off, a)
		}
	case genl.TypeSint, genl.TypeUint:
		if n != 4 && n != 8 {
			return v.fail(syscall.EINVAL, "invalid attribute length", off, a)
		}
		return v.integer(off, data, a)
	case genl.TypeBitfield32:
		if n != 8 {
			return v.fail(syscall.ERANGE, failed, off, a)
		}
		value, selector, valid := ne.Uint32(data), ne.Uint32(data[4:]), uint32(a.Mask)
		if selector&^valid != 0 || value&^valid != 0 || value&^selector != 0 {
			return v.fail(syscall.EINVAL, failed, off, a)
		}
	case genl.TypeNulString, genl.TypeString:
		if a.Type == genl.TypeNulString {
			m := n
			if a.MaxLen != 0 {
				m = min(n, int(a.MaxLen)+1)
			}
			if m == 0 || bytes.IndexByte(data[:m], 0) < 0 {
				return v.fail(syscall.EINVAL, failed, off, a)
			}
		}
		if n < 1 {
			return v.fail(syscall.ERANGE, failed, off, a)
		}
		if a.MaxLen != 0 {
			if data[n-1] == 0 {
				n--
			}
			if n > int(a.MaxLen) {
				return v.fail(syscall.ERANGE, failed, off, a)
			}
		}
	case genl.TypeBinary:
		switch {
		case a.MinLen != 0 && a.MaxLen != 0: // a length range
			if n < int(a.MinLen) || n > int(a.MaxLen) {
				return v.fail(syscall.ERANGE, "binary attribute size out of range", off, a)
			}
		case a.MaxLen != 0:
			if n > int(a.MaxLen) {
				return v.fail(syscall.ERANGE, failed, off, a)
			}
		case a.MinLen != 0:
			if n < int(a.MinLen) {
				return v.fail(syscall.ERANGE, failed, off, a)
			}
		}
	case genl.TypeNested, genl.TypeNestedArray:
		if n == 0 {
			break
		}
		if n < nlaHdrLen {
			return v.fail(syscall.ERANGE, failed, off, a)
		}
		nt := t.nest[t.index(a)]
		if nt == nil {
			break
		}
		if a.Type == genl.TypeNested {
			return v.attrs(off+nlaHdrLen, n, nt, depth+1)
		}
		return v.array(off+nlaHdrLen, n, nt, depth+1)
	default: // integers
		if n < fixedSize(a.Type) {
			return v.fail(syscall.ERANGE, failed, off, a)
		}
		return v.integer(off, data, a)
	}
	return true
}

// array validates the elements of a NestedArray, each a nest of t.
func (v *validator) array(off, n int, t *table, depth int) bool {
	rem := n
	for rem >= nlaHdrLen {
		l := int(ne.Uint16(v.msg[off:]))
		if l < nlaHdrLen || l > rem {
			break
		}
		switch {
		case l == nlaHdrLen:
		case l-nlaHdrLen < nlaHdrLen:
			return v.fail(syscall.ERANGE, "Array element too short", off, nil)
		default:
			if !v.attrs(off+nlaHdrLen, l-nlaHdrLen, t, depth) {
				return false
			}
		}
		rem -= align4(l)
		off += align4(l)
	}
	return true
}

// integer checks an integer's range or mask.
func (v *validator) integer(off int, data []byte, a *Attr) bool {
	if !a.HasRange && a.Mask == 0 {
		return true
	}
	if isSigned(a.Type) {
		var x int64
		switch a.Type {
		case genl.TypeS8:
			x = int64(int8(data[0]))
		case genl.TypeS16:
			x = int64(int16(ne.Uint16(data)))
		case genl.TypeS32:
			x = int64(int32(ne.Uint32(data)))
		case genl.TypeS64:
			x = int64(ne.Uint64(data))
		default: // sint: 4 or 8 bytes
			if len(data) == 4 {
				x = int64(int32(ne.Uint32(data)))
			} else {
				x = int64(ne.Uint64(data))
			}
		}
		if x < a.MinS || x > a.MaxS {
			return v.fail(syscall.ERANGE, "integer out of range", off, a)
		}
		return true
	}
	var x uint64
	switch a.Type {
	case genl.TypeU8:
		x = uint64(data[0])
	case genl.TypeU16:
		x = uint64(ne.Uint16(data))
	case genl.TypeU32:
		x = uint64(ne.Uint32(data))
	case genl.TypeU64:
		x = ne.Uint64(data)
	default: // uint: 4 or 8 bytes
		if len(data) == 4 {
			x = uint64(ne.Uint32(data))
		} else {
			x = ne.Uint64(data)
		}
	}
	if a.Mask != 0 {
		if x&^a.Mask != 0 {
			v.fail(syscall.EINVAL, "reserved bit set", off, nil)
			return false
		}
		return true
	}
	if x < a.MinU || x > a.MaxU {
		return v.fail(syscall.ERANGE, "integer out of range", off, a)
	}
	return true
}

// fixedSize is the size of a fixed-size integer type (nla_attr_len), 0 for
// the others.
func fixedSize(t genl.AttrType) int {
	switch t {
	case genl.TypeU8, genl.TypeS8:
		return 1
	case genl.TypeU16, genl.TypeS16:
		return 2
	case genl.TypeU32, genl.TypeS32:
		return 4
	case genl.TypeU64, genl.TypeS64:
		return 8
	}
	return 0
}
