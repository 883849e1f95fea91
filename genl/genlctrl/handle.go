package genlctrl

import (
	"bytes"
	"syscall"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/genl"
)

// Caller is what the host knows of a request's sender.
type Caller struct {
	// Admin allows commands flagged genl.AdminPerm or genl.UnsAdminPerm
	// (on the bus: root, or a member of a configured group).
	Admin bool
}

// Check validates a request to a registered family before the host hands
// it to the family's owner, as Linux's genl_family_rcv_msg does: the family
// must exist (ENOENT), the payload must hold the genlmsghdr and the
// family's header (EINVAL), the command must take this kind of request,
// do or dump (EOPNOTSUPP), an admin command needs an admin caller (EPERM),
// and the attributes must follow the command's policy (EINVAL or ERANGE,
// with Linux's extended-ack message, the offending attribute's offset
// from the start of the netlink header and its policy). It returns nil
// for a request to pass on. A message without NLM_F_REQUEST is not a
// request and passes. Check allocates only for a refusal.
func (r *Registry) Check(req netlink.Message, c Caller) *Refusal {
	_, ref := r.Route(req, c)
	return ref
}

// Route is Check that also returns the Owner of the family the request is
// for (for a message without NLM_F_REQUEST, too, when the family exists):
// the host relays a request that passes to the owner.
func (r *Registry) Route(req netlink.Message, c Caller) (owner uint32, ref *Refusal) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	f := r.byID[uint16(req.Header.Type)]
	if req.Header.Flags&netlink.Request == 0 {
		if f == nil {
			return 0, nil
		}
		return f.owner, nil
	}
	if f == nil {
		return 0, &Refusal{Errno: syscall.ENOENT}
	}
	if _, ref := f.check(req, c); ref != nil {
		return 0, ref
	}
	return f.owner, nil
}

// check finds req's operation and validates req against it.
func (f *family) check(req netlink.Message, c Caller) (*op, *Refusal) {
	hdr := genlHdrLen + int(f.info.HeaderSize)
	if f.info.HeaderSize > maxAttrLen || len(req.Data) < hdr {
		return nil, &Refusal{Errno: syscall.EINVAL}
	}
	dump := req.Header.Flags&netlink.Dump == netlink.Dump
	want := genl.CmdCapDo
	if dump {
		want = genl.CmdCapDump
	}
	var o *op
	for i := range f.ops {
		if f.ops[i].cmd == req.Data[0] && f.ops[i].flags&want != 0 {
			o = &f.ops[i]
			break
		}
	}
	if o == nil {
		return nil, &Refusal{Errno: syscall.EOPNOTSUPP}
	}
	if o.flags&(genl.AdminPerm|genl.UnsAdminPerm) != 0 && !c.Admin {
		return nil, &Refusal{Errno: syscall.EPERM}
	}
	t, strict := o.do, o.validate&DontValidateStrict == 0
	if dump {
		if o.validate&DontValidateDump != 0 {
			return o, nil
		}
		t, strict = o.dump, o.validate&DontValidateDumpStrict == 0
	}
	if t == nil {
		return o, nil
	}
	v := validator{strict: strict, msg: req.Data}
	if !v.attrs(hdr, len(req.Data)-hdr, t, 0) {
		if v.ref.HasOffset {
			v.ref.Offset += nlmsgHdrLen
		}
		return nil, v.ref
	}
	return o, nil
}

