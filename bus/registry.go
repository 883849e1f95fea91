package bus

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/genl"
	"github.com/nlbus/netlink/genl/genlctrl"
	"golang.org/x/sys/unix"
)

// The daemon's side of the family registry: registration, the routing of
// requests to port 0 to a family's owner, and the controller's
// notifications.

// newRegistry returns the daemon's registry, holding the controller and
// the bus-control family "nlbus" (owned by the daemon, port 0).
func newRegistry() *genlctrl.Registry {
	reg := genlctrl.New(&genlctrl.Config{FirstFamilyID: FirstFamilyID, NotifyGroup: NotifyGroup, FirstGroup: FirstFamilyGroup})
	do := genl.CmdCapDo
	_, _, err := reg.Register(genlctrl.Family{
		ID: FamilyID, Name: FamilyName, Version: FamilyVersion, MaxAttr: AttrFamilyInfo,
		Ops: []genlctrl.Op{
			{Cmd: CmdHello, Flags: do}, {Cmd: CmdBind, Flags: do}, {Cmd: CmdJoin, Flags: do},
			{Cmd: CmdLeave, Flags: do}, {Cmd: CmdGetPort, Flags: do | genl.CmdCapDump},
			{Cmd: CmdGetStats, Flags: do}, {Cmd: CmdNewFamily, Flags: do}, {Cmd: CmdDelFamily, Flags: do},
			{Cmd: CmdGetDescription, Flags: do},
		},
		Groups: []genl.Group{{ID: GroupPorts, Name: "ports"}, {ID: GroupMonitor, Name: "monitor"}},
	})
	if err != nil {
		panic("nlbus: the bus-control family does not register: " + err.Error())
	}
	return reg
}

// newFamily serves CmdNewFamily: it registers the family p described, with
// p as its owner, replies with the family as GETFAMILY reports it and
// announces it on the notify group.
func (p *peer) newFamily(h netlink.Header, data []byte, rs *routeState) (syscall.Errno, string) {
	s := p.s
	f, err := ParseFamilySpec(data)
	if errors.Is(err, unix.EMSGSIZE) {
		return unix.EMSGSIZE, err.Error()
	}
	if err != nil {
		return unix.EINVAL, err.Error()
	}
	f.ID = 0
	for i := range f.Groups {
		f.Groups[i].ID = 0
	}
	checked := s.access.Load()
	if errno, msg := p.mayRegister(f.Name); errno != 0 {
		return errno, msg
	}
	f.Owner = p.port.Load()
	info, notes, err := s.reg.Register(f)
	switch {
	case errors.Is(err, genlctrl.ErrExist):
		return unix.EEXIST, fmt.Sprintf("nlbus: family %q is already registered", f.Name)
	case errors.Is(err, genlctrl.ErrInvalid):
		return unix.EINVAL, err.Error()
	case err != nil:
		return unix.ENOSPC, err.Error()
	}
	p.families.Add(1)
	if p.gone.Load() {
		// Closed while registering: close may have missed the family.
		rs.notifyFamily(s, s.reg.UnregisterOwner(f.Owner))
	}
	if s.log.IsDebug() {
		s.log.Debug("family registered", "name", info.Name, "id", info.ID, "port", f.Owner)
	}
	p.appendGenl(rs, h, 0, CmdNewFamily, func(ae *netlink.AttributeEncoder) {
		ae.Uint16(AttrFamilyID, info.ID)
		tok := ae.BeginNested(AttrFamilyInfo)
		info.AppendAttributes(ae)
		ae.EndNested(tok)
	})
	rs.notifyFamily(s, notes)
	p.recheckRegister(info.ID, info.Name, checked, rs)
	return 0, ""
}

// delFamily serves CmdDelFamily for a family p owns.
func (p *peer) delFamily(data []byte, rs *routeState) (syscall.Errno, string) {
	s := p.s
	var id uint16
	if _, err := ParseControl(data, func(ad *netlink.AttributeDecoder) {
		if ad.Type() == AttrFamilyID {
			id = ad.Uint16()
		}
	}); err != nil {
		return unix.EINVAL, "nlbus: malformed bus-control message: " + err.Error()
	}
	// Route of a non-request names the family's owner.
	owner, _ := s.reg.Route(netlink.Message{Header: netlink.Header{Type: netlink.HeaderType(id)}}, genlctrl.Caller{})
	if _, ok := s.reg.Family(id); !ok || id == FamilyID || owner != p.port.Load() {
		return unix.ENOENT, fmt.Sprintf("nlbus: this connection owns no family %#x", id)
	}
	notes, err := s.reg.Unregister(id)
	if err != nil {
		return unix.ENOENT, err.Error()
	}
	p.families.Add(-1)
	rs.notifyFamily(s, notes)
	return 0, ""
}

