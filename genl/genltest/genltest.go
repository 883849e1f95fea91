package genltest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"syscall"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/genl"
	"github.com/nlbus/netlink/nltest"
	"github.com/nlbus/netlink/transport"
)

// Handler serves a request to a family: req is the generic-netlink message
// (its Data borrowed for the call), nlreq the netlink message it came in.
// The replies are sent in order; for a dump they are followed by
// NLMSG_DONE. An error is sent as NLMSG_ERROR: a syscall.Errno as is,
// anything else as EINVAL.
type Handler func(req genl.Message, nlreq netlink.Message) ([]genl.Message, error)

// Family is a family a Server serves.
type Family struct {
	genl.Family
	// Policy is what GETPOLICY reports for the family; nil gives an empty
	// dump (Linux answers ENODATA, which genl turns into an empty Policy).
	// Its FamilyID is set from the family's.
	Policy *genl.Policy
	// Handler serves the family's requests; nil answers EOPNOTSUPP.
	Handler Handler
}

// Config changes how a Server behaves.
type Config struct {
	// NoPolicy makes the controller answer GETPOLICY with EOPNOTSUPP, as
	// FreeBSD's does.
	NoPolicy bool
}

// Server is an in-memory generic-netlink controller with its families. It is
// safe for concurrent use.
type Server struct {
	cfg Config

	mu        sync.Mutex
	families  []*Family
	conns     []*nltest.Mem
	nextPort  uint32
	nextID    uint16
	nextGroup uint32
}

// Controller values, as Linux's nlctrl reports them.
const (
	ctrlNotifyGroup = 0x10
	ctrlVersion     = 2
)

// NewServer returns a Server with the controller and families (see
// AddFamily for the IDs it assigns). It panics on a family it cannot add,
// which is a mistake in the test.
func NewServer(cfg *Config, families ...Family) *Server {
	s := &Server{nextPort: 1000, nextID: genl.CtrlID + 1, nextGroup: ctrlNotifyGroup + 1}
	if cfg != nil {
		s.cfg = *cfg
	}
	s.families = append(s.families, controller())
	for _, f := range families {
		if _, err := s.add(f); err != nil {
			panic("genltest: " + err.Error())
		}
	}
	return s
}

// ServeFamily returns a connection to a new Server that serves f with h.
func ServeFamily(f genl.Family, h Handler) (*netlink.Conn, error) {
	return NewServer(nil, Family{Family: f, Handler: h}).Dial()
}

func controller() *Family {
	f := &Family{Family: genl.Family{
		ID: genl.CtrlID, Name: "nlctrl", Version: ctrlVersion,
		Ops: []genl.Op{
			{ID: uint32(genl.CmdGetFamily), Flags: genl.CmdCapDo | genl.CmdCapDump | genl.CmdCapHasPolicy},
			{ID: uint32(genl.CmdGetPolicy), Flags: genl.CmdCapDump | genl.CmdCapHasPolicy},
		},
		Groups: []genl.Group{{ID: ctrlNotifyGroup, Name: "notify"}},
	}}
	name := genl.AttrPolicy{Attr: 2, Type: genl.TypeNulString, Fields: genl.FieldMaxLength, MaxLength: genl.NameMax}
	id := genl.AttrPolicy{Attr: 1, Type: genl.TypeU16, Fields: genl.FieldMinValueU | genl.FieldMaxValueU, MaxValueU: 0xffff}
	op := genl.AttrPolicy{Attr: 10, Type: genl.TypeU32, Fields: genl.FieldMinValueU | genl.FieldMaxValueU, MaxValueU: 0xffffffff}
	f.Policy = &genl.Policy{
		FamilyID: genl.CtrlID,
		Ops: []genl.OpPolicy{
			{Op: uint32(genl.CmdGetFamily), Do: 0, HasDo: true, Dump: 0, HasDump: true},
			{Op: uint32(genl.CmdGetPolicy), Dump: 1, HasDump: true},
		},
		Tables: []genl.PolicyTable{
			{Index: 0, Attrs: []genl.AttrPolicy{id, name}},
			{Index: 1, Attrs: []genl.AttrPolicy{id, name, op}},
		},
	}
	return f
}

// Dial returns a new connection to the Server, with its own port.
func (s *Server) Dial() (*netlink.Conn, error) {
	s.mu.Lock()
	s.nextPort++
	port := s.nextPort
	s.mu.Unlock()
	m := nltest.NewMem(func(req []byte, dst transport.Addr) ([]nltest.Read, error) {
		return s.serve(port, req), nil
	}, nltest.MemConfig{Port: port})
	s.mu.Lock()
	s.conns = append(s.conns, m)
	s.mu.Unlock()
	return netlink.NewConn(m, nil)
}

