package genltest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"syscall"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/genl"
	"github.com/nlbus/netlink/genl/genlctrl"
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
	// Policy, when set, is a canned answer: GETPOLICY for the family
	// replies with it as given (genl.Policy.Messages, or its ForOp part),
	// table indexes and all, to test genl's reading of reply shapes the
	// controller itself would not send (Linux's command 0, tables left out).
	// Requests to the family are checked (Config.Check) against the
	// equivalent genlctrl tables. To have the controller answer for
	// itself, register a Spec (see Spec). nil: the family has no policy
	// (Linux answers ENODATA, which genl turns into an empty Policy).
	Policy *genl.Policy
	// Spec, when set, is registered as is instead of Family and Policy: a
	// family described the way a bus service registers one.
	Spec *genlctrl.Family
	// Handler serves the family's requests; nil answers EOPNOTSUPP.
	Handler Handler
}

// Config changes how a Server behaves.
type Config struct {
	// NoPolicy makes the controller answer GETPOLICY with EOPNOTSUPP, as
	// FreeBSD's does.
	NoPolicy bool
	// Check makes the controller check each request to a family before its
	// Handler sees it, as Linux's genl and the bus do (genlctrl.Registry's
	// Check): unknown commands, admin commands and attributes that break
	// the policy are refused. Off, every request reaches the Handler.
	Check bool
	// Unprivileged makes every caller a non-administrator for Check: a
	// command flagged genl.AdminPerm is refused with EPERM.
	Unprivileged bool
}

// Server is an in-memory generic-netlink controller with its families: the
// controller is genlctrl's Registry, the one the nlbus daemon runs, over
// nltest.Mem connections. It is safe for concurrent use.
type Server struct {
	cfg Config
	reg *genlctrl.Registry

	notifyMu sync.Mutex // orders notifications as the registrations

	mu       sync.Mutex // guards the fields below
	handlers map[uint16]Handler
	canned   map[uint16]*genl.Policy
	conns    []*nltest.Mem
	nextPort uint32
}

// NewServer returns a Server with the controller and families (see
// AddFamily for the IDs it assigns). It panics on a family it cannot add,
// which is a mistake in the test.
func NewServer(cfg *Config, families ...Family) *Server {
	s := &Server{nextPort: 1000, handlers: map[uint16]Handler{}, canned: map[uint16]*genl.Policy{}}
	if cfg != nil {
		s.cfg = *cfg
	}
	// Family IDs from 0x11, as genltest always gave them (the bus starts
	// at 0x20).
	s.reg = genlctrl.New(&genlctrl.Config{NoPolicy: s.cfg.NoPolicy, FirstFamilyID: genl.CtrlID + 1})
	for _, f := range families {
		if _, err := s.AddFamily(f); err != nil {
			panic("genltest: " + err.Error())
		}
	}
	return s
}

// ServeFamily returns a connection to a new Server that serves f with h.
func ServeFamily(f genl.Family, h Handler) (*netlink.Conn, error) {
	return NewServer(nil, Family{Family: f, Handler: h}).Dial()
}

// Registry returns the Server's controller, to register families directly
// or to inspect it.
func (s *Server) Registry() *genlctrl.Registry { return s.reg }

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

// AddFamily registers f with the controller, which announces it on the
// notify group (CTRL_CMD_NEWFAMILY, then CTRL_CMD_NEWMCAST_GRP per group,
// as Linux does). A zero ID, or group ID, is allocated by the controller
// (family IDs from 0x11, group IDs from 0x11). It returns the family as
// registered.
func (s *Server) AddFamily(f Family) (genl.Family, error) {
	spec := f.Spec
	if spec == nil {
		var err error
		if spec, err = Spec(f.Family, f.Policy); err != nil {
			return genl.Family{}, fmt.Errorf("genltest: family %q: %w", f.Name, err)
		}
	}
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	gf, notes, err := s.reg.Register(*spec)
	if err != nil {
		return genl.Family{}, err
	}
	s.mu.Lock()
	if f.Handler != nil {
		s.handlers[gf.ID] = f.Handler
	}
	if f.Policy != nil && f.Spec == nil {
		p := *f.Policy
		p.FamilyID = gf.ID
		s.canned[gf.ID] = &p
	}
	s.mu.Unlock()
	s.notify(notes)
	return gf, nil
}

// RemoveFamily removes the family called name and announces it
// (CTRL_CMD_DELMCAST_GRP per group, then CTRL_CMD_DELFAMILY).
func (s *Server) RemoveFamily(name string) error {
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	f, ok := s.reg.FamilyByName(name)
	if !ok {
		return fmt.Errorf("genltest: no removable family %q", name)
	}
	notes, err := s.reg.Unregister(f.ID)
	if err != nil {
		return fmt.Errorf("genltest: no removable family %q: %w", name, err)
	}
	s.mu.Lock()
	delete(s.handlers, f.ID)
	delete(s.canned, f.ID)
	s.mu.Unlock()
	s.notify(notes)
	return nil
}

// Overrun makes the next read of every connection that joined the notify
// group fail with ENOBUFS, as a kernel socket whose queue overflowed.
func (s *Server) Overrun() {
	for _, m := range s.members(s.reg.NotifyGroup()) {
		m.Inject(nltest.Read{Overrun: true})
	}
}