// getDescription serves CmdGetDescription: the description of the family
// named by AttrFamilyName (or AttrFamilyID).
func (p *peer) getDescription(h netlink.Header, data []byte, rs *routeState) (syscall.Errno, string) {
	s := p.s
	var (
		name  string
		id    uint16
		byID  bool
		found bool
		fam   genl.Family
	)
	if _, err := ParseControl(data, func(ad *netlink.AttributeDecoder) {
		switch ad.Type() {
		case AttrFamilyName:
			name = ad.String()
		case AttrFamilyID:
			id, byID = ad.Uint16(), true
		}
	}); err != nil {
		return unix.EINVAL, "nlbus: malformed bus-control message: " + err.Error()
	}
	switch {
	case name != "":
		fam, found = s.reg.FamilyByName(name)
	case byID:
		fam, found = s.reg.Family(id)
		name = "0x" + strconv.FormatUint(uint64(id), 16)
	default:
		return unix.EINVAL, "nlbus: get-description needs a family name (attribute 22) or ID (attribute 29)"
	}
	if !found {
		return unix.ENOENT, fmt.Sprintf("nlbus: no family %s on the bus", strconv.Quote(name))
	}
	desc, ok := s.reg.Description(fam.ID)
	if !ok || len(desc) == 0 {
		return unix.ENOENT, fmt.Sprintf("nlbus: family %q has no description", fam.Name)
	}
	p.appendGenl(rs, h, 0, CmdGetDescription, func(ae *netlink.AttributeEncoder) {
		ae.Uint16(AttrFamilyID, fam.ID)
		ae.String(AttrFamilyName, fam.Name)
		ae.Raw(AttrFamilyDescription, desc)
	})
	return 0, ""
}

// notifyFamily sends the controller's notifications to the notify group.
func (rs *routeState) notifyFamily(s *Server, notes []netlink.Message) {
	for _, n := range notes {
		b, err := netlink.AppendMessage(rs.frame[:0], n)
		if err != nil {
			continue
		}
		rs.frame = b
		rs.multicastDaemon(s, NotifyGroup, b)
	}
}

// toFamily routes a request to port 0 whose type is a registered family:
// refused with the kernel's error when it breaks the family's rules,
// otherwise relayed to the owner. It reports false when no family has the
// type.
func (p *peer) toFamily(m netlink.Message, raw []byte, rs *routeState) bool {
	s := p.s
	port := p.port.Load()
	owner, ref := p.routeCall(m) // the access rules, then the family's own checks
	if ref != nil {
		if ref.Errno == unix.ENOENT && ref.ExtAck.Message == "" {
			if _, ok := s.reg.Family(uint16(m.Header.Type)); !ok {
				return false
			}
		}
		s.refused.Add(1)
		rs.reply = genlctrl.AppendError(rs.reply, m, port, ref.Errno, &ref.ExtAck)
		return true
	}
	if m.Header.Flags&netlink.Request == 0 {
		return true // not a request: the daemon ignores it, as before
	}
	q := s.r.lookup(owner)
	if q == nil || q.families.Load() == 0 {
		rs.reply = appendError(rs.reply, raw[:16], unix.ECONNREFUSED, "nlbus: the owner of family "+utoa(uint32(m.Header.Type))+" is gone")
		return true
	}
	e := Envelope{Flags: FlagCreds, Src: port, Dst: owner, PID: p.cr.PID, UID: p.cr.UID, GID: p.cr.GID}
	switch q.track0(p, raw[:16], m.Header) {
	case unix.ECONNRESET:
		rs.reply = appendError(rs.reply, raw[:16], unix.ECONNRESET, "nlbus: port "+utoa(owner)+" closed before replying")
		return true
	case unix.EAGAIN:
		s.refused.Add(1)
		rs.reply = appendError(rs.reply, raw[:16], unix.EAGAIN, "nlbus: too many unanswered requests to port "+utoa(owner))
		return true
	case unix.EBUSY:
		s.refused.Add(1)
		rs.reply = appendError(rs.reply, raw[:16], unix.EBUSY, "nlbus: sequence number "+utoa(m.Header.Sequence)+
			" is still in use by a request of this port that failed; its answers are being dropped")
		return true
	}
	if !q.enqueue(e, raw, false) {
		q.untrack(p, m.Header.Sequence)
		s.refused.Add(1)
		rs.reply = appendError(rs.reply, raw[:16], unix.EAGAIN, "nlbus: the receive queue of port "+utoa(owner)+" is full")
		return true
	}
	if s.r.hasMonitors() {
		rs.monitor(s, e, raw)
	}
	rs.touch(q)
	return true
}