// AddFamily adds f and announces it on the notify group (CTRL_CMD_NEWFAMILY,
// then CTRL_CMD_NEWMCAST_GRP per group, as Linux does). A zero ID, or group
// ID, is assigned from a counter. It returns the family as registered.
func (s *Server) AddFamily(f Family) (genl.Family, error) {
	s.mu.Lock()
	nf, err := s.add(f)
	if err != nil {
		s.mu.Unlock()
		return genl.Family{}, err
	}
	gf := nf.Family.Clone()
	s.mu.Unlock()
	s.notify(genl.CmdNewFamily, &gf)
	for _, g := range gf.Groups {
		s.notify(genl.CmdNewMcastGrp, &genl.Family{ID: gf.ID, Name: gf.Name, Groups: []genl.Group{g}})
	}
	return gf, nil
}

// add registers f; called with s.mu held (or before s is shared).
func (s *Server) add(f Family) (*Family, error) {
	if f.Name == "" || len(f.Name) > genl.NameMax {
		return nil, fmt.Errorf("bad family name %q", f.Name)
	}
	for _, e := range s.families {
		if e.Name == f.Name || (f.ID != 0 && e.ID == f.ID) {
			return nil, fmt.Errorf("family %q (id %d) already registered", f.Name, f.ID)
		}
	}
	nf := f
	nf.Family = f.Family.Clone()
	if nf.ID == 0 {
		for s.idTaken(s.nextID) {
			s.nextID++
		}
		nf.ID = s.nextID
		s.nextID++
	}
	for i := range nf.Groups {
		if nf.Groups[i].ID == 0 {
			nf.Groups[i].ID = s.nextGroup
			s.nextGroup++
		}
	}
	if nf.Policy != nil {
		p := *nf.Policy
		p.FamilyID = nf.ID
		nf.Policy = &p
	}
	s.families = append(s.families, &nf)
	return &nf, nil
}

func (s *Server) idTaken(id uint16) bool {
	for _, e := range s.families {
		if e.ID == id {
			return true
		}
	}
	return false
}

// RemoveFamily removes the family called name and announces it
// (CTRL_CMD_DELMCAST_GRP per group, then CTRL_CMD_DELFAMILY).
func (s *Server) RemoveFamily(name string) error {
	s.mu.Lock()
	i := slices.IndexFunc(s.families, func(f *Family) bool { return f.Name == name })
	if i < 0 || s.families[i].ID == genl.CtrlID {
		s.mu.Unlock()
		return fmt.Errorf("genltest: no removable family %q", name)
	}
	f := s.families[i].Family.Clone()
	s.families = slices.Delete(s.families, i, i+1)
	s.mu.Unlock()
	for _, g := range f.Groups {
		s.notify(genl.CmdDelMcastGrp, &genl.Family{ID: f.ID, Name: f.Name, Groups: []genl.Group{g}})
	}
	s.notify(genl.CmdDelFamily, &f)
	return nil
}

// Overrun makes the next read of every connection that joined the notify
// group fail with ENOBUFS, as a kernel socket whose queue overflowed.
func (s *Server) Overrun() {
	for _, m := range s.members(ctrlNotifyGroup) {
		m.Inject(nltest.Read{Overrun: true})
	}
}

// Multicast sends msgs from the family called family to the members of
// its group called group.
func (s *Server) Multicast(family, group string, msgs ...genl.Message) error {
	s.mu.Lock()
	i := slices.IndexFunc(s.families, func(f *Family) bool { return f.Name == family })
	if i < 0 {
		s.mu.Unlock()
		return fmt.Errorf("genltest: no family %q", family)
	}
	f := s.families[i]
	g, ok := f.Group(group)
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("genltest: family %q has no group %q", family, group)
	}
	var b []byte
	for _, m := range msgs {
		b = appendMessage(b, f.ID, 0, 0, 0, m)
	}
	for _, mem := range s.members(g.ID) {
		mem.Inject(nltest.Read{Data: b, Src: transport.Addr{Group: g.ID}})
	}
	return nil
}

func (s *Server) members(group uint32) []*nltest.Mem {
	s.mu.Lock()
	conns := slices.Clone(s.conns)
	s.mu.Unlock()
	var out []*nltest.Mem
	for _, m := range conns {
		if slices.Contains(m.Groups(), group) {
			out = append(out, m)
		}
	}
	return out
}

// notify sends a controller notification about f to the notify group.
func (s *Server) notify(cmd uint8, f *genl.Family) {
	attrs, err := f.MarshalAttributes()
	if err != nil {
		return
	}
	b := appendMessage(nil, genl.CtrlID, 0, 0, 0, genl.Message{Header: genl.Header{Command: cmd, Version: ctrlVersion}, Data: attrs})
	for _, m := range s.members(ctrlNotifyGroup) {
		m.Inject(nltest.Read{Data: b, Src: transport.Addr{Group: ctrlNotifyGroup}})
	}
}

var ne = binary.NativeEndian

func appendMessage(b []byte, typ uint16, flags netlink.HeaderFlags, seq, port uint32, m genl.Message) []byte {
	out, _ := netlink.AppendMessage(b, netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(typ), Flags: flags, Sequence: seq, PID: port},
		Data:   m.Append(nil),
	})
	return out
}