// Multicast sends msgs from the family called family to the members of
// its group called group.
func (s *Server) Multicast(family, group string, msgs ...genl.Message) error {
	f, ok := s.reg.FamilyByName(family)
	if !ok {
		return fmt.Errorf("genltest: no family %q", family)
	}
	g, ok := f.Group(group)
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

// notify sends the controller's notifications to the notify group, each in
// a datagram of its own, as Linux does.
func (s *Server) notify(notes []netlink.Message) {
	group := s.reg.NotifyGroup()
	members := s.members(group)
	for _, n := range notes {
		b, err := netlink.AppendMessage(nil, n)
		if err != nil {
			continue
		}
		for _, m := range members {
			m.Inject(nltest.Read{Data: b, Src: transport.Addr{Group: group}})
		}
	}
}

func appendMessage(b []byte, typ uint16, flags netlink.HeaderFlags, seq, port uint32, m genl.Message) []byte {
	out, _ := netlink.AppendMessage(b, netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(typ), Flags: flags, Sequence: seq, PID: port},
		Data:   m.Append(nil),
	})
	return out
}

// serve answers one datagram from port.
func (s *Server) serve(port uint32, req []byte) []nltest.Read {
	var out []byte
	var it netlink.MessageIter
	it.Reset(req)
	for it.Next() {
		out = s.serveOne(out, port, *it.Message())
	}
	if len(out) == 0 {
		return nil
	}
	return []nltest.Read{{Data: out}}
}

func (s *Server) serveOne(out []byte, port uint32, m netlink.Message) []byte {
	h := m.Header
	if uint16(h.Type) == genl.CtrlID {
		if b, ok := s.cannedPolicy(out, port, m); ok {
			return b
		}
		return s.reg.Handle(out, m, port)
	}
	if h.Flags&netlink.Request == 0 {
		return out
	}
	if s.cfg.Check {
		if ref := s.reg.Check(m, genlctrl.Caller{Admin: !s.cfg.Unprivileged}); ref != nil {
			return genlctrl.AppendError(out, m, port, ref.Errno, &ref.ExtAck)
		}
	}
	dump := h.Flags&netlink.Dump == netlink.Dump
	gm, err := genl.ParseMessage(m.Data)
	var replies []genl.Message
	if err != nil {
		err = syscall.EINVAL
	} else if _, ok := s.reg.Family(uint16(h.Type)); !ok {
		err = syscall.ENOENT
	} else {
		s.mu.Lock()
		hd := s.handlers[uint16(h.Type)]
		s.mu.Unlock()
		if hd == nil {
			err = syscall.EOPNOTSUPP
		} else {
			replies, err = hd(gm, m)
		}
	}
	if err != nil {
		var errno syscall.Errno
		if !errors.As(err, &errno) {
			errno = syscall.EINVAL
		}
		return genlctrl.AppendError(out, m, port, errno, nil)
	}
	var flags netlink.HeaderFlags
	if dump {
		flags = netlink.Multi
	}
	for _, r := range replies {
		out = appendMessage(out, uint16(h.Type), flags, h.Sequence, port, r)
	}
	switch {
	case dump:
		out, _ = netlink.AppendMessage(out, netlink.Message{
			Header: netlink.Header{Type: netlink.Done, Flags: netlink.Multi, Sequence: h.Sequence, PID: port},
			Data:   make([]byte, 4),
		})
	case h.Flags&netlink.Acknowledge != 0:
		out = genlctrl.AppendError(out, m, port, 0, nil)
	}
	return out
}

// cannedPolicy answers a GETPOLICY dump for a family registered with a
// canned Policy; ok is false for any other request, which the controller
// answers.
func (s *Server) cannedPolicy(out []byte, port uint32, m netlink.Message) ([]byte, bool) {
	h := m.Header
	if s.cfg.NoPolicy || h.Flags&netlink.Request == 0 || h.Flags&netlink.Dump != netlink.Dump {
		return nil, false
	}
	gm, err := genl.ParseMessage(m.Data)
	if err != nil || gm.Header.Command != genl.CmdGetPolicy {
		return nil, false
	}
	var (
		name  string
		id    uint16
		op    uint32
		hasOp bool
	)
	ad := netlink.NewAttributeDecoder(gm.Data)
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
		return nil, false // the controller refuses it
	}
	f, ok := s.reg.Family(id)
	if id == 0 {
		f, ok = s.reg.FamilyByName(name)
	}
	if !ok {
		return nil, false
	}
	s.mu.Lock()
	p := s.canned[f.ID]
	s.mu.Unlock()
	if p == nil {
		return nil, false
	}
	if hasOp {
		if _, known := f.Op(op); !known {
			return genlctrl.AppendError(out, m, port, syscall.ENOENT, nil), true
		}
		var part bool
		if p, part = p.ForOp(op); !part {
			p = &genl.Policy{FamilyID: f.ID}
		}
	}
	msgs, err := p.Messages()
	if err != nil {
		return genlctrl.AppendError(out, m, port, syscall.EINVAL, nil), true
	}
	for _, r := range msgs {
		out = appendMessage(out, genl.CtrlID, netlink.Multi, h.Sequence, port, r)
	}
	out, _ = netlink.AppendMessage(out, netlink.Message{
		Header: netlink.Header{Type: netlink.Done, Flags: netlink.Multi, Sequence: h.Sequence, PID: port},
		Data:   make([]byte, 4),
	})
	return out, true
}
