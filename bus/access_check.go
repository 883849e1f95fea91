package bus

import (
	"syscall"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/genl"
	"github.com/nlbus/netlink/genl/genlctrl"
	"golang.org/x/sys/unix"
)

// The daemon's side of the access rules: a connection's view of them,
// the checks on each request, the defaults, and the reload.

// peerAccess is the rules as one connection sees them: for each kind, the
// rules whose caller part names it, in file order. It is built when a
// connection first needs it after a (re)load, from its identity, so a
// request scans only the rules that name its caller.
type peerAccess struct {
	acc   *Access
	admin bool // may call admin commands when no rule decides
	owner bool // may register families when no rule decides
	rules [numKinds][]*rule
}

// accessFor builds id's view of a (nil: no rules).
func (s *Server) accessFor(id *identity, a *Access) *peerAccess {
	pa := &peerAccess{acc: a}
	// Root, and on a per-user bus its owner, may do everything; on the
	// system bus the daemon's user is root.
	pa.owner = id.uid == 0 || !s.SystemBus && id.uid == s.euid
	pa.admin = pa.owner
	for _, g := range s.AdminGroups {
		pa.admin = pa.admin || id.inGroup(g)
	}
	if a == nil {
		return pa
	}
	for _, g := range a.admin {
		pa.admin = pa.admin || id.inGroup(g)
	}
	for _, r := range a.rules {
		if r.matchesCaller(id) {
			pa.rules[r.kind] = append(pa.rules[r.kind], r)
		}
	}
	return pa
}

// decide applies pa to q: the first rule that covers q, else the default.
// It returns the rule that decided (nil for the default) and whether q is
// allowed.
func (pa *peerAccess) decide(q *accessReq) (*rule, bool) {
	for _, r := range pa.rules[q.kind] {
		if r.matchesTarget(q) {
			return r, r.allow
		}
	}
	switch q.kind {
	case kindRegister:
		return nil, pa.owner
	case kindCall:
		return nil, !q.admin || pa.admin
	}
	return nil, true
}

// identity returns p's identity: looked up when it connected, or, for a
// peer not set up by accept (the fuzz tests'), its credentials alone.
func (p *peer) identity() *identity {
	if id := p.id.Load(); id != nil {
		return id
	}
	id := &identity{pid: p.cr.PID, uid: p.cr.UID, gid: p.cr.GID}
	p.id.CompareAndSwap(nil, id)
	return p.id.Load()
}

// access returns p's view of the current rules; read loop only.
func (p *peer) access() *peerAccess {
	a := p.s.access.Load()
	if p.pa == nil || p.pa.acc != a {
		p.pa = p.s.accessFor(p.identity(), a)
	}
	return p.pa
}

// denied counts, logs and describes a refusal of q by r (nil: the
// default).
func (p *peer) denied(q *accessReq, r *rule) string {
	s := p.s
	s.denied[q.kind].Add(1)
	what := q.describe()
	var msg string
	if r != nil {
		msg = "nlbus: access rule " + r.label + " denies " + what
	} else {
		msg = "nlbus: access default denies " + what + "; " + s.defaultText(q)
	}
	// The first denials of a connection are logged, then one in 1024: a
	// client looping on a refused request does not flood the log.
	p.denials++
	if p.denials <= 16 || p.denials%1024 == 0 {
		id := p.identity()
		s.log.Warn("access denied", "uid", id.uid, "pid", id.pid, "port", p.port.Load(),
			"what", what, "rule", ruleLabel(r), "denials", p.denials)
	}
	return msg
}

func ruleLabel(r *rule) string {
	if r == nil {
		return "(default)"
	}
	return r.label
}

func (s *Server) defaultText(q *accessReq) string {
	switch {
	case q.kind == kindRegister && s.SystemBus:
		return "on the system bus only root registers families"
	case q.kind == kindRegister:
		return "only the bus's owner and root register families"
	}
	return "the command is flagged admin: root and the admin groups only"
}

// mayRegister checks a registration of name by p.
func (p *peer) mayRegister(name string) (syscall.Errno, string) {
	q := accessReq{kind: kindRegister, family: name}
	if r, ok := p.access().decide(&q); !ok {
		return unix.EPERM, p.denied(&q, r)
	}
	return 0, ""
}