// appendError appends NLMSG_ERROR (code 0: an ACK) echoing req's header.
func appendError(b []byte, req netlink.Header, port uint32, errno syscall.Errno) []byte {
	data := make([]byte, 4+netlink.HeaderLen)
	ne.PutUint32(data, uint32(-int32(errno)))
	req.Length = netlink.HeaderLen
	netlink.MarshalHeader(data[4:], req)
	out, _ := netlink.AppendMessage(b, netlink.Message{
		Header: netlink.Header{Type: netlink.Error, Flags: netlink.Capped, Sequence: req.Sequence, PID: port},
		Data:   data,
	})
	return out
}

func appendDone(b []byte, seq, port uint32) []byte {
	out, _ := netlink.AppendMessage(b, netlink.Message{
		Header: netlink.Header{Type: netlink.Done, Flags: netlink.Multi, Sequence: seq, PID: port},
		Data:   make([]byte, 4),
	})
	return out
}

// serve answers one datagram from port.
func (s *Server) serve(port uint32, req []byte) []nltest.Read {
	var out []byte
	var it netlink.MessageIter
	it.Reset(req)
	for it.Next() {
		out = s.serveOne(out, port, it.Message())
	}
	if len(out) == 0 {
		return nil
	}
	return []nltest.Read{{Data: out}}
}

func (s *Server) serveOne(out []byte, port uint32, m netlink.Message) []byte {
	h := m.Header
	if h.Flags&netlink.Request == 0 {
		return out
	}
	dump := h.Flags&netlink.Dump == netlink.Dump
	gm, err := genl.ParseMessage(m.Data)
	var replies []genl.Message
	var typ uint16
	if err != nil {
		err = syscall.EINVAL
	} else if uint16(h.Type) == genl.CtrlID {
		typ = genl.CtrlID
		replies, err = s.ctrl(gm, dump)
	} else {
		s.mu.Lock()
		i := slices.IndexFunc(s.families, func(f *Family) bool { return f.ID == uint16(h.Type) })
		var f *Family
		if i >= 0 {
			f = s.families[i]
		}
		s.mu.Unlock()
		switch {
		case f == nil:
			err = syscall.ENOENT
		case f.Handler == nil:
			err = syscall.EOPNOTSUPP
		default:
			typ = f.ID
			replies, err = f.Handler(gm, m)
		}
	}
	if err != nil {
		var errno syscall.Errno
		if !errors.As(err, &errno) {
			errno = syscall.EINVAL
		}
		return appendError(out, h, port, errno)
	}
	var flags netlink.HeaderFlags
	if dump {
		flags = netlink.Multi
	}
	for _, r := range replies {
		out = appendMessage(out, typ, flags, h.Sequence, port, r)
	}
	switch {
	case dump:
		out = appendDone(out, h.Sequence, port)
	case h.Flags&netlink.Acknowledge != 0:
		out = appendError(out, h, port, 0)
	}
	return out
}

// ctrl serves a controller request.
func (s *Server) ctrl(req genl.Message, dump bool) ([]genl.Message, error) {
	var (
		name  string
		id    uint16
		op    uint32
		hasOp bool
	)
	ad := netlink.NewAttributeDecoder(req.Data)
	for ad.Next() {
		switch ad.Type() {
		case 1: // CTRL_ATTR_FAMILY_ID
			id = ad.Uint16()
		case 2: // CTRL_ATTR_FAMILY_NAME
			name = ad.String()
		case 10: // CTRL_ATTR_OP
			op, hasOp = ad.Uint32(), true
		}
	}
	if ad.Err() != nil {
		return nil, syscall.EINVAL
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	find := func() *Family {
		for _, f := range s.families {
			if (name != "" && f.Name == name) || (name == "" && id != 0 && f.ID == id) {
				return f
			}
		}
		return nil
	}
	hdr := genl.Header{Command: genl.CmdNewFamily, Version: ctrlVersion}
	switch req.Header.Command {
	case genl.CmdGetFamily:
		if dump && name == "" && id == 0 {
			var out []genl.Message
			for _, f := range s.families {
				b, err := f.MarshalAttributes()
				if err != nil {
					return nil, syscall.EINVAL
				}
				out = append(out, genl.Message{Header: hdr, Data: b})
			}
			return out, nil
		}
		f := find()
		if f == nil {
			return nil, syscall.ENOENT
		}
		b, err := f.MarshalAttributes()
		if err != nil {
			return nil, syscall.EINVAL
		}
		return []genl.Message{{Header: hdr, Data: b}}, nil
	case genl.CmdGetPolicy:
		if s.cfg.NoPolicy {
			return nil, syscall.EOPNOTSUPP
		}
		if !dump {
			return nil, syscall.EOPNOTSUPP
		}
		f := find()
		if f == nil {
			return nil, syscall.ENOENT
		}
		p := f.Policy
		if p == nil {
			return nil, nil // an empty dump: what genl makes of Linux's ENODATA
		}
		if hasOp {
			if _, ok := f.Op(op); !ok {
				return nil, syscall.ENOENT
			}
			if p, ok := p.ForOp(op); ok {
				return p.Messages()
			}
			return nil, nil
		}
		return p.Messages()
	}
	return nil, syscall.EOPNOTSUPP
}