// track0 records a request from src relayed to q through port 0; every such
// request is tracked, since its answers must be stamped as from port 0. It
// returns ECONNRESET when q is already gone, EAGAIN when q has
// Server.MaxInflight requests unanswered (of callers still there).
func (q *peer) track0(src *peer, hdr []byte, h netlink.Header) syscall.Errno {
	q.imu.Lock()
	defer q.imu.Unlock()
	if q.gone.Load() {
		return unix.ECONNRESET
	}
	if ri, ok := q.inflight[reqKey{src, h.Sequence}]; ok && ri.failed {
		// The answers of a request that failed with this number are
		// still being dropped: a new one would be taken for them.
		return unix.EBUSY
	}
	if q.inflight == nil {
		q.inflight = make(map[reqKey]reqInfo)
	}
	if len(q.inflight) >= q.s.maxInfl {
		for k := range q.inflight {
			if k.src.gone.Load() {
				delete(q.inflight, k)
			}
		}
		if len(q.inflight) >= q.s.maxInfl {
			return unix.EAGAIN
		}
	}
	var ri reqInfo
	copy(ri.hdr[:], hdr)
	ri.ack = h.Flags&netlink.Acknowledge != 0
	ri.via0 = true
	q.inflight[reqKey{src, h.Sequence}] = ri
	return 0
}

func (q *peer) untrack(src *peer, seq uint32) {
	q.imu.Lock()
	delete(q.inflight, reqKey{src, seq})
	q.imu.Unlock()
}

// answersVia0 reports whether the first message of payload, from p to q,
// answers a request q sent to port 0 (one of p's families), and whether
// that request already failed for q (waitAnswer).
func (p *peer) answersVia0(q *peer, payload []byte) (via0, failed bool) {
	if len(payload) < 16 {
		return false, false
	}
	flags := netlink.HeaderFlags(ne.Uint16(payload[6:]))
	if flags&netlink.Request != 0 {
		return false, false
	}
	seq := ne.Uint32(payload[8:])
	p.imu.Lock()
	ri, ok := p.inflight[reqKey{q, seq}]
	p.imu.Unlock()
	return ok && ri.via0, ok && ri.failed
}

// multicastDaemon sends b from the daemon to group g.
func (rs *routeState) multicastDaemon(s *Server, g uint32, b []byte) {
	e := Envelope{Group: g}
	s.r.members(g, func(q *peer) {
		if !q.enqueue(e, b, false) {
			q.drop()
		}
		rs.touch(q)
	})
	if s.r.hasMonitors() {
		rs.monitor(s, e, b)
	}
}

// answerWait bounds how long an owner's answer waits for room in its
// caller's queue (a variable for the tests).
var answerWait atomic.Int64 // a time.Duration

func init() { answerWait.Store(int64(5 * time.Second)) }

// waitAnswer queues an answer of p (a family's owner) to q, whose queue is
// full, once q has read enough: this read loop stops reading p meanwhile,
// so p's sends block as a kernel dump waits for its reader, and a dump of
// any size streams. If q does not read within answerWait (or goes), the
// request fails for q with ENOBUFS instead, from port 0, and waitAnswer
// reports false.
func (p *peer) waitAnswer(q *peer, e Envelope, payload []byte, rs *routeState) bool {
	s := p.s
	// Waiting must not hold up anyone else: an event loop hands itself on
	// and this goroutine serves p alone until the batch is done.
	p.detach(rs)
	rs.flush() // q (and everyone else this batch touched) drains meanwhile
	wait := time.Duration(answerWait.Load())
	deadline := time.Now().Add(wait)
	pause := 50 * time.Microsecond
	for !q.gone.Load() && !p.gone.Load() && !s.closing.Load() && time.Now().Before(deadline) {
		time.Sleep(pause)
		pause = min(2*pause, 5*time.Millisecond)
		if q.enqueue(e, payload, false) {
			return true
		}
		if p.waitingHungUp() {
			// The owner went while its answer waited: it closes now,
			// and its callers learn it at once (ECONNRESET).
			p.close(io.EOF)
			return false
		}
	}
	s.refused.Add(1)
	seq := ne.Uint32(payload[8:])
	p.imu.Lock()
	k := reqKey{q, seq}
	ri, ok := p.inflight[k]
	if ok && !q.gone.Load() {
		// The rest of its answers are dropped (unicast), until the
		// final one ends the record.
		ri.failed = true
		p.inflight[k] = ri
	} else {
		delete(p.inflight, k)
	}
	p.imu.Unlock()
	// The answer that found no room may itself be the final one (a do
	// request's reply, an ACK, a DONE): then the record ends now.
	p.answeredBy(q, payload)
	if !ok || q.gone.Load() {
		return false
	}
	msg := appendError(nil, ri.hdr[:], unix.ENOBUFS, "nlbus: the answer of port "+utoa(p.port.Load())+" found the receive queue full for "+wait.String())
	if !q.enqueue(Envelope{Dst: e.Dst}, msg, true) {
		q.drop()
	}
	rs.touch(q)
	return false
}