// Handle answers req, a request from port to the controller (message type
// genl.CtrlID), by appending the whole answer to dst, as Linux's nlctrl
// gives it: for CTRL_CMD_GETFAMILY a CTRL_CMD_NEWFAMILY reply (and an ACK
// if asked for), or for a dump one per family and NLMSG_DONE; for
// CTRL_CMD_GETPOLICY (dump only) the operations' table indexes, then one
// message per attribute of each table, then NLMSG_DONE; errors as
// NLMSG_ERROR with extended ack (see Check and AppendError). A message
// without NLM_F_REQUEST gets only the ACK it asks for, a message of
// another type ENOENT.
//
// Replies carry req's sequence number and port as their PID. The host may
// cut the answer into datagrams at any message boundary. Handle never
// panics on malformed input and allocates nothing but dst's growth for a
// well-formed request.
func (r *Registry) Handle(dst []byte, req netlink.Message, port uint32) []byte {
	h := req.Header
	if h.Flags&netlink.Request == 0 {
		if h.Flags&netlink.Acknowledge != 0 {
			return AppendError(dst, req, port, 0, nil)
		}
		return dst
	}
	if uint16(h.Type) != genl.CtrlID {
		return AppendError(dst, req, port, syscall.ENOENT, nil)
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	o, ref := r.ctrlFam.check(req, Caller{})
	if ref != nil {
		return AppendError(dst, req, port, ref.Errno, &ref.ExtAck)
	}
	dump := h.Flags&netlink.Dump == netlink.Dump
	var (
		errno syscall.Errno
		ext   *netlink.ExtAck
		start = len(dst)
	)
	switch o.cmd {
	case genl.CmdGetFamily:
		if dump {
			dst = r.dumpFamilies(dst, h.Sequence, port)
		} else {
			dst, errno = r.getFamily(dst, req, port)
		}
	case genl.CmdGetPolicy:
		dst, errno, ext = r.dumpPolicy(dst, req, port)
	}
	switch {
	case errno != 0:
		return AppendError(dst[:start], req, port, errno, ext)
	case dump:
		return appendDone(dst, h.Sequence, port)
	case h.Flags&netlink.Acknowledge != 0:
		return AppendError(dst, req, port, 0, nil)
	}
	return dst
}

// ctrlAttrs are the controller attributes of a request: the last of each,
// as nla_parse keeps them, and where CTRL_ATTR_OP was.
type ctrlAttrs struct {
	id      uint16
	hasID   bool
	name    []byte
	hasName bool
	op      uint32
	hasOp   bool
	opOff   int
}

// parseCtrl reads the attributes of a request that check has validated.
func parseCtrl(data []byte) ctrlAttrs {
	var a ctrlAttrs
	off, rem := genlHdrLen, len(data)-genlHdrLen
	for rem >= nlaHdrLen {
		l := int(ne.Uint16(data[off:]))
		if l < nlaHdrLen || l > rem {
			break
		}
		p := data[off+nlaHdrLen : off+l]
		switch ne.Uint16(data[off+2:]) & nlaTypeMask {
		case 1: // CTRL_ATTR_FAMILY_ID
			if len(p) >= 2 {
				a.id, a.hasID = ne.Uint16(p), true
			}
		case 2: // CTRL_ATTR_FAMILY_NAME
			if i := bytes.IndexByte(p, 0); i >= 0 {
				p = p[:i]
			}
			a.name, a.hasName = p, true
		case 10: // CTRL_ATTR_OP
			if len(p) >= 4 {
				a.op, a.hasOp, a.opOff = ne.Uint32(p), true, off
			}
		}
		rem -= align4(l)
		off += align4(l)
	}
	return a
}

func (r *Registry) getFamily(dst []byte, req netlink.Message, port uint32) ([]byte, syscall.Errno) {
	a := parseCtrl(req.Data)
	var f *family
	switch {
	case a.hasName:
		f = r.byName[string(a.name)] // no allocation: the compiler borrows the bytes
	case a.hasID:
		f = r.byID[a.id]
	default:
		return dst, syscall.EINVAL
	}
	if f == nil {
		return dst, syscall.ENOENT
	}
	return appendFamilyMsg(dst, f, 0, req.Header.Sequence, port), 0
}

func appendFamilyMsg(dst []byte, f *family, flags netlink.HeaderFlags, seq, port uint32) []byte {
	dst, m := beginMsg(dst, genl.CtrlID, flags, seq, port, genl.CmdNewFamily, ctrlVersion)
	dst = append(dst, f.attrs...)
	return endMsg(dst, m)
}

func (r *Registry) dumpFamilies(dst []byte, seq, port uint32) []byte {
	for _, f := range r.sorted {
		dst = appendFamilyMsg(dst, f, netlink.Multi, seq, port)
	}
	return dst
}

func (r *Registry) dumpPolicy(dst []byte, req netlink.Message, port uint32) ([]byte, syscall.Errno, *netlink.ExtAck) {
	a := parseCtrl(req.Data)
	var f *family
	switch {
	case a.hasID:
		f = r.byID[a.id]
	case a.hasName:
		f = r.byName[string(a.name)]
	default:
		return dst, syscall.EINVAL, nil
	}
	if f == nil {
		return dst, syscall.ENOENT, nil
	}
	ops := f.ops
	if a.hasOp {
		i := -1
		if a.op <= 0xff {
			for j := range f.ops {
				if f.ops[j].cmd == uint8(a.op) {
					i = j
					break
				}
			}
		}
		if i < 0 {
			return dst, syscall.ENOENT, &netlink.ExtAck{Offset: uint32(nlmsgHdrLen + a.opOff), HasOffset: true}
		}
		ops = ops[i : i+1]
	}
	var tabs [16]*table
	order := tables(tabs[:0], ops)
	if len(order) == 0 {
		if noData != 0 {
			return dst, noData, nil
		}
		return dst, 0, nil // an empty dump where there is no ENODATA
	}
	seq := req.Header.Sequence
	for i := range ops {
		o := &ops[i]
		if o.do == nil && o.dump == nil {
			continue
		}
		var m, n, k int
		dst, m = beginMsg(dst, genl.CtrlID, netlink.Multi, seq, port, genl.CmdGetPolicy, ctrlVersion)
		dst = putU16(dst, 1, f.info.ID)   // CTRL_ATTR_FAMILY_ID
		dst, n = begin(dst, 9|nlaFNested) // CTRL_ATTR_OP_POLICY
		dst, k = begin(dst, uint16(o.cmd)|nlaFNested)
		if o.do != nil {
			dst = putU32(dst, 1, uint32(indexOf(order, o.do))) // CTRL_ATTR_POLICY_DO
		}
		if o.dump != nil {
			dst = putU32(dst, 2, uint32(indexOf(order, o.dump))) // CTRL_ATTR_POLICY_DUMP
		}
		end(dst, k)
		end(dst, n)
		dst = endMsg(dst, m)
	}
	for idx, t := range order {
		for j := range t.attrs {
			at := &t.attrs[j]
			var m, n, k, l int
			dst, m = beginMsg(dst, genl.CtrlID, netlink.Multi, seq, port, genl.CmdGetPolicy, ctrlVersion)
			dst = putU16(dst, 1, f.info.ID)   // CTRL_ATTR_FAMILY_ID
			dst, n = begin(dst, 8|nlaFNested) // CTRL_ATTR_POLICY
			dst, k = begin(dst, uint16(idx)|nlaFNested)
			dst, l = begin(dst, at.ID|nlaFNested)
			nt := t.nest[j]
			dst = appendAttrPolicy(dst, at, nt, uint32(indexOf(order, nt)), nt != nil)
			end(dst, l)
			end(dst, k)
			end(dst, n)
			dst = endMsg(dst, m)
		}
	}
	return dst, 0, nil
}

// tables numbers the tables of ops for a GETPOLICY dump: each operation's
// do table, then its dump table, each followed by the tables nested in it.
func tables(dst []*table, ops []op) []*table {
	for i := range ops {
		dst = order(dst, ops[i].do, ops[i].dump)
	}
	return dst
}

func indexOf(order []*table, t *table) int {
	for i, o := range order {
		if o == t {
			return i
		}
	}
	return 0
}