// routeCall is Registry.Route with the access rules applied first: a call
// a rule denies is refused with EPERM and the rule's name; a call a rule
// allows may use an admin command.
func (p *peer) routeCall(m netlink.Message) (uint32, *genlctrl.Refusal) {
	s := p.s
	pa := p.access()
	if len(pa.rules[kindCall]) == 0 || len(m.Data) == 0 || m.Header.Flags&netlink.Request == 0 {
		owner, ref := s.reg.Route(m, genlctrl.Caller{Admin: pa.admin})
		if ref != nil && ref.Errno == unix.EPERM {
			// Only an admin command is refused with EPERM by Route.
			oi, _ := s.reg.LookupOp(uint16(m.Header.Type), m.Data[0])
			q := accessReq{kind: kindCall, family: oi.Family, cmd: m.Data[0], cmdName: oi.Op, admin: true}
			ref.ExtAck.Message = p.denied(&q, nil)
		}
		return owner, ref
	}
	oi, ok := s.reg.LookupOp(uint16(m.Header.Type), m.Data[0])
	if !ok {
		return s.reg.Route(m, genlctrl.Caller{})
	}
	q := accessReq{kind: kindCall, family: oi.Family, cmd: m.Data[0], cmdName: oi.Op, admin: oi.Flags&(genl.AdminPerm|genl.UnsAdminPerm) != 0}
	r, allow := pa.decide(&q)
	if !allow {
		return 0, &genlctrl.Refusal{Errno: unix.EPERM, ExtAck: netlink.ExtAck{Message: p.denied(&q, r)}}
	}
	return s.reg.Route(m, genlctrl.Caller{Admin: r != nil || pa.admin})
}

// groupFamily names the family that owns group g, if any.
func (s *Server) groupFamily(g uint32) string {
	if g < FirstFamilyGroup {
		return ""
	}
	id, ok := s.reg.GroupFamily(g)
	if !ok {
		return ""
	}
	oi, _ := s.reg.LookupOp(id, 0)
	return oi.Family
}

// maySend checks a frame to port dst or group g; a refusal answers its
// requests (from dst for a unicast, as the other unicast errors, from the
// daemon for a multicast) and reports false.
func (p *peer) maySend(dst, g uint32, payload []byte, rs *routeState) bool {
	pa := p.access()
	if len(pa.rules[kindSend]) == 0 {
		return true
	}
	q := accessReq{kind: kindSend, port: dst, group: g}
	if g != 0 {
		q.family = p.s.groupFamily(g)
	}
	r, ok := pa.decide(&q)
	if ok {
		return true
	}
	msg := p.denied(&q, r)
	p.refuse(payload, dst, unix.EPERM, msg, rs)
	return false
}

// mayJoin checks a join of group g by p.
func (p *peer) mayJoin(g uint32) (syscall.Errno, string) {
	pa := p.access()
	if len(pa.rules[kindJoin]) == 0 {
		return 0, ""
	}
	q := accessReq{kind: kindJoin, group: g, family: p.s.groupFamily(g)}
	if r, ok := pa.decide(&q); !ok {
		return unix.EPERM, p.denied(&q, r)
	}
	return 0, ""
}

// SetAccess makes a the access rules (nil: none, only the defaults) for
// every request from now on, without dropping a connection, and takes
// back what they no longer allow: a family whose owner may no longer
// register its name is removed and announced as when its owner goes, and
// a group a member may no longer join is left. It may be called while the
// server serves. Connections made before the first SetAccess of a Server
// that had no rules, no admin groups and not SystemBus have had no
// supplementary groups looked up: rules see their primary group only.
func (s *Server) SetAccess(a *Access) {
	s.init()
	s.lookupGroups.Store(true)
	s.accessMu.Lock()
	defer s.accessMu.Unlock()
	s.access.Store(a)
	s.accessErr.Store(new(string))
	s.revoke(a)
	// Counted once its sweep is done: stats that show the load show what
	// it took back.
	s.accessLoads.Add(1)
}

// SetAccessError records why the access rules could not be (re)loaded,
// for the stats; the rules in force stay. A later SetAccess clears it.
func (s *Server) SetAccessError(err error) {
	s.init()
	msg := err.Error()
	s.accessErr.Store(&msg)
}

// revoke takes back from every connection what a no longer allows.
func (s *Server) revoke(a *Access) {
	rs := newRouteState()
	views := map[*peer]*peerAccess{}
	view := func(q *peer) *peerAccess {
		if pa, ok := views[q]; ok {
			return pa
		}
		pa := s.accessFor(q.identity(), a)
		views[q] = pa
		return pa
	}
	for _, id := range s.reg.IDs() {
		oi, ok := s.reg.LookupOp(id, 0)
		name, owner := oi.Family, oi.Owner
		if !ok || owner == 0 {
			continue // the daemon's own
		}
		q := s.r.lookup(owner)
		if q == nil {
			continue
		}
		req := accessReq{kind: kindRegister, family: name}
		r, allow := view(q).decide(&req)
		if allow {
			continue
		}
		notes, err := s.reg.Unregister(id)
		if err != nil {
			continue
		}
		q.families.Add(-1)
		s.revoked.Add(1)
		rs.notifyFamily(s, notes)
		qid := q.identity()
		s.log.Warn("access reload: family taken back", "family", name, "port", owner,
			"uid", qid.uid, "pid", qid.pid, "rule", ruleLabel(r))
	}
	for _, q := range s.r.snapshot() {
		pa := view(q)
		if len(pa.rules[kindJoin]) == 0 {
			continue
		}
		for _, g := range s.r.groupsOf(q) {
			req := accessReq{kind: kindJoin, group: g, family: s.groupFamily(g)}
			if r, ok := pa.decide(&req); !ok {
				s.r.leave(q, g)
				s.revoked.Add(1)
				qid := q.identity()
				s.log.Warn("access reload: group left", "group", g, "port", q.port.Load(),
					"uid", qid.uid, "pid", qid.pid, "rule", ruleLabel(r))
			}
		}
	}
	rs.flush()
}

// recheckRegister takes back a family p registered under rules replaced
// meanwhile (SetAccess's sweep may have run between the check and the
// registration).
func (p *peer) recheckRegister(id uint16, name string, checked *Access, rs *routeState) {
	s := p.s
	if s.access.Load() == checked {
		return
	}
	s.accessMu.Lock() // the sweep has finished
	defer s.accessMu.Unlock()
	if _, ok := p.access().decide(&accessReq{kind: kindRegister, family: name}); ok {
		return
	}
	if notes, err := s.reg.Unregister(id); err == nil {
		p.families.Add(-1)
		s.revoked.Add(1)
		rs.notifyFamily(s, notes)
	}
}

// accessAttrs writes the AttrAccess nest of the stats.
func (s *Server) accessAttrs(ae *netlink.AttributeEncoder) {
	a := s.access.Load()
	tok := ae.BeginNested(AttrAccess)
	ae.Uint32(AccessRules, uint32(a.Len()))
	if a != nil && a.Source != "" {
		ae.String(AccessSource, a.Source)
	}
	ae.Uint64(AccessLoads, s.accessLoads.Load())
	if e := s.accessErr.Load(); e != nil && *e != "" {
		ae.String(AccessError, *e)
	}
	for k := range numKinds {
		ae.Uint64(AccessDeniedRegister+uint16(k), s.denied[k].Load())
	}
	ae.Uint64(AccessRevoked, s.revoked.Load())
	if s.SystemBus {
		ae.String(AccessDefaults, "system")
	} else {
		ae.String(AccessDefaults, "user")
	}
	ae.EndNested(tok)
}

// AccessStats are the access counters of the stats (AttrAccess).
type AccessStats struct {
	Rules    uint32 `json:"rules"`
	Source   string `json:"source,omitempty"`
	Loads    uint64 `json:"loads"`
	Error    string `json:"error,omitempty"`
	Defaults string `json:"defaults"`
	Denied   struct {
		Register uint64 `json:"register"`
		Call     uint64 `json:"call"`
		Send     uint64 `json:"send"`
		Join     uint64 `json:"join"`
	} `json:"denied"`
	Revoked uint64 `json:"revoked"`
}

func parseAccessStats(ad *netlink.AttributeDecoder, st *AccessStats) {
	ad.Nested(func(nd *netlink.AttributeDecoder) error {
		for nd.Next() {
			switch nd.Type() {
			case AccessRules:
				st.Rules = nd.Uint32()
			case AccessSource:
				st.Source = nd.String()
			case AccessLoads:
				st.Loads = nd.Uint64()
			case AccessError:
				st.Error = nd.String()
			case AccessDefaults:
				st.Defaults = nd.String()
			case AccessDeniedRegister:
				st.Denied.Register = nd.Uint64()
			case AccessDeniedCall:
				st.Denied.Call = nd.Uint64()
			case AccessDeniedSend:
				st.Denied.Send = nd.Uint64()
			case AccessDeniedJoin:
				st.Denied.Join = nd.Uint64()
			case AccessRevoked:
				st.Revoked = nd.Uint64()
			}
		}
		return nil
	})
}
